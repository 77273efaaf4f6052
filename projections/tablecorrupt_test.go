package projections_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
	"github.com/callledger/callledger/projections"
)

// TestDamagedTable checks that a byte flipped in a data block of a table
// of the read-model database (which Pebble finds when the block's checksum
// fails) makes the queries that need the block fail with an error wrapping
// ErrCorrupt that names the file and says to rebuild, and the runner log it
// and retry, never a panic (Pebble's default reaction to damage is its
// logger's Fatalf, which panicked and took serve down); the queries that
// do not need the block still work, and a rebuild repairs the read models.
func TestDamagedTable(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	g := newGenerator(11, 3000, 1)
	calls := append([]*simCall(nil), g.calls...)
	g.writeAll(t, store, newClock(), 3000, 3000, 4)

	dir := t.TempDir()
	p, err := projections.Open(dir, store, testOptions())
	require.NoError(t, err)
	_, err = p.Rebuild(ctx)
	require.NoError(t, err)
	require.NoError(t, p.Close())
	// The largest table holds the call views ('c' keys) in its middle.
	table := embeddedtest.DamageLargestTable(t, dir)

	var logs embeddedtest.LogBuffer
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	p = openProjector(t, dir, store, opts)

	// A failing read costs Pebble a search for the flipped bit, so only
	// the first damaged call (in key order, the order of the blocks) is
	// read.
	slices.SortFunc(calls, func(a, b *simCall) int { return bytes.Compare(a.id[:], b.id[:]) })
	var victim *simCall
	healthy := 0
	for _, c := range calls {
		_, err := p.Call(ctx, c.id)
		if err == nil {
			healthy++
			continue
		}
		require.ErrorIs(t, err, projections.ErrCorrupt)
		assert.ErrorContains(t, err, "unreadable: Pebble found on-disk corruption in "+table)
		assert.ErrorContains(t, err, "rebuild them (callledger replay)")
		assert.NotContains(t, err.Error(), "\n", "one line")
		victim = c
		break
	}
	require.NotNil(t, victim, "the block held call views")
	require.Positive(t, healthy, "the blocks before it read")
	_, err = p.Digest(ctx)
	assert.ErrorIs(t, err, projections.ErrCorrupt)
	assert.Contains(t, logs.String(), "pebble found on-disk corruption")
	// A list that reaches the damaged call's view fails the same way.
	q := projections.ListQuery{Account: victim.account, Limit: projections.ListLimitMax}
	for {
		page, err := p.List(ctx, q)
		if err != nil {
			assert.ErrorIs(t, err, projections.ErrCorrupt)
			break
		}
		require.NotEmpty(t, page.Next, "the list reached the damaged view")
		q.Cursor = page.Next
	}

	// The runner needs the damaged call's view to apply an event to it:
	// it logs the error and retries, as for any error, until a rebuild.
	stop := startRun(t, p)
	res := appendEvents(t, store, newClock(), victim.account, victim.id,
		domain.CallStatusChanged{Status: domain.StatusFailed})
	require.Eventually(t, func() bool {
		return bytes.Contains([]byte(p.Status().LastRunError), []byte(projections.ErrCorrupt.Error()))
	}, waitMax, 10*time.Millisecond, "the runner reports the damage")
	assert.Contains(t, logs.String(), "projection runner stopped; resuming from the checkpoint")
	stop()

	_, err = p.Rebuild(ctx)
	require.NoError(t, err, "a rebuild does not read the damaged read models")
	waitFor(t, p, res.Position)
	got, err := p.Call(ctx, victim.id)
	require.NoError(t, err, "rebuilt")
	stream, err := store.ReadStream(ctx, domain.StreamID(victim.id), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, uint64(len(stream)), got.Version, "with the event the runner could not apply before")
}
