// Package storetest is the conformance suite every eventstore backend runs, so
// that callers can swap backends without their behaviour changing.
//
// A backend's test calls Run with a constructor of fresh stores:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t testing.TB) eventstore.Store {
//			s, err := embedded.Open(t.TempDir(), embedded.DefaultOptions())
//			require.NoError(t, err)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Every case gets a store of its own and random stream ids, and assumes the
// store's $all holds only the events the case appended. Every loop is bounded
// and every wait has a deadline, so a broken backend fails rather than hangs.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
)

// waitMax bounds every wait of the suite on a goroutine or a subscription:
// long enough for a slow CI machine under -race, short enough to fail fast.
const waitMax = 20 * time.Second

// behaviour is one named case of the suite.
type behaviour struct {
	name string
	run  func(t *testing.T, s eventstore.Store)
}

// Run runs every behaviour of the Store contract as a subtest, each against a
// fresh store from newStore. newStore must register its own cleanup (with
// t.Cleanup) and that cleanup must tolerate a store the case already closed.
func Run(t *testing.T, newStore func(t testing.TB) eventstore.Store) {
	t.Helper()
	for _, b := range behaviours() {
		t.Run(b.name, func(t *testing.T) {
			s := newStore(t)
			require.NotNil(t, s, "newStore returned nil")
			b.run(t, s)
		})
	}
}

func behaviours() []behaviour {
	return []behaviour{
		{"AppendToNewStream", testAppendToNewStream},
		{"ExpectedRevision", testExpectedRevision},
		{"ReadStreamFromRevision", testReadStreamFromRevision},
		{"ReadStreamPastEndIsEmpty", testReadStreamPastEnd},
		{"ReadMissingStreamIsNotFound", testReadMissingStream},
		{"InvalidAppendWritesNothing", testInvalidAppend},
		{"IdempotentRetryInEveryMode", testIdempotentRetry},
		{"DuplicateEventIDElsewhere", testDuplicateEventID},
		{"ConcurrentExactOneWins", testConcurrentExactOneWins},
		{"ManyAppendersLoseNothing", testManyAppenders},
		{"HotStreamContention", testHotStream},
		{"ConcurrentRetriesWriteOnce", testConcurrentRetries},
		{"ReadersNeverSeeGaps", testReadersNeverSeeGaps},
		{"HashChains", testHashChains},
		{"DataRoundTrip", testDataRoundTrip},
		{"RecordedAtIsUTC", testRecordedAt},
		{"ReadAllAfterPosition", testReadAllAfter},
		{"SubscribeCatchUpThenLive", testSubscribeCatchUpThenLive},
		{"SubscribeFromMiddleAndStop", testSubscribeFromMiddle},
		{"SubscribeEndsOnCancel", testSubscribeEndsOnCancel},
		{"CancelledContext", testCancelledContext},
		{"CallsAfterClose", testCallsAfterClose},
	}
}

// events returns n events of type typ whose JSON data is about size bytes.
func events(n int, typ string, size int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		id := uuid.New()
		data := fmt.Sprintf(`{"id":%q,"i":%d,"pad":"`, id, i)
		if pad := size - len(data) - 2; pad > 0 {
			data += string(bytes.Repeat([]byte{'x'}, pad))
		}
		data += `"}`
		out[i] = eventstore.EventData{
			ID:       id,
			Type:     typ,
			Data:     []byte(data),
			Metadata: []byte(fmt.Sprintf(`{"seq":%d}`, i)),
		}
	}
	return out
}

func newStream(prefix string) string { return prefix + "-" + uuid.NewString() }

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	t.Cleanup(cancel)
	return ctx
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, exp eventstore.ExpectedRevision, evs []eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(ctxFor(t), stream, exp, evs)
	require.NoError(t, err, "append %d events to %s expecting %s", len(evs), stream, exp)
	return res
}

func readAll(t *testing.T, s eventstore.Store) []eventstore.Record {
	t.Helper()
	recs, err := s.ReadAll(ctxFor(t), eventstore.Start, 0)
	require.NoError(t, err)
	return recs
}

func readStream(t *testing.T, s eventstore.Store, stream string) []eventstore.Record {
	t.Helper()
	recs, err := s.ReadStream(ctxFor(t), stream, 0, 0)
	require.NoError(t, err)
	return recs
}

// requireConflict checks that err is a version conflict on stream, both as the
// sentinel and as the detailed error.
func requireConflict(t *testing.T, err error, stream string, exists bool, actual uint64) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, eventstore.ErrVersionConflict)
	var vc *eventstore.VersionConflictError
	require.ErrorAs(t, err, &vc)
	assert.Equal(t, stream, vc.Stream)
	assert.Equal(t, exists, vc.Exists, "VersionConflictError.Exists")
	if exists {
		assert.Equal(t, actual, vc.Actual, "VersionConflictError.Actual")
	}
}

// assertSameEvent checks that a record carries the event as appended.
func assertSameEvent(t *testing.T, want eventstore.EventData, got eventstore.Record) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.Type, got.Type)
	assert.True(t, bytes.Equal(want.Data, got.Data), "data of %s: want %q, got %q", want.ID, want.Data, got.Data)
	assert.True(t, bytes.Equal(want.Metadata, got.Metadata), "metadata of %s: want %q, got %q", want.ID, want.Metadata, got.Metadata)
}

