package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHeadAnswersAsGetWithoutABody holds HEAD on every route a GET reads to
// the GET's status and headers (ETag, Content-Type, Content-Length) with no
// body, on each surface and for its errors alike (a call of no one, a
// request without credentials), and HEAD on a route no GET reads to a 405
// naming the methods it takes. A probe found every HEAD a 405. Every
// answer carries X-Content-Type-Options: nosniff (a security probe found
// none did).
func TestHeadAnswersAsGetWithoutABody(t *testing.T) {
	ts := newTestServer(t)
	id := ts.upsertID(t, moonbaseBody("head-1", "completed"))
	laml := lamlCallsPath(lamlPrefix, acctA)
	missing := "00000000-0000-4000-8000-000000000000"
	n := len(ts.events(t))
	for _, tc := range []struct {
		name, path string
		auth       string // "bearer", "basic" or "" (none)
		status     int
	}{
		{"MoonbaseCall", "/calls/" + id, "bearer", http.StatusOK},
		{"MoonbaseList", "/calls", "bearer", http.StatusOK},
		{"MoonbaseMissing", "/calls/" + missing, "bearer", http.StatusNotFound},
		{"MoonbaseWithoutToken", "/calls/" + id, "", http.StatusUnauthorized},
		{"CallHistory", "/v1/calls/" + id, "bearer", http.StatusOK},
		{"AuditEvents", "/v1/calls/" + id + "/events", "bearer", http.StatusOK},
		{"AsOfARevision", "/v1/calls/" + id + "?revision=0", "bearer", http.StatusOK},
		{"Billing", "/v1/billing/summary", "bearer", http.StatusOK},
		{"LaMLCall", laml + "/" + id + ".json", "basic", http.StatusOK},
		{"LaMLList", laml + ".json", "basic", http.StatusOK},
		{"LaMLRecordings", laml + "/" + id + "/Recordings.json", "basic", http.StatusOK},
		{"LaMLWithoutCredentials", laml + ".json", "", http.StatusUnauthorized},
		{"Health", "/healthz", "", http.StatusOK},
		{"Ready", "/readyz", "", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			send := func(method string) response {
				return routeErrorCase{method: method, path: tc.path, auth: tc.auth}.send(t, ts)
			}
			get, head := send(http.MethodGet), send(http.MethodHead)
			require.Equal(t, tc.status, get.Status, "GET body: %s", get.Body)
			assert.Equal(t, tc.status, head.Status)
			assert.NotEmpty(t, get.Body)
			assert.Empty(t, head.Body)
			assert.Equal(t, "nosniff", get.Header.Get("X-Content-Type-Options"), "every answer forbids sniffing")
			for _, h := range []string{"ETag", "Content-Type", "Content-Length", "WWW-Authenticate", "X-Content-Type-Options"} {
				assert.Equal(t, get.Header.Get(h), head.Header.Get(h), h)
			}
		})
	}

	// A route that no GET reads answers HEAD as it answers GET: a 405.
	res := ts.do(t, http.MethodHead, "/v1/voice-calls", tokenA, "")
	assert.Equal(t, http.StatusMethodNotAllowed, res.Status)
	assert.Equal(t, "POST", res.Header.Get("Allow"))
	// GET /calls/upsert reads the call "upsert", which is no call's id.
	res = ts.do(t, http.MethodHead, "/calls/upsert", tokenA, "")
	assert.Equal(t, ts.do(t, http.MethodGet, "/calls/upsert", tokenA, "").Status, res.Status)

	assert.Len(t, ts.events(t), n, "HEAD writes nothing")
}
