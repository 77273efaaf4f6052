package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/kurrent"
	"github.com/callledger/callledger/projections"
)

// ledger is an open event store with its read models: what serve and the
// tools work on. Only cmd chooses and opens a backend.
type ledger struct {
	Store     eventstore.Store
	Projector *projections.Projector
}

// openStore opens the event log cfg names: KurrentDB when cfg.StoreURL is
// set, else the embedded store in cfg.EventsDir() (created if missing).
func openStore(ctx context.Context, cfg storeConfig, log *slog.Logger) (eventstore.Store, error) {
	if cfg.StoreURL != "" {
		opts := kurrent.Options{Logger: log}
		s, err := kurrent.Open(ctx, cfg.StoreURL, opts)
		if err != nil {
			return nil, fmt.Errorf("open KurrentDB store: %w", err)
		}
		return s, nil
	}
	if err := os.MkdirAll(cfg.EventsDir(), 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	opts := embedded.DefaultOptions()
	opts.Logger = log
	s, err := embedded.Open(cfg.EventsDir(), opts)
	if err != nil {
		return nil, fmt.Errorf("open embedded store: %w", err)
	}
	return s, nil
}

// openLedger opens the store and the read models in cfg.ReadModelsDir().
// The caller runs the Projector (Run) if it wants it kept current, and
// closes the ledger.
func openLedger(ctx context.Context, cfg storeConfig, log *slog.Logger) (*ledger, error) {
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.ReadModelsDir(), 0o755); err != nil {
		store.Close()
		return nil, fmt.Errorf("create read model directory: %w", err)
	}
	opts := projections.DefaultOptions()
	opts.Logger = log
	proj, err := projections.Open(cfg.ReadModelsDir(), store, opts)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("open read models: %w", err)
	}
	return &ledger{Store: store, Projector: proj}, nil
}

// Close closes the read models, then the store.
func (l *ledger) Close() error {
	return errors.Join(l.Projector.Close(), l.Store.Close())
}
