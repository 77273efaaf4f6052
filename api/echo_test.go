package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWritingBackWhatAnotherSurfaceShowsAppendsNothing holds a client that
// reads a call made on another surface and writes back what it read (a
// Moonbase upsert of the GET body) to an answer that appends nothing and
// keeps the ETag: the provider_status it sends is the word Moonbase shows
// for a call that has none. A probe found each of these appending a
// CallStatusChanged that changed no surface's view. (A VoiceCall PUT must
// carry a price and a duration, which a call made elsewhere may lack; the
// domain's TestAWordTheCallShowsIsNothingNew holds its words to the same
// rule.)
func TestWritingBackWhatAnotherSurfaceShowsAppendsNothing(t *testing.T) {
	ts := newTestServer(t)
	voiceCall := func(sourceID, word string) func(t *testing.T) string {
		return func(t *testing.T) string {
			return ts.createVoiceCall(t, tokenA, sourceID, map[string]any{"status": word})
		}
	}
	laml := func(t *testing.T) string { return ts.createLAMLCall(t, "+14155550101", "+14155550102") }
	for _, tc := range []struct {
		name   string
		create func(t *testing.T) string
	}{
		{"VoiceCallIncomingToMoonbase", voiceCall("echo-incoming", "INCOMING_CALL")},
		{"VoiceCallAnsweredToMoonbase", voiceCall("echo-answered", "ANSWERED_BY_STAFF")},
		{"VoiceCallProviderAnsweredToMoonbase", voiceCall("echo-provider", "ANSWERED_BY_CALLS_PROVIDER")},
		{"VoiceCallMissedToMoonbase", voiceCall("echo-missed", "MISSED")},
		{"VoiceCallHandledToMoonbase", voiceCall("echo-handled", "MISSED_CALL_HANDLED")},
		{"LaMLQueuedToMoonbase", laml},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.create(t)
			before := ts.eventTypes(t, id)
			read := ts.do(t, "GET", "/calls/"+id, tokenA, "")
			require.Equal(t, http.StatusOK, read.Status, "body: %s", read.Body)
			wrote := ts.do(t, "POST", "/calls/upsert", tokenA, string(read.Body))
			require.Equal(t, http.StatusOK, wrote.Status, "body: %s", wrote.Body)
			assert.Equal(t, before, ts.eventTypes(t, id), "writing back what was read appends nothing")
			assert.NotEmpty(t, wrote.Header.Get("ETag"))
			assert.Equal(t, read.Header.Get("ETag"), wrote.Header.Get("ETag"))
		})
	}
}
