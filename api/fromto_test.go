package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// fromToUpsert is a Moonbase upsert of provider call pid with one caller
// and one callee, in seed 000's shape.
func fromToUpsert(provider, pid, direction, caller, callee string) string {
	return fmt.Sprintf(`{"direction":%q,"provider":%q,"provider_id":%q,"provider_status":"completed",
"start_at":"2025-02-17T15:00:00Z","participants":[{"phone":%q,"role":"caller"},{"phone":%q,"role":"callee"}]}`,
		direction, provider, pid, caller, callee)
}

// lamlListed reports whether the LaML list of acctA filtered by one
// parameter holds the call sid.
func (ts *testServer) lamlListed(t *testing.T, param, value, sid string) bool {
	t.Helper()
	res := ts.lamlDo(t, "GET", lamlCallsPath(lamlPrefix, acctA)+".json?"+url.Values{param: {value}}.Encode(), acctA, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	for _, c := range res.JSON(t)["calls"].([]any) {
		if c.(map[string]any)["sid"] == sid {
			return true
		}
	}
	return false
}

func TestFromToFollowParticipantsOnEverySurface(t *testing.T) {
	// Goal: after a write that changes a call's participants (Moonbase) or
	// its from and to (VoiceCall), every surface tells the same parties:
	// Moonbase's caller and callee are LaML's and VoiceCall's from and to,
	// call history's numbers by direction, and the LaML list's From and To
	// filters find the call by the new numbers only.
	const (
		a = "+14155551212"
		b = "+16505551212"
		c = "+16505550000"
	)
	type request struct{ method, path, body string }
	upsert := func(body string) request { return request{"POST", "/calls/upsert", body} }
	ts := newTestServer(t)
	for i, tc := range []struct {
		name           string
		provider       string
		create, change func(pid, id string) request
		caller, callee string
		direction      domain.Direction
	}{
		{
			name: "Moonbase seed upsert, then the roles and the direction swapped", provider: "openphone",
			create: func(pid, _ string) request {
				return upsert(strings.Replace(seedUpsert, "openphone_id_000000000006", pid, 1))
			},
			change: func(pid, _ string) request { return upsert(fromToUpsert("openphone", pid, "outgoing", b, a)) },
			caller: b, callee: a, direction: domain.DirectionOutbound,
		},
		{
			name: "Moonbase upsert with a new callee", provider: "openphone",
			create: func(pid, _ string) request { return upsert(fromToUpsert("openphone", pid, "incoming", a, b)) },
			change: func(pid, _ string) request { return upsert(fromToUpsert("openphone", pid, "incoming", a, c)) },
			caller: a, callee: c, direction: domain.DirectionInbound,
		},
		{
			name: "VoiceCall PUT swaps from and to of a Moonbase call", provider: "vonage",
			create: func(pid, _ string) request { return upsert(fromToUpsert("vonage", pid, "incoming", a, b)) },
			change: func(pid, id string) request {
				return request{"PUT", "/v1/voice-calls/" + id, voiceCallBody(t, pid, map[string]any{"from": b, "to": a})}
			},
			caller: b, callee: a, direction: domain.DirectionInbound,
		},
		{
			name: "VoiceCall POST, then Moonbase swaps the roles", provider: "vonage",
			create: func(pid, _ string) request {
				return request{"POST", "/v1/voice-calls", voiceCallBody(t, pid, map[string]any{"from": a, "to": b})}
			},
			change: func(pid, _ string) request { return upsert(fromToUpsert("vonage", pid, "outgoing", b, a)) },
			caller: b, callee: a, direction: domain.DirectionOutbound,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pid := fmt.Sprintf("fromto-%d", i)
			id := domain.CallIDFor(acctA, tc.provider, pid).String()
			for _, req := range []request{tc.create(pid, id), tc.change(pid, id)} {
				res := ts.do(t, req.method, req.path, tokenA, req.body)
				require.Less(t, res.Status, 300, "%s %s: %s", req.method, req.path, res.Body)
			}

			mb := ts.do(t, "GET", "/calls/"+id, tokenA, "")
			require.Equal(t, http.StatusOK, mb.Status, "body: %s", mb.Body)
			roles := map[string]any{}
			for _, p := range mb.JSON(t)["participants"].([]any) {
				roles[p.(map[string]any)["role"].(string)] = p.(map[string]any)["phone"]
			}
			assert.Equal(t, map[string]any{"caller": tc.caller, "callee": tc.callee}, roles, "Moonbase participants")

			l := ts.lamlGet(t, id)
			assert.Equal(t, []any{tc.caller, tc.callee}, []any{l["from"], l["to"]}, "LaML from, to")

			v := ts.voiceCallGet(t, id)
			assert.Equal(t, []any{tc.caller, tc.callee}, []any{v["from"], v["to"]}, "VoiceCall from, to")

			// Call history: phoneNumber is the other party, callerPhoneNumber
			// the account's own number (the caller of an outbound call).
			external, own := tc.caller, tc.callee
			if tc.direction == domain.DirectionOutbound {
				external, own = own, external
			}
			hist := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "")
			require.Equal(t, http.StatusOK, hist.Status, "body: %s", hist.Body)
			h := hist.JSON(t)
			assert.Equal(t, string(tc.direction), h["type"])
			assert.Equal(t, map[string]any{"value": external}, h["phoneNumber"], "call history phoneNumber")
			assert.Equal(t, map[string]any{"value": own}, h["callerPhoneNumber"], "call history callerPhoneNumber")

			for _, n := range []string{a, b, c} {
				assert.Equal(t, n == tc.caller, ts.lamlListed(t, "From", n, id), "LaML list From=%s", n)
				assert.Equal(t, n == tc.callee, ts.lamlListed(t, "To", n, id), "LaML list To=%s", n)
			}
		})
	}
}

