package api

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWritingBackATimeFinerThanShownAppendsNothing holds a client that
// writes back what it read of a call whose times were given finer than the
// surfaces show them (to the millisecond) to an answer that appends
// nothing, keeps the ETag and keeps the times as given: a probe found a
// VoiceCall PUT of its GET, and a Moonbase upsert of its GET, appending a
// CallUpserted that cut the start to the millisecond. A time a millisecond
// off, or with digits of its own beyond the millisecond, still moves it.
func TestWritingBackATimeFinerThanShownAppendsNothing(t *testing.T) {
	ts := newTestServer(t)
	const (
		start    = "2025-03-01T10:00:00.123456789+02:00"
		answered = "2025-03-01T10:01:00.987654321+02:00"
		ended    = "2025-03-01T10:30:00.000000500+02:00"
		synced   = "2025-03-02T08:00:00.123456789Z"
	)
	moonbase := func(pid, start string) string {
		return fmt.Sprintf(`{"direction":"outgoing","participants":[{"phone":"+14155550001","role":"caller"},{"phone":"+14155550002","role":"callee"}],
"provider":"openphone","provider_id":%q,"provider_status":"completed","start_at":%q,"answered_at":%q,"end_at":%q}`, pid, start, answered, ended)
	}
	// writeBack writes path's GET body back with method to path (or to
	// writePath when given), and checks that it appended nothing.
	writeBack := func(t *testing.T, id, method, readPath, writePath string) {
		t.Helper()
		before := ts.eventTypes(t, id)
		read := ts.do(t, "GET", readPath, tokenA, "")
		require.Equal(t, http.StatusOK, read.Status, "body: %s", read.Body)
		wrote := ts.do(t, method, writePath, tokenA, string(read.Body))
		require.Equal(t, http.StatusOK, wrote.Status, "body: %s", wrote.Body)
		assert.Equal(t, before, ts.eventTypes(t, id), "writing back what was read appends nothing")
		assert.Equal(t, read.Header.Get("ETag"), wrote.Header.Get("ETag"))
	}
	// storedTimes are the start, answer, end and CRM sync times the call's
	// state holds, to the nanosecond, those it has.
	storedTimes := func(t *testing.T, id string) []string {
		t.Helper()
		st, err := ts.api.LoadCall(t.Context(), uuid.MustParse(id))
		require.NoError(t, err)
		c := st.Call
		var out []string
		for _, at := range []*time.Time{c.StartedAt, c.AnsweredAt, c.EndedAt, c.Details.SyncedWithCRMAt} {
			if at != nil {
				out = append(out, at.Format(timeNano))
			}
		}
		return out
	}
	asGiven := []string{"2025-03-01T08:00:00.123456789Z", "2025-03-01T08:01:00.987654321Z", "2025-03-01T08:30:00.0000005Z"}

	t.Run("Moonbase", func(t *testing.T) {
		res := ts.do(t, "POST", "/calls/upsert", tokenA, moonbase("fine-times", start))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		id := res.JSON(t)["id"].(string)
		assert.Equal(t, "2025-03-01T08:00:00.123Z", res.JSON(t)["start_at"], "shown to the millisecond")
		writeBack(t, id, "POST", "/calls/"+id, "/calls/upsert")
		assert.Equal(t, asGiven, storedTimes(t, id), "kept as given")

		// A start a millisecond later is the client's: it moves.
		res = ts.do(t, "POST", "/calls/upsert", tokenA, moonbase("fine-times", "2025-03-01T08:00:00.124Z"))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		assert.Equal(t, "2025-03-01T08:00:00.124Z", res.JSON(t)["start_at"])
		assert.Equal(t, "2025-03-01T08:00:00.124Z", storedTimes(t, id)[0])
		// So does one with digits of its own beyond the millisecond.
		res = ts.do(t, "POST", "/calls/upsert", tokenA, moonbase("fine-times", "2025-03-01T08:00:00.124000001Z"))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		assert.Equal(t, "2025-03-01T08:00:00.124000001Z", storedTimes(t, id)[0])
	})
	t.Run("VoiceCall", func(t *testing.T) {
		id := ts.createVoiceCall(t, tokenA, "fine-times", map[string]any{"startedAt": start})
		assert.Equal(t, "2025-03-01T08:00:00.123Z", ts.voiceCallGet(t, id)["startedAt"], "shown to the millisecond")
		writeBack(t, id, "PUT", "/v1/voice-calls/"+id, "/v1/voice-calls/"+id)
		assert.Equal(t, asGiven[0], storedTimes(t, id)[0], "kept as given")
	})
	t.Run("CallHistory", func(t *testing.T) {
		res := ts.do(t, "POST", "/calls/upsert", tokenA, moonbase("fine-sync", start))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		id := res.JSON(t)["id"].(string)
		res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, fmt.Sprintf(`{"syncedWithCrmDate":%q}`, synced))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		assert.Equal(t, "2025-03-02T08:00:00.123Z", res.JSON(t)["syncedWithCrmDate"], "shown to the millisecond")
		before := ts.eventTypes(t, id)
		res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"syncedWithCrmDate":"2025-03-02T08:00:00.123Z"}`)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		assert.Equal(t, before, ts.eventTypes(t, id), "writing back what was read appends nothing")
		assert.Equal(t, append(append([]string{}, asGiven...), synced), storedTimes(t, id), "kept as given")
	})
}

// timeNano is RFC 3339 with the nanoseconds a time holds, in UTC as the
// ledger stores it.
const timeNano = "2006-01-02T15:04:05.999999999Z07:00"
