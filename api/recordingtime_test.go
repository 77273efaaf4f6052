package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// TestEventTimesNeverGoBackwards checks that a write made while the
// server's clock is behind the call's last event (another server sharing
// the log, a clock stepped back) is recorded at that event's time, not
// before it: a call's event times never decrease, so ?as_of any event's
// time shows the call with that event, as an auditor reading the times
// expects. A clock that is ahead is recorded as it reads.
func TestEventTimesNeverGoBackwards(t *testing.T) {
	clock := &testClock{}
	ts := newTestServer(t, withClock(clock))
	created := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	first := created.Add(2 * time.Hour)
	clock.Set(created)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := res.JSON(t)["id"].(string)
	clock.Set(first)
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes": "first"}`)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	clock.Set(created.Add(time.Hour)) // behind the last event by an hour
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes": "second"}`)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	later := first.Add(time.Minute)
	clock.Set(later) // ahead again: recorded as it reads
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes": "third"}`)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)

	events := ts.auditedExportLines(t, id)
	require.GreaterOrEqual(t, len(events), 4)
	var times []time.Time
	for _, e := range events {
		var meta struct {
			Time time.Time `json:"time"`
		}
		require.NoError(t, json.Unmarshal(e.Metadata, &meta), "event %d", e.Revision)
		times = append(times, meta.Time)
	}
	n := len(times)
	assert.Equal(t, created, times[0], "the creation, at the clock's time")
	assert.Equal(t, first, times[n-3], "the first note, at the clock's time")
	assert.Equal(t, first, times[n-2], "the second note, at the first's time, not the clock's an hour before")
	assert.Equal(t, later, times[n-1], "the third note, at the clock's time again")
	for i := 1; i < n; i++ {
		assert.False(t, times[i].Before(times[i-1]), "event %d recorded before event %d: %v < %v", i, i-1, times[i], times[i-1])
	}

	// As of each event's time, the call is shown with that event (?as_of
	// folds up to the first event recorded after the instant).
	for i, e := range events {
		res := ts.getAsA(t, "/v1/calls/"+id+"?as_of="+url.QueryEscape(times[i].Format(time.RFC3339Nano)))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		rev, err := strconv.ParseUint(strings.Trim(res.Header.Get("ETag"), `"`), 10, 64)
		require.NoError(t, err, "ETag %q", res.Header.Get("ETag"))
		assert.GreaterOrEqual(t, rev, e.Revision, "as of event %d's time %s", e.Revision, times[i])
	}
	// As of the hour the clock was set back to, the call had neither note:
	// both were recorded at the first's time.
	for _, tc := range []struct {
		at    time.Time
		notes string
	}{
		{created.Add(90 * time.Minute), ""},
		{first, "second"},
		{later, "third"},
	} {
		res := ts.getAsA(t, "/v1/calls/"+id+"?as_of="+url.QueryEscape(tc.at.Format(time.RFC3339Nano)))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		notes, _ := res.JSON(t)["notes"].(string)
		assert.Equal(t, tc.notes, notes, "as of %s", tc.at)
	}
}

// auditedExportLines reads a call's events through the auditors' route, as
// acctA, each as its export line.
func (ts *testServer) auditedExportLines(t testing.TB, id string) []auditEvent {
	t.Helper()
	res := ts.do(t, "GET", "/v1/calls/"+id+"/events?limit=1000", tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	var page auditPage
	require.NoError(t, json.Unmarshal(res.Body, &page))
	return page.Events
}

// logLines decodes each line of logs, written by a slog JSON handler,
// into a T.
func logLines[T any](t *testing.T, logs *embeddedtest.LogBuffer) []T {
	t.Helper()
	var out []T
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if l == "" {
			continue
		}
		var v T
		require.NoError(t, json.Unmarshal([]byte(l), &v), "%s", l)
		out = append(out, v)
	}
	return out
}

// TestClockBehindLoggedOncePerInterval checks that a clock behind the
// calls' last events is logged at its first clamped write and then at most
// once every clockSkewLogEvery, each line counting the writes clamped since
// the one before, where every such write logged a line (a clock that stays
// behind another server's sharing the log wrote a warning per write).
func TestClockBehindLoggedOncePerInterval(t *testing.T) {
	clock := &testClock{}
	ts := newTestServer(t, withClock(clock))
	var logs embeddedtest.LogBuffer
	ts.api.log = slog.New(slog.NewJSONHandler(&logs, nil))
	created := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	clock.Set(created.Add(2 * time.Hour))
	res := ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := res.JSON(t)["id"].(string)

	type line struct {
		Msg           string `json:"msg"`
		CallID        string `json:"call_id"`
		Behind        string `json:"behind"`
		ClampedWrites int    `json:"clamped_writes"`
	}
	lines := func() []line {
		var out []line
		for _, v := range logLines[line](t, &logs) {
			if strings.HasPrefix(v.Msg, "clock behind") {
				out = append(out, v)
			}
		}
		return out
	}
	patch := func(note string) {
		t.Helper()
		res := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes": "`+note+`"}`)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	}

	// Half a second behind is not logged; an hour behind is, once.
	clock.Set(created.Add(2*time.Hour - 500*time.Millisecond))
	patch("half a second")
	assert.Empty(t, lines())
	clock.Set(created.Add(time.Hour))
	for i := range 4 {
		patch("behind " + strconv.Itoa(i))
	}
	got := lines()
	require.Len(t, got, 1, "four clamped writes within a minute: one line")
	assert.Equal(t, id, got[0].CallID)
	assert.Equal(t, "1h0m0s", got[0].Behind)
	assert.Equal(t, 1, got[0].ClampedWrites)

	// A minute on, still behind: one more line, counting the three writes
	// not logged and its own.
	clock.Set(created.Add(time.Hour + clockSkewLogEvery))
	patch("a minute on")
	patch("and again")
	got = lines()
	require.Len(t, got, 2)
	assert.Equal(t, 4, got[1].ClampedWrites)
	assert.Equal(t, "59m0s", got[1].Behind)

	// A clock stepped back further logs at once.
	clock.Set(created)
	patch("stepped back")
	got = lines()
	require.Len(t, got, 3)
	assert.Equal(t, 2, got[2].ClampedWrites)
}