func TestFromToNeverShowANumberNoParticipantHolds(t *testing.T) {
	// Goal (QA issue 2): a Moonbase upsert whose participants drop the
	// caller (callee) clears the call's from (to) in the same write, so that
	// no surface shows a number no participant holds: LaML and VoiceCall
	// from/to, call history's numbers and the LaML From/To filters. Several
	// callers are taken as sent, the first being from; a sip: address set on
	// LaML, which no participant can hold, stays beside the participants.
	const (
		a  = "+14155551212"
		a2 = "+14155551213"
		b  = "+16505551212"
	)
	ts := newTestServer(t)
	upsert := func(t *testing.T, ps string) string {
		t.Helper()
		return ts.upsertID(t, `{"direction":"incoming","provider":"openphone","provider_id":"parts-1","provider_status":"completed",
"start_at":"2025-02-17T15:00:00Z","participants":`+ps+`}`)
	}
	for _, step := range []struct {
		name, participants string
		from, to           string // "" for none
	}{
		{"a caller and a callee", `[{"phone":"` + a + `","role":"caller"},{"phone":"` + b + `","role":"callee"}]`, a, b},
		{"two callers and no callee", `[{"phone":"` + a + `","role":"caller"},{"phone":"` + a2 + `","role":"caller"}]`, a, ""},
		{"an other alone", `[{"phone":"` + a + `","role":"other"}]`, "", ""},
		{"a callee again", `[{"phone":"` + b + `","role":"callee"}]`, "", b},
	} {
		t.Run(step.name, func(t *testing.T) {
			id := upsert(t, step.participants)

			l := ts.lamlGet(t, id)
			assert.Equal(t, []any{step.from, step.to}, []any{l["from"], l["to"]}, "LaML from, to")

			v := ts.voiceCallGet(t, id)
			assert.Equal(t, []any{step.from, step.to}, []any{v["from"], v["to"]}, "VoiceCall from, to")

			hist := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "")
			require.Equal(t, http.StatusOK, hist.Status, "body: %s", hist.Body)
			h := hist.JSON(t)
			number := func(n string) map[string]any {
				if n == "" {
					return map[string]any{"value": nil}
				}
				return map[string]any{"value": n}
			}
			assert.Equal(t, number(step.from), h["phoneNumber"], "call history phoneNumber (inbound: the caller)")
			assert.Equal(t, number(step.to), h["callerPhoneNumber"], "call history callerPhoneNumber (inbound: the callee)")

			for _, n := range []string{a, a2, b} {
				assert.Equal(t, n == step.from, ts.lamlListed(t, "From", n, id), "LaML list From=%s", n)
				assert.Equal(t, n == step.to, ts.lamlListed(t, "To", n, id), "LaML list To=%s", n)
			}
		})
	}

	t.Run("a sip from set on LaML stays", func(t *testing.T) {
		sid := ts.createLAMLCall(t, "sip:alice@example.com", b)
		mb := ts.do(t, "GET", "/calls/"+sid, tokenA, "")
		require.Equal(t, http.StatusOK, mb.Status, "body: %s", mb.Body)
		m := mb.JSON(t)
		res := ts.do(t, "POST", "/calls/upsert", tokenA, fmt.Sprintf(`{"direction":"outgoing","provider":%q,"provider_id":%q,
"provider_status":"queued","start_at":%q,"participants":[{"phone":%q,"role":"callee"}]}`, m["provider"], m["provider_id"], m["start_at"], b))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		l := ts.lamlGet(t, sid)
		assert.Equal(t, []any{"sip:alice@example.com", b}, []any{l["from"], l["to"]}, "LaML from, to")
	})
}
