package domain_test

import (
	"testing"
	"time"

	"github.com/callledger/callledger/domain"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allEvents holds one event of every type, with Decimals written at
// unusual scales, so that the round trip proves the scale survives.
func allEvents() []domain.Event {
	price := domain.Price{Rate: dec("0.0130"), Total: dec("1.50"), Currency: "USD"}
	return []domain.Event{
		created(),
		domain.CallParticipantsChanged{Participants: participants()},
		domain.CallProviderMetadataChanged{ProviderMetadata: []byte(`{"a":1.0}`)},
		domain.CallAnswered{AnsweredAt: at(1), AnsweredBy: "human", PreviousStatus: domain.StatusRinging, ProviderStatus: ptr("answered")},
		domain.CallStatusChanged{Status: domain.StatusRinging, PreviousStatus: domain.StatusQueued, VoiceCallStatus: ptr("INCOMING_CALL"), AnsweredBy: ptr("machine_start")},
		domain.CallPriced{Price: price, PreviousPrice: &domain.Price{Rate: dec("0.010"), Total: dec("1.0"), Currency: "USD"}},
		domain.CallTerminated{EndedAt: at(30), DurationSeconds: ptr(int64(0)), Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress},
		domain.CallCanceled{CanceledAt: at(1), PreviousStatus: domain.StatusQueued},
		domain.CallTimingChanged{AnsweredAt: ptr(at(1)), EndedAt: ptr(at(2)), DurationSeconds: ptr(int64(60))},
		domain.CallDetailsChanged{Changes: domain.DetailsChanges{Notes: ptr(""), Contact: &domain.Contact{ID: "c1", IsUnknown: true},
			Transferred: ptr(false), SyncedWithCRMAt: ptr(at(40))}},
		domain.CallRecordingAdded{Recording: domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE1", URL: "https://r.example.com/1"}},
		domain.CallRecordingChanged{Recording: domain.Recording{ContentType: "audio/wav", ProviderID: "RE1", URL: "https://r.example.com/1?sig=2"}},
		domain.CallTranscriptChanged{Transcript: domain.Transcript{Cues: []domain.TranscriptCue{{From: dec("0.000"), To: dec("1.50"), Speaker: "A", Text: "hi"}}}},
		domain.CallRoutingChanged{URL: ptr("https://x.example.com"), Method: ptr("GET"), Twiml: ptr("<Response/>"), ApplicationSID: ptr("AP1")},
		domain.CallQualityReported{Quality: domain.Quality{AudioInMOS: ptr(dec("4.50")), SIPResultCode: "200", AudioRTTAvgMs: ptr(int64(0))}},
		domain.CallDeleted{DeletedAt: now},
	}
}

// TestEventRoundTrip writes and reads back every event type: the event is
// equal, Decimals keep their scale, and writing again gives the same bytes.
func TestEventRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range allEvents() {
		t.Run(e.EventType(), func(t *testing.T) {
			b, err := domain.MarshalEvent(e)
			require.NoError(t, err)
			got, err := domain.UnmarshalEvent(e.EventType(), domain.CurrentSchemaVersion, b)
			require.NoError(t, err)
			assert.Equal(t, e, got)
			again, err := domain.MarshalEvent(got)
			require.NoError(t, err)
			assert.JSONEq(t, string(b), string(again))
			assert.Equal(t, string(b), string(again), "byte-identical rewrite")
		})
		seen[e.EventType()] = true
	}
	for _, typ := range []string{
		domain.TypeCallUpserted, domain.TypeCallParticipantsChanged, domain.TypeCallProviderMetadataChanged,
		domain.TypeCallAnswered, domain.TypeCallStatusChanged, domain.TypeCallPriced, domain.TypeCallTerminated,
		domain.TypeCallCanceled, domain.TypeCallTimingChanged, domain.TypeCallDetailsChanged,
		domain.TypeCallRecordingAdded, domain.TypeCallRecordingChanged, domain.TypeCallTranscriptChanged, domain.TypeCallRoutingChanged,
		domain.TypeCallQualityReported, domain.TypeCallDeleted,
	} {
		assert.True(t, seen[typ], "no round trip of %s", typ)
	}
}

// TestPriceScaleSurvivesFold checks the scale through marshal, unmarshal
// and Evolve into the Call.
func TestPriceScaleSurvivesFold(t *testing.T) {
	e := domain.CallPriced{Price: domain.Price{Rate: dec("0.0130"), Total: dec("1.50"), Currency: "USD"}}
	b, err := domain.MarshalEvent(e)
	require.NoError(t, err)
	assert.JSONEq(t, `{"price":{"rate":"0.0130","total":"1.50","currency":"USD"}}`, string(b))
	got, err := domain.UnmarshalEvent(domain.TypeCallPriced, 0, b)
	require.NoError(t, err)
	s := fold(t, append(completedCall(), got))
	assert.Equal(t, "1.50", s.Call.Price.Total.String())
	assert.Equal(t, "0.0130", s.Call.Price.Rate.String())
}

// TestUnmarshalEnvelope checks the one decoder of stored events: metadata
// and data come back as written, and a malformed part is an error.
func TestUnmarshalEnvelope(t *testing.T) {
	meta := domain.Metadata{SchemaVersion: domain.CurrentSchemaVersion, AccountID: "acct", Surface: domain.SurfaceLaML,
		IdempotencyKey: "k-1", RequestFingerprint: "ab01", Time: time.Date(2025, 2, 17, 15, 0, 0, 0, time.UTC)}
	ev := domain.CallPriced{Price: domain.Price{Total: domain.MustParseDecimal("1.50"), Currency: "USD"}}
	data, err := domain.MarshalEvent(ev)
	require.NoError(t, err)
	mb, err := domain.MarshalMetadata(meta)
	require.NoError(t, err)

	env, err := domain.UnmarshalEnvelope(ev.EventType(), data, mb)
	require.NoError(t, err)
	assert.Equal(t, meta, env.Metadata)
	assert.Equal(t, "1.50", env.Event.(domain.CallPriced).Price.Total.String())

	_, err = domain.UnmarshalEnvelope(ev.EventType(), data, []byte("{"))
	assert.Error(t, err, "malformed metadata")
	_, err = domain.UnmarshalEnvelope(ev.EventType(), []byte("{"), mb)
	assert.Error(t, err, "malformed data")
	_, err = domain.UnmarshalEnvelope("NoSuchEvent", data, mb)
	assert.ErrorIs(t, err, domain.ErrUnknownEventType)
}

// TestClearedAddressRoundTrip checks the stored form of a cleared From or
// To (reconcileAddresses): a CallUpserted writes "from":"" (as
// encoding/json writes a pointer to ""), reads back as the same event, and
// folds to a call with no From, where the field was always read.
func TestClearedAddressRoundTrip(t *testing.T) {
	cleared := domain.CallUpserted{CallID: callID, From: ptr(""), To: ptr("")}
	b, err := domain.MarshalEvent(cleared)
	require.NoError(t, err)
	assert.Equal(t, `{"call_id":"`+callID.String()+`","from":"","to":""}`, string(b))
	got, err := domain.UnmarshalEvent(domain.TypeCallUpserted, domain.CurrentSchemaVersion, b)
	require.NoError(t, err)
	assert.Equal(t, cleared, got)

	s := fold(t, append(seed000History(), got))
	assert.Empty(t, s.Call.From)
	assert.Empty(t, s.Call.To)
}

// TestEndDerivedStoredForm holds end_derived to an additive optional field:
// written only when true, right after duration_seconds, and absent from
// events written before it existed, which read back as reported ends.
func TestEndDerivedStoredForm(t *testing.T) {
	for _, tc := range []struct {
		name   string
		event  domain.Event
		stored string
	}{
		{"CallTerminated derived", domain.CallTerminated{EndedAt: at(30), DurationSeconds: ptr(int64(1800)), EndDerived: true,
			Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress},
			`{"ended_at":"2025-02-17T15:30:00Z","duration_seconds":1800,"end_derived":true,"status":"completed","previous_status":"in-progress"}`},
		{"CallTerminated reported, as before", domain.CallTerminated{EndedAt: at(30), DurationSeconds: ptr(int64(1800)),
			Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress},
			`{"ended_at":"2025-02-17T15:30:00Z","duration_seconds":1800,"status":"completed","previous_status":"in-progress"}`},
		{"CallTimingChanged derived", domain.CallTimingChanged{EndedAt: ptr(at(30)), EndDerived: true},
			`{"ended_at":"2025-02-17T15:30:00Z","end_derived":true}`},
		{"CallTimingChanged reported, as before", domain.CallTimingChanged{EndedAt: ptr(at(30)), DurationSeconds: ptr(int64(60))},
			`{"ended_at":"2025-02-17T15:30:00Z","duration_seconds":60}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := domain.MarshalEvent(tc.event)
			require.NoError(t, err)
			assert.Equal(t, tc.stored, string(b))
			got, err := domain.UnmarshalEvent(tc.event.EventType(), domain.CurrentSchemaVersion, []byte(tc.stored))
			require.NoError(t, err)
			assert.Equal(t, tc.event, got)
		})
	}
}
