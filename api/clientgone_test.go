package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// TestClientGoneIsNotAServerFault checks that a write whose client gave up
// while it waited behind another write to its call is counted as a 499
// (client closed request) and not logged as a failure, where it was a 500
// with an ERROR line (an API client probe: 1,186 of them from 48 clients
// with short timeouts); and that under an Idempotency-Key it is not
// recorded, so that the client's retry runs.
func TestClientGoneIsNotAServerFault(t *testing.T) {
	ts := newTestServer(t)
	var logs embeddedtest.LogBuffer
	ts.api.log = slog.New(slog.NewJSONHandler(&logs, nil))
	id := ts.upsertID(t, moonbaseBody("gone", "completed"))
	callID := uuid.MustParse(id)

	// Another writer holds the call: the PATCH waits until its client
	// gives up.
	held, err := ts.api.writers.lock(context.Background(), callID)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "PATCH", ts.URL+"/v1/calls/"+id, strings.NewReader(`{"notes":"given up"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tokenA)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "gone-1")
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	count := func(code string) float64 {
		m := metricWith(scrapeMetrics(t, ts), "callledger_http_requests_total",
			map[string]string{"route": "/v1/calls/{id}", "method": "PATCH", "code": code})
		if m == nil {
			return 0
		}
		return m.GetCounter().GetValue()
	}
	require.Eventually(t, func() bool { return count("499") == 1 }, 10*time.Second, 10*time.Millisecond,
		"the request the client gave up is counted as 499")
	ts.api.writers.unlock(callID, held)
	assert.Zero(t, count("500"))
	assert.NotContains(t, logs.String(), "request failed")

	res := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"given up"}`, "Idempotency-Key", "gone-1")
	require.Equal(t, http.StatusOK, res.Status, "the retry runs: %s", res.Body)
	assert.Equal(t, "given up", res.JSON(t)["notes"])
}
