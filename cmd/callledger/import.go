package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
)

// importDirPattern names the temporary store an import builds in the data
// directory. A directory left with this name by a killed import is never
// read by anything; the next import removes it.
const importDirPattern = "events.import-*"

// unfinishedImports returns the store directories of imports into dataDir
// that are running or were left unfinished (see importDirPattern).
func unfinishedImports(dataDir string) []string {
	dirs, _ := filepath.Glob(filepath.Join(dataDir, importDirPattern))
	return dirs
}

// checkUnfinishedImports looks for the store directories of imports into
// cfg's data directory that are running or were left unfinished (killed,
// or the machine stopped). Where the data directory holds no event store,
// serve refuses to start (the error says what to do): it would serve an
// empty ledger, ready, that clients would write into, and the import run
// again would then find its target taken (a crash probe restarted serve
// after a killed import and got one). Beside an event store, which an
// import never replaces, they are only logged: nothing of them is served,
// but they can hold as much as the whole log.
func checkUnfinishedImports(cfg storeConfig, log *slog.Logger) error {
	stale := unfinishedImports(cfg.DataDir)
	if cfg.StoreURL != "" || len(stale) == 0 {
		return nil
	}
	if _, err := os.Stat(cfg.EventsDir()); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("an import into %s is running or did not finish (it left %s), and the data directory holds no event store: serving it would start an empty ledger; run the import again (it removes what the last one left), or remove %s to start an empty ledger",
			cfg.DataDir, strings.Join(stale, ", "), strings.Join(stale, " and "))
	}
	log.Warn("an import into this data directory is running or did not finish: nothing of it is served; if none is running, remove what it left, or run the import again (which removes it)",
		"left", stale)
	return nil
}

func addImport(table map[string]command) {
	table["import"] = command{
		summary: "load an export (--in, or stdin: none or '-') into an empty data directory, verifying it",
		run:     runImport,
	}
}

