package domain

import "time"

// A call's times and its duration.
//
// A call's duration is its billed length in whole seconds. A surface may
// give it (VoiceCall duration; a provider's billed figure is a fact, kept
// as sent). When none does, the ledger derives it when the call ends, as
// the whole seconds from the answer (or, for a call never answered, from
// the start) to the end: endingDuration, which terminated and
// decideTerminate both call; tiedTimes and followTimes count it from the
// times a call has (secondsBetween).
//
// Times get corrected later (a provider resends a call with another end,
// a client moves the start), and a duration derived from the old times
// would then contradict the new ones: LaML and VoiceCall would show the
// old length, and billing would sum it. So while a call's duration is
// exactly what its times give (tiedTimes), the ledger keeps the two tied.
// An upsert that moves one side and does not give the other moves the
// other with it (followTimes):
//
//   - a command that gives an end and no duration (Moonbase, call history
//     and LaML have no duration field) moves the duration to what the new
//     times give;
//   - a command that gives a duration but no end (VoiceCall has no end
//     field) and moves the start or answer, or changes the duration,
//     moves the end to the new start (or answer) plus the duration,
//     keeping the fraction of a second the end had past the whole
//     seconds. Without it, a VoiceCall PUT that moves startedAt past the
//     end its status set would be refused for an end the client cannot
//     see, let alone send;
//   - a command that gives neither and moves the start or answer moves
//     the side of the tie that was derived from the other, and keeps the
//     side someone reported. Tied times alone cannot tell which that is:
//     a call whose end a provider reported and whose duration the ledger
//     derived has the same times as one whose duration VoiceCall gave and
//     whose end the ledger derived (completionEnd). So the ledger records
//     which (Call.EndFromDuration, end_derived in the event that writes
//     the end). An end derived from the duration moves with the start
//     (or answer), as above, and the duration stays: the provider's
//     100-second call stays 100 seconds when Moonbase moves its start a
//     day earlier, rather than billing a day. A reported end stays, and
//     the duration moves to what the new times give.
//
// An end is derived (end_derived) when the ledger computes it from the
// duration: completionEnd, and followTimes moving the end. Any end written
// without end_derived is reported, clearing the mark: an end a command
// gives (even one equal to the derived end, which then is written again,
// only to say so), and the ledger's clock at a hang-up or at a completion
// with no duration known. Evolve folds what the events say, so time travel
// and a rebuild agree with the writer. Events written before end_derived
// existed carry none: their ends fold as reported, and their calls follow
// the times as they always did.
//
// What follows is recorded in the same write, in the CallTimingChanged
// beside the change (or alone, when the start moved in a CallUpserted),
// or in the CallTerminated that ends the call, so that history reads as
// what happened and Evolve folds the value written rather than
// recomputing it.
//
// A duration that is not what the times give was given by a client and is
// never recomputed, nor is an end moved to match it. A duration a client
// gives that happens to equal what the times give cannot be told apart
// from a derived one, and follows the times from then on: it agreed with
// them, as it did when it was sent.
//
// An upsert that completes a call without giving its end sets the end by
// the same relation (completionEnd): the answer (or start) plus the
// duration, when the duration is known (given, or recorded before). An
// upsert reports an end rather than making one, so a late report, or a
// VoiceCall status word (VoiceCall has no end field), never stamps the
// ledger's clock on a call that ended long ago; and a VoiceCall POST and
// PUT of the same status give the same end. Only an in-progress call
// completed with no duration known ends at the command's Now (a provider
// reporting "completed" as it happens); one completed before an answer
// then keeps no end, as before. A LaML hang-up (TerminateCall) is the
// ledger's own act, and ends the call at Now.

// durationFrom returns the time a call's derived duration counts from: its
// answer, or its start if it was never answered; nil if neither is known.
func durationFrom(answered, started *time.Time) *time.Time {
	if answered != nil {
		return answered
	}
	return started
}

// endingDuration returns the duration of a call that ends at end: the one
// the command gives, else the one the call has (a provider's billed
// duration outranks the ledger's clock), else the whole seconds from from
// (durationFrom: its answer, or start) to end; nil if from is unknown or
// after end. It returns a copy: the caller keeps it in an event.
func endingDuration(given, have *int64, from *time.Time, end time.Time) *int64 {
	if d := pick(given, have); d != nil {
		return clonePtr(d)
	}
	return durationBetween(from, end)
}

// tiedTimes reports whether c's duration is exactly what its times give
// (the whole seconds from its answer, or start, to its end).
func tiedTimes(c *Call) bool {
	from := durationFrom(c.AnsweredAt, c.StartedAt)
	if from == nil || c.EndedAt == nil || c.DurationSeconds == nil {
		return false
	}
	seconds, ok := secondsBetween(*from, *c.EndedAt)
	return ok && seconds == *c.DurationSeconds
}

