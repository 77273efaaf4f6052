package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/projections"
)

// Test accounts and their tokens, configured on every newTestServer.
const (
	acctA  = "acct-a"
	tokenA = "token-a-secret"
	acctB  = "acct-b"
	tokenB = "token-b-secret"
)

// testServer is a whole callledger API over a real embedded store and real
// projections in t.TempDir(), served by httptest on loopback. Every surface's
// tests (Moonbase, call history, VoiceCall, LaML) build one with
// newTestServer and talk HTTP to it: accounts acctA/acctB with Bearer tokens
// tokenA/tokenB (Basic acctA:tokenA on LaML).
type testServer struct {
	*httptest.Server
	api   *Server
	store *embedded.Store
	proj  *projections.Projector
}

// newTestServer builds a testServer with small store and projection
// options (testStoreOptions, testProjectionOptions) and registers its
// shutdown with t.Cleanup. It is the helper to reuse in any api test.
func newTestServer(t testing.TB, opts ...testServerOption) *testServer {
	t.Helper()
	return newTestServerWith(t, testStoreOptions(), testProjectionOptions(), opts...)
}

// testStoreOptions are the embedded store's options of newTestServer:
// small caches, so that many servers fit in one test binary, and no logs.
func testStoreOptions() embedded.Options {
	sopts := embedded.DefaultOptions()
	sopts.MemTableSize = 4 << 20
	sopts.BlockCacheSize = 16 << 20
	sopts.Logger = slog.New(slog.DiscardHandler)
	return sopts
}

// testProjectionOptions are the projections' options of newTestServer,
// small and quiet as testStoreOptions.
func testProjectionOptions() projections.Options {
	popts := projections.DefaultOptions()
	popts.MemTableBytes = 4 << 20
	popts.CacheBytes = 16 << 20
	popts.Logger = slog.New(slog.DiscardHandler)
	return popts
}

// testServerConfig is what a testServerOption changes; the zero value is
// newTestServer's server.
type testServerConfig struct {
	// wait is the server's Config.WaitTimeout; 0 is DefaultWaitTimeout.
	wait time.Duration
	// storeMayFail has the cleanup close the store without asking that
	// Close succeed: a store the test made fail returns its failure again.
	storeMayFail bool
	// keys are the server's keys; nil is acctA's and acctB's.
	keys []APIKey
	// views, if not nil, wraps the read models the server reads.
	views func(ReadModels) ReadModels
	// now is the server's Config.Now; nil is time.Now.
	now func() time.Time
	// recordingScanMax, if not 0, replaces lamlRecordingScanCallsMax.
	recordingScanMax int
	// store, if not nil, wraps the store the server writes and reads.
	store func(eventstore.Store) eventstore.Store
}

// testServerOption changes the server newTestServer, newTestServerWith or
// startServer builds.
type testServerOption func(*testServerConfig)

// waitTimeout sets the server's Config.WaitTimeout: how long a read waits
// for the read models before it answers 503.
func waitTimeout(d time.Duration) testServerOption {
	return func(c *testServerConfig) { c.wait = d }
}

// storeMayFail is the option of a test that makes the store fail: its
// Close returns the failure, which the cleanup then does not take for a
// bug.
func storeMayFail(c *testServerConfig) { c.storeMayFail = true }

// withKeys configures the server with keys instead of acctA's and acctB's.
func withKeys(keys ...APIKey) testServerOption {
	return func(c *testServerConfig) { c.keys = keys }
}

// viewsWrapped has the server read the read models through wrap.
func viewsWrapped(wrap func(ReadModels) ReadModels) testServerOption {
	return func(c *testServerConfig) { c.views = wrap }
}

// storeWrapped has the server use the store through wrap.
func storeWrapped(wrap func(eventstore.Store) eventstore.Store) testServerOption {
	return func(c *testServerConfig) { c.store = wrap }
}

// recordingScanMax lowers the calls one page of the account's LaML
// Recordings list scans (lamlRecordingScanCallsMax) to n.
func recordingScanMax(n int) testServerOption {
	return func(c *testServerConfig) { c.recordingScanMax = n }
}

// testClock is a clock a test sets by hand, to know the time the server
// records in each event's metadata (Config.Now).
type testClock struct {
	mu sync.Mutex
	at time.Time
}

