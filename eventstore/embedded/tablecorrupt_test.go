package embedded_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/sstable/block"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// tabledStore is a closed store whose events all sit in one Pebble table.
type tabledStore struct {
	dir     string
	table   string   // the path of the table
	streams []string // in key order, as the table holds their index keys
	all     []eventstore.Record
}

// newTabledStore writes 30 streams of 100 events into a store in a new
// directory, closes it, and opens and closes it once more: Open replays
// the write-ahead log into a table, so the events are then in a table (of
// about 30 data blocks of 32 KiB) and no longer in the log.
func newTabledStore(t *testing.T) tabledStore {
	t.Helper()
	ctx := context.Background()
	ts := tabledStore{dir: t.TempDir()}
	s, err := embedded.Open(ts.dir, testOptions())
	require.NoError(t, err)
	for range 30 {
		stream := "call-" + uuid.NewString()
		_, err = s.Append(ctx, stream, eventstore.NoStream(), events(100, "CallUpserted"))
		require.NoError(t, err)
		ts.streams = append(ts.streams, stream)
	}
	slices.Sort(ts.streams) // all the same length: key order
	ts.all, err = s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	ts.table = embeddedtest.OneTable(t, ts.dir)
	require.Greater(t, len(embeddedtest.Layout(t, ts.table).Data), 8, "enough blocks to damage one in the middle")
	return ts
}

// firstUnreadable returns the first position that ReadAll cannot read, one
// event at a time, and 0 if every event reads.
func firstUnreadable(t *testing.T, s *embedded.Store, n int) uint64 {
	t.Helper()
	for pos := uint64(1); pos <= uint64(n); pos++ {
		if _, err := s.ReadAll(context.Background(), eventstore.Position{Commit: pos - 1, Prepare: pos - 1}, 1); err != nil {
			return pos
		}
	}
	return 0
}

