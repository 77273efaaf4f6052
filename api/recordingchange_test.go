package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecordingSentAgainWithANewURL(t *testing.T) {
	// Goal: a Moonbase upsert that sends a recording again with its
	// provider_id and a new URL (a provider's signed URL re-issued)
	// records it (a CallRecordingChanged) where it was ignored whole: the
	// call's GET and the LaML recording show the new URL under the same
	// SID, its media_url the new one; sent again as it is, nothing is
	// appended; a new content_type that is no recording's is a 422; one
	// provider_id twice in a request is a 422 naming the second.
	ts := newTestServer(t)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	id := res.JSON(t)["id"].(string)
	laml := lamlCallsPath("", acctA) + "/" + id + "/Recordings"
	before := ts.lamlDo(t, "GET", laml+".json", acctA, tokenA, "").JSON(t)["recordings"].([]any)
	require.Len(t, before, 1)
	sid := before[0].(map[string]any)["sid"].(string)

	const newURL = "https://example.com/r1.mp3?sig=new"
	resent := strings.Replace(seedUpsert, "https://example.com/r1.mp3", newURL, 1)
	res = ts.do(t, "POST", "/calls/upsert", tokenA, resent)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	want := []any{map[string]any{"content_type": "audio/mpeg", "provider_id": "REC1", "url": newURL}}
	assert.Equal(t, want, res.JSON(t)["recordings"])
	got := ts.do(t, "GET", "/calls/"+id, tokenA, "")
	assert.Equal(t, want, got.JSON(t)["recordings"])
	types := ts.eventTypes(t, id)
	assert.Equal(t, "CallRecordingChanged", types[len(types)-1])

	after := ts.lamlDo(t, "GET", laml+".json", acctA, tokenA, "").JSON(t)["recordings"].([]any)
	require.Len(t, after, 1)
	assert.Equal(t, sid, after[0].(map[string]any)["sid"], "the same recording")
	assert.Equal(t, newURL, after[0].(map[string]any)["media_url"])

	res = ts.do(t, "POST", "/calls/upsert", tokenA, resent)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	assert.Len(t, ts.eventTypes(t, id), len(types), "the same recording again appends nothing")

	html := strings.Replace(resent, `"content_type": "audio/mpeg"`, `"content_type": "text/html"`, 1)
	res = ts.do(t, "POST", "/calls/upsert", tokenA, html)
	assert.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
	assert.Contains(t, string(res.Body), "recordings[0].content_type")

	twice := strings.Replace(seedUpsert, `"recordings": [`, `"recordings": [{"content_type": "audio/wav", "provider_id": "REC1", "url": "https://example.com/r1.wav"}, `, 1)
	res = ts.do(t, "POST", "/calls/upsert", tokenA, twice)
	assert.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
	assert.Contains(t, string(res.Body), "recordings[1].provider_id")
	assert.Len(t, ts.eventTypes(t, id), len(types), "nothing appended")
}
