package domain

import "time"

// ShownPrecision is the precision every JSON surface writes times in (the
// API's FormatTime): the ledger keeps the nanoseconds a client sent, and
// shows milliseconds. The API reads its clock to it, and a time sent back
// cut to it is an echo (adoptEchoedTimes).
const ShownPrecision = time.Millisecond

// echoesTime reports whether given is stored as a surface shows it: the same
// instant with the digits beyond the millisecond dropped, as a client that
// sends back what it read sends it. A time equal to stored is not an echo:
// it is the same time.
func echoesTime(given, stored time.Time) bool {
	if given.Nanosecond()%int(ShownPrecision) != 0 {
		return false // the client's own digits beyond the millisecond
	}
	extra := time.Duration(stored.Nanosecond() % int(ShownPrecision))
	return extra != 0 && given.Equal(stored.Add(-extra))
}

// adoptEchoedTimes replaces each time c gives that echoes the call's own (a
// start, answer, end or CRM sync date the client sent back as a surface
// showed it, to the millisecond) with the call's own: a VoiceCall PUT of
// what its GET answered, a Moonbase upsert that repeats start_at or a
// call-history PATCH that repeats syncedWithCrmDate does not move a time
// that was given finer than the surfaces show, nor append an event for it.
// A time that differs by a millisecond or more, or that has digits of its
// own beyond the millisecond, is the client's, and moves the call's.
func adoptEchoedTimes(call *Call, c *UpsertCall) {
	adopt := func(given **time.Time, stored *time.Time) {
		if *given != nil && stored != nil && echoesTime(**given, *stored) {
			*given = clonePtr(stored)
		}
	}
	adopt(&c.StartedAt, call.StartedAt)
	adopt(&c.AnsweredAt, call.AnsweredAt)
	adopt(&c.EndedAt, call.EndedAt)
	adopt(&c.Details.SyncedWithCRMAt, call.Details.SyncedWithCRMAt)
}