// TestDamagedTable checks that a byte flipped in a data block of one of
// Pebble's tables (which Pebble finds when the block's checksum fails) makes
// every read that needs the block fail with an error wrapping ErrCorrupt
// that names the position or key being read and the damaged file, never a
// panic, while the reads that do not need it still work; and that Verify
// and Export, reading through them, report it.
func TestDamagedTable(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// block picks the damaged data block: the table holds the events
		// ('E' keys) first, and the stream index ('S' keys) last.
		block int
		check func(t *testing.T, s *embedded.Store, ts tabledStore)
	}{
		{"EventsBlock", 5, func(t *testing.T, s *embedded.Store, ts tabledStore) {
			_, readErr := s.ReadAll(ctx, eventstore.Start, 0)
			require.ErrorIs(t, readErr, embedded.ErrCorrupt)
			assert.ErrorContains(t, readErr, "checksum mismatch")
			assert.NotContains(t, readErr.Error(), "\n", "one line")
			m := regexp.MustCompile(`event at position (\d+): unreadable: Pebble found on-disk corruption in ` + regexp.QuoteMeta(ts.table)).FindStringSubmatch(readErr.Error())
			require.Len(t, m, 2, readErr.Error())
			bad, err := strconv.ParseUint(m[1], 10, 64)
			require.NoError(t, err)
			require.Greater(t, bad, uint64(1), "the events of the blocks before it read")
			// Reading up to the event before, one at a time, does not
			// touch the damaged block.
			assert.Equal(t, bad, firstUnreadable(t, s, len(ts.all)))
			var page eventstore.Page
			err = s.ReadAllPage(ctx, eventstore.Start, 0, &page)
			assert.ErrorIs(t, err, embedded.ErrCorrupt)

			// The events after the damaged block read as they were. A
			// failing read costs Pebble a search for the flipped bit, so
			// the block's end is found by bisection: the positions from
			// bad to it fail, those after it read.
			fails, good := bad, uint64(len(ts.all))+1
			for good-fails > 1 {
				mid := fails + (good-fails)/2
				if _, err := s.ReadAll(ctx, eventstore.Position{Commit: mid - 1, Prepare: mid - 1}, 1); err != nil {
					fails = mid
				} else {
					good = mid
				}
			}
			require.LessOrEqual(t, good, uint64(len(ts.all)), "the damage ends with its block")
			rest, err := s.ReadAll(ctx, eventstore.Position{Commit: good - 1, Prepare: good - 1}, 0)
			require.NoError(t, err)
			assert.Equal(t, ts.all[good-1:], rest)

			// A stream with an event in the block fails to read, naming it.
			stream := ts.all[bad-1].StreamID
			_, err = s.ReadStream(ctx, stream, 0, 0)
			require.ErrorIs(t, err, embedded.ErrCorrupt)
			assert.ErrorContains(t, err, "read stream "+stream+": event at position ")

			report, err := eventstore.Verify(ctx, s, nil)
			require.NoError(t, err, "damage is a problem of the log, not a failure to verify")
			require.False(t, report.OK)
			assert.Equal(t, eventstore.Position{Commit: bad - 1, Prepare: bad - 1}, report.Problem.After)
			assert.ErrorIs(t, report.Problem.Err, embedded.ErrCorrupt)
			assert.Contains(t, report.Problem.String(), "event at position "+strconv.FormatUint(bad, 10)+": unreadable")
			assert.Contains(t, report.Problem.String(), ts.table)

			var out bytes.Buffer
			_, err = eventstore.Export(ctx, s, &out, nil)
			assert.ErrorIs(t, err, embedded.ErrCorrupt)
		}},
		{"StreamIndexBlock", -1, func(t *testing.T, s *embedded.Store, ts tabledStore) {
			all, err := s.ReadAll(ctx, eventstore.Start, 0)
			require.NoError(t, err, "the events are in other blocks")
			assert.Equal(t, ts.all, all)

			// The last stream's index keys are the table's last.
			last := ts.streams[len(ts.streams)-1]
			_, err = s.ReadStream(ctx, last, 0, 0)
			require.ErrorIs(t, err, embedded.ErrCorrupt)
			assert.ErrorContains(t, err, "read stream "+last+": stream index at revision ")
			assert.ErrorContains(t, err, "Pebble found on-disk corruption in "+ts.table)
			_, err = s.ReadStream(ctx, ts.streams[0], 0, 0)
			assert.NoError(t, err, "the first stream's index keys are in another block")

			_, err = s.CheckIndex(ctx, nil)
			require.ErrorIs(t, err, embedded.ErrCorrupt)
			report, err := eventstore.Verify(ctx, s, nil)
			require.NoError(t, err)
			require.False(t, report.OK)
			assert.ErrorIs(t, report.Problem.Err, embedded.ErrCorrupt)
			assert.Contains(t, report.Problem.String(), ts.table)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTabledStore(t)
			embeddedtest.DamageDataBlock(t, ts.table, tt.block)
			var logs embeddedtest.LogBuffer
			opts := testOptions()
			opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			s, err := embedded.Open(ts.dir, opts)
			require.NoError(t, err, "a damaged block of events does not stop the store opening")
			tt.check(t, s, ts)
			require.NoError(t, s.Close())
			assert.Contains(t, logs.String(), "pebble found on-disk corruption")
			assert.Contains(t, logs.String(), ts.table)
			// Each report is one line that says what is damaged, not a
			// dump of Pebble's stack (slog prints an error value with
			// %+v, which cockroachdb/errors fills with its stack).
			for line := range strings.Lines(logs.String()) {
				assert.Less(t, len(line), 600, "a log line of %d bytes: %.300s", len(line), line)
			}
		})
	}
}

// TestDamagedTableOpen checks that Open, which reads the format version
// and the last event to check the stored head against it, refuses a store
// whose table is damaged where it reads with an error wrapping ErrCorrupt
// that names the file, as it refuses a head that does not match, rather
// than panicking.
func TestDamagedTableOpen(t *testing.T) {
	tests := []struct {
		name string
		// blocks picks the damaged blocks of the table.
		blocks func(l *sstable.Layout) []block.Handle
		want   string
	}{
		{"EveryDataBlock", func(l *sstable.Layout) []block.Handle {
			var hs []block.Handle
			for _, d := range l.Data {
				hs = append(hs, d.Handle)
			}
			return hs
		}, "find last event: unreadable: "},
		{"IndexBlock", func(l *sstable.Layout) []block.Handle { return l.Index }, "find last event: unreadable: "},
		{"Footer", func(l *sstable.Layout) []block.Handle { return []block.Handle{l.Footer} }, "find last event: unreadable: "},
		{"BloomFilter", func(l *sstable.Layout) []block.Handle { return []block.Handle{l.Filter[0].Handle} }, "read format version: unreadable: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTabledStore(t)
			for _, h := range tt.blocks(embeddedtest.Layout(t, ts.table)) {
				embeddedtest.DamageBlock(t, ts.table, h)
			}
			opts := testOptions()
			opts.Logger = slog.New(slog.DiscardHandler)
			_, err := embedded.Open(ts.dir, opts)
			require.ErrorIs(t, err, embedded.ErrCorrupt)
			assert.ErrorContains(t, err, tt.want+"Pebble found on-disk corruption in "+ts.table)
		})
	}
}

