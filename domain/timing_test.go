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
