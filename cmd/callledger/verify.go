package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
)

// errVerifyFailed is returned by verify when the log does not verify; run
// turns it into exit status 1 after the problem has been printed.
var errVerifyFailed = errors.New("the event log does not verify")

// errReadModelsIncomplete is returned by verify when the log verifies but
// the read models could not apply some of its events (verifyReadModels);
// run turns it into exit status 1 too.
var errReadModelsIncomplete = errors.New("the read models do not reflect the whole log")

// errArchiveUndecodable is returned by verify --in when the archive's
// chains verify but some of its call events do not decode (archiveDecoder);
// run turns it into exit status 1 too.
var errArchiveUndecodable = errors.New("the archive holds events this build cannot decode")

func addVerify(table map[string]command) {
	table["verify"] = command{
		summary: "check both hash chains, the embedded store's index keys against its events, that every call's stream reads back as its events in $all, and that the read models (brought up to the log's end) applied every event; exit 1 naming the first problem; with --in f (- for stdin) check an export file's chains and that its call events decode instead, opening no store",
		run:     runVerify,
	}
}

// runVerify checks the whole log with eventstore.Verify (the $all walk, the
// embedded store's index keys, then every stream as the API reads it) and
// prints "ok" with the counts and the head hash, or the first problem; then
// that the read models applied every event (verifyReadModels). With
// --in it checks an export file instead (verifyArchive) and opens no store.
func runVerify(ctx context.Context, args []string, env Env) (err error) {
	fs := newFlagSet("verify", env)
	var cfg storeConfig
	cfg.register(fs, env.Getenv)
	var in string
	nonEmptyStringVar(fs, &in, "in", "", "name an export file, or - for stdin; leave the flag out to verify the store",
		"export `file` to verify instead of a store ('-': stdin); opens no store, so --data and --store are refused with it")
	var kept keptHeadFlag
	fs.Var(&kept, "kept-head", "a `position:hash` kept from an earlier verify's ok line (head position, head hash) or an export's end marker (last_position, all_hash): the log must still hold it, the same $all hash at that position")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if in != "" {
		if err := refuseStoreFlags(fs); err != nil {
			return err
		}
		return verifyArchive(ctx, in, kept.head, env)
	}
	cfg, release, err := servedCopy(ctx, cfg, env)
	if err != nil {
		return err
	}
	defer release()
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
	// Verify reads every event in each pass ($all, the index, the streams)
	// and counts them all towards its total: its count is not the log's.
	meter.unit = "event reads"
	var report eventstore.VerifyReport
	if kept.head != nil {
		report, err = eventstore.VerifyKept(ctx, store, meter.update, *kept.head)
	} else {
		report, err = eventstore.Verify(ctx, store, meter.update)
	}
	meter.finish()
	if err != nil {
		// The store could not be read through (bad credentials, an
		// outage, a cancel): nothing was found wrong with the log.
		return fmt.Errorf("could not verify: %w", err)
	}
	if !report.OK {
		fmt.Fprintf(env.Stdout, "FAILED: %s\n", report.Problem)
		if report.Problem.Kept {
			// The log verified on its own: it is the kept head it fails.
			printVerifiedBefore(env.Stdout, report.Events, report.Streams)
			return fmt.Errorf("%w: %s", errVerifyFailed, report.Problem)
		}
		if report.Problem.Key != "" {
			// The embedded store's index check runs once every event
			// verified: the events stand, the store's own keys do not
			// (see eventstore.IndexChecker).
			fmt.Fprintf(env.Stdout, "%d events in %d streams verified; the store's index disagrees with them\n", report.Events, report.Streams)
		} else {
			printVerifiedBefore(env.Stdout, report.Events, report.Streams)
		}
		return fmt.Errorf("%w: %s", errVerifyFailed, report.Problem)
	}
	printVerifyOK(env.Stdout, report.Events, report.Streams, report.HeadPosition, report.HeadAllHash)
	kept.printHeld(env.Stdout)
	kept.suggest(env.Stderr, report.HeadPosition, report.HeadAllHash)
	return verifyReadModels(ctx, cfg, store, env)
}