// Now returns the time the clock was last set to.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

// Set sets the clock to at.
func (c *testClock) Set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = at
}

// withClock has the server read the time from clock.
func withClock(clock *testClock) testServerOption {
	return func(c *testServerConfig) { c.now = clock.Now }
}

func testServerConfigOf(opts []testServerOption) testServerConfig {
	var c testServerConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

// newTestServerWith is newTestServer with the store's and the projections'
// options given (benchmarks use the production defaults).
func newTestServerWith(t testing.TB, sopts embedded.Options, popts projections.Options, opts ...testServerOption) *testServer {
	t.Helper()
	ts, _ := newClosableTestServer(t, sopts, popts, opts...)
	return ts
}

// newClosableTestServer is newTestServerWith with a close that stops the
// server, its projector, read models and store before the test ends (the
// test's cleanup still runs, and finds them closed), and removes their
// directory: for a benchmark that measures one fresh server after another,
// and would otherwise keep every one of them, with its memory and
// background work, until it ends, and leave the kernel writing back the
// files of those closed while the next one syncs its own.
func newClosableTestServer(t testing.TB, sopts embedded.Options, popts projections.Options, opts ...testServerOption) (ts *testServer, close func()) {
	t.Helper()
	dir := t.TempDir()
	store, proj := openLedger(t, dir, sopts, popts, opts...)
	stopProjector := runProjector(t, proj)
	ts, stop := startServer(t, dir, store, proj, opts...)
	return ts, func() {
		stop()
		stopProjector()
		assert.NoError(t, proj.Close())
		assert.NoError(t, store.Close())
		assert.NoError(t, os.RemoveAll(dir))
	}
}

// openLedger opens an embedded store and its projections in dir, and
// closes them when the test ends, after whatever the test registers later
// (t.Cleanup runs last in, first out): the servers over them and the
// projector's run.
func openLedger(t testing.TB, dir string, sopts embedded.Options, popts projections.Options, opts ...testServerOption) (*embedded.Store, *projections.Projector) {
	t.Helper()
	cfg := testServerConfigOf(opts)
	store, err := embedded.Open(filepath.Join(dir, "events"), sopts)
	require.NoError(t, err)
	proj, err := projections.Open(filepath.Join(dir, "readmodels"), store, popts)
	if err != nil {
		_ = store.Close()
	}
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, proj.Close())
		if err := store.Close(); !cfg.storeMayFail {
			assert.NoError(t, err)
		}
	})
	return store, proj
}

// runProjector runs proj until the test ends, or until stop is called.
func runProjector(t testing.TB, proj *projections.Projector) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		_ = proj.Run(ctx)
	}()
	stop = func() {
		cancel()
		<-runDone
	}
	t.Cleanup(stop)
	return stop
}

// startServer starts a Server over store and proj, as serve does on each
// start (a fresh process: no write marks, the log's end read again), with
// its idempotency database in dir, and closes it when the test ends or
// when stop is called.
func startServer(t testing.TB, dir string, store *embedded.Store, proj *projections.Projector, opts ...testServerOption) (ts *testServer, stop func()) {
	t.Helper()
	cfg := testServerConfigOf(opts)
	keys := cfg.keys
	if keys == nil {
		keys = []APIKey{{Account: acctA, Token: tokenA}, {Account: acctB, Token: tokenB}}
	}
	var views ReadModels = NewReadModels(proj)
	if cfg.views != nil {
		views = cfg.views(views)
	}
	var st eventstore.Store = store
	if cfg.store != nil {
		st = cfg.store(st)
	}
	srv, err := NewServer(Config{
		Store:          st,
		ReadModels:     views,
		Keys:           keys,
		IdempotencyDir: filepath.Join(dir, "idempotency"),
		Logger:         slog.New(slog.DiscardHandler),
		WaitTimeout:    cfg.wait,
		Now:            cfg.now,
	})
	require.NoError(t, err)
	if cfg.recordingScanMax > 0 {
		srv.recordingScanMax = cfg.recordingScanMax
	}
	hs := httptest.NewServer(srv.Handler())
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			hs.Close()
			assert.NoError(t, srv.Close())
			assert.NoError(t, srv.Close(), "closing again is safe")
		}
	}
	t.Cleanup(stop)
	return &testServer{Server: hs, api: srv, store: store, proj: proj}, stop
}

