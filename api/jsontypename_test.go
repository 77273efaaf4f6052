package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWrongJSONTypesAreNamedAlike(t *testing.T) {
	// Goal: a value of the wrong JSON type is named by its JSON type, and
	// the same name whichever decoder read it: encoding/json's errors say
	// "bool" (the Go name), the hand-read fields "boolean" (the JSON name),
	// and a client reading the message should not meet both.
	ts := newTestServer(t)
	id := newHistoryCall(t, ts, "typenames")
	for _, tc := range []struct {
		name, method, path, body, field, want string
	}{
		{"CallHistoryString", "PATCH", "/v1/calls/" + id, `{"notes":true}`, "notes", "notes: must be a string, not a JSON boolean"},
		{"CallHistoryNestedString", "PATCH", "/v1/calls/" + id, `{"contact":{"firstName":false}}`, "contact.firstName", "contact.firstName: must be a string, not a JSON boolean"},
		{"CallHistoryBoolean", "PATCH", "/v1/calls/" + id, `{"transferred":"yes"}`, "transferred", "transferred: must be a boolean, not a JSON string"},
		{"VoiceCallString", "POST", "/v1/voice-calls", voiceCallBody(t, "typenames", map[string]any{"staffId": true}), "staffId", "staffId: must be a string, not a JSON boolean"},
		{"VoiceCallDuration", "POST", "/v1/voice-calls", voiceCallBody(t, "typenames", map[string]any{"duration": true}), "duration", "not a JSON boolean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, tc.method, tc.path, tokenA, tc.body)
			assert.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
			body := res.JSON(t)
			assert.Equal(t, tc.field, body["field"])
			assert.Contains(t, body["message"], tc.want)
			assert.NotContains(t, body["message"], "JSON bool,")
		})
	}
}