// testAppendToNewStream checks the basic append: revisions from 0, the result
// naming the last event, and the events readable from the stream and $all.
func testAppendToNewStream(t *testing.T, s eventstore.Store) {
	stream := newStream("new")
	evs := events(3, "Created", 100)
	res := mustAppend(t, s, stream, eventstore.NoStream(), evs)
	assert.Equal(t, uint64(2), res.Revision)
	assert.False(t, res.Position.IsStart(), "result position is Start")

	recs := readStream(t, s, stream)
	require.Len(t, recs, 3)
	for i, r := range recs {
		assert.Equal(t, stream, r.StreamID)
		assert.Equal(t, uint64(i), r.Revision)
		assertSameEvent(t, evs[i], r)
		if i > 0 {
			assert.True(t, recs[i-1].Position.Less(r.Position), "positions rise within a batch")
		}
	}
	assert.Equal(t, res.Position, recs[2].Position, "result position is the last event's")

	all := readAll(t, s)
	require.Len(t, all, 3)
	for i := range all {
		assert.Equal(t, recs[i].Position, all[i].Position)
		assert.Equal(t, recs[i].ID, all[i].ID)
	}
}

// testExpectedRevision checks each kind of expected revision against a
// missing and an existing stream: a wrong one is a detailed version conflict
// and writes nothing.
func testExpectedRevision(t *testing.T, s eventstore.Store) {
	// Each row starts from a stream holding existing events (none when 0),
	// appends one event expecting exp, and wants success or a conflict.
	tests := []struct {
		name     string
		existing int
		exp      eventstore.ExpectedRevision
		ok       bool
	}{
		{"AnyOnMissing", 0, eventstore.Any(), true},
		{"AnyOnExisting", 2, eventstore.Any(), true},
		{"NoStreamOnMissing", 0, eventstore.NoStream(), true},
		{"NoStreamOnExisting", 1, eventstore.NoStream(), false},
		{"StreamExistsOnExisting", 3, eventstore.StreamExists(), true},
		{"StreamExistsOnMissing", 0, eventstore.StreamExists(), false},
		{"ExactOnHead", 3, eventstore.Exact(2), true},
		{"ExactStale", 3, eventstore.Exact(1), false},
		{"ExactAhead", 3, eventstore.Exact(3), false},
		{"ExactZeroOnMissing", 0, eventstore.Exact(0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := newStream(tt.name)
			if tt.existing > 0 {
				mustAppend(t, s, stream, eventstore.NoStream(), events(tt.existing, "Existing", 50))
			}
			ev := events(1, "Next", 50)
			res, err := s.Append(ctxFor(t), stream, tt.exp, ev)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, uint64(tt.existing), res.Revision)
				recs := readStream(t, s, stream)
				require.Len(t, recs, tt.existing+1)
				assertSameEvent(t, ev[0], recs[tt.existing])
				return
			}
			requireConflict(t, err, stream, tt.existing > 0, uint64(tt.existing-1))
			if tt.existing == 0 {
				_, err := s.ReadStream(ctxFor(t), stream, 0, 0)
				assert.ErrorIs(t, err, eventstore.ErrStreamNotFound, "a refused append wrote nothing")
				return
			}
			assert.Len(t, readStream(t, s, stream), tt.existing, "a refused append wrote nothing")
		})
	}
}

// testReadStreamFromRevision checks that a read from a revision returns the
// rest of the stream, limit included.
func testReadStreamFromRevision(t *testing.T, s eventstore.Store) {
	stream := newStream("from")
	evs := events(10, "E", 60)
	mustAppend(t, s, stream, eventstore.NoStream(), evs[:4])
	mustAppend(t, s, stream, eventstore.Exact(3), evs[4:])

	tests := []struct {
		name  string
		from  uint64
		limit int
		want  []eventstore.EventData
	}{
		{"FromZero", 0, 0, evs},
		{"FromMiddle", 4, 0, evs[4:]},
		{"FromLast", 9, 0, evs[9:]},
		{"WithLimit", 2, 3, evs[2:5]},
		{"LimitPastEnd", 8, 100, evs[8:]},
		{"NegativeLimitIsNoLimit", 1, -1, evs[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := s.ReadStream(ctxFor(t), stream, tt.from, tt.limit)
			require.NoError(t, err)
			require.Len(t, recs, len(tt.want))
			for i, r := range recs {
				assert.Equal(t, tt.from+uint64(i), r.Revision)
				assertSameEvent(t, tt.want[i], r)
			}
		})
	}
}

// testReadStreamPastEnd checks that reading past the end of an existing
// stream is empty, not an error.
func testReadStreamPastEnd(t *testing.T, s eventstore.Store) {
	stream := newStream("past")
	mustAppend(t, s, stream, eventstore.NoStream(), events(3, "E", 50))
	for _, from := range []uint64{3, 4, 1000, ^uint64(0)} {
		recs, err := s.ReadStream(ctxFor(t), stream, from, 0)
		require.NoError(t, err, "from %d", from)
		assert.Empty(t, recs, "from %d", from)
	}
}

