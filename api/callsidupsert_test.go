package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// callSidUpsert is a Moonbase upsert of a completed call of provider
// provider with provider_id providerID, between the numbers
// createLAMLCall's calls in this file use.
func callSidUpsert(provider, providerID string) string {
	return upsertWithStatus(provider, providerID, "completed")
}

// upsertWithStatus is a Moonbase upsert of an answered call of provider
// provider with provider_id providerID and provider_status status, ended
// a minute after it started when status is completed.
func upsertWithStatus(provider, providerID, status string) string {
	end := ""
	if status == "completed" {
		end = `"end_at": "2025-02-17T15:01:00Z",`
	}
	return fmt.Sprintf(`{
  "direction": "outgoing", "provider": %q, "provider_id": %q,
  "provider_status": %q, "start_at": "2025-02-17T15:00:00Z",
  "answered_at": "2025-02-17T15:00:05Z", %s
  "participants": [{"phone": "+14155550100", "role": "caller"}, {"phone": "+14155550101", "role": "callee"}]
}`, provider, providerID, status, end)
}

func TestMoonbaseUpsertAddressesALaMLCallByItsCallSid(t *testing.T) {
	// Goal: a client that created a call on the LaML surface and syncs it
	// to the Moonbase surface as SignalWire's (provider "signalwire",
	// provider_id its CallSid, the only id of it the client has) updates
	// that call, in any case of the CallSid's hex digits, rather than
	// making a second one; the answer names the call and the provider id it
	// was created with. The CallSid is no provider id to any other
	// account, to another provider, or to POST /calls, which creates only.
	tests := []struct {
		name       string
		token      string
		path       string
		provider   string
		sid        func(string) string
		wantStatus int
		wantSame   bool // the LaML call is the one written
		wantCode   string
	}{
		{name: "the CallSid", token: tokenA, path: "/calls/upsert", provider: "signalwire",
			sid: func(s string) string { return s }, wantStatus: http.StatusOK, wantSame: true},
		{name: "the CallSid in upper case, provider capitalised", token: tokenA, path: "/calls/upsert", provider: "SignalWire",
			sid: strings.ToUpper, wantStatus: http.StatusOK, wantSame: true},
		{name: "another account's CallSid is a provider id of its own", token: tokenB, path: "/calls/upsert", provider: "signalwire",
			sid: func(s string) string { return s }, wantStatus: http.StatusOK},
		{name: "another provider", token: tokenA, path: "/calls/upsert", provider: "openphone",
			sid: func(s string) string { return s }, wantStatus: http.StatusOK},
		{name: "POST /calls creates only", token: tokenA, path: "/calls", provider: "signalwire",
			sid: func(s string) string { return s }, wantStatus: http.StatusConflict, wantCode: "provider_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			sid := ts.createLAMLCall(t, "+14155550100", "+14155550101")
			created := ts.do(t, "GET", "/calls/"+sid, tokenA, "")
			require.Equal(t, http.StatusOK, created.Status, "body: %s", created.Body)
			mintedProviderID := created.JSON(t)["provider_id"].(string)
			require.NotEqual(t, sid, mintedProviderID)

			res := ts.do(t, "POST", tt.path, tt.token, callSidUpsert(tt.provider, tt.sid(sid)))
			require.Equal(t, tt.wantStatus, res.Status, "body: %s", res.Body)
			laml := ts.lamlDo(t, "GET", lamlCallsPath(lamlPrefix, acctA)+"/"+sid+".json", acctA, tokenA, "")
			require.Equal(t, http.StatusOK, laml.Status, "body: %s", laml.Body)
			if tt.wantCode != "" {
				assert.Contains(t, string(res.Body), tt.wantCode)
				assert.Equal(t, "queued", laml.lamlJSON(t)["status"], "the refused write changed nothing")
				return
			}
			got := res.JSON(t)
			if tt.wantSame {
				assert.Equal(t, sid, got["id"])
				assert.Equal(t, mintedProviderID, got["provider_id"], "the provider id the call was created with")
				assert.Equal(t, "completed", laml.lamlJSON(t)["status"], "the LaML call was ended")
				assert.Equal(t, []string{sid}, ts.lamlListSIDs(t, nil), "no second call")
				return
			}
			account := acctA
			if tt.token == tokenB {
				account = acctB
			}
			assert.Equal(t, domain.CallIDFor(account, tt.provider, tt.sid(sid)).String(), got["id"])
			assert.Equal(t, tt.sid(sid), got["provider_id"])
			assert.Equal(t, "queued", laml.lamlJSON(t)["status"], "the LaML call is untouched")
		})
	}
}

func TestMoonbaseUpsertOfAnotherProvidersCallIDAsCallSid(t *testing.T) {
	// Goal: the id of a call of another provider, sent as a signalwire
	// provider_id, is a provider id like any other: a call of its own,
	// the other call untouched.
	ts := newTestServer(t)
	other := ts.do(t, "POST", "/calls/upsert", tokenA, callSidUpsert("openphone", "op-1"))
	require.Equal(t, http.StatusOK, other.Status, "body: %s", other.Body)
	id := other.JSON(t)["id"].(string)

	res := ts.do(t, "POST", "/calls/upsert", tokenA, callSidUpsert("signalwire", id))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Equal(t, domain.CallIDFor(acctA, "signalwire", id).String(), res.JSON(t)["id"])
	assert.Len(t, ts.eventTypes(t, id), 3, "the openphone call keeps its creation's events only")
}
