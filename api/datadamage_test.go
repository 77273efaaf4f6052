package api

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// damagedCalls is how many calls the data-damage tests write: enough for
// the tables of the store and of the read models to hold many blocks.
const damagedCalls = 1500

// writeCallsAndClose starts a server over a new ledger in dir, creates
// damagedCalls calls through the Moonbase upsert, closes everything, and
// returns the calls' ids in the order they were created.
func writeCallsAndClose(t *testing.T, dir string) []uuid.UUID {
	t.Helper()
	store, proj := openLedger(t, dir, testStoreOptions(), testProjectionOptions())
	runProjector(t, proj)
	ts, stop := startServer(t, dir, store, proj)
	ids := make([]uuid.UUID, 0, damagedCalls)
	for i := range damagedCalls {
		res := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody(fmt.Sprintf("damaged-%d", i), "completed"))
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		ids = append(ids, uuid.MustParse(res.JSON(t)["id"].(string)))
	}
	// Reads wait for the read models, so this one sees every call.
	last := ts.do(t, "GET", "/calls/"+ids[len(ids)-1].String(), tokenA, "")
	require.Equal(t, http.StatusOK, last.Status, "%s", last.Body)
	stop()
	require.NoError(t, proj.Close())
	require.NoError(t, store.Close())
	return ids
}

// reopenLogged starts a server over the ledger in dir again, logging to
// the returned buffer.
func reopenLogged(t *testing.T, dir string) (*testServer, *embeddedtest.LogBuffer) {
	t.Helper()
	store, proj := openLedger(t, dir, testStoreOptions(), testProjectionOptions())
	runProjector(t, proj)
	ts, _ := startServer(t, dir, store, proj)
	logs := &embeddedtest.LogBuffer{}
	ts.api.log = slog.New(slog.NewTextHandler(logs, nil))
	return ts, logs
}

// assertDamageAnswered checks an answer to a request that met data damaged
// on disk: a 500 in the route's error style whose message says what the
// operator must do, with no file path in it.
func assertDamageAnswered(t *testing.T, res response, style errorStyle, lamlCode int, message string) {
	t.Helper()
	assertErrorStyle(t, res, style, http.StatusInternalServerError, lamlCode)
	assert.Contains(t, string(res.Body), message, "the damage and its remedy, not a bare internal error")
	assert.NotContains(t, string(res.Body), ".sst", "no file path")
	if style != styleLaML { // LaML's codes are Twilio's numbers (20500)
		assert.Contains(t, string(res.Body), `"code":"data_damaged"`)
	}
}

// firstDamaged GETs path(id) for each of ids in turn until one is not a
// 200, which must be the damage answered in style with message
// (assertDamageAnswered). It returns that call's id, "" when every read
// succeeded, and how many calls read before it.
func firstDamaged(t *testing.T, ts *testServer, ids []uuid.UUID, path func(id string) string, style errorStyle, message string) (victim string, healthy int) {
	t.Helper()
	for _, id := range ids {
		res := ts.do(t, "GET", path(id.String()), tokenA, "")
		if res.Status == http.StatusOK {
			healthy++
			continue
		}
		assertDamageAnswered(t, res, style, 0, message)
		return id.String(), healthy
	}
	return "", healthy
}

// TestReadModelsDamaged checks that a request whose read needs a damaged
// block of the read models (a flipped byte failing Pebble's checksum) is
// answered, on every surface, with a 500 that says the read models are
// damaged and must be rebuilt, where it was a bare "internal error"; that
// the error naming the file is logged; that /readyz answers 503 with the
// same reason from then on, where it said ready; and that the calls in
// the other blocks still read.
func TestReadModelsDamaged(t *testing.T) {
	dir := t.TempDir()
	ids := writeCallsAndClose(t, dir)
	readModels := filepath.Join(dir, "readmodels")
	embeddedtest.NewTable(t, readModels)
	table := embeddedtest.DamageLargestTable(t, readModels)

	ts, logs := reopenLogged(t, dir)
	ready := ts.do(t, "GET", "/readyz", "", "")
	require.Equal(t, http.StatusOK, ready.Status, "no request has met the damage yet: %s", ready.Body)

	// The call views are keyed by id: the first call (in id order) whose
	// view is in the damaged block.
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	victim, healthy := firstDamaged(t, ts, ids, func(id string) string { return "/calls/" + id }, styleMoonbase, messageViewsDamaged)
	require.NotEmpty(t, victim, "a call's view was in the damaged block")
	require.Positive(t, healthy, "the calls before it read")

	for _, tc := range []struct {
		path     string
		style    errorStyle
		lamlCode int
	}{
		{"/v1/calls/" + victim, styleCallHistory, 0},
		{"/v1/voice-calls/" + victim, styleVoiceCall, 0},
		{"/api/laml/2010-04-01/Accounts/" + acctA + "/Calls/" + victim + ".json", styleLaML, 20500},
	} {
		var res response
		if tc.style == styleLaML {
			res = ts.lamlDo(t, "GET", tc.path, acctA, tokenA, "")
		} else {
			res = ts.do(t, "GET", tc.path, tokenA, "")
		}
		assertDamageAnswered(t, res, tc.style, tc.lamlCode, messageViewsDamaged)
	}

	ready = ts.do(t, "GET", "/readyz", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, ready.Status, "%s", ready.Body)
	assert.Equal(t, messageViewsDamaged, ready.JSON(t)["reason"])
	assert.Contains(t, logs.String(), "request failed")
	assert.Contains(t, logs.String(), table, "the log names the damaged file")

	healthyCall := ts.do(t, "GET", "/calls/"+ids[0].String(), tokenA, "")
	assert.Equal(t, http.StatusOK, healthyCall.Status, "a call in another block still reads: %s", healthyCall.Body)
}

// TestEventLogDamaged checks the same of a damaged block of the event
// store's table, which the events route reads: a 500 that says the event
// log is damaged and that callledger verify names the damage, the error
// logged with the file, and /readyz 503 from then on.
func TestEventLogDamaged(t *testing.T) {
	dir := t.TempDir()
	ids := writeCallsAndClose(t, dir)
	events := filepath.Join(dir, "events")
	embeddedtest.Flush(t, events)
	table := embeddedtest.DamageLargestTable(t, events)

	ts, logs := reopenLogged(t, dir)
	// The events are keyed by position: the first call (in the order they
	// were written) whose event is in the damaged block.
	victim, _ := firstDamaged(t, ts, ids, func(id string) string { return "/v1/calls/" + id + "/events" }, stylePlain, messageLogDamaged)
	require.NotEmpty(t, victim, "a call's event was in the damaged block")
	ready := ts.do(t, "GET", "/readyz", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, ready.Status, "%s", ready.Body)
	assert.Equal(t, messageLogDamaged, ready.JSON(t)["reason"])
	assert.Contains(t, logs.String(), table, "the log names the damaged file")
}
