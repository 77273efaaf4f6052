package projections_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

// TestCheckLog checks that CheckLog accepts read models over the log they
// were built from, however far it has grown since, and refuses them, with
// ErrForeignLog, over another log: a shorter one (an import of a smaller
// ledger under them), one as long (another ledger with as many events) and
// an empty one; and that a Rebuild over that log makes them pass again.
func TestCheckLog(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	addCalls := func(store eventstore.Store, n int) {
		for range n {
			id := uuid.New()
			appendEvents(t, store, clk, "acct", id, created(id, "acct", "twilio", id.String(), clk.next()))
		}
	}
	for _, tc := range []struct {
		name  string
		calls int
	}{{"a shorter log", 2}, {"a log as long", 5}, {"an empty log", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			readModels := t.TempDir()
			built := openStoreAt(t, t.TempDir())
			addCalls(built, 5)
			p := openProjector(t, readModels, built, benchOptions())
			_, err := p.Rebuild(ctx)
			require.NoError(t, err)
			require.NoError(t, p.CheckLog(ctx), "read models over their own log")
			addCalls(built, 1)
			require.NoError(t, p.CheckLog(ctx), "the log grew after the checkpoint")
			require.NoError(t, p.Close())

			other := openStoreAt(t, t.TempDir())
			addCalls(other, tc.calls)
			p = openProjector(t, readModels, other, benchOptions())
			require.ErrorIs(t, p.CheckLog(ctx), projections.ErrForeignLog)
			_, err = p.Rebuild(ctx)
			require.NoError(t, err)
			require.NoError(t, p.CheckLog(ctx), "rebuilt over the other log")
		})
	}
}

// TestCheckLogOfALogRewritten checks that CheckLog refuses read models,
// with ErrForeignLog, over a log whose events up to the checkpoint keep
// their ids, positions and revisions but one of which was rewritten and
// the log chained anew (which verifies on its own): the checkpoint names
// its event's $all hash, which the rewrite changed.
func TestCheckLogOfALogRewritten(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	ids := make([]uuid.UUID, 5)
	eventIDs := make([]uuid.UUID, len(ids))
	for i := range ids {
		ids[i], eventIDs[i] = uuid.New(), uuid.New()
	}
	write := func(store eventstore.Store, firstProvider string) {
		for i, id := range ids {
			provider := "twilio"
			if i == 0 {
				provider = firstProvider
			}
			e := created(id, "acct", provider, id.String(), clk.next())
			data, err := domain.MarshalEvent(e)
			require.NoError(t, err)
			_, err = store.Append(ctx, domain.StreamID(id), eventstore.NoStream(),
				[]eventstore.EventData{{ID: eventIDs[i], Type: e.EventType(), Data: data, Metadata: []byte(`{}`)}})
			require.NoError(t, err)
		}
	}
	readModels := t.TempDir()
	built := openStoreAt(t, t.TempDir())
	write(built, "twilio")
	p := openProjector(t, readModels, built, benchOptions())
	_, err := p.Rebuild(ctx)
	require.NoError(t, err)
	require.NoError(t, p.CheckLog(ctx))
	require.NoError(t, p.Close())

	rewritten := openStoreAt(t, t.TempDir())
	write(rewritten, "vonage") // the first event other, the same ids at the same positions
	p = openProjector(t, readModels, rewritten, benchOptions())
	err = p.CheckLog(ctx)
	require.ErrorIs(t, err, projections.ErrForeignLog)
	require.ErrorContains(t, err, "$all hash")
}
