package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadModelsKeptLiveEqualARebuild(t *testing.T) {
	// Goal: the read models the projector keeps while the four surfaces
	// write (creations with every kind of creation fact, updates, lifecycle,
	// prices, deletes, changes of participants and of from/to, LaML routing
	// by Url, Twiml and ApplicationSid, keyed and unkeyed requests) are
	// byte for byte those a
	// rebuild from the log produces: whatever shortcut the live path takes,
	// the log alone determines the read models.
	ts := newTestServer(t)
	swapRoles := strings.NewReplacer("+14155550001", "+14155550002", "+14155550002", "+14155550001")
	ok := func(res response) response {
		t.Helper()
		require.Less(t, res.Status, 300, "%s", res.Body)
		return res
	}
	for i := range 12 {
		pid := fmt.Sprintf("live-%d", i)
		seed := strings.Replace(seedUpsert, "openphone_id_000000000006", pid, 1)
		var headers []string
		if i%3 == 0 {
			headers = []string{"Idempotency-Key", "k-" + pid}
		}
		id := ok(ts.do(t, "POST", "/calls/upsert", tokenA, seed, headers...)).JSON(t)["id"].(string)
		ok(ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, fmt.Sprintf(`{"notes":"note %d","contact":{"id":"c-%d","first_name":"Ada"}}`, i, i)))
		if i%4 == 0 {
			ok(ts.do(t, "DELETE", "/v1/calls/"+id, tokenA, ""))
		}

		vc := ok(ts.do(t, "POST", "/v1/voice-calls", tokenA, voiceCallBody(t, "vg-"+pid, nil))).JSON(t)["id"].(string)
		ok(ts.do(t, "PUT", "/v1/voice-calls/"+vc, tokenA, voiceCallBody(t, "vg-"+pid, map[string]any{
			"status": "ANSWERED_BY_STAFF", "totalPrice": fmt.Sprintf("%d.50", i),
		})))

		// LaML calls routed by each of Url, Twiml and ApplicationSid, then
		// redirected by the others or canceled.
		routes := [][]string{
			{"Url", "https://example.com/twiml"},
			{"Twiml", fmt.Sprintf("<Response><Say>call %d</Say></Response>", i)},
			{"ApplicationSid", fmt.Sprintf("AP%032d", i)},
		}
		sid := ok(ts.lamlDo(t, "POST", lamlCallsPath(lamlPrefix, acctA)+".json", acctA, tokenA,
			formBody(append([]string{"From", "+14155550148", "To", "+14155550901"}, routes[i%3]...)...))).JSON(t)["sid"].(string)
		if i%2 == 0 {
			ok(ts.lamlDo(t, "POST", lamlCallsPath(lamlPrefix, acctA)+"/"+sid+".json", acctA, tokenA, formBody("Status", "canceled")))
		} else {
			ok(ts.lamlDo(t, "POST", lamlCallsPath(lamlPrefix, acctA)+"/"+sid+".json", acctA, tokenA,
				fmt.Sprintf(`{"twiml": "<Response><Hangup/></Response>", "application_sid": "AP%032d"}`, i+1)))
		}
		ok(ts.do(t, "POST", "/calls/upsert", tokenB, moonbaseBody(pid, "ringing")))
		if i%2 == 1 {
			ok(ts.do(t, "POST", "/calls/upsert", tokenB, swapRoles.Replace(moonbaseBody(pid, "ringing"))))
			ok(ts.do(t, "PUT", "/v1/voice-calls/"+vc, tokenA, voiceCallBody(t, "vg-"+pid, map[string]any{
				"from": "+14155550901", "to": fmt.Sprintf("+1415555%04d", i),
			})))
		}
	}
	ts.requireRebuildMatchesLive(t)
	require.Equal(t, http.StatusOK, ts.do(t, "GET", "/calls?limit=100", tokenA, "").Status)
}

// requireRebuildMatchesLive waits until the projector has applied the
// whole log, rebuilds the read models from the log and requires them to be
// identical (Digest) to those the projector kept live. The wait matters: a
// write's answer does not wait for the projector, so a digest taken right
// after it may miss the write's events and differ from the rebuild for that
// reason alone.
func (ts *testServer) requireRebuildMatchesLive(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	pos, _, err := ts.store.Head(ctx)
	require.NoError(t, err)
	require.NoError(t, ts.proj.WaitFor(ctx, pos))
	live, err := ts.proj.Digest(ctx)
	require.NoError(t, err)
	_, err = ts.proj.Rebuild(ctx)
	require.NoError(t, err)
	rebuilt, err := ts.proj.Digest(ctx)
	require.NoError(t, err)
	require.Equal(t, live, rebuilt, "a rebuild gives the read models kept live")
}
