package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// inProgressUnanswered is the history of a call put in progress without an
// answer time (a VoiceCall ANSWERED_BY_STAFF, a Moonbase in-progress
// without answered_at): its derived duration counts from its start.
func inProgressUnanswered() []domain.Event {
	return []domain.Event{created(), moved("", domain.StatusInProgress)}
}

// endedUnanswered is inProgressUnanswered ended at at(30), its duration
// derived from the start.
func endedUnanswered() []domain.Event {
	return append(inProgressUnanswered(), domain.CallTerminated{EndedAt: at(30), DurationSeconds: ptr(int64(1800)),
		Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress})
}

// TestCorrectedTimesMoveADerivedDuration holds upserts to the rule on times
// (domain/timing.go): a duration the ledger derived from the call's times
// follows a command that moves them and gives no duration, in the same
// write; a duration a client gave is kept.
func TestCorrectedTimesMoveADerivedDuration(t *testing.T) {
	times := func(started, answered, ended *time.Time, duration *int64) domain.UpsertCall {
		c := upsert(domain.UpsertCreateOrUpdate)
		c.StartedAt, c.AnsweredAt, c.EndedAt, c.DurationSeconds = started, answered, ended, duration
		return c
	}
	// The ledger hung up (TerminateCall) at now, an hour after the start.
	hungUp := append(inProgressUnanswered(), domain.CallTerminated{EndedAt: now, DurationSeconds: ptr(int64(3600)),
		Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress})
	providerDuration := append(completedCall(), domain.CallTimingChanged{DurationSeconds: ptr(int64(1800))})

	runGWT(t, []gwt{
		{name: "an earlier end moves the duration it gave", given: completedCall(), when: times(nil, nil, ptr(at(10)), nil), then: []domain.Event{
			domain.CallTimingChanged{EndedAt: ptr(at(10)), DurationSeconds: ptr(int64(540))},
		}},
		{name: "a later end moves the duration it gave", given: completedCall(), when: times(ptr(t0), ptr(at(1)), ptr(at(45)), nil), then: []domain.Event{
			domain.CallTimingChanged{EndedAt: ptr(at(45)), DurationSeconds: ptr(int64(2640))},
		}},
		{name: "a moved start of a call never answered moves its duration", given: endedUnanswered(), when: times(ptr(at(-5)), nil, nil, nil), then: []domain.Event{
			domain.CallUpserted{CallID: callID, StartedAt: ptr(at(-5))},
			domain.CallTimingChanged{DurationSeconds: ptr(int64(2100))},
		}},
		{name: "a later start of a call never answered shortens its duration", given: endedUnanswered(), when: times(ptr(at(10)), nil, nil, nil), then: []domain.Event{
			domain.CallUpserted{CallID: callID, StartedAt: ptr(at(10))},
			domain.CallTimingChanged{DurationSeconds: ptr(int64(1200))},
		}},
		{name: "a moved start of an answered call leaves the duration, which counts from the answer", given: completedCall(), when: times(ptr(at(-5)), nil, nil, nil), then: []domain.Event{
			domain.CallUpserted{CallID: callID, StartedAt: ptr(at(-5))},
		}},
		{name: "an end reported after the ledger hung up moves the duration", given: hungUp, when: times(nil, nil, ptr(at(5)), nil), then: []domain.Event{
			domain.CallTimingChanged{EndedAt: ptr(at(5)), DurationSeconds: ptr(int64(300))},
		}},
		{name: "a duration a client gave is kept when the end moves", given: providerDuration, when: times(nil, nil, ptr(at(10)), nil), then: []domain.Event{
			domain.CallTimingChanged{EndedAt: ptr(at(10))},
		}},
		{name: "a duration given with the end is the one recorded", given: completedCall(), when: times(nil, nil, ptr(at(10)), ptr(int64(600))), then: []domain.Event{
			domain.CallTimingChanged{EndedAt: ptr(at(10)), DurationSeconds: ptr(int64(600))},
		}},
		{name: "the same times change nothing", given: completedCall(), when: times(ptr(t0), ptr(at(1)), ptr(at(30)), nil), then: nil},
		{name: "an end moved before the answer is refused, not derived", given: completedCall(), when: times(nil, nil, ptr(at(0)), nil),
			code: domain.ErrInvalid, field: "ended_at"},
	})
}

