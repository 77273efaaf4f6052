package embedded_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/wal"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
)

// crashedStore is a copy of a store's directory taken while the store was
// open, after its appends were acknowledged: what kill -9 leaves, since
// the kernel holds every byte the process wrote. Its events are all in the
// write-ahead log (no memtable was flushed).
type crashedStore struct {
	dir     string
	log     string  // the path of the newest write-ahead log
	records []int64 // the offsets of the log's records, in order
	size    int64   // the log's length
}

// newCrashedStore appends n events, one append (and so one synced WAL
// record) each, and returns the store's directory as a crash leaves it,
// without its acknowledged head: the cases here test the check of the log
// alone, and the acknowledged head, written every ackedHeadInterval, would
// find some of them (TestAckedHead), depending on when it was written last.
func newCrashedStore(t *testing.T, n int) crashedStore {
	t.Helper()
	cs := crashStore(t, n, func(string) {})
	require.NoError(t, os.Remove(filepath.Join(cs.dir, embedded.AckedHeadName)))
	cs.log, cs.records, cs.size = newestLogRecords(t, cs.dir)
	// Open writes records of its own before the appends' (at least one
	// per append follows them).
	require.GreaterOrEqual(t, len(cs.records), n)
	return cs
}

// crashStore appends n events to a new store, one append each, calls
// before(dir) with its directory, then copies the directory as a crash
// leaves it, and returns the copy (its log not yet read).
func crashStore(t *testing.T, n int, before func(dir string)) crashedStore {
	t.Helper()
	live := t.TempDir()
	s, err := embedded.Open(live, testOptions())
	require.NoError(t, err)
	for range n {
		_, err := s.Append(context.Background(), "call-"+uuid.NewString(), eventstore.NoStream(), events(1, "CallUpserted"))
		require.NoError(t, err)
	}
	before(live)
	cs := crashedStore{dir: copyFiles(t, live)}
	require.NoError(t, s.Close())
	return cs
}

// newestLogRecords returns the newest write-ahead log in dir, the offsets
// of its records, in order, and its length; the log must read to its end.
func newestLogRecords(t *testing.T, dir string) (log string, records []int64, size int64) {
	t.Helper()
	logs, err := wal.Scan(wal.Dir{FS: vfs.Default, Dirname: dir})
	require.NoError(t, err)
	require.NotEmpty(t, logs)
	r := logs[len(logs)-1].OpenForRead()
	defer r.Close()
	for {
		_, off, err := r.NextRecord()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "the log reads to its end")
		log = off.PhysicalFile
		records = append(records, off.Physical)
	}
	fi, err := os.Stat(log)
	require.NoError(t, err)
	return log, records, fi.Size()
}

// copyFiles copies the files of dir into a new directory and returns it.
func copyFiles(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(out, e.Name()), b, 0o644))
		}
	}
	return out
}

// flip inverts the byte at offset of the crashed store's log.
func (cs crashedStore) flip(t *testing.T, offset int64) {
	t.Helper()
	b, err := os.ReadFile(cs.log)
	require.NoError(t, err)
	b[offset] ^= 0xff
	require.NoError(t, os.WriteFile(cs.log, b, 0o644))
}

// flipRecord is a damage of TestWALDamage: it flips the byte at offset
// within the back-th record from the log's end (1 is the last), and
// returns where.
func flipRecord(back int, offset int64) func(t *testing.T, cs crashedStore) int64 {
	return func(t *testing.T, cs crashedStore) int64 {
		at := cs.records[len(cs.records)-back] + offset
		cs.flip(t, at)
		return at
	}
}

// flipFirstBlock flips a payload byte of the first of 300 events' records,
// in the first block of a log that spans more than two.
func flipFirstBlock(t *testing.T, cs crashedStore) int64 {
	require.Greater(t, cs.size, int64(64<<10), "the log spans more than two blocks")
	return flipRecord(300, 40)(t, cs)
}

// cut truncates the crashed store's log to size bytes and appends zeros
// of the given length, as a torn write leaves a log (on a file system
// that zero-fills what it had allocated).
func (cs crashedStore) cut(t *testing.T, size, zeros int64) {
	t.Helper()
	b, err := os.ReadFile(cs.log)
	require.NoError(t, err)
	b = append(b[:size:size], make([]byte, zeros)...)
	require.NoError(t, os.WriteFile(cs.log, b, 0o644))
}

// eventCount opens the store in dir with opts and returns how many events
// it holds, or the error of Open.
func eventCount(t *testing.T, dir string, opts embedded.Options) (int, error) {
	t.Helper()
	s, err := embedded.Open(dir, opts)
	if err != nil {
		return 0, err
	}
	defer func() { assert.NoError(t, s.Close()) }()
	all, err := s.ReadAll(context.Background(), eventstore.Start, 0)
	require.NoError(t, err)
	return len(all), nil
}

