package kurrent_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
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