// runImport loads an export, from --in or stdin (no --in, or "--in -", as
// for verify --in), into a new embedded store. The store is built
// in a temporary directory beside the events directory and renamed into
// place only when every line has been read, verified and appended, the end
// marker of a version-2 file agrees with the events read, and the result
// verifies: an interrupted import (Ctrl-C, a broken line, a truncated file)
// leaves the data directory as it was (one it created, it removes again).
// The events directory must not exist or hold an empty store (a store with
// events is refused: import never merges). A file with no export in it,
// empty or blank lines only, is refused as cut short (even an empty
// ledger exports a header and an end marker), rather than imported as an
// empty ledger. A version-1 file, which has no end marker, imports with a
// warning on stderr: had it been cut short, nothing could tell.
//
// With --store (KurrentDB) the events are appended straight to that store,
// which must be empty. The input is checked whole first
// (eventstore.CheckExport), so that a truncated or broken one is refused
// before anything is appended: a regular file given with --in is read twice;
// stdin (or a pipe named by --in), which cannot be, is first copied to a
// temporary file in os.TempDir() (spoolExport), removed when the import
// ends. Only an import that fails after the check (interrupted, the store
// refusing an append) leaves a partial log, which the error says and a
// second import refuses as not empty.
func runImport(ctx context.Context, args []string, env Env) (err error) {
	fs := newFlagSet("import", env)
	var cfg storeConfig
	cfg.register(fs, env.Getenv)
	var in string
	nonEmptyStringVar(fs, &in, "in", "", "name a file, or - (or leave the flag out) for stdin",
		"export `file` to read ('-' or none: stdin)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	src, closeSrc, err := openInput(in, env.Stdin)
	if err != nil {
		return err
	}
	defer closeSrc()
	meter := newProgressMeter(env, "import")
	defer meter.finish()

	var (
		stats eventstore.ExportStats
		head  eventstore.VerifyReport // the embedded store's, as verify prints it
	)
	if cfg.StoreURL != "" {
		stats, err = importShared(ctx, cfg, env, src.file, src.r, meter.update)
	} else {
		// Import cannot say how many events the file holds (it reports a
		// total of 0); a file's size and how much of it was read tell,
		// roughly. (importShared's check counts them exactly.)
		r, progress := sizedProgress(src.r, src.size, meter.update)
		stats, head, err = importEmbedded(ctx, cfg, env, r, progress, meter.finish)
	}
	if err != nil {
		return err
	}
	meter.finish()
	switch {
	case cfg.StoreURL != "":
		// KurrentDB gives the events positions of its own: the archive's
		// head is not the store's, which verify prints (an operator
		// probe compared the two and took them for a mismatch).
		fmt.Fprintf(env.Stdout, "imported %d events in %d streams from an archive whose last position is %s and head hash %s; KurrentDB gives them positions of its own, so `callledger verify --store` prints the store's head, not this one\n", stats.Events, stats.Streams, stats.Last, stats.LastAllHash)
	case head.HeadPosition != stats.Last || head.HeadAllHash != stats.LastAllHash:
		// An archive of a KurrentDB log: the embedded store numbers its
		// events 1, 2, ... and chains $all over those positions, so its
		// head is not the archive's (a KurrentDB probe saw the archive's
		// printed as the store's).
		fmt.Fprintf(env.Stdout, "imported %d events in %d streams, last position %s, head hash %s (the store's, as `callledger verify` prints it; the archive, whose positions are another store's, ends at position %s with head hash %s)\n", stats.Events, stats.Streams, head.HeadPosition, head.HeadAllHash, stats.Last, stats.LastAllHash)
	default:
		fmt.Fprintf(env.Stdout, "imported %d events in %d streams, last position %s, head hash %s\n", stats.Events, stats.Streams, stats.Last, stats.LastAllHash)
	}
	if stats.Version < 2 {
		warnVersion1(env.Stderr, src.source, "imported as a shorter log without error")
	}
	noteAPIKeys(env, cfg, stats)
	return nil
}

// noteAPIKeys reminds, after an import of calls into a data directory
// that holds no API key file, that an export carries the log and not the
// keys: every call belongs to its account, and a serve that creates a new
// key serves a new account, which sees none of the imported calls (an
// empty ledger, with no error to say why).
func noteAPIKeys(env Env, cfg storeConfig, stats eventstore.ExportStats) {
	if cfg.StoreURL != "" || stats.Events == 0 {
		return
	}
	keys := filepath.Join(cfg.DataDir, generatedKeysFile)
	if _, err := os.Stat(keys); err == nil {
		return
	}
	fmt.Fprintf(env.Stderr, "callledger import: note: an export carries the log, not the API keys: to serve the imported calls to their accounts, copy the source's %s to %s (or give serve --api-keys-file); a new key is a new account, which sees none of them\n",
		generatedKeysFile, keys)
}

// importShared imports into the KurrentDB store cfg names, which
// eventstore.Import appends to as it reads. The input is checked whole with
// eventstore.CheckExport first, so that a truncated or broken one is refused
// before anything is appended: file, a regular file (r reads it too), is
// checked and read again to import; when file is nil r cannot be read twice
// (stdin, a pipe), and spoolExport copies it to a temporary file as it
// checks it, which the import then reads. progress is the import's, told the
// number of events the check counted as its total (Import reports 0), so it
// needs no estimate from the file's size. A failure after the check says
// what it left.
func importShared(ctx context.Context, cfg storeConfig, env Env, file *os.File, r io.Reader, progress eventstore.Progress) (stats eventstore.ExportStats, err error) {
	store, err := openToolStore(ctx, cfg, env, false)
	if err != nil {
		return stats, err
	}
	defer closeInto(&err, store)
	check := newProgressMeter(env, "check")
	var checked eventstore.ExportStats
	if file != nil {
		checked, err = checkAndRewind(ctx, file, file, check.update)
	} else {
		var spool *os.File
		spool, checked, err = spoolExport(ctx, r, check.update)
		if spool != nil {
			defer removeSpool(spool)
			r = spool
		}
	}
	check.finish()
	if err != nil {
		return stats, fmt.Errorf("%w; nothing was appended to the store", err)
	}
	// The check counted the events: the import's total is exact.
	counted := func(done, _ uint64) { progress(done, checked.Events) }
	stats, err = eventstore.Import(ctx, store, r, counted)
	if err != nil {
		return stats, partialImportError(ctx, store, err)
	}
	return stats, nil
}

// spoolPattern names the temporary file in os.TempDir() that spoolExport
// copies an input that cannot be read twice to.
const spoolPattern = "callledger-import-*.jsonl"

// spoolExport copies r, an export that cannot be read twice (stdin, a pipe),
// to a new temporary file in os.TempDir() while eventstore.CheckExport
// checks it whole, so that an import that appends as it reads (KurrentDB)
// can refuse a truncated or broken input before appending anything, as it
// does a regular file, and then import from the copy. It returns the copy,
// rewound to its start, which the caller removes with removeSpool once
// done, and what the check found. The copy has no name where the system
// allows (createUnnamed: Linux), so that not even a killed import leaves it
// in os.TempDir(); elsewhere it is named by spoolPattern; on an error the copy is removed already
// and the file is nil. The error wraps CheckExport's (naming the line), or
// says the copy could not be created or written (a full disk: a failed write
// reaches CheckExport as a read error of the line, through spoolCopy, which
// says it was the copy). progress is the check's, as CheckExport's.
func spoolExport(ctx context.Context, r io.Reader, progress eventstore.Progress) (*os.File, eventstore.ExportStats, error) {
	f, unnamed := createUnnamed(os.TempDir(), filepath.Join(os.TempDir(), "(unnamed)"))
	if !unnamed {
		var err error
		if f, err = os.CreateTemp(os.TempDir(), spoolPattern); err != nil {
			return nil, eventstore.ExportStats{}, fmt.Errorf("create a temporary file to check the input whole before importing it: %w", err)
		}
	}
	// CheckExport reads r to its end when it succeeds: the copy is whole.
	stats, err := checkAndRewind(ctx, f, io.TeeReader(r, spoolCopy{f}), progress)
	if err != nil {
		removeSpool(f)
		return nil, stats, err
	}
	return f, stats, nil
}

// spoolCopy is the copy spoolExport writes as the check reads. Its write
// errors reach CheckExport through io.TeeReader as if reading the input had
// failed: it says that writing the copy did, so that a full disk is not
// taken for a broken pipe.
type spoolCopy struct{ f *os.File }

func (c spoolCopy) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("copy the input to a temporary file to check it whole before importing it: %w", err)
	}
	return n, nil
}