// testReadMissingStream checks that a stream with no events is ErrStreamNotFound.
func testReadMissingStream(t *testing.T, s eventstore.Store) {
	mustAppend(t, s, newStream("other"), eventstore.NoStream(), events(1, "E", 50))
	missing := newStream("missing")
	for _, from := range []uint64{0, 5} {
		_, err := s.ReadStream(ctxFor(t), missing, from, 10)
		assert.ErrorIs(t, err, eventstore.ErrStreamNotFound, "from %d", from)
	}
}

// testInvalidAppend checks that batches no backend accepts are refused with
// ErrInvalidAppend and write nothing, and that a batch at the limits passes.
func testInvalidAppend(t *testing.T, s eventstore.Store) {
	tooMany := events(eventstore.BatchEventsMax+1, "E", 10)
	tooBig := events(2, "E", 10)
	tooBig[0].Data = bytes.Repeat([]byte{'1'}, eventstore.BatchBytesMax/2+1)
	tooBig[1].Data = bytes.Repeat([]byte{'2'}, eventstore.BatchBytesMax/2+1)
	nilID := events(2, "E", 10)
	nilID[1].ID = uuid.Nil
	emptyType := events(2, "E", 10)
	emptyType[0].Type = ""
	repeated := events(2, "E", 10)
	repeated[1].ID = repeated[0].ID

	tests := []struct {
		name   string
		stream string
		evs    []eventstore.EventData
	}{
		{"Empty", newStream("invalid"), nil},
		{"TooManyEvents", newStream("invalid"), tooMany},
		{"TooManyBytes", newStream("invalid"), tooBig},
		{"NilID", newStream("invalid"), nilID},
		{"EmptyType", newStream("invalid"), emptyType},
		{"RepeatedID", newStream("invalid"), repeated},
		{"EmptyStreamID", "", events(1, "E", 10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, exp := range []eventstore.ExpectedRevision{eventstore.Any(), eventstore.NoStream()} {
				_, err := s.Append(ctxFor(t), tt.stream, exp, tt.evs)
				require.ErrorIs(t, err, eventstore.ErrInvalidAppend, "expecting %s", exp)
			}
			if tt.stream != "" {
				_, err := s.ReadStream(ctxFor(t), tt.stream, 0, 0)
				assert.ErrorIs(t, err, eventstore.ErrStreamNotFound)
			}
		})
	}
	assert.Empty(t, readAll(t, s), "invalid appends wrote nothing")

	// A valid batch at the limits is accepted, so the limits are the shared ones.
	atLimit := events(eventstore.BatchEventsMax, "E", 10)
	mustAppend(t, s, newStream("limit"), eventstore.NoStream(), atLimit)
}

// testIdempotentRetry checks that an append sent again, with any expected
// revision, returns the original result, marked Replayed, and writes
// nothing.
func testIdempotentRetry(t *testing.T, s eventstore.Store) {
	// Each row appends a batch, moves the stream on with later appends, then
	// retries the first batch with an expectation that would otherwise fail
	// (or succeed and write): the retry must return the original result and
	// write nothing.
	tests := []struct {
		name  string
		later int // events appended after the original batch
		exp   func(orig eventstore.AppendResult) eventstore.ExpectedRevision
	}{
		{"Any", 0, func(eventstore.AppendResult) eventstore.ExpectedRevision { return eventstore.Any() }},
		{"AnyAfterLater", 2, func(eventstore.AppendResult) eventstore.ExpectedRevision { return eventstore.Any() }},
		{"NoStreamAfterExists", 0, func(eventstore.AppendResult) eventstore.ExpectedRevision { return eventstore.NoStream() }},
		{"NoStreamAfterLater", 3, func(eventstore.AppendResult) eventstore.ExpectedRevision { return eventstore.NoStream() }},
		{"StreamExists", 1, func(eventstore.AppendResult) eventstore.ExpectedRevision { return eventstore.StreamExists() }},
		{"ExactAsOriginal", 0, func(eventstore.AppendResult) eventstore.ExpectedRevision { return eventstore.Exact(0) }},
		{"ExactStale", 2, func(eventstore.AppendResult) eventstore.ExpectedRevision { return eventstore.Exact(0) }},
		{"ExactAtHead", 0, func(o eventstore.AppendResult) eventstore.ExpectedRevision { return eventstore.Exact(o.Revision) }},
		{"ExactFarAhead", 1, func(eventstore.AppendResult) eventstore.ExpectedRevision { return eventstore.Exact(99) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := newStream("retry")
			mustAppend(t, s, stream, eventstore.NoStream(), events(1, "First", 50))
			batch := events(3, "Batch", 80)
			orig := mustAppend(t, s, stream, eventstore.Exact(0), batch)
			require.False(t, orig.Replayed, "the first run writes")
			replayed := orig
			replayed.Replayed = true
			if tt.later > 0 {
				mustAppend(t, s, stream, eventstore.Any(), events(tt.later, "Later", 50))
			}
			before := readAll(t, s)

			for attempt := range 2 {
				res, err := s.Append(ctxFor(t), stream, tt.exp(orig), batch)
				require.NoError(t, err, "retry %d", attempt)
				assert.Equal(t, replayed, res, "retry %d returns the original result, replayed", attempt)
			}

			after := readAll(t, s)
			require.Len(t, after, len(before), "a retry writes nothing")
			recs := readStream(t, s, stream)
			require.Len(t, recs, 1+len(batch)+tt.later)
			for i, ev := range batch {
				assertSameEvent(t, ev, recs[1+i])
			}
		})
	}
}

