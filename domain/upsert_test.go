package domain_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// seed000History is what seed 000's upsert writes.
func seed000History() []domain.Event {
	e := created()
	e.Participants = participants()
	e.ProviderMetadata = seed000().ProviderMetadata
	return []domain.Event{
		e,
		domain.CallAnswered{AnsweredAt: at(1)},
		domain.CallTerminated{EndedAt: at(30), DurationSeconds: ptr(int64(1740)), Status: domain.StatusCompleted,
			PreviousStatus: domain.StatusInProgress, ProviderStatus: ptr("completed")},
	}
}

// TestUpsertCall covers creation, the no-op, change detection, event order
// and out-of-order provider updates.
func TestUpsertCall(t *testing.T) {
	threeChanges := seed000()
	threeChanges.Details.Notes = ptr("called back")
	threeChanges.StartedAt = ptr(at(-1))
	threeChanges.Price = &domain.Price{Rate: dec("0.0135"), Total: dec("0.41"), Currency: "USD"}

	late := upsert(domain.UpsertCreateOrUpdate)
	late.Status = ptr(domain.StatusRinging)
	late.ProviderStatus = ptr("ringing")
	late.Details.Summary = ptr("late but kept")

	lateInProgress := upsert(domain.UpsertCreateOrUpdate)
	lateInProgress.Status = ptr(domain.StatusInProgress)
	lateInProgress.AnsweredAt = ptr(at(2))

	sameWord := upsert(domain.UpsertUpdate)
	sameWord.Status = ptr(domain.StatusCompleted)
	sameWord.ProviderStatus = ptr("ended")

	unknownWord := upsert(domain.UpsertUpdate)
	unknownWord.ProviderStatus = ptr("transferring")

	unknownWithTimes := upsert(domain.UpsertCreateOrUpdate)
	unknownWithTimes.Direction = ptr(domain.DirectionInbound)
	unknownWithTimes.StartedAt = ptr(t0)
	unknownWithTimes.ProviderStatus = ptr("wrapped-up")
	unknownWithTimes.AnsweredAt = ptr(at(1))
	unknownWithTimes.EndedAt = ptr(at(30))
	unknownWithTimes.Participants = []domain.ParticipantSpec{}

	// QA with the Moonbase SDK: an unanswered call reported over with a
	// word the ledger does not know stayed queued, with an end.
	unknownEnded := upsert(domain.UpsertCreateOrUpdate)
	unknownEnded.Direction = ptr(domain.DirectionInbound)
	unknownEnded.StartedAt = ptr(t0)
	unknownEnded.ProviderStatus = ptr("wrapped-up")
	unknownEnded.EndedAt = ptr(at(1))
	unknownEnded.Participants = []domain.ParticipantSpec{}

	unknownEndedRinging := upsert(domain.UpsertUpdate)
	unknownEndedRinging.ProviderStatus = ptr("wrapped-up")
	unknownEndedRinging.EndedAt = ptr(at(1))

	// A call in progress without an answer time (a LaML or VoiceCall
	// status), and what may end it.
	inProgressUnanswered := append(ringingCall(),
		domain.CallStatusChanged{Status: domain.StatusInProgress, PreviousStatus: domain.StatusRinging})
	endOnly := upsert(domain.UpsertUpdate)
	endOnly.EndedAt = ptr(at(1))
	notes := upsert(domain.UpsertUpdate)
	notes.Details.Notes = ptr("still there")
	// A provider word for a live status, sent with an end (an API client
	// probe's Moonbase upsert).
	liveEnded := func(word string, mode domain.UpsertMode) domain.UpsertCall {
		c := upsert(mode)
		if mode != domain.UpsertUpdate {
			c.Direction = ptr(domain.DirectionInbound)
			c.StartedAt = ptr(t0)
			c.Participants = []domain.ParticipantSpec{}
		}
		c.ProviderStatus = ptr(word)
		c.EndedAt = ptr(at(1))
		return c
	}

	newNoStatus := upsert(domain.UpsertCreate)
	newNoStatus.Direction = ptr(domain.DirectionOutbound)
	newNoStatus.From, newNoStatus.To = ptr(caller), ptr(callee)

	answer := upsert(domain.UpsertUpdate)
	answer.Status = ptr(domain.StatusInProgress)
	answer.AnsweredAt = ptr(at(1))
	answer.AnsweredBy = ptr("human")

	inProgressNoTime := upsert(domain.UpsertUpdate)
	inProgressNoTime.VoiceCallStatus = ptr(domain.VoiceCallAnsweredByStaff)

	voicemail := upsert(domain.UpsertUpdate)
	voicemail.VoiceCallStatus = ptr(domain.VoiceCallVoicemailReceived)
	voicemail.EndedAt = ptr(at(3))

	cancel := upsert(domain.UpsertUpdate)
	cancel.Status = ptr(domain.StatusCanceled)
	cancel.EndedAt = ptr(at(1))

	end := upsert(domain.UpsertUpdate)
	end.Status = ptr(domain.StatusCompleted)
	end.EndedAt = ptr(at(30))
	end.DurationSeconds = ptr(int64(1800))

	fail := upsert(domain.UpsertUpdate)
	fail.Status = ptr(domain.StatusFailed)

	rescale := upsert(domain.UpsertUpdate)
	rescale.Price = &domain.Price{Rate: dec("0.0135"), Total: dec("1.50"), Currency: "USD"}
	priced := append(completedCall(), domain.CallPriced{Price: domain.Price{Rate: dec("0.0135"), Total: dec("1.5"), Currency: "USD"}})

	metaReordered := upsert(domain.UpsertUpdate)
	metaReordered.ProviderMetadata = []byte(`{ "conversation_id":"CN3b48bcc423e772aeba377414a4fa6a06", "phone_number_id":"PN72zMikBJ","user_id":"UShjUatqtF","answered_by":"UShjUatqtF"}`)
	metaNumber := upsert(domain.UpsertUpdate)
	metaNumber.ProviderMetadata = []byte(`{"n":1}`)

	rec := domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE1", URL: "https://rec.example.com/1.mp3"}
	rec2 := domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE2", URL: "https://rec.example.com/2.mp3"}
	recordings := upsert(domain.UpsertUpdate)
	recordings.Recordings = []domain.Recording{rec, rec2}

	transcript := upsert(domain.UpsertUpdate)
	transcript.Transcript = &domain.Transcript{Cues: []domain.TranscriptCue{{From: dec("0.0"), To: dec("1.50"), Speaker: "A", Text: "hi"}}}

	routing := upsert(domain.UpsertUpdate)
	routing.Routing = domain.RoutingChanges{URL: ptr("https://x.example.com/laml"), Method: ptr("POST")}

	quality := upsert(domain.UpsertUpdate)
	quality.Quality = &domain.Quality{AudioInMOS: ptr(dec("4.20")), SIPResultCode: "200", AudioOutLostPackets: ptr(int64(3))}

	parent := uuid1()
	withParent := upsert(domain.UpsertUpdate)
	withParent.ParentCallID = &parent

	fromTo := upsert(domain.UpsertCreate)
	fromTo.Direction = ptr(domain.DirectionOutbound)
	fromTo.From, fromTo.To = ptr(caller), ptr(callee)
	fromTo.Status = ptr(domain.StatusQueued)

	vonagePut := upsert(domain.UpsertUpdate)
	vonagePut.Provider = "VONAGE"

	otherPID := upsert(domain.UpsertUpdate)
	otherPID.ProviderID = "other"

	otherAccount := upsert(domain.UpsertCreateOrUpdate)
	otherAccount.AccountID = "acc-2"

	runGWT(t, []gwt{
		{name: "seed 000: a new call reported already over", when: seed000(), then: seed000History()},
		{name: "the same upsert again changes nothing", given: seed000History(), when: seed000(), then: nil},
		{name: "three changes, three events, in history order", given: seed000History(), when: threeChanges, then: []domain.Event{
			domain.CallUpserted{CallID: callID, StartedAt: ptr(at(-1))},
			domain.CallDetailsChanged{Changes: domain.DetailsChanges{Notes: ptr("called back")}},
			domain.CallPriced{Price: *threeChanges.Price},
		}},
		{name: "create on an existing call is a conflict", given: seed000History(), when: func() domain.UpsertCall {
			c := seed000()
			c.Mode = domain.UpsertCreate
			return c
		}(), code: domain.ErrConflict, field: "provider_id"},
		{name: "update of a missing call is not found", when: upsert(domain.UpsertUpdate), code: domain.ErrNotFound, field: "call_id"},
		{name: "another account's call is not found", given: seed000History(), when: otherAccount, code: domain.ErrNotFound, field: "call_id"},
		{name: "a deleted call refuses upserts", given: append(seed000History(), domain.CallDeleted{DeletedAt: now}), when: seed000(), code: domain.ErrConflict, field: "call_id"},
		{name: "another provider is a conflict (VoiceCall PUT on a non-Vonage call)", given: seed000History(), when: vonagePut, code: domain.ErrConflict, field: "provider"},
		{name: "another provider id is a conflict", given: seed000History(), when: otherPID, code: domain.ErrConflict, field: "provider_id"},
		{name: "late ringing on a completed call keeps the status and applies the rest", given: completedCall(), when: late, then: []domain.Event{
			domain.CallDetailsChanged{Changes: domain.DetailsChanges{Summary: ptr("late but kept")}},
		}},
		{name: "late in-progress on a completed call corrects only the answer time, and the duration derived from it", given: completedCall(), when: lateInProgress, then: []domain.Event{
			domain.CallTimingChanged{AnsweredAt: ptr(at(2)), DurationSeconds: ptr(int64(1680))},
		}},
		{name: "a new word for the same status is a status change without a move", given: completedCall(), when: sameWord, then: []domain.Event{
			domain.CallStatusChanged{Status: domain.StatusCompleted, PreviousStatus: domain.StatusCompleted, ProviderStatus: ptr("ended")},
		}},
		{name: "an unknown word is kept verbatim without a move", given: ringingCall(), when: unknownWord, then: []domain.Event{
			domain.CallStatusChanged{Status: domain.StatusRinging, PreviousStatus: domain.StatusRinging, ProviderStatus: ptr("transferring")},
		}},
		{name: "an unknown word on a new call: the status comes from the times", when: unknownWithTimes, then: []domain.Event{
			// An empty participant list on a call without any is no
			// change, and gives the call no From or To.
			domain.CallUpserted{Created: true, CallID: callID, AccountID: account, Provider: provider, ProviderID: providerID,
				Direction: ptr(domain.DirectionInbound), StartedAt: ptr(t0)},
			domain.CallAnswered{AnsweredAt: at(1)},
			domain.CallTerminated{EndedAt: at(30), DurationSeconds: ptr(int64(1740)), Status: domain.StatusCompleted,
				PreviousStatus: domain.StatusInProgress, ProviderStatus: ptr("wrapped-up")},
		}},
		{name: "an unknown word with an end and no answer on a new call: over, unanswered", when: unknownEnded, then: []domain.Event{
			domain.CallUpserted{Created: true, CallID: callID, AccountID: account, Provider: provider, ProviderID: providerID,
				Direction: ptr(domain.DirectionInbound), StartedAt: ptr(t0)},
			domain.CallStatusChanged{Status: domain.StatusNoAnswer, ProviderStatus: ptr("wrapped-up")},
			domain.CallTimingChanged{EndedAt: ptr(at(1))},
		}},
		{name: "an unknown word with an end on a ringing call: over, unanswered", given: ringingCall(), when: unknownEndedRinging, then: []domain.Event{
			domain.CallStatusChanged{Status: domain.StatusNoAnswer, PreviousStatus: domain.StatusRinging, ProviderStatus: ptr("wrapped-up")},
			domain.CallTimingChanged{EndedAt: ptr(at(1))},
		}},
		{name: "an unknown word with an end on a call in progress without an answer time: completed, as long as from its start", given: inProgressUnanswered, when: unknownEndedRinging, then: []domain.Event{
			domain.CallTerminated{EndedAt: at(1), DurationSeconds: ptr(int64(60)), Status: domain.StatusCompleted,
				PreviousStatus: domain.StatusInProgress, ProviderStatus: ptr("wrapped-up")},
		}},
		{name: "an end alone on a call in progress without an answer time: completed", given: inProgressUnanswered, when: endOnly, then: []domain.Event{
			domain.CallTerminated{EndedAt: at(1), DurationSeconds: ptr(int64(60)), Status: domain.StatusCompleted,
				PreviousStatus: domain.StatusInProgress},
		}},
		{name: "in-progress with an end on a new call is refused", when: liveEnded("in-progress", domain.UpsertCreateOrUpdate), code: domain.ErrInvalid, field: "ended_at"},
		{name: "ringing with an end on a ringing call is refused", given: ringingCall(), when: liveEnded("ringing", domain.UpsertUpdate), code: domain.ErrInvalid, field: "ended_at"},
		{name: "in-progress with an end on an answered call is refused", given: answeredCall(), when: liveEnded("active", domain.UpsertUpdate), code: domain.ErrInvalid, field: "ended_at"},
		{name: "a late in-progress with the end on a completed call keeps the status", given: completedCall(), when: liveEnded("in-progress", domain.UpsertUpdate), then: []domain.Event{
			domain.CallTimingChanged{EndedAt: ptr(at(1)), DurationSeconds: ptr(int64(0))}, // answered at(1)
		}},
		{name: "a call in progress with an end from before the check takes other changes", given: append(inProgressUnanswered,
			domain.CallTimingChanged{EndedAt: ptr(at(1))}), when: notes, then: []domain.Event{
			domain.CallDetailsChanged{Changes: domain.DetailsChanges{Notes: ptr("still there")}},
		}},
		{name: "a new call without a status starts queued, start at Now, participants from From and To", when: newNoStatus, then: []domain.Event{
			domain.CallUpserted{Created: true, CallID: callID, AccountID: account, Provider: provider, ProviderID: providerID,
				Direction: ptr(domain.DirectionOutbound), From: ptr(caller), To: ptr(callee), StartedAt: ptr(now),
				Participants: participants()},
			moved("", domain.StatusQueued),
		}},
		{name: "in-progress with an answer time is an answer", given: ringingCall(), when: answer, then: []domain.Event{
			domain.CallAnswered{AnsweredAt: at(1), AnsweredBy: "human", PreviousStatus: domain.StatusRinging},
		}},
		{name: "in-progress without an answer time is a status change", given: ringingCall(), when: inProgressNoTime, then: []domain.Event{
			domain.CallStatusChanged{Status: domain.StatusInProgress, PreviousStatus: domain.StatusRinging, VoiceCallStatus: ptr(domain.VoiceCallAnsweredByStaff)},
		}},
		{name: "VOICEMAIL_RECEIVED on a ringing call completes it, the end as timing with the duration it gives", given: ringingCall(), when: voicemail, then: []domain.Event{
			domain.CallStatusChanged{Status: domain.StatusCompleted, PreviousStatus: domain.StatusRinging, VoiceCallStatus: ptr(domain.VoiceCallVoicemailReceived)},
			domain.CallTimingChanged{EndedAt: ptr(at(3)), DurationSeconds: ptr(int64(180))},
		}},
		{name: "canceled from ringing is a cancel", given: ringingCall(), when: cancel, then: []domain.Event{
			domain.CallCanceled{CanceledAt: at(1), PreviousStatus: domain.StatusRinging},
			domain.CallTimingChanged{EndedAt: ptr(at(1))},
		}},
		{name: "completed from in-progress is a termination with the given duration", given: answeredCall(), when: end, then: []domain.Event{
			domain.CallTerminated{EndedAt: at(30), DurationSeconds: ptr(int64(1800)), Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress},
		}},
		{name: "failed from in-progress is a status change", given: answeredCall(), when: fail, then: []domain.Event{
			moved(domain.StatusInProgress, domain.StatusFailed),
		}},
		{name: "1.5 then 1.50 is a new price", given: priced, when: rescale, then: []domain.Event{
			domain.CallPriced{Price: *rescale.Price, PreviousPrice: &domain.Price{Rate: dec("0.0135"), Total: dec("1.5"), Currency: "USD"}},
		}},
		{name: "the same price again is nothing", given: append(priced, domain.CallPriced{Price: *rescale.Price}), when: rescale, then: nil},
		{name: "metadata in another key order is the same", given: seed000History(), when: metaReordered, then: nil},
		{name: "other metadata is a change", given: seed000History(), when: metaNumber, then: []domain.Event{
			domain.CallProviderMetadataChanged{ProviderMetadata: metaNumber.ProviderMetadata},
		}},
		{name: "recordings are added once each", given: append(seed000History(), domain.CallRecordingAdded{Recording: rec}), when: recordings, then: []domain.Event{
			domain.CallRecordingAdded{Recording: rec2},
		}},
		{name: "a transcript is replaced", given: seed000History(), when: transcript, then: []domain.Event{
			domain.CallTranscriptChanged{Transcript: *transcript.Transcript},
		}},
		{name: "routing changes", given: ringingCall(), when: routing, then: []domain.Event{
			domain.CallRoutingChanged{URL: ptr("https://x.example.com/laml"), Method: ptr("POST")},
		}},
		{name: "quality is reported", given: ringingCall(), when: quality, then: []domain.Event{
			domain.CallQualityReported{Quality: *quality.Quality},
		}},
		{name: "a parent call is a core change", given: ringingCall(), when: withParent, then: []domain.Event{
			domain.CallUpserted{CallID: callID, ParentCallID: &parent},
		}},
		{name: "a LaML create with From and To", when: fromTo, then: []domain.Event{
			domain.CallUpserted{Created: true, CallID: callID, AccountID: account, Provider: provider, ProviderID: providerID,
				Direction: ptr(domain.DirectionOutbound), From: ptr(caller), To: ptr(callee), StartedAt: ptr(now),
				Participants: participants()},
			moved("", domain.StatusQueued),
		}},
	})
}

