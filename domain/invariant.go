package domain

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// ErrBrokenInvariant is the sentinel of every error CheckEvolve and Fold
// return: an event in a stored history cannot apply to the state before it.
// It is not an application *Error (no API caller caused it, and none is ever
// shown one): the history is corrupt or a writer has a bug. Test for it with
// errors.Is; verify tools report it, nothing retries it.
var ErrBrokenInvariant = errors.New("broken invariant")

// InvariantError says which event of a history broke an invariant and why.
// It wraps ErrBrokenInvariant.
type InvariantError struct {
	// Version is the state's Version before the event, so the event's stream
	// revision.
	Version uint64
	// EventType is the stored type name of the event ("" for a nil event).
	EventType string
	// Reason says what the event contradicts.
	Reason string
}

// Error formats the error for logs.
func (e *InvariantError) Error() string {
	return fmt.Sprintf("broken invariant at revision %d (%s): %s", e.Version, e.EventType, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBrokenInvariant) hold.
func (e *InvariantError) Unwrap() error { return ErrBrokenInvariant }

// CheckEvolve reports whether Evolve(s, e) is a legal step: nil if the event
// applies to s, an *InvariantError saying why not otherwise. It is pure and
// does not fold; Evolve folds the event anyway. Decide only ever emits events
// for which CheckEvolve is nil on the state it decided on (the property
// tests hold it to that).
func CheckEvolve(s State, e Envelope) error { return CheckEvolveInPlace(&s, e) }

// CheckEvolveInPlace is CheckEvolve reading *s where it is, the check that
// goes with EvolveInPlace: a State is over 800 bytes to copy, and a
// projection checks every event of the log against a state it owns.
func CheckEvolveInPlace(s *State, e Envelope) error {
	ev := derefEvent(e.Event)
	reason := checkReason(s, ev)
	if reason == "" {
		return nil
	}
	typ := ""
	if ev != nil {
		typ = ev.EventType()
	}
	return &InvariantError{Version: s.Version, EventType: typ, Reason: reason}
}

// checkReason returns why ev cannot apply to *s, or "" if it can. It reads
// *s through the pointer: a State is large to copy.
func checkReason(s *State, ev Event) string {
	if ev == nil {
		return "nil event"
	}
	if e, ok := ev.(CallUpserted); ok && e.Created {
		switch {
		case s.Exists():
			return "call created twice"
		case e.CallID == uuid.Nil:
			return "call created without an id"
		}
		return detailsReason(e.Details)
	}
	if !s.Exists() {
		return "event before the call was created"
	}
	c := &s.Call
	if c.Deleted() {
		return "event after the call was deleted"
	}
	switch e := ev.(type) {
	case CallUpserted:
		return detailsReason(e.Details)
	case CallDetailsChanged:
		return detailsReason(&e.Changes)
	case CallAnswered:
		if c.Status.Terminal() {
			return fmt.Sprintf("answer of a %s call", c.Status)
		}
		if e.PreviousStatus != c.Status {
			return fmt.Sprintf("previous status %q, the call is %q", e.PreviousStatus, c.Status)
		}
	case CallStatusChanged:
		if !e.Status.Valid() {
			return fmt.Sprintf("unknown status %q", e.Status)
		}
		if e.PreviousStatus != c.Status {
			return fmt.Sprintf("previous status %q, the call is %q", e.PreviousStatus, c.Status)
		}
		if e.Status != c.Status && !c.Status.CanMoveTo(e.Status) {
			return fmt.Sprintf("status cannot move from %q to %q", c.Status, e.Status)
		}
	case CallTerminated:
		if c.Status != StatusInProgress {
			return fmt.Sprintf("termination of a %s call", statusWord(c.Status))
		}
		if e.PreviousStatus != c.Status {
			return fmt.Sprintf("previous status %q, the call is %q", e.PreviousStatus, c.Status)
		}
		if e.Status != "" && !c.Status.CanMoveTo(e.Status) {
			return fmt.Sprintf("status cannot move from %q to %q", c.Status, e.Status)
		}
	case CallCanceled:
		if c.Status != StatusQueued && c.Status != StatusRinging && c.Status != "" {
			return fmt.Sprintf("cancel of a %s call", statusWord(c.Status))
		}
		if e.PreviousStatus != c.Status {
			return fmt.Sprintf("previous status %q, the call is %q", e.PreviousStatus, c.Status)
		}
	case CallRecordingChanged:
		if recordingIndex(s.Call.Recordings, e.Recording) < 0 {
			return "change of a recording the call does not hold"
		}
	case CallPriced:
		// Decide has refused a negative price, and a currency that is not
		// three upper-case letters, since the first build, so one in a
		// history was not written by the ledger: an archive edited by
		// hand, say. It is folded and billed as it reads, and recorded,
		// so that no total holding it passes for whole (a currency such
		// as "usd" would split a currency's total in two; a formula in
		// one would reach a billing CSV). A code of that shape that ISO
		// 4217 does not assign is not judged: prices stored before the
		// ISO 4217 check name codes it refuses now.
		if e.Price.Rate.IsNegative() || e.Price.Total.IsNegative() {
			return fmt.Sprintf("negative price (rate %s, total %s)", e.Price.Rate, e.Price.Total)
		}
		if !currencyShaped(e.Price.Currency) {
			return fmt.Sprintf("currency %q is not three upper-case letters", e.Price.Currency)
		}
	case CallParticipantsChanged, CallProviderMetadataChanged,
		CallTimingChanged, CallRecordingAdded,
		CallTranscriptChanged, CallRoutingChanged, CallQualityReported, CallDeleted:
		return ""
	default:
		return fmt.Sprintf("unknown event %T", ev)
	}
	return ""
}

// detailsReason returns why details changes (nil: none) cannot apply, or
// "": a sync date both set and cleared says two things at once.
func detailsReason(ch *DetailsChanges) string {
	if ch.setsAndClearsSync() {
		return "synced_with_crm_at both set and cleared"
	}
	return ""
}

func statusWord(s Status) string {
	if s == "" {
		return "status-less"
	}
	return string(s)
}

// Fold folds a whole history with Evolve from the zero State and returns the
// state with the first broken invariant CheckEvolve found (an
// *InvariantError), or nil. The state is complete either way: folding goes on
// past a broken event, as Evolve does. It folds through a Folding, in time
// linear in the call's recordings.
func Fold(history []Envelope) (State, error) {
	var (
		s     State
		f     = Folding{exclusive: true} // no state but the last is kept
		first error
	)
	for _, e := range history {
		if first == nil {
			first = CheckEvolveInPlace(&s, e)
		}
		f.EvolveInPlace(&s, e)
	}
	return s, first
}
