package api

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// The fuzz targets in this file drive each surface's pure write path:
// decode the request body into domain commands, then Decide them against
// calls in every lifecycle state. Unlike the targets that go through the
// whole HTTP server (FuzzMoonbaseUpsert, ...), they run no background
// goroutines, so coverage is deterministic and `go test -fuzz` explores
// instead of stalling. What they hold for every input:
//   - decoding and deciding never panic;
//   - every refusal is a client error (4xx in the status table), never an
//     internal one;
//   - every accepted event applies to the call (no broken invariant) and
//     survives the stored encoding byte for byte.

var fuzzNow = time.Date(2025, 2, 17, 16, 0, 0, 0, time.UTC)

const fuzzAccount = "acct-fuzz"

// fuzzStates returns the call id as it is in each lifecycle state: absent,
// ringing, in progress, completed and deleted, built through Decide.
func fuzzStates(t testing.TB, id uuid.UUID, provider, providerID string) []domain.State {
	t.Helper()
	inbound, from, to := domain.DirectionInbound, "+14155551212", "+16505551212"
	ringing, start := domain.StatusRinging, fuzzNow.Add(-time.Hour)
	steps := []domain.Command{
		&domain.UpsertCall{Mode: domain.UpsertCreate, CallID: id, AccountID: fuzzAccount, Now: fuzzNow,
			Provider: provider, ProviderID: providerID, Direction: &inbound, From: &from, To: &to,
			StartedAt: &start, Status: &ringing},
		domain.AnswerCall{CallID: id, AccountID: fuzzAccount, Now: fuzzNow.Add(-50 * time.Minute)},
		domain.TerminateCall{CallID: id, AccountID: fuzzAccount, Now: fuzzNow.Add(-40 * time.Minute)},
		domain.DeleteCall{CallID: id, AccountID: fuzzAccount, Now: fuzzNow.Add(-30 * time.Minute)},
	}
	states := []domain.State{{}}
	st := domain.State{}
	for _, cmd := range steps {
		events, err := domain.Decide(st, cmd)
		if err != nil {
			t.Fatalf("building the fuzz states: %T: %v", cmd, err)
		}
		for _, e := range events {
			st = domain.Evolve(st, domain.Envelope{Event: e, Metadata: domain.Metadata{AccountID: fuzzAccount, Time: fuzzNow}})
		}
		states = append(states, st)
	}
	return states
}

// checkDecision runs decide on each state and fails on an internal error,
// an event that does not apply, or an event the stored encoding changes.
func checkDecision(t *testing.T, decide Decider, states []domain.State) {
	t.Helper()
	for _, st := range states {
		events, folded, err := decide(st, fuzzNow)
		if err != nil {
			if p, _ := ProblemOf(err); p.Status >= 500 {
				t.Fatalf("decide on a call at version %d: internal error %v", st.Version, err)
			}
			continue
		}
		for _, e := range events {
			env := domain.Envelope{Event: e, Metadata: domain.Metadata{AccountID: fuzzAccount, Time: fuzzNow}}
			if err := domain.CheckEvolve(st, env); err != nil {
				t.Fatalf("decided %s that does not apply: %v", e.EventType(), err)
			}
			data, err := domain.MarshalEvent(e)
			if err != nil {
				t.Fatalf("marshal %s: %v", e.EventType(), err)
			}
			back, err := domain.UnmarshalEvent(e.EventType(), domain.CurrentSchemaVersion, data)
			if err != nil {
				t.Fatalf("unmarshal %s %s: %v", e.EventType(), data, err)
			}
			again, err := domain.MarshalEvent(back)
			if err != nil || !bytes.Equal(data, again) {
				t.Fatalf("%s does not survive its stored encoding:\n%s\n%s", e.EventType(), data, again)
			}
			st = domain.Evolve(st, env)
		}
		if !reflect.DeepEqual(st, folded) {
			t.Fatalf("the decider's state is not its events folded:\n%+v\n%+v", folded, st)
		}
	}
}

// decodeFailure fails the run when a decoding error is not a client error.
func decodeFailure(t *testing.T, err error) {
	t.Helper()
	if p, _ := ProblemOf(err); p.Status >= 500 {
		t.Fatalf("decode: internal error %v", err)
	}
}

