package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
	"github.com/callledger/callledger/projections"
)

// serveKillDirEnv names the data directory of a serve child; when it is
// set, TestServeKilledLosesNothing runs as the child it kills.
const serveKillDirEnv = "CALLLEDGER_TEST_SERVE_KILL_DIR"

// Bounds of the serve kill test: each round kills the server once at
// least serveKillAcks requests were answered, or after serveKillRoundMax.
const (
	serveKillRounds   = 2
	serveKillAcks     = 300
	serveKillWriters  = 16
	serveKillRoundMax = 20 * time.Second
	serveKillWaitMax  = time.Minute // the child must start serving within this
	serveKillChildMax = 2 * time.Minute
	serveKillToken    = "token-kill-0123456789abcdef"
)

// keyedRequest is one keyed write the load sent, and how it was answered,
// if it was: a request without an answer was in flight when the server was
// killed (it may or may not have been written).
type keyedRequest struct {
	call         string // the provider id of the call it writes
	method, path string
	key, body    string
	answered     bool
	status       int
	answer       string
}

func TestServeKilledLosesNothing(t *testing.T) {
	// Goal: the README's promise at the level of the whole server, through
	// real processes: `serve` killed with SIGKILL while clients write
	// through HTTP loses no acknowledged write. After a restart on the same
	// data directory, every answered keyed request retried with its key is
	// answered as it was the first time (status and body) and appends
	// nothing, every request that was in flight at the kill is answered
	// when retried (from the log when it had been written before the kill,
	// so a create is not refused as a conflict), every call reads back as
	// the answer of its last write, `verify` passes, and the read models
	// the killed servers left, caught up by the next one, digest as a
	// rebuild of them does.
	if dir := os.Getenv(serveKillDirEnv); dir != "" {
		serveUntilKilled(t, dir)
		return
	}
	dir := t.TempDir()
	var sent []*keyedRequest
	for round := range serveKillRounds {
		child := embeddedtest.StartChild(t, "TestServeKilledLosesNothing", "serving ", serveKillDirEnv+"="+dir)
		sent = append(sent, loadUntilKilled(t, child, servingURL(t, child), round)...)
	}

	answered, inFlight := 0, 0
	for _, r := range sent {
		if r.answered {
			answered++
		} else {
			inFlight++
		}
	}
	require.GreaterOrEqual(t, answered, serveKillRounds*serveKillAcks, "the rounds were answered")
	t.Logf("%d requests answered, %d in flight at the kills", answered, inFlight)

	m, _, _ := startMain(t, dir, map[string]string{"CALLLEDGER_API_KEYS": "acme:" + serveKillToken})
	client := &http.Client{Timeout: time.Minute}
	ctx := context.Background()

	// Before any retry, every answered write is there: a call whose last
	// write was answered reads as that answer, and one whose last write
	// was in flight exists (as its answered write left it, or as the
	// write in flight did, if it was written before the kill).
	calls := map[string][]*keyedRequest{} // each call's writes, in order
	for _, r := range sent {
		calls[r.call] = append(calls[r.call], r)
	}
	for call, writes := range calls {
		first := slices.IndexFunc(writes, func(r *keyedRequest) bool { return r.answered })
		if first < 0 {
			continue
		}
		status, body := do(t, "GET", m.URL()+"/calls/"+callID(t, writes[first].answer), serveKillToken, "")
		require.Equal(t, http.StatusOK, status, "call %s, answered before the kill: %s", call, body)
		if last := writes[len(writes)-1]; last.answered {
			assert.JSONEq(t, last.answer, string(body), "call %s reads as its last write answered", call)
		}
	}

	// The retries of answered writes are answered as they were and append
	// nothing; those of the writes in flight are answered (from the log when
	// they were written before the kill); and a second pass of every retry
	// appends nothing at all.
	head := func() eventstore.Position { return logHead(t, m) }
	before := head()
	for _, r := range sent {
		if !r.answered {
			continue
		}
		status, answer, err := sendKeyed(client, m.URL(), r)
		require.NoError(t, err)
		assert.Equal(t, r.status, status, "%s %s (key %s) retried: %s", r.method, r.path, r.key, answer)
		assert.JSONEq(t, r.answer, answer, "%s %s (key %s) retried", r.method, r.path, r.key)
	}
	assert.Equal(t, before, head(), "the retries of answered writes appended nothing")
	for _, r := range sent {
		if r.answered {
			continue
		}
		status, answer, err := sendKeyed(client, m.URL(), r)
		require.NoError(t, err)
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status,
			"%s %s (key %s), in flight at the kill, retried: %s", r.method, r.path, r.key, answer)
		r.status, r.answer = status, answer
	}
	before = head()
	for _, r := range sent {
		_, _, err := sendKeyed(client, m.URL(), r)
		require.NoError(t, err)
	}
	assert.Equal(t, before, head(), "a second pass of the retries appended nothing")

	for call, writes := range calls {
		last := writes[len(writes)-1]
		status, body := do(t, "GET", m.URL()+"/calls/"+callID(t, last.answer), serveKillToken, "")
		require.Equal(t, http.StatusOK, status, "call %s: %s", call, body)
		assert.JSONEq(t, last.answer, string(body), "call %s reads as its last write answered", call)
	}
	require.NoError(t, m.Close())

	res := runTool(ctx, t, dir, "", "verify")
	require.Equal(t, 0, res.code, "verify: %s%s", res.stdout, res.stderr)
	assert.Contains(t, res.stdout, "ok: ")

	live := readModelsDigest(t, dir)
	res = runTool(ctx, t, dir, "", "replay")
	require.Equal(t, 0, res.code, "replay: %s%s", res.stdout, res.stderr)
	assert.Contains(t, res.stdout, "digest "+live+"\n", "the read models the kills left, caught up, are those a rebuild makes")
}

