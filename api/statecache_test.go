package api

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestWritesToALongCallStartFromTheStateKept(t *testing.T) {
	// Goal: a write to a call of more than longCallEvents events folds the
	// events after the state the server kept of it, not the whole stream
	// (a scale probe: 330-820 ms an upsert at 50,000 events), and decides
	// exactly as a fold of every event would: two servers sharing the log
	// write to the call in turn, each adding one recording, and each write
	// appends that one event, the other's included in the state it starts
	// from; the call read back from the read models equals the fold of its
	// events to the last revision, and each server keeps the call at the
	// revision it last read.
	ts := newTestServer(t)
	other := ts.sibling(t)
	id := ts.upsertID(t, recordedCallBody("long-1", 10)) // recordings in its creation
	ts.upsertID(t, recordedCallBody("long-1", 510))      // an event a recording added
	ts.upsertID(t, recordedCallBody("long-1", 1010))
	stream := domain.StreamID(uuid.MustParse(id))
	n := len(ts.eventTypes(t, id))
	require.Greater(t, n, longCallEvents)
	last := ts // the server that wrote last: its reads wait for its writes
	for recordings := 1011; recordings <= 1016; recordings++ {
		srv := ts
		if recordings%2 == 0 {
			srv = other
		}
		last = srv
		res := srv.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody("long-1", recordings))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		assert.Len(t, res.JSON(t)["recordings"], recordings)
		n++
		require.Len(t, ts.eventTypes(t, id), n, "one event: the recording added")
		_, kept, ok := srv.api.longCalls.get(stream)
		require.True(t, ok, "the server keeps the long call's state")
		assert.Equal(t, uint64(n-2), kept, "folded up to the event before its write")
	}
	// Read through the server that wrote last: a server's reads wait for
	// the read models to reach its own writes, not another's (a read
	// through ts after other's write was seen missing its recording).
	live := last.do(t, "GET", "/calls/"+id, tokenA, "")
	folded := last.do(t, "GET", "/calls/"+id+"?revision="+strconv.Itoa(n-1), tokenA, "")
	require.Equal(t, http.StatusOK, folded.Status, "body: %s", folded.Body)
	assert.JSONEq(t, string(folded.Body), string(live.Body))

	// A short call is not kept.
	short := ts.upsertID(t, recordedCallBody("short-1", 3))
	_, _, ok := ts.api.longCalls.get(domain.StreamID(uuid.MustParse(short)))
	assert.False(t, ok)
}

func TestLongCallStatesAreBounded(t *testing.T) {
	// Goal: longCallStates keeps at most longCallStatesMax states and
	// longCallEventsKept events in all, dropping the least recently used;
	// a state kept again replaces the one before.
	var c longCallStates[domain.State]
	for i := range longCallStatesMax + 10 {
		c.keep("s"+strconv.Itoa(i), domain.State{}, longCallEvents)
	}
	assert.Equal(t, longCallStatesMax, c.lru.Len())
	_, _, ok := c.get("s0")
	assert.False(t, ok, "the oldest went first")
	_, rev, ok := c.get("s10")
	require.True(t, ok)
	assert.Equal(t, uint64(longCallEvents), rev)

	c.keep("big", domain.State{}, longCallEventsKept-1)
	assert.LessOrEqual(t, c.events, longCallEventsKept)
	_, _, ok = c.get("big")
	assert.True(t, ok, "the newest stays")
	c.keep("big", domain.State{}, longCallEventsKept+5)
	assert.Equal(t, 1, c.lru.Len(), "one state over the bound is kept alone")
	_, rev, _ = c.get("big")
	assert.Equal(t, uint64(longCallEventsKept+5), rev)
}

// BenchmarkUpsertToALongCall measures an upsert that adds one recording to
// a call of 20,000 recordings (an event each), in process: with the state
// kept (longCallStates) it folds the events after it; without, the whole
// stream.
//
//	go test ./api/ -run '^$' -bench BenchmarkUpsertToALongCall -benchtime 200x
func BenchmarkUpsertToALongCall(b *testing.B) {
	ts := newBenchServer(b)
	body := longCallBuilt(b, ts, "long-bench")
	b.ResetTimer()
	for i := range b.N {
		res := ts.do(b, "POST", "/calls/upsert", tokenA, body(20_000+i, 20_001+i))
		if res.Status != http.StatusOK {
			b.Fatalf("upsert %d: %d %.300s", i, res.Status, res.Body)
		}
	}
}

