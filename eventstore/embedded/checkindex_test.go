package embedded_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// indexedLog is a closed store's directory and the events it holds.
type indexedLog struct {
	dir string
	all []eventstore.Record
}

// Streams of indexedLog: A, B and C hold its events; before and after sort
// before and after them (streams sort by length, then bytes), and have none.
const (
	streamA      = "call-a"
	streamB      = "call-b"
	streamC      = "call-c"
	streamBefore = "call-0"
	streamAfter  = "call-z"
)

// buildIndexedLog appends batches of one to three events to streams A, B
// and C in turn, interleaved in $all, and closes the store.
func buildIndexedLog(t *testing.T) indexedLog {
	t.Helper()
	ctx := context.Background()
	l := indexedLog{dir: t.TempDir()}
	s, err := embedded.Open(l.dir, testOptions())
	require.NoError(t, err)
	streams := []string{streamA, streamB, streamC}
	next := map[string]uint64{}
	for i, n := range []int{3, 2, 1, 2, 3, 1, 2, 2, 1, 3, 1, 2} {
		stream := streams[i%len(streams)]
		expected := eventstore.NoStream()
		if rev, ok := next[stream]; ok {
			expected = eventstore.Exact(rev - 1)
		}
		res, err := s.Append(ctx, stream, expected, events(n, "CallUpserted"))
		require.NoError(t, err)
		next[stream] = res.Revision + 1
	}
	l.all, err = s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	return l
}

// at returns the event of stream at revision rev.
func (l indexedLog) at(t *testing.T, stream string, rev uint64) eventstore.Record {
	for _, r := range l.all {
		if r.StreamID == stream && r.Revision == rev {
			return r
		}
	}
	t.Fatalf("no revision %d of stream %s", rev, stream)
	return eventstore.Record{}
}

// last returns the last event of stream.
func (l indexedLog) last(stream string) eventstore.Record {
	var last eventstore.Record
	for _, r := range l.all {
		if r.StreamID == stream {
			last = r
		}
	}
	return last
}

