package api

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
)

// sibling is a second server over ts's store and read models with an
// idempotency database of its own, empty: a server that shares the log but
// not the first one's records, or the first one after it lost them (it
// stopped between an append and its record).
func (ts *testServer) sibling(t *testing.T, opts ...testServerOption) *testServer {
	t.Helper()
	sib, _ := startServer(t, t.TempDir(), ts.store, ts.proj, opts...)
	return sib
}

// heldAppend is a store whose first Append waits, once it is called, until
// the test lets it go on: reached is closed when it is called, release is
// for the test to close. Everything else is the store's own.
type heldAppend struct {
	eventstore.Store
	once             sync.Once
	reached, release chan struct{}
}

func (h *heldAppend) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	h.once.Do(func() {
		close(h.reached)
		<-h.release
	})
	return h.Store.Append(ctx, stream, expected, events)
}

func TestKeyedRequestRacedByAnotherServerAnswersTheLog(t *testing.T) {
	// Goal: the same keyed request sent at once to two servers sharing the
	// log, the loser, which loaded the call before the winner appended and
	// appended after it (its append taken for the winner's retry, with the
	// same ids), answers the winner's answer (body, ETag: the log's
	// events), not its own decision made at its own time; the log holds
	// the events once. A KurrentDB probe saw created_at/updated_at differ
	// by a millisecond in 10 of 30 such races, replayed for the key's life.
	ts := newTestServer(t)
	held := &heldAppend{reached: make(chan struct{}), release: make(chan struct{})}
	clock := &testClock{}
	clock.Set(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)) // the loser decides at another time
	loser := ts.sibling(t, withClock(clock), storeWrapped(func(s eventstore.Store) eventstore.Store {
		held.Store = s
		return held
	}))

	lost := make(chan response, 1)
	go func() {
		lost <- loser.do(t, "POST", "/calls", tokenA, seedUpsert, "Idempotency-Key", "race-1")
	}()
	<-held.reached // the loser has loaded the call (none yet) and decided
	won := ts.do(t, "POST", "/calls", tokenA, seedUpsert, "Idempotency-Key", "race-1")
	require.Equal(t, http.StatusCreated, won.Status, string(won.Body))
	n := len(ts.events(t))
	close(held.release)
	res := <-lost

	assert.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	assert.JSONEq(t, string(won.Body), string(res.Body))
	assert.Equal(t, won.Header.Get("ETag"), res.Header.Get("ETag"))
	assert.Len(t, ts.events(t), n, "the loser appended nothing")
	// Its retry answers the same again, from its own record.
	again := loser.do(t, "POST", "/calls", tokenA, seedUpsert, "Idempotency-Key", "race-1")
	assert.JSONEq(t, string(won.Body), string(again.Body))
}

