package domain_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callledger/callledger/domain"
)

// seedUpsertCall is the UpsertCall (mode upsert) that api.DecodeMoonbaseCall
// makes of the Moonbase seed's upsert body, which api's BenchmarkLoopback
// sends with a new provider id each time: a call created answered and
// completed, with two participants, provider metadata (a slice of the
// indented body, so not compact), a recording and a transcript.
func seedUpsertCall(tb testing.TB) domain.UpsertCall {
	tb.Helper()
	at := func(s string) *time.Time {
		t, err := domain.ParseRFC3339(s)
		if err != nil {
			tb.Fatal(err)
		}
		return &t
	}
	seconds := func(s string) domain.Decimal {
		d, err := domain.ParseNumber(s, domain.CueSecondsIntDigitsMax, domain.CueSecondsPlacesMax)
		if err != nil {
			tb.Fatal(err)
		}
		return d
	}
	dir, _ := domain.ParseMoonbaseDirection("incoming")
	st, _ := domain.ParseMoonbaseStatus("completed")
	providerStatus := "completed"
	return domain.UpsertCall{
		Mode:           domain.UpsertCreateOrUpdate,
		CallID:         domain.CallIDFor("acct-bench", "openphone", "bench-1"),
		AccountID:      "acct-bench",
		Now:            time.Date(2025, 2, 18, 9, 0, 0, 0, time.UTC),
		Provider:       "openphone",
		ProviderID:     "bench-1",
		Direction:      &dir,
		ProviderStatus: &providerStatus,
		Status:         &st,
		StartedAt:      at("2025-02-17T16:00:00.000+01:00"),
		AnsweredAt:     at("2025-02-17T15:01:00Z"),
		EndedAt:        at("2025-02-17T15:30:00.000Z"),
		Participants: []domain.ParticipantSpec{
			{Role: domain.RoleCaller, Phone: "+14155551212"},
			{Role: domain.RoleCallee, Phone: "+16505551212"},
		},
		ProviderMetadata: json.RawMessage(`{
    "answered_by": "UShjUatqtF",
    "user_id": "UShjUatqtF",
    "phone_number_id": "PN72zMikBJ",
    "conversation_id": "CN3b48bcc423e772aeba377414a4fa6a06"
  }`),
		Recordings: []domain.Recording{{ContentType: "audio/mpeg", ProviderID: "REC1", URL: "https://example.com/r1.mp3"}},
		Transcript: &domain.Transcript{Cues: []domain.TranscriptCue{
			{From: seconds("0"), To: seconds("1.50"), Speaker: "+14155551212", Text: "Hello"},
		}},
	}
}

// BenchmarkDecideFoldSeedUpsert measures the domain work of one Moonbase
// seed upsert that creates a call (DecideFold on the empty state), in
// allocations above all: every write pays it, and each KB allocated is
// page faults in the API's fresh processes.
//
//	go test ./domain/ -run '^$' -bench '^BenchmarkDecideFoldSeedUpsert$' -benchmem
func BenchmarkDecideFoldSeedUpsert(b *testing.B) {
	c := seedUpsertCall(b)
	at := c.Now
	b.ReportAllocs()
	for b.Loop() {
		events, _, err := domain.DecideFold(domain.State{}, c, at)
		if err != nil || len(events) != 3 {
			b.Fatal(len(events), err)
		}
	}
}

// BenchmarkMarshalSeedUpsertEvents measures encoding the events of the
// seed upsert (a creation with its facts, CallAnswered, CallTerminated)
// and their metadata, as the API encodes every write: each event into its
// own buffer (MarshalEvent), or all into one (AppendEvent).
//
//	go test ./domain/ -run '^$' -bench '^BenchmarkMarshalSeedUpsertEvents$' -benchmem
func BenchmarkMarshalSeedUpsertEvents(b *testing.B) {
	c := seedUpsertCall(b)
	events, _, err := domain.DecideFold(domain.State{}, c, c.Now)
	if err != nil || len(events) != 3 {
		b.Fatal(len(events), err)
	}
	meta := domain.Metadata{
		SchemaVersion: domain.CurrentSchemaVersion, AccountID: c.AccountID, Actor: "bench-key",
		RequestID: "host/abcdefghij-000001", Surface: domain.SurfaceMoonbase, Time: c.Now,
	}
	b.Run("MarshalEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, e := range events {
				if _, err := domain.MarshalEvent(e); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("AppendEvent", func(b *testing.B) {
		// As a writer appends a write's events into one buffer, presized.
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			for _, e := range events {
				n += domain.EventSizeHint(e)
			}
			buf := make([]byte, 0, n)
			for _, e := range events {
				if buf, err = domain.AppendEvent(buf, e); err != nil {
					b.Fatal(err)
				}
			}
			if cap(buf) != n {
				b.Fatalf("the buffer grew from %d to %d", n, cap(buf))
			}
		}
	})
	b.Run("AppendMetadataAndEvents", func(b *testing.B) {
		// A write's metadata and events in one buffer, presized.
		b.ReportAllocs()
		for b.Loop() {
			n := domain.MetadataSizeHint(meta)
			for _, e := range events {
				n += domain.EventSizeHint(e)
			}
			buf, err := domain.AppendMetadata(make([]byte, 0, n), meta)
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range events {
				if buf, err = domain.AppendEvent(buf, e); err != nil {
					b.Fatal(err)
				}
			}
			if cap(buf) != n {
				b.Fatalf("the buffer grew from %d to %d", n, cap(buf))
			}
		}
	})
	b.Run("MarshalMetadata", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := domain.MarshalMetadata(meta); err != nil {
				b.Fatal(err)
			}
		}
	})
}
