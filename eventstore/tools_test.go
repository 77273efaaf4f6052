package eventstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// smallOptions keep each test store light.
func smallOptions() embedded.Options {
	return embedded.Options{MemTableSize: 4 << 20, BlockCacheSize: 8 << 20, HeadCacheStreams: 64,
		Logger: slog.New(slog.DiscardHandler)}
}

// openStore opens the embedded store in dir and closes it when the test ends
// (closing twice is allowed, so tests may close it early).
func openStore(tb testing.TB, dir string) *embedded.Store {
	tb.Helper()
	s, err := embedded.Open(dir, smallOptions())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// fixture is a known log: several streams, interleaved in $all, with data
// and metadata of every shape the export format must carry byte for byte.
type fixture struct {
	streams []string
	// events in append order, each with the stream it went to.
	appended []fixtureEvent
}

type fixtureEvent struct {
	stream string
	event  eventstore.EventData
}

// payloads covers compact JSON with HTML characters and U+2028 (which an
// HTML-escaping encoder would rewrite), indented JSON, non-JSON bytes,
// invalid UTF-8, JSON null and empty.
var payloads = [][]byte{
	[]byte(`{"a":"<b>&</b>","line":"x` + "\u2028" + `y"}`),
	[]byte("{\n  \"indented\": true\n}"),
	[]byte("not json at all"),
	{0xff, 0xfe, '{', '}'},
	[]byte(`null`),
	[]byte(`{"price":{"total":"0.0135","currency":"USD"}}`),
	{},
}

// buildLog appends a known log to store: streamsN streams, eventsN events,
// appended in batches of one to three events to streams chosen in turn.
func buildLog(t *testing.T, store eventstore.Store, streamsN, eventsN int) fixture {
	t.Helper()
	ctx := context.Background()
	var f fixture
	next := make([]uint64, streamsN)
	for range streamsN {
		f.streams = append(f.streams, "call-"+uuid.NewString())
	}
	for i, b := 0, 0; i < eventsN; b++ {
		si := b % streamsN
		n := min(1+i%3, eventsN-i)
		batch := make([]eventstore.EventData, n)
		for j := range batch {
			k := i + j
			md := []byte(fmt.Sprintf(`{"schema_version":1,"account_id":"acc","actor":"test","time":"2025-01-02T03:04:%02dZ"}`, k%60))
			if k%5 == 4 {
				md = nil
			}
			batch[j] = eventstore.EventData{ID: uuid.New(), Type: fmt.Sprintf("Type%d", k%4), Data: payloads[k%len(payloads)], Metadata: md}
		}
		expected := eventstore.NoStream()
		if next[si] > 0 {
			expected = eventstore.Exact(next[si] - 1)
		}
		_, err := store.Append(ctx, f.streams[si], expected, batch)
		require.NoError(t, err)
		for _, e := range batch {
			f.appended = append(f.appended, fixtureEvent{stream: f.streams[si], event: e})
		}
		next[si] += uint64(n)
		i += n
	}
	return f
}

// buildVerifiedLog builds a log as buildLog does in a new store in dir,
// checks that it verifies, and closes the store for a test to tamper with.
func buildVerifiedLog(t *testing.T, dir string, streamsN, eventsN int) fixture {
	t.Helper()
	store := openStore(t, dir)
	f := buildLog(t, store, streamsN, eventsN)
	before, err := eventstore.Verify(context.Background(), store, nil)
	require.NoError(t, err)
	require.True(t, before.OK, "problem: %v", before.Problem)
	require.NoError(t, store.Close())
	return f
}

func TestVerifyIntactLog(t *testing.T) {
	// Goal: an untouched log verifies, with the counts and the head hash the
	// store itself recorded, and progress reaches the total: every event
	// counted three times, once in $all, once by the index check and once
	// in its stream; twice from a backend without an index check.
	ctx := context.Background()
	store := openStore(t, t.TempDir())
	f := buildLog(t, store, 5, 1300)

	var lastDone, lastTotal uint64
	report, err := eventstore.Verify(ctx, store, func(done, total uint64) { lastDone, lastTotal = done, total })
	require.NoError(t, err)
	require.True(t, report.OK, "problem: %v", report.Problem)
	assert.Equal(t, uint64(len(f.appended)), report.Events)
	assert.Equal(t, uint64(len(f.streams)), report.Streams)
	headPos, headHash, err := store.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, headPos, report.HeadPosition)
	assert.Equal(t, headHash, report.HeadAllHash)
	assert.Equal(t, uint64(3*1300), lastDone)
	assert.Equal(t, uint64(3*1300), lastTotal)

	report, err = eventstore.Verify(ctx, withoutIndexCheck{store, store}, func(done, total uint64) { lastDone, lastTotal = done, total })
	require.NoError(t, err)
	require.True(t, report.OK, "problem: %v", report.Problem)
	assert.Equal(t, uint64(2*1300), lastDone)
	assert.Equal(t, uint64(2*1300), lastTotal)
}

