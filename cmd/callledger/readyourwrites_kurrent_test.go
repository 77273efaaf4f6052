package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/kurrent"
	"github.com/callledger/callledger/eventstore/kurrent/kurrenttest"
)

// sharedToken is acct-k's API key on the servers of twoServers.
const sharedToken = "token-k-0123456789abcdef"

// twoServers starts a KurrentDB protocol server and two callledger servers
// over it, each with a data directory of its own, as a cluster behind a
// load balancer runs; account acct-k's key is sharedToken.
func twoServers(t *testing.T) (srv *kurrenttest.Server, a, b *Main) {
	t.Helper()
	srv = kurrenttest.Start(t)
	vars := map[string]string{
		"CALLLEDGER_API_KEYS": "acct-k:" + sharedToken,
		"CALLLEDGER_STORE":    srv.URL(),
	}
	a, _, _ = startMain(t, t.TempDir(), vars)
	t.Cleanup(func() { a.Close() })
	b, _, _ = startMain(t, t.TempDir(), vars)
	t.Cleanup(func() { b.Close() })
	return srv, a, b
}

// voiceCallTemplate is a VoiceCall creation of 1.50 USD for 30 s, whose
// sourceId is "rw-" and %d.
const voiceCallTemplate = `{"staffId":"d290f1ee-6c54-4b01-90e6-d701748f0851","clientId":"c1f0e7aa-1111-4b01-90e6-d701748f0852",
  "from":"+14155550148","to":"+14155550901","direction":"INBOUND","status":"INCOMING_CALL",
  "priceRate":"0.050","totalPrice":"1.50","provider":"VONAGE","sourceId":"rw-%d","duration":30,
  "summary":"asked about a balance","externalLink":"https://example.com/c","appName":"frontdesk",
  "recordingId":"rec-001","externalId":"ext-001"}`

// TestReadYourWritesAcrossServers runs two servers over one KurrentDB log,
// each with its own read models, as a cluster behind a load balancer does:
// a call written through one server is read at once through the other, on
// every surface and in the lists, with no retry; system events the node
// writes after it do not hold reads up; and the billing tool, started on
// a fresh read-model directory, counts every priced call in the log.
func TestReadYourWritesAcrossServers(t *testing.T) {
	srv, a, b := twoServers(t)
	servers := []*Main{a, b}

	const calls = 12
	var ids []string
	for i := range calls {
		writer, reader := servers[i%2], servers[(i+1)%2]
		code, body := do(t, "POST", writer.URL()+"/v1/voice-calls", sharedToken, fmt.Sprintf(voiceCallTemplate, i))
		require.Equal(t, http.StatusCreated, code, string(body))
		var created struct{ ID string }
		require.NoError(t, json.Unmarshal(body, &created))
		ids = append(ids, created.ID)
		if i%3 == 0 { // the node's own events after the write
			for j := range 40 { // more than one backward page of them
				srv.AppendSystemEvent(fmt.Sprintf("$stats-%d", j%2), "$statsCollected")
			}
		}

		for _, path := range []string{"/v1/voice-calls/", "/v1/calls/", "/calls/"} {
			code, body := do(t, "GET", reader.URL()+path+created.ID, sharedToken, "")
			assert.Equal(t, http.StatusOK, code, "call %d read through the other server at %s: %s", i, path, body)
		}
	}

	for _, s := range servers {
		code, body := do(t, "GET", s.URL()+"/calls?limit=100", sharedToken, "")
		require.Equal(t, http.StatusOK, code, string(body))
		for _, id := range ids {
			assert.Contains(t, string(body), id, "the list of %s", s.URL())
		}
	}

	env, stdout, stderr := newTestEnv(map[string]string{
		"CALLLEDGER_DATA":  t.TempDir(),
		"CALLLEDGER_STORE": srv.URL(),
	})
	code := run(context.Background(), []string{"billing", "--group-by", "currency", "--format", "csv"}, env)
	require.Equal(t, 0, code, stderr.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 2, stdout.String())
	assert.Equal(t, fmt.Sprintf("USD,18,%d,%d,0", calls, calls*30), lines[1], "the billing tool caught up with the whole log")
}

// TestIdempotentRetryThroughAnotherServer sends a keyed write through one
// server and its retry, same key and body, through another that shares the
// KurrentDB log but not the first one's idempotency records (as after a
// load balancer's failover): the retry gets the first response, status and
// body, and appends nothing, on every surface's create. The same key with
// another body, sent first through the second server, is a 422 there (LaML's
// 400), which
// that server does not record: the genuine retry still gets its answer.
func TestIdempotentRetryThroughAnotherServer(t *testing.T) {
	srv, a, b := twoServers(t)

	cases := []struct {
		name, path, contentType, body string
	}{
		{"moonbase create", "/calls", "application/json", seedUpsert},
		{"moonbase upsert", "/calls/upsert", "application/json", strings.Replace(seedUpsert, "openphone_id_000000000006", "retry-upsert", 1)},
		{"voicecall create", "/v1/voice-calls", "application/json", fmt.Sprintf(voiceCallTemplate, 99)},
		{"laml create", "/2010-04-01/Accounts/acct-k/Calls.json", "application/x-www-form-urlencoded", "From=%2B14155550100&To=%2B14155550101&Url=https%3A%2F%2Fexample.com%2Ftwiml"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("retry-key-%d", i)
			first := send(t, a.URL()+tc.path, tc.contentType, key, tc.body)
			require.Less(t, first.code, 300, first.body)
			before := len(readAllEvents(t, srv.URL()))

			// The key with another body, through the server without its
			// record: the events' metadata holds the first one's fingerprint.
			other := strings.Replace(tc.body, "{", `{"extra":1,`, 1)
			if tc.contentType != "application/json" {
				other = tc.body + "&Extra=1"
			}
			reused := send(t, b.URL()+tc.path, tc.contentType, key, other)
			wantReused := http.StatusUnprocessableEntity
			if tc.contentType != "application/json" {
				wantReused = http.StatusBadRequest // LaML answers Twilio's 400 for a 422
			}
			assert.Equal(t, wantReused, reused.code, reused.body)
			assert.Contains(t, reused.body, "already used with a different request")
			assert.Len(t, readAllEvents(t, srv.URL()), before, "the reuse appended nothing")

			retry := send(t, b.URL()+tc.path, tc.contentType, key, tc.body)
			assert.Equal(t, first.code, retry.code, retry.body)
			assert.JSONEq(t, first.body, retry.body)
			assert.Equal(t, first.etag, retry.etag)
			assert.Len(t, readAllEvents(t, srv.URL()), before, "the retry appended nothing")
		})
	}
}

// response is what send got back.
type response struct {
	code       int
	body, etag string
}

// send POSTs body to url with an Idempotency-Key, authenticated as acct-k
// with sharedToken:
// Basic on the LaML paths (under /Accounts/), Bearer elsewhere.
func send(t *testing.T, url, contentType, key, body string) response {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	require.NoError(t, err)
	if strings.Contains(url, "/Accounts/") {
		req.SetBasicAuth("acct-k", sharedToken)
	} else {
		req.Header.Set("Authorization", "Bearer "+sharedToken)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Idempotency-Key", key)
	code, b, h := roundTrip(t, req)
	return response{code: code, body: string(b), etag: h.Get("ETag")}
}

// readAllEvents reads the whole of $all from the KurrentDB server at url.
func readAllEvents(t *testing.T, url string) []eventstore.Record {
	t.Helper()
	ctx := context.Background()
	s, err := kurrent.Open(ctx, url, kurrent.Options{})
	require.NoError(t, err)
	defer s.Close()
	recs, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	return recs
}