// TestSyncDateClearing checks that an update can clear the CRM sync date,
// which no time can say (every instant is a date): the clearing is its own
// fact in CallDetailsChanged, recorded only when there is a date to clear,
// and a command may not set and clear it at once.
func TestSyncDateClearing(t *testing.T) {
	clearing := upsert(domain.UpsertUpdate)
	clearing.Details.SyncedWithCRMAtCleared = true
	setAndClear := clearing
	setAndClear.Details.SyncedWithCRMAt = ptr(at(50))
	synced := append(seed000History(), domain.CallDetailsChanged{Changes: domain.DetailsChanges{SyncedWithCRMAt: ptr(at(40))}})
	cleared := append(slices.Clone(synced), domain.CallDetailsChanged{Changes: domain.DetailsChanges{SyncedWithCRMAtCleared: true}})
	runGWT(t, []gwt{
		{name: "a sync date is cleared", given: synced, when: clearing, then: []domain.Event{
			domain.CallDetailsChanged{Changes: domain.DetailsChanges{SyncedWithCRMAtCleared: true}},
		}},
		{name: "clearing a call never synced is nothing", given: seed000History(), when: clearing, then: nil},
		{name: "clearing a cleared date is nothing", given: cleared, when: clearing, then: nil},
		{name: "set and cleared at once is invalid", given: synced, when: setAndClear, code: domain.ErrInvalid, field: "details.synced_with_crm_at"},
	})

	s := fold(t, cleared)
	assert.Nil(t, s.Call.Details.SyncedWithCRMAt, "the clearing folds to no date")
	s = fold(t, append(cleared, domain.CallDetailsChanged{Changes: domain.DetailsChanges{SyncedWithCRMAt: ptr(at(45))}}))
	require.NotNil(t, s.Call.Details.SyncedWithCRMAt)
	assert.Equal(t, at(45), *s.Call.Details.SyncedWithCRMAt, "a date set after the clearing")
}