// verifyReadModels brings the read models up to the end of the log, as
// billing does, and fails (FAILED, the failures listed, an error wrapping
// errReadModelsIncomplete) when they could not apply an event of it: an
// event the hash chains vouch for but this build cannot decode or fold (a
// forged or older build's archive imported, a domain bug) is left out of
// billing and the call views, which an auditor must hear from verify
// rather than find in a total. It fails too (FAILED, errVerifyFailed) when
// the read models were built from events the log does not hold
// (checkFollowsLog): a log cut short agrees with itself, and only the read
// models remember it was longer. The log verified, so its ok line stands
// above (the same line an archive's verify prints, for comparison by
// diff); nothing more is printed when the read models applied every event.
// Read models held by a running server (the KurrentDB backend, whose log
// is not held) are not checked, with a warning on stderr: the server's
// /metrics counts their failures.
func verifyReadModels(ctx context.Context, cfg storeConfig, store eventstore.Store, env Env) (err error) {
	if cfg.StoreURL != "" {
		// Over KurrentDB the read models are a server's, in its data
		// directory: a verify run elsewhere finds none, and builds none
		// (it built a whole set, hundreds of MB, in ./data).
		if _, err := os.Stat(cfg.ReadModelsDir()); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(env.Stderr, "callledger verify: note: the read models were not checked: there are none in %s (give --data the directory of a server that follows this log)\n", cfg.ReadModelsDir())
			return nil
		}
	}
	proj, err := openReadModels(ctx, cfg, store, toolLogger(env))
	if errors.Is(err, errLogBehindReadModels) {
		// The read models witness events the log no longer holds: the
		// log agrees with itself, and is short (checkFollowsLog). They
		// are left as they are, for whoever looks next.
		fmt.Fprintf(env.Stdout, "FAILED: %v\n", err)
		return fmt.Errorf("%w: %w", errVerifyFailed, err)
	}
	if isLockHeld(err) {
		fmt.Fprintf(env.Stderr, "callledger verify: warning: the read models were not checked: %v (callledger_read_models_failures_total in the server's /metrics counts the events they could not apply)\n", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("could not check the read models: %w", err)
	}
	defer closeInto(&err, proj)
	if err := catchUp(ctx, proj, store); err != nil {
		return fmt.Errorf("could not check the read models: %w", err)
	}
	failures, err := failuresOf(ctx, proj)
	if err != nil || failures.count == 0 {
		return err
	}
	fmt.Fprintf(env.Stdout, "FAILED: %d %s of the log could not be applied to the read models, though the log verifies:\n", failures.count, plural(failures.count, "event", "events"))
	failures.write(env.Stdout)
	return fmt.Errorf("%w: %s", errReadModelsIncomplete, failures.summary())
}

// printVerifyOK prints verify's line for a log that verified, the same for
// a store and an archive, so that an auditor can compare the two by eye or
// by diff: the counts, the head position and the $all head hash.
func printVerifyOK(w io.Writer, events, streams uint64, head eventstore.Position, headHash eventstore.Hash) {
	fmt.Fprintf(w, "ok: %d events in %d streams, head position %s, head hash %s\n", events, streams, head, headHash)
}

// printVerifiedBefore prints, under verify's FAILED line, how much of the log
// (a store or an archive) verified before the problem.
func printVerifiedBefore(w io.Writer, events, streams uint64) {
	fmt.Fprintf(w, "%d events in %d streams verified before it\n", events, streams)
}

