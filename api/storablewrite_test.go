package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

func TestWriteTooLargeToStoreIsRefused(t *testing.T) {
	// Goal: a body within the body limit whose events the store cannot
	// take in one append is a 4xx that says why, with nothing appended,
	// where it was a 500 (the store refusing an invalid append): provider
	// metadata of '<' characters, each stored as a six-byte escape, is a
	// 413 giving the bytes; a write adding more than
	// domain.RecordingChangesMax recordings to a call that exists, each
	// an event, is a 422 naming recordings; the most it may add are
	// stored.
	ts := newTestServer(t)
	escaped := strings.TrimSuffix(moonbaseBody("op-lt", "completed"), "}") +
		`,"provider_metadata":{"note":"` + strings.Repeat("<", 400_000) + `"}}`
	require.Less(t, len(escaped), DefaultBodyBytesMax)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, escaped)
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.Status, string(res.Body))
	assert.Contains(t, string(res.Body), fmt.Sprintf("more than the %d one write may store", eventstore.BatchBytesMax))
	assert.Empty(t, ts.events(t))

	created := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("op-rec", "completed"))
	require.Equal(t, http.StatusOK, created.Status, string(created.Body))
	id := created.JSON(t)["id"].(string)
	withRecordings := func(from, to int) string {
		recs := make([]string, 0, to-from)
		for i := from; i < to; i++ {
			recs = append(recs, fmt.Sprintf(`{"provider_id":"RE%d","url":"https://rec.example.com/%d.mp3","content_type":"audio/mpeg"}`, i, i))
		}
		return strings.TrimSuffix(moonbaseBody("op-rec", "completed"), "}") + `,"recordings":[` + strings.Join(recs, ",") + `]}`
	}
	before := len(ts.events(t))
	res = ts.do(t, "POST", "/calls/upsert", tokenA, withRecordings(0, domain.RecordingChangesMax+1))
	assert.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
	assert.Contains(t, string(res.Body), `"pointer":"/recordings"`)
	assert.Len(t, ts.events(t), before)

	res = ts.do(t, "POST", "/calls/upsert", tokenA, withRecordings(0, domain.RecordingChangesMax))
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	assert.Len(t, ts.events(t), before+domain.RecordingChangesMax)
	assert.Len(t, res.JSON(t)["recordings"], domain.RecordingChangesMax)
	assert.Equal(t, id, res.JSON(t)["id"])
}
