package pebblelog

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrNoRoomToOpen is wrapped by the error of Open when the disk has less
// free space than a database that may write needs to open (see roomToOpen).
var ErrNoRoomToOpen = errors.New("not enough free disk space to open")

// ErrNoManifest is wrapped by the error of Open when dir holds a
// database's tables or write-ahead logs but no MANIFEST (see checkManifest).
var ErrNoManifest = errors.New("a database without its MANIFEST")

// ErrOpenGivenUp is wrapped by the error of Open when it stopped waiting
// for pebble.Open at a background error during the open (a full disk).
var ErrOpenGivenUp = errors.New("pebble open given up")

// Open opens the Pebble database in dir as pebble.Open does, but returns
// an error where pebble.Open would wait forever. pebble.Open replays the
// write-ahead logs left by the last run and waits for their memtables to
// be flushed to tables; a flush that fails is retried at once, again and
// again, so on a full disk (ENOSPC) pebble.Open never returns: a server
// restarted to recover spun at 100% CPU, never bound its port and could
// only be killed. Open runs pebble.Open on its own goroutine and returns,
// wrapping ErrOpenGivenUp, at the first background error reported while
// it runs (through opts.EventListener.BackgroundError, which is still
// called), unless Pebble marks it as corruption (a compaction reading a
// damaged table, which does not hold the open up). The pebble.Open left
// behind keeps the directory's lock until it returns; if it ever does, the
// database it opened is closed. The process is expected to exit, and the
// operator to free space and start again, as the error says.
//
// Before it opens, Open checks that a database it may write (not
// ReadOnly) can create files in dir, when dir exists: Pebble meets a
// directory it cannot write when it rolls its MANIFEST, a fatal error
// that panics on a goroutine of Pebble's (Logger.Fatalf), which took the
// process down with a stack trace rather than an error.
//
// It also checks that the disk has the room Pebble writes to at once when
// it opens a database it may write (see checkRoom): on a full disk, a
// cleanly stopped store failed to write the MANIFEST Pebble rolls at open,
// again a fatal error that panicked on Pebble's goroutine.
//
// The database writes its files unpreallocated (see unpreallocated).
//
// opts is not modified: Open sets its listener and its file system on a
// clone.
//
// Before all, it checks that a directory holding a database's data has
// the MANIFEST that lists it (checkManifest): Pebble takes a directory
// without one for a new database, creates one, and deletes the tables it
// finds as obsolete.
//
// It takes no context on purpose: an open given up on a signal would leave
// Pebble writing in dir while the caller cleans up (an import removes its
// unfinished directory). A slow open (a long log to replay) finishes, and
// the command then stops; a second signal stops the process at once.
func Open(dir string, opts *pebble.Options) (*pebble.DB, error) {
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
	}
	if err := checkManifest(fs, dir); err != nil {
		return nil, err
	}
	if !opts.ReadOnly {
		if err := checkWritable(fs, dir); err != nil {
			return nil, err
		}
		if err := checkRoom(fs, dir); err != nil {
			return nil, err
		}
	}
	var opening atomic.Bool // while pebble.Open runs, and after it is given up
	failed := make(chan error, 1)
	o := opts.Clone()
	listener := pebble.EventListener{}
	if opts.EventListener != nil {
		listener = *opts.EventListener
	}
	report := listener.BackgroundError
	listener.BackgroundError = func(err error) {
		// A damaged table fails a compaction, not the flush the open
		// waits for: the open goes on, and reads report the damage.
		if opening.Load() && !pebble.IsCorruptionError(err) {
			select {
			case failed <- err:
			default:
			}
		}
		if report != nil {
			report(err)
		}
	}
	o.EventListener = &listener
	o.FS = unpreallocated(fs)

	type opened struct {
		db  *pebble.DB
		err error
	}
	done := make(chan opened, 1)
	opening.Store(true)
	go func() {
		db, err := pebble.Open(dir, o)
		done <- opened{db, err}
	}()
	var cause error
	select {
	case r := <-done:
		opening.Store(false)
		return r.db, r.err
	case cause = <-failed:
	}
	// An open that finished as the error came is kept: the database is
	// usable, and its background errors are logged as any later one.
	select {
	case r := <-done:
		opening.Store(false)
		return r.db, r.err
	default:
	}
	go func() {
		if r := <-done; r.err == nil {
			_ = r.db.Close()
		}
	}()
	// The caller names dir.
	return nil, fmt.Errorf("%w: %w: %s", ErrOpenGivenUp, cause, backgroundHint(cause))
}

