package domain

// Status is a call's canonical status. Every surface's own statuses map onto
// these eight; the surface's word is kept verbatim beside it.
//
// The state machine (Status.CanMoveTo):
//
//	queued → ringing → in-progress → completed
//	queued, ringing → canceled, busy, failed, no-answer, in-progress
//	in-progress → completed, failed
//
// completed, busy, failed, no-answer and canceled are terminal: nothing moves
// a terminal call, and a terminal call cannot be answered again.
type Status string

// The canonical statuses, spelled as LaML (Twilio) spells them.
const (
	StatusQueued     Status = "queued"
	StatusRinging    Status = "ringing"
	StatusInProgress Status = "in-progress"
	StatusCompleted  Status = "completed"
	StatusBusy       Status = "busy"
	StatusFailed     Status = "failed"
	StatusNoAnswer   Status = "no-answer"
	StatusCanceled   Status = "canceled"
)

// Statuses lists every canonical status in lifecycle order.
func Statuses() []Status {
	return []Status{StatusQueued, StatusRinging, StatusInProgress, StatusCompleted,
		StatusBusy, StatusFailed, StatusNoAnswer, StatusCanceled}
}

// Valid reports whether s is one of the canonical statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusQueued, StatusRinging, StatusInProgress, StatusCompleted,
		StatusBusy, StatusFailed, StatusNoAnswer, StatusCanceled:
		return true
	}
	return false
}

// Terminal reports whether s ends the call's lifecycle.
func (s Status) Terminal() bool {
	switch s {
	case StatusCompleted, StatusBusy, StatusFailed, StatusNoAnswer, StatusCanceled:
		return true
	}
	return false
}

// CanMoveTo reports whether the state machine allows a call in status s to
// move to status t. Staying in the same status is not a move.
func (s Status) CanMoveTo(t Status) bool {
	if !t.Valid() || s == t {
		return false
	}
	switch s {
	case "": // a new call may start anywhere
		return true
	case StatusQueued:
		return t != StatusQueued
	case StatusRinging:
		return t != StatusQueued
	case StatusInProgress:
		return t == StatusCompleted || t == StatusFailed
	}
	return false // terminal
}
