package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// swapIdempotencyTable gives ts's server the idempotency table t until the
// test ends, when the server gets its own back to close.
func swapIdempotencyTable(tb testing.TB, ts *testServer, t *idempotencyTable) {
	tb.Helper()
	own := ts.api.idem
	ts.api.idem = t
	tb.Cleanup(func() { ts.api.idem = own })
}

func TestIdempotencyTableFullDisk(t *testing.T) {
	// Goal: a commit of the idempotency table that cannot be written (its
	// log on a full disk: Pebble's "fatal commit error", whose Fatalf
	// panicked inside put, after the response was sent, so that the
	// request logged "handler panic" and wrote a second status) fails the
	// table instead: the request that met it keeps its answer, and every
	// later keyed request is a 503 with Retry-After in its surface's
	// style, while requests without a key still run.
	ts := newTestServer(t)
	var logs embeddedtest.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ts.api.log = log
	var full atomic.Bool
	table, err := openIdempotencyTableOn(embeddedtest.NoRoomForLogs(&full), filepath.Join(t.TempDir(), "idempotency"),
		DefaultIdempotencyTTL, time.Now, log)
	require.NoError(t, err)
	swapIdempotencyTable(t, ts, table)

	first := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("before-full", "completed"), "Idempotency-Key", "k-1")
	require.Equal(t, http.StatusOK, first.Status, "%s", first.Body)

	full.Store(true)
	met := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("meets-full", "completed"), "Idempotency-Key", "k-2")
	assert.Equal(t, http.StatusOK, met.Status, "the write ran and was answered before its record failed: %s", met.Body)
	assert.Contains(t, logs.String(), "fatal commit error")
	assert.Contains(t, logs.String(), "idempotency table failed")
	assert.NotContains(t, logs.String(), "panic")

	writes := []struct {
		name, method, path, body string
		style                    errorStyle
	}{
		{"Moonbase upsert retried", "POST", "/calls/upsert", moonbaseBody("before-full", "completed"), styleMoonbase},
		{"Moonbase create", "POST", "/calls", moonbaseBody("after-full", "ringing"), styleMoonbase},
		{"VoiceCall create", "POST", "/v1/voice-calls", voiceCallBody(t, "vonage-after-full", nil), styleVoiceCall},
		{"LaML create", "POST", lamlCallsPath(lamlPrefix, acctA) + ".json",
			formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/twiml"), styleLaML},
	}
	for i, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			key := fmt.Sprintf("k-after-%d", i)
			if i == 0 {
				key = "k-1" // recorded before the failure: still not answered from a failed table
			}
			res := ts.doInStyle(t, w.style, w.method, w.path, w.body, "Idempotency-Key", key)
			assertErrorStyle(t, res, w.style, http.StatusServiceUnavailable, lamlCodeUnavailable)
			assert.Equal(t, "1", res.Header.Get("Retry-After"))
			assert.NotContains(t, string(res.Body), "no space left", "the cause is the operator's, in the log")
		})
	}
	unkeyed := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("unkeyed-after-full", "completed"))
	assert.Equal(t, http.StatusOK, unkeyed.Status, "%s", unkeyed.Body)
	assert.NotContains(t, logs.String(), "panic")

	n, err := table.sweep()
	assert.Zero(t, n)
	assert.ErrorIs(t, err, ErrUnavailable, "the sweeper does not touch a failed table")
	full.Store(false)
	_ = table.Close() // Pebble's own verdict on its failed commit pipeline
}

func TestIdempotencyTableDamaged(t *testing.T) {
	// Goal: a damaged block of the idempotency table (a flipped byte that
	// fails Pebble's checksum), which Pebble reported to a logger that
	// panicked, fails the table: the keyed request that reads it, and
	// every later one, is a 503 with Retry-After, never a panic.
	ts := newTestServer(t)
	var logs embeddedtest.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ts.api.log = log
	dir := filepath.Join(t.TempDir(), "idempotency")
	table, err := openIdempotencyTable(dir, DefaultIdempotencyTTL, time.Now, log)
	require.NoError(t, err)
	for i := range 2000 {
		require.NoError(t, table.put(acctA, fmt.Sprintf("k-%d", i), idempotencyRecord{
			Fingerprint: make([]byte, 32), Status: http.StatusOK, Body: []byte(strings.Repeat("x", 200)), CreatedNs: time.Now().UnixNano()}))
	}
	require.NoError(t, table.Close())
	tableFile := embeddedtest.NewTable(t, dir)
	// The record keys are hashes: damaging every data block damages the
	// record of any key.
	for i := range embeddedtest.Layout(t, tableFile).Data {
		embeddedtest.DamageDataBlock(t, tableFile, i)
	}
	table, err = openIdempotencyTable(dir, DefaultIdempotencyTTL, time.Now, log)
	require.NoError(t, err)
	swapIdempotencyTable(t, ts, table)
	t.Cleanup(func() { assert.NoError(t, table.Close()) })

	for _, key := range []string{"k-7", "k-new"} {
		res := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("damaged-"+key, "completed"), "Idempotency-Key", key)
		assertErrorStyle(t, res, styleMoonbase, http.StatusServiceUnavailable, 0)
		assert.Equal(t, "1", res.Header.Get("Retry-After"))
	}
	assert.Contains(t, logs.String(), "pebble found on-disk corruption")
	assert.Contains(t, logs.String(), "idempotency table failed")
	assert.Contains(t, logs.String(), tableFile)
	assert.NotContains(t, logs.String(), "panic")
}

func TestIdempotencyTableOpenOnAFullDisk(t *testing.T) {
	// Goal: a table whose write-ahead log cannot be flushed when it opens
	// (no table file can be created: a full disk) is an error naming the
	// disk, where Pebble retried the flush forever and the server never
	// started; with room again it opens with its records.
	var full atomic.Bool
	fs := embeddedtest.NoRoomForTables(&full)
	log := slog.New(slog.DiscardHandler)
	dir := filepath.Join(t.TempDir(), "idempotency")
	table, err := openIdempotencyTableOn(fs, dir, DefaultIdempotencyTTL, time.Now, log)
	require.NoError(t, err)
	rec := idempotencyRecord{Fingerprint: make([]byte, 32), Status: http.StatusOK, Body: []byte("{}"), CreatedNs: time.Now().UnixNano()}
	require.NoError(t, table.put(acctA, "k-1", rec))
	require.NoError(t, table.Close()) // the record stays in the write-ahead log

	full.Store(true)
	_, err = openIdempotencyTableOn(fs, dir, DefaultIdempotencyTTL, time.Now, log)
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.Contains(t, err.Error(), "free space on the disk, then start again")

	full.Store(false)
	require.Eventually(t, func() bool {
		table, err = openIdempotencyTableOn(fs, dir, DefaultIdempotencyTTL, time.Now, log)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "the table stays locked: %v", err)
	defer table.Close()
	got, err := table.get(acctA, "k-1")
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, rec.Body, got.Body)
}
