package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

func addReplay(table map[string]command) {
	table["replay"] = command{
		summary: "rebuild every read model from position 0; print counts and the read-model digest",
		run:     runReplay,
	}
}

// storeTotal returns the number of events to expect in a walk of store, or 0
// when the backend cannot say (the embedded store's head position is its
// event count).
func storeTotal(ctx context.Context, store eventstore.Store) uint64 {
	hr, ok := store.(eventstore.HeadReader)
	if !ok {
		return 0
	}
	head, _, err := hr.Head(ctx)
	if err != nil {
		return 0
	}
	return head.Commit
}

// runReplay drops the read models and rebuilds them from the whole log, then
// prints what it applied and projections.Digest: the same log always gives
// the same digest, however often it is replayed. Ctrl-C stops it between
// batches: each committed batch carries its own checkpoint, so the read
// models are never half-written, only behind; the next replay (or serve)
// goes on from there.
func runReplay(ctx context.Context, args []string, env Env) (err error) {
	fs := newFlagSet("replay", env)
	var cfg storeConfig
	cfg.register(fs, env.Getenv)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	store, err := openToolStore(ctx, cfg, env, true)
	if err != nil {
		return err
	}
	defer closeInto(&err, store)
	proj, err := openProjector(cfg, store, toolLogger(env))
	if err != nil {
		return err
	}
	defer closeInto(&err, proj)

	total := storeTotal(ctx, store)
	meter := newProgressMeter(env, "replay")
	stopMeter := watchProjector(proj, meter, total)
	stats, err := proj.Rebuild(ctx)
	stopMeter()
	meter.finish()
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintf(env.Stderr, "replay interrupted: the read models are consistent up to position %s; run replay again to finish\n", stats.Checkpoint)
		}
		return err
	}
	digest, err := proj.Digest(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "replayed %d events (%d applied to calls, %d failures) up to position %s in %s\n",
		stats.Events, stats.EventsApplied, stats.Failures, stats.Checkpoint, stats.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(env.Stdout, "digest %s\n", digest)
	if stats.Failures > 0 {
		fmt.Fprintf(env.Stdout, "warning: %d events could not be applied; see `callledger verify` and the logs\n", stats.Failures)
	}
	return nil
}

// watchProjector feeds meter from the projector's status until the returned
// stop function is called (which waits for the watcher to end).
func watchProjector(p *projections.Projector, meter *progressMeter, total uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(progressTTYEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				meter.update(p.Status().Events, total)
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
