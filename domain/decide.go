package domain

import (
	"errors"
	"reflect"
	"time"
)

// Decide is the left half of the decider pattern: given the state of a call
// (its events folded with Evolve) and a command, it returns the events that
// record the change, or an *Error saying why not:
//
//   - ErrInvalid, with the Field named, for a malformed command;
//   - ErrNotFound for a call that does not exist, or is another account's;
//   - ErrConflict for a command the call's state forbids (a write to a
//     deleted call, creating a call that exists, answering a terminal call,
//     terminating a call that is not in progress, cancelling one that is
//     not queued or ringing).
//
// A command that changes nothing returns no events and no error. Decide is
// pure: the time comes in the command (Now), the ids are derived; the same
// state and command always give the same events. Every event it returns
// applies (CheckEvolve is nil) to the state folded so far.
func Decide(s State, c Command) ([]Event, error) {
	switch c.(type) {
	case UpsertCall, *UpsertCall:
		// An upsert folds its events as it decides them (DecideFold):
		// Decide drops the state.
		events, _, err := DecideFold(s, c, time.Time{})
		return events, err
	}
	var (
		events []Event
		err    *Error
	)
	switch c := c.(type) {
	case AnswerCall:
		events, err = decideAnswer(s, c)
	case TerminateCall:
		events, err = decideTerminate(s, c)
	case CancelCall:
		events, err = decideCancel(s, c)
	case HangUpCall:
		events, err = decideHangUp(s, c)
	case PriceCall:
		events, err = decidePrice(s, c)
	case DeleteCall:
		events, err = decideDelete(s, c)
	default:
		return nil, errors.New("decide: unknown command " + typeName(c))
	}
	if err != nil {
		return nil, err
	}
	return events, nil
}

// typeName is fmt's %T of c ("<nil>" for nil). Decide names an unknown
// command's type with it rather than fmt.Errorf("%T", c) because that lets
// c escape: every caller's command, a ~550-byte upsert included, was then
// copied to the heap to be boxed, on every decide.
func typeName(c Command) string {
	t := reflect.TypeOf(c)
	if t == nil {
		return "<nil>"
	}
	return t.String()
}

// DecideFold is Decide that also returns the state its events lead to:
// s with every event folded in by EvolveInPlace with metadata whose Time is
// at, as a writer folds them once it has appended them (s itself when there
// are none; State{} with an error). It spares the writer that fold:
// deciding an upsert folds each change as it finds it, so the state is
// there already, and only its version and times are set here.
func DecideFold(s State, c Command, at time.Time) ([]Event, State, error) {
	var (
		p   plan
		err *Error
	)
	switch c := c.(type) {
	case UpsertCall:
		err = decideUpsert(&p, &s, &c) // c: the type switch's copy
	case *UpsertCall:
		own := *c // decideUpsert normalizes and fills in its command
		err = decideUpsert(&p, &s, &own)
	default:
		events, err := Decide(s, c)
		if err != nil {
			return nil, State{}, err
		}
		for _, e := range events {
			EvolveInPlace(&s, Envelope{Event: e, Metadata: Metadata{Time: at}})
		}
		return events, s, nil
	}
	if err != nil {
		return nil, State{}, err
	}
	if len(p.events) == 0 {
		return nil, s, nil
	}
	// The plan folded the events one by one, a creation's facts apart from
	// the creation that carries them (which folds to the same call), and
	// without metadata: count the events as appended and stamp them as
	// EvolveInPlace does.
	stamp(&p.s, s.Version, uint64(len(p.events)), at)
	return p.events, p.s, nil
}

// existing checks that a command for an existing call may proceed: the call
// exists, is the account's, and is not deleted.
func existing(s State, c Command, account string, now time.Time) *Error {
	if err := checkIdentity(c.TargetCallID(), account, now); err != nil {
		return err
	}
	if !s.Exists() || s.Call.AccountID != account {
		return Errorf(ErrNotFound, "call_id", "call %s not found", c.TargetCallID())
	}
	if s.Call.ID != c.TargetCallID() {
		return invalid("call_id", "command for call %s decided on call %s", c.TargetCallID(), s.Call.ID)
	}
	if s.Call.Deleted() {
		return Errorf(ErrConflict, "call_id", "call %s is deleted", s.Call.ID)
	}
	return nil
}

// orDefault returns t in UTC, or def when t is nil, moved no earlier than
// floor (so that a default never breaks the order of the call's times).
func orDefault(t *time.Time, def time.Time, floor *time.Time) time.Time {
	if t != nil {
		return t.UTC()
	}
	def = def.UTC()
	if floor != nil && def.Before(*floor) {
		return *floor
	}
	return def
}