// checkAndRewind checks the export read from src whole with
// eventstore.CheckExport, then rewinds f, the file src reads or copies into,
// to its start, so that the import reads what was checked from its first
// line. The error is CheckExport's as it is, or says f could not be rewound.
func checkAndRewind(ctx context.Context, f *os.File, src io.Reader, progress eventstore.Progress) (eventstore.ExportStats, error) {
	stats, err := eventstore.CheckExport(ctx, src, progress)
	if err != nil {
		return stats, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return stats, fmt.Errorf("rewind %s to import it after the check: %w", f.Name(), err)
	}
	return stats, nil
}

// removeSpool closes and removes a copy spoolExport made (an unnamed one
// goes as it is closed). Errors are dropped: the copy was only read, and a
// file left in os.TempDir() harms nothing the import did.
func removeSpool(f *os.File) {
	unnamed := isUnnamed(f)
	_ = f.Close()
	if !unnamed {
		_ = os.Remove(f.Name())
	}
}

// partialImportError adds to err, the failure of an import straight into
// store, what it left there: nothing, or the events appended before it
// failed (a partial log, which must be removed before importing again).
func partialImportError(ctx context.Context, store eventstore.Store, err error) error {
	if errors.Is(err, eventstore.ErrNotEmpty) {
		return err // refused before appending anything
	}
	// ctx may be what stopped the import: look with a context of our own.
	probe, cancel := context.WithTimeout(context.WithoutCancel(ctx), partialImportProbeTimeout)
	defer cancel()
	recs, rerr := store.ReadAll(probe, eventstore.Start, 1)
	switch {
	case rerr != nil:
		return fmt.Errorf("%w; the store may hold the events appended before the failure (could not tell: %w): "+
			"a second import refuses a store that is not empty", err, rerr)
	case len(recs) > 0:
		return fmt.Errorf("%w; the store holds the events appended before the failure, a partial log: "+
			"empty it before importing again (a second import refuses a store that is not empty)", err)
	}
	return fmt.Errorf("%w; nothing was appended: the store is still empty", err)
}

