package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTimeTravelOnEverySurface checks, through the real router, that every
// surface's GET answers ?revision=N and ?as_of=T with the call as it was
// then: the ETag is the revision folded to, a later change is absent, and
// a moment before the call existed is a 404; as_of takes a lower-case "t"
// and "z" and refuses a time without an offset with a 400 naming it.
func TestTimeTravelOnEverySurface(t *testing.T) {
	ts := newTestServer(t)
	before := time.Now().UTC().Add(-time.Second)

	res := ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	id := res.JSON(t)["id"].(string)
	types := ts.eventTypes(t, id)
	require.NotEmpty(t, types)
	created := len(types) - 1 // revision of the upsert's last event

	time.Sleep(5 * time.Millisecond) // a clear gap for as_of between the two writes
	between := time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes": "called back"}`)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	latest := len(ts.eventTypes(t, id)) - 1
	require.Greater(t, latest, created)

	get := func(path string) response { return ts.getAsA(t, path) }
	surfaces := map[string]string{
		"Moonbase":    "/calls/" + id,
		"CallHistory": "/v1/calls/" + id,
		"VoiceCall":   "/v1/voice-calls/" + id,
		"LaML":        lamlCallsPath("/api/laml", acctA) + "/" + id + ".json",
	}
	for name, path := range surfaces {
		t.Run(name, func(t *testing.T) {
			now := get(path)
			require.Equal(t, http.StatusOK, now.Status, string(now.Body))
			assert.Equal(t, ETag(uint64(latest)), now.Header.Get("ETag"))

			atCreation := get(path + "?revision=" + strconv.Itoa(created))
			require.Equal(t, http.StatusOK, atCreation.Status, string(atCreation.Body))
			assert.Equal(t, ETag(uint64(created)), atCreation.Header.Get("ETag"))

			asOf := get(path + "?as_of=" + url.QueryEscape(between.Format(time.RFC3339Nano)))
			require.Equal(t, http.StatusOK, asOf.Status, string(asOf.Body))
			assert.Equal(t, ETag(uint64(created)), asOf.Header.Get("ETag"))
			// RFC 3339 allows "t" and "z" in lower case (section 5.6).
			lower := get(path + "?as_of=" + url.QueryEscape(strings.ToLower(between.Format(time.RFC3339Nano))))
			require.Equal(t, http.StatusOK, lower.Status, string(lower.Body))
			assert.Equal(t, ETag(uint64(created)), lower.Header.Get("ETag"))
			noOffset := get(path + "?as_of=" + strings.ToLower(between.Format("2006-01-02T15:04:05")))
			assert.Equal(t, http.StatusBadRequest, noOffset.Status, string(noOffset.Body))
			assert.Contains(t, string(noOffset.Body), "as_of")

			assert.Equal(t, http.StatusNotFound, get(path+"?as_of="+url.QueryEscape(before.Format(time.RFC3339Nano))).Status)
			assert.Equal(t, http.StatusNotFound, get(path+"?revision="+strconv.Itoa(latest+1)).Status)
			assert.Equal(t, http.StatusBadRequest, get(path+"?revision=minus-one").Status)
		})
	}

	// The change made after creation is visible now and absent then.
	assert.Equal(t, "called back", ts.do(t, "GET", "/v1/calls/"+id, tokenA, "").JSON(t)["notes"])
	assert.Nil(t, ts.do(t, "GET", "/v1/calls/"+id+"?revision="+strconv.Itoa(created), tokenA, "").JSON(t)["notes"])
}

// TestTimeTravelBetweenCreationEvents: a call read at revision 0 of a
// creation appended as several events (LaML's: the call, then its queued
// status) has no status yet; every surface shows it as queued, a word of
// its own vocabulary, never "".
func TestTimeTravelBetweenCreationEvents(t *testing.T) {
	ts := newTestServer(t)
	id := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	require.Greater(t, len(ts.eventTypes(t, id)), 1, "the creation is more than one event")
	for _, tc := range []struct {
		name, path, field, want string
	}{
		{"Moonbase", "/calls/" + id, "provider_status", "queued"},
		{"CallHistory", "/v1/calls/" + id, "status", "queued"},
		{"VoiceCall", "/v1/voice-calls/" + id, "status", "INCOMING_CALL"},
		{"LaML", lamlCallsPath("/api/laml", acctA) + "/" + id + ".json", "status", "queued"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.getAsA(t, tc.path+"?revision=0")
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			assert.Equal(t, ETag(0), res.Header.Get("ETag"))
			assert.Equal(t, tc.want, res.JSON(t)[tc.field], string(res.Body))
		})
	}
}

