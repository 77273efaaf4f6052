package embedded_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
)

// tailRingOptions are testOptions with a tail ring of 4 KiB and 16 slots:
// a few dozen of the tests' events, so that it wraps often.
func tailRingOptions() embedded.Options {
	return embedded.WithTailRing(testOptions(), 4<<10, 16)
}

// tailRead is one read of $all a test makes, and what it returned.
type tailRead struct {
	after      uint64
	limit      int
	fromRing   bool // the ring held the events the read needed
	all, paged []eventstore.Record
}

// readTail reads $all after position after, with ReadAll and with
// ReadAllPage, and notes whether s's tail ring held what the read needed.
func readTail(t *testing.T, s *embedded.Store, after uint64, limit int) tailRead {
	t.Helper()
	ctx := context.Background()
	first, end := embedded.TailRing(s)
	head, _, err := s.Head(ctx)
	require.NoError(t, err)
	want := head.Commit + 1
	if limit > 0 {
		want = min(want, after+1+uint64(limit))
	}
	r := tailRead{after: after, limit: limit, fromRing: after+1 >= first && want <= end && after < head.Commit}
	p := eventstore.Position{Commit: after, Prepare: after}
	r.all, err = s.ReadAll(ctx, p, limit)
	require.NoError(t, err)
	var page eventstore.Page
	require.NoError(t, s.ReadAllPage(ctx, p, limit, &page))
	if len(page.Records) > 0 { // nil otherwise, as ReadAll's
		r.paged = cloneRecords(page.Records)
	}
	return r
}

// TestTailRingReads checks that reads of $all served from the tail ring
// return exactly what the same reads return from Pebble after a reopen
// (which empties the ring): reads of the tail as each append commits, of
// every stretch of the log with and without a limit, those wholly in the
// ring, those that begin before it (which Pebble serves), and those after
// a value larger than the ring.
func TestTailRingReads(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := embedded.Open(dir, tailRingOptions())
	require.NoError(t, err)
	var reads []tailRead
	var last uint64
	for i := range 40 {
		evs := events(1+i%3, fmt.Sprintf("Type%d", i%2))
		if i == 20 {
			evs[0].Data = bytes.Repeat([]byte("x"), 5<<10) // larger than the ring
		}
		res, err := s.Append(ctx, fmt.Sprintf("stream-%d", i%5), eventstore.Any(), evs)
		require.NoError(t, err)
		r := readTail(t, s, last, 0) // a follower's read
		require.Len(t, r.all, len(evs))
		assert.Equal(t, i != 20, r.fromRing, "a follower's read of append %d", i)
		reads = append(reads, r)
		last = res.Position.Commit
	}
	var inRing, spanning, older int
	first, _ := embedded.TailRing(s)
	for after := uint64(0); after <= last; after++ {
		for _, limit := range []int{0, 1, 4} {
			r := readTail(t, s, after, limit)
			switch want := after + 1 + uint64(limit); {
			case r.fromRing:
				inRing++
			case after+1 < first && (limit == 0 || want > first):
				spanning++
			default:
				older++
			}
			reads = append(reads, r)
		}
	}
	require.NoError(t, s.Close())
	assert.Positive(t, inRing, "reads served from the ring")
	assert.Positive(t, spanning, "reads of older events and of the ring's")
	assert.Positive(t, older, "reads of events the ring no longer holds")

	s = openStore(t, dir, tailRingOptions())
	for _, r := range reads {
		again := readTail(t, s, r.after, r.limit)
		require.False(t, again.fromRing, "a reopened store's ring is empty")
		// A read without a limit, made as the log grew, ended at the head
		// of the time.
		n := len(r.all)
		require.GreaterOrEqual(t, len(again.all), n)
		require.Equal(t, r.all, r.paged, "after %d, limit %d (from the ring: %v)", r.after, r.limit, r.fromRing)
		if n > 0 {
			require.Equal(t, again.all[:n], r.all, "ReadAll after %d, limit %d (from the ring: %v)", r.after, r.limit, r.fromRing)
			require.Equal(t, again.paged[:n], r.paged, "ReadAllPage after %d, limit %d (from the ring: %v)", r.after, r.limit, r.fromRing)
		}
	}
}