// partialImportProbeTimeout bounds the read that tells what a failed import
// left in a shared store.
const partialImportProbeTimeout = 10 * time.Second

// importEmbedded imports into a temporary embedded store and renames it to
// cfg.EventsDir() once it is complete and verified. imported ends the
// import's progress line before the verify shows its own. The data
// directory is created if it does not exist; an import that fails removes
// what it created (removeCreatedDirs), so that the data directory is as it
// was, absent, as the error says. It returns what the file held and the
// report of the verify of the store it made, whose head is the store's.
func importEmbedded(ctx context.Context, cfg storeConfig, env Env, r io.Reader, progress eventstore.Progress, imported func()) (stats eventstore.ExportStats, report eventstore.VerifyReport, err error) {
	target := cfg.EventsDir()
	created, err := mkdirAllCreated(cfg.DataDir, dataDirPerm)
	if err != nil {
		return stats, report, err
	}
	committed := false
	defer func() {
		// Deferred first, so run last: after the temporary store is gone.
		if !committed {
			removeCreatedDirs(created)
		}
	}()
	replaceEmpty, err := checkImportTarget(ctx, target, env)
	if err != nil {
		return stats, report, err
	}
	for _, dir := range unfinishedImports(cfg.DataDir) {
		if err := os.RemoveAll(dir); err != nil {
			return stats, report, fmt.Errorf("remove the leftover of an interrupted import: %w", err)
		}
	}
	tmp, err := os.MkdirTemp(cfg.DataDir, importDirPattern)
	if err != nil {
		return stats, report, err
	}
	defer func() {
		if !committed {
			_ = os.RemoveAll(tmp)
		}
	}()

	opts := embedded.DefaultOptions()
	opts.Logger = toolLogger(env)
	opts.BlockCacheSize = 64 << 20
	// The temporary store is renamed into place only once closed (which
	// syncs it) and verified; a crash before that discards it: its appends
	// need not wait for a sync each.
	opts.Unsynced = true
	store, err := embedded.Open(tmp, opts)
	if err != nil {
		return stats, report, err
	}
	stats, err = eventstore.Import(ctx, store, r, progress)
	if err == nil {
		// Import checked the file; this checks what the store made of it
		// (three passes over the log: it shows its own progress).
		imported()
		check := newProgressMeter(env, "verify")
		report, err = eventstore.Verify(ctx, store, check.update)
		check.finish()
		if err == nil && !report.OK {
			err = fmt.Errorf("the imported store does not verify: %s", report.Problem)
		}
		if err == nil && report.HeadAllHash != stats.LastAllHash && stats.Last.Commit == stats.Events {
			err = fmt.Errorf("the imported $all head hash %s differs from the file's %s", report.HeadAllHash, stats.LastAllHash)
		}
	}
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return stats, report, fmt.Errorf("%w; nothing was imported: the data directory %s is as it was", err, cfg.DataDir)
	}
	if err := ctx.Err(); err != nil {
		return stats, report, err
	}
	// Read models in the data directory were built from another log (the
	// events directory was empty): they go before the imported log comes
	// into place, so that no crash can leave them beside it.
	if err := os.RemoveAll(cfg.ReadModelsDir()); err != nil {
		return stats, report, fmt.Errorf("remove the read models of the previous log: %w", err)
	}
	if replaceEmpty {
		if err := os.RemoveAll(target); err != nil {
			return stats, report, fmt.Errorf("remove the empty store %s: %w", target, err)
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		return stats, report, fmt.Errorf("move the imported store into place: %w", err)
	}
	committed = true
	return stats, report, syncDir(cfg.DataDir)
}