func FuzzMoonbaseDecide(f *testing.F) {
	f.Add([]byte(seedUpsert))
	f.Add([]byte(`{"direction":"incoming","participants":[],"provider":"p","provider_id":"x","provider_status":"ringing","start_at":"2025-02-17T15:00:00Z","provider_metadata":{"k":"` + "\xdd" + `"}}`))
	f.Add([]byte(`{"direction":"outgoing","participants":[{"phone":"+14155550100","role":"other"}],"provider":"OpenPhone","provider_id":"p","provider_status":"in_progress","start_at":"2025-02-17T15:00:00+02:00","recordings":[{"content_type":"audio/mpeg","provider_id":"r","url":"https://x.test/r.mp3"}],"transcript":{"cues":[{"from":1.5,"to":2.25,"speaker":"a","text":"hi"}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		cmd, err := DecodeMoonbaseCall(body, fuzzAccount, fuzzNow)
		if err != nil {
			decodeFailure(t, err)
			return
		}
		states := fuzzStates(t, cmd.CallID, cmd.Provider, cmd.ProviderID)
		for _, mode := range []domain.UpsertMode{domain.UpsertCreate, domain.UpsertCreateOrUpdate} {
			c := cmd
			c.Mode = mode
			checkDecision(t, decideCommand(&c), states)
		}
	})
}

func FuzzCallHistoryDecide(f *testing.F) {
	f.Add([]byte(`{"notes":"called back","transferred":true,"contact":{"id":"c1","firstName":"John","lastName":"Doe","isUnknown":false},"syncedWithCrmDate":"2024-03-20T09:15:00.000Z"}`))
	f.Add([]byte(`{"notes":null,"callType":"DIRECT_CALL","caller":{"firstName":"Alice"},"sequenceId":"s"}`))
	id := uuid.MustParse("123e4567-e89b-12d3-a456-426614174000")
	f.Fuzz(func(t *testing.T, body []byte) {
		patch, err := decodeCallHistoryPatch(body, id, fuzzAccount, fuzzNow)
		if err != nil {
			decodeFailure(t, err)
			return
		}
		checkDecision(t, patch.decide, fuzzStates(t, id, "openphone", "p-history"))
	})
}

func FuzzVoiceCallDecide(f *testing.F) {
	f.Add([]byte(`{"staffId":"s1","clientId":"c1","from":"+14155550148","to":"+14155550901","direction":"INBOUND","status":"ANSWERED_BY_STAFF","priceRate":"0.05","totalPrice":"1.50","provider":"VONAGE","sourceId":"call-src-001","duration":120,"summary":"balance","externalLink":"https://example.com/x","appName":"app","recordingId":"r1","externalId":"ext-1"}`))
	f.Add([]byte(`{"staffId":"s1","clientId":"c1","from":"+14155550148","to":"+14155550901","direction":"OUTBOUND","status":"VOICEMAIL_RECEIVED","priceRate":"0","totalPrice":"0.0135","provider":"VONAGE","sourceId":"s2","duration":0,"summary":"","externalLink":"","appName":"","recordingId":"","externalId":"","startedAt":"2025-02-17T10:00:00-05:00"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		cmd, err := decodeVoiceCall(body)
		if err != nil {
			decodeFailure(t, err)
			return
		}
		cmd.AccountID, cmd.Now = fuzzAccount, fuzzNow
		cmd.CallID = domain.CallIDFor(fuzzAccount, voiceCallProvider, cmd.ProviderID)
		states := fuzzStates(t, cmd.CallID, voiceCallProvider, cmd.ProviderID)
		for _, mode := range []domain.UpsertMode{domain.UpsertCreate, domain.UpsertUpdate} {
			c := cmd
			c.Mode = mode
			checkDecision(t, voiceCallDecider(c), states)
		}
	})
}

func FuzzLaMLDecide(f *testing.F) {
	f.Add([]byte("From=%2B14155551212&To=%2B16505551212&Url=https%3A%2F%2Fx.test%2Ftwiml&Status=completed"), false)
	f.Add([]byte(`{"From":"+14155551212","To":"sip:a@b.test","Url":"https://x.test/t","Method":"GET","Status":"canceled","StatusCallback":"https://x.test/cb"}`), true)
	f.Add([]byte("From=%2B14155551212&To=%2B16505551212&Twiml=%3CResponse%3E%3CSay%3Ehi%3C%2FSay%3E%3C%2FResponse%3E&ApplicationSid=AP1"), false)
	f.Add([]byte(`{"from":"+14155551212","to":"+16505551212","twiml":"<Response/>","application_sid":"6ba7b810-9dad-11d1-80b4-00c04fd430c8"}`), true)
	id := uuid.MustParse("ae0525e4-42cc-5953-841e-72c7ab6c7c38")
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		decode := decodeLAMLForm
		if asJSON {
			decode = decodeLAMLJSON
		}
		params, err := decode(body)
		if err != nil {
			decodeFailure(t, err)
			return
		}
		states := fuzzStates(t, id, lamlProvider, "laml-fuzz")
		if _, cmds, err := decodeLAMLUpdate(params, id, fuzzAccount, fuzzNow); err != nil {
			decodeFailure(t, err)
		} else {
			checkDecision(t, decideInOrder(cmds...), states)
		}
		create, err := decodeLAMLCreate(params)
		if err != nil {
			decodeFailure(t, err)
			return
		}
		create.AccountID, create.Now, create.ProviderID = fuzzAccount, fuzzNow, "laml-fuzz"
		create.CallID = id
		checkDecision(t, decideInOrder(&create), states)
	})
}
