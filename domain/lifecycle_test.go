package domain_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// TestLifecycleCommands holds AnswerCall, TerminateCall, CancelCall,
// HangUpCall, PriceCall and DeleteCall to the state machine's rules.
func TestLifecycleCommands(t *testing.T) {
	answer := domain.AnswerCall{CallID: callID, AccountID: account, Now: at(2), AnsweredBy: "human"}
	terminate := domain.TerminateCall{CallID: callID, AccountID: account, Now: at(11)}
	cancel := domain.CancelCall{CallID: callID, AccountID: account, Now: at(1)}
	hangUp := domain.HangUpCall{CallID: callID, AccountID: account, Now: at(11)}
	price := domain.PriceCall{CallID: callID, AccountID: account, Now: now,
		Price: domain.Price{Rate: dec("0.0100"), Total: dec("0.10"), Currency: "EUR"}}
	del := domain.DeleteCall{CallID: callID, AccountID: account, Now: now}
	deleted := append(completedCall(), domain.CallDeleted{DeletedAt: now})
	queued := []domain.Event{created(), moved("", domain.StatusQueued)}

	runGWT(t, []gwt{
		{name: "answer a ringing call", given: ringingCall(), when: answer, then: []domain.Event{
			domain.CallAnswered{AnsweredAt: at(2), AnsweredBy: "human", PreviousStatus: domain.StatusRinging}}},
		{name: "answer a completed call is a conflict", given: completedCall(), when: answer, code: domain.ErrConflict, field: "status"},
		{name: "answer an answered call is a conflict", given: answeredCall(), when: answer, code: domain.ErrConflict, field: "status"},
		{name: "answer before the start is invalid", given: ringingCall(), when: domain.AnswerCall{CallID: callID, AccountID: account, Now: now, AnsweredAt: ptr(at(-1))},
			code: domain.ErrInvalid, field: "answered_at"},
		{name: "answer a missing call is not found", when: answer, code: domain.ErrNotFound, field: "call_id"},

		{name: "terminate an in-progress call: end at Now, duration from the answer", given: answeredCall(), when: terminate, then: []domain.Event{
			domain.CallTerminated{EndedAt: at(11), DurationSeconds: ptr(int64(600)), Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress}}},
		{name: "terminate keeps the duration the provider already reported", given: append(answeredCall(), domain.CallTimingChanged{DurationSeconds: ptr(int64(20))}),
			when: terminate, then: []domain.Event{
				domain.CallTerminated{EndedAt: at(11), DurationSeconds: ptr(int64(20)), Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress}}},
		{name: "terminate a ringing call is a conflict", given: ringingCall(), when: terminate, code: domain.ErrConflict, field: "status"},
		{name: "terminate a completed call is a conflict", given: completedCall(), when: terminate, code: domain.ErrConflict, field: "status"},
		{name: "terminate before the answer is invalid", given: answeredCall(), when: domain.TerminateCall{CallID: callID, AccountID: account, Now: now, EndedAt: ptr(at(0))},
			code: domain.ErrInvalid, field: "ended_at"},
		{name: "terminate with a negative duration is invalid", given: answeredCall(), when: domain.TerminateCall{CallID: callID, AccountID: account, Now: now, DurationSeconds: ptr(int64(-1))},
			code: domain.ErrInvalid, field: "duration_seconds"},

		{name: "cancel a queued call", given: queued, when: cancel, then: []domain.Event{
			domain.CallCanceled{CanceledAt: at(1), PreviousStatus: domain.StatusQueued}}},
		{name: "cancel a ringing call", given: ringingCall(), when: cancel, then: []domain.Event{
			domain.CallCanceled{CanceledAt: at(1), PreviousStatus: domain.StatusRinging}}},
		{name: "cancel an in-progress call leaves it as it is", given: answeredCall(), when: cancel, then: nil},
		{name: "cancel a completed call is a conflict", given: completedCall(), when: cancel, code: domain.ErrConflict, field: "status"},
		{name: "cancel a canceled call is a conflict", given: append(ringingCall(), domain.CallCanceled{CanceledAt: at(1), PreviousStatus: domain.StatusRinging}),
			when: cancel, code: domain.ErrConflict, field: "status"},

		{name: "hang up an in-progress call: terminated", given: answeredCall(), when: hangUp, then: []domain.Event{
			domain.CallTerminated{EndedAt: at(11), DurationSeconds: ptr(int64(600)), Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress}}},
		{name: "hang up a queued call: canceled", given: queued, when: hangUp, then: []domain.Event{
			domain.CallCanceled{CanceledAt: at(11), PreviousStatus: domain.StatusQueued}}},
		{name: "hang up a ringing call: canceled", given: ringingCall(), when: hangUp, then: []domain.Event{
			domain.CallCanceled{CanceledAt: at(11), PreviousStatus: domain.StatusRinging}}},
		{name: "hang up a completed call is a conflict", given: completedCall(), when: hangUp, code: domain.ErrConflict, field: "status"},
		{name: "hang up a canceled call is a conflict", given: append(ringingCall(), domain.CallCanceled{CanceledAt: at(1), PreviousStatus: domain.StatusRinging}),
			when: hangUp, code: domain.ErrConflict, field: "status"},
		{name: "a deleted call cannot be hung up", given: append(answeredCall(), domain.CallDeleted{DeletedAt: now}), when: hangUp, code: domain.ErrConflict, field: "call_id"},

		{name: "price a call", given: completedCall(), when: price, then: []domain.Event{domain.CallPriced{Price: price.Price}}},
		{name: "the same price is nothing", given: append(completedCall(), domain.CallPriced{Price: price.Price}), when: price, then: nil},
		{name: "a negative total is invalid", given: completedCall(), when: domain.PriceCall{CallID: callID, AccountID: account, Now: now,
			Price: domain.Price{Total: dec("-0.01"), Currency: "USD"}}, code: domain.ErrInvalid, field: "price.total"},
		{name: "a lower-case currency is invalid", given: completedCall(), when: domain.PriceCall{CallID: callID, AccountID: account, Now: now,
			Price: domain.Price{Total: dec("1"), Currency: "usd"}}, code: domain.ErrInvalid, field: "price.currency"},
		{name: "a currency ISO 4217 does not assign is invalid", given: completedCall(), when: domain.PriceCall{CallID: callID, AccountID: account, Now: now,
			Price: domain.Price{Total: dec("1"), Currency: "ZZZ"}}, code: domain.ErrInvalid, field: "price.currency"},

		{name: "delete a call", given: completedCall(), when: del, then: []domain.Event{domain.CallDeleted{DeletedAt: now}}},
		{name: "delete twice is a conflict", given: deleted, when: del, code: domain.ErrConflict, field: "call_id"},
		{name: "a deleted call cannot be answered", given: append(ringingCall(), domain.CallDeleted{DeletedAt: now}), when: answer, code: domain.ErrConflict, field: "call_id"},
		{name: "a deleted call cannot be terminated", given: append(answeredCall(), domain.CallDeleted{DeletedAt: now}), when: terminate, code: domain.ErrConflict, field: "call_id"},
		{name: "a deleted call cannot be canceled", given: append(ringingCall(), domain.CallDeleted{DeletedAt: now}), when: cancel, code: domain.ErrConflict, field: "call_id"},
		{name: "a deleted call cannot be priced", given: deleted, when: price, code: domain.ErrConflict, field: "call_id"},
		{name: "another account cannot delete", given: completedCall(), when: domain.DeleteCall{CallID: callID, AccountID: "acc-2", Now: now},
			code: domain.ErrNotFound, field: "call_id"},
		{name: "a command without Now is invalid", given: completedCall(), when: domain.DeleteCall{CallID: callID, AccountID: account},
			code: domain.ErrInvalid, field: "now"},
		{name: "a command without an account is invalid", given: completedCall(), when: domain.DeleteCall{CallID: callID, Now: now},
			code: domain.ErrInvalid, field: "account_id"},
	})
}

