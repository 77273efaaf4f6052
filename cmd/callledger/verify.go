package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
)

// errVerifyFailed is returned by verify when the log does not verify; run
// turns it into exit status 1 after the problem has been printed.
var errVerifyFailed = errors.New("the event log does not verify")

func addVerify(table map[string]command) {
	table["verify"] = command{
		summary: "check both hash chains, the embedded store's index keys against its events, and that every call's stream reads back as its events in $all; exit 1 naming the first problem",
		run:     runVerify,
	}
}

// runVerify checks the whole log with eventstore.Verify (the $all walk, the
// embedded store's index keys, then every stream as the API reads it) and
// prints "ok" with the counts and the head hash, or the first problem.
func runVerify(ctx context.Context, args []string, env Env) (err error) {
	fs := newFlagSet("verify", env)
	var cfg storeConfig
	cfg.register(fs, env.Getenv)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	store, err := openToolStore(ctx, cfg, env, true)
	switch {
	case errors.Is(err, embedded.ErrCorrupt):
		// A store that will not open because its stored values do not
		// check (the embedded store checks its head against its last
		// event) is a failed verification too.
		fmt.Fprintf(env.Stdout, "FAILED: cannot open the event store: %v\n", err)
		return fmt.Errorf("%w: %w", errVerifyFailed, err)
	case err != nil:
		// A store that cannot be opened (held by a running server, a wrong
		// --data) says nothing about the log: no tamper alarm.
		return fmt.Errorf("could not verify: %w", err)
	}
	defer closeInto(&err, store)

	meter := newProgressMeter(env, "verify")
	report, err := eventstore.Verify(ctx, store, meter.update)
	meter.finish()
	if err != nil {
		return err
	}
	if !report.OK {
		fmt.Fprintf(env.Stdout, "FAILED: %s\n", report.Problem)
		if report.Problem.Key != "" {
			// The embedded store's index check runs once every event
			// verified: the events stand, the store's own keys do not
			// (see eventstore.IndexChecker).
			fmt.Fprintf(env.Stdout, "%d events in %d streams verified; the store's index disagrees with them\n", report.Events, report.Streams)
		} else {
			fmt.Fprintf(env.Stdout, "%d events in %d streams verified before it\n", report.Events, report.Streams)
		}
		return fmt.Errorf("%w: %s", errVerifyFailed, report.Problem)
	}
	fmt.Fprintf(env.Stdout, "ok: %d events in %d streams, head position %s, head hash %s\n",
		report.Events, report.Streams, report.HeadPosition, report.HeadAllHash)
	return nil
}
