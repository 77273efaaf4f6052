package domain

import "time"

// lifecycle emits the events of an upsert's status change.
//
// The target status is the command's Status; without one, the status its
// VoiceCallStatus or ProviderStatus maps to; without one either, what the
// times say (ended and answered, or ended in progress: completed;
// answered: in-progress; ended, never answered, and not yet in progress:
// no-answer). A call that has no status and gets none starts queued.
//
// A status that says the call goes on (queued, ringing, in-progress) with
// an end that says it is over is refused (checkLiveEnd).
//
// A legal move (Status.CanMoveTo) becomes:
//   - to in-progress with an answer time: CallAnswered;
//   - to completed from in-progress: CallTerminated (ended_at, duration;
//     see terminated for the end a command does not give);
//   - to completed from before the answer, with an answer time: CallAnswered
//     then CallTerminated (a new call reported already over reads so);
//   - to canceled from queued or ringing (or a new call): CallCanceled;
//   - anything else: CallStatusChanged.
//
// A move the machine forbids (backwards, or out of a terminal status) is a
// provider update that arrived late: the canonical status and the verbatim
// status words stay as they are (the word belongs with the status), the
// rest of the command applies, and it is not an error.
//
// One late word is kept: a VoiceCall word whose canonical status is that of
// the word the call shows now (VoiceCallStatusWord). The VoiceCall enum has
// no word for some statuses, so its nearest words stand for them: MISSED
// for a busy, failed or canceled call, ANSWERED_BY_STAFF for one completed
// after an answer. A client correcting the word it reads to its synonym
// (MISSED_CALL_HANDLED, the missed call followed up;
// ANSWERED_BY_CALLS_PROVIDER) asks for a status the call cannot move to,
// but says nothing late: it renames the status the call shows. Dropping it
// would answer 200 and read back the old word. The word is recorded alone,
// as a word changed with no move (below), and the status stays.
//
// New verbatim status words ride on the last lifecycle event; with no move,
// they are a CallStatusChanged whose Status equals its PreviousStatus. A new
// answered_by rides on the CallAnswered, or else on a CallStatusChanged.
//
// With no move, the word a surface shows for a call that has no word of
// that surface (MoonbaseProviderStatus, VoiceCallStatusWord: the canonical
// status's word, or the nearest) is nothing new: it was derived from the
// status, and a client that writes back what it read of a call made on
// another surface (a GET, edited and sent again) would otherwise append a
// CallStatusChanged that changes what no surface shows. Once the call has a
// word of that surface, another word is recorded even if it is the one
// shown: the provider confirming the status a LaML hang-up set is news to
// an auditor (see CallStatusChanged). With a move the word rides on the
// move's event.
func (p *plan) lifecycle(c *UpsertCall) {
	// The call as the lifecycle finds it: move reads all it needs of it
	// before it emits an event, which changes it.
	call := &p.s.Call
	from := call.Status
	to := targetStatus(call, c)
	if from == "" && to == "" {
		to = StatusQueued
	}
	move := to != "" && to != from && from.CanMoveTo(to)
	late := to != "" && to != from && !move

	var provider, voiceCall, answeredBy *string
	if !late && isNewWord(c.ProviderStatus, call.ProviderStatus, call, MoonbaseProviderStatus, move) {
		provider = clonePtr(c.ProviderStatus)
	}
	if (!late || renamesShownVoiceCallStatus(call, c.VoiceCallStatus)) &&
		isNewWord(c.VoiceCallStatus, call.VoiceCallStatus, call, VoiceCallStatusWord, move) {
		voiceCall = clonePtr(c.VoiceCallStatus)
	}
	if c.AnsweredBy != nil && *c.AnsweredBy != call.AnsweredBy {
		answeredBy = clonePtr(c.AnsweredBy)
	}

	if move {
		if p.move(to, c, lifecycleWords{provider, voiceCall, answeredBy}) {
			answeredBy = nil // carried
		}
	} else if provider != nil || voiceCall != nil {
		p.emit(CallStatusChanged{Status: from, PreviousStatus: from,
			ProviderStatus: provider, VoiceCallStatus: voiceCall, AnsweredBy: answeredBy})
		answeredBy = nil
	}
	if answeredBy != nil {
		now := from
		if move {
			now = to
		}
		p.emit(CallStatusChanged{Status: now, PreviousStatus: now, AnsweredBy: answeredBy})
	}
}

// isNewWord reports whether given, a surface's status word for call, is
// news to record: it differs from stored, the call's own word of that
// surface, and, when there is no move and the call has no word of its own,
// from shown(call), the word the surface shows in its stead (see
// lifecycle). shown is called only then.
func isNewWord(given *string, stored string, call *Call, shown func(*Call) string, move bool) bool {
	return given != nil && *given != stored && (move || stored != "" || *given != shown(call))
}

// lifecycleWords are the new verbatim status words and answered_by of a
// lifecycle move (nil: unchanged): the words ride on its last event,
// answered_by on its CallAnswered or CallStatusChanged.
type lifecycleWords struct {
	provider, voiceCall, answeredBy *string
}

