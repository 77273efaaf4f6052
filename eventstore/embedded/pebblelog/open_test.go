package pebblelog_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
)

// TestOpenGivesUpWhereThePebbleOpenWouldWaitForever checks that an open
// whose replayed write-ahead log cannot be flushed (no table can be
// created, as on a full disk) returns an error naming the cause, where
// pebble.Open retries the flush forever; and that the open left behind,
// once the disk has room again, releases the database, which then opens
// with everything it held.
func TestOpenGivesUpWhereThePebbleOpenWouldWaitForever(t *testing.T) {
	dir := t.TempDir()
	var full atomic.Bool
	fs := embeddedtest.NoRoomForTables(&full)
	var reported atomic.Int64
	opts := &pebble.Options{
		FS:     fs,
		Logger: pebblelog.Logger{Log: slog.New(slog.DiscardHandler)},
		EventListener: &pebble.EventListener{
			BackgroundError: func(error) { reported.Add(1) },
		},
	}
	// A key in the write-ahead log only: Close does not flush.
	db, err := pebble.Open(dir, opts)
	require.NoError(t, err)
	require.NoError(t, db.Set([]byte("k"), []byte("v"), pebble.Sync))
	require.NoError(t, db.Close())

	full.Store(true)
	_, err = pebblelog.Open(dir, opts)
	require.ErrorIs(t, err, pebblelog.ErrOpenGivenUp)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.Contains(t, err.Error(), "free space on the disk, then start again")
	assert.Positive(t, reported.Load(), "the caller's listener still hears the error")

	// Room again: the open left behind finishes and closes the database,
	// whose lock a new open then takes.
	full.Store(false)
	require.Eventually(t, func() bool {
		db, err = pebblelog.Open(dir, opts)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "the database stays locked: %v", err)
	requireValueThenClose(t, db, "k")
}

// TestOpenGoesOnPastDamage checks that a background error Pebble marks
// as corruption (a compaction over a damaged table, here the first table
// the replay's flush creates) does not give the open up: Pebble retries,
// the open finishes, and the damage is for the reads to report.
func TestOpenGoesOnPastDamage(t *testing.T) {
	dir := t.TempDir()
	var damaged atomic.Int64
	fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind == errorfs.OpCreate && strings.HasSuffix(op.Path, ".sst") && damaged.Add(-1) >= 0 {
			return fmt.Errorf("%s: %w", op.Path, pebble.ErrCorruption)
		}
		return nil
	}))
	opts := &pebble.Options{FS: fs, Logger: pebblelog.Logger{Log: slog.New(slog.DiscardHandler)}}
	db, err := pebble.Open(dir, opts)
	require.NoError(t, err)
	require.NoError(t, db.Set([]byte("k"), []byte("v"), pebble.Sync))
	require.NoError(t, db.Close())

	damaged.Store(1)
	db, err = pebblelog.Open(dir, opts)
	require.NoError(t, err)
	assert.Negative(t, damaged.Load(), "the flush met the damage, then was retried")
	require.NoError(t, db.Close())
}

// TestOpenOpensAsPebbleDoes checks that a database with nothing to flush
// opens, and that an error of pebble.Open itself is returned as it is.
func TestOpenOpensAsPebbleDoes(t *testing.T) {
	dir := t.TempDir()
	opts := &pebble.Options{Logger: pebblelog.Logger{Log: slog.New(slog.DiscardHandler)}}
	db, err := pebblelog.Open(dir, opts)
	require.NoError(t, err)
	require.NoError(t, db.Set([]byte("k"), []byte("v"), pebble.Sync))
	require.NoError(t, db.Close())

	opts.ErrorIfExists = true
	_, err = pebblelog.Open(dir, opts)
	require.Error(t, err)
	assert.False(t, errors.Is(err, pebblelog.ErrOpenGivenUp), "pebble's own error: %v", err)
	assert.Nil(t, opts.EventListener, "the caller's options are left as they were")
}

// TestOpenRefusesADirectoryItCannotWrite checks that a database in a
// directory where no file can be created (as for a user without write
// permission) is an error naming the cause, where Pebble's fatal error at
// its MANIFEST's creation panicked on a goroutine of its own and took the
// process down; and that a read-only open does not need to write.
func TestOpenRefusesADirectoryItCannotWrite(t *testing.T) {
	dir := t.TempDir()
	var readOnly atomic.Bool
	fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if readOnly.Load() && op.Kind == errorfs.OpCreate {
			return &os.PathError{Op: "open", Path: op.Path, Err: syscall.EACCES}
		}
		return nil
	}))
	opts := &pebble.Options{FS: fs, Logger: pebblelog.Logger{Log: slog.New(slog.DiscardHandler)}}
	db, err := pebblelog.Open(dir, opts)
	require.NoError(t, err)
	require.NoError(t, db.Set([]byte("k"), []byte("v"), pebble.Sync))
	require.NoError(t, db.Close())

	readOnly.Store(true)
	_, err = pebblelog.Open(dir, opts)
	require.ErrorIs(t, err, os.ErrPermission)
	assert.Contains(t, err.Error(), "the directory is not writable")

	opts.ReadOnly = true
	db, err = pebblelog.Open(dir, opts)
	require.NoError(t, err, "a read-only open writes nothing")
	require.NoError(t, db.Close())
}