// TestSyncDateEventsAsStored checks the stored forms: a details change
// written before the clearing existed reads and folds as it always did, a
// clearing reads back as one, and an event that both sets and clears the
// date is a broken invariant.
func TestSyncDateEventsAsStored(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		version    int // the schema version the event was written with
		want       *time.Time
	}{
		{"OldSetDate", `{"changes":{"synced_with_crm_at":"2025-02-17T15:40:00Z"}}`, 2, ptr(at(40))},
		{"OldOtherField", `{"changes":{"notes":"n"}}`, 2, ptr(at(30))},
		{"Cleared", `{"changes":{"synced_with_crm_at_cleared":true}}`, 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := domain.UnmarshalEvent(domain.TypeCallDetailsChanged, tc.version, []byte(tc.data))
			require.NoError(t, err)
			assert.Equal(t, tc.version, domain.SchemaVersionOf([]domain.Event{e}), "the version this build writes it with")
			given := append(seed000History(), domain.CallDetailsChanged{Changes: domain.DetailsChanges{SyncedWithCRMAt: ptr(at(30))}})
			s := fold(t, append(given, e))
			if tc.want == nil {
				assert.Nil(t, s.Call.Details.SyncedWithCRMAt)
			} else {
				require.NotNil(t, s.Call.Details.SyncedWithCRMAt)
				assert.Equal(t, *tc.want, *s.Call.Details.SyncedWithCRMAt)
			}
			again, err := domain.MarshalEvent(e)
			require.NoError(t, err)
			assert.JSONEq(t, tc.data, string(again))
		})
	}
	both := domain.CallDetailsChanged{Changes: domain.DetailsChanges{SyncedWithCRMAt: ptr(at(40)), SyncedWithCRMAtCleared: true}}
	_, err := domain.Fold(envelopes(append(seed000History(), both), 0))
	assert.ErrorIs(t, err, domain.ErrBrokenInvariant)
}