func TestVerifyEmptyLog(t *testing.T) {
	// Goal: an empty log is fine, with zero counts and the zero head.
	report, err := eventstore.Verify(context.Background(), openStore(t, t.TempDir()), nil)
	require.NoError(t, err)
	assert.True(t, report.OK)
	assert.Zero(t, report.Events)
	assert.True(t, report.HeadPosition.IsStart())
	assert.True(t, report.HeadAllHash.IsZero())
}

func TestVerifyCancelled(t *testing.T) {
	// Goal: a cancelled walk stops with the context's error, not a problem.
	store := openStore(t, t.TempDir())
	buildLog(t, store, 3, 50)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := eventstore.Verify(ctx, store, nil)
	require.ErrorIs(t, err, context.Canceled)
}

// tamper rewrites the stored value under key in the closed store in dir
// with change, through Pebble directly, as an attacker with the files
// would.
func tamper(t *testing.T, dir string, key []byte, change func(v []byte) []byte) {
	t.Helper()
	embeddedtest.Rewrite(t, dir, key, func(v []byte) []byte {
		original := bytes.Clone(v)
		changed := change(v)
		require.NotEqual(t, original, changed, "the tamper changed nothing")
		return changed
	})
}

// flipAt flips one bit of the byte at offset i.
func flipAt(i int) func(v []byte) []byte {
	return func(v []byte) []byte {
		v[i] ^= 0x01
		return v
	}
}

// flipIn flips the first byte of the first occurrence of part in the value.
func flipIn(t *testing.T, part []byte) func(v []byte) []byte {
	return func(v []byte) []byte {
		i := bytes.Index(v, part)
		require.GreaterOrEqual(t, i, 0, "%q not in the stored value", part)
		v[i] ^= 0x01
		return v
	}
}

// reseal rewrites the record checksum (the last 4 bytes, CRC-32C of every
// byte before it) after change, as a deliberate tamperer would, so that the
// record decodes and only the hash chains can catch the change.
func reseal(change func(v []byte) []byte) func(v []byte) []byte {
	return func(v []byte) []byte { return embeddedtest.Reseal(change(v)) }
}

// crcLen is the size of the record checksum that ends every stored value.
const crcLen = 4