// testDuplicateEventID checks that ids recorded other than as the same batch
// in the same stream are refused with ErrDuplicateEventID.
func testDuplicateEventID(t *testing.T, s eventstore.Store) {
	stream := newStream("dup")
	batch := events(3, "E", 50)
	mustAppend(t, s, stream, eventstore.NoStream(), batch)
	before := len(readAll(t, s))

	fresh := events(2, "E", 50)
	tests := []struct {
		name   string
		stream string
		evs    []eventstore.EventData
	}{
		{"SameBatchOtherStream", newStream("dup-other"), batch},
		{"OneIDOtherStream", newStream("dup-other"), []eventstore.EventData{fresh[0], batch[1]}},
		{"RecordedIDWithNewID", stream, []eventstore.EventData{batch[2], fresh[1]}},
		{"NewIDWithRecordedID", stream, []eventstore.EventData{fresh[1], batch[0]}},
		{"RecordedIDsOutOfOrder", stream, []eventstore.EventData{batch[1], batch[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Append(ctxFor(t), tt.stream, eventstore.Any(), tt.evs)
			require.ErrorIs(t, err, eventstore.ErrDuplicateEventID)
		})
	}
	assert.Len(t, readAll(t, s), before, "refused appends wrote nothing")
}

// testConcurrentExactOneWins checks optimistic concurrency: of appends racing
// with the same exact revision, exactly one wins.
func testConcurrentExactOneWins(t *testing.T, s eventstore.Store) {
	const rounds, appenders = 3, 16
	for round := range rounds {
		stream := newStream("race")
		mustAppend(t, s, stream, eventstore.NoStream(), events(1, "E", 50))

		errs := make(chan error, appenders)
		start := make(chan struct{})
		for range appenders {
			go func() {
				<-start
				_, err := s.Append(context.Background(), stream, eventstore.Exact(0), events(2, "E", 50))
				errs <- err
			}()
		}
		wait := occupy(t, s)
		close(start)
		wins := 0
		timeout := time.After(waitMax)
		for range appenders {
			select {
			case err := <-errs:
				if err == nil {
					wins++
					continue
				}
				requireConflict(t, err, stream, true, 2)
			case <-timeout:
				require.FailNow(t, "appenders did not finish")
			}
		}
		wait()
		assert.Equal(t, 1, wins, "round %d: exactly one append at revision 0 wins", round)
		assert.Len(t, readStream(t, s, stream), 3)
	}
}

// occupy starts a large append to a stream of its own and returns once it
// is probably being written, with a function that waits for it. Appends
// started meanwhile queue up behind it, which makes a backend that commits
// in groups put them in one group: the case its in-group checks must get
// right. The suite is correct whatever the timing; it only finds more bugs.
func occupy(t *testing.T, s eventstore.Store) (wait func()) {
	t.Helper()
	evs := events(eventstore.BatchEventsMax, "Occupy", 700)
	done := make(chan error, 1)
	go func() {
		_, err := s.Append(context.Background(), newStream("occupy"), eventstore.NoStream(), evs)
		done <- err
	}()
	time.Sleep(time.Millisecond)
	return func() {
		t.Helper()
		select {
		case err := <-done:
			require.NoError(t, err, "the occupying append")
		case <-time.After(waitMax):
			require.FailNow(t, "the occupying append did not finish")
		}
	}
}

// ack is an append the store acknowledged.
type ack struct {
	stream string
	events []eventstore.EventData
	result eventstore.AppendResult
}

// appendConcurrently runs writers goroutines, each doing appends appends of
// eventsPer events to streams chosen round robin from streams, half of them
// expecting Any and half the exact revision the writer last saw, retrying a
// conflict a bounded number of times. It returns every acknowledged append.
func appendConcurrently(t *testing.T, s eventstore.Store, streams []string, writers, appends, eventsPer int) []ack {
	t.Helper()
	const conflictRetriesMax = 5000
	type outcome struct {
		acks []ack
		err  error
	}
	out := make(chan outcome, writers)
	for w := range writers {
		go func() {
			var o outcome
			defer func() { out <- o }()
			heads := map[string]eventstore.AppendResult{}
			for i := range appends {
				stream := streams[(w*7+i)%len(streams)]
				evs := events(eventsPer, fmt.Sprintf("W%d", w), 120)
				for retry := 0; ; retry++ {
					exp := eventstore.Any()
					if head, ok := heads[stream]; ok && i%2 == 1 {
						exp = eventstore.Exact(head.Revision)
					}
					res, err := s.Append(context.Background(), stream, exp, evs)
					if errors.Is(err, eventstore.ErrVersionConflict) && retry < conflictRetriesMax {
						var vc *eventstore.VersionConflictError
						if errors.As(err, &vc) && vc.Exists {
							heads[stream] = eventstore.AppendResult{Revision: vc.Actual}
						}
						// Back off a random while, as real writers do. An
						// exact append can lose every race on a hot stream
						// while the others keep appending with Any, so the
						// retries must outlast them: the appends are bounded,
						// so they stop, and then it wins.
						time.Sleep(time.Duration(rand.Int64N(int64(min(retry+1, 10)) * int64(100*time.Microsecond))))
						continue
					}
					if err != nil {
						o.err = fmt.Errorf("writer %d append %d: %w", w, i, err)
						return
					}
					heads[stream] = res
					o.acks = append(o.acks, ack{stream: stream, events: evs, result: res})
					break
				}
			}
		}()
	}
	var acks []ack
	timeout := time.After(waitMax)
	for range writers {
		select {
		case o := <-out:
			require.NoError(t, o.err)
			acks = append(acks, o.acks...)
		case <-timeout:
			require.FailNow(t, "writers did not finish")
		}
	}
	return acks
}

// testManyAppenders checks that concurrent appenders to many streams lose,
// duplicate and reorder nothing.
func testManyAppenders(t *testing.T, s eventstore.Store) {
	const writers, appends, eventsPer = 12, 20, 2
	streams := make([]string, 9)
	for i := range streams {
		streams[i] = newStream("many")
	}
	acks := appendConcurrently(t, s, streams, writers, appends, eventsPer)
	require.Len(t, acks, writers*appends)
	verifyAcks(t, s, streams, acks)
}

// testHotStream has many writers append to two streams, so that appends to
// one stream meet in one commit (a backend's group or batch) and must see
// each other's revisions.
func testHotStream(t *testing.T, s eventstore.Store) {
	const writers, appends, eventsPer = 16, 12, 1
	streams := []string{newStream("hot"), newStream("hot")}
	acks := appendConcurrently(t, s, streams, writers, appends, eventsPer)
	require.Len(t, acks, writers*appends)
	verifyAcks(t, s, streams, acks)
}

// verifyAcks checks the log against the acknowledged appends, the only ones
// of the store: each event is in $all once, in order, at the revision and
// position its append was told, and every stream's revisions have no gaps.
func verifyAcks(t *testing.T, s eventstore.Store, streams []string, acks []ack) {
	t.Helper()
	total := 0
	for _, a := range acks {
		total += len(a.events)
	}
	all := readAll(t, s)
	require.Len(t, all, total, "every acknowledged event is in $all, once")
	byID := make(map[uuid.UUID]eventstore.Record, len(all))
	for i, r := range all {
		if i > 0 {
			require.True(t, all[i-1].Position.Less(r.Position), "$all positions rise: %s then %s", all[i-1].Position, r.Position)
		}
		_, dup := byID[r.ID]
		require.False(t, dup, "event %s appears twice in $all", r.ID)
		byID[r.ID] = r
	}
	for _, a := range acks {
		for i, ev := range a.events {
			r, ok := byID[ev.ID]
			require.True(t, ok, "acknowledged event %s is missing", ev.ID)
			assert.Equal(t, a.stream, r.StreamID)
			assertSameEvent(t, ev, r)
			wantRev := a.result.Revision - uint64(len(a.events)-1-i)
			assert.Equal(t, wantRev, r.Revision, "events of one append are consecutive in their stream")
		}
		last := byID[a.events[len(a.events)-1].ID]
		assert.Equal(t, a.result.Position, last.Position, "the result names the last event's position")
	}
	perStream := map[string]int{}
	for _, a := range acks {
		perStream[a.stream] += len(a.events)
	}
	for _, stream := range streams {
		recs := readStream(t, s, stream)
		require.Len(t, recs, perStream[stream], "stream %s holds every event acknowledged to it", stream)
		for i, r := range recs {
			require.Equal(t, uint64(i), r.Revision, "stream %s revisions have no gaps", stream)
			inAll := byID[r.ID]
			require.Equal(t, inAll.Position, r.Position, "stream %s and $all agree on event %s", stream, r.ID)
			require.Equal(t, inAll.Revision, r.Revision, "stream %s and $all agree on event %s", stream, r.ID)
			if i > 0 {
				require.True(t, recs[i-1].Position.Less(r.Position), "stream %s order agrees with $all", stream)
			}
		}
	}
}

// testConcurrentRetries sends the same batch from many goroutines at once,
// as clients retrying after a timeout would: it is written once and every
// call gets the same result.
func testConcurrentRetries(t *testing.T, s eventstore.Store) {
	const rounds, senders = 4, 8
	for round := range rounds {
		stream := newStream("retries")
		mustAppend(t, s, stream, eventstore.NoStream(), events(1, "First", 50))
		batch := events(2, "Batch", 80)
		type outcome struct {
			res eventstore.AppendResult
			err error
		}
		out := make(chan outcome, senders)
		start := make(chan struct{})
		for i := range senders {
			exp := eventstore.Any()
			if i%2 == 1 {
				exp = eventstore.Exact(0)
			}
			go func() {
				<-start
				res, err := s.Append(context.Background(), stream, exp, batch)
				out <- outcome{res, err}
			}()
		}
		wait := occupy(t, s)
		close(start)
		defer wait()
		var results []eventstore.AppendResult
		timeout := time.After(waitMax)
		for range senders {
			select {
			case o := <-out:
				require.NoError(t, o.err, "round %d", round)
				results = append(results, o.res)
			case <-timeout:
				require.FailNow(t, "senders did not finish")
			}
		}
		written := 0
		for _, r := range results {
			assert.Equal(t, results[0].Revision, r.Revision, "round %d: every sender gets the same result", round)
			assert.Equal(t, results[0].Position, r.Position, "round %d: every sender gets the same result", round)
			if !r.Replayed {
				written++
			}
		}
		// One sender wrote the batch; the others are told it was a replay,
		// unless the store could not tell (a KurrentDB server recognises
		// some retries itself: see AppendResult.Replayed).
		assert.Positive(t, written, "round %d: one sender wrote the batch", round)
		recs := readStream(t, s, stream)
		require.Len(t, recs, 3, "round %d: the batch is written once", round)
		assert.Equal(t, uint64(2), results[0].Revision)
		assert.Equal(t, recs[2].Position, results[0].Position)
	}
}

// testReadersNeverSeeGaps checks that readers polling $all while writers
// append never see position N+1 before N: each poller's reads, end to end,
// equal a full read at the end.
func testReadersNeverSeeGaps(t *testing.T, s eventstore.Store) {
	const writers, appends, eventsPer, pollers, pollLimit = 6, 25, 2, 2, 7
	// A poller gives up after pollsMax reads, or when its context ends.
	const pollsMax, pollIdle = 200_000, 50 * time.Microsecond
	streams := make([]string, 5)
	for i := range streams {
		streams[i] = newStream("gaps")
	}
	total := writers * appends * eventsPer
	type seen struct {
		recs []eventstore.Record
		err  error
	}
	results := make(chan seen, pollers)
	for p := range pollers {
		go func() {
			var out seen
			defer func() { results <- out }()
			ctx, cancel := context.WithTimeout(context.Background(), waitMax)
			defer cancel()
			last := eventstore.Start
			for poll := 0; len(out.recs) < total; poll++ {
				if poll >= pollsMax {
					out.err = fmt.Errorf("poller %d: %d polls saw only %d of %d events", p, poll, len(out.recs), total)
					return
				}
				recs, err := s.ReadAll(ctx, last, pollLimit)
				if err != nil {
					out.err = fmt.Errorf("poller %d: %w", p, err)
					return
				}
				for _, r := range recs {
					if !last.Less(r.Position) {
						out.err = fmt.Errorf("poller %d: position %s after %s", p, r.Position, last)
						return
					}
					last = r.Position
				}
				out.recs = append(out.recs, recs...)
				if len(recs) == 0 {
					time.Sleep(pollIdle) // caught up: let the writers on
				}
			}
		}()
	}
	appendConcurrently(t, s, streams, writers, appends, eventsPer)

	all := readAll(t, s)
	require.Len(t, all, total)
	timeout := time.After(waitMax)
	for range pollers {
		select {
		case got := <-results:
			require.NoError(t, got.err)
			require.Len(t, got.recs, total)
			// A reader that saw N+1 before N was readable would have skipped N
			// for good: what it saw would differ from the full log.
			for i := range all {
				require.Equal(t, all[i].Position, got.recs[i].Position, "poller read %d", i)
				require.Equal(t, all[i].ID, got.recs[i].ID, "poller read %d", i)
			}
		case <-timeout:
			require.FailNow(t, "pollers did not finish")
		}
	}
}

// testHashChains checks that Hash follows ChainHash along each stream and,
// when the backend stores it, AllHash follows AllChainHash along $all.
func testHashChains(t *testing.T, s eventstore.Store) {
	streams := []string{newStream("hash"), newStream("hash")}
	for i := range 6 {
		mustAppend(t, s, streams[i%2], eventstore.Any(), events(1+i%3, "E", 90))
	}
	for _, stream := range streams {
		var prev eventstore.Hash
		for _, r := range readStream(t, s, stream) {
			want := eventstore.ChainHash(prev, r.StreamID, r.Revision, r.ID, r.Type, r.Data, r.Metadata)
			require.Equal(t, want, r.Hash, "stream hash of %s@%d", stream, r.Revision)
			prev = r.Hash
		}
	}
	all := readAll(t, s)
	require.NotEmpty(t, all)
	if all[0].AllHash.IsZero() {
		for _, r := range all {
			require.True(t, r.AllHash.IsZero(), "a backend sets AllHash on every record or on none")
		}
		return
	}
	var prevAll eventstore.Hash
	for _, r := range all {
		want := eventstore.AllChainHash(prevAll, r.Position, r.Hash)
		require.Equal(t, want, r.AllHash, "$all hash at %s", r.Position)
		prevAll = r.AllHash
	}
}

// testDataRoundTrip checks that data and metadata read back byte for byte.
func testDataRoundTrip(t *testing.T, s eventstore.Store) {
	tests := []struct {
		name     string
		data     []byte
		metadata []byte
	}{
		{"Unicode", []byte(`{"name":"Zoë 📞","note":"line\nbreak \"quoted\" \\ \u00e9"}`), []byte(`{"by":"ünïcode"}`)},
		{"NilMetadata", []byte(`{"a":1}`), nil},
		{"Whitespace", []byte("  {\n\t\"a\" : [1, 2.50, 3e2] }\n"), []byte(" {} ")},
		{"Large", append(append([]byte(`{"big":"`), bytes.Repeat([]byte("é"), 200_000)...), []byte(`"}`)...), []byte(`{"m":true}`)},
	}
	stream := newStream("roundtrip")
	var sent []eventstore.EventData
	for _, tt := range tests {
		ev := eventstore.EventData{ID: uuid.New(), Type: "RoundTrip" + tt.name, Data: tt.data, Metadata: tt.metadata}
		sent = append(sent, ev)
		mustAppend(t, s, stream, eventstore.Any(), []eventstore.EventData{ev})
	}
	recs := readStream(t, s, stream)
	require.Len(t, recs, len(tests))
	all := readAll(t, s)
	require.Len(t, all, len(tests))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertSameEvent(t, sent[i], recs[i])
			assertSameEvent(t, sent[i], all[i])
			if tt.metadata == nil {
				assert.Empty(t, recs[i].Metadata)
			}
		})
	}
}

