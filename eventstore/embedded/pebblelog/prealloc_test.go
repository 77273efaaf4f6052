//go:build linux

package pebblelog_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
)

// TestLogsTakeTheSpaceTheyHold checks that a database opened by Open
// reserves no disk ahead of its write-ahead log: after a few KiB of synced
// writes under a 64 MiB memtable, the log's blocks on disk are about its
// size, where Pebble's preallocation took 74 MB (a crash probe found two
// such databases filling a 300 MB disk by the reservations alone).
func TestLogsTakeTheSpaceTheyHold(t *testing.T) {
	dir := t.TempDir()
	db, err := pebblelog.Open(dir, &pebble.Options{
		MemTableSize: 64 << 20,
		Logger:       pebblelog.Logger{Log: slog.New(slog.DiscardHandler)},
	})
	require.NoError(t, err)
	defer db.Close()
	for i := range 100 {
		require.NoError(t, db.Set([]byte{byte(i)}, make([]byte, 100), pebble.Sync))
	}
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, logs)
	for _, log := range logs {
		info, err := os.Stat(log)
		require.NoError(t, err)
		allocated := info.Sys().(*syscall.Stat_t).Blocks * 512
		assert.Less(t, allocated, int64(1<<20), "%s: %d bytes allocated for %d written", log, allocated, info.Size())
	}
}
