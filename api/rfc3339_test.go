package api

import (
	"net/http"
	"net/url"
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

func TestTimesOutsideTheStoredYearsNameTheYear(t *testing.T) {
	// Goal: a well-formed RFC 3339 time that falls, in UTC, outside the
	// years 0000-9999 is refused with a message naming its field and the
	// year it falls in, on every route that takes a time, in the route's
	// own status: a probe found these called "not an RFC 3339 time", which
	// they are.
	ts := newTestServer(t)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := res.JSON(t)["id"].(string)
	early := url.QueryEscape("0000-01-01T00:00:00+06:00") // 18:00 on the last day of the year -1
	late := url.QueryEscape("9999-12-31T23:59:59-00:01")  // 00:00:59 on the first day of 10000
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field, year              string
	}{
		{"Moonbase start_at", "POST", "/calls/upsert", strings.Replace(moonbaseBody("far-1", "completed"), "2025-03-01T10:00:00Z", "0000-01-01T00:00:00+06:00", 1),
			http.StatusUnprocessableEntity, "start_at", "year -1"},
		{"billing from", "GET", "/v1/billing/summary?from=" + early, "", http.StatusBadRequest, "from", "year -1"},
		{"billing to", "GET", "/v1/billing/summary?to=" + late, "", http.StatusBadRequest, "to", "year 10000"},
		{"as_of", "GET", "/calls/" + id + "?as_of=" + early, "", http.StatusBadRequest, "as_of", "year -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, tc.method, tc.path, tokenA, tc.body)
			require.Equal(t, tc.status, res.Status, "body: %s", res.Body)
			body := string(res.Body)
			// Each surface names the field in its own error style: as the
			// field member (call history) or ahead of the detail (Moonbase).
			assert.True(t, strings.Contains(body, `"`+tc.field+`"`) || strings.Contains(body, `"`+tc.field+`: `),
				"names the field %s: %s", tc.field, body)
			assert.Contains(t, string(res.Body), "in UTC it falls in the "+tc.year+", outside the years 0000-9999")
			assert.NotContains(t, string(res.Body), "not an RFC 3339")
		})
	}
	t.Run("LaML StartTime>", func(t *testing.T) {
		res := ts.lamlDo(t, "GET", lamlCallsPath("/api/laml", acctA)+".json?StartTime%3E="+early, acctA, tokenA, "")
		require.Equal(t, http.StatusBadRequest, res.Status, "body: %s", res.Body)
		assert.Contains(t, res.JSON(t)["message"], "StartTime>")
		assert.Contains(t, res.JSON(t)["message"], "in UTC it falls in the year -1, outside the years 0000-9999")
	})
}

func TestLeapSecondSaysSo(t *testing.T) {
	// Goal: a leap second, which RFC 3339 allows and the ledger cannot
	// store, is refused saying so, where the message called it no RFC 3339
	// timestamp.
	ts := newTestServer(t)
	const leap = "2016-12-31T23:59:60Z"
	body := strings.Replace(moonbaseBody("leap-1", "completed"), `"start_at":"`, `"start_at":"`+leap+`","x":"`, 1)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, body)
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, "%s", res.Body)
	assert.Contains(t, string(res.Body), `start_at: \"2016-12-31T23:59:60Z\" is a leap second, which the ledger cannot store`)
	res = ts.do(t, "GET", "/v1/billing/summary?from="+leap, tokenA, "")
	require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
	assert.Contains(t, string(res.Body), "is a leap second")
	// Seconds of 60 in a time malformed otherwise are no leap second.
	for _, v := range []string{"2025-13-45T99:59:60Z", "2025-02-17T15:60:60Z", "2025-02-17T24:59:60Z"} {
		res = ts.do(t, "GET", "/v1/billing/summary?from="+v, tokenA, "")
		require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
		assert.NotContains(t, string(res.Body), "leap second", v)
		assert.Contains(t, string(res.Body), "from: must be a day", v)
	}
}

func TestUnencodedPlusInAQueryTimeSaysSo(t *testing.T) {
	// Goal: a time in a query string whose offset's + was sent unencoded
	// (a query reads it as a space) is refused saying to send %2B, on the
	// auditors' as_of, billing's bounds and LaML's time filters alike.
	ts := newTestServer(t)
	id := ts.upsertID(t, moonbaseBody("plus-1", "completed"))
	const v = "2025-02-17T15:00:00+14:00"
	unencoded := strings.Replace(v, "+", "%20", 1)
	for _, path := range []string{
		"/v1/billing/summary?from=" + unencoded,
		"/calls/" + id + "?as_of=" + unencoded,
	} {
		res := ts.do(t, "GET", path, tokenA, "")
		require.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", path, res.Body)
		assert.Contains(t, string(res.Body), "a + in a query string reads as a space: send it as %2B", path)
	}
	res := ts.lamlDo(t, "GET", lamlCallsPath(lamlPrefix, acctA)+".json?StartTime%3E="+unencoded, acctA, tokenA, "")
	require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
	assert.Contains(t, string(res.Body), "send it as %2B")
	res = ts.do(t, "GET", "/v1/billing/summary?from="+url.QueryEscape(v), tokenA, "")
	assert.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
}
