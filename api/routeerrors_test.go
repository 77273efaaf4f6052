package api

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errorStyle is the error body of one surface.
type errorStyle string

const (
	styleMoonbase    errorStyle = "moonbase"     // {"errors": [{"status", "title", "code", "detail", "source"}]}
	styleCallHistory errorStyle = "call history" // {"statusCode", "error", "code", "message", "field"}
	styleVoiceCall   errorStyle = "voicecall"    // the same keys as call history
	styleLaML        errorStyle = "laml"         // Twilio's {"code", "message", "more_info", "status"}
	stylePlain       errorStyle = "plain"        // {"error": {"code", "message", "field"}}
)

// doInStyle sends one request of account A to the surface whose errors
// are in style: with HTTP Basic acctA:tokenA to LaML (lamlDo), with the
// Bearer tokenA to any other (do).
func (ts *testServer) doInStyle(t testing.TB, style errorStyle, method, path, body string, headers ...string) response {
	t.Helper()
	if style == styleLaML {
		return ts.lamlDo(t, method, path, acctA, tokenA, body, headers...)
	}
	return ts.do(t, method, path, tokenA, body, headers...)
}

// assertErrorStyle checks that res is an error of the given status whose
// body is in style, and nothing else: its keys are the style's own. For
// LaML, lamlCode is the Twilio code the body must carry.
func assertErrorStyle(t testing.TB, res response, style errorStyle, status, lamlCode int) {
	t.Helper()
	require.Equal(t, status, res.Status, "body: %s", res.Body)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	assert.NotEmpty(t, res.Header.Get("X-Request-Id"))
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	body := res.JSON(t)
	keys := slices.Sorted(maps.Keys(body))
	switch style {
	case styleMoonbase:
		require.Equal(t, []string{"errors"}, keys, "body: %s", res.Body)
		errs, ok := body["errors"].([]any)
		require.True(t, ok && len(errs) == 1, "body: %s", res.Body)
		e := errs[0].(map[string]any)
		assert.Equal(t, strconv.Itoa(status), e["status"])
		assert.Equal(t, http.StatusText(status), e["title"])
		assert.NotEmpty(t, e["detail"])
	case styleCallHistory, styleVoiceCall:
		assert.Subset(t, []string{"code", "error", "field", "message", "statusCode"}, keys, "body: %s", res.Body)
		assert.Equal(t, float64(status), body["statusCode"])
		assert.Equal(t, http.StatusText(status), body["error"])
		assert.NotEmpty(t, body["message"])
	case styleLaML:
		require.Equal(t, []string{"code", "message", "more_info", "status"}, keys, "body: %s", res.Body)
		assertLAMLError(t, res, status, lamlCode)
	case stylePlain:
		require.Equal(t, []string{"error"}, keys, "body: %s", res.Body)
		e, ok := body["error"].(map[string]any)
		require.True(t, ok, "body: %s", res.Body)
		assert.NotEmpty(t, e["code"])
		assert.NotEmpty(t, e["message"])
	default:
		t.Fatalf("unknown style %q", style)
	}
}

// routeErrorCase is one request that the router, not a handler's decision
// about a call, refuses.
type routeErrorCase struct {
	name   string
	method string
	path   string
	// auth is "bearer" (tokenA), "basic" (acctA:tokenA) or "" (none).
	auth string
	// bodyBytes is the size of the body sent (a form); chunked sends it
	// without a Content-Length.
	bodyBytes int
	chunked   bool
	// encoding is the Content-Encoding header sent, none when "".
	encoding string

	style    errorStyle
	status   int
	lamlCode int
	// allow is the Allow header a 405 must carry.
	allow string
}

// send sends c's request to ts.
func (c routeErrorCase) send(t *testing.T, ts *testServer) response {
	t.Helper()
	var body io.Reader
	if c.bodyBytes > 0 {
		b := strings.NewReader("x=" + strings.Repeat("a", c.bodyBytes-2))
		body = b
		if c.chunked {
			body = io.MultiReader(b) // a reader http.NewRequest cannot measure
		}
	}
	req, err := http.NewRequest(c.method, ts.URL+c.path, body)
	require.NoError(t, err)
	if c.bodyBytes > 0 {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		require.Equal(t, c.chunked, req.ContentLength == 0)
	}
	if c.encoding != "" {
		req.Header.Set("Content-Encoding", c.encoding)
	}
	switch c.auth {
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+tokenA)
	case "basic":
		req.SetBasicAuth(acctA, tokenA)
	}
	return ts.send(t, req)
}

