package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// unreadyViews are read models whose Ready returns the error a test sets
// (nil: the real read models' answer).
type unreadyViews struct {
	ReadModels
	err atomic.Pointer[error]
}

// Ready returns the error set, or asks the real read models.
func (v *unreadyViews) Ready(ctx context.Context) error {
	if err := v.err.Load(); err != nil {
		return *err
	}
	return v.ReadModels.Ready(ctx)
}

// TestReadyzLogsChangesNotEveryProbe checks that /readyz logs the first
// 503, then for the same reason one line at most every readyLogEvery
// counting the 503s since, a 503 for another reason at once, and "ready
// again" at the first 200 after them, where every 503 logged a line
// (~170,000 a day at an orchestrator's two probes a second).
func TestReadyzLogsChangesNotEveryProbe(t *testing.T) {
	clock := &testClock{}
	clock.Set(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	views := &unreadyViews{}
	ts := newTestServer(t, withClock(clock), viewsWrapped(func(v ReadModels) ReadModels { views.ReadModels = v; return views }))
	require.Eventually(t, func() bool {
		return ts.do(t, "GET", "/readyz", "", "").Status == http.StatusOK
	}, 10*time.Second, 10*time.Millisecond)
	var logs embeddedtest.LogBuffer
	ts.api.log = slog.New(slog.NewJSONHandler(&logs, nil))

	type line struct {
		Msg      string `json:"msg"`
		Reason   string `json:"reason"`
		Was      string `json:"was"`
		Unlogged int    `json:"unlogged"`
	}
	lines := func() []line { return logLines[line](t, &logs) }
	probe := func(want int) {
		t.Helper()
		res := ts.do(t, "GET", "/readyz", "", "")
		require.Equal(t, want, res.Status, "%s", res.Body)
	}

	probe(http.StatusOK)
	assert.Empty(t, lines(), "ready as before: nothing to say")

	stopped := errors.New("runner stopped")
	views.err.Store(&stopped)
	for range 100 {
		probe(http.StatusServiceUnavailable)
		clock.Set(clock.Now().Add(time.Second / 2))
	}
	assert.Equal(t, []line{{Msg: "not ready", Reason: reasonViews}}, lines(),
		"the first 503 only, within a minute")
	assert.Equal(t, 0.0, scrapeMetrics(t, ts)["callledger_ready"].GetMetric()[0].GetGauge().GetValue())
	assert.Len(t, lines(), 1, "a scrape logs nothing")

	clock.Set(clock.Now().Add(readyLogEvery))
	probe(http.StatusServiceUnavailable)
	assert.Equal(t, line{Msg: "not ready", Reason: reasonViews, Unlogged: 99}, lines()[1],
		"a minute on, the same reason again, with the 503s since")

	ts.api.damage.Store(new("data damaged"))
	probe(http.StatusServiceUnavailable)
	probe(http.StatusServiceUnavailable)
	assert.Equal(t, []line{{Msg: "not ready", Reason: "data damaged"}}, lines()[2:],
		"another reason at once")

	ts.api.damage.Store(nil)
	views.err.Store(nil)
	probe(http.StatusOK)
	probe(http.StatusOK)
	assert.Equal(t, []line{{Msg: "ready again", Was: "data damaged", Unlogged: 1}}, lines()[3:])
}