// TestWALDamage checks that Open refuses a store whose newest write-ahead
// log has a damaged record followed by a record that was synced after it,
// naming the file and offset, where Pebble alone, for damage in the log's
// last 32 KiB, would replay the log up to the damage and silently drop
// every acknowledged event from there on; that the refusal changes
// nothing, so the store opens whole once the byte is mended; and that a
// torn write (the log cut short, or its end zeroed) still opens with
// every event before the cut, as it must after a crash.
func TestWALDamage(t *testing.T) {
	const events = 5
	tests := []struct {
		name string
		// n is how many events the store is given (one record each).
		n int
		// damage changes the crashed store's log; it returns the offset
		// of a flipped byte, -1 for none.
		damage func(t *testing.T, cs crashedStore) int64
		// refused says Open must fail naming the log; otherwise the store
		// must open with want events.
		refused bool
		want    int
		// pebble leaves the check to Pebble's own replay (whose refusal
		// Open must turn into the same error).
		pebble bool
	}{
		{
			name: "no damage", n: events,
			damage: func(t *testing.T, cs crashedStore) int64 { return -1 },
			want:   events,
		},
		{
			name: "a payload byte of the first event's record", n: events,
			damage: flipRecord(events, 40), refused: true,
		},
		{
			name: "the length in the header of the middle event's record", n: events,
			damage: flipRecord(3, 4), refused: true,
		},
		{
			name: "the encoding in the header of the next to last record", n: events,
			damage: flipRecord(2, 6), refused: true,
		},
		{
			// Nothing after the last record says it was synced: this is
			// indistinguishable from a torn write, and only a head
			// recorded elsewhere can show the cut (see walcheck.go).
			name: "a payload byte of the last record", n: events,
			damage: func(t *testing.T, cs crashedStore) int64 {
				cs.flip(t, cs.records[len(cs.records)-1]+40)
				return -1
			},
			want: events - 1,
		},
		{
			name: "torn: the log cut inside its last record", n: events,
			damage: func(t *testing.T, cs crashedStore) int64 {
				cs.cut(t, cs.records[len(cs.records)-1]+30, 0)
				return -1
			},
			want: events - 1,
		},
		{
			name: "torn: the last record zeroed to the end of its block", n: events,
			damage: func(t *testing.T, cs crashedStore) int64 {
				last := cs.records[len(cs.records)-1]
				cs.cut(t, last, 32<<10-last%(32<<10))
				return -1
			},
			want: events - 1,
		},
		{
			// Pebble's reader finds the proof itself here, in a later
			// block; the store names the file all the same.
			name: "a byte of the first block of a log of several blocks", n: 300,
			damage: flipFirstBlock, refused: true,
		},
		{
			name: "the same, found by Pebble's replay", n: 300, pebble: true,
			damage: flipFirstBlock, refused: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := newCrashedStore(t, tt.n)
			at := tt.damage(t, cs)
			damaged, err := os.ReadFile(cs.log)
			require.NoError(t, err)

			opts := testOptions()
			if tt.pebble {
				opts = embedded.WithoutWALCheck(opts)
			}
			// TrimCopiedLog (a checkpoint's) cuts a torn end only: the
			// cut log opens with the same events; a damaged one is left
			// whole, for the open to refuse.
			trimmed := copyFiles(t, cs.dir)
			require.NoError(t, embedded.TrimCopiedLog(trimmed))
			cut, err := os.ReadFile(filepath.Join(trimmed, filepath.Base(cs.log)))
			require.NoError(t, err)
			if tt.refused {
				assert.Equal(t, damaged, cut, "a damaged log is not cut")
			} else {
				assert.Equal(t, damaged[:len(cut)], cut, "a log is only ever cut short")
				got, err := eventCount(t, trimmed, opts)
				require.NoError(t, err)
				assert.Equal(t, tt.want, got, "events after Open of the cut log")
			}

			got, err := eventCount(t, cs.dir, opts)
			if !tt.refused {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got, "events after Open")
				return
			}
			require.Error(t, err)
			require.ErrorIs(t, err, embedded.ErrCorrupt)
			assert.Contains(t, err.Error(), "write-ahead log "+filepath.Base(cs.log)+" is damaged at offset")
			assert.Contains(t, err.Error(), "restore the data directory")
			if tt.pebble {
				assert.Contains(t, err.Error(), "(Pebble: ", "Pebble's own error is kept")
			}
			after, err := os.ReadFile(cs.log)
			require.NoError(t, err)
			require.Equal(t, damaged, after, "a refused Open leaves the log as it was")

			cs.flip(t, at) // mend it
			got, err = eventCount(t, cs.dir, opts)
			require.NoError(t, err)
			assert.Equal(t, tt.n, got, "every acknowledged event, once the byte is mended")
		})
	}
}

// TestWALBlockDamage checks that a write-ahead log with one 32 KiB block
// cut out, repeated or swapped with the next (every chunk intact, so no
// checksum fails, but a record assembled across the change is no batch)
// is refused as damage naming the log and an offset, as a flipped byte
// is, where Pebble's replay error ("invalid key kind ...: pebble: invalid
// batch") reached the caller bare: verify printed no FAILED line.
func TestWALBlockDamage(t *testing.T) {
	const block = 32 << 10
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"a block cut out", func(b []byte) []byte {
			return append(b[:block:block], b[2*block:]...)
		}},
		{"a block repeated", func(b []byte) []byte {
			return append(b[:2*block:2*block], b[block:]...)
		}},
		{"two blocks swapped", func(b []byte) []byte {
			out := append([]byte{}, b[:block]...)
			out = append(out, b[2*block:3*block]...)
			out = append(out, b[block:2*block]...)
			return append(out, b[3*block:]...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := newCrashedStore(t, 300)
			require.Greater(t, cs.size, int64(4*block), "the log spans more than four blocks")
			b, err := os.ReadFile(cs.log)
			require.NoError(t, err)
			damaged := tc.damage(b)
			require.NoError(t, os.WriteFile(cs.log, damaged, 0o644))

			_, err = eventCount(t, cs.dir, testOptions())
			require.Error(t, err)
			require.ErrorIs(t, err, embedded.ErrCorrupt)
			assert.Contains(t, err.Error(), "write-ahead log "+filepath.Base(cs.log)+" is damaged at offset")
			assert.Contains(t, err.Error(), "restore the data directory")
			after, err := os.ReadFile(cs.log)
			require.NoError(t, err)
			require.Equal(t, damaged, after, "a refused Open leaves the log as it was")
		})
	}
}
