package domain

import "time"

// A call's times and its duration.
//
// A call's duration is its billed length in whole seconds. A surface may
// give it (VoiceCall duration; a provider's billed figure is a fact, kept
// as sent). When none does, the ledger derives it when the call ends, as
// the whole seconds from the answer (or, for a call never answered, from
// the start) to the end: derivedDuration, as terminated and
// decideTerminate compute it.
//
// Times get corrected later (a provider resends a call with another end,
// a client moves the start), and a duration derived from the old times
// would then contradict the new ones: LaML and VoiceCall would show the
// old length, and billing would sum it. So while a call's duration is
// exactly what its times give (tiedTimes), the ledger keeps the two tied:
// a command that gives no duration (Moonbase, call history and LaML have
// no duration field) and moves the start, answer or end moves the
// duration to what the new times give (followTimes). The new duration is
// recorded in the same write, in the CallTimingChanged beside the change
// of the times (or alone, when the start moved in CallUpserted), so that
// history reads as what happened and Evolve folds the value written
// rather than recomputing it.
//
// A duration that is not what the times give was given by a client and is
// never recomputed. A duration a client gives that happens to equal what
// the times give cannot be told apart from a derived one, and follows the
// times from then on: it agreed with them, as it did when it was sent.

// durationFrom returns the time a call's derived duration counts from: its
// answer, or its start if it was never answered; nil if neither is known.
func durationFrom(answered, started *time.Time) *time.Time {
	if answered != nil {
		return answered
	}
	return started
}

// derivedDuration returns the duration c's times give (the whole seconds
// from its answer, or start, to its end), nil if they give none.
func derivedDuration(c *Call) *int64 {
	if c.EndedAt == nil {
		return nil
	}
	return durationBetween(durationFrom(c.AnsweredAt, c.StartedAt), *c.EndedAt)
}

// tiedTimes reports whether c's duration is exactly what its times give.
func tiedTimes(c *Call) bool {
	d := derivedDuration(c)
	return d != nil && c.DurationSeconds != nil && *d == *c.DurationSeconds
}

// followTimes sets, in c (an upsert of the existing call) that gives no
// duration, the duration the times c moves give, when the call's times
// are tied and that duration differs from the call's. It leaves c as it is
// otherwise; and when the new times give no duration (an end before the
// answer), which the order check then refuses. c's times are in UTC
// (normalizeUpsert).
func followTimes(call *Call, c *UpsertCall) {
	if c.DurationSeconds != nil || !tiedTimes(call) {
		return
	}
	from := durationFrom(pick(c.AnsweredAt, call.AnsweredAt), pick(c.StartedAt, call.StartedAt))
	d := durationBetween(from, *pick(c.EndedAt, call.EndedAt))
	if d != nil && *d != *call.DurationSeconds {
		c.DurationSeconds = d
	}
}

// pick returns given if the command gives it, else what the call has.
func pick(given, have *time.Time) *time.Time {
	if given != nil {
		return given
	}
	return have
}