// refuseStoreFlags returns a usageError when --data or --store was given on
// verify's command line together with --in, under which it opens no store:
// the store they name would be ignored, and an auditor who typed one would
// believe it was checked. Defaults from the environment (CALLLEDGER_DATA,
// CALLLEDGER_STORE) are not refused: they are set for every command.
func refuseStoreFlags(fs *flag.FlagSet) error {
	var given []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "data" || f.Name == "store" {
			given = append(given, "--"+f.Name)
		}
	})
	if len(given) > 0 {
		return usageError{fmt.Errorf("--in verifies an export file and opens no store: drop %s", strings.Join(given, " and "))}
	}
	return nil
}

// verifyArchive checks the export file at path ("-": stdin) whole, as import
// would (eventstore.CheckExport: every hash, revision and position, and in
// version 2 the header and the end marker), without opening any store, so
// that an auditor can prove an archive intact and compare its head hash
// with the one verify printed on the live store. It prints "ok" with the
// counts, the last position and the $all head hash, as the store's verify
// does, or "FAILED" and the problem, naming its line, and then returns an
// error wrapping errVerifyFailed. A file with no export in it, empty or
// blank lines only, prints FAILED too, naming no line (no line is to
// blame): it is most likely a copy cut short, as even an empty ledger
// exports a header and an end marker. A file that cannot be read (missing,
// an I/O error) or a cancelled check says nothing about the archive: no
// FAILED. A version-1 file, which has no end marker, verifies with a warning
// on stderr, as import gives: had it been cut short at a line boundary,
// nothing could tell. Once the chains verify, it fails (FAILED under the ok
// line, errArchiveUndecodable) when call events of the file do not decode
// (archiveDecoder).
func verifyArchive(ctx context.Context, path string, kept *eventstore.KeptHead, env Env) error {
	src, closeSrc, err := openInput(path, env.Stdin)
	if err != nil {
		return fmt.Errorf("could not verify: %w", err)
	}
	defer closeSrc()
	meter := newProgressMeter(env, "verify")
	r, progress := sizedProgress(src.r, src.size, meter.update)
	var decoder archiveDecoder
	stats, err := eventstore.CheckExportKept(ctx, r, progress, decoder.check, kept)
	meter.finish()
	switch {
	case brokenArchive(err):
		fmt.Fprintf(env.Stdout, "FAILED: %v\n", err)
		printVerifiedBefore(env.Stdout, stats.Events, stats.Streams)
		return fmt.Errorf("%w: %s: %w", errVerifyFailed, src.source, err)
	case err != nil:
		return fmt.Errorf("could not verify %s: %w", src.source, err)
	}
	printVerifyOK(env.Stdout, stats.Events, stats.Streams, stats.Last, stats.LastAllHash)
	keptFlag := &keptHeadFlag{head: kept}
	keptFlag.printHeld(env.Stdout)
	keptFlag.suggest(env.Stderr, stats.Last, stats.LastAllHash)
	if stats.Version < 2 {
		warnVersion1(env.Stderr, src.source, "verified as a shorter log")
	}
	if f := decoder.failures; f.count > 0 {
		fmt.Fprintf(env.Stdout, "FAILED: %d %s of the archive cannot be decoded by this build, though its chains verify; imported, the read models would leave %s out:\n",
			f.count, plural(f.count, "event", "events"), plural(f.count, "it", "them"))
		f.write(env.Stdout)
		return fmt.Errorf("%w: %s", errArchiveUndecodable, decoder.summary())
	}
	return nil
}

// brokenArchive reports whether err, from eventstore.CheckExport, says the
// archive itself is wrong (a malformed or overlong line, a broken chain, a
// file cut short or with a wrong end marker: the sentinels CheckExport
// documents) rather than that it could not be read to the end.
func brokenArchive(err error) bool {
	return errors.Is(err, eventstore.ErrBadExport) ||
		errors.Is(err, eventstore.ErrChainBroken) ||
		errors.Is(err, eventstore.ErrExportIncomplete) ||
		errors.Is(err, eventstore.ErrNotKept)
}
