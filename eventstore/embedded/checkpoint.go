package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/callledger/callledger/eventstore"
)

// Checkpoint writes a consistent copy of the store into dir, which must
// not exist, while the store stays open and keeps taking appends: Pebble's
// checkpoint, its tables hard-linked where dir is on the same file system
// (so it costs little disk until the store compacts them away) and its
// write-ahead log synced and copied, so that every event the copy holds
// is durable. It is how the tools of a data directory that a running
// server holds read it (cmd/callledger's serve control socket): the copy
// opens as a store of its own, at the moment it was taken.
//
// The memtable is flushed to a table first, so that the write-ahead log
// copied holds only what was appended since, and the copied log is cut
// where its records end (TrimCopiedLog: the log file is a recycled one,
// its tail a past log's): without, a copy carried up to a memtable's
// worth of log (~60 MiB at 64 MiB memtables), which its reader then
// replayed into a memtable of its own (a tool took 1.2-1.4 s and ~180 MB
// to start on a log of 1.8M events). The flush is work the store would do
// anyway; appends go on meanwhile.
func (s *Store) Checkpoint(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("checkpoint the event store: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("checkpoint the event store: %w", eventstore.ErrClosed)
	}
	if err := CheckpointPebble(s.db, dir); err != nil {
		return fmt.Errorf("checkpoint the event store into %s: %w", dir, err)
	}
	return nil
}

// CheckpointPebble writes a copy of the open Pebble database db into dir,
// which must not exist, as Store.Checkpoint describes: its memtable
// flushed, Pebble's checkpoint with its write-ahead log synced, and the
// copied log cut where its records end (TrimCopiedLog). The read models
// copy their database the same way (projections.Projector.Checkpoint).
func CheckpointPebble(db *pebble.DB, dir string) error {
	if err := db.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	if err := db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return err
	}
	return TrimCopiedLog(dir)
}

// LockHeld reports whether a process holds the Pebble database in dir
// open (the store, or any Pebble database, such as the read models): its
// lock is held. A directory without a database is not held.
func LockHeld(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "LOCK")); err != nil {
		return false
	}
	l, err := pebble.LockDirectory(dir, vfs.Default)
	if err != nil {
		return true
	}
	l.Close()
	return false
}
