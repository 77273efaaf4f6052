package domain

import "time"

// shownPrecision is the precision every JSON surface writes times in: the
// ledger keeps the nanoseconds a client sent, and shows milliseconds.
const shownPrecision = time.Millisecond

// echoesTime reports whether given is stored as a surface shows it: the same
// instant with the digits beyond the millisecond dropped, as a client that
// sends back what it read sends it. A time equal to stored is not an echo:
// it is the same time.
func echoesTime(given, stored time.Time) bool {
	if given.Nanosecond()%int(shownPrecision) != 0 {
		return false // the client's own digits beyond the millisecond
	}
	extra := time.Duration(stored.Nanosecond() % int(shownPrecision))
	return extra != 0 && given.Equal(stored.Add(-extra))
}

// sameOrEchoed reports whether given names the time stored: it equals it, or
// echoes it as a surface shows it (echoesTime). Either is nil only if both
// are.
func sameOrEchoed(given, stored *time.Time) bool {
	if given == nil || stored == nil {
		return given == stored
	}
	return given.Equal(*stored) || echoesTime(*given, *stored)
}

// adoptEchoedTimes replaces each time c gives that echoes the call's own (a
// start, answer or end the client sent back as a surface showed it, to the
// millisecond) with the call's own: a VoiceCall PUT of what its GET
// answered, or a Moonbase upsert that repeats start_at, does not move a
// time that was given finer than the surfaces show, nor append an event
// for it. A time that differs by a millisecond or more, or that has digits
// of its own beyond the millisecond, is the client's, and moves the call's.
func adoptEchoedTimes(call *Call, c *UpsertCall) {
	adopt := func(given **time.Time, stored *time.Time) {
		if *given != nil && stored != nil && echoesTime(**given, *stored) {
			*given = clonePtr(stored)
		}
	}
	adopt(&c.StartedAt, call.StartedAt)
	adopt(&c.AnsweredAt, call.AnsweredAt)
	adopt(&c.EndedAt, call.EndedAt)
}
