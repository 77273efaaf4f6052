package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestIdempotencyKeyOnEveryWriteMethod(t *testing.T) {
	// Goal: an Idempotency-Key is honoured on PATCH, PUT and DELETE as on
	// POST, where it was silently ignored: a keyed PATCH retried after
	// another client's write undid that write (the API client probe: notes
	// back to "a", "b" lost). A retry with the same key and request is
	// answered as the first time and appends nothing; the key with another
	// request is a 422; the key is in the events' metadata.
	ts := newTestServer(t)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := res.JSON(t)["id"].(string)
	vc := ts.do(t, "POST", "/v1/voice-calls", tokenA, voiceCallBody(t, "vonage-keyed", nil))
	require.Equal(t, http.StatusCreated, vc.Status, "body: %s", vc.Body)
	vcID := vc.JSON(t)["id"].(string)

	first := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"a"}`, "Idempotency-Key", "patch-1")
	require.Equal(t, http.StatusOK, first.Status, "body: %s", first.Body)
	other := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"b"}`)
	require.Equal(t, http.StatusOK, other.Status, "body: %s", other.Body)
	n := len(ts.events(t))

	retry := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"a"}`, "Idempotency-Key", "patch-1")
	assert.Equal(t, first.Status, retry.Status)
	assert.Equal(t, string(first.Body), string(retry.Body), "answered as the first time")
	assert.Equal(t, "true", retry.Header.Get("Idempotent-Replayed"))
	assert.Len(t, ts.events(t), n, "the retry appends nothing")
	now := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "")
	assert.Equal(t, "b", now.JSON(t)["notes"], "the other client's write stands")

	reused := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"c"}`, "Idempotency-Key", "patch-1")
	assert.Equal(t, http.StatusUnprocessableEntity, reused.Status, "body: %s", reused.Body)

	put := func() response {
		return ts.do(t, "PUT", "/v1/voice-calls/"+vcID, tokenA, voiceCallBody(t, "vonage-keyed", map[string]any{"summary": "keyed"}), "Idempotency-Key", "put-1")
	}
	firstPut := put()
	require.Equal(t, http.StatusOK, firstPut.Status, "body: %s", firstPut.Body)
	n = len(ts.events(t))
	assert.Equal(t, string(firstPut.Body), string(put().Body))
	assert.Len(t, ts.events(t), n)

	del := func() response { return ts.do(t, "DELETE", "/v1/calls/"+id, tokenA, "", "Idempotency-Key", "delete-1") }
	firstDel := del()
	require.Equal(t, http.StatusOK, firstDel.Status, "body: %s", firstDel.Body)
	again := del()
	assert.Equal(t, firstDel.Status, again.Status, "a retried delete is answered as the first, not a 409: %s", again.Body)
	assert.Equal(t, string(firstDel.Body), string(again.Body))

	keys := map[string]bool{}
	for _, e := range ts.events(t) {
		md, err := domain.UnmarshalMetadata(e.Metadata)
		require.NoError(t, err)
		keys[md.IdempotencyKey] = true
	}
	for _, key := range []string{"patch-1", "put-1", "delete-1"} {
		assert.True(t, keys[key], "the key %s is in the events' metadata", key)
	}
}
