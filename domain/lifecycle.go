package domain

import "time"

// lifecycle emits the events of an upsert's status change.
//
// The target status is the command's Status; without one, the status its
// VoiceCallStatus or ProviderStatus maps to; without one either, what the
// times say (ended and answered: completed; answered: in-progress; ended,
// never answered, and not yet in progress: no-answer). A call that has no
// status and gets none starts queued.
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
func (p *plan) lifecycle(c UpsertCall) {
	call := p.s.Call
	from := call.Status
	to := targetStatus(call, c)
	if from == "" && to == "" {
		to = StatusQueued
	}
	move := to != "" && to != from && from.CanMoveTo(to)
	late := to != "" && to != from && !move

	var provider, voiceCall, answeredBy *string
	if !late && c.ProviderStatus != nil && *c.ProviderStatus != call.ProviderStatus {
		provider = clonePtr(c.ProviderStatus)
	}
	if (!late || renamesShownVoiceCallStatus(&call, c.VoiceCallStatus)) &&
		c.VoiceCallStatus != nil && *c.VoiceCallStatus != call.VoiceCallStatus {
		voiceCall = clonePtr(c.VoiceCallStatus)
	}
	if c.AnsweredBy != nil && *c.AnsweredBy != call.AnsweredBy {
		answeredBy = clonePtr(c.AnsweredBy)
	}

	var events []Event
	if move {
		events = moveEvents(call, to, c, answeredBy, p.endFollowed)
	}
	for _, e := range events {
		if _, ok := e.(CallAnswered); ok {
			answeredBy = nil // carried
		}
	}
	if n := len(events); n > 0 {
		events[n-1] = withWords(events[n-1], provider, voiceCall)
		if sc, ok := events[n-1].(CallStatusChanged); ok && answeredBy != nil {
			sc.AnsweredBy, answeredBy = answeredBy, nil
			events[n-1] = sc
		}
	} else if provider != nil || voiceCall != nil {
		events = append(events, CallStatusChanged{Status: from, PreviousStatus: from,
			ProviderStatus: provider, VoiceCallStatus: voiceCall, AnsweredBy: answeredBy})
		answeredBy = nil
	}
	if answeredBy != nil {
		now := from
		if move {
			now = to
		}
		events = append(events, CallStatusChanged{Status: now, PreviousStatus: now, AnsweredBy: answeredBy})
	}
	for _, e := range events {
		p.emit(e)
	}
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
func targetStatus(call Call, c UpsertCall) Status {
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
		// (LaML lists it as queued, and would cancel it). An in-progress
		// call without an answer time cannot move to no-answer: it keeps
		// its status, and the word is recorded.
		return StatusNoAnswer
	}
	return ""
}

// moveEvents returns the lifecycle events of a legal move of call to status
// to. endFollowed says that c.EndedAt was derived from the duration
// (followTimes), not given.
func moveEvents(call Call, to Status, c UpsertCall, answeredBy *string, endFollowed bool) []Event {
	from := call.Status
	answer := func() CallAnswered {
		e := CallAnswered{AnsweredAt: *c.AnsweredAt, PreviousStatus: from}
		if answeredBy != nil {
			e.AnsweredBy = *answeredBy
		}
		return e
	}
	switch {
	case to == StatusInProgress && c.AnsweredAt != nil:
		return []Event{answer()}
	case to == StatusCompleted && from == StatusInProgress:
		return []Event{terminated(call.StartedAt, call.AnsweredAt, call.DurationSeconds, from, c, endFollowed)}
	case to == StatusCompleted && c.AnsweredAt != nil:
		return []Event{answer(), terminated(call.StartedAt, c.AnsweredAt, call.DurationSeconds, StatusInProgress, c, endFollowed)}
	case to == StatusCanceled && (from == "" || from == StatusQueued || from == StatusRinging):
		return []Event{CallCanceled{CanceledAt: orDefault(c.EndedAt, c.Now, call.StartedAt), PreviousStatus: from}}
	}
	return []Event{CallStatusChanged{Status: to, PreviousStatus: from}}
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
func terminated(started, answered *time.Time, known *int64, from Status, c UpsertCall, endFollowed bool) CallTerminated {
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

// withWords sets the verbatim status words on a lifecycle event.
func withWords(e Event, provider, voiceCall *string) Event {
	switch ev := e.(type) {
	case CallAnswered:
		ev.ProviderStatus, ev.VoiceCallStatus = provider, voiceCall
		return ev
	case CallTerminated:
		ev.ProviderStatus, ev.VoiceCallStatus = provider, voiceCall
		return ev
	case CallCanceled:
		ev.ProviderStatus, ev.VoiceCallStatus = provider, voiceCall
		return ev
	case CallStatusChanged:
		ev.ProviderStatus, ev.VoiceCallStatus = provider, voiceCall
		return ev
	}
	return e
}