// TestFollowedDurationFoldsAsDecided checks that the duration a correction
// derives is in the log, not in the fold: the state before the correction
// keeps the old one (time travel), and a fold of the whole history equals
// the state the writer decided on (DecideFold).
func TestFollowedDurationFoldsAsDecided(t *testing.T) {
	c := upsert(domain.UpsertUpdate)
	c.EndedAt = ptr(at(10))
	events, decided, err := domain.DecideFold(fold(t, completedCall()), c, now)
	require.NoError(t, err)

	before := fold(t, completedCall())
	after := fold(t, append(completedCall(), events...))
	require.NotNil(t, before.Call.DurationSeconds)
	require.NotNil(t, after.Call.DurationSeconds)
	assert.Equal(t, int64(1740), *before.Call.DurationSeconds)
	assert.Equal(t, int64(540), *after.Call.DurationSeconds)
	assert.Equal(t, after.Call.DurationSeconds, decided.Call.DurationSeconds)
	assert.Equal(t, after.Call.EndedAt, decided.Call.EndedAt)
}

// TestCompletionEndsAtItsDuration holds upserts that complete a call
// without giving its end to the rule on times (domain/timing.go): the end
// is the answer (or start) plus the duration when the duration is known,
// never the ledger's clock, whether the call is created completed or
// moved there (QA issue 2: a VoiceCall PUT stamped Now).
func TestCompletionEndsAtItsDuration(t *testing.T) {
	voiceCall := func(mode domain.UpsertMode, status string, duration int64) domain.UpsertCall {
		c := upsert(mode)
		c.VoiceCallStatus = ptr(status)
		c.DurationSeconds = ptr(duration)
		return c
	}
	created := voiceCall(domain.UpsertCreate, domain.VoiceCallVoicemailReceived, 130)
	created.Direction = ptr(domain.DirectionInbound)
	created.From, created.To = ptr(caller), ptr(callee)
	created.StartedAt = ptr(t0)
	completed := upsert(domain.UpsertUpdate)
	completed.Status = ptr(domain.StatusCompleted)
	endAt := func(d time.Duration) *time.Time { return ptr(t0.Add(d)) }

	runGWT(t, []gwt{
		{name: "VOICEMAIL_RECEIVED on an in-progress call ends it at the start plus the duration, not at Now", given: inProgressUnanswered(),
			when: voiceCall(domain.UpsertUpdate, domain.VoiceCallVoicemailReceived, 130), then: []domain.Event{
				domain.CallTerminated{EndedAt: *endAt(130 * time.Second), DurationSeconds: ptr(int64(130)), EndDerived: true, Status: domain.StatusCompleted,
					PreviousStatus: domain.StatusInProgress, VoiceCallStatus: ptr(domain.VoiceCallVoicemailReceived)},
			}},
		{name: "a call created with VOICEMAIL_RECEIVED ends as a PUT ends it", when: created, then: []domain.Event{
			domain.CallUpserted{Created: true, CallID: callID, AccountID: account, Provider: provider, ProviderID: providerID,
				Direction: ptr(domain.DirectionInbound), From: ptr(caller), To: ptr(callee), StartedAt: ptr(t0), Participants: participants()},
			domain.CallStatusChanged{Status: domain.StatusCompleted, VoiceCallStatus: ptr(domain.VoiceCallVoicemailReceived)},
			domain.CallTimingChanged{EndedAt: endAt(130 * time.Second), DurationSeconds: ptr(int64(130)), EndDerived: true},
		}},
		{name: "VOICEMAIL_RECEIVED on a ringing call ends it at the start plus the duration", given: ringingCall(),
			when: voiceCall(domain.UpsertUpdate, domain.VoiceCallVoicemailReceived, 130), then: []domain.Event{
				domain.CallStatusChanged{Status: domain.StatusCompleted, PreviousStatus: domain.StatusRinging, VoiceCallStatus: ptr(domain.VoiceCallVoicemailReceived)},
				domain.CallTimingChanged{EndedAt: endAt(130 * time.Second), DurationSeconds: ptr(int64(130)), EndDerived: true},
			}},
		{name: "MISSED sets no end: a missed call's duration says nothing of how long it rang", given: ringingCall(),
			when: voiceCall(domain.UpsertUpdate, domain.VoiceCallMissed, 130), then: []domain.Event{
				domain.CallStatusChanged{Status: domain.StatusNoAnswer, PreviousStatus: domain.StatusRinging, VoiceCallStatus: ptr(domain.VoiceCallMissed)},
				domain.CallTimingChanged{DurationSeconds: ptr(int64(130))},
			}},
		{name: "completed ends at the answer plus a duration recorded before", given: append(answeredCall(), domain.CallTimingChanged{DurationSeconds: ptr(int64(20))}),
			when: completed, then: []domain.Event{
				domain.CallTerminated{EndedAt: at(1).Add(20 * time.Second), DurationSeconds: ptr(int64(20)), EndDerived: true, Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress},
			}},
		{name: "completed with no duration known ends an answered call at Now, the duration derived", given: answeredCall(), when: completed, then: []domain.Event{
			domain.CallTerminated{EndedAt: now, DurationSeconds: ptr(int64(3540)), Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress},
		}},
		{name: "completed before an answer with no duration known sets no end", given: ringingCall(), when: completed, then: []domain.Event{
			moved(domain.StatusRinging, domain.StatusCompleted),
		}},
	})
}