func TestCheckIndexDetectsTampering(t *testing.T) {
	// Goal: every index key that disagrees with the events is reported by
	// CheckIndex, and by Verify, as the key at fault with what it holds and
	// what the events say: a stream head with the wrong revision or hash,
	// deleted or unreadable (Append would refuse or misplace the stream's
	// next event); a stream index entry past the head (which ReadStream
	// skips while it names a position not yet written), deleted or
	// redirected; index keys and heads of a stream $all does not hold; an
	// id entry deleted, redirected, or of no event. "Mhead" is checked too,
	// though Verify finds a wrong one first, comparing it with the $all
	// chain, and Open refuses one naming another position.
	start := eventstore.Start
	cases := []struct {
		name string
		edit func(t *testing.T, db *pebble.DB, l indexedLog)
		// want is the problem; its Reason must contain want.Reason.
		want    func(t *testing.T, l indexedLog) eventstore.Problem
		corrupt bool // Problem.Err wraps embedded.ErrCorrupt
		// verifiedFirst: Verify reports another problem before the check.
		verifiedFirst bool
	}{
		{
			name: "head revision ahead",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				last := l.last(streamA)
				require.NoError(t, db.Set(embeddedtest.HeadKey(streamA), embeddedtest.HeadValue(last.Revision+1, last.Hash), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				last := l.last(streamA)
				return eventstore.Problem{Key: "stream head key 'H' (stream call-a)", Stream: streamA, Revision: last.Revision, Position: last.Position,
					Reason: fmt.Sprintf("says revision %d with hash %s, but the stream index ends at revision %d, the event at position %s with hash %s",
						last.Revision+1, last.Hash, last.Revision, last.Position, last.Hash)}
			},
		},
		{
			name: "head revision behind",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				before := l.at(t, streamA, l.last(streamA).Revision-1)
				require.NoError(t, db.Set(embeddedtest.HeadKey(streamA), embeddedtest.HeadValue(before.Revision, before.Hash), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				last := l.last(streamA)
				return eventstore.Problem{Key: "stream head key 'H' (stream call-a)", Stream: streamA, Revision: last.Revision, Position: last.Position,
					Reason: fmt.Sprintf("says revision %d with hash", last.Revision-1)}
			},
		},
		{
			name: "head hash wrong",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Set(embeddedtest.HeadKey(streamA), embeddedtest.HeadValue(l.last(streamA).Revision, l.at(t, streamA, 0).Hash), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				last := l.last(streamA)
				return eventstore.Problem{Key: "stream head key 'H' (stream call-a)", Stream: streamA, Revision: last.Revision, Position: last.Position,
					Reason: fmt.Sprintf("says revision %d with hash %s, but", last.Revision, l.at(t, streamA, 0).Hash)}
			},
		},
		{
			name: "head deleted",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Delete(embeddedtest.HeadKey(streamB), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				last := l.last(streamB)
				return eventstore.Problem{Key: "stream head key 'H' (stream call-b)", Stream: streamB, Revision: last.Revision, Position: last.Position,
					Reason: fmt.Sprintf("missing, and the stream index ends at revision %d", last.Revision)}
			},
		},
		{
			name: "head unreadable",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Set(embeddedtest.HeadKey(streamC), []byte{1, 2, 3}, pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				last := l.last(streamC)
				return eventstore.Problem{Key: "stream head key 'H' (stream call-c)", Stream: streamC, Revision: last.Revision, Position: last.Position,
					Reason: "holds 3 bytes, not a revision and a hash"}
			},
			corrupt: true,
		},
		{
			name: "index entry past the head",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				// A position not written yet: ReadStream stops before it.
				next := uint64(len(l.all) + 1)
				require.NoError(t, db.Set(embeddedtest.StreamIndexKey(streamA, l.last(streamA).Revision+1), embeddedtest.PositionValue(next), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				last := l.last(streamA)
				return eventstore.Problem{Key: fmt.Sprintf("stream index key 'S' (stream call-a, revision %d)", last.Revision+1),
					Stream: streamA, Revision: last.Revision + 1, Position: start,
					Reason: fmt.Sprintf("past the stream's head: its head key says revision %d is its last", last.Revision)}
			},
		},
		{
			name: "index entry and head past the end",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				last := l.last(streamA)
				require.NoError(t, db.Set(embeddedtest.StreamIndexKey(streamA, last.Revision+1), embeddedtest.PositionValue(uint64(len(l.all)+1)), pebble.Sync))
				require.NoError(t, db.Set(embeddedtest.HeadKey(streamA), embeddedtest.HeadValue(last.Revision+1, last.Hash), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				last := l.last(streamA)
				return eventstore.Problem{Key: fmt.Sprintf("stream index key 'S' (stream call-a, revision %d)", last.Revision+1),
					Stream: streamA, Revision: last.Revision + 1, Position: start,
					Reason: fmt.Sprintf("names position %d, which holds no event", len(l.all)+1)}
			},
		},
		{
			name: "index entry deleted",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Delete(embeddedtest.StreamIndexKey(streamB, 1), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				r := l.at(t, streamB, 1)
				return eventstore.Problem{Key: "stream index key 'S' (stream call-b, revision 1)", Stream: streamB, Revision: 1, Position: r.Position,
					Reason: fmt.Sprintf("missing: the event at position %s has no stream index key", r.Position)}
			},
		},
		{
			name: "index entry redirected",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Set(embeddedtest.StreamIndexKey(streamB, 1), embeddedtest.PositionValue(l.at(t, streamC, 0).Position.Commit), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				r := l.at(t, streamB, 1)
				return eventstore.Problem{Key: "stream index key 'S' (stream call-b, revision 1)", Stream: streamB, Revision: 1, Position: r.Position,
					Reason: fmt.Sprintf("names position %s, but the event is at position %s", l.at(t, streamC, 0).Position, r.Position)}
			},
		},
		{
			name: "index entry unreadable",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Set(embeddedtest.StreamIndexKey(streamB, 1), []byte{1, 2}, pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				r := l.at(t, streamB, 1)
				return eventstore.Problem{Key: "stream index key 'S' (stream call-b, revision 1)", Stream: streamB, Revision: 1, Position: r.Position,
					Reason: "holds 2 bytes, not a position"}
			},
			corrupt: true,
		},
		{
			name: "index and head of a stream not in $all",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Set(embeddedtest.StreamIndexKey(streamAfter, 0), embeddedtest.PositionValue(1), pebble.Sync))
				require.NoError(t, db.Set(embeddedtest.HeadKey(streamAfter), embeddedtest.HeadValue(0, l.all[0].Hash), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				return eventstore.Problem{Key: "stream index key 'S' (stream call-z, revision 0)", Stream: streamAfter, Position: start,
					Reason: fmt.Sprintf("names position 1, which holds revision 0 of stream %s", l.all[0].StreamID)}
			},
		},
		{
			name: "index of a stream not in $all, without a head",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Set(embeddedtest.StreamIndexKey(streamAfter, 0), embeddedtest.PositionValue(1), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				return eventstore.Problem{Key: "stream index key 'S' (stream call-z, revision 0)", Stream: streamAfter, Position: start,
					Reason: "the stream has no head key"}
			},
		},
		{
			name: "head of a stream not in $all",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Set(embeddedtest.HeadKey(streamBefore), embeddedtest.HeadValue(0, l.all[0].Hash), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				return eventstore.Problem{Key: "stream head key 'H' (stream call-0)", Stream: streamBefore, Position: start,
					Reason: "the stream has no stream index key, so no event"}
			},
		},
		{
			name: "head of a stream not in $all, after the others",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Set(embeddedtest.HeadKey(streamAfter), embeddedtest.HeadValue(0, l.all[0].Hash), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				return eventstore.Problem{Key: "stream head key 'H' (stream call-z)", Stream: streamAfter, Position: start,
					Reason: "the stream has no stream index key, so no event"}
			},
		},
		{
			name: "id entry deleted",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Delete(embeddedtest.IDKey(l.all[3].ID), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				r := l.all[3]
				return eventstore.Problem{Key: fmt.Sprintf("id index key 'I' (event %s)", r.ID), Stream: r.StreamID, Revision: r.Revision, Position: r.Position,
					Reason: fmt.Sprintf("missing: the event at position 4 (stream %s, revision %d) has no id index key", r.StreamID, r.Revision)}
			},
		},
		{
			name: "id entry redirected",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Set(embeddedtest.IDKey(l.all[3].ID), embeddedtest.IDValue(l.all[4]), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				r, other := l.all[3], l.all[4]
				return eventstore.Problem{Key: fmt.Sprintf("id index key 'I' (event %s)", r.ID), Stream: r.StreamID, Revision: r.Revision, Position: r.Position,
					Reason: fmt.Sprintf("names position 5 (stream %s, revision %d), but the event is at position 4 (stream %s, revision %d)",
						other.StreamID, other.Revision, r.StreamID, r.Revision)}
			},
		},
		{
			name: "id entry unreadable",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Set(embeddedtest.IDKey(l.all[3].ID), []byte{1}, pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				r := l.all[3]
				return eventstore.Problem{Key: fmt.Sprintf("id index key 'I' (event %s)", r.ID), Stream: r.StreamID, Revision: r.Revision, Position: r.Position,
					Reason: "holds 1 bytes, not a location"}
			},
			corrupt: true,
		},
		{
			name: "id entry of no event",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				require.NoError(t, db.Set(embeddedtest.IDKey(uuid.MustParse("00000000-0000-4000-8000-000000000001")), embeddedtest.IDValue(l.all[3]), pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				r := l.all[3]
				return eventstore.Problem{Key: "id index key 'I' (event 00000000-0000-4000-8000-000000000001)", Position: start,
					Reason: fmt.Sprintf("names position 4 (stream %s, revision %d), which holds event %s (stream %s, revision %d)",
						r.StreamID, r.Revision, r.ID, r.StreamID, r.Revision)}
			},
		},
		{
			name: "Mhead hash wrong",
			edit: func(t *testing.T, db *pebble.DB, l indexedLog) {
				v := append(binary.BigEndian.AppendUint64(nil, uint64(len(l.all))), l.all[0].AllHash[:]...)
				require.NoError(t, db.Set([]byte("Mhead"), v, pebble.Sync))
			},
			want: func(t *testing.T, l indexedLog) eventstore.Problem {
				last := l.all[len(l.all)-1]
				return eventstore.Problem{Key: `head key "Mhead"`, Position: last.Position,
					Reason: fmt.Sprintf("names position %s with $all hash %s, but the last event is at position %s with $all hash %s",
						last.Position, l.all[0].AllHash, last.Position, last.AllHash)}
			},
			verifiedFirst: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l := buildIndexedLog(t)
			embeddedtest.Edit(t, l.dir, func(db *pebble.DB) { tc.edit(t, db, l) })
			// CheckIndex's own finding: Open refuses a head that is not the
			// acknowledged one (TestAckedHead) before CheckIndex could run.
			require.NoError(t, os.Remove(filepath.Join(l.dir, embedded.AckedHeadName)))
			s := openStore(t, l.dir, testOptions())
			want := tc.want(t, l)

			p, err := s.CheckIndex(ctx, nil)
			require.NoError(t, err)
			require.NotNil(t, p, "the tampered key went unnoticed")
			assert.Equal(t, want.Key, p.Key, "%s", p)
			assert.Equal(t, want.Stream, p.Stream, "%s", p)
			assert.Equal(t, want.Revision, p.Revision, "%s", p)
			assert.Equal(t, want.Position, p.Position, "%s", p)
			assert.Contains(t, p.Reason, want.Reason)
			assert.Equal(t, want.Key+": "+p.Reason, p.String())
			if tc.corrupt {
				assert.ErrorIs(t, p.Err, embedded.ErrCorrupt)
			} else {
				assert.NoError(t, p.Err)
			}

			report, err := eventstore.Verify(ctx, s, nil)
			require.NoError(t, err)
			require.False(t, report.OK)
			if tc.verifiedFirst {
				assert.Empty(t, report.Problem.Key, "%s", report.Problem)
				return
			}
			assert.Equal(t, p, report.Problem, "Verify reports the check's problem")
			assert.Equal(t, uint64(len(l.all)), report.Events, "every event verified before the check")
		})
	}
}

func TestCheckIndexIntact(t *testing.T) {
	// Goal: an untouched store's index checks out, empty or not, and
	// progress counts every event once.
	ctx := context.Background()
	empty := openStore(t, t.TempDir(), testOptions())
	p, err := empty.CheckIndex(ctx, nil)
	require.NoError(t, err)
	assert.Nil(t, p)

	l := buildIndexedLog(t)
	s := openStore(t, l.dir, testOptions())
	var done, total uint64
	p, err = s.CheckIndex(ctx, func(d, t uint64) { done, total = d, t })
	require.NoError(t, err)
	assert.Nil(t, p, "problem: %v", p)
	assert.Equal(t, uint64(len(l.all)), done)
	assert.Equal(t, uint64(len(l.all)), total)
	report, err := eventstore.Verify(ctx, s, nil)
	require.NoError(t, err)
	assert.True(t, report.OK, "problem: %v", report.Problem)

	// Appends after the first check are checked by the next.
	_, err = s.Append(ctx, streamA, eventstore.Exact(l.last(streamA).Revision), events(2, "CallAnswered"))
	require.NoError(t, err)
	p, err = s.CheckIndex(ctx, func(d, t uint64) { done, total = d, t })
	require.NoError(t, err)
	assert.Nil(t, p, "problem: %v", p)
	assert.Equal(t, uint64(len(l.all)+2), done)
}

func TestCheckIndexStops(t *testing.T) {
	// Goal: CheckIndex ends with the context's error when it is cancelled,
	// with ErrClosed on a closed store, and when the store is closed during
	// the check, Close waits for it to end, with ErrClosed.
	ctx := context.Background()
	s, err := embedded.Open(t.TempDir(), testOptions())
	require.NoError(t, err)
	for i := range 20 {
		_, err := s.Append(ctx, fmt.Sprintf("call-%d", i), eventstore.NoStream(), events(100, "CallUpserted"))
		require.NoError(t, err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.CheckIndex(cancelled, nil)
	assert.ErrorIs(t, err, context.Canceled)

	var closing sync.WaitGroup
	var closeErr error
	_, err = s.CheckIndex(ctx, func(done, total uint64) {
		if done != eventstore.ReadBatchEvents {
			return
		}
		closing.Go(func() { closeErr = s.Close() })
		// Wait until Close has begun: the check then stops at its next poll.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if _, _, err := s.Head(ctx); err != nil {
				return
			}
		}
		t.Error("Close did not begin")
	})
	assert.ErrorIs(t, err, eventstore.ErrClosed)
	closing.Wait()
	assert.NoError(t, closeErr)

	_, err = s.CheckIndex(ctx, nil)
	assert.ErrorIs(t, err, eventstore.ErrClosed)
}

// TestVerifyTiming logs how long Verify takes over a generated log of
// CALLLEDGER_VERIFY_TIMING_EVENTS events (calls of one to eight ~500-byte
// events, appended by 16 writers), and how much of it is the index check.
// It is skipped without the variable: building a large log takes minutes.
func TestVerifyTiming(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CALLLEDGER_VERIFY_TIMING_EVENTS"))
	if n <= 0 {
		t.Skip("set CALLLEDGER_VERIFY_TIMING_EVENTS to the number of events to time verify over")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(dir, benchOptions())
	require.NoError(t, err)
	payloads := make([][]byte, benchPayloads)
	for i := range payloads {
		payloads[i] = benchPayload(i)
	}
	const writers = 16
	var wg sync.WaitGroup
	built := time.Now()
	for w := range writers {
		wg.Go(func() {
			for call, appended := 0, 0; appended < n/writers; call++ {
				evs := make([]eventstore.EventData, min(1+(w+call)%8, n/writers-appended))
				for i := range evs {
					evs[i] = eventstore.EventData{ID: uuid.New(), Type: "CallUpserted", Data: payloads[(call+i)%len(payloads)]}
				}
				if _, err := s.Append(ctx, fmt.Sprintf("call-%d-%d", w, call), eventstore.NoStream(), evs); err != nil {
					t.Error(err)
					return
				}
				appended += len(evs)
			}
		})
	}
	wg.Wait()
	require.NoError(t, s.Close())
	t.Logf("built a log of %d events in %v", n, time.Since(built).Round(time.Millisecond))

	// Reopened, as callledger verify opens it: the log in tables, not the
	// memtable, and a cold block cache.
	s, err = embedded.Open(dir, benchOptions())
	require.NoError(t, err)
	defer s.Close()
	// Verify counts the events of $all up to n, the index check's up to
	// 2n, then the streams': the last report under each ends a pass.
	start := time.Now()
	var allDone, indexDone time.Time
	report, err := eventstore.Verify(ctx, s, func(done, total uint64) {
		switch {
		case done <= total/3:
			allDone = time.Now()
		case done <= 2*total/3:
			indexDone = time.Now()
		}
	})
	require.NoError(t, err)
	require.True(t, report.OK, "problem: %v", report.Problem)
	end := time.Now()
	t.Logf("verify of %d events in %d streams: %v: $all %v, index check %v, streams %v",
		report.Events, report.Streams, end.Sub(start).Round(time.Millisecond), allDone.Sub(start).Round(time.Millisecond),
		indexDone.Sub(allDone).Round(time.Millisecond), end.Sub(indexDone).Round(time.Millisecond))
}