// testRecordedAt checks that RecordedAt is set, in UTC.
func testRecordedAt(t *testing.T, s eventstore.Store) {
	stream := newStream("time")
	mustAppend(t, s, stream, eventstore.NoStream(), events(2, "E", 50))
	for _, r := range readStream(t, s, stream) {
		assert.False(t, r.RecordedAt.IsZero(), "RecordedAt is set")
		assert.Equal(t, time.UTC, r.RecordedAt.Location(), "RecordedAt is UTC")
	}
	for _, r := range readAll(t, s) {
		assert.False(t, r.RecordedAt.IsZero(), "RecordedAt is set")
		assert.Equal(t, time.UTC, r.RecordedAt.Location(), "RecordedAt is UTC")
	}
}

// testReadAllAfter checks that ReadAll starts after the given position and
// honours its limit.
func testReadAllAfter(t *testing.T, s eventstore.Store) {
	for i := range 5 {
		mustAppend(t, s, newStream("after"), eventstore.NoStream(), events(2, fmt.Sprintf("E%d", i), 50))
	}
	all := readAll(t, s)
	require.Len(t, all, 10)

	tests := []struct {
		name  string
		after eventstore.Position
		limit int
		want  []eventstore.Record
	}{
		{"FromStart", eventstore.Start, 0, all},
		{"FromStartLimited", eventstore.Start, 4, all[:4]},
		{"AfterFifth", all[4].Position, 0, all[5:]},
		{"AfterFifthLimited", all[4].Position, 3, all[5:8]},
		{"AfterLast", all[9].Position, 0, nil},
		{"AfterLastLimited", all[9].Position, 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := s.ReadAll(ctxFor(t), tt.after, tt.limit)
			require.NoError(t, err)
			require.Len(t, recs, len(tt.want))
			for i := range recs {
				assert.Equal(t, tt.want[i].Position, recs[i].Position)
				assert.Equal(t, tt.want[i].ID, recs[i].ID)
				assert.Equal(t, tt.want[i].StreamID, recs[i].StreamID)
				assert.Equal(t, tt.want[i].Revision, recs[i].Revision)
			}
		})
	}
}

