package kurrent_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/kurrent"
	"github.com/callledger/callledger/eventstore/kurrent/kurrenttest"
)

// TestLastPosition checks that LastPosition is the position of the last event a reader of
// $all receives: Start on a node's log of system events only, then the last
// append, however many system events the node writes after it (more than
// one backward page of them included), and the same from a second client.
func TestLastPosition(t *testing.T) {
	srv := kurrenttest.Start(t)
	s := mustOpen(t, srv.URL())

	head, err := s.LastPosition(ctxFor(t))
	require.NoError(t, err)
	assert.Equal(t, eventstore.Start, head, "a log of system events only has no head")

	var last eventstore.Position
	for i := range 3 {
		res, err := s.Append(ctxFor(t), fmt.Sprintf("call-head-%d", i), eventstore.NoStream(), newEvents(2, "E"))
		require.NoError(t, err)
		last = res.Position
		head, err := s.LastPosition(ctxFor(t))
		require.NoError(t, err)
		assert.Equal(t, last, head, "after append %d", i)
	}

	for i := range 100 { // past the first one-event read and three pages
		srv.AppendSystemEvent(fmt.Sprintf("$stats-%d", i%3), "$statsCollected")
	}
	head, err = s.LastPosition(ctxFor(t))
	require.NoError(t, err)
	assert.Equal(t, last, head, "system events are not the head")

	all, err := s.ReadAll(ctxFor(t), eventstore.Start, 0)
	require.NoError(t, err)
	require.NotEmpty(t, all)
	assert.Equal(t, all[len(all)-1].Position, head, "the head is the last event ReadAll returns")

	other := mustOpen(t, srv.URL())
	head, err = other.LastPosition(ctxFor(t))
	require.NoError(t, err)
	assert.Equal(t, last, head, "another client sees the same head")
}

// TestConcurrentLastPositionsShareReads checks that concurrent callers of
// LastPosition share reads of the node's $all rather than each reading it:
// with reads slowed to 100 ms, 32 callers that ask at once cost two reads
// (the first caller's, then one for everyone who arrived during it), and
// every caller gets the head.
func TestConcurrentLastPositionsShareReads(t *testing.T) {
	srv, s, res := slowHead(t, "call-shared-head", 2, 100*time.Millisecond)

	const callers = 32
	reads := srv.AllReads()
	heads := make([]eventstore.Position, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			heads[i], errs[i] = s.LastPosition(ctxFor(t))
		})
	}
	close(start)
	wg.Wait()
	for i := range callers {
		require.NoError(t, errs[i], "caller %d", i)
		assert.Equal(t, res.Position, heads[i], "caller %d", i)
	}
	assert.LessOrEqual(t, srv.AllReads()-reads, int64(3), "reads of $all for %d concurrent callers", callers)
}

// TestLastPositionIsNeverOlderThanTheCall checks that a caller never shares
// a read that began before it asked: a read in flight when an append is
// acknowledged misses it, so a caller that asks after the acknowledgement
// (a client reading its own write through another server) must get a read
// of its own, which sees the append, while the first caller gets the head
// as it was when its read began.
func TestLastPositionIsNeverOlderThanTheCall(t *testing.T) {
	srv, s, before := slowHead(t, "call-head-before", 1, 300*time.Millisecond)

	reads := srv.AllReads()
	first := lastPositionAfter(t, s, func() {})
	require.Eventually(t, func() bool { return srv.AllReads() > reads }, waitMax, time.Millisecond,
		"the first caller's read reaches the node")

	after, err := s.Append(ctxFor(t), "call-head-after", eventstore.NoStream(), newEvents(1, "E"))
	require.NoError(t, err)
	head, err := s.LastPosition(ctxFor(t))
	require.NoError(t, err)
	assert.Equal(t, after.Position, head, "a caller after the append sees it")

	a := <-first
	require.NoError(t, a.err)
	assert.Equal(t, before.Position, a.pos, "the first caller's read began before the append")
}

// TestLastPositionCallerGivesUp checks that a caller whose context ends
// while it waits gets its context's error, and that the read it started
// still answers the callers who wait for it.
func TestLastPositionCallerGivesUp(t *testing.T) {
	srv, s, res := slowHead(t, "call-head-give-up", 1, 200*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	reads := srv.AllReads()
	patient := lastPositionAfter(t, s, func() {
		assert.Eventually(t, func() bool { return srv.AllReads() > reads }, waitMax, time.Millisecond)
	})
	_, err := s.LastPosition(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	a := <-patient
	require.NoError(t, a.err)
	assert.Equal(t, res.Position, a.pos)
}

// lastPosition is an answer of LastPosition.
type lastPosition struct {
	pos eventstore.Position
	err error
}

// lastPositionAfter calls s.LastPosition in a goroutine once before has
// returned, and delivers its answer.
func lastPositionAfter(t *testing.T, s *kurrent.Store, before func()) <-chan lastPosition {
	out := make(chan lastPosition, 1)
	go func() {
		before()
		pos, err := s.LastPosition(ctxFor(t))
		out <- lastPosition{pos, err}
	}()
	return out
}

// slowHead starts a protocol test server whose reads of $all take delay,
// after appending n events to stream through a store opened on it.
func slowHead(t *testing.T, stream string, n int, delay time.Duration) (*kurrenttest.Server, *kurrent.Store, eventstore.AppendResult) {
	srv := kurrenttest.Start(t)
	s := mustOpen(t, srv.URL())
	res, err := s.Append(ctxFor(t), stream, eventstore.NoStream(), newEvents(n, "E"))
	require.NoError(t, err)
	srv.SetAllReadDelay(delay)
	return srv, s, res
}
