package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

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
		if errors.Is(err, kurrent.ErrConnectionString) {
			// A bad flag value (exit 2), refused before anything is
			// opened.
			return nil, usageError{fmt.Errorf("--store: %w", err)}
		}
		if err != nil {
			return nil, fmt.Errorf("open KurrentDB store: %w", err)
		}
		return s, nil
	}
	if err := os.MkdirAll(cfg.EventsDir(), dataDirPerm); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	opts := embedded.DefaultOptions()
	opts.Logger = log
	s, err := embedded.Open(cfg.EventsDir(), opts)
	if isLockHeld(err) {
		return nil, openError("embedded store", cfg.EventsDir(), err)
	}
	if err != nil {
		return nil, err // it names the store and its directory
	}
	return s, nil
}

// openError is the error of opening the Pebble database in dir (what names
// it): one that says so when another process holds the database, and
// that it is the serve whose control socket answers in dir's data
// directory when one does: the commands that write (import, replay) then
// need it stopped.
func openError(what, dir string, err error) error {
	if isLockHeld(err) && serveAnswers(filepath.Dir(dir)) {
		return fmt.Errorf("open %s: %s is held by the callledger serve running on %s: stop it first (this command writes; verify, export, history and billing read a copy of a running serve's data): %w",
			what, dir, filepath.Dir(dir), err)
	}
	if isLockHeld(err) {
		return fmt.Errorf("open %s: %s is in use by another process (a running callledger serve?): stop it, or run this against a copy of the directory made while it was stopped, or by a filesystem snapshot (a copy of files a running server writes is not consistent); a serve still starting (opening its stores, rebuilding its read models) lets verify, export, history and billing run once it serves: %w", what, dir, err)
	}
	return fmt.Errorf("open %s: %w", what, err)
}

// isLockHeld reports whether err is a store's lock file held by another
// process: fcntl's EAGAIN or EACCES, rather than a file that cannot be
// created (a PathError).
func isLockHeld(err error) bool {
	var pe *os.PathError
	return (errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES)) && !errors.As(err, &pe)
}

// dataDirPerm is the mode of the directories callledger creates for its
// data (the data directory, events/, readmodels/): owner only. They hold
// every call's numbers, notes and provider data, and the idempotency
// table whole answers: Pebble writes its files 0644, readable by every
// user of the machine under the usual umask where the directories were
// 0755 (a security probe read phone numbers out of the read models' log as
// nobody). A directory that exists is left as it is: its mode is the
// operator's.
const dataDirPerm = 0o700

// openLedger opens the store and the read models in cfg.ReadModelsDir()
// (see openReadModels). The caller runs the Projector (Run) if it wants it
// kept current, and closes the ledger.
func openLedger(ctx context.Context, cfg storeConfig, log *slog.Logger) (*ledger, error) {
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	proj, err := openReadModels(ctx, cfg, store, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	return &ledger{Store: store, Projector: proj}, nil
}

// openReadModels opens the read models in cfg.ReadModelsDir() over store
// for reading, refusing them if they were built from events the log does
// not hold (checkFollowsLog), and rebuilding them first if an earlier build
// wrote them without a read model this one keeps (rebuildIncomplete):
// every command that reads them opens them this way. replay, which
// rebuilds them whatever they hold, opens them with openProjector.
func openReadModels(ctx context.Context, cfg storeConfig, store eventstore.Store, log *slog.Logger) (*projections.Projector, error) {
	proj, err := openProjector(cfg, store, log)
	if err != nil {
		return nil, err
	}
	err = checkFollowsLog(ctx, proj, log)
	if err == nil {
		err = rebuildIncomplete(ctx, proj, log)
	}
	if err != nil {
		proj.Close()
		return nil, err
	}
	return proj, nil
}

// openProjector opens the read models in cfg.ReadModelsDir() over store,
// creating the directory, as they are: replay, which rebuilds them anyway,
// opens them so.
func openProjector(cfg storeConfig, store eventstore.Store, log *slog.Logger) (*projections.Projector, error) {
	if err := os.MkdirAll(cfg.ReadModelsDir(), dataDirPerm); err != nil {
		return nil, fmt.Errorf("create read model directory: %w", err)
	}
	opts := projections.DefaultOptions()
	opts.Logger = log
	proj, err := projections.Open(cfg.ReadModelsDir(), store, opts)
	if err != nil {
		return nil, openError("read models", cfg.ReadModelsDir(), err)
	}
	return proj, nil
}

// rebuildIncomplete rebuilds read models that an earlier build wrote in a
// format this build reads but does not write (projections.Projector.
// NeedsRebuild), before anything reads them: without the recording index
// the LaML account-level recording fetch would not find the recordings
// they held; before session 44 their entries held no ends nor recording
// times, and their events were not judged by this build's invariants (a
// forged price's currency would pass verify and billing as whole).
func rebuildIncomplete(ctx context.Context, proj *projections.Projector, log *slog.Logger) error {
	need, err := proj.NeedsRebuild()
	if err != nil {
		return fmt.Errorf("check the read models' format: %w", err)
	}
	if !need {
		return nil
	}
	log.Warn("the read models were written by an earlier build: rebuilding them from the log in this build's format (the builds before cannot read it: to go back to one, delete the read models directory first)")
	stats, err := proj.Rebuild(ctx)
	if err != nil {
		return fmt.Errorf("rebuild the read models of an earlier build: %w", err)
	}
	log.Info("read models rebuilt", "events", stats.Events, "elapsed", stats.Elapsed)
	return nil
}

// errLogBehindReadModels is wrapped by the error of openReadModels when
// the read models were built from events the store's log does not hold
// (projections.ErrForeignLog).
var errLogBehindReadModels = errors.New("the event log does not hold events the read models were built from")

// checkFollowsLog checks that the read models were built from the store's
// log (projections.CheckLog) and refuses them, with an error wrapping
// errLogBehindReadModels and projections.ErrForeignLog, when they were
// not. The read models only ever apply durable events, so read models that
// name an event the log does not hold are a witness that the log lost
// acknowledged events (a cut or emptied write-ahead log, a store whose
// files were deleted), or was replaced or restored under them by hand.
// Rebuilding them there and then, as earlier builds did, erased that
// witness and served a ledger short of acknowledged writes with a
// warning; the operator decides instead, told how: restore the data
// directory from a backup, or, for a log replaced on purpose, rebuild the
// read models from it (callledger replay, which does not check). A check
// that cannot be made (the store does not answer) is logged, and the read
// models are kept.
func checkFollowsLog(ctx context.Context, proj *projections.Projector, log *slog.Logger) error {
	err := proj.CheckLog(ctx)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, projections.ErrForeignLog):
		log.Warn("could not check that the read models follow this event log", "err", err)
		return nil
	}
	return fmt.Errorf("%w (%w): acknowledged events may have been lost from the log (damaged, cut or deleted files), or the log was replaced or restored from a backup under the read models. If events were lost, restore the data directory from a backup or an export (callledger import); if the log was replaced on purpose, rebuild the read models from it with `callledger replay`, then start again",
		errLogBehindReadModels, err)
}

// Close closes the read models, then the store.
func (l *ledger) Close() error {
	return errors.Join(l.Projector.Close(), l.Store.Close())
}
