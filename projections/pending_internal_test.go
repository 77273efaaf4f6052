package projections

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
)

func TestPendingEventsReturnToZero(t *testing.T) {
	// Goal: once every run sent has been committed, no event is pending,
	// however the committer's publish and the sender's bookkeeping
	// interleave: a run committed before send noted it left its events
	// counted for good (a soak probe saw pending_events stay at 5-23 with
	// the read models at the log's head, until a restart).
	p := &Projector{advanced: make(chan struct{})}
	out := make(chan recordRun)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for run := range out {
			last := run.recs[len(run.recs)-1].Position
			p.publish(checkpoint{Position: last}, uint64(len(run.recs)))
		}
	}()
	ctx := context.Background()
	for i := range uint64(5000) {
		recs := make([]eventstore.Record, 3)
		for j := range recs {
			pos := 3*i + uint64(j) + 1
			recs[j].Position = eventstore.Position{Commit: pos, Prepare: pos}
		}
		require.NoError(t, p.send(ctx, out, recordRun{recs: recs}))
	}
	close(out)
	<-done
	p.mu.Lock()
	defer p.mu.Unlock()
	assert.Zero(t, p.pendingEvents)
	assert.Equal(t, uint64(15000), p.received.Commit)
}