func decideAnswer(s State, c AnswerCall) ([]Event, *Error) {
	if err := existing(s, c, c.AccountID, c.Now); err != nil {
		return nil, err
	}
	call := s.Call
	if call.Status.Terminal() {
		return nil, Errorf(ErrConflict, "status", "a %s call cannot be answered", call.Status)
	}
	if call.Status == StatusInProgress && call.AnsweredAt != nil {
		return nil, Errorf(ErrConflict, "status", "the call was already answered")
	}
	at := orDefault(c.AnsweredAt, c.Now, call.StartedAt)
	if err := checkOrder(call.StartedAt, &at, nil, timesAll, timesAll); err != nil {
		return nil, err
	}
	// The call's duration counts from the answer now (checkDurationEnd): a
	// later completion without an end would end it at the answer plus the
	// duration, which must be a time the ledger can store.
	if d := call.DurationSeconds; d != nil {
		if _, ok := addSeconds(at, *d); !ok {
			return nil, movedPastDuration("answered_at", "answer", at, *d)
		}
	}
	return []Event{CallAnswered{AnsweredAt: at, AnsweredBy: c.AnsweredBy, PreviousStatus: call.Status}}, nil
}

func decideTerminate(s State, c TerminateCall) ([]Event, *Error) {
	if err := existing(s, c, c.AccountID, c.Now); err != nil {
		return nil, err
	}
	if err := checkDurationSeconds("duration_seconds", c.DurationSeconds); err != nil {
		return nil, err
	}
	call := s.Call
	if call.Status != StatusInProgress {
		return nil, Errorf(ErrConflict, "status", "only an in-progress call can be terminated; the call is %s", statusWord(call.Status))
	}
	floor := durationFrom(call.AnsweredAt, call.StartedAt)
	end := orDefault(c.EndedAt, c.Now, floor)
	if err := checkOrder(call.StartedAt, call.AnsweredAt, &end, timeEnded, timeEnded); err != nil {
		return nil, err
	}
	dur := endingDuration(c.DurationSeconds, call.DurationSeconds, floor, end)
	return []Event{CallTerminated{EndedAt: end, DurationSeconds: dur, Status: StatusCompleted, PreviousStatus: call.Status}}, nil
}

func decideCancel(s State, c CancelCall) ([]Event, *Error) {
	if err := existing(s, c, c.AccountID, c.Now); err != nil {
		return nil, err
	}
	call := s.Call
	switch call.Status {
	case StatusQueued, StatusRinging:
	case StatusInProgress:
		return nil, nil // connected already: left as it is (see CancelCall)
	default:
		return nil, Errorf(ErrConflict, "status", "only a queued or ringing call can be canceled (an in-progress one is left as it is); the call is %s", statusWord(call.Status))
	}
	at := orDefault(c.CanceledAt, c.Now, call.StartedAt)
	return []Event{CallCanceled{CanceledAt: at, PreviousStatus: call.Status}}, nil
}

// decideHangUp terminates an in-progress call and cancels a queued or
// ringing one; any other status is ErrConflict, named as a hang-up.
// The command it stands for checks that the call exists and may be
// changed.
func decideHangUp(s State, c HangUpCall) ([]Event, *Error) {
	switch s.Call.Status {
	case StatusInProgress:
		return decideTerminate(s, TerminateCall{CallID: c.CallID, AccountID: c.AccountID, Now: c.Now})
	case StatusQueued, StatusRinging:
		return decideCancel(s, CancelCall{CallID: c.CallID, AccountID: c.AccountID, Now: c.Now})
	}
	if err := existing(s, c, c.AccountID, c.Now); err != nil {
		return nil, err
	}
	return nil, Errorf(ErrConflict, "status", "only a queued, ringing or in-progress call can be hung up; the call is %s", statusWord(s.Call.Status))
}

func decidePrice(s State, c PriceCall) ([]Event, *Error) {
	if err := existing(s, c, c.AccountID, c.Now); err != nil {
		return nil, err
	}
	if err := checkPrice(c.Price); err != nil {
		return nil, err
	}
	if e, ok := priceChange(&s.Call, c.Price); ok {
		return []Event{e}, nil
	}
	return nil, nil
}

// priceChange returns the CallPriced that moves c to price p, and false if
// c already has exactly p (same currency, Identical decimals).
func priceChange(c *Call, p Price) (CallPriced, bool) {
	if c.Price != nil && samePrice(*c.Price, p) {
		return CallPriced{}, false
	}
	return CallPriced{Price: p, PreviousPrice: clonePtr(c.Price)}, true
}

func samePrice(a, b Price) bool {
	return a.Currency == b.Currency && a.Rate.Identical(b.Rate) && a.Total.Identical(b.Total)
}

func decideDelete(s State, c DeleteCall) ([]Event, *Error) {
	if err := existing(s, c, c.AccountID, c.Now); err != nil {
		return nil, err
	}
	return []Event{CallDeleted{DeletedAt: c.Now.UTC()}}, nil
}
