package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// appendAfter is a store whose first Append runs first, once, before
// delegating to the real store: the sibling write of a test that needs
// another server's append to land between a load and an append.
type appendAfter struct {
	eventstore.Store
	once   sync.Once
	before func()
}

func (s *appendAfter) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	s.once.Do(s.before)
	return s.Store.Append(ctx, stream, expected, events)
}

func TestWriteConflictBetweenServersIsRetried(t *testing.T) {
	// Goal: two servers sharing one log (as servers over one KurrentDB
	// do) cannot serialise their writers with their in-process call locks;
	// when another server appends to a call between this one's load and
	// its append, the append is refused on the stale revision and the
	// write runs again on the call as it now stands: both updates are in
	// the log, in the order they landed, the later one wins, and
	// callledger_write_conflicts_total counts the retry on the server that
	// made it, and only there.
	first := newTestServer(t)
	id := first.createLAMLCall(t, "+14155550100", "+14155550101")
	before := len(first.eventTypes(t, id))

	racer := &appendAfter{Store: first.store, before: func() {
		res := first.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"from the first server"}`)
		assert.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	}}
	srv, err := NewServer(Config{
		Store:          racer,
		ReadModels:     NewReadModels(first.proj),
		Keys:           []APIKey{{Account: acctA, Token: tokenA}},
		IdempotencyDir: filepath.Join(t.TempDir(), "idempotency"),
		Logger:         slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		assert.NoError(t, srv.Close())
	})
	second := &testServer{Server: hs, api: srv, store: first.store, proj: first.proj}

	res := second.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"from the second server"}`)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Equal(t, "from the second server", res.JSON(t)["notes"])

	var notes []string
	for _, r := range first.events(t) {
		if r.StreamID != "call-"+id || r.Revision < uint64(before) {
			continue
		}
		var ev domain.CallDetailsChanged
		require.NoError(t, json.Unmarshal(r.Data, &ev), "event %s", r.Type)
		require.NotNil(t, ev.Changes.Notes, "event %s", r.Type)
		notes = append(notes, *ev.Changes.Notes)
	}
	assert.Equal(t, []string{"from the first server", "from the second server"}, notes,
		"both updates appended, the retried one last")
	// Read through the server that made the last write: it waits for the
	// read models to reach it (its account's write mark). The first server
	// knows nothing of it (the embedded store is not an
	// eventstore.SharedLog), so a read there may come before the projector
	// applied it.
	got := second.do(t, "GET", "/v1/calls/"+id, tokenA, "")
	require.Equal(t, http.StatusOK, got.Status)
	assert.Equal(t, "from the second server", got.JSON(t)["notes"])

	conflicts := func(ts *testServer) float64 {
		return scrapeMetrics(t, ts)["callledger_write_conflicts_total"].GetMetric()[0].GetCounter().GetValue()
	}
	assert.Equal(t, 1.0, conflicts(second), "the second server retried once")
	assert.Equal(t, 0.0, conflicts(first), "the first server's write went through at once")
}