// TestKeyedRetryFoundInTheLog checks the second line of idempotency: a
// keyed write retried where its answer was not recorded is answered from
// the log, as the first run was (status, body, ETag), appending nothing,
// even when deciding again would fail (the create's call exists now) or
// the call moved on since; and a key whose events are in another call's
// stream, or that its events' metadata shows was sent with another body,
// is a 422.
func TestKeyedRetryFoundInTheLog(t *testing.T) {
	ts := newTestServer(t)
	other := ts.sibling(t)

	first := ts.do(t, "POST", "/calls", tokenA, seedUpsert, "Idempotency-Key", "log-1")
	require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
	n := len(ts.events(t))

	retry := other.do(t, "POST", "/calls", tokenA, seedUpsert, "Idempotency-Key", "log-1")
	assert.Equal(t, http.StatusCreated, retry.Status, string(retry.Body))
	assert.JSONEq(t, string(first.Body), string(retry.Body))
	assert.Equal(t, first.Header.Get("ETag"), retry.Header.Get("ETag"))
	assert.Len(t, ts.events(t), n, "the retry appended nothing")

	// The call moves on; the retry still answers as the first run did.
	id := first.JSON(t)["id"].(string)
	later := strings.Replace(seedUpsert, `"UShjUatqtF"`, `"someone-else"`, 1)
	up := ts.do(t, "POST", "/calls/upsert", tokenA, later)
	require.Equal(t, http.StatusOK, up.Status, string(up.Body))
	require.Greater(t, len(ts.events(t)), n)
	retry = ts.sibling(t).do(t, "POST", "/calls", tokenA, seedUpsert, "Idempotency-Key", "log-1")
	assert.Equal(t, http.StatusCreated, retry.Status, string(retry.Body))
	assert.JSONEq(t, string(first.Body), string(retry.Body), "the answer of %s's creation, not its state now", id)

	// The same key for another call: its events are in the first call's stream.
	n = len(ts.events(t))
	elsewhere := strings.Replace(seedUpsert, "openphone_id_000000000006", "another-call", 1)
	reused := ts.sibling(t).do(t, "POST", "/calls", tokenA, elsewhere, "Idempotency-Key", "log-1")
	assert.Equal(t, http.StatusUnprocessableEntity, reused.Status, string(reused.Body))
	assert.Contains(t, string(reused.Body), "Idempotency-Key")
	assert.Len(t, ts.events(t), n, "nothing appended")

	// The same key for the same call with a different body: the events'
	// metadata recorded the first request's fingerprint.
	// That 422 is not recorded: the same server still answers the
	// request's own retry as its first run.
	sib := ts.sibling(t)
	for _, route := range []string{"/calls", "/calls/upsert"} {
		changed := strings.Replace(seedUpsert, `"UShjUatqtF"`, `"a-different-note"`, 1)
		reused = sib.do(t, "POST", route, tokenA, changed, "Idempotency-Key", "log-1")
		assert.Equal(t, http.StatusUnprocessableEntity, reused.Status, "%s: %s", route, reused.Body)
		assert.Contains(t, string(reused.Body), "Idempotency-Key")
		assert.Len(t, ts.events(t), n, "%s: nothing appended", route)
	}
	retry = sib.do(t, "POST", "/calls", tokenA, seedUpsert, "Idempotency-Key", "log-1")
	assert.Equal(t, http.StatusCreated, retry.Status, string(retry.Body))
	assert.JSONEq(t, string(first.Body), string(retry.Body))

	// A keyed upsert that changes the call, retried through another
	// server: the same body is answered as before, a different one is a 422.
	third := strings.Replace(seedUpsert, `"UShjUatqtF"`, `"a-third-person"`, 1)
	up = ts.do(t, "POST", "/calls/upsert", tokenA, third, "Idempotency-Key", "log-2")
	require.Equal(t, http.StatusOK, up.Status, string(up.Body))
	n = len(ts.events(t))
	retry = ts.sibling(t).do(t, "POST", "/calls/upsert", tokenA, third, "Idempotency-Key", "log-2")
	assert.Equal(t, http.StatusOK, retry.Status, string(retry.Body))
	assert.JSONEq(t, string(up.Body), string(retry.Body))
	reused = ts.sibling(t).do(t, "POST", "/calls/upsert", tokenA, seedUpsert, "Idempotency-Key", "log-2")
	assert.Equal(t, http.StatusUnprocessableEntity, reused.Status, string(reused.Body))
	assert.Len(t, ts.events(t), n, "nothing appended")
}

