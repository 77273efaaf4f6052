package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAccountRecordingsDatedByTheIndexAsByTheEvents(t *testing.T) {
	// Goal: the account's recordings, dated from the read models'
	// recording index, carry the dates a fold of each call's events gives
	// them (the call's recordings read at its last revision): for
	// recordings a creation added, and later upserts, several writes
	// apart.
	ts := newTestServer(t)
	ids := map[string]string{}
	for c := range 4 {
		pid := fmt.Sprintf("dated-%d", c)
		for n := 1; n <= 3; n++ {
			res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody(pid, n+c))
			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			ids[pid] = res.JSON(t)["id"].(string)
		}
	}
	res := ts.lamlDo(t, "GET", lamlAccountPath("", acctA)+"/Recordings.json?PageSize=100", acctA, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	listed := map[string]any{}
	for _, r := range res.JSON(t)["recordings"].([]any) {
		rec := r.(map[string]any)
		listed[rec["sid"].(string)] = rec["date_created"]
	}
	require.Len(t, listed, 3+4+5+6)

	for pid, id := range ids {
		last := len(ts.eventTypes(t, id)) - 1
		folded := ts.lamlDo(t, "GET", lamlCallsPath(lamlPrefix, acctA)+"/"+id+"/Recordings.json?PageSize=100&revision="+strconv.Itoa(last), acctA, tokenA, "")
		require.Equal(t, http.StatusOK, folded.Status, "body: %s", folded.Body)
		for _, r := range folded.JSON(t)["recordings"].([]any) {
			rec := r.(map[string]any)
			assert.Equal(t, rec["date_created"], listed[rec["sid"].(string)], "call %s, recording %s", pid, rec["sid"])
		}
	}
}

// BenchmarkLAMLAccountRecordingsPage measures a page of 1,000 of the
// account's recordings (LaML's account-level Recordings, Twilio's default
// listing) over 1,000 calls of 40 events (each upsert changes the
// provider metadata) and a recording each, dated from
// the recording index where each page read and folded every call's events
// (a scale probe: 0.4 s a page at 100 events a call).
//
//	go test ./api/ -run '^$' -bench BenchmarkLAMLAccountRecordingsPage -benchtime 50x
func BenchmarkLAMLAccountRecordingsPage(b *testing.B) {
	ts := newBenchServer(b)
	for c := range 1000 {
		pid := "paged-" + strconv.Itoa(c)
		for n := range 40 {
			body := strings.Replace(recordedCallBodyAt(pid, 1, fmt.Sprintf("2025-03-01T10:%02d:%02dZ", c/60, c%60)),
				`"provider_status":"completed"`, fmt.Sprintf(`"provider_status":"completed","provider_metadata":{"n":%d}`, n), 1)
			res := ts.do(b, "POST", "/calls/upsert", tokenA, body)
			require.Equal(b, http.StatusOK, res.Status, "body: %.300s", res.Body)
		}
	}
	page := lamlAccountPath("", acctA) + "/Recordings.json?PageSize=1000"
	b.ResetTimer()
	for range b.N {
		res := ts.lamlDo(b, "GET", page, acctA, tokenA, "")
		if res.Status != http.StatusOK || len(res.JSON(b)["recordings"].([]any)) != 1000 {
			b.Fatalf("%d %.300s", res.Status, res.Body)
		}
	}
}