// TestACompletedCallsEndGivesItsDuration holds a call completed without an
// answer (a voicemail, a provider's "completed" with no answered_at) to the
// rule on times: when its end is given, with the status or later, and no
// duration is known, the duration is the whole seconds from its start to
// the end, in the event that records the end, as for a call terminated in
// progress. A call that ends otherwise (no-answer, canceled) gets none.
func TestACompletedCallsEndGivesItsDuration(t *testing.T) {
	withTimes := func(mode domain.UpsertMode, status *domain.Status, ended *time.Time, duration *int64) domain.UpsertCall {
		c := upsert(mode)
		c.Status, c.EndedAt, c.DurationSeconds = status, ended, duration
		return c
	}
	createdCompleted := withTimes(domain.UpsertCreate, ptr(domain.StatusCompleted), ptr(at(1).Add(30*time.Second)), nil)
	createdCompleted.Direction = ptr(domain.DirectionInbound)
	createdCompleted.From, createdCompleted.To = ptr(caller), ptr(callee)
	createdCompleted.StartedAt = ptr(t0)
	completedUnended := append(ringingCall(), moved(domain.StatusRinging, domain.StatusCompleted))
	noAnswer := append(ringingCall(), moved(domain.StatusRinging, domain.StatusNoAnswer))

	runGWT(t, []gwt{
		{name: "a call created completed with its start and end and no answer", when: createdCompleted, then: []domain.Event{
			domain.CallUpserted{Created: true, CallID: callID, AccountID: account, Provider: provider, ProviderID: providerID,
				Direction: ptr(domain.DirectionInbound), From: ptr(caller), To: ptr(callee), StartedAt: ptr(t0), Participants: participants()},
			domain.CallStatusChanged{Status: domain.StatusCompleted},
			domain.CallTimingChanged{EndedAt: ptr(at(1).Add(30 * time.Second)), DurationSeconds: ptr(int64(90))},
		}},
		{name: "a ringing call completed with its end", given: ringingCall(), when: withTimes(domain.UpsertUpdate, ptr(domain.StatusCompleted), ptr(at(2)), nil), then: []domain.Event{
			moved(domain.StatusRinging, domain.StatusCompleted),
			domain.CallTimingChanged{EndedAt: ptr(at(2)), DurationSeconds: ptr(int64(120))},
		}},
		{name: "the end of a call completed before it came", given: completedUnended, when: withTimes(domain.UpsertUpdate, nil, ptr(at(3)), nil), then: []domain.Event{
			domain.CallTimingChanged{EndedAt: ptr(at(3)), DurationSeconds: ptr(int64(180))},
		}},
		{name: "a fraction of a second left over is dropped", given: completedUnended, when: withTimes(domain.UpsertUpdate, nil, ptr(at(3).Add(999*time.Millisecond)), nil), then: []domain.Event{
			domain.CallTimingChanged{EndedAt: ptr(at(3).Add(999 * time.Millisecond)), DurationSeconds: ptr(int64(180))},
		}},
		{name: "a duration given with the end is the one recorded", given: completedUnended, when: withTimes(domain.UpsertUpdate, nil, ptr(at(3)), ptr(int64(60))), then: []domain.Event{
			domain.CallTimingChanged{EndedAt: ptr(at(3)), DurationSeconds: ptr(int64(60))},
		}},
		{name: "a duration recorded before is kept", given: append(completedUnended, domain.CallTimingChanged{DurationSeconds: ptr(int64(45))}),
			when: withTimes(domain.UpsertUpdate, nil, ptr(at(3)), nil), then: []domain.Event{
				domain.CallTimingChanged{EndedAt: ptr(at(3))},
			}},
		{name: "a call that was not answered gets no duration from its end", given: noAnswer, when: withTimes(domain.UpsertUpdate, nil, ptr(at(3)), nil), then: []domain.Event{
			domain.CallTimingChanged{EndedAt: ptr(at(3))},
		}},
	})
}