// response is a finished HTTP exchange.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map (fails the test if it is not an object).
func (r response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// do sends one request with a Bearer token ("" for none) and optional
// header pairs ("If-Match", `"3"`, ...).
func (ts *testServer) do(t testing.TB, method, path, token, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return ts.send(t, req)
}

// send sends req with the server's client and reads the whole response.
func (ts *testServer) send(t testing.TB, req *http.Request) response {
	t.Helper()
	res, err := ts.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// events returns every event in the store's $all, in order.
func (ts *testServer) events(t testing.TB) []eventstore.Record {
	t.Helper()
	recs, err := ts.store.ReadAll(context.Background(), eventstore.Start, 0)
	require.NoError(t, err)
	return recs
}

// appendDirect appends events to the stream of call id at the expected
// revision straight to the store, as no surface would write them (a
// parent call, a price stored before a check refused it), each with meta
// at the schema version the server would write them at
// (domain.SchemaVersionOf), and returns the position of the last once the
// read models have it.
func (ts *testServer) appendDirect(t testing.TB, id uuid.UUID, expected eventstore.ExpectedRevision, meta domain.Metadata, events ...domain.Event) eventstore.Position {
	t.Helper()
	meta.SchemaVersion = domain.SchemaVersionOf(events)
	md, err := domain.MarshalMetadata(meta)
	require.NoError(t, err)
	data := make([]eventstore.EventData, 0, len(events))
	for _, e := range events {
		b, err := domain.MarshalEvent(e)
		require.NoError(t, err)
		data = append(data, eventstore.EventData{ID: uuid.New(), Type: e.EventType(), Data: b, Metadata: md})
	}
	res, err := ts.store.Append(context.Background(), domain.StreamID(id), expected, data)
	require.NoError(t, err)
	require.NoError(t, ts.proj.WaitFor(context.Background(), res.Position), "the read models have the events appended")
	return res.Position
}

// eventTypes returns the types of the events of one call's stream.
func (ts *testServer) eventTypes(t testing.TB, callID string) []string {
	t.Helper()
	var out []string
	for _, r := range ts.events(t) {
		if r.StreamID == "call-"+callID {
			out = append(out, r.Type)
		}
	}
	return out
}

func TestHealth(t *testing.T) {
	// Goal: /healthz answers without a key, /readyz once the store answers
	// and the projection runner is running.
	ts := newTestServer(t)
	assert.Equal(t, http.StatusOK, ts.do(t, "GET", "/healthz", "", "").Status)
	require.Eventually(t, func() bool {
		return ts.do(t, "GET", "/readyz", "", "").Status == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond)
}

func TestAuth(t *testing.T) {
	// Goal: JSON surfaces need a known Bearer token; failures are 401 in the
	// surface's error style, and never reveal data.
	ts := newTestServer(t)
	for _, tc := range []struct{ name, token, path string }{
		{"NoToken", "", "/calls"},
		{"UnknownToken", "nope", "/calls"},
		{"CallHistoryNoToken", "", "/v1/calls/7f1d3c47-6b3b-4e8e-9b7e-6a1c2f8e9d10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, "GET", tc.path, tc.token, "")
			assert.Equal(t, http.StatusUnauthorized, res.Status)
			assert.Contains(t, string(res.Body), "Authorization")
		})
	}
	res := ts.do(t, "GET", "/calls", "", "", "Authorization", "Basic "+tokenA)
	assert.Equal(t, http.StatusUnauthorized, res.Status)
}

func TestUnauthorizedMessageIsTheSameOnEveryJSONSurface(t *testing.T) {
	// Goal: a request without a known Bearer token gets one message on
	// every JSON surface (Moonbase, call history, VoiceCall, the auditors'
	// and billing routes), each in its own error style: every one puts the
	// field's name in front of it by the same rule (withField).
	ts := newTestServer(t)
	const id = "7f1d3c47-6b3b-4e8e-9b7e-6a1c2f8e9d10"
	cases := []struct {
		name, path string
		style      errorStyle
		message    func(body map[string]any) any
	}{
		{"Moonbase", "/calls/" + id, styleMoonbase, func(b map[string]any) any { return b["errors"].([]any)[0].(map[string]any)["detail"] }},
		{"call history", "/v1/calls/" + id, styleCallHistory, func(b map[string]any) any { return b["message"] }},
		{"VoiceCall", "/v1/voice-calls/" + id, styleVoiceCall, func(b map[string]any) any { return b["message"] }},
		{"auditors", "/v1/calls/" + id + "/events", stylePlain, func(b map[string]any) any { return b["error"].(map[string]any)["message"] }},
		{"billing", "/v1/billing/summary", stylePlain, func(b map[string]any) any { return b["error"].(map[string]any)["message"] }},
	}
	for _, tc := range cases {
		for _, token := range []string{"", "unknown-token"} {
			t.Run(tc.name+"/token "+token, func(t *testing.T) {
				res := ts.do(t, "GET", tc.path, token, "")
				assertErrorStyle(t, res, tc.style, http.StatusUnauthorized, 0)
				assert.Equal(t, "Authorization: "+bearerUnauthorized, tc.message(res.JSON(t)))
			})
		}
	}
}

func TestWithField(t *testing.T) {
	// Goal: every renderer names the field in front of a message by one
	// rule: unless the message starts with the field as a word, whatever
	// else it mentions.
	for _, tc := range []struct{ field, msg, want string }{
		{"", "body is not JSON", "body is not JSON"},
		{"id", "call 7f1d is deleted", "id: call 7f1d is deleted"},
		{"id", "no call with id 7f1d", "id: no call with id 7f1d"},
		{"id", "identifier unknown", "id: identifier unknown"},
		{"id", "id: already named", "id: already named"},
		{"To", "To is required", "To is required"},
		{"Status", "StatusCallback must be a URL", "Status: StatusCallback must be a URL"},
		{"contact.firstName", "contact.firstName must be a string", "contact.firstName must be a string"},
		{"Authorization", bearerUnauthorized, "Authorization: " + bearerUnauthorized},
	} {
		assert.Equal(t, tc.want, withField(tc.field, tc.msg), "field %q, message %q", tc.field, tc.msg)
	}
}

func TestParseAPIKeys(t *testing.T) {
	// Goal: both key formats parse, and malformed entries are refused.
	keys, err := ParseAPIKeys(" a:t1 , b:t2,")
	require.NoError(t, err)
	assert.Equal(t, []APIKey{{Account: "a", Token: "t1"}, {Account: "b", Token: "t2"}}, keys)

	keys, err = ReadAPIKeys(strings.NewReader("# comment\n\na:t1\nb:t2\n"))
	require.NoError(t, err)
	assert.Len(t, keys, 2)

	for _, bad := range []string{"a", "a:", ":t", "a:t,b:t"} {
		_, err := ParseAPIKeys(bad)
		assert.Error(t, err, bad)
	}
	_, err = ReadAPIKeys(strings.NewReader("a:t1\nbroken\n"))
	assert.ErrorContains(t, err, "line 2")

	// A byte order mark opening the file is not part of the first
	// account; a character no client could send in an account is refused,
	// naming the line and not the token.
	keys, err = ReadAPIKeys(strings.NewReader("\ufeffacct1:secretA\nb:t2\n"))
	require.NoError(t, err)
	assert.Equal(t, []APIKey{{Account: "acct1", Token: "secretA"}, {Account: "b", Token: "t2"}}, keys)
	for _, bad := range []string{"a:t1\n\ufeffb:t2\n", "a:t1\nb\x1b[31m:t2\n"} {
		_, err = ReadAPIKeys(strings.NewReader(bad))
		assert.ErrorContains(t, err, "line 2: api key account", bad)
		assert.ErrorContains(t, err, "not printable", bad)
		assert.NotContains(t, err.Error(), "t2", "the token is not echoed")
	}
	_, err = ParseAPIKeys("a\x00b:t1")
	assert.Error(t, err)
	assert.NotContains(t, APIKey{Account: "a", Token: "t1"}.Name(), "t1")
}

func TestOversizedBody(t *testing.T) {
	// Goal: a body over the cap is a 413, and nothing is written.
	ts := newTestServer(t)
	big := `{"provider_metadata": {"x": "` + strings.Repeat("a", DefaultBodyBytesMax) + `"}}`
	res := ts.do(t, "POST", "/calls/upsert", tokenA, big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.Status)
	assert.Empty(t, ts.events(t))
}

func TestUnknownRoute(t *testing.T) {
	ts := newTestServer(t)
	assert.Equal(t, http.StatusNotFound, ts.do(t, "GET", "/nope", tokenA, "").Status)
	assert.Equal(t, http.StatusMethodNotAllowed, ts.do(t, "PUT", "/calls", tokenA, "{}").Status)
}

func TestProblemTable(t *testing.T) {
	// Goal: the one status table classifies every kind of error, and hides
	// internal ones.
	for _, tc := range []struct {
		err    error
		status int
	}{
		{Invalid("x", "bad"), 422},
		{Malformed("x", "bad"), 400},
		{Required("x", "x is required"), 400},
		{NotFound("gone"), 404},
		{&FieldError{Err: ErrPreconditionFailed}, 412},
		{&FieldError{Err: ErrBodyTooLarge}, 413},
		{&FieldError{Err: ErrIdempotencyKeyReused}, 422},
		{eventstore.ErrStreamNotFound, 404},
		{eventstore.ErrVersionConflict, 409},
		{fmt.Errorf("read call-1: %w", fmt.Errorf("%w: the KurrentDB node did not answer within 10s", eventstore.ErrUnavailable)), 503},
		{fmt.Errorf("append to call-1: %w", fmt.Errorf("embedded: %w: %w", eventstore.ErrFailed, io.ErrShortWrite)), 503},
		{io.ErrUnexpectedEOF, 500},
		// Only the store's word that it failed is a 503: a read of a failed
		// store that fails for its own reason is not hidden as one.
		{fmt.Errorf("read call-1: %w", context.Canceled), 500},
	} {
		p, known := ProblemOf(tc.err)
		assert.Equal(t, tc.status, p.Status, tc.err.Error())
		assert.Equal(t, tc.status != 500, known)
		if !known {
			assert.NotContains(t, p.Message, "EOF")
		}
		if tc.status == 503 {
			assert.NotContains(t, p.Message, "short write", "the cause is in the store's log, not the answer")
		}
	}
	// A missing parameter is malformed, with a code of its own that lets a
	// surface tell it from one given but unreadable.
	required, malformed := Required("To", "To is required"), Malformed("To", "is not valid UTF-8")
	assert.ErrorIs(t, required, ErrMalformed)
	p, _ := ProblemOf(required)
	assert.Equal(t, "required", p.Code)
	p, _ = ProblemOf(malformed)
	assert.Equal(t, "malformed", p.Code)
}

// compactJSON re-encodes b without spaces, for byte comparisons.
func compactJSON(t testing.TB, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, b))
	return buf.String()
}