// TestTailRingOverrun checks a follower that fell behind by more than the
// ring holds: its next read begins before the ring, reads Pebble, and
// returns every event it missed, in order; the read after it is the ring's
// again.
func TestTailRingOverrun(t *testing.T) {
	s := openStore(t, t.TempDir(), tailRingOptions())
	ctx := context.Background()
	_, err := s.Append(ctx, "a", eventstore.NoStream(), events(2, "T"))
	require.NoError(t, err)
	caughtUp := readTail(t, s, 0, 2048)
	require.True(t, caughtUp.fromRing)
	for i := range 30 {
		_, err := s.Append(ctx, fmt.Sprintf("b-%d", i), eventstore.NoStream(), events(2, "T"))
		require.NoError(t, err)
	}
	first, _ := embedded.TailRing(s)
	require.Greater(t, first, uint64(3), "the ring no longer holds the event after the follower's")

	behind := readTail(t, s, 2, 2048)
	assert.False(t, behind.fromRing)
	all, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.Len(t, all, 62)
	assert.Equal(t, all[2:], behind.all)
	assert.Equal(t, all[2:], behind.paged)

	_, err = s.Append(ctx, "c", eventstore.NoStream(), events(2, "T"))
	require.NoError(t, err)
	next := readTail(t, s, 62, 2048)
	assert.True(t, next.fromRing)
	assert.Len(t, next.paged, 2)
}

// TestTailRingConcurrent runs writers and followers of $all at once over a
// small ring that wraps many times (run it with -race): each follower reads
// after each commit, from the ring while it keeps up and from Pebble when
// it falls behind, and must see every event once, in order, as a reopened
// store returns them.
func TestTailRingConcurrent(t *testing.T) {
	const writers, appends, followers = 8, 60, 3
	dir := t.TempDir()
	ctx := context.Background()
	// 16 KiB and 64 slots: a group of 8 appends of up to 3 events fits.
	opts := embedded.WithTailRing(testOptions(), 16<<10, 64)
	s, err := embedded.Open(dir, opts)
	require.NoError(t, err)
	total := 0
	for w := range writers {
		for i := range appends {
			total += 1 + (w+i)%3
		}
	}
	seen := make([][]eventstore.Record, followers)
	// fromRing counts the reads the ring served: those that began at or
	// after its first position once they returned (first only grows).
	var fromRing atomic.Int64
	var wg sync.WaitGroup
	for f := range followers {
		wg.Go(func() {
			var page eventstore.Page
			var after eventstore.Position
			limit := []int{2048, 5, 1}[f]
			for len(seen[f]) < total {
				notify := s.CommitNotify()
				if err := s.ReadAllPage(ctx, after, limit, &page); err != nil {
					t.Error(err)
					return
				}
				if first, _ := embedded.TailRing(s); len(page.Records) > 0 && first <= after.Commit+1 {
					fromRing.Add(1)
				}
				seen[f] = append(seen[f], cloneRecords(page.Records)...)
				if n := len(page.Records); n > 0 {
					after = page.Records[n-1].Position
				}
				if len(page.Records) < limit && len(seen[f]) < total {
					<-notify
				}
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			for i := range appends {
				evs := events(1+(w+i)%3, "T")
				evs[0].Data = append(evs[0].Data, bytes.Repeat([]byte(" "), (w*i)%300)...)
				if _, err := s.Append(ctx, fmt.Sprintf("w-%d-%d", w, i%4), eventstore.Any(), evs); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, s.Close())
	t.Logf("%d reads served from the ring", fromRing.Load())
	assert.Positive(t, fromRing.Load(), "reads served from the ring")

	s = openStore(t, dir, opts)
	all, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.Len(t, all, total)
	for f := range followers {
		require.Equal(t, all, seen[f], "follower %d", f)
	}
}

// TestTailRingLargeEvents checks, with the store's own ring, reads of the
// tail after events of the largest sizes, one (the largest an append takes) larger than the ring.
func TestTailRingLargeEvents(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := embedded.Open(dir, testOptions())
	require.NoError(t, err)
	var reads []tailRead
	var last uint64
	for i, size := range []int{1 << 10, 600 << 10, 900 << 10, 1 << 20, 100, 700 << 10} {
		ev := eventstore.EventData{ID: uuid.New(), Type: "T", Data: bytes.Repeat([]byte{byte(i)}, size)}
		res, err := s.Append(ctx, "big", eventstore.Any(), []eventstore.EventData{ev})
		require.NoError(t, err)
		reads = append(reads, readTail(t, s, last, 0), readTail(t, s, 0, 0))
		last = res.Position.Commit
	}
	require.NoError(t, s.Close())
	s = openStore(t, dir, testOptions())
	for _, r := range reads {
		again := readTail(t, s, r.after, r.limit)
		n := len(r.all)
		require.Positive(t, n)
		require.GreaterOrEqual(t, len(again.all), n)
		require.Equal(t, again.all[:n], r.all, "ReadAll after %d (from the ring: %v)", r.after, r.fromRing)
		require.Equal(t, again.paged[:n], r.paged, "ReadAllPage after %d (from the ring: %v)", r.after, r.fromRing)
	}
}
