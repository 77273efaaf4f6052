package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestHistoryShowsTwimlAndApplicationSid(t *testing.T) {
	// Goal: the timeline shows the routing a LaML client asked for by
	// Twiml or ApplicationSid (schema version 3) as it shows a Url: the
	// creation's routing and a later change each list what they set.
	dir := t.TempDir()
	id := uuid.New()
	at := time.Date(2026, 11, 21, 22, 0, 0, 0, time.UTC)
	outbound := domain.DirectionOutbound
	twiml, app, hangup := "<Response><Say>hi</Say></Response>", "AP0123456789abcdef0123456789abcdef", "<Response><Hangup/></Response>"
	events := []domain.Event{
		domain.CallUpserted{Created: true, CallID: id, AccountID: "acct-a", Provider: "signalwire", ProviderID: "p-1",
			Direction: &outbound, StartedAt: &at, Routing: &domain.CallRoutingChanged{Twiml: &twiml}},
		domain.CallRoutingChanged{Twiml: &hangup, ApplicationSID: &app},
	}
	appendCallEvents(t, dir, id, events, func(i int, e domain.Event) domain.Metadata {
		return domain.Metadata{SchemaVersion: domain.SchemaVersionOf([]domain.Event{e}), AccountID: "acct-a",
			Actor: "acct-a/admin", RequestID: "req-1", Surface: domain.SurfaceLaML, Time: at.Add(time.Duration(i) * time.Minute)}
	})

	res := runTool(context.Background(), t, dir, "", "history", id.String())
	require.Equal(t, 0, res.code, res.stderr)
	blocks := historyBlocks(res.stdout)
	require.Len(t, blocks, 2, "%s", res.stdout)
	assert.Contains(t, blocks[0], "routing.twiml: "+quoteValue(twiml))
	assert.Contains(t, blocks[1], "routing.twiml: "+quoteValue(twiml)+" → "+quoteValue(hangup))
	assert.Contains(t, blocks[1], "routing.application_sid: "+quoteValue(app))
}