func TestAuthorizationSentTwice(t *testing.T) {
	// Goal: an Authorization header sent twice with different values is a
	// 400 naming it on every surface, Bearer and Basic: which credentials
	// the request is made with cannot be told, and the first was used,
	// whatever a proxy in front had checked. The same value twice is one.
	ts := newTestServer(t)
	basic := func(account, token string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(account+":"+token))
	}
	for _, tc := range []struct {
		name, path string
		values     []string
		status     int
	}{
		{"BearerTwoAccounts", "/calls", []string{"Bearer " + tokenA, "Bearer " + tokenB}, http.StatusBadRequest},
		{"BearerKnownThenUnknown", "/v1/billing/summary", []string{"Bearer " + tokenA, "Bearer nope"}, http.StatusBadRequest},
		{"BearerSameTwice", "/calls", []string{"Bearer " + tokenA, "Bearer " + tokenA}, http.StatusOK},
		{"BasicTwoAccounts", lamlCallsPath(lamlPrefix, acctA) + ".json", []string{basic(acctA, tokenA), basic(acctB, tokenB)}, http.StatusBadRequest},
		{"BasicSameTwice", lamlCallsPath(lamlPrefix, acctA) + ".json", []string{basic(acctA, tokenA), basic(acctA, tokenA)}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", ts.URL+tc.path, nil)
			require.NoError(t, err)
			for _, v := range tc.values {
				req.Header.Add("Authorization", v)
			}
			res := ts.send(t, req)
			require.Equal(t, tc.status, res.Status, "%s", res.Body)
			if tc.status == http.StatusBadRequest {
				assert.Contains(t, string(res.Body), "Authorization: sent 2 times with different values: send one")
			}
		})
	}
}