// renamesShownVoiceCallStatus reports whether word, a VoiceCall word sent
// with a move that is late, names the canonical status of the word the call
// shows now (VoiceCallStatusWord): then it renames what the call shows
// rather than moving it, and is recorded (see lifecycle).
func renamesShownVoiceCallStatus(call *Call, word *string) bool {
	if word == nil {
		return false
	}
	sent, ok := ParseVoiceCallStatus(*word)
	if !ok {
		return false
	}
	shown, _ := ParseVoiceCallStatus(VoiceCallStatusWord(call))
	return sent == shown
}

// targetStatus is the canonical status the command asks for, "" if it asks
// for none.
func targetStatus(call *Call, c *UpsertCall) Status {
	if c.Status != nil {
		return *c.Status
	}
	if c.VoiceCallStatus != nil {
		if s, ok := ParseVoiceCallStatus(*c.VoiceCallStatus); ok {
			return s
		}
	}
	if c.ProviderStatus != nil {
		if s, ok := ParseMoonbaseStatus(*c.ProviderStatus); ok {
			return s
		}
	}
	answered := c.AnsweredAt != nil || call.AnsweredAt != nil
	switch {
	case c.EndedAt != nil && answered:
		return StatusCompleted
	case c.AnsweredAt != nil:
		return StatusInProgress
	case c.EndedAt != nil && (call.Status == "" || call.Status == StatusQueued || call.Status == StatusRinging):
		// An end with no answer, and no word the ledger knows: the call
		// is over, unanswered, whatever the provider calls that. Left
		// queued or ringing, it would show an ended call as waiting
		// (LaML lists it as queued, and would cancel it).
		return StatusNoAnswer
	case c.EndedAt != nil && call.Status == StatusInProgress:
		// In progress is connected, its answer time unknown (a LaML or
		// VoiceCall status without one): its end completes it, as an
		// end completes a call answered. Left in progress, it showed a
		// call going on with an end time (and, on LaML, a duration of 0).
		return StatusCompleted
	}
	return ""
}

// move emits the lifecycle events of a legal move of the plan's call
// (&p.s.Call) to status to, w's words on the last of them, and reports
// whether one of them carries w's answeredBy. It makes the events from the
// call as it stands before the first is emitted, and emits them with their
// words set: collecting them in a slice and setting the words on the last,
// boxed already, cost two allocations of every upsert that moves the
// status.
func (p *plan) move(to Status, c *UpsertCall, w lifecycleWords) (answeredByCarried bool) {
	call := &p.s.Call
	from := call.Status
	answer := func() CallAnswered {
		e := CallAnswered{AnsweredAt: *c.AnsweredAt, PreviousStatus: from}
		if w.answeredBy != nil {
			e.AnsweredBy = *w.answeredBy
		}
		return e
	}
	switch {
	case to == StatusInProgress && c.AnsweredAt != nil:
		e := answer()
		e.ProviderStatus, e.VoiceCallStatus = w.provider, w.voiceCall
		p.emit(e)
		return true
	case to == StatusCompleted && from == StatusInProgress:
		e := terminated(call.StartedAt, call.AnsweredAt, call.DurationSeconds, from, c, p.endFollowed)
		e.ProviderStatus, e.VoiceCallStatus = w.provider, w.voiceCall
		p.emit(e)
		return false
	case to == StatusCompleted && c.AnsweredAt != nil:
		a := answer()
		e := terminated(call.StartedAt, c.AnsweredAt, call.DurationSeconds, StatusInProgress, c, p.endFollowed)
		e.ProviderStatus, e.VoiceCallStatus = w.provider, w.voiceCall
		p.emit(a)
		p.emit(e)
		return true
	case to == StatusCanceled && (from == "" || from == StatusQueued || from == StatusRinging):
		p.emit(CallCanceled{CanceledAt: orDefault(c.EndedAt, c.Now, call.StartedAt), PreviousStatus: from,
			ProviderStatus: w.provider, VoiceCallStatus: w.voiceCall})
		return false
	}
	p.emit(CallStatusChanged{Status: to, PreviousStatus: from,
		ProviderStatus: w.provider, VoiceCallStatus: w.voiceCall, AnsweredBy: w.answeredBy})
	return true
}

// terminated is the CallTerminated of an in-progress call. Its duration is
// endingDuration's, as decideTerminate's: the one given, else the one the
// call already has (a provider's billed duration outranks the ledger's
// clock), else derived from the end. Its end is the one given; else, with a
// duration known, the answer (or, unanswered, the start) plus the duration
// (completionEnd: an upsert reports an end, it does not make one, so a late
// report or VoiceCall's status word never ends the call at the ledger's
// clock); else Now, never before the answer. The end is marked end_derived
// when it was derived from the duration: by completionEnd here, or by
// followTimes before (endFollowed); an end given or set at Now is reported
// (timing.go).
func terminated(started, answered *time.Time, known *int64, from Status, c *UpsertCall, endFollowed bool) CallTerminated {
	floor := durationFrom(answered, started)
	end, derived := time.Time{}, false
	if c.EndedAt == nil {
		end, derived = completionEnd(floor, pick(c.DurationSeconds, known))
	}
	if !derived {
		end = orDefault(c.EndedAt, c.Now, floor)
		derived = endFollowed
	}
	dur := endingDuration(c.DurationSeconds, known, floor, end)
	return CallTerminated{EndedAt: end, DurationSeconds: dur, EndDerived: derived, Status: StatusCompleted, PreviousStatus: from}
}