// updateStartAndDuration is an update that gives the call's start and
// duration and nothing else, as a VoiceCall PUT correcting them does.
func updateStartAndDuration(started *time.Time, duration int64) domain.UpsertCall {
	c := upsert(domain.UpsertUpdate)
	c.StartedAt, c.DurationSeconds = started, ptr(duration)
	return c
}

// TestAGivenDurationMovesTheEndItSet holds a command that gives a duration
// and no end (VoiceCall) to the rule on times: an end that is the start
// (or answer) plus the duration follows a moved start and a new duration,
// so a VoiceCall PUT can correct startedAt past the end its status set.
func TestAGivenDurationMovesTheEndItSet(t *testing.T) {
	ended := func(end time.Time, duration int64) []domain.Event {
		return append(inProgressUnanswered(), domain.CallTerminated{EndedAt: end, DurationSeconds: ptr(duration),
			Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress})
	}
	notTied := append(completedCall(), domain.CallTimingChanged{DurationSeconds: ptr(int64(1800))})
	endOnly := []domain.Event{created(), moved("", domain.StatusCompleted), domain.CallTimingChanged{EndedAt: ptr(at(30))}}
	half := 500 * time.Millisecond

	runGWT(t, []gwt{
		{name: "a start moved an hour later moves the end", given: ended(t0.Add(130*time.Second), 130), when: updateStartAndDuration(ptr(at(60)), 130), then: []domain.Event{
			domain.CallUpserted{CallID: callID, StartedAt: ptr(at(60))},
			domain.CallTimingChanged{EndedAt: ptr(at(60).Add(130 * time.Second)), EndDerived: true},
		}},
		{name: "a new duration moves the end", given: ended(t0.Add(130*time.Second), 130), when: updateStartAndDuration(nil, 150), then: []domain.Event{
			domain.CallTimingChanged{EndedAt: ptr(t0.Add(150 * time.Second)), DurationSeconds: ptr(int64(150)), EndDerived: true},
		}},
		{name: "the end keeps its fraction of a second", given: ended(t0.Add(130*time.Second+half), 130), when: updateStartAndDuration(ptr(at(10)), 130), then: []domain.Event{
			domain.CallUpserted{CallID: callID, StartedAt: ptr(at(10))},
			domain.CallTimingChanged{EndedAt: ptr(at(10).Add(130*time.Second + half)), EndDerived: true},
		}},
		{name: "the same start and duration change nothing", given: ended(t0.Add(130*time.Second), 130), when: updateStartAndDuration(ptr(t0), 130), then: nil},
		{name: "an end the duration does not match stays", given: notTied, when: updateStartAndDuration(ptr(at(-5)), 1800), then: []domain.Event{
			domain.CallUpserted{CallID: callID, StartedAt: ptr(at(-5))},
		}},
		{name: "a start moved past an end that does not follow is refused, naming the start sent", given: endOnly, when: updateStartAndDuration(ptr(at(40)), 100),
			code: domain.ErrInvalid, field: "started_at"},
		{name: "a duration too long for any stored end is refused", given: ended(t0.Add(130*time.Second), 130),
			when: updateStartAndDuration(nil, 1<<62), code: domain.ErrInvalid, field: "duration_seconds"},
	})
}