// TestListsRefuseTimeTravel checks that the lists answer ?revision and
// ?as_of with a 400 naming the parameter, in each surface's style, rather
// than the present calls: time travel is per call.
func TestListsRefuseTimeTravel(t *testing.T) {
	ts := newTestServer(t)
	ts.createLAMLCall(t, "+14155550100", "+14155550101")
	for _, list := range []string{"/calls", lamlCallsPath("/api/laml", acctA) + ".json"} {
		for _, param := range []string{"as_of=2000-01-01T00:00:00Z", "revision=abc", "revision=0"} {
			t.Run(list+"?"+param, func(t *testing.T) {
				res := ts.getAsA(t, list+"?"+param)
				require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
				name, _, _ := strings.Cut(param, "=")
				assert.Contains(t, string(res.Body), name)
				assert.Contains(t, string(res.Body), "as they are now")
			})
		}
	}
}

// getAsA GETs path as account A: with Basic auth on a LaML path, a Bearer
// token on the others.
func (ts *testServer) getAsA(t *testing.T, path string) response {
	t.Helper()
	if u, _ := url.Parse(path); len(u.Path) > 4 && u.Path[:4] == "/api" {
		return ts.lamlDo(t, "GET", path, acctA, tokenA, "")
	}
	return ts.do(t, "GET", path, tokenA, "")
}

// TestWritesRefuseTimeTravel checks that a write given ?revision or
// ?as_of is a 400 naming the parameter, in the surface's style, and
// appends nothing, where it applied to the call as it is now: a DELETE of
// a URL whose GET says the call did not exist yet deleted it (an auditor
// probe).
func TestWritesRefuseTimeTravel(t *testing.T) {
	ts := newTestServer(t)
	id := ts.upsertID(t, moonbaseBody("tt-write", "completed"))
	vc := ts.createVoiceCall(t, tokenA, "tt-vc", nil)
	sid := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	calls := lamlCallsPath(lamlPrefix, acctA)
	n := len(ts.events(t))
	for _, tc := range []struct {
		style        errorStyle
		method, path string
		body         string
		param        string
	}{
		{styleMoonbase, "POST", "/calls/upsert?revision=0", moonbaseBody("tt-write", "completed"), "revision"},
		{styleMoonbase, "POST", "/calls?as_of=2000-01-01T00:00:00Z", moonbaseBody("tt-new", "completed"), "as_of"},
		{styleCallHistory, "PATCH", "/v1/calls/" + id + "?revision=0", `{"notes":"x"}`, "revision"},
		{styleCallHistory, "DELETE", "/v1/calls/" + id + "?as_of=2000-01-01T00:00:00Z", "", "as_of"},
		{styleVoiceCall, "PUT", "/v1/voice-calls/" + vc + "?revision=0", voiceCallBody(t, "tt-vc", nil), "revision"},
		{styleLaML, "POST", calls + "/" + sid + ".json?revision=0", "Status=canceled", "revision"},
		{styleLaML, "DELETE", calls + "/" + sid + ".json?as_of=2000-01-01T00:00:00Z", "", "as_of"},
	} {
		res := ts.doInStyle(t, tc.style, tc.method, tc.path, tc.body)
		assert.Equal(t, http.StatusBadRequest, res.Status, "%s %s: %s", tc.method, tc.path, res.Body)
		assert.Contains(t, string(res.Body), "a write applies to the call as it is now", "%s %s", tc.method, tc.path)
		assert.Contains(t, string(res.Body), tc.param, "%s %s", tc.method, tc.path)
	}
	assert.Len(t, ts.events(t), n, "nothing appended")
	res := ts.do(t, "GET", "/calls/"+id+"?revision=0", tokenA, "")
	assert.Equal(t, http.StatusOK, res.Status, "reads still travel: %s", res.Body)

	// The refusal comes after the credentials, and only for a route that
	// serves the write: a 401, 404 or 405 is answered as without the
	// parameter (a verification probe saw 400s before them).
	for _, tc := range []struct {
		method, path, token string
		status              int
	}{
		{"POST", "/calls/upsert?revision=1", "", http.StatusUnauthorized},
		{"POST", "/calls/nope/x?revision=1", tokenA, http.StatusNotFound},
		{"PUT", "/calls/upsert?revision=1", tokenA, http.StatusMethodNotAllowed},
		{"OPTIONS", "/v1/calls/" + id + "?revision=1", tokenA, http.StatusMethodNotAllowed},
		{"DELETE", "/v1/voice-calls/" + vc + "?as_of=2000-01-01T00:00:00Z", tokenA, http.StatusMethodNotAllowed},
	} {
		res := ts.do(t, tc.method, tc.path, tc.token, "")
		assert.Equal(t, tc.status, res.Status, "%s %s: %s", tc.method, tc.path, res.Body)
	}
	res = ts.lamlDo(t, "POST", lamlCallsPath(lamlPrefix, acctB)+".json?revision=1", acctA, tokenA, "")
	assertLAMLError(t, res, http.StatusUnauthorized, 20003)

	// A keyed write refused so records nothing under its key: the
	// corrected request runs.
	body := moonbaseBody("tt-keyed", "completed")
	res = ts.do(t, "POST", "/calls/upsert?revision=0", tokenA, body, "Idempotency-Key", "tt-key")
	require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
	res = ts.do(t, "POST", "/calls/upsert", tokenA, body, "Idempotency-Key", "tt-key")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Empty(t, res.Header.Get("Idempotent-Replayed"))
}