// subscription is what a subscriber goroutine saw.
type subscription struct {
	recs []eventstore.Record
	err  error
}

// collect ranges over s.SubscribeAll(ctx, Start) in a goroutine, keeping
// every record, and sends what it kept once the sequence ends. each, if not
// nil, sees each record once kept, with the count so far; an error from it
// ends the collection with that error.
func collect(ctx context.Context, s eventstore.Store, each func(r eventstore.Record, n int) error) <-chan subscription {
	done := make(chan subscription, 1)
	go func() {
		var out subscription
		defer func() { done <- out }()
		for r, err := range s.SubscribeAll(ctx, eventstore.Start) {
			if err != nil {
				out.err = err
				return
			}
			out.recs = append(out.recs, r)
			if each != nil {
				if out.err = each(r, len(out.recs)); out.err != nil {
					return
				}
			}
		}
	}()
	return done
}

// testSubscribeCatchUpThenLive checks that a subscription delivers the stored
// events, then those appended concurrently, without gaps or repeats, and ends
// when its context is cancelled.
func testSubscribeCatchUpThenLive(t *testing.T, s eventstore.Store) {
	const preloaded, writers, appends, eventsPer = 10, 4, 15, 2
	streams := []string{newStream("sub"), newStream("sub"), newStream("sub")}
	for i := range preloaded {
		mustAppend(t, s, streams[i%len(streams)], eventstore.Any(), events(1, "Pre", 80))
	}
	total := preloaded + writers*appends*eventsPer

	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	last := eventstore.Start
	done := collect(ctx, s, func(r eventstore.Record, n int) error {
		if !last.Less(r.Position) {
			return fmt.Errorf("position %s after %s", r.Position, last)
		}
		last = r.Position
		if n == total {
			// Keep ranging: the sequence must now end because of ctx alone.
			cancel()
		}
		return nil
	})
	appendConcurrently(t, s, streams, writers, appends, eventsPer)

	var got subscription
	select {
	case got = <-done:
	case <-time.After(waitMax):
		require.FailNow(t, "subscription did not end after ctx was cancelled")
	}
	require.NoError(t, got.err)
	require.Len(t, got.recs, total, "the subscription saw every event once")
	all := readAll(t, s)
	require.Len(t, all, total)
	for i := range all {
		require.Equal(t, all[i].Position, got.recs[i].Position, "event %d", i)
		require.Equal(t, all[i].ID, got.recs[i].ID, "event %d", i)
		require.True(t, bytes.Equal(all[i].Data, got.recs[i].Data), "event %d", i)
		require.Equal(t, all[i].Hash, got.recs[i].Hash, "event %d", i)
	}
}