// TestDerivedDurationsAreExact holds the duration the ledger derives from a
// call's times to whole seconds counted on Unix seconds (QA: a span over
// 292 years, the most a time.Duration holds, was capped at 9223372036
// seconds), for every span of storable times (years 0 to 9999).
func TestDerivedDurationsAreExact(t *testing.T) {
	day := func(year int) time.Time { return time.Date(year, 2, 17, 15, 0, 0, 0, time.UTC) }
	first, last := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	for _, r := range []struct {
		name               string
		start, answer, end time.Time
		want               int64
	}{
		{"AThousandYearsFromTheAnswer", day(1025), day(1025).Add(5 * time.Second), day(2025).Add(30 * time.Minute), 31556996995},
		{"JustOver292Years", day(1700), day(1700), day(1993), 9246182400},
		{"EveryStorableTime", first, first, last, 315569519999},
		{"AFractionLeftOverIsDropped", t0, t0.Add(700 * time.Millisecond), t0.Add(2300 * time.Millisecond), 1},
		{"WholeSecondsApartKeepTheirFraction", t0, t0.Add(700 * time.Millisecond), t0.Add(2700 * time.Millisecond), 2},
		{"LessThanASecond", t0, t0, t0.Add(999 * time.Millisecond), 0},
	} {
		t.Run(r.name, func(t *testing.T) {
			c := seed000() // a call reported over, answered
			c.StartedAt, c.AnsweredAt, c.EndedAt = ptr(r.start), ptr(r.answer), ptr(r.end)
			_, st, err := domain.DecideFold(domain.State{}, c, now)
			require.NoError(t, err)
			require.NotNil(t, st.Call.DurationSeconds)
			assert.Equal(t, r.want, *st.Call.DurationSeconds)
		})
	}
}

// TestDurationsTheLedgerCannotEndAreRefused: a duration given must be one
// the ledger can turn into an end (the answer, or start, plus the duration
// is a storable time), whether or not the call is over yet, so that a
// completion never silently leaves the call without an end (QA: a
// VOICEMAIL_RECEIVED call got an end for 9223372037 seconds but none for
// 3e11). The longest duration that ends by 9999-12-31T23:59:59Z is taken.
func TestDurationsTheLedgerCannotEndAreRefused(t *testing.T) {
	last := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	longest := last.Unix() - t0.Unix()
	voicemail := func(duration int64) domain.UpsertCall {
		c := upsert(domain.UpsertUpdate)
		c.VoiceCallStatus, c.DurationSeconds = ptr(domain.VoiceCallVoicemailReceived), ptr(duration)
		return c
	}
	answeredThen := func(duration int64) domain.UpsertCall {
		c := upsert(domain.UpsertUpdate)
		c.DurationSeconds = ptr(duration)
		return c
	}
	terminate := func(duration int64) domain.TerminateCall {
		return domain.TerminateCall{CallID: callID, AccountID: account, Now: now, DurationSeconds: ptr(duration)}
	}
	runGWT(t, []gwt{
		{name: "the longest duration that ends in year 9999 ends the call there", given: ringingCall(), when: voicemail(longest),
			then: []domain.Event{
				domain.CallStatusChanged{Status: domain.StatusCompleted, PreviousStatus: domain.StatusRinging, VoiceCallStatus: ptr(domain.VoiceCallVoicemailReceived)},
				domain.CallTimingChanged{EndedAt: &last, DurationSeconds: ptr(longest), EndDerived: true},
			}},
		{name: "a second more is refused", given: ringingCall(), when: voicemail(longest + 1),
			code: domain.ErrInvalid, field: "duration_seconds"},
		{name: "3e11 seconds, below the bound, from 2025 is refused", given: ringingCall(), when: voicemail(300_000_000_000),
			code: domain.ErrInvalid, field: "duration_seconds"},
		{name: "past time.Duration's 292 years is taken, and ends the call", given: ringingCall(), when: voicemail(9223372037),
			then: []domain.Event{
				domain.CallStatusChanged{Status: domain.StatusCompleted, PreviousStatus: domain.StatusRinging, VoiceCallStatus: ptr(domain.VoiceCallVoicemailReceived)},
				domain.CallTimingChanged{EndedAt: ptr(time.Unix(t0.Unix()+9223372037, 0).UTC()), DurationSeconds: ptr(int64(9223372037)), EndDerived: true},
			}},
		{name: "over the bound is refused", given: ringingCall(), when: voicemail(400_000_000_001),
			code: domain.ErrInvalid, field: "duration_seconds"},
		{name: "on a call not over, the answer plus the duration must be storable", given: answeredCall(),
			when: answeredThen(last.Unix() - at(1).Unix() + 1), code: domain.ErrInvalid, field: "duration_seconds"},
		{name: "on a call not over, one that ends in year 9999 is kept", given: answeredCall(),
			when: answeredThen(last.Unix() - at(1).Unix()), then: []domain.Event{
				domain.CallTimingChanged{DurationSeconds: ptr(last.Unix() - at(1).Unix())},
			}},
		{name: "a hang-up's duration over the bound is refused", given: answeredCall(), when: terminate(400_000_000_001),
			code: domain.ErrInvalid, field: "duration_seconds"},
	})
}