// TestDamagedNewerTable checks that damage to the first data block of a
// newer table, holding the events after those of an older one, fails only
// the reads that need it: Pebble positions an iterator in every table its
// range overlaps, so without care a read of the older table's events
// failed as soon as it started, named the wrong position, and verify
// reported the damage at position 1. The reads of the older events return
// them; a read that reaches the newer table names its first position.
func TestDamagedNewerTable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const older, newer = 1000, 1000
	var olderStreams, newerStreams []string
	for _, n := range []int{older, newer} {
		s, err := embedded.Open(dir, testOptions())
		require.NoError(t, err)
		stream := "call-" + uuid.NewString()
		for range n / 100 {
			_, err = s.Append(ctx, stream, eventstore.Any(), events(100, "CallUpserted"))
			require.NoError(t, err)
		}
		if len(olderStreams) == 0 {
			olderStreams = append(olderStreams, stream)
		} else {
			newerStreams = append(newerStreams, stream)
		}
		require.NoError(t, s.Close())
		embeddedtest.NewTable(t, dir) // the events of each round in a table of their own
	}
	tables := embeddedtest.Tables(t, dir)
	require.Len(t, tables, 2)
	embeddedtest.DamageDataBlock(t, tables[1], 0)

	opts := testOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	s, err := embedded.Open(dir, opts)
	require.NoError(t, err, "the last event is not in the damaged block")
	defer func() { require.NoError(t, s.Close()) }()

	tests := []struct {
		name  string
		after uint64
		limit int
		// want is how many events the read returns; wantErr whether it
		// fails, naming the newer table's first position.
		want    int
		wantErr bool
	}{
		{"FirstEventsOfOlder", 0, 10, 10, false},
		{"AllOfOlder", 0, older, older, false},
		{"FromTheMiddleOfOlder", 500, older - 500, older - 500, false},
		{"PastOlder", 0, 0, 0, true},
		{"FromTheMiddlePastOlder", 500, older, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := s.ReadAll(ctx, eventstore.Position{Commit: tt.after, Prepare: tt.after}, tt.limit)
			if tt.wantErr {
				require.ErrorIs(t, err, embedded.ErrCorrupt)
				assert.ErrorContains(t, err, fmt.Sprintf("event at position %d: unreadable: Pebble found on-disk corruption in %s", older+1, tables[1]))
				return
			}
			require.NoError(t, err)
			require.Len(t, recs, tt.want)
			assert.Equal(t, tt.after+1, recs[0].Position.Commit)
			assert.Equal(t, tt.after+uint64(tt.want), recs[len(recs)-1].Position.Commit)
		})
	}

	recs, err := s.ReadStream(ctx, olderStreams[0], 0, 0)
	require.NoError(t, err, "the older stream's events are in the older table")
	assert.Len(t, recs, older)
	_, err = s.ReadStream(ctx, newerStreams[0], 0, 0)
	require.ErrorIs(t, err, embedded.ErrCorrupt)
	assert.ErrorContains(t, err, fmt.Sprintf("event at position %d, revision 0: unreadable: ", older+1))

	report, err := eventstore.Verify(ctx, s, nil)
	require.NoError(t, err)
	require.False(t, report.OK)
	assert.Equal(t, eventstore.Position{Commit: older, Prepare: older}, report.Problem.After)
	assert.ErrorIs(t, report.Problem.Err, embedded.ErrCorrupt)
	assert.Contains(t, report.Problem.String(), fmt.Sprintf("event at position %d: unreadable", older+1))
	assert.Contains(t, report.Problem.String(), tables[1])
}