// BenchmarkLAMLRecordingsPageOfALongCall measures a LaML page of 50 of the
// recordings of a call of 20,000, dated from the fold kept of the call
// (longCallStates) where it folded the whole stream for every page.
//
//	go test ./api/ -run '^$' -bench BenchmarkLAMLRecordingsPageOfALongCall -benchtime 200x
func BenchmarkLAMLRecordingsPageOfALongCall(b *testing.B) {
	ts := newBenchServer(b)
	longCallBuilt(b, ts, "long-pages")
	id := domain.CallIDFor(acctA, "openphone", "long-pages").String()
	list := lamlCallsPath(lamlPrefix, acctA) + "/" + id + "/Recordings.json?PageSize=50&Page="
	b.ResetTimer()
	for i := range b.N {
		res := ts.lamlDo(b, "GET", list+strconv.Itoa(i%400), acctA, tokenA, "")
		if res.Status != http.StatusOK {
			b.Fatalf("page %d: %d %.300s", i, res.Status, res.Body)
		}
	}
}

// longCallBuilt creates, through ts, the call of provider id pid with
// 20,000 recordings, an event each, and returns the body of an upsert of
// its recordings from to to (excluded).
func longCallBuilt(b *testing.B, ts *testServer, pid string) func(from, to int) string {
	body := func(from, to int) string {
		recs := ""
		for i := from; i < to; i++ {
			if i > from {
				recs += ","
			}
			recs += `{"content_type":"audio/mpeg","provider_id":"R` + strconv.Itoa(i) + `","url":"https://media.example.com/r/` + strconv.Itoa(i) + `.mp3"}`
		}
		return `{"direction":"incoming","participants":[{"phone":"+14155550001","role":"caller"},{"phone":"+14155550002","role":"callee"}],` +
			`"provider":"openphone","provider_id":"` + pid + `","provider_status":"completed","start_at":"2025-03-01T10:00:00Z","recordings":[` + recs + `]}`
	}
	for from := 0; from < 20_000; from += 500 {
		res := ts.do(b, "POST", "/calls/upsert", tokenA, body(from, from+500))
		require.Equal(b, http.StatusOK, res.Status, "body: %.300s", res.Body)
	}
	return body
}

func TestLongCallRecordingDatesStartFromTheFoldKept(t *testing.T) {
	// Goal: the LaML recordings of a call of more than longCallEvents events
	// are dated from the fold kept of the call (scale probe: every page
	// folded the whole stream again, 0.3-0.8 s at 98,000 recordings), and
	// exactly as a fold of every event dates them: each page, as recordings
	// are added between pages (by this server and by another sharing the
	// log), equals the same page read at the call's last revision (which
	// folds the stream), and the fold kept follows the call.
	ts := newTestServer(t)
	other := ts.sibling(t)
	id := ts.upsertID(t, recordedCallBody("dated-1", 10))
	ts.upsertID(t, recordedCallBody("dated-1", 510))
	ts.upsertID(t, recordedCallBody("dated-1", 1010))
	stream := domain.StreamID(uuid.MustParse(id))
	list := lamlCallsPath(lamlPrefix, acctA) + "/" + id + "/Recordings.json?PageSize=7&Page=144"
	reader := ts // the server that wrote last, whose reads see its write
	for recordings := 1011; recordings <= 1015; recordings++ {
		res := reader.lamlDo(t, "GET", list, acctA, tokenA, "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		last := len(ts.eventTypes(t, id)) - 1
		folded := reader.lamlDo(t, "GET", list+"&revision="+strconv.Itoa(last), acctA, tokenA, "")
		require.Equal(t, http.StatusOK, folded.Status, "body: %s", folded.Body)
		assert.Equal(t, folded.JSON(t)["recordings"], res.JSON(t)["recordings"])
		require.NotEmpty(t, res.JSON(t)["recordings"])
		_, kept, ok := reader.api.recordingDates.get(stream)
		require.True(t, ok, "the long call's dates are kept")
		assert.Equal(t, uint64(last), kept)

		reader = ts
		if recordings%2 == 0 {
			reader = other
		}
		up := reader.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody("dated-1", recordings))
		require.Equal(t, http.StatusOK, up.Status, "body: %s", up.Body)
	}
}