// TestMovedTimesKeepTheStoredDurationEndable: a command that moves the
// time a call's duration counts from (its answer, or its start if never
// answered) is checked against the duration as it will stand, the stored
// one when it gives none, as a duration given is: otherwise a later
// completion without an end finds no end to give the call (QA: a VoiceCall
// started in the year 1 with a duration of 3e11 seconds, ending in 9507,
// then a Moonbase start_at of 2025 with "completed" and no end_at left the
// call completed with no end). Moonbase sends no duration, so the error
// names the time it sent.
func TestMovedTimesKeepTheStoredDurationEndable(t *testing.T) {
	yearOne := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	const long = int64(300_000_000_000) // from the year 1, it ends in 9507
	// longCall is a ringing call started in the year 1 whose duration
	// VoiceCall gave: no end yet.
	longCall := func() []domain.Event {
		c := created()
		c.StartedAt = ptr(yearOne)
		return []domain.Event{c, moved("", domain.StatusRinging), domain.CallTimingChanged{DurationSeconds: ptr(long)}}
	}
	// answeredLong is longCall answered an hour after its start.
	answeredLong := append(longCall(), domain.CallAnswered{AnsweredAt: yearOne.Add(time.Hour), PreviousStatus: domain.StatusRinging})
	moonbase := func(started, answered *time.Time, status *domain.Status) domain.UpsertCall {
		c := upsert(domain.UpsertUpdate)
		c.StartedAt, c.AnsweredAt, c.Status = started, answered, status
		return c
	}
	answer := func(answered time.Time) domain.AnswerCall {
		return domain.AnswerCall{CallID: callID, AccountID: account, Now: now, AnsweredAt: &answered}
	}
	runGWT(t, []gwt{
		{name: "a start moved to 2025 with completed and no end is refused, naming the start", given: longCall(),
			when: moonbase(ptr(t0), nil, ptr(domain.StatusCompleted)), code: domain.ErrInvalid, field: "started_at"},
		{name: "a start moved to 2025 alone is refused, naming the start", given: longCall(),
			when: moonbase(ptr(t0), nil, nil), code: domain.ErrInvalid, field: "started_at"},
		{name: "an answer given in 2025 is refused, naming the answer", given: longCall(),
			when: moonbase(nil, ptr(t0), nil), code: domain.ErrInvalid, field: "answered_at"},
		{name: "an answer moved to 2025 is refused, naming the answer", given: answeredLong,
			when: moonbase(nil, ptr(t0), nil), code: domain.ErrInvalid, field: "answered_at"},
		{name: "AnswerCall in 2025 is refused, naming the answer", given: longCall(),
			when: answer(t0), code: domain.ErrInvalid, field: "answered_at"},
		{name: "AnswerCall that leaves the sum storable is taken", given: longCall(),
			when: answer(yearOne.Add(time.Hour)), then: []domain.Event{
				domain.CallAnswered{AnsweredAt: yearOne.Add(time.Hour), PreviousStatus: domain.StatusRinging},
			}},
		{name: "a start moved with the duration given, the sum past 9999, is refused naming the duration", given: longCall(),
			when: updateStartAndDuration(ptr(t0), long), code: domain.ErrInvalid, field: "duration_seconds"},
		{name: "a start moved to the year 1 with the duration given, the sum storable, is taken", given: ringingCall(),
			when: updateStartAndDuration(ptr(yearOne), long), then: []domain.Event{
				domain.CallUpserted{CallID: callID, StartedAt: ptr(yearOne)},
				domain.CallTimingChanged{DurationSeconds: ptr(long)},
			}},
		{name: "a start moved on an answered call is taken: the duration counts from the answer", given: answeredLong,
			when: moonbase(ptr(yearOne.Add(30*time.Minute)), nil, nil), then: []domain.Event{
				domain.CallUpserted{CallID: callID, StartedAt: ptr(yearOne.Add(30 * time.Minute))},
			}},
		{name: "a start moved within the bound is taken", given: longCall(),
			when: moonbase(ptr(yearOne.Add(time.Hour)), nil, nil), then: []domain.Event{
				domain.CallUpserted{CallID: callID, StartedAt: ptr(yearOne.Add(time.Hour))},
			}},
	})
}