// TestLateVoiceCallWordRenamingTheShownStatus: a VoiceCall word sent with a
// move the call cannot make is recorded alone, the status kept, when its
// canonical status is that of the word the call shows now, so that a PUT
// that corrects MISSED to MISSED_CALL_HANDLED on a canceled call, or
// ANSWERED_BY_STAFF to ANSWERED_BY_CALLS_PROVIDER on a completed one, reads
// back what it sent (QA: both were dropped with a 200). Any other late word
// is dropped as before, and so is a late Moonbase word.
func TestLateVoiceCallWordRenamingTheShownStatus(t *testing.T) {
	ended := func(to domain.Status) []domain.Event { return append(ringingCall(), moved(domain.StatusRinging, to)) }
	canceled := append(ringingCall(), domain.CallCanceled{CanceledAt: at(1), PreviousStatus: domain.StatusRinging})
	canceledHandled := append(slices.Clone(canceled), domain.CallStatusChanged{Status: domain.StatusCanceled,
		PreviousStatus: domain.StatusCanceled, VoiceCallStatus: ptr(wordHandled)})
	completedStaff := append(completedCall(), domain.CallStatusChanged{Status: domain.StatusCompleted,
		PreviousStatus: domain.StatusCompleted, VoiceCallStatus: ptr(wordStaff)})
	completedUnanswered := []domain.Event{created(), moved("", domain.StatusCompleted)}
	failedAfterAnswer := append(answeredCall(), moved(domain.StatusInProgress, domain.StatusFailed))
	put := func(word string) domain.UpsertCall { return voiceCallPut(t, word) }
	wordOnly := voiceCallWordOnly
	moonbaseMissed := upsert(domain.UpsertUpdate)
	moonbaseMissed.Status, moonbaseMissed.ProviderStatus = ptr(domain.StatusNoAnswer), ptr("missed")

	for _, tc := range []struct {
		name  string
		given []domain.Event
		when  domain.UpsertCall
		then  []domain.Event
		shown string // VoiceCallStatusWord after the events
	}{
		{"MISSED_CALL_HANDLED on a canceled call", canceled, put(wordHandled), wordOnly(domain.StatusCanceled, wordHandled), wordHandled},
		{"MISSED_CALL_HANDLED on a busy call", ended(domain.StatusBusy), put(wordHandled), wordOnly(domain.StatusBusy, wordHandled), wordHandled},
		{"MISSED_CALL_HANDLED on a failed call", ended(domain.StatusFailed), put(wordHandled), wordOnly(domain.StatusFailed, wordHandled), wordHandled},
		{"MISSED on a canceled call with no word, which shows it, is nothing", canceled, put(wordMissed), nil, wordMissed},
		{"MISSED back on a handled canceled call", canceledHandled, put(wordMissed), wordOnly(domain.StatusCanceled, wordMissed), wordMissed},
		{"the same word again is nothing", canceledHandled, put(wordHandled), nil, wordHandled},
		{"ANSWERED_BY_CALLS_PROVIDER on a completed answered call", completedCall(), put(wordProvider), wordOnly(domain.StatusCompleted, wordProvider), wordProvider},
		{"ANSWERED_BY_CALLS_PROVIDER for ANSWERED_BY_STAFF on a completed call", completedStaff, put(wordProvider), wordOnly(domain.StatusCompleted, wordProvider), wordProvider},
		{"an answer word on a call completed unanswered stays late", completedUnanswered, put(wordProvider), nil, domain.VoiceCallVoicemailReceived},
		{"an answer word on a failed call answered before stays late", failedAfterAnswer, put(wordStaff), nil, wordMissed},
		{"MISSED on a completed answered call stays late", completedCall(), put(wordMissed), nil, wordStaff},
		{"INCOMING_CALL on a canceled call stays late", canceled, put(wordIncoming), nil, wordMissed},
		{"INCOMING_CALL on an in-progress call stays late", answeredCall(), put(wordIncoming), nil, wordStaff},
		{"a late Moonbase word is dropped as before", canceled, moonbaseMissed, nil, wordMissed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := domain.Decide(fold(t, tc.given), tc.when)
			require.NoError(t, err)
			assert.Equal(t, tc.then, events)
			s := fold(t, append(slices.Clone(tc.given), events...))
			assert.Equal(t, tc.shown, domain.VoiceCallStatusWord(&s.Call))
			before := fold(t, tc.given)
			assert.Equal(t, before.Call.Status, s.Call.Status, "the status stays")
		})
	}
}