// unknownCommand is a Command Decide does not know.
type unknownCommand struct{}

func (unknownCommand) TargetCallID() uuid.UUID { return callID }

// TestDecideUnknownCommand pins the error for a command Decide does not
// know: fmt's %T of it, as it has always been worded (Decide names the type
// without fmt so that its command does not escape).
func TestDecideUnknownCommand(t *testing.T) {
	for _, tc := range []struct {
		c    domain.Command
		want string
	}{
		{unknownCommand{}, "decide: unknown command domain_test.unknownCommand"},
		{&unknownCommand{}, "decide: unknown command *domain_test.unknownCommand"},
		{nil, "decide: unknown command <nil>"},
	} {
		if want := fmt.Sprintf("decide: unknown command %T", tc.c); want != tc.want {
			t.Fatalf("%%T gives %q, the test expects %q", want, tc.want)
		}
		if _, err := domain.Decide(domain.State{}, tc.c); err == nil || err.Error() != tc.want {
			t.Errorf("Decide(%#v) = %v, want %q", tc.c, err, tc.want)
		}
		if _, _, err := domain.DecideFold(domain.State{}, tc.c, now); err == nil || err.Error() != tc.want {
			t.Errorf("DecideFold(%#v) = %v, want %q", tc.c, err, tc.want)
		}
	}
}