func TestVerifyDetectsTampering(t *testing.T) {
	// Goal: changing any one byte of a stored event makes Verify fail,
	// naming that event and nothing before it. Damage (a flipped byte) is
	// caught by the record checksum as an undecodable record; a deliberate
	// change with the checksum recomputed is caught by the hash chains,
	// whatever it touched: content, identity, the stored hashes. Offsets
	// follow the record layout in the embedded package's doc.go.
	const target = 37 // a position in the middle of the log
	dataAt := func(e fixtureEvent, v []byte) int {
		return len(v) - crcLen - len(e.event.Metadata) - 4 - len(e.event.Data)
	}
	cases := []struct {
		name string
		// change builds the tamper from the event as appended.
		change func(t *testing.T, e fixtureEvent) func([]byte) []byte
		// undecodable: the store cannot decode the value at all.
		undecodable bool
		reason      string
	}{
		{name: "data byte", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte {
			return reseal(func(v []byte) []byte { v[dataAt(e, v)] ^= 0x01; return v })
		}, reason: "content hashes to"},
		{name: "metadata byte", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte {
			return reseal(func(v []byte) []byte { v[len(v)-crcLen-1] ^= 0x01; return v })
		}, reason: "content hashes to"},
		{name: "stream hash byte", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte { return reseal(flipAt(40)) }, reason: "stored hash"},
		{name: "all hash byte", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte { return reseal(flipAt(90)) }, reason: "stored $all hash"},
		{name: "event id byte", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte { return reseal(flipAt(20)) }, reason: "content hashes to"},
		{name: "revision byte", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte { return reseal(flipAt(16)) }, reason: "revision"},
		{name: "stream id byte", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte { return reseal(flipIn(t, []byte(e.stream))) }, reason: "stream starts at revision"},
		{name: "type byte", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte { return reseal(flipIn(t, []byte(e.event.Type))) }, reason: "content hashes to"},
		{name: "record version", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte { return reseal(flipAt(0)) }, undecodable: true},
		{name: "data length", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte {
			return reseal(func(v []byte) []byte { v[dataAt(e, v)-4] ^= 0x80; return v })
		}, undecodable: true},
		{name: "damaged data byte", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte {
			return func(v []byte) []byte { v[dataAt(e, v)] ^= 0x01; return v }
		}, undecodable: true},
		{name: "recorded_at moved before the event before it", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte {
			return reseal(func(v []byte) []byte { binary.BigEndian.PutUint64(v[1:], 0); return v })
		}, reason: "where this store's recording times never decrease: one of the two was altered"},
		{name: "damaged recorded_at byte", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte { return flipAt(8) }, undecodable: true},
		{name: "damaged checksum", change: func(t *testing.T, e fixtureEvent) func([]byte) []byte {
			return func(v []byte) []byte { v[len(v)-1] ^= 0x01; return v }
		}, undecodable: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			f := buildVerifiedLog(t, dir, 4, 60)

			e := f.appended[target-1] // positions are 1..N in append order
			require.NotEmpty(t, e.event.Metadata, "the target must have metadata")
			tamper(t, dir, embeddedtest.EventKey(target), tc.change(t, e))

			report, err := eventstore.Verify(ctx, openStore(t, dir), nil)
			require.NoError(t, err)
			require.False(t, report.OK, "tampering went unnoticed")
			p := report.Problem
			require.NotNil(t, p)
			assert.Equal(t, eventstore.Position{Commit: target - 1, Prepare: target - 1}, p.After, "the problem must be the tampered event: %s", p)
			assert.Equal(t, uint64(target-1), report.Events)
			if tc.undecodable {
				require.Error(t, p.Err)
				assert.ErrorIs(t, p.Err, embedded.ErrCorrupt)
				assert.Contains(t, p.String(), fmt.Sprintf("position %d", target))
				return
			}
			assert.Equal(t, eventstore.Position{Commit: target, Prepare: target}, p.Position)
			assert.False(t, p.Missing, "an altered event is blamed, not a gap before it: %s", p)
			assert.Contains(t, p.Reason, tc.reason)
			assert.Contains(t, p.String(), fmt.Sprintf("position %d,", target))
		})
	}
}

func TestVerifyDetectsWrongHead(t *testing.T) {
	// Goal: when the head the store recorded disagrees with the chain (here
	// its hash was altered), Verify says so: it is how a cut tail shows.
	ctx := context.Background()
	dir := t.TempDir()
	store := openStore(t, dir)
	buildLog(t, store, 3, 20)
	require.NoError(t, store.Close())
	tamper(t, dir, []byte("Mhead"), flipAt(20))

	// The store's acknowledged head refuses it at Open already; without
	// it (a store of an earlier build), Verify finds the altered head.
	_, err := embedded.Open(dir, embedded.DefaultOptions())
	require.ErrorIs(t, err, embedded.ErrCorrupt)
	require.NoError(t, os.Remove(filepath.Join(dir, "callledger-acked-head")))
	report, err := eventstore.Verify(ctx, openStore(t, dir), nil)
	require.NoError(t, err)
	require.False(t, report.OK)
	assert.Contains(t, report.Problem.Reason, "head hash")
	assert.Equal(t, uint64(20), report.Events)
}