// durationBetween is secondsBetween for a call's times, as a duration an
// event keeps: nil if a is unknown or after b.
func durationBetween(a *time.Time, b time.Time) *int64 {
	if a == nil {
		return nil
	}
	seconds, ok := secondsBetween(*a, b)
	if !ok {
		return nil
	}
	return int64Ptr(seconds)
}

// secondsBetween is the whole seconds from a to b (the fraction of a
// second left over dropped), false if a is after b. It counts on Unix
// seconds, as addSeconds adds them: b.Sub(a) is a time.Duration, which
// holds no more than 292 years and would cap a longer span at 9223372036
// seconds, while stored times span 10,000 years. The result is exact for
// any two times, and at most secondsSpanMax for two storable ones.
func secondsBetween(a, b time.Time) (int64, bool) {
	if b.Before(a) {
		return 0, false
	}
	seconds := b.Unix() - a.Unix()
	if b.Nanosecond() < a.Nanosecond() {
		seconds-- // the last second began but did not end
	}
	return seconds, true
}

// secondsSpanMax bounds the seconds added to a time, and a duration any
// command may give (checkDurationSeconds): more than the 10,000 years
// stored times span (year 0 to 9999), so every span between two storable
// times is below it, and far from int64 overflow when added to Unix
// seconds.
const secondsSpanMax = 400_000_000_000

// addSeconds returns t plus d whole seconds, and false if that is no time a
// stored event can hold (past year 9999). The sum is taken on Unix seconds:
// a time.Duration holds no more than 292 years, and a client's duration
// may be any int64.
func addSeconds(t time.Time, d int64) (time.Time, bool) {
	if d < -secondsSpanMax || d > secondsSpanMax {
		return time.Time{}, false
	}
	sum := time.Unix(t.Unix()+d, int64(t.Nanosecond())).UTC()
	if y := sum.Year(); y < 0 || y > 9999 {
		return time.Time{}, false
	}
	return sum, true
}

// followTimes fills in c, an upsert of call, what follows the times or
// duration c moves while the call's times are tied (see the rule above),
// and reports whether it filled in an end (derived from the duration, so
// recorded with end_derived; true only with c.EndedAt set):
//
//   - c gives an end and no duration: the duration;
//   - c gives neither, and the call's end was derived from its duration
//     (EndFromDuration): the end, so that the duration stays;
//   - c gives neither, and the call's end was reported: the duration;
//   - c gives a duration and no end: the end.
//
// It leaves c as it is when the call's times are not tied (a call that
// does not exist yet has no end, so never is), when what follows does not
// change, and when the new times give no duration (an end before the
// answer: the order check then refuses c) or the new end is no storable
// time. c's times are in UTC (normalizeUpsert).
func followTimes(call *Call, c *UpsertCall) (endDerived bool) {
	if !tiedTimes(call) {
		return false
	}
	// Tied, the call has an answer or start, so from is never nil.
	from := durationFrom(pick(c.AnsweredAt, call.AnsweredAt), pick(c.StartedAt, call.StartedAt))
	switch {
	case c.DurationSeconds == nil && (c.EndedAt != nil || !call.EndFromDuration):
		d, ok := secondsBetween(*from, *pick(c.EndedAt, call.EndedAt))
		if ok && d != *call.DurationSeconds {
			c.DurationSeconds = int64Ptr(d)
		}
	case c.EndedAt == nil:
		duration := pick(c.DurationSeconds, call.DurationSeconds)
		// Tied, the end lies less than a second past from + duration.
		oldWhole, ok := addSeconds(*durationFrom(call.AnsweredAt, call.StartedAt), *call.DurationSeconds)
		if !ok {
			return false
		}
		whole, ok := addSeconds(*from, *duration)
		if !ok {
			return false
		}
		end := whole.Add(call.EndedAt.Sub(oldWhole))
		if end.Year() <= 9999 && !end.Equal(*call.EndedAt) {
			c.EndedAt = &end
			return true
		}
	}
	return false
}

// completionEnd is the end of a call an upsert completes without giving
// one: from (its answer, or start) plus its duration; false when either is
// unknown or the sum is no storable time.
func completionEnd(from *time.Time, duration *int64) (time.Time, bool) {
	if from == nil || duration == nil {
		return time.Time{}, false
	}
	return addSeconds(*from, *duration)
}

// pick returns given if the command gives it, else what the call has: a
// time, or a duration. It returns the pointer itself, not a copy: a caller
// that keeps it in an event clones it (clonePtr).
func pick[T any](given, have *T) *T {
	if given != nil {
		return given
	}
	return have
}
