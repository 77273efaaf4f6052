package projections_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// BenchmarkLiveUpsert measures the runner's live path per upsert of a new
// call, shaped as the API's seed upsert writes it (a creation with every
// fact, a recording and a transcript, then answered and terminated),
// through the embedded store: each op primes and appends one call's three
// events, and, in "projected", waits for the running projector to commit
// them. "append" does the same appends with no projector running, so that
// projected minus append is the projector's own allocation per upsert
// (run with -benchmem -benchtime 2000x: allocs/op and B/op, not ns/op).
func BenchmarkLiveUpsert(b *testing.B) {
	for _, run := range []bool{false, true} {
		name := map[bool]string{false: "append", true: "projected"}[run]
		b.Run(name, func(b *testing.B) {
			store := openStore(b)
			p := openProjector(b, b.TempDir(), store, benchOptions())
			if run {
				startRun(b, p)
			}
			clk := newClock()
			// One upsert first, so that what is allocated once (the
			// primed events' ring, the reused Pebble batch) is not counted.
			if pos := appendPrimedUpsert(b, store, p, clk, -1); run {
				waitFor(b, p, pos)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				pos := appendPrimedUpsert(b, store, p, clk, i)
				if run {
					waitFor(b, p, pos)
				}
			}
		})
	}
}

// appendPrimedUpsert primes and appends the events of the i-th new call, as
// the API does (fresh ids, primed before the append).
func appendPrimedUpsert(tb testing.TB, s eventstore.Store, p interface {
	Prime(uuid.UUID, domain.Envelope)
}, clk *clock, i int) eventstore.Position {
	const acct = "AC-bench"
	pid := fmt.Sprintf("bench-%d", i)
	id := domain.CallIDFor(acct, "openphone", pid)
	start := time.Date(2025, 2, 17, 15, 0, 0, 0, time.UTC)
	caller, callee := "+14155551212", "+16505551212"
	events := []domain.Event{
		domain.CallUpserted{
			Created: true, CallID: id, AccountID: acct, Provider: "openphone", ProviderID: pid,
			Direction: ptr(domain.DirectionInbound), From: ptr(caller), To: ptr(callee), StartedAt: &start,
			Participants: []domain.Participant{
				{ID: domain.ParticipantID(id, domain.RoleCaller, caller), Role: domain.RoleCaller, Phone: caller, PersonID: domain.PersonID(acct, caller)},
				{ID: domain.ParticipantID(id, domain.RoleCallee, callee), Role: domain.RoleCallee, Phone: callee, PersonID: domain.PersonID(acct, callee)},
			},
			ProviderMetadata: []byte(`{"answered_by":"UShjUatqtF","user_id":"UShjUatqtF","phone_number_id":"PN72zMikBJ","conversation_id":"CN3b48bcc423e772aeba377414a4fa6a06"}`),
			Recordings:       []domain.Recording{{ContentType: "audio/mpeg", ProviderID: "REC1", URL: "https://example.com/r1.mp3"}},
			Transcript: &domain.Transcript{Cues: []domain.TranscriptCue{{
				From: domain.MustParseDecimal("0"), To: domain.MustParseDecimal("1.50"), Speaker: caller, Text: "Hello"}}},
		},
		domain.CallAnswered{AnsweredAt: start.Add(time.Minute), ProviderStatus: ptr("in-progress")},
		domain.CallTerminated{EndedAt: start.Add(30 * time.Minute), Status: domain.StatusCompleted,
			PreviousStatus: domain.StatusInProgress, ProviderStatus: ptr("completed")},
	}
	meta := domain.Metadata{SchemaVersion: domain.CurrentSchemaVersion, AccountID: acct, Actor: "key-moonbase-production",
		RequestID: uuid.NewString(), Surface: domain.SurfaceMoonbase, Time: clk.next()}
	md, err := domain.MarshalMetadata(meta)
	require.NoError(tb, err)
	data := make([]eventstore.EventData, len(events))
	for j, e := range events {
		d, err := domain.MarshalEvent(e)
		require.NoError(tb, err)
		data[j] = eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: e.EventType(), Data: d, Metadata: md}
		p.Prime(data[j].ID, domain.Envelope{Event: e, Metadata: meta})
	}
	res, err := s.Append(context.Background(), domain.StreamID(id), eventstore.NoStream(), data)
	require.NoError(tb, err)
	return res.Position
}
