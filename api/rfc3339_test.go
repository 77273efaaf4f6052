package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLowercaseRFC3339InBodies(t *testing.T) {
	// Goal: every time a surface reads from a request body takes "t" and
	// "z" in lower case, as RFC 3339 section 5.6 allows, with any offset,
	// and is answered and read back in upper case UTC as any other time.
	// (Garbage is refused naming the field: the surfaces' BadInputs tests;
	// query parameters: the list, time travel and billing tests.)
	ts := newTestServer(t)
	moonbase := func(pid string, times ...string) func(t *testing.T) string {
		return func(t *testing.T) string {
			body := strings.Replace(moonbaseBody(pid, "completed"), `"start_at":"2025-03-01T10:00:00Z"`, strings.Join(times, ","), 1)
			res := ts.do(t, "POST", "/calls/upsert", tokenA, body)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			return "/calls/" + res.JSON(t)["id"].(string)
		}
	}
	patchHistory := func(pid, body string) func(t *testing.T) string {
		return func(t *testing.T) string {
			id := newHistoryCall(t, ts, pid)
			res := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, body)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			return "/v1/calls/" + id
		}
	}
	voiceCall := func(sourceID, startedAt string, put bool) func(t *testing.T) string {
		return func(t *testing.T) string {
			if !put {
				return "/v1/voice-calls/" + ts.createVoiceCall(t, tokenA, sourceID, map[string]any{"startedAt": startedAt})
			}
			path := "/v1/voice-calls/" + ts.createVoiceCall(t, tokenA, sourceID, nil)
			res := ts.do(t, "PUT", path, tokenA, voiceCallBody(t, sourceID, map[string]any{"startedAt": startedAt}))
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			return path
		}
	}
	for _, tc := range []struct {
		name  string
		write func(t *testing.T) string // writes the call and returns its GET path
		want  map[string]string         // field → time as read back
	}{
		{"MoonbaseStartAt", moonbase("lc-1", `"start_at":"2025-03-01t10:00:00z"`),
			map[string]string{"start_at": "2025-03-01T10:00:00.000Z"}},
		{"MoonbaseUpperTLowerZ", moonbase("lc-2", `"start_at":"2025-03-01T10:00:00.25z"`),
			map[string]string{"start_at": "2025-03-01T10:00:00.250Z"}},
		{"MoonbaseAllTimesWithOffset", moonbase("lc-3", `"start_at":"2025-03-01t11:00:00+01:00"`,
			`"answered_at":"2025-03-01t10:00:05z"`, `"end_at":"2025-03-01t02:05:00-08:00"`),
			map[string]string{"start_at": "2025-03-01T10:00:00.000Z", "answered_at": "2025-03-01T10:00:05.000Z", "end_at": "2025-03-01T10:05:00.000Z"}},
		{"CallHistorySyncedWithCrmDate", patchHistory("lc-4", `{"syncedWithCrmDate":"2024-03-20t10:15:00z"}`),
			map[string]string{"syncedWithCrmDate": "2024-03-20T10:15:00.000Z"}},
		{"CallHistorySyncedWithCrmDateOffset", patchHistory("lc-5", `{"syncedWithCrmDate":"2024-03-20t10:15:00+01:00"}`),
			map[string]string{"syncedWithCrmDate": "2024-03-20T09:15:00.000Z"}},
		{"VoiceCallStartedAtCreate", voiceCall("lc-6", "2025-02-17t16:00:00+01:00", false),
			map[string]string{"startedAt": "2025-02-17T15:00:00.000Z"}},
		{"VoiceCallStartedAtPut", voiceCall("lc-7", "2025-02-17t15:00:00.5z", true),
			map[string]string{"startedAt": "2025-02-17T15:00:00.500Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.write(t)
			res := ts.do(t, "GET", path, tokenA, "")
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			got := res.JSON(t)
			for field, want := range tc.want {
				assert.Equal(t, want, got[field], field)
			}
		})
	}
}

func TestParseDayOrInstant(t *testing.T) {
	// Goal: the one reading of billing's from/to and LaML's StartTime
	// values tells a day (midnight UTC) from an instant (in UTC), and
	// refuses anything else.
	for _, tc := range []struct {
		in   string
		want string
		day  bool
	}{
		{"2025-01-31", "2025-01-31T00:00:00Z", true},
		{"2025-01-31T10:00:00Z", "2025-01-31T10:00:00Z", false},
		{"2025-01-31t10:00:00+02:00", "2025-01-31T08:00:00Z", false},
	} {
		got, day, err := parseDayOrInstant(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got.Format("2006-01-02T15:04:05Z07:00"), tc.in)
		assert.Equal(t, time.UTC, got.Location(), tc.in)
		assert.Equal(t, tc.day, day, tc.in)
	}
	for _, bad := range []string{"", "2025-01-32", "2025-01-31T10:00:00", "yesterday"} {
		_, _, err := parseDayOrInstant(bad)
		assert.Error(t, err, bad)
	}
}
