//go:build unix

package api

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// storeFailureChildEnv, when set, makes TestStoreFailureIsUnavailable run
// as its own child process, whose files the kernel keeps small.
const storeFailureChildEnv = "CALLLEDGER_TEST_STORE_FAILURE_CHILD"

// Bounds of the store failure test.
const (
	// storeFailureFileBytesMax is the child's RLIMIT_FSIZE: past it a write
	// to any file fails with EFBIG, as a full disk fails with ENOSPC. The
	// embedded store's WAL reaches it after a few hundred upserts, long
	// before the read models' or the idempotency table's.
	storeFailureFileBytesMax = 256 << 10
	// storeFailureUpsertsMax bounds the upserts the child sends before the
	// store must have failed.
	storeFailureUpsertsMax = 5000
)

func TestStoreFailureIsUnavailable(t *testing.T) {
	// Goal: once the embedded store has failed (it refuses every append
	// until reopened: here its WAL cannot grow, as on a full disk), /readyz
	// says not ready, naming the store, so that a load balancer stops
	// sending traffic; and every surface answers a write 503 with
	// Retry-After in its own error style, not a 500 "internal". The store
	// is made to fail for real, in a child process whose files the kernel
	// caps (RLIMIT_FSIZE), since the cap applies to the whole process.
	if os.Getenv(storeFailureChildEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStoreFailureIsUnavailable$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), storeFailureChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "the child failed:\n%s", out)
		require.Contains(t, string(out), "--- PASS: TestStoreFailureIsUnavailable", "the child ran:\n%s", out)
		return
	}

	// The child. A write past the cap raises SIGXFSZ, which would kill the
	// process: ignored, the write fails with EFBIG instead.
	signal.Ignore(syscall.SIGXFSZ)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: storeFailureFileBytesMax, Max: storeFailureFileBytesMax}))
	ts := newTestServer(t, storeMayFail)
	existing := ts.upsertID(t, moonbaseBody("before-failure", "completed"))
	require.Equal(t, http.StatusOK, ts.do(t, "GET", "/readyz", "", "").Status)

	var failed response
	for i := range storeFailureUpsertsMax {
		res := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody(fmt.Sprintf("fill-%d", i), "completed"))
		if res.Status != http.StatusOK {
			failed = res
			break
		}
	}
	require.NotZero(t, failed.Status, "the store did not fail after %d upserts", storeFailureUpsertsMax)
	require.ErrorIs(t, ts.store.Err(), eventstore.ErrFailed, "the store failed")
	assert.Contains(t, ts.store.Err().Error(), "it refuses every append until it is opened again (restart callledger)",
		"says what is refused and what helps, not an instruction to reopen that reads as if one was tried")
	assertErrorStyle(t, failed, styleMoonbase, http.StatusServiceUnavailable, 0)
	assert.Equal(t, "1", failed.Header.Get("Retry-After"), "the write that met the failure")

	ready := ts.do(t, "GET", "/readyz", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, ready.Status, "%s", ready.Body)
	assert.Equal(t, map[string]any{"status": "unavailable", "reason": reasonStoreFailed}, ready.JSON(t))
	families := scrapeMetrics(t, ts)
	assert.Equal(t, 1.0, families["callledger_store_failed"].GetMetric()[0].GetGauge().GetValue())
	assert.Equal(t, 0.0, families["callledger_ready"].GetMetric()[0].GetGauge().GetValue())

	writes := []struct {
		name, method, path, body string
		style                    errorStyle
	}{
		{"Moonbase upsert", "POST", "/calls/upsert", moonbaseBody("after-failure", "completed"), styleMoonbase},
		{"Moonbase create", "POST", "/calls", moonbaseBody("after-failure-2", "ringing"), styleMoonbase},
		{"call history patch", "PATCH", "/v1/calls/" + existing, `{"notes":"after the failure"}`, styleCallHistory},
		{"call history delete", "DELETE", "/v1/calls/" + existing, "", styleCallHistory},
		{"VoiceCall create", "POST", "/v1/voice-calls", voiceCallBody(t, "vonage-after-failure", nil), styleVoiceCall},
		{"LaML create", "POST", lamlCallsPath(lamlPrefix, acctA) + ".json",
			formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/twiml"), styleLaML},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			res := ts.doInStyle(t, w.style, w.method, w.path, w.body)
			assertErrorStyle(t, res, w.style, http.StatusServiceUnavailable, lamlCodeUnavailable)
			assert.Equal(t, "1", res.Header.Get("Retry-After"))
			assert.NotContains(t, string(res.Body), "file too large", "the cause is the operator's, in the log")
		})
	}
	// Every append after the failure says so itself: a caller needs no
	// FailureReporter to tell it from a bug.
	_, err := ts.store.Append(context.Background(), "call-after-failure", eventstore.Any(),
		[]eventstore.EventData{{ID: uuid.New(), Type: domain.TypeCallPriced, Data: []byte(`{}`)}})
	assert.ErrorIs(t, err, eventstore.ErrFailed)
}