// mkdirAllCreated creates dir and any parents it lacks, as os.MkdirAll
// does, and returns the directories it created, deepest first (none when
// dir existed), for removeCreatedDirs to undo.
func mkdirAllCreated(dir string, perm os.FileMode) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); !errors.Is(err, os.ErrNotExist) {
			break // there (or not to be told): not ours to create
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, perm); err != nil {
		return nil, err
	}
	return missing, nil
}

// removeCreatedDirs removes the directories mkdirAllCreated created,
// deepest first, each only if it is empty (os.Remove), so that nothing
// that was there before, nor anything another process put there since, is
// ever removed; it stops at the first it cannot remove. Errors are
// dropped: the import's own error is what the caller reports.
func removeCreatedDirs(created []string) {
	for _, d := range created {
		if err := os.Remove(d); err != nil {
			return
		}
	}
}

// checkImportTarget refuses an events directory that holds events, and says
// whether there is an empty store to replace.
func checkImportTarget(ctx context.Context, dir string, env Env) (replaceEmpty bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case len(entries) == 0:
		return true, nil
	}
	opts := embedded.DefaultOptions()
	opts.Logger = toolLogger(env)
	opts.BlockCacheSize = 8 << 20
	opts.MemTableSize = 4 << 20
	store, err := embedded.Open(dir, opts)
	if isLockHeld(err) {
		return false, openError("embedded store", dir, err) // as every command says it
	}
	if err != nil {
		return false, fmt.Errorf("check that %s is empty: %w", dir, err)
	}
	defer closeInto(&err, store)
	recs, err := store.ReadAll(ctx, eventstore.Start, 1)
	if err != nil {
		return false, fmt.Errorf("check that %s is empty: %w", dir, err)
	}
	if len(recs) > 0 {
		return false, fmt.Errorf("%s: %w (import loads an export into a new data directory; it never merges)", dir, eventstore.ErrNotEmpty)
	}
	return true, nil
}

// countingReader counts the bytes read through it, so that an import can
// tell how far into its file it is.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// sizedProgress wraps r, a file of size bytes (0 when unknown, as for
// stdin), and progress, so that progress learns an estimated total while r
// is read: Import and CheckExport report a total of 0, as they cannot know
// how many events a file holds, and the share of the file read tells
// roughly, enough for a percentage and an ETA. A total reported as known
// is passed on as it is. With no size both are returned unchanged.
func sizedProgress(r io.Reader, size int64, progress eventstore.Progress) (io.Reader, eventstore.Progress) {
	if size <= 0 {
		return r, progress
	}
	counted := &countingReader{r: r}
	return counted, func(done, total uint64) {
		if total == 0 {
			total = estimateTotal(done, counted.n, size)
		}
		progress(done, total)
	}
}

// estimateTotal estimates the events of a file of size bytes of which read
// bytes held done events, for the progress meter's ETA: 0 (unknown) when
// the size is not known (stdin) or nothing is read yet.
func estimateTotal(done uint64, read, size int64) uint64 {
	if size <= 0 || read <= 0 || done == 0 {
		return 0
	}
	return uint64(float64(done) * float64(size) / float64(read))
}
