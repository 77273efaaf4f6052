package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

func TestPrimedEventsAreFoldedInsteadOfDecoded(t *testing.T) {
	// Goal: the runner folds the envelope a writer primed for an event id
	// instead of decoding the stored record, so priming saves the decode.
	// To see which one it folded, the primed envelope here differs from the
	// stored one (the contract forbids that to real writers): the view shows
	// the primed provider id; an event primed under another id changes
	// nothing; and a rebuild, which decodes, shows the stored one.
	ctx := context.Background()
	store, p := runningProjector(t)

	id := uuid.New()
	stored := created(id, "acct", "twilio", "CA-stored", time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	primed := stored
	primed.ProviderID = "CA-primed"
	meta := domain.Metadata{SchemaVersion: domain.CurrentSchemaVersion, AccountID: "acct", Surface: domain.SurfaceMoonbase,
		Time: time.Date(2025, 3, 1, 10, 0, 1, 0, time.UTC)}
	data, err := domain.MarshalEvent(stored)
	require.NoError(t, err)
	md, err := domain.MarshalMetadata(meta)
	require.NoError(t, err)
	eventID := uuid.New()
	p.Prime(uuid.New(), domain.Envelope{Event: primed, Metadata: meta}) // never written: ages out
	p.Prime(eventID, domain.Envelope{Event: primed, Metadata: meta})
	res, err := store.Append(ctx, domain.StreamID(id), eventstore.NoStream(),
		[]eventstore.EventData{{ID: eventID, Type: stored.EventType(), Data: data, Metadata: md}})
	require.NoError(t, err)
	waitFor(t, p, res.Position)

	st, err := p.Call(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "CA-primed", st.Call.ProviderID, "the primed envelope was folded")

	_, err = p.Rebuild(ctx)
	require.NoError(t, err)
	st, err = p.Call(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "CA-stored", st.Call.ProviderID, "a rebuild decodes the log")

	// A primed event is taken once: replaying the log again decodes it.
	_, err = p.Rebuild(ctx)
	require.NoError(t, err)
	st, err = p.Call(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "CA-stored", st.Call.ProviderID)
}
