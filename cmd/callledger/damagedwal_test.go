package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

func TestServeWithDamagedIdempotencyLog(t *testing.T) {
	// Goal: the idempotency table's write-ahead log damaged in its middle
	// (a flipped byte), which Pebble reads as the log's end and so drops
	// every record after it, does not stop serve from starting, and the
	// keyed writes whose records were dropped are still answered as they
	// were when retried (from the log, as the events carry ids derived from
	// their key), appending nothing.
	dir := t.TempDir()
	sent := writeKeyedCalls(t, dir, 40)
	damageNewestWAL(t, filepath.Join(dir, "idempotency"))
	kept := countRecords(t, filepath.Join(dir, "idempotency"))
	require.Less(t, kept, len(sent), "Pebble dropped the records after the damage")
	t.Logf("%d of %d idempotency records kept", kept, len(sent))

	m, _, _ := startMain(t, dir, map[string]string{"CALLLEDGER_API_KEYS": "acme:" + serveKillToken})
	client := &http.Client{Timeout: time.Minute}
	before := logHead(t, m)
	for _, r := range sent {
		status, answer, err := sendKeyed(client, m.URL(), r)
		require.NoError(t, err)
		assert.Equal(t, r.status, status, "%s %s (key %s) retried: %s", r.method, r.path, r.key, answer)
		assert.JSONEq(t, r.answer, answer, "%s %s (key %s) retried", r.method, r.path, r.key)
	}
	assert.Equal(t, before, logHead(t, m), "the retries appended nothing")
}

func TestServeWithDamagedReadModelsLog(t *testing.T) {
	// Goal: the read models' write-ahead log damaged in its middle, which
	// Pebble reads as the log's end and so drops the read-model changes
	// after it, with the checkpoint written in the same batches, does not
	// stop serve from starting: the read models stand at the last
	// checkpoint Pebble kept, the projector catches up from there, every
	// call reads as its last write answered, and the read models digest as
	// their rebuild does.
	dir := t.TempDir()
	sent := writeKeyedCalls(t, dir, 40)
	damageNewestWAL(t, filepath.Join(dir, "readmodels"))
	checkpoint, head := readModelsCheckpoint(t, dir)
	require.Less(t, checkpoint.Commit, head.Commit, "Pebble dropped read-model changes after the damage")
	t.Logf("read models at position %d of %d", checkpoint.Commit, head.Commit)

	m, _, _ := startMain(t, dir, map[string]string{"CALLLEDGER_API_KEYS": "acme:" + serveKillToken})
	for _, r := range sent {
		if r.path != "/calls/upsert" { // each call's last write
			continue
		}
		status, body := do(t, "GET", m.URL()+"/calls/"+callID(t, r.answer), serveKillToken, "")
		require.Equal(t, http.StatusOK, status, "call %s: %s", r.call, body)
		assert.JSONEq(t, r.answer, string(body), "call %s reads as its last write answered", r.call)
	}
	require.NoError(t, m.Close())

	live := readModelsDigest(t, dir)
	res := runTool(context.Background(), t, dir, "", "replay")
	require.Equal(t, 0, res.code, "replay: %s%s", res.stdout, res.stderr)
	assert.Contains(t, res.stdout, "digest "+live+"\n", "the read models, caught up, are those a rebuild makes")
}

// writeKeyedCalls writes n calls through serve on dataDir (callWrites:
// a keyed create, then a keyed upsert that completes it), stops serve, and
// returns the writes with their answers.
func writeKeyedCalls(t *testing.T, dataDir string, n int) []*keyedRequest {
	t.Helper()
	m, _, _ := startMain(t, dataDir, map[string]string{"CALLLEDGER_API_KEYS": "acme:" + serveKillToken})
	client := &http.Client{Timeout: time.Minute}
	var sent []*keyedRequest
	for i := range n {
		for _, r := range callWrites(fmt.Sprintf("damaged-wal-%d", i)) {
			status, answer, err := sendKeyed(client, m.URL(), r)
			require.NoError(t, err)
			require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, answer)
			r.answered, r.status, r.answer = true, status, answer
			sent = append(sent, r)
		}
	}
	require.NoError(t, m.Close())
	return sent
}

// damageNewestWAL flips a byte in the middle of the newest write-ahead log
// of the Pebble database in dir, which must hold more than a few records.
func damageNewestWAL(t *testing.T, dir string) {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, logs)
	slices.Sort(logs)
	newest := logs[len(logs)-1]
	b, err := os.ReadFile(newest)
	require.NoError(t, err)
	require.Greater(t, len(b), 1<<10, "%s holds the writes, not yet flushed to a table", newest)
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(newest, b, 0o600))
}

// readModelsCheckpoint opens the store and read models of dataDir without
// running the projector, and returns where the read models stand and the
// log's head.
func readModelsCheckpoint(t *testing.T, dataDir string) (checkpoint, head eventstore.Position) {
	t.Helper()
	store, proj := openStoreAndReadModels(t, dataDir)
	defer store.Close()
	defer proj.Close()
	head, _, err := store.Head(context.Background())
	require.NoError(t, err)
	return proj.Status().Checkpoint, head
}

// countRecords counts the records of the idempotency database in dir (its
// 'r' keys, one a keyed request: see api/idempotency.go), without changing
// anything in it.
func countRecords(t *testing.T, dir string) int {
	t.Helper()
	return len(embeddedtest.Keys(t, dir, []byte("r"), []byte("s")))
}