// TestTheDerivedSideOfTheTieFollows holds an upsert that moves a call's
// start or answer and gives neither end nor duration to the rule on times
// (domain/timing.go): an end the ledger derived from the duration
// (end_derived) moves with the start or answer and the duration stays; a
// reported end stays and the duration moves. QA: a VoiceCall of 100
// seconds, its end derived, billed a day after Moonbase moved its start a
// day earlier.
func TestTheDerivedSideOfTheTieFollows(t *testing.T) {
	const dur = 100 * time.Second
	day := -24 * time.Hour
	// derivedEnd is a call created completed with a duration of 100 and no
	// end (a VoiceCall POST of VOICEMAIL_RECEIVED): its end is the start
	// plus the duration, derived.
	derivedEnd := func() []domain.Event {
		return []domain.Event{created(), moved("", domain.StatusCompleted),
			domain.CallTimingChanged{EndedAt: ptr(t0.Add(dur)), DurationSeconds: ptr(int64(100)), EndDerived: true}}
	}
	// answeredDerivedEnd is an answered call ended at the answer plus a
	// duration of 100, derived.
	answeredDerivedEnd := append(answeredCall(), domain.CallTerminated{EndedAt: at(1).Add(dur), DurationSeconds: ptr(int64(100)),
		EndDerived: true, Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress})
	// reportedAgain is derivedEnd whose end a provider then reported: the
	// same instant, written without end_derived.
	reportedAgain := append(derivedEnd(), domain.CallTimingChanged{EndedAt: ptr(t0.Add(dur))})
	// beforeTheMark is derivedEnd as builds before end_derived wrote it.
	beforeTheMark := []domain.Event{created(), moved("", domain.StatusCompleted),
		domain.CallTimingChanged{EndedAt: ptr(t0.Add(dur)), DurationSeconds: ptr(int64(100))}}
	// inProgressDerivedEnd is an in-progress call that holds a derived end.
	inProgressDerivedEnd := append(inProgressUnanswered(),
		domain.CallTimingChanged{EndedAt: ptr(t0.Add(dur)), DurationSeconds: ptr(int64(100)), EndDerived: true})

	times := func(started, answered, ended *time.Time) domain.UpsertCall {
		c := upsert(domain.UpsertCreateOrUpdate)
		c.StartedAt, c.AnsweredAt, c.EndedAt = started, answered, ended
		return c
	}
	completes := times(ptr(at(10)), nil, nil)
	completes.Status = ptr(domain.StatusCompleted)

	runGWT(t, []gwt{
		{name: "a start moved a day earlier moves a derived end and keeps the duration", given: derivedEnd(),
			when: times(ptr(t0.Add(day)), nil, nil), then: []domain.Event{
				domain.CallUpserted{CallID: callID, StartedAt: ptr(t0.Add(day))},
				domain.CallTimingChanged{EndedAt: ptr(t0.Add(day + dur)), EndDerived: true},
			}},
		{name: "a start moved past a derived end moves it, not refused", given: derivedEnd(),
			when: times(ptr(at(10)), nil, nil), then: []domain.Event{
				domain.CallUpserted{CallID: callID, StartedAt: ptr(at(10))},
				domain.CallTimingChanged{EndedAt: ptr(at(10).Add(dur)), EndDerived: true},
			}},
		{name: "a moved answer moves a derived end and keeps the duration", given: answeredDerivedEnd,
			when: times(nil, ptr(at(2)), nil), then: []domain.Event{
				domain.CallTimingChanged{AnsweredAt: ptr(at(2)), EndedAt: ptr(at(2).Add(dur)), EndDerived: true},
			}},
		{name: "the same start changes nothing", given: derivedEnd(), when: times(ptr(t0), nil, nil), then: nil},
		{name: "a start moved a day earlier keeps a reported end and moves the duration", given: endedUnanswered(),
			when: times(ptr(t0.Add(day)), nil, nil), then: []domain.Event{
				domain.CallUpserted{CallID: callID, StartedAt: ptr(t0.Add(day))},
				domain.CallTimingChanged{DurationSeconds: ptr(int64(86400 + 1800))},
			}},
		{name: "an end given replaces a derived one, reported, and the duration follows it", given: derivedEnd(),
			when: times(nil, nil, ptr(at(5))), then: []domain.Event{
				domain.CallTimingChanged{EndedAt: ptr(at(5)), DurationSeconds: ptr(int64(300))},
			}},
		{name: "an end given equal to the derived end is written again, reported", given: derivedEnd(),
			when: times(nil, nil, ptr(t0.Add(dur))), then: []domain.Event{
				domain.CallTimingChanged{EndedAt: ptr(t0.Add(dur))},
			}},
		{name: "an end reported again keeps its place when the start moves, and the duration follows", given: reportedAgain,
			when: times(ptr(t0.Add(day)), nil, nil), then: []domain.Event{
				domain.CallUpserted{CallID: callID, StartedAt: ptr(t0.Add(day))},
				domain.CallTimingChanged{DurationSeconds: ptr(int64(86400 + 100))},
			}},
		{name: "an end written before end_derived existed folds as reported, as it always did", given: beforeTheMark,
			when: times(ptr(t0.Add(day)), nil, nil), then: []domain.Event{
				domain.CallUpserted{CallID: callID, StartedAt: ptr(t0.Add(day))},
				domain.CallTimingChanged{DurationSeconds: ptr(int64(86400 + 100))},
			}},
		{name: "a completion that moves the start ends the call at the derived end it moved", given: inProgressDerivedEnd,
			when: completes, then: []domain.Event{
				domain.CallUpserted{CallID: callID, StartedAt: ptr(at(10))},
				domain.CallTerminated{EndedAt: at(10).Add(dur), DurationSeconds: ptr(int64(100)), EndDerived: true,
					Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress},
			}},
	})
}

// TestADerivedEndFoldsAsDecided checks that the end a moved start moves,
// and its mark, are in the log: a fold of the history with the decided
// events equals the state the writer decided on (DecideFold).
func TestADerivedEndFoldsAsDecided(t *testing.T) {
	given := []domain.Event{created(), moved("", domain.StatusCompleted),
		domain.CallTimingChanged{EndedAt: ptr(t0.Add(100 * time.Second)), DurationSeconds: ptr(int64(100)), EndDerived: true}}
	c := upsert(domain.UpsertUpdate)
	c.StartedAt = ptr(t0.Add(-24 * time.Hour))
	events, decided, err := domain.DecideFold(fold(t, given), c, now)
	require.NoError(t, err)
	after := fold(t, append(given, events...))
	assert.True(t, decided.Call.EndFromDuration)
	assert.Equal(t, after.Call.EndFromDuration, decided.Call.EndFromDuration)
	assert.Equal(t, after.Call.EndedAt, decided.Call.EndedAt)
	assert.Equal(t, ptr(t0.Add(-24*time.Hour+100*time.Second)), after.Call.EndedAt)
	assert.Equal(t, int64(100), *after.Call.DurationSeconds)
}
