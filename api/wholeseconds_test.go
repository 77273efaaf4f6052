package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWholeNumber(t *testing.T) {
	// Goal: a JSON number literal is read exactly as a whole number, in any
	// of JSON's spellings, never through a float and never by building the
	// number an exponent makes.
	for _, tc := range []struct {
		lit            string
		n              int64
		whole, inRange bool
	}{
		{"120", 120, true, true},
		{"120.0", 120, true, true},
		{"120.000", 120, true, true},
		{"1.2e2", 120, true, true},
		{"1.2E+2", 120, true, true},
		{"12000e-2", 120, true, true},
		{"0", 0, true, true},
		{"-0", 0, true, true},
		{"0.0e-999999999999999999999", 0, true, true},
		{"100", 100, true, true},
		{"-1", -1, true, true},
		{"9223372036854775807", 9223372036854775807, true, true},
		{"-9223372036854775808", -9223372036854775808, true, true},
		{"120.5", 0, false, false},
		{"0.5", 0, false, false},
		{"1.25e1", 0, false, false},
		{"120.000000000000000001", 0, false, false},
		{"1e-400000000000000000000", 0, false, false},
		{"9223372036854775808", 0, true, false},
		{"1e19", 0, true, false},
		{"1e400", 0, true, false},
		{"1e400000000000000000000", 0, true, false},
	} {
		t.Run(tc.lit, func(t *testing.T) {
			n, whole, inRange := wholeNumber(tc.lit)
			assert.Equal(t, tc.whole, whole, "whole")
			assert.Equal(t, tc.inRange, inRange, "in range")
			assert.Equal(t, tc.n, n)
		})
	}
}

func TestVoiceCallDurationInAnyJSONSpelling(t *testing.T) {
	// Goal: seed 002 types duration as a JSON number, so a whole number of
	// seconds written as a float (120.0, as Python's json.dumps writes
	// timedelta.total_seconds()) or with an exponent is that duration, on a
	// POST and a PUT; a fraction of a second is a 422 naming duration.
	ts := newTestServer(t)
	for name, raw := range map[string]string{"Float": "120.0", "Exponent": "1.2e2"} {
		t.Run(name, func(t *testing.T) {
			body := voiceCallBody(t, "dur-"+name, map[string]any{"duration": json.RawMessage(raw)})
			res := ts.do(t, "POST", "/v1/voice-calls", tokenA, body)
			require.Equal(t, http.StatusCreated, res.Status, "body: %s", res.Body)
			got := res.JSON(t)
			assert.Equal(t, float64(120), got["duration"])

			id := got["id"].(string)
			res = ts.do(t, "PUT", "/v1/voice-calls/"+id, tokenA, voiceCallBody(t, "dur-"+name, map[string]any{"duration": json.RawMessage("1.8E+2")}))
			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			assert.Equal(t, float64(180), res.JSON(t)["duration"])
		})
	}
	res := ts.do(t, "POST", "/v1/voice-calls", tokenA, voiceCallBody(t, "dur-fraction", map[string]any{"duration": json.RawMessage("120.5")}))
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, "body: %s", res.Body)
	assert.Equal(t, "duration", res.JSON(t)["field"])
	assert.Equal(t, "duration must be a whole number of seconds, not 120.5", res.JSON(t)["message"])
}