// TestAnswerAsBeforeComparesFingerprints checks the rule for a keyed
// request's events found in the log: the same fingerprint is answered as
// before, another one is a 422, and events written before fingerprints were
// recorded (none) are answered as before.
func TestAnswerAsBeforeComparesFingerprints(t *testing.T) {
	ts := newTestServer(t)
	rows := []struct {
		name     string
		recorded string
		reused   bool
	}{
		{"same request", "ab01", false},
		{"different request", "ff00", true},
		{"written before fingerprints", "", false},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			_, err := ts.api.answerAsBefore(t.Context(), acctA, &keyedAppend{Fingerprint: row.recorded}, "ab01")
			if row.reused {
				assert.ErrorIs(t, err, ErrIdempotencyKeyReused)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

// serverOverLog starts a server whose idempotency database is in dir, over
// a ledger (store and read models) of its own in dir/log: servers started
// on one dir with different logs are one server whose log was replaced
// under its idempotency database (an import, a restored backup).
func serverOverLog(t *testing.T, dir, log string) (ts *testServer, stop func()) {
	t.Helper()
	store, proj := openLedger(t, filepath.Join(dir, log), testStoreOptions(), testProjectionOptions())
	runProjector(t, proj)
	return startServer(t, dir, store, proj)
}

// TestIdempotencyRecordOfAnotherLog checks that a record answers only while
// the log holds the event its answer rests on: after the log is replaced
// under the idempotency database (an import, or a backup restored from
// before the request), a retry of a recorded write runs again instead of
// being told it succeeded, and the key sent with another body runs too,
// rather than being refused for a request the log never saw; once run,
// the new record answers as usual.
func TestIdempotencyRecordOfAnotherLog(t *testing.T) {
	dir := t.TempDir()
	first, stop := serverOverLog(t, dir, "before")
	created := first.do(t, "POST", "/v1/voice-calls", tokenA, voiceCallBody(t, "restored-1", nil), "Idempotency-Key", "restored-1")
	require.Equal(t, http.StatusCreated, created.Status, string(created.Body))
	id := created.JSON(t)["id"].(string)
	other := first.do(t, "POST", "/calls/upsert", tokenA, seedUpsert, "Idempotency-Key", "restored-2")
	require.Equal(t, http.StatusOK, other.Status, string(other.Body))
	again := first.do(t, "POST", "/v1/voice-calls", tokenA, voiceCallBody(t, "restored-1", nil), "Idempotency-Key", "restored-1")
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"), "the record answers over its own log")
	stop()

	ts, _ := serverOverLog(t, dir, "restored") // a log without those writes
	retry := ts.do(t, "POST", "/v1/voice-calls", tokenA, voiceCallBody(t, "restored-1", nil), "Idempotency-Key", "restored-1")
	require.Equal(t, http.StatusCreated, retry.Status, string(retry.Body))
	assert.Empty(t, retry.Header.Get("Idempotent-Replayed"), "the record of a write the log does not hold does not answer")
	assert.Equal(t, id, retry.JSON(t)["id"], "the same call, created again")
	ts.voiceCallGet(t, id)

	changed := strings.Replace(seedUpsert, `"UShjUatqtF"`, `"another-note"`, 1)
	reused := ts.do(t, "POST", "/calls/upsert", tokenA, changed, "Idempotency-Key", "restored-2")
	assert.Equal(t, http.StatusOK, reused.Status, "a key the log never saw is not a reused one: %s", reused.Body)

	replayed := ts.do(t, "POST", "/v1/voice-calls", tokenA, voiceCallBody(t, "restored-1", nil), "Idempotency-Key", "restored-1")
	assert.Equal(t, "true", replayed.Header.Get("Idempotent-Replayed"), "the new record answers")
	assert.Equal(t, string(retry.Body), string(replayed.Body))
}

// TestIdempotencyRecordOfAnotherLogAtTheSameRevision checks the records
// whose event the restored log holds another event in place of (the call
// is there, another write took the revision), and those of answers that
// appended nothing: a refusal (the call exists) rests on the call it
// loaded, and runs again over a log without it; an answer found in the log
// by a server without the record (answerAsBefore) rests on that append.
func TestIdempotencyRecordOfAnotherLogAtTheSameRevision(t *testing.T) {
	dir := t.TempDir()
	first, stop := serverOverLog(t, dir, "before")
	res := first.do(t, "POST", "/v1/voice-calls", tokenA, voiceCallBody(t, "restored-3", nil))
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	id := res.JSON(t)["id"].(string)
	put := voiceCallBody(t, "restored-3", map[string]any{"summary": "the keyed summary"})
	res = first.do(t, "PUT", "/v1/voice-calls/"+id, tokenA, put, "Idempotency-Key", "restored-3")
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	res = first.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	res = first.do(t, "POST", "/calls", tokenA, seedUpsert, "Idempotency-Key", "restored-4")
	require.Equal(t, http.StatusConflict, res.Status, "the call exists: %s", res.Body)
	res = first.do(t, "POST", "/calls", tokenA, seedUpsert, "Idempotency-Key", "restored-4")
	require.Equal(t, "true", res.Header.Get("Idempotent-Replayed"), "the refusal is recorded")
	stop()

	// The same call in the restored log, another write at the keyed one's
	// revision, and no Moonbase call.
	ts, _ := serverOverLog(t, dir, "restored")
	res = ts.do(t, "POST", "/v1/voice-calls", tokenA, voiceCallBody(t, "restored-3", nil))
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	require.Equal(t, id, res.JSON(t)["id"])
	res = ts.do(t, "PUT", "/v1/voice-calls/"+id, tokenA, voiceCallBody(t, "restored-3", map[string]any{"summary": "another summary"}))
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))

	retry := ts.do(t, "PUT", "/v1/voice-calls/"+id, tokenA, put, "Idempotency-Key", "restored-3")
	require.Equal(t, http.StatusOK, retry.Status, string(retry.Body))
	assert.Empty(t, retry.Header.Get("Idempotent-Replayed"), "another event holds the recorded revision")
	assert.Equal(t, "the keyed summary", ts.voiceCallGet(t, id)["summary"], "the retry ran")

	retry = ts.do(t, "POST", "/calls", tokenA, seedUpsert, "Idempotency-Key", "restored-4")
	assert.Equal(t, http.StatusCreated, retry.Status, "the call the refusal rested on is not in this log: %s", retry.Body)

	// A retry answered from the log by a server without the record
	// records the answer resting on the append it found.
	fromLog, stop := serverOverLog(t, t.TempDir(), "other")
	res = fromLog.do(t, "POST", "/calls/upsert", tokenA, seedUpsert, "Idempotency-Key", "restored-5")
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	sib, stopSib := startServer(t, filepath.Join(dir, "sibling"), fromLog.store, fromLog.proj)
	res = sib.do(t, "POST", "/calls/upsert", tokenA, seedUpsert, "Idempotency-Key", "restored-5")
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "true", res.Header.Get("Idempotent-Replayed"), "answered from the log: the first attempt's result, a replay as a record's (it said none)")
	stopSib()
	stop()
	restored, _ := serverOverLog(t, filepath.Join(dir, "sibling"), "empty")
	retry = restored.do(t, "POST", "/calls/upsert", tokenA, seedUpsert, "Idempotency-Key", "restored-5")
	require.Equal(t, http.StatusOK, retry.Status, string(retry.Body))
	assert.Empty(t, retry.Header.Get("Idempotent-Replayed"), "the answer found in the log rests on the append it found")
}
