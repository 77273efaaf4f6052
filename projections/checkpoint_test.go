package projections_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
	"github.com/callledger/callledger/projections"
)

// TestCheckpointCopiesAShortLog checks that a checkpoint of the read
// models flushes their memtable first: the copy's write-ahead log is
// short rather than every write since the last flush, and the copy opens
// with the read models as they were (its billing equals theirs).
func TestCheckpointCopiesAShortLog(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	dir := t.TempDir()
	clk := newClock()
	const acct = "AC-checkpoint"
	p := openProjector(t, filepath.Join(dir, "readmodels"), store, testOptions())
	stop := startRun(t, p)
	var last eventstore.Position
	for range 1000 {
		id := domain.CallIDFor(acct, "vonage", uuid.NewString())
		appendEvents(t, store, clk, acct, id, created(id, acct, "vonage", id.String(), day1))
		last = appendEvents(t, store, clk, acct, id, domain.CallPriced{Price: price("0.0135", "USD")}).Position
	}
	waitFor(t, p, last)
	copyDir := filepath.Join(dir, "copy")
	require.NoError(t, p.Checkpoint(ctx, copyDir))
	stop()
	want, err := p.Billing(ctx, projections.BillingQuery{})
	require.NoError(t, err)
	require.NoError(t, p.Close())

	logBytes, logs := embeddedtest.LogBytes(t, copyDir)
	assert.Less(t, logBytes, int64(64<<10), "the copy's log (%d files), after 1,000 calls", logs)

	c := openProjector(t, copyDir, store, testOptions())
	assert.Equal(t, last, c.Status().Checkpoint)
	got, err := c.Billing(ctx, projections.BillingQuery{})
	require.NoError(t, err)
	assert.Equal(t, want, got)
}
