package api

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestLAMLSidNamesASignalWireCallByItsProviderID(t *testing.T) {
	// Goal: a call synced to the Moonbase surface as SignalWire's, its
	// provider_id SignalWire's own CallSid, is found on the LaML surface
	// by that CallSid too (read, updated, its recordings listed, deleted),
	// answered under its one ledger id; the alias is the caller's own
	// signalwire calls' only, and a sid that is a call's id is that call.
	const swSid = "2c1b8f0e-7d4a-4b6e-9a3f-5e8d7c6b5a41" // a CallSid as SignalWire mints them
	tests := []struct {
		name       string
		provider   string // of the Moonbase upsert
		providerID string
		sid        string // the {Sid} the LaML client sends
		user, pass string
		wantFound  bool
	}{
		{name: "SignalWire's CallSid", provider: "signalwire", providerID: swSid, sid: swSid,
			user: acctA, pass: tokenA, wantFound: true},
		{name: "a provider id that is no UUID", provider: "SignalWire", providerID: "sw-call-17", sid: "sw-call-17",
			user: acctA, pass: tokenA, wantFound: true},
		{name: "a UUID in upper case names the same CallSid", provider: "signalwire", providerID: swSid, sid: "2C1B8F0E-7D4A-4B6E-9A3F-5E8D7C6B5A41",
			user: acctA, pass: tokenA, wantFound: true},
		{name: "a provider id that is no UUID is matched exactly", provider: "signalwire", providerID: "sw-call-17", sid: "SW-CALL-17",
			user: acctA, pass: tokenA},
		{name: "another provider's call id", provider: "openphone", providerID: swSid, sid: swSid,
			user: acctA, pass: tokenA},
		{name: "another account's call", provider: "signalwire", providerID: swSid, sid: swSid,
			user: acctB, pass: tokenB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			up := ts.do(t, "POST", "/calls/upsert", tokenA, upsertWithStatus(tt.provider, tt.providerID, "in-progress"))
			require.Equal(t, http.StatusOK, up.Status, "body: %s", up.Body)
			id := up.JSON(t)["id"].(string)
			require.Equal(t, domain.CallIDFor(acctA, tt.provider, tt.providerID).String(), id)

			path := lamlCallsPath(lamlPrefix, tt.user) + "/" + tt.sid
			get := ts.lamlDo(t, "GET", path+".json", tt.user, tt.pass, "")
			recordings := ts.lamlDo(t, "GET", path+"/Recordings.json", tt.user, tt.pass, "")
			filtered := ts.lamlDo(t, "GET", lamlAccountPath(lamlPrefix, tt.user)+"/Recordings.json?CallSid="+tt.sid, tt.user, tt.pass, "")
			if !tt.wantFound {
				assert.Equal(t, http.StatusNotFound, get.Status, "body: %s", get.Body)
				assert.Equal(t, http.StatusNotFound, recordings.Status, "body: %s", recordings.Body)
				if _, err := uuid.Parse(tt.sid); err == nil { // a malformed CallSid is a 400
					assert.Equal(t, http.StatusNotFound, filtered.Status, "body: %s", filtered.Body)
				}
				upd := ts.lamlDo(t, "POST", path+".json", tt.user, tt.pass, formBody("Status", "completed"))
				assert.Equal(t, http.StatusNotFound, upd.Status, "body: %s", upd.Body)
				del := ts.lamlDo(t, "DELETE", path+".json", tt.user, tt.pass, "")
				assert.Equal(t, http.StatusNotFound, del.Status, "body: %s", del.Body)
				assert.Equal(t, "in-progress", ts.lamlGet(t, id)["status"], "the call is untouched")
				return
			}
			require.Equal(t, http.StatusOK, get.Status, "body: %s", get.Body)
			assert.Equal(t, id, get.lamlJSON(t)["sid"], "answered under its ledger id")
			assert.Equal(t, ts.lamlGet(t, id)["uri"], get.lamlJSON(t)["uri"])
			assert.Equal(t, http.StatusOK, recordings.Status, "body: %s", recordings.Body)
			if _, err := uuid.Parse(tt.sid); err == nil { // a malformed CallSid is a 400
				assert.Equal(t, http.StatusOK, filtered.Status, "body: %s", filtered.Body)
			}

			upd := ts.lamlDo(t, "POST", path+".json", tt.user, tt.pass, formBody("Status", "completed"))
			require.Equal(t, http.StatusOK, upd.Status, "body: %s", upd.Body)
			assert.Equal(t, id, upd.lamlJSON(t)["sid"])
			assert.Equal(t, "completed", ts.lamlGet(t, id)["status"], "the call was ended")
			assert.Contains(t, ts.eventTypes(t, id), "CallTerminated")

			del := ts.lamlDo(t, "DELETE", path+".json", tt.user, tt.pass, "")
			require.Equal(t, http.StatusNoContent, del.Status, "body: %s", del.Body)
			gone := ts.lamlDo(t, "GET", path+".json", tt.user, tt.pass, "")
			assert.Equal(t, http.StatusNotFound, gone.Status, "body: %s", gone.Body)
		})
	}
}

func TestLAMLSidOfACallIsThatCall(t *testing.T) {
	// Goal: a {Sid} that is the id of one of the caller's calls is that
	// call, even when it is also the provider id of a signalwire call of
	// the account: the alias is read only where the id names no call.
	ts := newTestServer(t)
	first := ts.do(t, "POST", "/calls/upsert", tokenA, upsertWithStatus("openphone", "op-1", "in-progress"))
	require.Equal(t, http.StatusOK, first.Status, "body: %s", first.Body)
	id := first.JSON(t)["id"].(string)
	// A signalwire call whose provider id is the openphone call's id: a
	// call of its own (resolveCallSid redirects signalwire calls' only).
	second := ts.do(t, "POST", "/calls/upsert", tokenA, callSidUpsert("signalwire", id))
	require.Equal(t, http.StatusOK, second.Status, "body: %s", second.Body)
	require.NotEqual(t, id, second.JSON(t)["id"])

	path := lamlCallsPath(lamlPrefix, acctA) + "/" + id + ".json"
	get := ts.lamlDo(t, "GET", path, acctA, tokenA, "")
	require.Equal(t, http.StatusOK, get.Status, "body: %s", get.Body)
	assert.Equal(t, id, get.lamlJSON(t)["sid"])
	assert.Equal(t, "in-progress", get.lamlJSON(t)["status"])

	upd := ts.lamlDo(t, "POST", path, acctA, tokenA, formBody("Status", "completed"))
	require.Equal(t, http.StatusOK, upd.Status, "body: %s", upd.Body)
	assert.Equal(t, id, upd.lamlJSON(t)["sid"], "the write went to the call of that id")
}
