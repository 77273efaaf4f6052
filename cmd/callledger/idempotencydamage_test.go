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

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
)

func TestServeWithDamagedIdempotencyLog(t *testing.T) {
	// Goal: the idempotency table's write-ahead log damaged in its middle
	// (a flipped byte), which Pebble reads as the log's end and so drops
	// every record after it, does not stop serve from starting, and the
	// keyed writes whose records were dropped are still answered as they
	// were when retried (from the log, as the events carry ids derived from
	// their key), appending nothing.
	dir := t.TempDir()
	vars := map[string]string{"CALLLEDGER_API_KEYS": "acme:" + serveKillToken}
	m, _, _ := startMain(t, dir, vars)
	client := &http.Client{Timeout: time.Minute}
	var sent []*keyedRequest
	for i := range 40 {
		for _, r := range callWrites(fmt.Sprintf("damaged-idempotency-%d", i)) {
			status, answer, err := sendKeyed(client, m.URL(), r)
			require.NoError(t, err)
			require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, answer)
			r.answered, r.status, r.answer = true, status, answer
			sent = append(sent, r)
		}
	}
	require.NoError(t, m.Close())

	logs, err := filepath.Glob(filepath.Join(dir, "idempotency", "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, logs)
	slices.Sort(logs)
	newest := logs[len(logs)-1]
	b, err := os.ReadFile(newest)
	require.NoError(t, err)
	require.Greater(t, len(b), 1<<10, "the records are in the log, not yet in a table")
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(newest, b, 0o600))
	kept := countRecords(t, filepath.Join(dir, "idempotency"))
	require.Less(t, kept, len(sent), "Pebble dropped the records after the damage")
	t.Logf("%d of %d idempotency records kept", kept, len(sent))

	m, _, _ = startMain(t, dir, vars)
	head := func() uint64 {
		pos, _, err := m.ledger.Store.(eventstore.HeadReader).Head(context.Background())
		require.NoError(t, err)
		return pos.Commit
	}
	before := head()
	for _, r := range sent {
		status, answer, err := sendKeyed(client, m.URL(), r)
		require.NoError(t, err)
		assert.Equal(t, r.status, status, "%s %s (key %s) retried: %s", r.method, r.path, r.key, answer)
		assert.JSONEq(t, r.answer, answer, "%s %s (key %s) retried", r.method, r.path, r.key)
	}
	assert.Equal(t, before, head(), "the retries appended nothing")
}

// countRecords counts the records of the idempotency database in dir (its
// 'r' keys, one a keyed request: see api/idempotency.go), opened read-only
// so that the count changes nothing in it.
func countRecords(t *testing.T, dir string) int {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte("r"), UpperBound: []byte("s")})
	require.NoError(t, err)
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	require.NoError(t, it.Close())
	return n
}
