package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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

func TestLAMLKeysOfEarlierBuildsStillReplay(t *testing.T) {
	// Goal: a LaML record an earlier build made holds the plain
	// fingerprint (method, path, body), whichever way the body was read;
	// the retry of its request, a form or JSON, is answered with it after
	// an upgrade, as that build answered it, rather than told its key was
	// used (a verification probe's upgrade). This build's own records tell
	// a form from JSON (TestLAMLKeyTellsAFormFromJSON). The same holds of
	// an earlier build's events found in the log: answerAsBefore takes the
	// plain fingerprint too.
	ts := newTestServer(t)
	calls := lamlCallsPath(lamlPrefix, acctA) + ".json"
	for _, tc := range []struct{ name, body, contentType string }{
		{"json", `{"From":"+14155550003","To":"+14155550004","Url":"https://x.example.com/t"}`, "application/json"},
		{"form", formBody("From", "+14155550003", "To", "+14155550004", "Url", "https://x.example.com/t"), "application/x-www-form-urlencoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "k-earlier-" + tc.name
			plain := fingerprint("POST", calls, "", []byte(tc.body))
			require.NoError(t, ts.api.idem.put(acctA, key, idempotencyRecord{
				Fingerprint: plain, Status: http.StatusCreated, Body: []byte(`{"answered":"by an earlier build"}`), CreatedNs: time.Now().UnixNano(),
			}))
			n := len(ts.events(t))
			res := ts.lamlDo(t, "POST", calls, acctA, tokenA, tc.body, "Content-Type", tc.contentType, IdempotencyKeyHeader, key)
			require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
			assert.Equal(t, "true", res.Header.Get("Idempotent-Replayed"))
			assert.JSONEq(t, `{"answered":"by an earlier build"}`, string(res.Body))
			assert.Len(t, ts.events(t), n)
		})
	}
}

func TestFingerprints(t *testing.T) {
	// Goal: a request of a surface that reads bodies one way keeps the
	// plain fingerprint earlier builds recorded (method, path, body); a
	// LaML request's tells the way its body is read, and matches the plain
	// one of an earlier build's record (sameFingerprint) only as a legacy.
	body := []byte("From=%2B14155550003&To=%2B14155550004")
	h := sha256.New()
	h.Write([]byte("POST\x00/p\x00"))
	h.Write(body)
	plain := h.Sum(nil)
	assert.Equal(t, plain, fingerprint("POST", "/p", "", body), "method, path and body, as before session 45")
	form, asJSON := fingerprint("POST", "/p", "form", body), fingerprint("POST", "/p", "json", body)
	assert.NotEqual(t, plain, form)
	assert.NotEqual(t, form, asJSON)
	assert.True(t, sameFingerprint(form, form, plain))
	assert.True(t, sameFingerprint(plain, asJSON, plain), "an earlier build's record")
	assert.False(t, sameFingerprint(form, asJSON, plain), "this build's form record is not JSON's")
	assert.False(t, sameFingerprint(plain, form, nil))
}

func TestAnswerAsBeforeTakesAnEarlierBuildsFingerprint(t *testing.T) {
	// Goal: a keyed append found in the log whose events hold the plain
	// fingerprint (an earlier build's LaML request) answers this build's
	// retry of the request; another fingerprint is the key used for
	// another request; events without one are taken, as before.
	ts := newTestServer(t)
	body := []byte(`{"Status":"completed"}`)
	plain := fingerprint("POST", "/p", "", body)
	asJSON := fingerprint("POST", "/p", "json", body)
	for _, tc := range []struct {
		name   string
		stored string
		legacy []byte
		reused bool
	}{
		{"this build's", hex.EncodeToString(asJSON), plain, false},
		{"an earlier build's", hex.EncodeToString(plain), plain, false},
		{"another request's", hex.EncodeToString(fingerprint("POST", "/p", "form", body)), plain, true},
		{"plain where none is legacy", hex.EncodeToString(plain), nil, true},
		{"none recorded", "", plain, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, sc := withScope(httptest.NewRequest("POST", "/p", nil), "")
			sc.fingerprint, sc.legacyFingerprint = asJSON, tc.legacy
			_, err := ts.api.answerAsBefore(r.Context(), acctA, &keyedAppend{Fingerprint: tc.stored}, hex.EncodeToString(asJSON))
			if tc.reused {
				require.Error(t, err)
				assert.True(t, sc.unrecorded)
				return
			}
			require.NoError(t, err)
		})
	}
}
