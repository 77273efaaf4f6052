package domain_test

import (
	"testing"
	"time"

	"github.com/callledger/callledger/domain"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEvolveFoldsSeed000 checks the Call that seed 000's history folds into,
// and the times and version the fold keeps.
func TestEvolveFoldsSeed000(t *testing.T) {
	s := fold(t, seed000History())
	c := s.Call
	assert.Equal(t, uint64(3), s.Version)
	assert.Equal(t, callID, c.ID)
	assert.Equal(t, domain.StatusCompleted, c.Status)
	assert.Equal(t, "completed", c.ProviderStatus)
	assert.Equal(t, participants(), c.Participants)
	assert.Equal(t, at(1), *c.AnsweredAt)
	assert.Equal(t, at(30), *c.EndedAt)
	assert.Equal(t, int64(1740), *c.DurationSeconds)
	assert.Equal(t, now, c.CreatedAt)
	assert.Equal(t, now.Add(2*time.Second), c.UpdatedAt)
	rev, ok := s.Revision()
	assert.True(t, ok)
	assert.Equal(t, uint64(2), rev)
}

// TestCreationFactsFoldAsTheirEvents: a creation carrying every kind of
// creation fact (schema version 2) folds into the same call as the
// creation followed by one event per fact (how version 1 wrote it), so
// both histories read the same.
func TestCreationFactsFoldAsTheirEvents(t *testing.T) {
	rec := domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE1", URL: "https://rec.example.com/1.mp3"}
	rec2 := domain.Recording{ContentType: "audio/wav", URL: "https://rec.example.com/2.wav"}
	details := domain.DetailsChanges{Notes: ptr("n"), Contact: &domain.Contact{ID: "c1", FirstName: "Ada"}, SyncedWithCRMAt: ptr(at(5))}
	routing := domain.CallRoutingChanged{URL: ptr("https://x.example.com/laml"), Method: ptr("POST"), Twiml: ptr("<Response/>"), ApplicationSID: ptr("AP1")}
	transcript := domain.Transcript{Cues: []domain.TranscriptCue{{From: dec("0.0"), To: dec("1.50"), Speaker: "A", Text: "hi"}}}
	quality := domain.Quality{AudioInMOS: ptr(dec("4.20")), SIPResultCode: "200"}
	meta := []byte(`{"k":"v"}`)

	split := []domain.Event{
		created(),
		domain.CallParticipantsChanged{Participants: participants()},
		domain.CallProviderMetadataChanged{ProviderMetadata: meta},
		domain.CallDetailsChanged{Changes: details},
		routing,
		domain.CallRecordingAdded{Recording: rec},
		domain.CallRecordingAdded{Recording: rec2},
		domain.CallTranscriptChanged{Transcript: transcript},
		domain.CallQualityReported{Quality: quality},
	}
	one := created()
	one.Participants = participants()
	one.ProviderMetadata = meta
	one.Details = &details
	one.Routing = &routing
	one.Recordings = []domain.Recording{rec, rec2}
	one.Transcript = &transcript
	one.Quality = &quality

	// Same metadata time for every event, so that UpdatedAt agrees too.
	foldAt := func(events []domain.Event) domain.Call {
		var s domain.State
		for _, e := range events {
			env := domain.Envelope{Event: e, Metadata: domain.Metadata{Time: now}}
			require.NoError(t, domain.CheckEvolve(s, env))
			s = domain.Evolve(s, env)
		}
		return s.Call
	}
	want := foldAt(split)
	require.NotEmpty(t, want.Recordings)
	assert.Equal(t, want, foldAt([]domain.Event{one}))
	assert.Equal(t, want, foldAt([]domain.Event{roundTrip(t, one)}), "and after its stored encoding")
}

func roundTrip(t *testing.T, e domain.Event) domain.Event {
	t.Helper()
	b, err := domain.MarshalEvent(e)
	require.NoError(t, err)
	got, err := domain.UnmarshalEvent(e.EventType(), domain.CurrentSchemaVersion, b)
	require.NoError(t, err)
	return got
}

// TestBrokenInvariants: Evolve folds an event that cannot apply anyway (and
// counts it), and CheckEvolve/Fold name it.
func TestBrokenInvariants(t *testing.T) {
	rows := []struct {
		name    string
		history []domain.Event
		version uint64
	}{
		{"event before creation", []domain.Event{moved("", domain.StatusRinging)}, 0},
		{"created twice", []domain.Event{created(), created()}, 1},
		{"answer of a completed call", append(completedCall(), domain.CallAnswered{AnsweredAt: at(40), PreviousStatus: domain.StatusCompleted}), 4},
		{"terminate of a ringing call", append(ringingCall(), domain.CallTerminated{EndedAt: at(1), Status: domain.StatusCompleted, PreviousStatus: domain.StatusRinging}), 2},
		{"backwards move", append(completedCall(), moved(domain.StatusCompleted, domain.StatusRinging)), 4},
		{"wrong previous status", append(ringingCall(), moved(domain.StatusQueued, domain.StatusInProgress)), 2},
		{"event after deletion", append(completedCall(), domain.CallDeleted{DeletedAt: now}, domain.CallPriced{}), 5},
		{"nil event", []domain.Event{created(), nil}, 1},
		{"negative total", append(completedCall(), domain.CallPriced{Price: domain.Price{Rate: dec("0.01"), Total: dec("-5.00"), Currency: "USD"}}), 4},
		{"negative rate", append(completedCall(), domain.CallPriced{Price: domain.Price{Rate: dec("-0.01"), Total: dec("0"), Currency: "USD"}}), 4},
		{"currency in lower case", append(completedCall(), domain.CallPriced{Price: domain.Price{Rate: dec("0.01"), Total: dec("1"), Currency: "usd"}}), 4},
		{"currency a formula", append(completedCall(), domain.CallPriced{Price: domain.Price{Rate: dec("0.01"), Total: dec("1"), Currency: `=HYPERLINK("http://evil.example/","USD")`}}), 4},
		{"no currency", append(completedCall(), domain.CallPriced{Price: domain.Price{Rate: dec("0.01"), Total: dec("1")}}), 4},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			s, err := domain.Fold(envelopes(row.history, 0))
			require.ErrorIs(t, err, domain.ErrBrokenInvariant)
			var ie *domain.InvariantError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, row.version, ie.Version)
			assert.Equal(t, uint64(len(row.history)), s.Version, "every event is counted")
			assert.Empty(t, domain.ErrorCodeOf(err), "not an application error")
		})
	}
}