// TestAWordTheCallShowsIsNothingNew holds an upsert whose status word is the
// one its surface shows for a call that has no word of that surface, with no
// move (a client writing back what it read of a call made elsewhere), to no
// event; a word the call does not show yet, or any new word of a call that
// has one, is recorded as before.
func TestAWordTheCallShowsIsNothingNew(t *testing.T) {
	completedFromLaML := append(answeredCall(), domain.CallTerminated{EndedAt: at(9), DurationSeconds: ptr(int64(8)),
		Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress})
	staleProviderWord := append(answeredCall(), domain.CallStatusChanged{Status: domain.StatusInProgress,
		PreviousStatus: domain.StatusInProgress, ProviderStatus: ptr("in-progress")},
		domain.CallTerminated{EndedAt: at(9), DurationSeconds: ptr(int64(8)),
			Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress})
	moonbase := func(word string) domain.UpsertCall {
		c := upsert(domain.UpsertUpdate)
		c.ProviderStatus = ptr(word)
		return c
	}
	voiceCall := func(word string) domain.UpsertCall { return voiceCallPut(t, word) }
	providerWord := func(s domain.Status, word string) []domain.Event {
		return []domain.Event{domain.CallStatusChanged{Status: s, PreviousStatus: s, ProviderStatus: ptr(word)}}
	}
	for _, tc := range []struct {
		name  string
		given []domain.Event
		when  domain.UpsertCall
		then  []domain.Event
	}{
		{"the canonical word Moonbase shows for a call with none", completedFromLaML, moonbase("completed"), nil},
		{"the shown word confirming a provider word gone stale is the provider's word", staleProviderWord, moonbase("completed"), providerWord(domain.StatusCompleted, "completed")},
		{"the word Moonbase shows of a ringing call", ringingCall(), moonbase("ringing"), nil},
		{"a synonym Moonbase does not show is the provider's word", completedFromLaML, moonbase("ended"), providerWord(domain.StatusCompleted, "ended")},
		{"a word the ledger does not know is the provider's word", completedFromLaML, moonbase("hung up"), providerWord(domain.StatusCompleted, "hung up")},
		{"the VoiceCall word shown for an answered call", answeredCall(), voiceCall(wordStaff), nil},
		{"the VoiceCall word shown for a completed answered call", completedFromLaML, voiceCall(wordStaff), nil},
		{"the VoiceCall word shown for a ringing call", ringingCall(), voiceCall(wordIncoming), nil},
		{"a VoiceCall synonym the call does not show", answeredCall(), voiceCall(wordProvider), voiceCallWordOnly(domain.StatusInProgress, wordProvider)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fold(t, tc.given)
			events, err := domain.Decide(before, tc.when)
			require.NoError(t, err)
			assert.Equal(t, tc.then, events)
			// Either way the surface that sent the word shows it after.
			after := fold(t, append(slices.Clone(tc.given), events...))
			if tc.when.VoiceCallStatus != nil {
				assert.Equal(t, *tc.when.VoiceCallStatus, domain.VoiceCallStatusWord(&after.Call))
			} else {
				assert.Equal(t, *tc.when.ProviderStatus, domain.MoonbaseProviderStatus(&after.Call))
			}
		})
	}
}

// voiceCallPut is a VoiceCall PUT of word: the verbatim word and the status
// it maps to, as the surface sends them.
func voiceCallPut(t *testing.T, word string) domain.UpsertCall {
	c := upsert(domain.UpsertUpdate)
	status, ok := domain.ParseVoiceCallStatus(word)
	require.True(t, ok, word)
	c.VoiceCallStatus, c.Status = ptr(word), &status
	return c
}

// voiceCallWordOnly is the event of a VoiceCall word recorded with no move
// of status s.
func voiceCallWordOnly(s domain.Status, word string) []domain.Event {
	return []domain.Event{domain.CallStatusChanged{Status: s, PreviousStatus: s, VoiceCallStatus: ptr(word)}}
}
