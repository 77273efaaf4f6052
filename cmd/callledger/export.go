package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/callledger/callledger/eventstore"
)

func addExport(table map[string]command) {
	table["export"] = command{
		summary: "write every event as JSON Lines (to --out, or stdout: none or '-')",
		run:     runExport,
	}
}

// runExport writes the whole log in the export format (see
// eventstore.Export). With --out the file appears only once complete (see
// writeFileAtomically), so an interrupted export leaves no partial archive
// behind. Without --out,
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
	if !isStdStream(out) {
		// Refused before the log is read, not after it is written whole
		// and the rename fails.
		if info, err := os.Stat(out); err == nil && info.IsDir() {
			return usageError{fmt.Errorf("--out %s is a directory: name the file to write", out)}
		}
	}
	cfg, release, err := servedCopy(ctx, cfg, env)
	if err != nil {
		return err
	}
	defer release()
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

// writeFileAtomically runs write into a new file in path's directory, syncs
// it and renames it to path; on any failure the new file is removed and path
// is left as it was. Where the system allows (createUnnamed: Linux), the new
// file has no name until it is complete, so that even an export killed
// while it writes leaves nothing behind; elsewhere it is a hidden temporary
// file beside path, which only a kill or a crash leaves.
func writeFileAtomically(path string, write func(io.Writer) (eventstore.ExportStats, error)) (stats eventstore.ExportStats, err error) {
	dir := filepath.Dir(path)
	f, unnamed := createUnnamed(dir, path) // its write errors name path
	named := ""                            // the new file's name, once it has one
	if !unnamed {
		if f, err = os.CreateTemp(dir, tempPrefix(path)+"*"); err != nil {
			return stats, fmt.Errorf("create temporary file: %w", err)
		}
		named = f.Name()
	}
	committed := false
	defer func() {
		if !committed {
			_ = f.Close()
			if named != "" {
				_ = os.Remove(named)
			}
		}
	}()
	stats, err = write(f)
	if err != nil {
		return stats, err
	}
	if err := f.Sync(); err != nil {
		return stats, err // an *fs.PathError naming the file
	}
	if unnamed {
		// A new path is the file's first name, at once. An existing one is
		// replaced: the file gets a temporary name of its own, then a
		// rename, as a named one does (a kill between the two leaves that
		// name).
		err := linkUnnamed(f, path)
		if err == nil {
			named = path
			if err := f.Close(); err != nil {
				return stats, fmt.Errorf("close %s: %w", path, err) // the deferred cleanup removes it
			}
			committed = true
			return stats, syncDir(dir)
		}
		if !errors.Is(err, fs.ErrExist) {
			return stats, fmt.Errorf("name the export: %w", err)
		}
		if named, err = linkTemp(f, path); err != nil {
			return stats, err
		}
	}
	if err := f.Close(); err != nil {
		return stats, fmt.Errorf("close %s: %w", named, err)
	}
	if err := os.Rename(named, path); err != nil {
		return stats, fmt.Errorf("rename to %s: %w", path, err)
	}
	committed = true
	return stats, syncDir(dir)
}

// tempPrefix starts the name of the hidden temporary file that export
// writes path through.
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// linkTemp names f, an unnamed file, with a new temporary name beside path
// (see tempPrefix) and returns that name.
func linkTemp(f *os.File, path string) (string, error) {
	for range 100 {
		name := filepath.Join(filepath.Dir(path), tempPrefix(path)+strconv.FormatUint(uint64(rand.Uint32()), 10))
		err := linkUnnamed(f, name)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("name the export: %w", err)
		}
	}
	return "", fmt.Errorf("name the export: no free temporary name beside %s", path)
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