func TestPriceInACurrencyISONoLongerAssignsFolds(t *testing.T) {
	// Goal: a price stored before the ledger checked codes against ISO
	// 4217's list (three upper-case letters ISO does not assign, or no
	// longer does) folds without a broken invariant: only the shape was
	// ever refused.
	for _, code := range []string{"DEM", "ZZZ"} {
		s, err := domain.Fold(envelopes(append(completedCall(), domain.CallPriced{Price: domain.Price{Rate: dec("0.01"), Total: dec("1"), Currency: code}}), 0))
		require.NoError(t, err, code)
		assert.Equal(t, code, s.Call.Price.Currency)
	}
}

// TestEvolveDoesNotAlias checks that a later fold or the event cannot change
// an earlier state through a shared slice or pointer.
func TestEvolveDoesNotAlias(t *testing.T) {
	ps := participants()
	s1 := fold(t, []domain.Event{created(), domain.CallParticipantsChanged{Participants: ps},
		domain.CallRecordingAdded{Recording: domain.Recording{ProviderID: "RE1"}}})
	ps[0].Phone = "+19999999999" // the event's slice, changed after the fold
	assert.Equal(t, caller, s1.Call.Participants[0].Phone)

	before := snapshot(t, s1)
	s2 := domain.Evolve(s1, domain.Envelope{Event: domain.CallRecordingAdded{Recording: domain.Recording{ProviderID: "RE2"}}})
	s3 := domain.Evolve(s1, domain.Envelope{Event: domain.CallRecordingAdded{Recording: domain.Recording{ProviderID: "RE3"}}})
	assert.Equal(t, before, snapshot(t, s1))
	assert.Equal(t, "RE2", s2.Call.Recordings[1].ProviderID)
	assert.Equal(t, "RE3", s3.Call.Recordings[1].ProviderID)
}

// TestEvolveTakesPointers folds *Event as it folds Event.
func TestEvolveTakesPointers(t *testing.T) {
	e := created()
	s := domain.Evolve(domain.State{}, domain.Envelope{Event: &e})
	assert.Equal(t, callID, s.Call.ID)
	assert.NoError(t, domain.CheckEvolve(domain.State{}, domain.Envelope{Event: &e}))
}

// TestEvolveInPlace checks that EvolveInPlace folds every kind of event, a
// creation carrying every creation fact and a second recording included,
// exactly as Evolve does, CheckEvolveInPlace judges it as CheckEvolve does,
// and that a copy of the state taken before a fold
// in place keeps its values: the fold writes the state's own fields only.
func TestEvolveInPlace(t *testing.T) {
	history := envelopes(append(allEvents(), domain.CallRecordingAdded{Recording: domain.Recording{ProviderID: "RE9"}}), 0)
	var byValue, inPlace domain.State
	for i, e := range history {
		before := inPlace
		saved := snapshot(t, before)
		require.Equal(t, domain.CheckEvolve(byValue, e), domain.CheckEvolveInPlace(&inPlace, e), "event %d", i)
		byValue = domain.Evolve(byValue, e)
		domain.EvolveInPlace(&inPlace, e)
		require.Equal(t, byValue, inPlace, "event %d (%s)", i, e.Event.EventType())
		assert.Equal(t, saved, snapshot(t, before), "event %d (%s) changed an earlier copy", i, e.Event.EventType())
	}
	assert.Equal(t, uint64(len(history)), inPlace.Version)
}

// TestEndProvenanceFolds holds Evolve to what the events say of an end
// (Call.EndFromDuration): an end written with end_derived is derived, any
// end written without it is reported, and an event that writes no end
// leaves the mark as it was.
func TestEndProvenanceFolds(t *testing.T) {
	derived := domain.CallTimingChanged{EndedAt: ptr(at(30)), DurationSeconds: ptr(int64(1800)), EndDerived: true}
	for _, tc := range []struct {
		name  string
		given []domain.Event
		want  bool
	}{
		{"no end", inProgressUnanswered(), false},
		{"a reported end", endedUnanswered(), false},
		{"an end derived by a termination", append(inProgressUnanswered(), domain.CallTerminated{EndedAt: at(30), DurationSeconds: ptr(int64(1800)),
			EndDerived: true, Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress}), true},
		{"an end derived by a timing change", append(endedUnanswered(), derived), true},
		{"a timing change without an end keeps the mark", append(endedUnanswered(), derived, domain.CallTimingChanged{DurationSeconds: ptr(int64(60))}), true},
		{"end_derived without an end is ignored", append(endedUnanswered(), domain.CallTimingChanged{DurationSeconds: ptr(int64(60)), EndDerived: true}), false},
		{"a reported end clears the mark", append(endedUnanswered(), derived, domain.CallTimingChanged{EndedAt: ptr(at(30))}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, fold(t, tc.given).Call.EndFromDuration)
		})
	}
}