func TestVerifyDetectsDeletedEvent(t *testing.T) {
	// Goal: an event removed from $all is reported as missing before the
	// intact event after it, between the events around the gap, and when
	// the event after it is of the same stream, the skipped revision is
	// named; the event after the gap is not blamed. Positions are 1..N in
	// append order, so the fixture tells which event is where.
	cases := []struct {
		name    string
		events  int
		deleted uint64
	}{
		{name: "first event", events: 20, deleted: 1},
		{name: "next event of another stream", events: 20, deleted: 10},
		{name: "next event of the same stream", events: 20, deleted: 11},
		{name: "last event of a batch read", events: 600, deleted: eventstore.ReadBatchEvents},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			store := openStore(t, dir)
			f := buildLog(t, store, 3, tc.events)
			require.NoError(t, store.Close())
			gone, after := f.appended[tc.deleted-1], f.appended[tc.deleted]
			embeddedtest.Edit(t, dir, func(db *pebble.DB) {
				require.NoError(t, db.Delete(embeddedtest.EventKey(tc.deleted), pebble.Sync))
			})

			report, err := eventstore.Verify(ctx, openStore(t, dir), nil)
			require.NoError(t, err)
			require.False(t, report.OK)
			p := report.Problem
			assert.True(t, p.Missing, "a gap, not an altered event: %s", p)
			assert.Equal(t, eventstore.Position{Commit: tc.deleted + 1, Prepare: tc.deleted + 1}, p.Position)
			assert.Equal(t, eventstore.Position{Commit: tc.deleted - 1, Prepare: tc.deleted - 1}, p.After)
			between := fmt.Sprintf("the $all chain breaks before position %d: an event between positions %d and %d is missing or was altered",
				tc.deleted+1, tc.deleted-1, tc.deleted+1)
			if tc.deleted == 1 {
				between = "the $all chain breaks before position 2: an event before it is missing or was altered"
			}
			assert.Contains(t, p.String(), between)
			skipped := fmt.Sprintf("revision %d of stream %s is missing", revisionOf(f, tc.deleted), gone.stream)
			if gone.stream == after.stream {
				assert.Contains(t, p.String(), skipped)
			} else {
				assert.NotContains(t, p.String(), "of stream")
			}
		})
	}
}

// revisionOf is the stream revision of the event at pos in f's log.
func revisionOf(f fixture, pos uint64) uint64 {
	var rev uint64
	for _, e := range f.appended[:pos-1] {
		if e.stream == f.appended[pos-1].stream {
			rev++
		}
	}
	return rev
}

// positionsOf lists the positions of stream's events in f's log, in
// revision order.
func positionsOf(f fixture, stream string) []uint64 {
	var out []uint64
	for i, e := range f.appended {
		if e.stream == stream {
			out = append(out, uint64(i+1))
		}
	}
	return out
}

