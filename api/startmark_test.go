package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/projections"
)

// startServer starts a Server over store and proj, as serve does on each
// start (a fresh process: no write marks), with reads that wait at most
// wait, and closes it when the test ends or when stop is called.
func startServer(t *testing.T, dir string, store *embedded.Store, proj *projections.Projector, wait time.Duration) (ts *testServer, stop func()) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := NewServer(Config{
		Store: store, ReadModels: NewReadModels(proj),
		Keys:           []APIKey{{Account: acctA, Token: tokenA}, {Account: acctB, Token: tokenB}},
		IdempotencyDir: filepath.Join(dir, "idempotency"), Logger: quiet,
		WaitTimeout: wait,
	})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			hs.Close()
			assert.NoError(t, srv.Close())
		}
	}
	t.Cleanup(stop)
	return &testServer{Server: hs, api: srv, store: store, proj: proj}, stop
}

func TestReadsWaitForTheLogAtStart(t *testing.T) {
	// Goal: a server that starts over a log its read models have not
	// caught up with (restarted with a backlog, read models deleted or
	// behind, a store just imported) never answers a read from them
	// before they reach where the log ended at its start: a call
	// acknowledged before the restart is never a 404, and billing never
	// gives partial totals. Every read of the read models, on every
	// surface and of any account, waits, and answers 503 with Retry-After
	// in its surface's style when they do not get there in time; once they
	// do, the reads answer the whole log.
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := embedded.Open(filepath.Join(dir, "events"), embedded.Options{Logger: quiet})
	require.NoError(t, err)
	defer store.Close()
	popts := projections.DefaultOptions()
	popts.Logger = quiet
	proj, err := projections.Open(filepath.Join(dir, "readmodels"), store, popts)
	require.NoError(t, err)
	defer proj.Close()

	// Before the restart: writes acknowledged, the projector not running.
	before, stop := startServer(t, dir, store, proj, 100*time.Millisecond)
	res := before.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	upserted := res.JSON(t)["id"].(string)
	priced := before.createVoiceCall(t, tokenA, "vonage-start-1", nil)
	stop()

	// The restart: a new server knows none of those writes.
	ts, _ := startServer(t, dir, store, proj, 100*time.Millisecond)
	reads := []struct {
		name  string
		path  string
		style errorStyle
		laml  bool
	}{
		{"Moonbase call", "/calls/" + upserted, styleMoonbase, false},
		{"Moonbase list", "/calls", styleMoonbase, false},
		{"call history", "/v1/calls/" + upserted, styleCallHistory, false},
		{"VoiceCall", "/v1/voice-calls/" + priced, styleVoiceCall, false},
		{"LaML call", lamlCallsPath(lamlPrefix, acctA) + "/" + priced + ".json", styleLaML, true},
		{"LaML list", lamlCallsPath(lamlPrefix, acctA) + ".json", styleLaML, true},
		{"billing", "/v1/billing/summary", stylePlain, false},
	}
	get := func(path string, laml bool) response {
		if laml {
			return ts.lamlDo(t, "GET", path, acctA, tokenA, "")
		}
		return ts.do(t, "GET", path, tokenA, "")
	}
	for _, r := range reads {
		t.Run("behind/"+r.name, func(t *testing.T) {
			res := get(r.path, r.laml)
			assertErrorStyle(t, res, r.style, http.StatusServiceUnavailable, lamlCodeUnavailable)
			assert.Equal(t, "1", res.Header.Get("Retry-After"))
		})
	}
	res = ts.do(t, "GET", "/calls", tokenB, "")
	assert.Equal(t, http.StatusServiceUnavailable, res.Status, "an account that never wrote waits too: %s", res.Body)
	res = ts.do(t, "GET", "/readyz", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, res.Status, "%s", res.Body)

	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = proj.Run(ctx) }()
	defer func() { cancel(); <-runDone }()

	// The first read waits for the projector rather than failing.
	for _, r := range reads {
		t.Run("caught up/"+r.name, func(t *testing.T) {
			res := get(r.path, r.laml)
			require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		})
	}
	var summary summaryBody
	require.NoError(t, json.Unmarshal(ts.do(t, "GET", "/v1/billing/summary", tokenA, "").Body, &summary))
	require.Len(t, summary.Groups, 1, "the VoiceCall call's price: %+v", summary)
	assert.True(t, decimal.RequireFromString("1.50").Equal(decimal.RequireFromString(summary.Groups[0].Total)), "total %s", summary.Groups[0].Total)
	assert.Equal(t, int64(1), summary.Groups[0].Calls)
	require.Eventually(t, func() bool {
		return ts.do(t, "GET", "/readyz", "", "").Status == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond)
}
