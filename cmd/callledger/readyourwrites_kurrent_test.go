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

	"github.com/callledger/callledger/eventstore/kurrent/kurrenttest"
)

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
	srv := kurrenttest.Start(t)
	const token = "token-k-0123456789abcdef"
	vars := map[string]string{
		"CALLLEDGER_API_KEYS": "acct-k:" + token,
		"CALLLEDGER_STORE":    srv.URL(),
	}
	a, _ := startMain(t, t.TempDir(), vars)
	defer a.Close()
	b, _ := startMain(t, t.TempDir(), vars)
	defer b.Close()
	servers := []*Main{a, b}

	const calls = 12
	var ids []string
	for i := range calls {
		writer, reader := servers[i%2], servers[(i+1)%2]
		code, body := do(t, "POST", writer.URL()+"/v1/voice-calls", token, fmt.Sprintf(voiceCallTemplate, i))
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
			code, body := do(t, "GET", reader.URL()+path+created.ID, token, "")
			assert.Equal(t, http.StatusOK, code, "call %d read through the other server at %s: %s", i, path, body)
		}
	}

	for _, s := range servers {
		code, body := do(t, "GET", s.URL()+"/calls?limit=100", token, "")
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
