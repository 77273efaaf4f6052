package domain_test

import (
	"testing"
	"time"

	"github.com/callledger/callledger/domain"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fixtures shared by the Given-When-Then tables.
const (
	account    = "acc-1"
	provider   = "openphone"
	providerID = "openphone_id_000000000006"
	caller     = "+14155551212"
	callee     = "+16505551212"
)

// Short names for the VoiceCall status words, for the tables that pin them.
const (
	wordIncoming  = domain.VoiceCallIncomingCall
	wordStaff     = domain.VoiceCallAnsweredByStaff
	wordProvider  = domain.VoiceCallAnsweredByCallsProvider
	wordMissed    = domain.VoiceCallMissed
	wordHandled   = domain.VoiceCallMissedCallHandled
	wordVoicemail = domain.VoiceCallVoicemailReceived
)

var (
	callID = domain.CallIDFor(account, provider, providerID)
	t0     = time.Date(2025, 2, 17, 15, 0, 0, 0, time.UTC)
	now    = time.Date(2025, 2, 17, 16, 0, 0, 0, time.UTC)
)

func ptr[T any](v T) *T { return &v }

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func dec(s string) domain.Decimal { return domain.MustParseDecimal(s) }

// created is the first event of the fixture call: inbound, caller to callee,
// started at t0, no status yet.
func created() domain.CallUpserted {
	return domain.CallUpserted{
		Created: true, CallID: callID, AccountID: account, Provider: provider, ProviderID: providerID,
		Direction: ptr(domain.DirectionInbound), From: ptr(caller), To: ptr(callee), StartedAt: ptr(t0),
	}
}

func moved(from, to domain.Status) domain.CallStatusChanged {
	return domain.CallStatusChanged{Status: to, PreviousStatus: from}
}

// ringingCall is the history of a created call that is ringing.
func ringingCall() []domain.Event {
	return []domain.Event{created(), moved("", domain.StatusRinging)}
}

// answeredCall is the history of a call answered a minute after its start.
func answeredCall() []domain.Event {
	return append(ringingCall(), domain.CallAnswered{AnsweredAt: at(1), PreviousStatus: domain.StatusRinging})
}

// completedCall is the history of a call answered and ended normally.
func completedCall() []domain.Event {
	return append(answeredCall(), domain.CallTerminated{EndedAt: at(30), DurationSeconds: ptr(int64(1740)),
		Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress})
}

// envelopes wraps events with metadata one second apart, from t0.
func envelopes(events []domain.Event, from uint64) []domain.Envelope {
	out := make([]domain.Envelope, len(events))
	for i, e := range events {
		out[i] = domain.Envelope{Event: e, Metadata: domain.Metadata{
			SchemaVersion: domain.CurrentSchemaVersion, AccountID: account,
			Time: now.Add(time.Duration(from+uint64(i)) * time.Second),
		}}
	}
	return out
}

// fold folds a history, requiring every event to apply.
func fold(tb testing.TB, events []domain.Event) domain.State {
	tb.Helper()
	s, err := domain.Fold(envelopes(events, 0))
	require.NoError(tb, err, "the given history must be sound")
	return s
}

// gwt is one Given-When-Then row: given past events, when a command, then
// the events Decide emits, or the code and field of its refusal.
type gwt struct {
	name  string
	given []domain.Event
	when  domain.Command
	then  []domain.Event
	code  domain.ErrorCode
	field string
}

// runGWT folds each row's given events with Evolve, calls Decide, and checks
// the outcome. Accepted events must apply to the state (CheckEvolve) too.
func runGWT(t *testing.T, rows []gwt) {
	t.Helper()
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			s := fold(t, row.given)
			events, err := domain.Decide(s, row.when)
			if row.code != "" {
				require.Error(t, err)
				var de *domain.Error
				require.ErrorAs(t, err, &de)
				assert.Equal(t, row.code, de.Code, "code: %v", err)
				assert.Equal(t, row.field, de.Field, "field: %v", err)
				assert.Empty(t, events)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, row.then, events)
			_, ferr := domain.Fold(envelopes(append(append([]domain.Event{}, row.given...), events...), 0))
			assert.NoError(t, ferr, "the decided events must apply")
		})
	}
}

// upsert is a Moonbase-style upsert of the fixture call with nothing given.
func upsert(mode domain.UpsertMode) domain.UpsertCall {
	return domain.UpsertCall{Mode: mode, CallID: callID, AccountID: account, Now: now,
		Provider: provider, ProviderID: providerID}
}

// seed000 is the upsert of Moonbase seed 000: a call reported already over.
func seed000() domain.UpsertCall {
	c := upsert(domain.UpsertCreateOrUpdate)
	c.Direction = ptr(domain.DirectionInbound)
	c.Participants = []domain.ParticipantSpec{{Role: domain.RoleCaller, Phone: caller}, {Role: domain.RoleCallee, Phone: callee}}
	status, ok := domain.ParseMoonbaseStatus("completed")
	if !ok {
		panic("completed must map")
	}
	c.Status = &status
	c.ProviderStatus = ptr("completed")
	c.StartedAt = ptr(t0)
	c.AnsweredAt = ptr(at(1))
	c.EndedAt = ptr(at(30))
	c.ProviderMetadata = []byte(`{"answered_by":"UShjUatqtF","user_id":"UShjUatqtF","phone_number_id":"PN72zMikBJ","conversation_id":"CN3b48bcc423e772aeba377414a4fa6a06"}`)
	return c
}

func participants() []domain.Participant {
	return []domain.Participant{participant(domain.RoleCaller, caller), participant(domain.RoleCallee, callee)}
}

// participant is the fixture call's participant of role r at phone, with
// the ids Decide derives.
func participant(r domain.Role, phone string) domain.Participant {
	return domain.Participant{ID: domain.ParticipantID(callID, r, phone), Role: r, Phone: phone, PersonID: domain.PersonID(account, phone)}
}

var _ = uuid.Nil

func uuid1() uuid.UUID { return uuid.MustParse("11111111-1111-4111-8111-111111111111") }

func zeroTime() (z time.Time) { return z }