func TestVerifyDetectsStreamIndexTampering(t *testing.T) {
	// Goal: $all intact, a stream index entry deleted (the last one hides
	// the call's latest event from auditors and every read of the call),
	// redirected to another event, or added past the stream's end fails
	// Verify, naming the stream and its first revision that differs: the
	// embedded store's index check names the key at fault, and over a
	// backend without one (the check hidden) the stream reads through
	// ReadStream as other than its events in $all.
	type change struct {
		key   []byte
		value []byte // nil deletes the key
	}
	cases := []struct {
		name string
		// edit returns the changes to make to a stream whose events are at
		// positions, and the other stream's positions.
		edit     func(stream string, positions, others []uint64) []change
		revision func(positions []uint64) uint64
		// reason is the index check's, readReason the pass over the
		// streams' when the check is hidden.
		reason, readReason string
	}{
		{
			name: "last entry deleted",
			edit: func(s string, p, _ []uint64) []change {
				return []change{{key: embeddedtest.StreamIndexKey(s, uint64(len(p)-1))}}
			},
			revision:   func(p []uint64) uint64 { return uint64(len(p) - 1) },
			reason:     "missing: the event at position",
			readReason: "ReadStream ends at revision",
		},
		{
			name:       "middle entry deleted",
			edit:       func(s string, p, _ []uint64) []change { return []change{{key: embeddedtest.StreamIndexKey(s, 3)}} },
			revision:   func([]uint64) uint64 { return 3 },
			reason:     "missing: the event at position",
			readReason: "ReadStream cannot read it",
		},
		{
			name: "every entry deleted",
			edit: func(s string, p, _ []uint64) []change {
				var cs []change
				for rev := range p {
					cs = append(cs, change{key: embeddedtest.StreamIndexKey(s, uint64(rev))})
				}
				return cs
			},
			revision:   func([]uint64) uint64 { return 0 },
			reason:     "missing: the event at position",
			readReason: "ReadStream finds no such stream",
		},
		{
			name: "entry redirected to another stream's event",
			edit: func(s string, _, o []uint64) []change {
				return []change{{key: embeddedtest.StreamIndexKey(s, 2), value: embeddedtest.PositionValue(o[2])}}
			},
			revision:   func([]uint64) uint64 { return 2 },
			reason:     "names position",
			readReason: "ReadStream cannot read it",
		},
		{
			name: "entry redirected to the stream's next event",
			edit: func(s string, p, _ []uint64) []change {
				return []change{{key: embeddedtest.StreamIndexKey(s, 2), value: embeddedtest.PositionValue(p[3])}}
			},
			revision:   func([]uint64) uint64 { return 2 },
			reason:     "names position",
			readReason: "ReadStream cannot read it",
		},
		{
			name: "entry added past the end",
			edit: func(s string, p, _ []uint64) []change {
				return []change{{key: embeddedtest.StreamIndexKey(s, uint64(len(p))), value: embeddedtest.PositionValue(p[len(p)-1])}}
			},
			revision:   func(p []uint64) uint64 { return uint64(len(p)) },
			reason:     "past the stream's head",
			readReason: "ReadStream cannot read it",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			f := buildVerifiedLog(t, dir, 3, 60)

			stream := f.streams[1]
			positions := positionsOf(f, stream)
			require.Greater(t, len(positions), 4)
			embeddedtest.Edit(t, dir, func(db *pebble.DB) {
				for _, c := range tc.edit(stream, positions, positionsOf(f, f.streams[2])) {
					if c.value == nil {
						require.NoError(t, db.Delete(c.key, pebble.Sync))
					} else {
						require.NoError(t, db.Set(c.key, c.value, pebble.Sync))
					}
				}
			})
			store := openStore(t, dir)
			rev := tc.revision(positions)

			report, err := eventstore.Verify(ctx, store, nil)
			require.NoError(t, err)
			require.False(t, report.OK, "the tampered stream index went unnoticed")
			p := report.Problem
			assert.Equal(t, fmt.Sprintf("stream index key 'S' (stream %s, revision %d)", stream, rev), p.Key, "%s", p)
			assert.Equal(t, stream, p.Stream, "%s", p)
			assert.Equal(t, rev, p.Revision, "%s", p)
			assert.Contains(t, p.Reason, tc.reason)
			assert.Equal(t, uint64(len(f.appended)), report.Events, "all of $all verified")

			report, err = eventstore.Verify(ctx, withoutIndexCheck{store, store}, nil)
			require.NoError(t, err)
			require.False(t, report.OK, "the tampered stream index read back unnoticed")
			p = report.Problem
			assert.Empty(t, p.Key)
			assert.Equal(t, stream, p.Stream, "%s", p)
			assert.Equal(t, rev, p.Revision, "%s", p)
			assert.Contains(t, p.Reason, tc.readReason)
			assert.Contains(t, p.String(), fmt.Sprintf("stream %s, revision %d: ", stream, p.Revision))
			assert.Equal(t, uint64(len(f.appended)), report.Events, "all of $all verified")
			if tc.name == "last entry deleted" {
				last := positions[len(positions)-1]
				assert.Equal(t, eventstore.Position{Commit: last, Prepare: last}, p.Position, "the hidden event's position")
			}
		})
	}
}

// withoutIndexCheck is a store as a backend without an index check (an
// eventstore.IndexChecker) would be to Verify: its head is known, its index
// unchecked. Both fields are the same store.
type withoutIndexCheck struct {
	eventstore.Store
	eventstore.HeadReader
}

