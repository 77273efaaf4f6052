package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/callledger/callledger/eventstore"
)

func addExport(table map[string]command) {
	table["export"] = command{
		summary: "write every event as JSON Lines (to --out, or stdout: none or '-')",
		run:     runExport,
	}
}

// runExport writes the whole log in the export format (see
// eventstore.Export). With --out the file appears only once complete: the
// export goes to a temporary file beside it, synced and renamed at the end,
// so an interrupted export leaves no partial archive behind. Without --out,
// or with "--out -" (the usual name for the standard streams, which import
// and verify --in read as stdin), it writes to stdout.
func runExport(ctx context.Context, args []string, env Env) (err error) {
	fs := newFlagSet("export", env)
	var cfg storeConfig
	cfg.register(fs, env.Getenv)
	var out string
	nonEmptyStringVar(fs, &out, "out", "", "name a file, or - (or leave the flag out) for stdout",
		"`file` to write, whole or not at all ('-' or none: stdout)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	store, err := openToolStore(ctx, cfg, env, true)
	if err != nil {
		return err
	}
	defer closeInto(&err, store)

	meter := newProgressMeter(env, "export")
	defer meter.finish()
	if isStdStream(out) {
		stats, err := eventstore.Export(ctx, store, env.Stdout, meter.update)
		if err != nil {
			return err
		}
		meter.finish()
		fmt.Fprintf(env.Stderr, "exported %d events in %d streams, last position %s, head hash %s\n", stats.Events, stats.Streams, stats.Last, stats.LastAllHash)
		return nil
	}
	stats, err := writeFileAtomically(out, func(w io.Writer) (eventstore.ExportStats, error) {
		return eventstore.Export(ctx, store, w, meter.update)
	})
	if err != nil {
		return err
	}
	meter.finish()
	fmt.Fprintf(env.Stdout, "exported %d events in %d streams to %s, last position %s, head hash %s\n", stats.Events, stats.Streams, out, stats.Last, stats.LastAllHash)
	return nil
}

// writeFileAtomically runs write into a temporary file in path's directory,
// syncs it and renames it to path; on any failure the temporary file is
// removed and path is left as it was.
func writeFileAtomically(path string, write func(io.Writer) (eventstore.ExportStats, error)) (stats eventstore.ExportStats, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return stats, fmt.Errorf("create temporary file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	stats, err = write(f)
	if err != nil {
		return stats, err
	}
	if err := f.Sync(); err != nil {
		return stats, fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return stats, fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return stats, fmt.Errorf("rename to %s: %w", path, err)
	}
	committed = true
	return stats, syncDir(filepath.Dir(path))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