// testSubscribeFromMiddle checks a subscription from a position, and that the
// consumer may stop ranging.
func testSubscribeFromMiddle(t *testing.T, s eventstore.Store) {
	stream := newStream("middle")
	for range 6 {
		mustAppend(t, s, stream, eventstore.Any(), events(2, "E", 50))
	}
	all := readAll(t, s)
	require.Len(t, all, 12)

	ctx := ctxFor(t)
	var got []eventstore.Record
	for r, err := range s.SubscribeAll(ctx, all[4].Position) {
		require.NoError(t, err)
		got = append(got, r)
		if len(got) == 5 {
			break // the consumer stops ranging: the sequence must end cleanly
		}
	}
	require.Len(t, got, 5)
	for i, r := range got {
		assert.Equal(t, all[5+i].Position, r.Position)
		assert.Equal(t, all[5+i].ID, r.ID)
	}
	// The store is still usable after a subscription ended early.
	mustAppend(t, s, stream, eventstore.Exact(11), events(1, "E", 50))
}

// testSubscribeEndsOnCancel checks that a subscription waiting live ends,
// without an error, when its context is cancelled.
func testSubscribeEndsOnCancel(t *testing.T, s eventstore.Store) {
	mustAppend(t, s, newStream("cancel"), eventstore.NoStream(), events(1, "E", 50))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	caughtUp := make(chan struct{})
	done := collect(ctx, s, func(_ eventstore.Record, n int) error {
		if n == 1 {
			close(caughtUp)
		}
		return nil
	})
	select {
	case <-caughtUp:
	case <-time.After(waitMax):
		require.FailNow(t, "subscription did not catch up")
	}
	// Give the subscription time to start waiting live, then cancel.
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case got := <-done:
		assert.NoError(t, got.err, "a cancelled subscription ends without an error")
		assert.Len(t, got.recs, 1)
	case <-time.After(waitMax):
		require.FailNow(t, "subscription did not end after ctx was cancelled")
	}
}