// rewritingStore is a real embedded store whose ReadStream answers pass
// through rewrite: it stands for a backend whose stream reads disagree with
// its $all in ways the embedded store's own checks never let through.
type rewritingStore struct {
	*embedded.Store
	rewrite func(recs []eventstore.Record) []eventstore.Record
}

// ReadStream reads like the embedded store, then rewrites the records.
func (s rewritingStore) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Record, error) {
	recs, err := s.Store.ReadStream(ctx, stream, from, limit)
	if err != nil {
		return nil, err
	}
	return s.rewrite(recs), nil
}

func TestVerifyComparesStreamsWithAll(t *testing.T) {
	// Goal: over any backend, Verify compares what ReadStream returns with
	// $all: an event at another position, with other content, or past the
	// stream's end in $all fails, naming the stream and revision; an event
	// appended after the walk of $all is no problem.
	const revision = 2
	cases := []struct {
		name   string
		change func(recs []eventstore.Record) []eventstore.Record
		// reason is "" when the log must verify.
		reason   string
		revision uint64
	}{
		{name: "another position", change: func(recs []eventstore.Record) []eventstore.Record {
			recs[revision].Position.Prepare++
			return recs
		}, reason: "at another position than $all does", revision: 0},
		{name: "other data", change: func(recs []eventstore.Record) []eventstore.Record {
			recs[revision].Data = []byte(`{"forged":true}`)
			return recs
		}, reason: "the event's content hashes to", revision: revision},
		{name: "an event past the end", change: func(recs []eventstore.Record) []eventstore.Record {
			extra := recs[len(recs)-1]
			extra.Revision++
			return append(recs, extra)
		}, reason: "past revision", revision: 21},
		{name: "an event appended since", change: func(recs []eventstore.Record) []eventstore.Record {
			extra := recs[len(recs)-1]
			extra.Revision++
			extra.Position = eventstore.Position{Commit: 1000, Prepare: 1000}
			return append(recs, extra)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			store := openStore(t, t.TempDir())
			f := buildLog(t, store, 3, 60)
			require.Len(t, positionsOf(f, f.streams[0]), 21, "the fixture is the same every run")
			rewriting := rewritingStore{Store: store, rewrite: func(recs []eventstore.Record) []eventstore.Record {
				if len(recs) == 0 || recs[0].StreamID != f.streams[0] {
					return recs
				}
				return tc.change(recs)
			}}

			report, err := eventstore.Verify(ctx, rewriting, nil)
			require.NoError(t, err)
			if tc.reason == "" {
				assert.True(t, report.OK, "problem: %v", report.Problem)
				return
			}
			require.False(t, report.OK, "the stream's read went unchecked")
			p := report.Problem
			assert.Equal(t, f.streams[0], p.Stream)
			assert.Equal(t, tc.revision, p.Revision, "%s", p)
			assert.Contains(t, p.Reason, tc.reason)
		})
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	// Goal: export → import into an empty store → verify preserves every
	// event byte for byte, every stream hash and, since the source's
	// positions are 1..N, every $all hash and the head.
	ctx := context.Background()
	source := openStore(t, t.TempDir())
	f := buildLog(t, source, 7, 2500)

	var out bytes.Buffer
	exported, err := eventstore.Export(ctx, source, &out, nil)
	require.NoError(t, err)
	assert.Equal(t, uint64(2500), exported.Events)
	assert.Equal(t, uint64(7), exported.Streams)
	assert.Equal(t, 2500+2, bytes.Count(out.Bytes(), []byte("\n")), "one event a line, between the header and the end marker")

	// Raw JSON is written as stored: no HTML escaping, no re-indenting.
	_, events, _ := bytes.Cut(out.Bytes(), []byte("\n"))
	firstEvent, _, _ := bytes.Cut(events, []byte("\n"))
	assert.Contains(t, string(firstEvent), `"data":`+string(payloads[0]))

	target := openStore(t, t.TempDir())
	var progressed uint64
	imported, err := eventstore.Import(ctx, target, bytes.NewReader(out.Bytes()), func(done, _ uint64) { progressed = done })
	require.NoError(t, err)
	assert.Equal(t, exported, imported)
	assert.Equal(t, uint64(2500), progressed)

	report, err := eventstore.Verify(ctx, target, nil)
	require.NoError(t, err)
	require.True(t, report.OK, "problem: %v", report.Problem)
	assert.Equal(t, exported.LastAllHash, report.HeadAllHash)

	srcAll, err := source.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	dstAll, err := target.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.Len(t, dstAll, len(srcAll))
	for i := range srcAll {
		s, d := srcAll[i], dstAll[i]
		assert.Equal(t, s.StreamID, d.StreamID)
		assert.Equal(t, s.Revision, d.Revision)
		assert.Equal(t, s.Position, d.Position)
		assert.Equal(t, s.ID, d.ID)
		assert.Equal(t, s.Type, d.Type)
		assert.True(t, bytes.Equal(s.Data, d.Data), "data of position %s", s.Position)
		assert.True(t, bytes.Equal(s.Metadata, d.Metadata), "metadata of position %s", s.Position)
		assert.Equal(t, s.Hash, d.Hash)
		assert.Equal(t, s.AllHash, d.AllHash)
	}
	assert.Len(t, f.appended, len(dstAll))

	// Exporting the import gives the same file but for recorded_at.
	var again bytes.Buffer
	_, err = eventstore.Export(ctx, target, &again, nil)
	require.NoError(t, err)
	assert.Equal(t, stripRecordedAt(t, out.Bytes()), stripRecordedAt(t, again.Bytes()))
}

// stripRecordedAt removes the one field an import cannot keep.
func stripRecordedAt(t *testing.T, export []byte) []string {
	t.Helper()
	var lines []string
	for line := range bytes.Lines(export) {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(line, &m))
		delete(m, "recorded_at")
		b, err := json.Marshal(m)
		require.NoError(t, err)
		lines = append(lines, string(b))
	}
	return lines
}

