// Package embeddedtest damages the Pebble tables of a database for real,
// as a failing disk would, so that tests of the embedded store, of the
// tools that read it, and of the other Pebble databases of callledger (the
// read models, the idempotency table) check what a flipped byte of a table
// does to them with the same helpers. It also edits the keys of a closed
// embedded store, written from the documented format as a tamperer would
// write them (see Edit and EventKey), for the tests of what a store and
// its tools make of a log altered so. And it runs the test binary again as
// a child process for a crash test to kill (see StartChild).
//
// It is test-only code: import it from _test files alone.
package embeddedtest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/sstable/block"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded"
)

// OneTable opens the closed embedded store in dir once and closes it, and
// returns the path of its one table. Open replays the write-ahead log into
// a table, so events appended since the last reopen are then in a table of
// their own, no longer in the log; a store whose earlier events were
// flushed so has one table more each time (see Tables). It fails the test
// unless the store has exactly one table.
func OneTable(tb testing.TB, dir string) string {
	tb.Helper()
	tables := Flush(tb, dir)
	require.Len(tb, tables, 1, "reopening flushed the log into one table")
	return tables[0]
}

// Flush opens the closed embedded store in dir once and closes it, which
// flushes its write-ahead log into a table (see OneTable), and returns the
// paths of its tables, oldest first.
func Flush(tb testing.TB, dir string) []string {
	tb.Helper()
	s, err := embedded.Open(dir, embedded.Options{
		MemTableSize:     4 << 20,
		BlockCacheSize:   8 << 20,
		HeadCacheStreams: 64,
		Logger:           slog.New(slog.DiscardHandler),
	})
	require.NoError(tb, err)
	require.NoError(tb, s.Close())
	return Tables(tb, dir)
}

// NewTable replays the write-ahead log of the closed Pebble database in
// dir (an embedded store's or another's) into a table of its own, with
// Pebble's compactions off, and returns the path of that table. The
// embedded store's Open would flush the log the same way, but Pebble may
// then compact a small store's tables into one; a table that stays apart
// is what a larger store has in its upper levels: a table of the latest
// keys whose range overlaps the older tables.
func NewTable(tb testing.TB, dir string) string {
	tb.Helper()
	before := Tables(tb, dir)
	db, err := pebble.Open(dir, &pebble.Options{
		DisableAutomaticCompactions: true,
		Logger:                      quietLogger{tb},
	})
	require.NoError(tb, err)
	require.NoError(tb, db.Close())
	after := Tables(tb, dir)
	added := slices.DeleteFunc(after, func(t string) bool { return slices.Contains(before, t) })
	require.Len(tb, added, 1, "replaying the log wrote one table")
	return added[0]
}

// quietLogger is the pebble.Logger of NewTable and Edit: the test's log.
type quietLogger struct{ tb testing.TB }

func (l quietLogger) Infof(string, ...any) {}

func (l quietLogger) Errorf(format string, args ...any) { l.tb.Logf("pebble: "+format, args...) }

func (l quietLogger) Fatalf(format string, args ...any) { l.tb.Fatalf("pebble: "+format, args...) }

// Keys returns the keys in [lower, upper) of the closed Pebble database in
// dir (an embedded store's or another's), opened read-only, so that
// reading them changes nothing in it: what its write-ahead log replays is
// counted, and the log is left as it is.
func Keys(tb testing.TB, dir string, lower, upper []byte) []string {
	tb.Helper()
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: true, Logger: quietLogger{tb}})
	require.NoError(tb, err)
	defer db.Close()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	require.NoError(tb, err)
	var keys []string
	for valid := it.First(); valid; valid = it.Next() {
		keys = append(keys, string(it.Key()))
	}
	require.NoError(tb, it.Close())
	return keys
}

// Tables returns the paths of the tables of the Pebble database in dir,
// oldest first: Pebble numbers its files in the order it creates them, with
// names of one length.
func Tables(tb testing.TB, dir string) []string {
	tb.Helper()
	tables, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	require.NoError(tb, err)
	slices.Sort(tables)
	return tables
}

// DamageLargestTable damages the middle data block (DamageDataBlock) of
// the table of the Pebble database in dir with the most data blocks, which
// must have more than 8, and returns the table's path: the read models'
// and the store's tests damage the block in the middle of their keys.
func DamageLargestTable(tb testing.TB, dir string) string {
	tb.Helper()
	var table string
	var blocks int
	for _, path := range Tables(tb, dir) {
		if n := len(Layout(tb, path).Data); n > blocks {
			table, blocks = path, n
		}
	}
	require.Greater(tb, blocks, 8, "enough blocks to damage one in the middle")
	DamageDataBlock(tb, table, blocks/2)
	return table
}

// Layout returns where the blocks of the table at path are.
func Layout(tb testing.TB, path string) *sstable.Layout {
	tb.Helper()
	f, err := vfs.Default.Open(path)
	require.NoError(tb, err)
	readable, err := sstable.NewSimpleReadable(f)
	require.NoError(tb, err)
	r, err := sstable.NewReader(context.Background(), readable, sstable.ReaderOptions{})
	require.NoError(tb, err)
	defer func() { require.NoError(tb, r.Close()) }()
	layout, err := r.Layout()
	require.NoError(tb, err)
	return layout
}

// DamageDataBlock flips one bit in the middle of data block i of the table
// at path (i < 0 counts from the last), as a failing disk would: the block
// no longer matches the checksum Pebble stored with it. It fails the test
// if the table has no block i.
func DamageDataBlock(tb testing.TB, path string, i int) {
	tb.Helper()
	data := Layout(tb, path).Data
	if i < 0 {
		i += len(data)
	}
	require.True(tb, i >= 0 && i < len(data), "the table has %d data blocks, no block %d", len(data), i)
	DamageBlock(tb, path, data[i].Handle)
}

// DamageBlock flips one bit in the middle of the block h of the table at
// path.
func DamageBlock(tb testing.TB, path string, h block.Handle) {
	tb.Helper()
	offset := int64(h.Offset + h.Length/2)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(tb, err)
	b := make([]byte, 1)
	_, err = f.ReadAt(b, offset)
	require.NoError(tb, err)
	b[0] ^= 0x10
	_, err = f.WriteAt(b, offset)
	require.NoError(tb, err)
	require.NoError(tb, f.Close())
}

// LogBytes returns the bytes of the write-ahead logs (*.log) of the Pebble
// database in dir, all together, and how many logs there are.
func LogBytes(tb testing.TB, dir string) (bytes int64, logs int) {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.log"))
	require.NoError(tb, err)
	for _, name := range names {
		fi, err := os.Stat(name)
		require.NoError(tb, err)
		bytes += fi.Size()
	}
	return bytes, len(names)
}