// serveUntilKilled is the child of TestServeKilledLosesNothing: it runs
// serve on dir and an ephemeral loopback port, prints the URL, and serves
// until it is killed (or serveKillChildMax passed, when nobody did).
func serveUntilKilled(t *testing.T, dir string) {
	env, _, _ := newTestEnv(map[string]string{"CALLLEDGER_API_KEYS": "acme:" + serveKillToken})
	serveAsChild(t, env, dir)
}

// serveAsChild is the work of a serve child: serve with env on dir and an
// ephemeral loopback port, print the URL ("serving <url>"), and serve
// until killed (or serveKillChildMax passed, when nobody did).
func serveAsChild(t *testing.T, env Env, dir string) {
	m := NewMain(env)
	require.NoError(t, m.ParseFlags([]string{"--data", dir, "--addr", "127.0.0.1:0"}))
	require.NoError(t, m.Run(context.Background()))
	fmt.Printf("serving %s\n", m.URL())
	time.Sleep(serveKillChildMax)
	_ = m.Close()
}

// servingURL waits for child, a serve child started with the prefix
// "serving ", to print the URL it serves, and returns it. A child that
// does not within serveKillWaitMax is killed, and the test fails.
func servingURL(t *testing.T, child *embeddedtest.Child) string {
	t.Helper()
	select {
	case line, ok := <-child.Lines:
		require.True(t, ok, "the child ended before serving")
		return strings.TrimSpace(strings.TrimPrefix(line, "serving "))
	case <-time.After(serveKillWaitMax):
		_, _ = child.Kill(nil, time.After(time.Minute))
		t.Fatalf("the child did not start serving:\n%s", child.Output())
		return ""
	}
}