func TestImportRefuses(t *testing.T) {
	// Goal: Import refuses a non-empty store and a file whose chain does not
	// verify, naming the line; nothing past the bad line is appended.
	ctx := context.Background()
	source := openStore(t, t.TempDir())
	buildLog(t, source, 3, 30)
	var out bytes.Buffer
	_, err := eventstore.Export(ctx, source, &out, nil)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")

	t.Run("NotEmpty", func(t *testing.T) {
		_, err := eventstore.Import(ctx, source, strings.NewReader(out.String()), nil)
		require.ErrorIs(t, err, eventstore.ErrNotEmpty)
	})

	edit := func(i int, change func(m map[string]any)) string {
		return strings.Join(editLine(t, lines, i, change), "\n") + "\n"
	}
	cases := []struct {
		name string
		file string
		err  error
		line string
	}{
		{"ChangedType", edit(9, func(m map[string]any) { m["type"] = "Forged" }), eventstore.ErrChainBroken, "line 10 "},
		{"ChangedHash", edit(4, func(m map[string]any) { m["hash"] = strings.Repeat("2", 64) }), eventstore.ErrChainBroken, "line 5 "},
		{"ChangedAllHash", edit(4, func(m map[string]any) { m["all_hash"] = strings.Repeat("1", 64) }), eventstore.ErrChainBroken, "line 5 "},
		{"MissingLine", strings.Join(append(append([]string(nil), lines[:12]...), lines[13:]...), "\n"), eventstore.ErrChainBroken, "line 13 "},
		{"NotJSON", strings.Join(lines[:3], "\n") + "\n{oops\n", eventstore.ErrBadExport, "line 4:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := openStore(t, t.TempDir())
			_, err := eventstore.Import(ctx, target, strings.NewReader(tc.file), nil)
			require.ErrorIs(t, err, tc.err)
			assert.Contains(t, err.Error(), tc.line)
		})
	}
}

func TestExportCancelled(t *testing.T) {
	// Goal: export and import stop on a cancelled context with its error.
	store := openStore(t, t.TempDir())
	buildLog(t, store, 2, 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := eventstore.Export(ctx, store, &bytes.Buffer{}, nil)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
}
