package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAnotherAccountsCallLooksUnknown checks that another account's call,
// and a recording of it, answer exactly as ids that name nothing do, on
// every surface's GET at every point in time: a 404 whose body differs only
// by the id asked for. Call ids are derived from (account, provider,
// provider id), so anyone can compute the id of another account's provider
// call; a 404 that named a revision the call does not have yet ("its last
// is 2"), a time before it existed, or the call that holds a recording told
// them that the call exists, how many events it has, and which call it is.
func TestAnotherAccountsCallLooksUnknown(t *testing.T) {
	ts := newTestServer(t)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := res.JSON(t)["id"].(string)
	recs := ts.lamlDo(t, "GET", lamlCallsPath(lamlPrefix, acctA)+"/"+id+"/Recordings.json", acctA, tokenA, "")
	require.Equal(t, http.StatusOK, recs.Status, "body: %s", recs.Body)
	rsid := recs.JSON(t)["recordings"].([]any)[0].(map[string]any)["sid"].(string)
	n := len(ts.events(t))

	// unknownAs asks, as account B, for path with {id} replaced by id and
	// then by an id no call has, and checks both answers alike.
	unknownAs := func(t *testing.T, path, id string, send func(path string) response) {
		t.Helper()
		unknown := uuid.NewString()
		got := send(strings.ReplaceAll(path, "{id}", id))
		want := send(strings.ReplaceAll(path, "{id}", unknown))
		require.Equal(t, http.StatusNotFound, want.Status, "an unknown id: %s", want.Body)
		assert.Equal(t, want.Status, got.Status, "body: %s", got.Body)
		assert.Equal(t, strings.ReplaceAll(string(want.Body), unknown, "ID"), strings.ReplaceAll(string(got.Body), id, "ID"))
	}
	bearer := func(path string) response { return ts.do(t, "GET", path, tokenB, "") }
	basic := func(path string) response { return ts.lamlDo(t, "GET", path, acctB, tokenB, "") }
	points := []string{"", "?revision=0", "?revision=2", "?revision=99",
		"?as_of=2000-01-01T00:00:00Z", "?as_of=2999-01-01T00:00:00Z"}
	for _, point := range points {
		for _, path := range []string{"/calls/{id}", "/v1/calls/{id}", "/v1/voice-calls/{id}", "/v1/calls/{id}/events"} {
			t.Run(path+point, func(t *testing.T) { unknownAs(t, path+point, id, bearer) })
		}
		for _, prefix := range lamlPrefixes {
			calls := lamlCallsPath(prefix, acctB)
			account := lamlAccountPath(prefix, acctB)
			for _, path := range []string{calls + "/{id}.json", calls + "/{id}/Recordings.json"} {
				t.Run(path+point, func(t *testing.T) { unknownAs(t, path+point, id, basic) })
			}
			for _, path := range []string{account + "/Recordings/{id}.json", account + "/Recordings/{id}.mp3"} {
				t.Run(path+point, func(t *testing.T) { unknownAs(t, path+point, rsid, basic) })
			}
		}
	}
	assert.Len(t, ts.events(t), n, "nothing written")
}

// TestWritesToAnotherAccountsCallLookUnknown checks that a write to
// another account's call answers exactly as a write to an id no call has,
// on every surface's write route, with and without If-Match: a missing
// call's 404 names the id field (and If-Match on it is a 412, "the call
// does not exist"), where another account's call answered a 404 of its
// own wording, and If-Match on it a 404 rather than the 412, telling
// whoever computed the id of another account's provider call that it
// exists.
func TestWritesToAnotherAccountsCallLookUnknown(t *testing.T) {
	ts := newTestServer(t)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := res.JSON(t)["id"].(string)
	n := len(ts.events(t))

	type write struct {
		method, path, body string
		laml               bool
	}
	writes := []write{
		{"PATCH", "/v1/calls/{id}", `{"notes":"x"}`, false},
		{"DELETE", "/v1/calls/{id}", "", false},
		{"PUT", "/v1/voice-calls/{id}", voiceCallBody(t, "vonage-other", nil), false},
	}
	for _, prefix := range lamlPrefixes {
		calls := lamlCallsPath(prefix, acctB)
		writes = append(writes,
			write{"POST", calls + "/{id}.json", "StatusCallback=https://example.com/cb", true},
			write{"POST", calls + "/{id}.json", "Status=completed", true},
			write{"DELETE", calls + "/{id}.json", "", true})
	}
	send := func(w write, path string, headers ...string) response {
		if w.laml {
			return ts.lamlDo(t, w.method, path, acctB, tokenB, w.body, headers...)
		}
		return ts.do(t, w.method, path, tokenB, w.body, headers...)
	}
	for _, w := range writes {
		for _, ifMatch := range []string{"", `"0"`, `"5"`, "*"} {
			t.Run(w.method+" "+w.path+" "+w.body+" If-Match "+ifMatch, func(t *testing.T) {
				var headers []string
				if ifMatch != "" {
					headers = []string{"If-Match", ifMatch}
				}
				unknown := uuid.NewString()
				want := send(w, strings.ReplaceAll(w.path, "{id}", unknown), headers...)
				got := send(w, strings.ReplaceAll(w.path, "{id}", id), headers...)
				require.Contains(t, []int{http.StatusNotFound, http.StatusPreconditionFailed}, want.Status, "an unknown id: %s", want.Body)
				assert.Equal(t, want.Status, got.Status, "body: %s", got.Body)
				assert.Equal(t, strings.ReplaceAll(string(want.Body), unknown, "ID"), strings.ReplaceAll(string(got.Body), id, "ID"))
			})
		}
	}
	assert.Len(t, ts.events(t), n, "nothing written")
}
