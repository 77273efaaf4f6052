package api

import (
	"crypto/sha256"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLAMLKeyTellsAFormFromJSON(t *testing.T) {
	// Goal: LaML reads a body as a form or as JSON by its Content-Type, so
	// the same bytes under the other type are another request, and the
	// key's answer to one is not replayed to the other: a retry that
	// corrects the header is told its key was used for another request
	// (nothing appended; it runs under a new key), where it was answered
	// with the first's (the JSON read as a form: an unknown parameter,
	// nothing changed, so the hang-up never ran, replayed as a success; a
	// form read as JSON: that 400, for ever). The type's parameters
	// (charset) and a form sent without a type change nothing: a form's
	// fingerprint is what it always was.
	ts := newTestServer(t)
	sid := ts.createLAMLCall(t, "+14155550003", "+14155550004")
	path := lamlCallsPath(lamlPrefix, acctA) + "/" + sid + ".json"
	const form, asJSON = "application/x-www-form-urlencoded", "application/json"
	hangUp := `{"Status":"completed"}`

	misread := ts.lamlDo(t, "POST", path, acctA, tokenA, hangUp, "Content-Type", form, IdempotencyKeyHeader, "k-hang-up")
	require.Equal(t, http.StatusOK, misread.Status, "%s", misread.Body)
	assert.Equal(t, "queued", misread.JSON(t)["status"], "a form with one parameter it does not know changes nothing")
	n := len(ts.events(t))
	corrected := ts.lamlDo(t, "POST", path, acctA, tokenA, hangUp, "Content-Type", asJSON, IdempotencyKeyHeader, "k-hang-up")
	require.Equal(t, http.StatusBadRequest, corrected.Status, "%s", corrected.Body)
	assert.Contains(t, string(corrected.Body), "this key was already used with a different request")
	assert.Len(t, ts.events(t), n, "nothing appended")
	ran := ts.lamlDo(t, "POST", path, acctA, tokenA, hangUp, "Content-Type", asJSON, IdempotencyKeyHeader, "k-hang-up-2")
	require.Equal(t, http.StatusOK, ran.Status, "%s", ran.Body)
	assert.Equal(t, "canceled", ran.JSON(t)["status"])
	again := ts.lamlDo(t, "POST", path, acctA, tokenA, hangUp, "Content-Type", asJSON+"; charset=utf-8", IdempotencyKeyHeader, "k-hang-up-2")
	assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"), "its retries replay it, whatever the type's parameters")
	assert.Equal(t, ran.Body, again.Body)

	create := formBody("From", "+14155550003", "To", "+14155550004", "Url", "https://x.example.com/t")
	calls := lamlCallsPath(lamlPrefix, acctA) + ".json"
	refused := ts.lamlDo(t, "POST", calls, acctA, tokenA, create, "Content-Type", asJSON, IdempotencyKeyHeader, "k-create")
	require.Equal(t, http.StatusBadRequest, refused.Status, "%s", refused.Body)
	assert.Contains(t, string(refused.Body), "must be a JSON object")
	reused := ts.lamlDo(t, "POST", calls, acctA, tokenA, create, "Content-Type", form, IdempotencyKeyHeader, "k-create")
	require.Equal(t, http.StatusBadRequest, reused.Status, "%s", reused.Body)
	assert.Contains(t, string(reused.Body), "this key was already used with a different request", "not the JSON error replayed")
	made := ts.lamlDo(t, "POST", calls, acctA, tokenA, create, "Content-Type", form, IdempotencyKeyHeader, "k-create-2")
	require.Equal(t, http.StatusCreated, made.Status, "%s", made.Body)
	unsaid := ts.lamlDo(t, "POST", calls, acctA, tokenA, create, "Content-Type", "", IdempotencyKeyHeader, "k-create-2")
	assert.Equal(t, "true", unsaid.Header.Get("Idempotent-Replayed"), "no Content-Type is a form, as it always was")
	assert.Equal(t, made.Body, unsaid.Body)
}

func TestFingerprintOfAFormIsUnchanged(t *testing.T) {
	// Goal: a request whose body is read the surface's default way keeps
	// the fingerprint earlier builds recorded (in idempotency records and
	// in events' request_fingerprint), so that their keys still replay;
	// one read as JSON differs.
	body := []byte("From=%2B14155550003&To=%2B14155550004")
	h := sha256.New()
	h.Write([]byte("POST\x00/p\x00"))
	h.Write(body)
	assert.Equal(t, h.Sum(nil), fingerprint("POST", "/p", "", body), "method, path and body, as before session 45")
	assert.NotEqual(t, h.Sum(nil), fingerprint("POST", "/p", "json", body))
}
