package api

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLAMLDeleteCall checks DELETE .../Calls/{Sid}, which Twilio clients'
// remove() sends: a 204 with no body that soft-deletes the call, as DELETE
// /v1/calls/{id} does, so that the LaML, Moonbase and VoiceCall surfaces
// answer 404 for it and leave it out of their lists, while /v1/calls/{id}
// shows it with deletedAt and its events stay; under both prefixes, with
// and without .json. Another account's call, an unknown sid and a second
// delete append nothing.
func TestLAMLDeleteCall(t *testing.T) {
	ts := newTestServer(t)
	for i, prefix := range lamlPrefixes {
		for j, suffix := range []string{"", ".json"} {
			sid := ts.createLAMLCall(t, "+14155550100", "+1415555020"+string(rune('0'+2*i+j)))
			calls := lamlCallsPath(prefix, acctA)
			n := len(ts.events(t))

			assertLAMLError(t, ts.lamlDo(t, "DELETE", lamlCallsPath(prefix, acctB)+"/"+sid+suffix, acctB, tokenB, ""), http.StatusNotFound, 20404)
			assertLAMLError(t, ts.lamlDo(t, "DELETE", calls+"/"+uuid.NewString()+suffix, acctA, tokenA, ""), http.StatusNotFound, 20404)
			require.Len(t, ts.events(t), n, "another account's call and an unknown sid: nothing appended")

			res := ts.lamlDo(t, "DELETE", calls+"/"+sid+suffix, acctA, tokenA, "")
			require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
			assert.Empty(t, res.Body)
			assert.NotEmpty(t, res.Header.Get("ETag"))
			assert.Equal(t, "CallDeleted", ts.eventTypes(t, sid)[len(ts.eventTypes(t, sid))-1])

			assertLAMLError(t, ts.lamlDo(t, "GET", calls+"/"+sid+".json", acctA, tokenA, ""), http.StatusNotFound, 20404)
			assert.NotContains(t, ts.lamlListSIDs(t, nil), sid, "left out of the list")
			assert.Equal(t, http.StatusNotFound, ts.do(t, "GET", "/calls/"+sid, tokenA, "").Status)
			history := ts.do(t, "GET", "/v1/calls/"+sid, tokenA, "")
			require.Equal(t, http.StatusOK, history.Status, "body: %s", history.Body)
			assert.NotNil(t, history.JSON(t)["deletedAt"])

			n = len(ts.events(t))
			again := ts.lamlDo(t, "DELETE", calls+"/"+sid+suffix, acctA, tokenA, "")
			assert.Equal(t, http.StatusConflict, again.Status, "a write to a deleted call: %s", again.Body)
			assert.Len(t, ts.events(t), n)
		}
	}
}
