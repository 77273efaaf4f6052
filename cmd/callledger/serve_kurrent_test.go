package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/kurrent/kurrenttest"
)

// TestServeOnKurrentDB runs the whole ledger against the KurrentDB backend
// through the official client and the protocol test server: writes land in
// the server's log, the read models live in the local data directory and
// resume from their checkpoint after a restart, two processes with their
// own data directories serve the same ledger, and the projections recover
// when the server goes away and comes back.
func TestServeOnKurrentDB(t *testing.T) {
	srv := kurrenttest.Start(t)
	keys := map[string]string{
		"CALLLEDGER_API_KEYS": "acct-k:token-k-0123456789abcdef",
		"CALLLEDGER_STORE":    srv.URL(),
	}
	const token = "token-k-0123456789abcdef"
	dirA := t.TempDir()

	a, _, _ := startMain(t, dirA, keys)
	assert.Equal(t, srv.URL(), a.Store.StoreURL)
	code, body := do(t, "POST", a.URL()+"/calls/upsert", token, seedUpsert)
	require.Equal(t, http.StatusOK, code, string(body))
	var call struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &call))
	code, body = do(t, "GET", a.URL()+"/v1/calls/"+call.ID, token, "")
	require.Equal(t, http.StatusOK, code, "a read after the write sees it: %s", body)

	// A second process with its own data directory follows the same log.
	b, _, _ := startMain(t, t.TempDir(), keys)
	defer b.Close()
	require.Eventually(t, func() bool {
		code, _ := do(t, "GET", b.URL()+"/calls/"+call.ID, token, "")
		return code == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "the second process projects the first one's write")

	// Restart the first process: its read models resume from the checkpoint.
	require.NoError(t, a.Close())
	a2, _, _ := startMain(t, dirA, keys)
	defer a2.Close()
	code, body = do(t, "GET", a2.URL()+"/calls/"+call.ID, token, "")
	require.Equal(t, http.StatusOK, code, string(body))

	// The server goes away and comes back: a write through b is then seen by a2.
	srv.Stop()
	time.Sleep(200 * time.Millisecond)
	srv.Restart(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var second struct {
		ID string `json:"id"`
	}
	for ctx.Err() == nil {
		code, body = do(t, "POST", b.URL()+"/calls/upsert", token,
			`{"direction":"outgoing","provider":"openphone","provider_id":"after-restart","provider_status":"ringing","start_at":"2025-02-18T10:00:00Z",
			  "participants":[{"phone":"+14155550100","role":"caller"},{"phone":"+14155550101","role":"callee"}]}`)
		if code == http.StatusOK {
			require.NoError(t, json.Unmarshal(body, &second))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NotEmpty(t, second.ID, "writes work again once the server is back: last answer %d %s", code, body)
	require.Eventually(t, func() bool {
		code, _ := do(t, "GET", a2.URL()+"/calls/"+second.ID, token, "")
		return code == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "a2's projections resubscribed after the server came back")
}

func TestServeOnKurrentDBWriteOverMaxAppendSize(t *testing.T) {
	// Goal: a write within the ledger's own append limit
	// (eventstore.BatchBytesMax, data and metadata) whose events KurrentDB
	// counts over its MaxAppendSize (it counts the hash envelope around
	// each event's metadata too) is a 413 that says so, never a 500 (the
	// server's refusal was an unclassified error). The search below finds
	// the largest provider_metadata a write may carry: one byte more is
	// refused by KurrentDB's count, not by the ledger's own.
	srv := kurrenttest.Start(t)
	const token = "token-k-0123456789abcdef"
	m, _, _ := startMain(t, t.TempDir(), map[string]string{
		"CALLLEDGER_API_KEYS": "acct-k:" + token,
		"CALLLEDGER_STORE":    srv.URL(),
	})
	// write upserts a call whose provider_metadata is stored as pad bytes:
	// '<' characters, each stored as a six-byte escape (\u003c), so that
	// the body stays within the API's body limit.
	write := func(pad int) (int, string) {
		note := strings.Repeat("<", pad/6) + strings.Repeat("x", pad%6)
		body := strings.Replace(seedUpsert, `"openphone_id_000000000006"`, fmt.Sprintf(`"pad-%d"`, pad), 1)
		body = strings.Replace(body, `{"answered_by": "UShjUatqtF"}`, fmt.Sprintf(`{"pad":%q}`, note), 1)
		code, answer := do(t, "POST", m.URL()+"/calls/upsert", token, body)
		require.Contains(t, []int{http.StatusOK, http.StatusRequestEntityTooLarge}, code, "%s", answer)
		return code, string(answer)
	}
	fits, over := 1_000_000, eventstore.BatchBytesMax
	code, _ := write(fits)
	require.Equal(t, http.StatusOK, code)
	code, _ = write(over)
	require.Equal(t, http.StatusRequestEntityTooLarge, code)
	for over-fits > 1 {
		mid := (fits + over) / 2
		if code, _ := write(mid); code == http.StatusOK {
			fits = mid
		} else {
			over = mid
		}
	}
	// A request's metadata varies by a few bytes (its id, its time): a
	// little past the boundary is refused whatever they are, and still
	// well within the ledger's own limit (by ~300 bytes).
	code, answer := write(over + 40)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Contains(t, answer, "with the event store's own envelope more than it takes in one append",
		"refused by KurrentDB's count, within the ledger's own limit")
}

// kurrentToken is the API key of serveOneCallOnKurrentDB's account.
const kurrentToken = "token-k-0123456789abcdef"

// serveOneCallOnKurrentDB starts a protocol test server and a serve over
// it, and writes one call through it (seedUpsert), read back, so that the
// read models hold it (an answered write need not be projected yet: a
// CI run replaced the log under read models that did not, which then had
// nothing to tell the logs apart by).
func serveOneCallOnKurrentDB(t *testing.T) (*kurrenttest.Server, *Main) {
	t.Helper()
	srv := kurrenttest.Start(t)
	env := map[string]string{"CALLLEDGER_API_KEYS": "acct-k:" + kurrentToken, "CALLLEDGER_STORE": srv.URL()}
	a, _, _ := startMain(t, t.TempDir(), env)
	code, body := do(t, "POST", a.URL()+"/calls/upsert", kurrentToken, seedUpsert)
	require.Equal(t, http.StatusOK, code, string(body))
	code, body = do(t, "GET", a.URL()+"/calls/"+callID(t, string(body)), kurrentToken, "")
	require.Equal(t, http.StatusOK, code, string(body))
	return srv, a
}

// TestServeOnAReplacedKurrentDBLog checks that a server whose KurrentDB log
// is replaced under it (another, empty database at the same address) stops
// serving its read models, which hold the old log's calls: reads that wait
// for them answer 503 and /readyz says why, where the server stayed ready,
// listed the old calls and answered 404 for the writes it had just taken.
// The new log is written to at once, past the old one's positions: the
// server still notices (its subscription finds the event it resumes after
// gone), where it followed the new log from the old checkpoint, which
// then named the new log's events, and stayed ready for good (a KurrentDB
// probe).
func TestServeOnAReplacedKurrentDBLog(t *testing.T) {
	srv, a := serveOneCallOnKurrentDB(t)

	srv.Stop()
	time.Sleep(200 * time.Millisecond)
	srv.RestartEmpty(t)
	for i := range 5 {
		body := strings.Replace(seedUpsert, "openphone_id_", fmt.Sprintf("new_log_%d_", i), 1)
		do(t, "POST", a.URL()+"/calls/upsert", kurrentToken, body) // 200, or 503 while the store reconnects
	}
	require.Eventually(t, func() bool {
		code, body := do(t, "GET", a.URL()+"/readyz", "", "")
		return code == http.StatusServiceUnavailable && strings.Contains(string(body), "no longer holds events")
	}, 30*time.Second, 50*time.Millisecond, "the server says it is not ready, and why")
	code, body := do(t, "GET", a.URL()+"/readyz", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, string(body), "no longer holds events the read models were built from", "readiness says why")
	code, body = do(t, "GET", a.URL()+"/calls?limit=10", kurrentToken, "")
	assert.Equal(t, http.StatusServiceUnavailable, code, "the old log's calls are not listed: %s", body)
	// Nor is a write taken into the new log, which the operator may
	// replace by the old one again.
	before := len(readAllEvents(t, srv.URL()))
	code, body = do(t, "POST", a.URL()+"/calls/upsert", kurrentToken, strings.Replace(seedUpsert, "openphone_id_", "after_failure_", 1))
	assert.Equal(t, http.StatusServiceUnavailable, code, "%s", body)
	assert.Contains(t, string(body), "writes are refused")
	assert.Len(t, readAllEvents(t, srv.URL()), before, "nothing appended")

	// The store slow to answer does not hide why (it said "the event
	// store does not answer").
	srv.SetAllReadDelay(time.Second)
	code, body = do(t, "GET", a.URL()+"/readyz", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, string(body), "no longer holds events the read models were built from", "under a slow store")

	// A stop is clean: the read models' database is sound, and closes
	// (serve exited 1, leaving it unclosed as after a write it could not
	// make).
	srv.SetAllReadDelay(0)
	assert.NoError(t, a.Close())
}

// TestServeOnKurrentDBOutage checks that a write while the KurrentDB node
// is down is answered, within the store's call time limit, with a 503 to
// retry (as a failed embedded store's), where it was a 500, or no answer
// at all for minutes.
func TestServeOnKurrentDBOutage(t *testing.T) {
	srv, a := serveOneCallOnKurrentDB(t)

	srv.Stop()
	start := time.Now()
	code, body := do(t, "POST", a.URL()+"/calls/upsert", kurrentToken, strings.Replace(seedUpsert, "openphone_id_", "outage_id_", 1))
	assert.Equal(t, http.StatusServiceUnavailable, code, string(body))
	assert.Contains(t, string(body), "the event store does not answer")
	assert.Less(t, time.Since(start), 30*time.Second, "answered within the call time limit")
}

// TestVerifyOnKurrentDBBuildsNoReadModels checks that verify of a KurrentDB
// log from a directory with no read models verifies the log and says the
// read models were not checked, where it built a whole set of them in
// ./data (hundreds of MB), which then stood for that log in later runs.
func TestVerifyOnKurrentDBBuildsNoReadModels(t *testing.T) {
	srv, a := serveOneCallOnKurrentDB(t)
	require.NoError(t, a.Close())
	dir := filepath.Join(t.TempDir(), "data")
	res := runTool(context.Background(), t, dir, "", "verify", "--store", srv.URL())
	require.Equal(t, 0, res.code, res.stdout+res.stderr)
	assert.Contains(t, res.stdout, "ok: ")
	assert.Contains(t, res.stderr, "the read models were not checked")
	assert.NoDirExists(t, filepath.Join(dir, "readmodels"))
}

// TestMetricsReadyOnASlowKurrentDB checks that callledger_ready says what
// /readyz says while each read of $all takes 350 ms: a scrape reads the
// log's end and readiness each within its own budget, where one budget
// for both made callledger_ready 0 beside a /readyz of 200 (a KurrentDB
// probe).
func TestMetricsReadyOnASlowKurrentDB(t *testing.T) {
	srv, a := serveOneCallOnKurrentDB(t)
	srv.SetAllReadDelay(350 * time.Millisecond)

	code, body := do(t, "GET", a.URL()+"/readyz", "", "")
	require.Equal(t, http.StatusOK, code, string(body))
	code, body = do(t, "GET", a.URL()+"/metrics", "", "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(body), "\ncallledger_ready 1\n")
	assert.Contains(t, string(body), "\ncallledger_store_head_position ", "the log's end is in the scrape")
}

// TestVerifyWithoutCredentialsCouldNotVerify checks that verify of a
// KurrentDB log it may not read (no credentials) exits 1 saying it could
// not verify, with no FAILED line (nothing was found wrong with the log),
// where its error was the read's alone ("read $all after 0: ...").
func TestVerifyWithoutCredentialsCouldNotVerify(t *testing.T) {
	srv := kurrenttest.StartSecure(t, "admin", "changeit")
	anonymous := strings.Replace(srv.URL(), "admin:changeit@", "", 1)
	res := runTool(context.Background(), t, t.TempDir(), "", "verify", "--store", anonymous)
	assert.Equal(t, 1, res.code, res.stdout+res.stderr)
	assert.Contains(t, res.stderr, "callledger verify: could not verify: ")
	assert.NotContains(t, res.stdout, "FAILED")
	assert.NotContains(t, res.stdout, "ok")
}

// TestToolsOnKurrentDBWarnOfNothing checks that billing, verify and
// export of a KurrentDB log that works write no warning to stderr, where
// billing's exit logged the client's "unexpected exception: ... context
// canceled" twice, at WARN, for calls the store itself ended (a KurrentDB
// probe).
func TestToolsOnKurrentDBWarnOfNothing(t *testing.T) {
	srv, a := serveOneCallOnKurrentDB(t)
	require.NoError(t, a.Close())
	for _, args := range [][]string{
		{"billing", "--store", srv.URL()},
		{"verify", "--store", srv.URL()},
		{"export", "--store", srv.URL(), "--out", filepath.Join(t.TempDir(), "ledger.jsonl")},
	} {
		res := runTool(context.Background(), t, t.TempDir(), "", args...)
		require.Equal(t, 0, res.code, "%s: %s", args[0], res.stderr)
		assert.NotContains(t, res.stderr, "level=WARN", args[0])
		assert.NotContains(t, res.stderr, "context canceled", args[0])
	}
}