// checkManifest returns an error wrapping ErrNoManifest when dir holds a
// database's data, a table (.sst, .blob) or a write-ahead log that is not
// empty (.log), but no MANIFEST marker (nor the CURRENT file of Pebble's
// older formats), which is how Pebble finds the MANIFEST, the list of the
// database's files. Pebble takes such a directory for a new database: it
// creates a MANIFEST that lists nothing and deletes the tables as obsolete
// (an auditor probe saw verify delete every event of a store whose
// MANIFEST was gone and report an empty log as ok), or fails with "not
// pristine" after writing into it. A missing dir, or one holding no data
// (a first start killed before it wrote any: Pebble preallocates its log
// without growing it), is left to Pebble.
func checkManifest(fs vfs.FS, dir string) error {
	names, err := fs.List(dir)
	if err != nil {
		return nil // a missing or unreadable dir: Pebble says why
	}
	var data []string
	for _, name := range names {
		switch {
		case strings.HasPrefix(name, "marker.manifest.") || name == "CURRENT":
			return nil
		case strings.HasSuffix(name, ".sst") || strings.HasSuffix(name, ".blob"):
			data = append(data, name)
		case strings.HasSuffix(name, ".log"):
			if info, err := fs.Stat(fs.PathJoin(dir, name)); err != nil || info.Size() > 0 {
				data = append(data, name)
			}
		}
	}
	if len(data) == 0 {
		return nil
	}
	shown := strings.Join(data[:min(len(data), 3)], ", ")
	if len(data) > 3 {
		shown += ", ..."
	}
	return fmt.Errorf("%w: %s holds %d data files (%s) but no MANIFEST, the file that lists them: the database is damaged (its MANIFEST was deleted or lost), and opening it would start an empty database over them and delete them; it is left as it is",
		ErrNoManifest, dir, len(data), shown)
}

// writeCheckFile is the file checkWritable creates and removes: a name
// Pebble neither writes nor deletes.
const writeCheckFile = ".callledger-write-check"

// checkWritable returns an error when dir exists and a file cannot be
// created in it (or removed from it). A missing dir is left to Pebble,
// which creates it or says why it cannot.
func checkWritable(fs vfs.FS, dir string) error {
	if _, err := fs.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	path := fs.PathJoin(dir, writeCheckFile)
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err == nil {
		err = errors.Join(f.Close(), fs.Remove(path))
	}
	if err != nil {
		return fmt.Errorf("the directory is not writable: %w: callledger must create files in it (run it as the directory's owner, or give that user write access)", err)
	}
	return nil
}

// openMargin is the free space, beyond the size of its MANIFEST, that a
// database that may write needs to open: Pebble writes a new MANIFEST (the
// current one rewritten), an OPTIONS file and marker files at every such
// open, and a failure to write them is fatal. (Pebble also reserves each
// new write-ahead log up front, at 110% of the memtable, but goes on where
// the disk has no room for that: no reason to refuse an open.)
const openMargin = 4 << 20

// checkRoom returns an error wrapping ErrNoRoomToOpen when the file
// system holding dir (or, while dir does not exist, its nearest existing
// parent) has less free space than openMargin plus the size of dir's
// largest MANIFEST. A file system that cannot tell its free space (a
// MemFS) passes.
func checkRoom(fs vfs.FS, dir string) error {
	path := dir
	for {
		if _, err := fs.Stat(path); err == nil {
			break
		}
		parent := fs.PathDir(path)
		if parent == path {
			return nil
		}
		path = parent
	}
	usage, err := fs.GetDiskUsage(path)
	if err != nil {
		return nil
	}
	need := uint64(openMargin) + largestManifest(fs, dir)
	if usage.AvailBytes >= need {
		return nil
	}
	return fmt.Errorf("%w: %s free, and Pebble needs about %s to open a database it writes to (it rewrites its MANIFEST at open): the disk is full; free space on the disk, then start again",
		ErrNoRoomToOpen, mebibytes(usage.AvailBytes), mebibytes(need))
}

// largestManifest returns the size of the largest MANIFEST file in dir,
// 0 when there is none (a new database) or dir cannot be listed.
func largestManifest(fs vfs.FS, dir string) uint64 {
	names, err := fs.List(dir)
	if err != nil {
		return 0
	}
	var largest uint64
	for _, name := range names {
		if !strings.HasPrefix(name, "MANIFEST-") {
			continue
		}
		if info, err := fs.Stat(fs.PathJoin(dir, name)); err == nil && uint64(info.Size()) > largest {
			largest = uint64(info.Size())
		}
	}
	return largest
}

// mebibytes renders a size for an operator, to a tenth of a MiB.
func mebibytes(n uint64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// backgroundHint says what the operator can do about a background error
// that stopped an open.
func backgroundHint(err error) string {
	if errors.Is(err, syscall.ENOSPC) {
		return "the disk is full: Pebble cannot write the tables of the write-ahead log it replays; free space on the disk, then start again"
	}
	return "Pebble could not flush the write-ahead log it replays and would retry forever; mend the cause, then start again"
}