// loadUntilKilled writes through url from serveKillWriters clients until
// serveKillAcks of their requests were answered, kills child, and returns
// every request sent. Each client writes calls of its own, one after the
// other: a keyed create (POST /calls, ringing), then a keyed upsert that
// completes it, so that every call's writes are in one client's order.
func loadUntilKilled(t *testing.T, child *embeddedtest.Child, url string, round int) []*keyedRequest {
	t.Helper()
	client := &http.Client{Timeout: time.Minute}
	var (
		mu      sync.Mutex
		sent    []*keyedRequest
		acks    int
		enough  = make(chan struct{})
		stopped = make(chan struct{})
		wg      sync.WaitGroup
	)
	for w := range serveKillWriters {
		wg.Go(func() {
			for i := 0; ; i++ {
				call := fmt.Sprintf("kill-%d-%d-%d", round, w, i)
				for _, r := range callWrites(call) {
					select {
					case <-stopped:
						return
					default:
					}
					mu.Lock()
					sent = append(sent, r)
					mu.Unlock()
					status, answer, err := sendKeyed(client, url, r)
					if err != nil {
						return // the server is gone: r stays unanswered
					}
					mu.Lock()
					r.answered, r.status, r.answer = true, status, answer
					if acks++; acks == serveKillAcks {
						close(enough)
					}
					mu.Unlock()
					if status != http.StatusOK && status != http.StatusCreated {
						t.Errorf("%s %s (key %s): %d %s", r.method, r.path, r.key, status, answer)
						return
					}
				}
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(serveKillRoundMax):
	}
	_, waitErr := child.Kill(nil, time.After(time.Minute))
	close(stopped)
	wg.Wait()
	require.Error(t, waitErr, "the child was killed:\n%s", child.Output())
	return sent
}

// callWrites are the keyed writes of one call: its creation, ringing, and
// the upsert that completes it.
func callWrites(call string) []*keyedRequest {
	body := func(status, times string) string {
		return `{"direction": "incoming", "provider": "openphone", "provider_id": "` + call + `",
  "provider_status": "` + status + `", "start_at": "2025-02-17T15:00:00Z"` + times + `,
  "participants": [{"phone": "+14155551212", "role": "caller"}, {"phone": "+16505551212", "role": "callee"}]}`
	}
	return []*keyedRequest{
		{call: call, method: "POST", path: "/calls", key: call + "-create", body: body("ringing", "")},
		{call: call, method: "POST", path: "/calls/upsert", key: call + "-complete",
			body: body("completed", `, "answered_at": "2025-02-17T15:00:10Z", "end_at": "2025-02-17T15:03:00Z"`)},
	}
}

// sendKeyed sends r with its Idempotency-Key and returns the answer; err
// is a request that got none.
func sendKeyed(client *http.Client, url string, r *keyedRequest) (int, string, error) {
	req, err := http.NewRequest(r.method, url+r.path, strings.NewReader(r.body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+serveKillToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", r.key)
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", err
	}
	return res.StatusCode, string(b), nil
}

// callID is the id of the call a Moonbase answer shows.
func callID(t *testing.T, answer string) string {
	t.Helper()
	var call struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(answer), &call), answer)
	require.NotEmpty(t, call.ID, answer)
	return call.ID
}

// logHead is the head of the log m serves.
func logHead(t *testing.T, m *Main) eventstore.Position {
	t.Helper()
	pos, _, err := m.ledger.Store.(eventstore.HeadReader).Head(context.Background())
	require.NoError(t, err)
	return pos
}

// openStoreAndReadModels opens the store and read models of dataDir,
// without running the projector; the caller closes both.
func openStoreAndReadModels(t *testing.T, dataDir string) (*embedded.Store, *projections.Projector) {
	t.Helper()
	store, err := embedded.Open(filepath.Join(dataDir, "events"), embedded.DefaultOptions())
	require.NoError(t, err)
	proj, err := projections.Open(filepath.Join(dataDir, "readmodels"), store, projections.DefaultOptions())
	if err != nil {
		store.Close()
	}
	require.NoError(t, err)
	return store, proj
}

// readModelsDigest is the digest of the read models in dataDir as they
// are, without catching them up.
func readModelsDigest(t *testing.T, dataDir string) string {
	t.Helper()
	store, proj := openStoreAndReadModels(t, dataDir)
	defer store.Close()
	defer proj.Close()
	digest, err := proj.Digest(context.Background())
	require.NoError(t, err)
	return digest
}
