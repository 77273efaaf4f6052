package projections_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// TestRunFollowsEveryCommitOnce checks the live path over the embedded
// store, which follows the log in pages between its commit notifications:
// with many writers committing in small groups while Run follows, every
// event reaches the read models exactly once (none missed, none handed
// over twice and skipped), and each write is visible after WaitFor.
func TestRunFollowsEveryCommitOnce(t *testing.T) {
	store, p := runningProjector(t)
	clk := newClock()
	const acct, writers, callsPerWriter = "AC-live", 16, 80
	last := appendFromWriters(writers*callsPerWriter, writers, func(int) eventstore.AppendResult {
		id := domain.CallIDFor(acct, "vonage", uuid.NewString())
		return appendEvents(t, store, clk, acct, id, created(id, acct, "vonage", id.String(), day1))
	})
	waitFor(t, p, last)
	st := p.Status()
	const events = writers * callsPerWriter
	require.Equal(t, last, st.Checkpoint)
	assert.Equal(t, uint64(events), st.Events, "every event handed over once")
	assert.Equal(t, uint64(events), st.EventsApplied)
	assert.Zero(t, st.EventsSkipped, "no event handed over twice")
	assert.Zero(t, st.Failures)

	// One more commit after the runner went idle wakes it.
	id := domain.CallIDFor(acct, "vonage", uuid.NewString())
	res := appendEvents(t, store, clk, acct, id, created(id, acct, "vonage", id.String(), day1))
	waitFor(t, p, res.Position)
	assert.Equal(t, uint64(events+1), p.Status().EventsApplied)
}