// TestOpenRefusesADiskWithoutRoom checks that a database that may write
// does not open on a disk with less free space than Pebble writes at once
// (4 MiB, and the size of the MANIFEST it rewrites), whether it is new or
// was stopped cleanly, and that the refusal leaves the directory as it
// was, where Pebble's fatal error at its MANIFEST's roll panicked on a
// goroutine of its own and left an empty MANIFEST; at the bound it opens,
// and a read-only open needs no room.
func TestOpenRefusesADiskWithoutRoom(t *testing.T) {
	const margin = 4 << 20
	dir := filepath.Join(t.TempDir(), "db")
	var free atomic.Uint64
	opts := &pebble.Options{
		FS:     embeddedtest.DiskWithFree(&free),
		Logger: pebblelog.Logger{Log: slog.New(slog.DiscardHandler)},
	}

	free.Store(margin - 1)
	_, err := pebblelog.Open(dir, opts)
	require.ErrorIs(t, err, pebblelog.ErrNoRoomToOpen)
	assert.NoDirExists(t, dir, "a new database is not begun")

	free.Store(margin)
	db, err := pebblelog.Open(dir, opts)
	require.NoError(t, err)
	for i := range 200 {
		require.NoError(t, db.Set([]byte(fmt.Sprint("k", i)), []byte("v"), pebble.Sync))
		require.NoError(t, db.Flush()) // tables the MANIFEST lists
	}
	require.NoError(t, db.Close())
	sizes := func() map[string]int64 {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		sizes := map[string]int64{}
		for _, e := range entries {
			info, err := e.Info()
			require.NoError(t, err)
			sizes[e.Name()] = info.Size()
		}
		return sizes
	}
	files := sizes()
	var manifest uint64
	for name, size := range files {
		if strings.HasPrefix(name, "MANIFEST-") {
			manifest = max(manifest, uint64(size))
		}
	}
	require.Greater(t, manifest, uint64(1000))
	need := margin + manifest

	for _, left := range []uint64{0, 1 << 20, margin, need - 1} {
		free.Store(left)
		_, err = pebblelog.Open(dir, opts)
		require.ErrorIs(t, err, pebblelog.ErrNoRoomToOpen, "%d bytes free", left)
		assert.Contains(t, err.Error(), "free space on the disk, then start again")
		assert.Equal(t, files, sizes(), "%d bytes free: the directory is left as it was", left)
	}

	opts.ReadOnly = true
	free.Store(0)
	db, err = pebblelog.Open(dir, opts)
	require.NoError(t, err, "a read-only open writes nothing")
	require.NoError(t, db.Close())

	opts.ReadOnly = false
	free.Store(need)
	db, err = pebblelog.Open(dir, opts)
	require.NoError(t, err)
	requireValueThenClose(t, db, "k199")
}

// TestOpenRefusesADatabaseWithoutItsManifest checks that a directory
// holding a database's data, in tables or in a write-ahead log, but no
// MANIFEST is refused, read-only or not, with every file left as it was,
// where Pebble took it for a new database and deleted its tables; and that
// an empty directory still opens as a new database.
func TestOpenRefusesADatabaseWithoutItsManifest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flush bool
	}{
		{"tables", true},
		{"write-ahead log", false},
	} {
		for _, readOnly := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s read-only %v", tc.name, readOnly), func(t *testing.T) {
				dir := t.TempDir()
				opts := &pebble.Options{Logger: pebblelog.Logger{Log: slog.New(slog.DiscardHandler)}}
				db, err := pebblelog.Open(dir, opts)
				require.NoError(t, err)
				require.NoError(t, db.Set([]byte("k"), []byte("v"), pebble.Sync))
				if tc.flush {
					require.NoError(t, db.Flush())
				}
				require.NoError(t, db.Close())
				embeddedtest.RemoveManifest(t, dir)
				before := dirFiles(t, dir)

				opts.ReadOnly = readOnly
				_, err = pebblelog.Open(dir, opts)
				require.ErrorIs(t, err, pebblelog.ErrNoManifest)
				assert.Contains(t, err.Error(), "no MANIFEST")
				assert.Equal(t, before, dirFiles(t, dir), "every file is left as it was")
			})
		}
	}
	t.Run("empty directory", func(t *testing.T) {
		db, err := pebblelog.Open(t.TempDir(), &pebble.Options{Logger: pebblelog.Logger{Log: slog.New(slog.DiscardHandler)}})
		require.NoError(t, err)
		require.NoError(t, db.Close())
	})
}

// dirFiles returns the names and sizes of the files in dir.
func dirFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]int64{}
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		out[e.Name()] = info.Size()
	}
	return out
}

// requireValueThenClose checks that db holds "v" at key, then closes db.
func requireValueThenClose(t *testing.T, db *pebble.DB, key string) {
	t.Helper()
	value, closer, err := db.Get([]byte(key))
	require.NoError(t, err)
	assert.Equal(t, "v", string(value))
	require.NoError(t, closer.Close())
	require.NoError(t, db.Close())
}