// testCancelledContext checks that calls with a cancelled context return its
// error.
func testCancelledContext(t *testing.T, s eventstore.Store) {
	stream := newStream("ctx")
	mustAppend(t, s, stream, eventstore.NoStream(), events(1, "E", 50))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := s.Append(ctx, newStream("ctx"), eventstore.Any(), events(1, "E", 50))
	assert.ErrorIs(t, err, context.Canceled, "Append")
	_, err = s.ReadStream(ctx, stream, 0, 0)
	assert.ErrorIs(t, err, context.Canceled, "ReadStream")
	_, err = s.ReadAll(ctx, eventstore.Start, 0)
	assert.ErrorIs(t, err, context.Canceled, "ReadAll")
}

// testCallsAfterClose checks that Close ends live subscriptions and that every
// later call returns ErrClosed.
func testCallsAfterClose(t *testing.T, s eventstore.Store) {
	stream := newStream("closed")
	mustAppend(t, s, stream, eventstore.NoStream(), events(1, "E", 50))

	// A subscription waiting live when the store closes must end.
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	done := collect(ctx, s, nil)
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, s.Close())
	select {
	case got := <-done:
		if got.err != nil {
			assert.ErrorIs(t, got.err, eventstore.ErrClosed, "a subscription ended by Close")
		}
	case <-time.After(waitMax):
		require.FailNow(t, "subscription did not end after Close")
	}

	bg := context.Background()
	_, err := s.Append(bg, stream, eventstore.Any(), events(1, "E", 50))
	assert.ErrorIs(t, err, eventstore.ErrClosed, "Append")
	_, err = s.ReadStream(bg, stream, 0, 0)
	assert.ErrorIs(t, err, eventstore.ErrClosed, "ReadStream")
	_, err = s.ReadAll(bg, eventstore.Start, 0)
	assert.ErrorIs(t, err, eventstore.ErrClosed, "ReadAll")
	yielded := 0
	for _, err := range s.SubscribeAll(bg, eventstore.Start) {
		yielded++
		require.Less(t, yielded, 2, "SubscribeAll after Close yields one error and ends")
		assert.ErrorIs(t, err, eventstore.ErrClosed, "SubscribeAll")
	}
	assert.Equal(t, 1, yielded, "SubscribeAll after Close yields ErrClosed")
}