// check sends c's request and asserts its answer.
func (c routeErrorCase) check(t *testing.T, ts *testServer) {
	t.Helper()
	res := c.send(t, ts)
	assertErrorStyle(t, res, c.style, c.status, c.lamlCode)
	if c.status == http.StatusMethodNotAllowed {
		assert.Equal(t, c.allow, res.Header.Get("Allow"))
	}
	if c.status == http.StatusUnauthorized {
		assert.NotEmpty(t, res.Header.Get("WWW-Authenticate"))
	}
	if c.status == http.StatusUnsupportedMediaType {
		assert.Equal(t, "identity", res.Header.Get("Accept-Encoding"))
	}
}

func TestEncodedBodyInSurfaceStyle(t *testing.T) {
	// Goal: a body in a content coding (Content-Encoding: gzip), which the
	// ledger does not undo, is a 415 naming the header in the style of the
	// surface whose route it was sent to, with Accept-Encoding: identity
	// (RFC 9110 section 15.5.16), where a security probe found a 400 for
	// JSON that was not; nothing is written. "identity" is no coding, and a
	// request without a body is not refused for the header.
	ts := newTestServer(t)
	id := newHistoryCall(t, ts, "encoded-1")
	n := len(ts.events(t))
	var cases []routeErrorCase
	for _, coding := range []string{"gzip", "identity, br", "x-custom"} {
		add := func(name, method, path, auth string, style errorStyle, lamlCode int) {
			cases = append(cases, routeErrorCase{name: coding + "/" + name, method: method, path: path, auth: auth,
				bodyBytes: 64, encoding: coding, style: style, status: http.StatusUnsupportedMediaType, lamlCode: lamlCode})
		}
		addBodyRoutes(id, 20001, add)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, ts) })
	}
	res := ts.do(t, "POST", "/calls/upsert", tokenA, "{}", "Content-Encoding", "gzip")
	assert.Equal(t, "Content-Encoding", res.JSON(t)["errors"].([]any)[0].(map[string]any)["source"].(map[string]any)["header"], "body: %s", res.Body)
	assert.Len(t, ts.events(t), n)

	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"plain"}`, "Content-Encoding", "identity")
	assert.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	res = ts.do(t, "GET", "/v1/calls/"+id, tokenA, "", "Content-Encoding", "gzip")
	assert.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
}

// addBodyRoutes calls add with every route that reads a body, writing to
// call id where it names one; lamlCode is the Twilio code LaML's are to
// answer with.
func addBodyRoutes(id string, lamlCode int, add func(name, method, path, auth string, style errorStyle, lamlCode int)) {
	add("moonbase upsert", "POST", "/calls/upsert", "bearer", styleMoonbase, 0)
	add("moonbase create", "POST", "/calls", "bearer", styleMoonbase, 0)
	add("call history patch", "PATCH", "/v1/calls/"+id, "bearer", styleCallHistory, 0)
	add("voicecall create", "POST", "/v1/voice-calls", "bearer", styleVoiceCall, 0)
	add("voicecall update", "PUT", "/v1/voice-calls/"+id, "bearer", styleVoiceCall, 0)
	for _, prefix := range lamlPrefixes {
		add("laml create "+prefix, "POST", lamlCallsPath(prefix, acctA)+".json", "basic", styleLaML, lamlCode)
		add("laml update "+prefix, "POST", lamlCallsPath(prefix, acctA)+"/"+id+".json", "basic", styleLaML, lamlCode)
	}
}

func TestOversizedBodyInSurfaceStyle(t *testing.T) {
	// Goal: a body over the cap is a 413 in the style of the surface whose
	// route it was sent to, whether it announces its length (refused before
	// it is read) or is sent chunked (refused when the read passes the
	// cap), and nothing is written.
	ts := newTestServer(t)
	id := newHistoryCall(t, ts, "oversized-1")
	n := len(ts.events(t))
	big := DefaultBodyBytesMax + 1
	var cases []routeErrorCase
	for _, chunked := range []bool{false, true} {
		mode := "content-length"
		if chunked {
			mode = "chunked"
		}
		add := func(name, method, path, auth string, style errorStyle, lamlCode int) {
			cases = append(cases, routeErrorCase{name: mode + "/" + name, method: method, path: path, auth: auth,
				bodyBytes: big, chunked: chunked, style: style, status: http.StatusRequestEntityTooLarge, lamlCode: lamlCode})
		}
		addBodyRoutes(id, 20413, add)
		if !chunked { // routes that never read a body refuse only what it announces
			add("audit events", "GET", "/v1/calls/"+id+"/events", "bearer", stylePlain, 0)
			add("billing", "GET", "/v1/billing/summary", "bearer", stylePlain, 0)
			add("health", "GET", "/healthz", "", stylePlain, 0)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, ts) })
	}
	assert.Len(t, ts.events(t), n)
}

func TestMalformedQueryInSurfaceStyle(t *testing.T) {
	// Goal: a query string that does not parse (a malformed escape, a ';'
	// separator) is a 400 in the style of the surface whose route it was
	// sent to, naming the fault, rather than a list that silently drops
	// the filter (a LaML To=a%zz listed every call); nothing is written.
	ts := newTestServer(t)
	id := newHistoryCall(t, ts, "query-1")
	n := len(ts.events(t))
	var cases []routeErrorCase
	for _, q := range []string{"To=a%zz", "Status=completed;To=x"} {
		add := func(name, method, path, auth string, style errorStyle, lamlCode int) {
			cases = append(cases, routeErrorCase{name: q + "/" + name, method: method, path: path + "?" + q, auth: auth,
				style: style, status: http.StatusBadRequest, lamlCode: lamlCode})
		}
		add("moonbase list", "GET", "/calls", "bearer", styleMoonbase, 0)
		add("moonbase upsert", "POST", "/calls/upsert", "bearer", styleMoonbase, 0)
		add("call history get", "GET", "/v1/calls/"+id, "bearer", styleCallHistory, 0)
		add("voicecall get", "GET", "/v1/voice-calls/"+id, "bearer", styleVoiceCall, 0)
		add("audit events", "GET", "/v1/calls/"+id+"/events", "bearer", stylePlain, 0)
		add("billing", "GET", "/v1/billing/summary", "bearer", stylePlain, 0)
		for _, prefix := range lamlPrefixes {
			add("laml list "+prefix, "GET", lamlCallsPath(prefix, acctA)+".json", "basic", styleLaML, 20001)
			add("laml recordings "+prefix, "GET", lamlAccountPath(prefix, acctA)+"/Recordings.json", "basic", styleLaML, 20001)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, ts) })
	}
	res := ts.lamlDo(t, "GET", lamlCallsPath(lamlPrefix, acctA)+".json?To=a%zz", acctA, tokenA, "")
	assert.Equal(t, `the query string is malformed: "%zz" is not a valid escape`, res.lamlJSON(t)["message"])
	assert.Len(t, ts.events(t), n)
}

func TestMethodNotAllowedInSurfaceStyle(t *testing.T) {
	// Goal: a method a route does not take is a 405 in its surface's style,
	// with the Allow header listing the methods it takes; a method unknown
	// to the router too. Nothing is written.
	ts := newTestServer(t)
	id := newHistoryCall(t, ts, "method-1")
	n := len(ts.events(t))
	cases := []routeErrorCase{
		{name: "moonbase call", method: "DELETE", path: "/calls/" + id, auth: "bearer", style: styleMoonbase, allow: "GET, HEAD"},
		{name: "moonbase calls", method: "PUT", path: "/calls", auth: "bearer", style: styleMoonbase, allow: "GET, HEAD, POST"},
		{name: "moonbase unknown method", method: "PURGE", path: "/calls/" + id, auth: "bearer", style: styleMoonbase, allow: "GET, HEAD"},
		{name: "call history", method: "PUT", path: "/v1/calls/" + id, auth: "bearer", style: styleCallHistory, allow: "GET, HEAD, PATCH, DELETE"},
		{name: "call history post", method: "POST", path: "/v1/calls/" + id, auth: "bearer", style: styleCallHistory, allow: "GET, HEAD, PATCH, DELETE"},
		{name: "voicecall call", method: "DELETE", path: "/v1/voice-calls/" + id, auth: "bearer", style: styleVoiceCall, allow: "GET, HEAD, PUT"},
		{name: "voicecall calls", method: "GET", path: "/v1/voice-calls", auth: "bearer", style: styleVoiceCall, allow: "POST"},
		{name: "audit events", method: "DELETE", path: "/v1/calls/" + id + "/events", auth: "bearer", style: stylePlain, allow: "GET, HEAD"},
		{name: "billing", method: "POST", path: "/v1/billing/summary", auth: "bearer", style: stylePlain, allow: "GET, HEAD"},
		{name: "health", method: "POST", path: "/healthz", style: stylePlain, allow: "GET, HEAD"},
	}
	for _, prefix := range lamlPrefixes {
		calls := lamlCallsPath(prefix, acctA)
		cases = append(cases,
			routeErrorCase{name: "laml call " + prefix, method: "PUT", path: calls + "/" + id + ".json", auth: "basic", style: styleLaML, lamlCode: 20004, allow: "GET, HEAD, POST, DELETE"},
			routeErrorCase{name: "laml calls " + prefix, method: "PUT", path: calls + ".json", auth: "basic", style: styleLaML, lamlCode: 20004, allow: "GET, HEAD, POST"},
			routeErrorCase{name: "laml recordings " + prefix, method: "POST", path: calls + "/" + id + "/Recordings.json", auth: "basic", style: styleLaML, lamlCode: 20004, allow: "GET, HEAD"},
			routeErrorCase{name: "laml unknown method " + prefix, method: "PURGE", path: calls, auth: "basic", style: styleLaML, lamlCode: 20004, allow: "GET, HEAD, POST"},
		)
	}
	for _, c := range cases {
		c.status = http.StatusMethodNotAllowed
		t.Run(c.name, func(t *testing.T) { c.check(t, ts) })
	}
	assert.Len(t, ts.events(t), n)
}

func TestUnknownPathInSurfaceStyle(t *testing.T) {
	// Goal: a path under a surface's prefix that no route serves is a 404 in
	// the surface's style; only paths of no surface get the plain style.
	// Under a surface that authenticates first, a request without
	// credentials is a 401 in its style, never a hint of what exists.
	ts := newTestServer(t)
	id := newHistoryCall(t, ts, "unknown-path-1")
	cases := []routeErrorCase{
		{name: "moonbase", method: "GET", path: "/calls/" + id + "/nope", auth: "bearer", style: styleMoonbase, status: 404},
		{name: "moonbase without token", method: "GET", path: "/calls/" + id + "/nope", style: styleMoonbase, status: 401},
		{name: "moonbase method without token", method: "DELETE", path: "/calls/" + id, style: styleMoonbase, status: 401},
		{name: "call history list", method: "GET", path: "/v1/calls", auth: "bearer", style: styleCallHistory, status: 404},
		{name: "call history", method: "GET", path: "/v1/calls/" + id + "/nope", auth: "bearer", style: styleCallHistory, status: 404},
		{name: "call history without token", method: "GET", path: "/v1/calls/" + id + "/nope", style: styleCallHistory, status: 401},
		{name: "voicecall", method: "GET", path: "/v1/voice-calls/" + id + "/nope", auth: "bearer", style: styleVoiceCall, status: 404},
		{name: "voicecall without token", method: "GET", path: "/v1/voice-calls/" + id + "/nope", style: styleVoiceCall, status: 401},
		{name: "audit events", method: "GET", path: "/v1/calls/" + id + "/events/nope", auth: "bearer", style: stylePlain, status: 404},
		{name: "no surface", method: "GET", path: "/nope", auth: "bearer", style: stylePlain, status: 404},
		{name: "no surface v1", method: "GET", path: "/v1/nope", auth: "bearer", style: stylePlain, status: 404},
		{name: "laml outside the accounts", method: "GET", path: "/api/laml/nope", style: styleLaML, status: 404, lamlCode: 20404},
		{name: "laml version", method: "GET", path: "/api/laml/2010-04-01/Nope.json", style: styleLaML, status: 404, lamlCode: 20404},
		{name: "twilio version", method: "GET", path: "/2010-04-01/Nope.json", style: styleLaML, status: 404, lamlCode: 20404},
	}
	for _, prefix := range lamlPrefixes {
		call := lamlCallsPath(prefix, acctA) + "/" + id
		cases = append(cases,
			routeErrorCase{name: "laml call subresource " + prefix, method: "GET", path: call + "/Feedback.json", auth: "basic", style: styleLaML, status: 404, lamlCode: 20404},
			routeErrorCase{name: "laml notification " + prefix, method: "GET", path: call + "/Notifications/NO1.json", auth: "basic", style: styleLaML, status: 404, lamlCode: 20404},
			routeErrorCase{name: "laml without credentials " + prefix, method: "GET", path: call + "/Feedback.json", style: styleLaML, status: 401, lamlCode: 20003},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, ts) })
	}
}

func TestPanicInSurfaceStyle(t *testing.T) {
	// Goal: a handler's panic behind a surface's middleware is a 500 in that
	// surface's style that shows nothing of the panic, with the request id.
	ts := newTestServer(t)
	s := ts.api
	for _, tc := range []struct {
		style  errorStyle
		render ErrorRenderer
	}{
		{styleMoonbase, s.moonbaseError},
		{styleCallHistory, s.callHistoryError},
		{styleVoiceCall, s.voiceCallError},
		{styleLaML, s.lamlError},
		{stylePlain, s.plainError},
	} {
		t.Run(string(tc.style), func(t *testing.T) {
			h := s.requestID(s.surface(tc.render)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				panic("secret detail")
			})))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/calls/x", nil))
			res := response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
			assertErrorStyle(t, res, tc.style, http.StatusInternalServerError, 20500)
			assert.NotContains(t, string(res.Body), "secret")
		})
	}
}

func TestSlowBodyIsARequestTimeout(t *testing.T) {
	// Goal: a body that does not arrive within the server's read timeout is
	// a 408 in the style of the surface whose route it was sent to, where a
	// security probe found a 400 for a malformed request; nothing is
	// written. The server here reads for 300 ms (serve: 60 s); the client
	// announces 100 bytes and sends 10.
	ts := newTestServer(t)
	slow := httptest.NewUnstartedServer(ts.api.Handler())
	slow.Config.ReadTimeout = 300 * time.Millisecond
	slow.Start()
	t.Cleanup(slow.Close)
	n := len(ts.events(t))
	for _, tc := range []struct {
		name, path, auth string
		style            errorStyle
		lamlCode         int
	}{
		{"moonbase upsert", "/calls/upsert", "Bearer " + tokenA, styleMoonbase, 0},
		{"laml create", lamlCallsPath(lamlPrefix, acctA) + ".json",
			"Basic " + base64.StdEncoding.EncodeToString([]byte(acctA+":"+tokenA)), styleLaML, 20001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", slow.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
			_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: ledger\r\nAuthorization: %s\r\n"+
				"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nFrom=%%2B1", tc.path, tc.auth)
			require.NoError(t, err)
			raw, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			defer raw.Body.Close()
			body, err := io.ReadAll(raw.Body)
			require.NoError(t, err)
			res := response{Status: raw.StatusCode, Header: raw.Header, Body: body}
			assertErrorStyle(t, res, tc.style, http.StatusRequestTimeout, tc.lamlCode)
		})
	}
	assert.Len(t, ts.events(t), n)
}

func TestErrorMessagesAreCapped(t *testing.T) {
	// Goal: an error answer quotes at most ~1 KiB of the request, cut at a
	// character, whatever value it names: a 200 KB currency, price or LaML
	// Method came back whole in the error.
	ts := newTestServer(t)
	huge := strings.Repeat("é", 100_000) // 200 KB, two bytes a character
	for _, tc := range []struct{ name, method, path, body string }{
		{"VoiceCallCurrency", "POST", "/v1/voice-calls", voiceCallBody(t, "capped-1", map[string]any{"currency": huge})},
		{"VoiceCallPrice", "POST", "/v1/voice-calls", voiceCallBody(t, "capped-2", map[string]any{"totalPrice": huge})},
		{"BillingGroupBy", "GET", "/v1/billing/summary?group_by=" + url.QueryEscape(huge), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, tc.method, tc.path, tokenA, tc.body)
			require.GreaterOrEqual(t, res.Status, 400)
			require.Less(t, res.Status, 500)
			assert.Less(t, len(res.Body), 2048, "%.200s", res.Body)
			assert.True(t, utf8.Valid(res.Body))
			assert.Contains(t, string(res.Body), "bytes more")
		})
	}
	res := ts.lamlDo(t, "POST", lamlCallsPath(lamlPrefix, acctA)+".json", acctA, tokenA,
		formBody("From", "+14155550003", "To", "+14155550004", "Url", "https://x.example.com/t", "Method", huge[:60_000]))
	require.Equal(t, http.StatusBadRequest, res.Status)
	assert.Less(t, len(res.Body), 2048, "%.200s", res.Body)
}

// TestTrailingSlashRoutesAsWithout checks that a path ending in a slash
// reaches the route of the path without it on every surface, where
// /calls/ listed and /calls/upsert/, /v1/calls/{id}/ or LaML's
// .../Calls/{Sid}/ were 404s (contract probe): a client that joins URLs
// with a slash works. A keyed write sent both ways is one request, and
// LaML page URIs name the path without the slash.
func TestTrailingSlashRoutesAsWithout(t *testing.T) {
	ts := newTestServer(t)
	id := ts.upsertID(t, moonbaseBody("slash-1", "completed"))
	vc := ts.createVoiceCall(t, tokenA, "slash-vc", nil)
	calls := lamlCallsPath(lamlPrefix, acctA)
	sid := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	for _, tc := range []struct {
		style        errorStyle
		method, path string
		body         string
		status       int
	}{
		{styleMoonbase, "GET", "/calls/" + id + "/", "", http.StatusOK},
		{styleMoonbase, "GET", "/calls/", "", http.StatusOK},
		{styleMoonbase, "POST", "/calls/upsert/", moonbaseBody("slash-1", "completed"), http.StatusOK},
		{styleCallHistory, "GET", "/v1/calls/" + id + "/", "", http.StatusOK},
		{styleCallHistory, "GET", "/v1/calls/" + id + "/events/", "", http.StatusOK},
		{styleVoiceCall, "GET", "/v1/voice-calls/" + vc + "/", "", http.StatusOK},
		{styleLaML, "GET", calls + "/", "", http.StatusOK},
		{styleLaML, "GET", calls + ".json/", "", http.StatusOK},
		{styleLaML, "GET", calls + "/" + sid + "/", "", http.StatusOK},
		{styleLaML, "GET", calls + "/" + sid + ".json/", "", http.StatusOK},
		{stylePlain, "GET", "/healthz/", "", http.StatusOK},
	} {
		res := ts.doInStyle(t, tc.style, tc.method, tc.path, tc.body)
		assert.Equal(t, tc.status, res.Status, "%s %s: %s", tc.method, tc.path, res.Body)
	}

	page := ts.lamlDo(t, "GET", calls+".json/?PageSize=1", acctA, tokenA, "")
	require.Equal(t, http.StatusOK, page.Status, "body: %s", page.Body)
	assert.Equal(t, calls+".json?PageSize=1", page.JSON(t)["uri"], "page URIs name the path without the slash")

	body := moonbaseBody("slash-keyed", "completed")
	first := ts.do(t, "POST", "/calls/upsert/", tokenA, body, "Idempotency-Key", "slash-key")
	require.Equal(t, http.StatusOK, first.Status, "body: %s", first.Body)
	n := len(ts.events(t))
	again := ts.do(t, "POST", "/calls/upsert", tokenA, body, "Idempotency-Key", "slash-key")
	require.Equal(t, http.StatusOK, again.Status, "body: %s", again.Body)
	assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"), "the retry without the slash is the same request")
	assert.Len(t, ts.events(t), n)

	// Every trailing slash goes: /calls// is /calls, one request with it.
	body = moonbaseBody("slash-keyed-2", "completed")
	first = ts.do(t, "POST", "/calls//", tokenA, body, "Idempotency-Key", "slash-key-2")
	require.Equal(t, http.StatusCreated, first.Status, "body: %s", first.Body)
	again = ts.do(t, "POST", "/calls", tokenA, body, "Idempotency-Key", "slash-key-2")
	require.Equal(t, http.StatusCreated, again.Status, "body: %s", again.Body)
	assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))

	// A slash sent encoded (%2F) is part of the last segment: routed as
	// sent, a 404 for no call, and its key's record is not the call's
	// route (a verification probe saw the correct retry replay the 404).
	res := ts.do(t, "PATCH", "/v1/calls/"+id+"%2F", tokenA, `{"notes":"enc"}`, "Idempotency-Key", "enc-1")
	require.Equal(t, http.StatusNotFound, res.Status, "body: %s", res.Body)
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"enc"}`, "Idempotency-Key", "enc-1")
	assert.Equal(t, http.StatusUnprocessableEntity, res.Status, "another request under the key, not its 404 replayed: %s", res.Body)
}
