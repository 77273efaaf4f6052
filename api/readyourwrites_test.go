package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/projections"
)

func TestReadYourWritesWaitsOnReadsNotWrites(t *testing.T) {
	// Goal: a write is answered once durable, without waiting for the
	// projector; a read of the writer's account waits until the read models
	// show the write (503 with Retry-After if they cannot in WaitTimeout);
	// another account's reads do not wait; and the write's answer is the
	// same document a read gives once the projector has the write.
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := embedded.Open(filepath.Join(dir, "events"), embedded.Options{})
	require.NoError(t, err)
	defer store.Close()
	popts := projections.DefaultOptions()
	popts.Logger = quiet
	proj, err := projections.Open(filepath.Join(dir, "readmodels"), store, popts)
	require.NoError(t, err)
	defer proj.Close()
	srv, err := NewServer(Config{
		Store: store, ReadModels: NewReadModels(proj),
		Keys:           []APIKey{{Account: acctA, Token: tokenA}, {Account: acctB, Token: tokenB}},
		IdempotencyDir: filepath.Join(dir, "idempotency"), Logger: quiet,
		WaitTimeout: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	ts := &testServer{Server: hs, api: srv, store: store, proj: proj}

	// The projector is not running yet: the write must not need it.
	written := ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, written.Status, "%s", written.Body)
	id := written.JSON(t)["id"].(string)

	behind := ts.do(t, "GET", "/calls/"+id, tokenA, "")
	assert.Equal(t, http.StatusServiceUnavailable, behind.Status, "%s", behind.Body)
	assert.Equal(t, "1", behind.Header.Get("Retry-After"))
	assert.Equal(t, http.StatusServiceUnavailable, ts.do(t, "GET", "/calls", tokenA, "").Status, "lists wait too")
	assert.Equal(t, http.StatusOK, ts.do(t, "GET", "/calls", tokenB, "").Status, "another account has nothing to wait for")

	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = proj.Run(ctx) }()
	defer func() { cancel(); <-runDone }()

	read := ts.do(t, "GET", "/calls/"+id, tokenA, "")
	require.Equal(t, http.StatusOK, read.Status, "%s", read.Body)
	assert.JSONEq(t, string(written.Body), string(read.Body), "the write answers what a read shows")
	assert.Equal(t, written.Header.Get("ETag"), read.Header.Get("ETag"))

	// Every read right after a write sees it.
	statuses := []string{"ringing", "in-progress", "completed"}
	for i := range 30 {
		pid := fmt.Sprintf("ryw-%d", i)
		for _, status := range statuses {
			w := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody(pid, status))
			require.Equal(t, http.StatusOK, w.Status, "%s", w.Body)
			r := ts.do(t, "GET", "/calls/"+w.JSON(t)["id"].(string), tokenA, "")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			require.Equal(t, w.Header.Get("ETag"), r.Header.Get("ETag"), "call %s after %s", pid, status)
			require.JSONEq(t, string(w.Body), string(r.Body))
		}
	}
}
