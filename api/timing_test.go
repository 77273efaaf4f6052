package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// timingUpsert is a Moonbase upsert body of provider id pid with the given
// provider status and times (start_at, answered_at, end_at; "" leaves one
// out).
func timingUpsert(t testing.TB, provider, pid, status, start, answered, end string) string {
	t.Helper()
	b := map[string]any{
		"direction": "incoming", "provider": provider, "provider_id": pid, "provider_status": status,
		"participants": []map[string]string{{"phone": "+14155551212", "role": "caller"}, {"phone": "+16505551212", "role": "callee"}},
	}
	for k, v := range map[string]string{"start_at": start, "answered_at": answered, "end_at": end} {
		if v != "" {
			b[k] = v
		}
	}
	out, err := json.Marshal(b)
	require.NoError(t, err)
	return string(out)
}

// lastEvent returns the type and data of the last event of a call's stream.
func (ts *testServer) lastEvent(t testing.TB, id string) (string, string) {
	t.Helper()
	recs, err := ts.store.ReadStream(context.Background(), domain.StreamID(uuid.MustParse(id)), 0, 0)
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	last := recs[len(recs)-1]
	return last.Type, string(last.Data)
}

func TestCorrectedTimesMoveADerivedDuration(t *testing.T) {
	// Goal (QA issue 1): a duration the ledger derived from a call's times
	// follows a correction of those times, on every surface that shows it,
	// and the log records the new duration in the write that moved them:
	// after Moonbase moves the end, after it moves the start of a call never
	// answered, and after it reports the end of a call LaML hung up.
	ok := func(t *testing.T, res response) {
		t.Helper()
		require.Less(t, res.Status, 300, "body: %s", res.Body)
	}
	upsert := func(t *testing.T, ts *testServer, body string) {
		t.Helper()
		ok(t, ts.do(t, "POST", "/calls/upsert", tokenA, body))
	}
	for _, tc := range []struct {
		name string
		// steps write the call (provider openphone, provider id "t") and
		// end with the correction.
		steps        func(t *testing.T, ts *testServer, id string)
		wantDuration int64
		wantEnd      string // LaML end_time
		wantEvent    string // the correction's last event's data
	}{
		{
			name: "MoonbaseMovesTheEnd",
			steps: func(t *testing.T, ts *testServer, id string) {
				upsert(t, ts, timingUpsert(t, "openphone", "t", "completed", "2025-02-17T15:00:00Z", "2025-02-17T15:01:00Z", "2025-02-17T15:30:00Z"))
				assert.Equal(t, json.Number("1740"), ts.lamlGet(t, id)["duration"], "derived from the answer to the end")
				upsert(t, ts, timingUpsert(t, "openphone", "t", "completed", "2025-02-17T15:00:00Z", "2025-02-17T15:01:00Z", "2025-02-17T15:10:00Z"))
			},
			wantDuration: 540,
			wantEnd:      "Mon, 17 Feb 2025 15:10:00 +0000",
			wantEvent:    `{"ended_at":"2025-02-17T15:10:00Z","duration_seconds":540}`,
		},
		{
			name: "MoonbaseMovesTheStartOfACallNeverAnswered",
			steps: func(t *testing.T, ts *testServer, id string) {
				upsert(t, ts, timingUpsert(t, "openphone", "t", "in-progress", "2025-02-17T15:00:00Z", "", ""))
				upsert(t, ts, timingUpsert(t, "openphone", "t", "completed", "2025-02-17T15:00:00Z", "", "2025-02-17T15:30:00Z"))
				assert.Equal(t, json.Number("1800"), ts.lamlGet(t, id)["duration"], "derived from the start to the end")
				upsert(t, ts, timingUpsert(t, "openphone", "t", "completed", "2025-02-17T15:10:00Z", "", "2025-02-17T15:30:00Z"))
			},
			wantDuration: 1200,
			wantEnd:      "Mon, 17 Feb 2025 15:30:00 +0000",
			wantEvent:    `{"duration_seconds":1200}`, // beside the CallUpserted that moved the start
		},
		{
			name: "LaMLHangsUpThenTheProviderReportsTheEnd",
			steps: func(t *testing.T, ts *testServer, id string) {
				upsert(t, ts, timingUpsert(t, "openphone", "t", "in-progress", "2025-02-17T15:00:00Z", "", ""))
				ok(t, ts.lamlDo(t, "POST", lamlCallsPath(lamlPrefix, acctA)+"/"+id+".json", acctA, tokenA, formBody("Status", "completed")))
				upsert(t, ts, timingUpsert(t, "openphone", "t", "completed", "2025-02-17T15:00:00Z", "", "2025-02-17T15:05:00Z"))
			},
			wantDuration: 300,
			wantEnd:      "Mon, 17 Feb 2025 15:05:00 +0000",
			wantEvent:    `{"ended_at":"2025-02-17T15:05:00Z","duration_seconds":300}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			id := domain.CallIDFor(acctA, "openphone", "t").String()
			tc.steps(t, ts, id)

			laml := ts.lamlGet(t, id)
			assert.Equal(t, json.Number(strconv.FormatInt(tc.wantDuration, 10)), laml["duration"])
			assert.Equal(t, tc.wantEnd, laml["end_time"])
			assert.Equal(t, float64(tc.wantDuration), ts.voiceCallGet(t, id)["duration"])
			typ, data := ts.lastEvent(t, id)
			assert.Equal(t, domain.TypeCallTimingChanged, typ)
			assert.JSONEq(t, tc.wantEvent, data)

			st, err := ts.api.LoadCall(context.Background(), uuid.MustParse(id))
			require.NoError(t, err)
			require.NotNil(t, st.Call.DurationSeconds)
			assert.Equal(t, tc.wantDuration, *st.Call.DurationSeconds, "a fold of the log agrees")
		})
	}
}

func TestACompletedCallNeverAnsweredIsAsLongAsItsTimes(t *testing.T) {
	// Goal: a call a provider reports completed without an answer time (a
	// voicemail) is as long as its start and end say, on every surface and
	// in the log, whether its end comes with the status or
	// later; before, LaML showed 0 and VoiceCall null.
	for _, tc := range []struct {
		name   string
		bodies []string
		want   int64
		event  string // the last event's data
	}{
		{
			name:   "EndWithTheStatus",
			bodies: []string{timingUpsert(t, "openphone", "vm", "voicemail", "2025-09-01T10:00:00Z", "", "2025-09-01T10:01:30Z")},
			want:   90,
			event:  `{"ended_at":"2025-09-01T10:01:30Z","duration_seconds":90}`,
		},
		{
			name: "EndAfterTheStatus",
			bodies: []string{
				timingUpsert(t, "openphone", "vm", "completed", "2025-09-01T10:00:00Z", "", ""),
				timingUpsert(t, "openphone", "vm", "completed", "2025-09-01T10:00:00Z", "", "2025-09-01T10:03:00Z"),
			},
			want:  180,
			event: `{"ended_at":"2025-09-01T10:03:00Z","duration_seconds":180}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			id := domain.CallIDFor(acctA, "openphone", "vm").String()
			for _, body := range tc.bodies {
				res := ts.do(t, "POST", "/calls/upsert", tokenA, body)
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			}
			laml := ts.lamlGet(t, id)
			assert.Equal(t, "completed", laml["status"])
			assert.Equal(t, json.Number(strconv.FormatInt(tc.want, 10)), laml["duration"])
			assert.Equal(t, float64(tc.want), ts.voiceCallGet(t, id)["duration"])
			typ, data := ts.lastEvent(t, id)
			assert.Equal(t, domain.TypeCallTimingChanged, typ)
			assert.JSONEq(t, tc.event, data)
			ts.requireRebuildMatchesLive(t)
		})
	}
}

func TestTimesTheLedgerAssignsReadBackExactly(t *testing.T) {
	// Goal: the ledger reads its clock to the millisecond, the precision
	// every JSON surface writes: a start it assigns (a VoiceCall created
	// without startedAt) reads back as stored, so that a Moonbase client
	// that upserts back the call it read does not move it; before, the
	// nanosecond start came back a fraction of a millisecond off and the
	// echo was recorded as a moved start. (A time a client sends finer than
	// a millisecond is stored as sent, and reads back to the millisecond.)
	clock := &testClock{}
	clock.Set(time.Date(2025, 2, 17, 15, 0, 0, 123456789, time.UTC))
	ts := newTestServer(t, withClock(clock))
	id := ts.createVoiceCall(t, tokenA, "vc-clock", map[string]any{"status": "ANSWERED_BY_STAFF", "startedAt": nil})
	st, err := ts.api.LoadCall(context.Background(), uuid.MustParse(id))
	require.NoError(t, err)
	require.NotNil(t, st.Call.StartedAt)
	assert.Equal(t, time.Date(2025, 2, 17, 15, 0, 0, 123000000, time.UTC), *st.Call.StartedAt, "stored to the millisecond")

	read := ts.do(t, "GET", "/calls/"+id, tokenA, "")
	require.Equal(t, http.StatusOK, read.Status, "body: %s", read.Body)
	startAt := read.JSON(t)["start_at"].(string)
	assert.Equal(t, "2025-02-17T15:00:00.123Z", startAt)
	n := len(ts.eventTypes(t, id))
	clock.Set(clock.Now().Add(time.Minute))
	res := ts.do(t, "POST", "/calls/upsert", tokenA, string(read.Body)) // the call as read, sent back
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.NotContains(t, ts.eventTypes(t, id)[n:], domain.TypeCallUpserted, "the start sent back is the start stored")
	st, err = ts.api.LoadCall(context.Background(), uuid.MustParse(id))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 2, 17, 15, 0, 0, 123000000, time.UTC), *st.Call.StartedAt)
}

func TestCorrectedTimesMoveTheBilledDuration(t *testing.T) {
	// Goal (QA issue 1): billing sums the duration that followed a
	// corrected end, live and after a rebuild of the read models; time
	// travel to before the correction still shows the old duration.
	ts := newTestServer(t)
	id := domain.CallIDFor(acctA, "vonage", "vg-billed").String()
	res := ts.do(t, "POST", "/calls/upsert", tokenA, timingUpsert(t, "vonage", "vg-billed", "completed",
		"2025-02-17T15:00:00Z", "2025-02-17T15:01:00Z", "2025-02-17T15:30:00Z"))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	// VoiceCall prices the call, sending the duration the call has.
	res = ts.do(t, "PUT", "/v1/voice-calls/"+id, tokenA, voiceCallBody(t, "vg-billed", map[string]any{
		"status": "VOICEMAIL_RECEIVED", "duration": 1740, "startedAt": "2025-02-17T15:00:00Z",
	}))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	billed := func() int64 { return billedSeconds(t, ts, "2025-02-17", "2025-02-18") }
	require.Equal(t, int64(1740), billed())
	beforeCorrection := len(ts.eventTypes(t, id)) - 1

	res = ts.do(t, "POST", "/calls/upsert", tokenA, timingUpsert(t, "vonage", "vg-billed", "completed",
		"2025-02-17T15:00:00Z", "2025-02-17T15:01:00Z", "2025-02-17T15:10:00Z"))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Equal(t, int64(540), billed())

	old := ts.getAsA(t, lamlCallsPath(lamlPrefix, acctA)+"/"+id+".json?revision="+strconv.Itoa(beforeCorrection))
	require.Equal(t, http.StatusOK, old.Status, "body: %s", old.Body)
	assert.Equal(t, json.Number("1740"), old.lamlJSON(t)["duration"])

	ts.requireRebuildMatchesLive(t)
	assert.Equal(t, int64(540), billed())
}

// lamlGet fetches a call on the LaML surface of acctA, numbers exact.
func (ts *testServer) lamlGet(t testing.TB, id string) map[string]any {
	t.Helper()
	res := ts.lamlDo(t, "GET", lamlCallsPath(lamlPrefix, acctA)+"/"+id+".json", acctA, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	return res.lamlJSON(t)
}

func TestVoiceCallCompletionEndsAtStartPlusDuration(t *testing.T) {
	// Goal (QA issue 2): a VoiceCall write that completes a call ends it at
	// its start plus its duration, never at the server's clock, whether a
	// POST creates it completed or a PUT moves it there; a later PUT that
	// moves startedAt past that end moves the end with it rather than
	// being refused for an end VoiceCall cannot send.
	const start, end = "2025-02-17T15:00:00Z", "2025-02-17T15:02:10Z"
	for _, tc := range []struct {
		name   string
		write  func(t *testing.T, ts *testServer) string // returns the call id
		wantEv string                                    // the completion's event type
	}{
		{
			name: "PutMovesAnInProgressCall",
			write: func(t *testing.T, ts *testServer) string {
				id := ts.createVoiceCall(t, tokenA, "vc-put", map[string]any{"status": "ANSWERED_BY_STAFF", "startedAt": start, "duration": 130})
				res := ts.do(t, "PUT", "/v1/voice-calls/"+id, tokenA, voiceCallBody(t, "vc-put", map[string]any{"status": "VOICEMAIL_RECEIVED", "duration": 130}))
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				return id
			},
			wantEv: domain.TypeCallTerminated,
		},
		{
			name: "PostCreatesACompletedCall",
			write: func(t *testing.T, ts *testServer) string {
				return ts.createVoiceCall(t, tokenA, "vc-post", map[string]any{"status": "VOICEMAIL_RECEIVED", "startedAt": start, "duration": 130})
			},
			wantEv: domain.TypeCallTimingChanged,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			id := tc.write(t, ts)
			var data map[string]any
			for _, r := range ts.events(t) {
				if r.StreamID == "call-"+id && r.Type == tc.wantEv {
					require.NoError(t, json.Unmarshal(r.Data, &data))
				}
			}
			assert.Equal(t, end, data["ended_at"], "the completion's end is start + duration")
			assert.Equal(t, "Mon, 17 Feb 2025 15:02:10 +0000", ts.lamlGet(t, id)["end_time"])
			mb := ts.do(t, "GET", "/calls/"+id, tokenA, "")
			require.Equal(t, http.StatusOK, mb.Status, "body: %s", mb.Body)
			assert.Equal(t, "2025-02-17T15:02:10.000Z", mb.JSON(t)["end_at"])

			sourceID := ts.do(t, "GET", "/v1/voice-calls/"+id, tokenA, "").JSON(t)["sourceId"].(string)
			res := ts.do(t, "PUT", "/v1/voice-calls/"+id, tokenA, voiceCallBody(t, sourceID, map[string]any{
				"status": "VOICEMAIL_RECEIVED", "duration": 130, "startedAt": "2030-02-17T15:00:00Z",
			}))
			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			laml := ts.lamlGet(t, id)
			assert.Equal(t, "Sun, 17 Feb 2030 15:00:00 +0000", laml["start_time"])
			assert.Equal(t, "Sun, 17 Feb 2030 15:02:10 +0000", laml["end_time"], "the end followed the start")
			assert.Equal(t, json.Number("130"), laml["duration"])
		})
	}
}

func TestVoiceCallOrderErrorsNameStartedAt(t *testing.T) {
	// Goal (QA issue 2): a VoiceCall PUT whose startedAt comes after the
	// call's answer or end (set on another surface) is refused naming
	// startedAt, the VoiceCall field the client sent, not the domain's
	// answered_at or ended_at; the message says which time it clashes with.
	for _, tc := range []struct {
		name, upsert, status, startedAt, message string
	}{
		{
			name:      "AfterTheAnswer",
			upsert:    timingUpsert(t, "vonage", "vg-order", "completed", "2025-02-17T15:00:00Z", "2025-02-17T15:01:00Z", "2025-02-17T15:30:00Z"),
			status:    "VOICEMAIL_RECEIVED",
			startedAt: "2025-02-17T15:05:00Z",
			message:   "startedAt: the start 2025-02-17T15:05:00Z is after the call's stored answer 2025-02-17T15:01:00Z",
		},
		{
			// Ended unanswered (no-answer), so without a duration: the end
			// does not follow the start. (A call completed unanswered has
			// the duration its times give, and its end follows.)
			name:      "AfterAnEndThatDoesNotFollow",
			upsert:    timingUpsert(t, "vonage", "vg-order", "no-answer", "2025-02-17T15:00:00Z", "", "2025-02-17T15:30:00Z"),
			status:    "MISSED",
			startedAt: "2025-02-17T16:00:00Z",
			message:   "startedAt: the start 2025-02-17T16:00:00Z is after the call's stored end 2025-02-17T15:30:00Z",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			id := ts.upsertID(t, tc.upsert)
			n := len(ts.events(t))

			res := ts.do(t, "PUT", "/v1/voice-calls/"+id, tokenA, voiceCallBody(t, "vg-order", map[string]any{
				"status": tc.status, "duration": 100, "startedAt": tc.startedAt,
			}))
			require.Equal(t, http.StatusUnprocessableEntity, res.Status, "body: %s", res.Body)
			body := res.JSON(t)
			assert.Equal(t, "startedAt", body["field"])
			assert.Equal(t, tc.message, body["message"])
			assert.Len(t, ts.events(t), n, "nothing is written")
		})
	}
}

func TestMoonbaseOrderErrorsPointAtAFieldSent(t *testing.T) {
	// Goal (QA issue 1): a Moonbase upsert whose times would stand out of
	// order is refused with a pointer to a field the client sent: a
	// start_at moved past the stored answer or end points at /start_at, an
	// answered_at moved past the stored end at /answered_at, and the detail
	// says the time clashes with the stored one, giving both. When the
	// client sent both times of the pair, the later is named, as before.
	const (
		start  = "2025-02-17T15:00:00Z"
		answer = "2025-02-17T15:01:00Z"
		end    = "2025-02-17T15:30:00Z"
	)
	for _, tc := range []struct {
		name, stored, update, pointer, detail string
	}{
		{
			name:    "StartPastTheStoredAnswer",
			stored:  timingUpsert(t, "openphone", "order", "completed", start, answer, end),
			update:  timingUpsert(t, "openphone", "order", "completed", "2025-02-17T15:05:00Z", "", ""),
			pointer: "/start_at",
			detail:  "start_at: the start 2025-02-17T15:05:00Z is after the call's stored answer 2025-02-17T15:01:00Z",
		},
		{
			name:    "StartPastTheStoredEnd",
			stored:  timingUpsert(t, "openphone", "order", "completed", start, "", end),
			update:  timingUpsert(t, "openphone", "order", "completed", "2025-02-17T16:00:00Z", "", ""),
			pointer: "/start_at",
			detail:  "start_at: the start 2025-02-17T16:00:00Z is after the call's stored end 2025-02-17T15:30:00Z",
		},
		{
			name:    "AnswerPastTheStoredEnd",
			stored:  timingUpsert(t, "openphone", "order", "completed", start, "", end),
			update:  timingUpsert(t, "openphone", "order", "completed", start, "2025-02-17T15:40:00Z", ""),
			pointer: "/answered_at",
			detail:  "answered_at: the answer 2025-02-17T15:40:00Z is after the call's stored end 2025-02-17T15:30:00Z",
		},
		{
			name:    "BothSent",
			stored:  timingUpsert(t, "openphone", "order", "completed", start, answer, end),
			update:  timingUpsert(t, "openphone", "order", "completed", "2025-02-17T15:05:00Z", "2025-02-17T15:02:00Z", ""),
			pointer: "/answered_at",
			detail:  "answered_at: the answer 2025-02-17T15:02:00Z is before the start 2025-02-17T15:05:00Z",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			res := ts.do(t, "POST", "/calls/upsert", tokenA, tc.stored)
			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			n := len(ts.events(t))

			res = ts.do(t, "POST", "/calls/upsert", tokenA, tc.update)
			require.Equal(t, http.StatusUnprocessableEntity, res.Status, "body: %s", res.Body)
			errs, ok := res.JSON(t)["errors"].([]any)
			require.True(t, ok, "body: %s", res.Body)
			e := errs[0].(map[string]any)
			assert.Equal(t, map[string]any{"pointer": tc.pointer}, e["source"])
			assert.Equal(t, tc.detail, e["detail"])
			assert.Len(t, ts.events(t), n, "nothing is written")
		})
	}
}

func TestAMovedStartMovesTheDerivedSideOfTheTie(t *testing.T) {
	// Goal (QA: end provenance): when a Moonbase upsert moves a call's
	// start and gives no end, the side of the call's tied times that the
	// ledger derived follows, and the side someone reported stays. A
	// VoiceCall call of 100 seconds, whose end the ledger derived from its
	// duration, stays 100 seconds on LaML, VoiceCall and billing when
	// Moonbase moves its start a day earlier (its end moves with it),
	// rather than being billed 86,500 seconds for an end nobody reported.
	// Conversely a call whose end the provider reported keeps that end,
	// and its derived duration grows. Live reads, time travel and a
	// rebuild of the read models agree.
	const dayEarlier = "2025-02-16T15:00:00Z"
	for _, tc := range []struct {
		name string
		// write writes the call (provider vonage, provider id pid), priced,
		// before the Moonbase upsert that moves its start.
		write        func(t *testing.T, ts *testServer, pid string)
		wantDuration int64
		wantEnd      string // LaML end_time after the move
		wantEvent    string // the move's last event's data
	}{
		{
			name: "VoiceCallEndDerivedFromItsDuration",
			write: func(t *testing.T, ts *testServer, pid string) {
				ts.createVoiceCall(t, tokenA, pid, map[string]any{
					"status": "VOICEMAIL_RECEIVED", "startedAt": "2025-02-17T15:00:00Z", "duration": 100,
				})
			},
			wantDuration: 100,
			wantEnd:      "Sun, 16 Feb 2025 15:01:40 +0000",
			wantEvent:    `{"ended_at":"2025-02-16T15:01:40Z","end_derived":true}`,
		},
		{
			name: "MoonbaseEndReportedByTheProvider",
			write: func(t *testing.T, ts *testServer, pid string) {
				res := ts.do(t, "POST", "/calls/upsert", tokenA, timingUpsert(t, "vonage", pid, "completed",
					"2025-02-17T15:00:00Z", "", "2025-02-17T15:30:00Z"))
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				// VoiceCall prices it, sending the duration it has.
				res = ts.do(t, "PUT", "/v1/voice-calls/"+domain.CallIDFor(acctA, "vonage", pid).String(), tokenA,
					voiceCallBody(t, pid, map[string]any{"status": "VOICEMAIL_RECEIVED", "duration": 1800}))
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			},
			wantDuration: 86400 + 1800,
			wantEnd:      "Mon, 17 Feb 2025 15:30:00 +0000",
			wantEvent:    `{"duration_seconds":88200}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			const pid = "vg-provenance"
			id := domain.CallIDFor(acctA, "vonage", pid).String()
			tc.write(t, ts, pid)
			billed := func() int64 { return billedSeconds(t, ts, "2025-02-16", "2025-02-18", "the call is priced") }
			before := ts.lamlGet(t, id)
			beforeMove := len(ts.eventTypes(t, id)) - 1

			res := ts.do(t, "POST", "/calls/upsert", tokenA, timingUpsert(t, "vonage", pid, "completed", dayEarlier, "", ""))
			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			typ, data := ts.lastEvent(t, id)
			assert.Equal(t, domain.TypeCallTimingChanged, typ)
			assert.JSONEq(t, tc.wantEvent, data)

			check := func(t *testing.T, laml map[string]any) {
				t.Helper()
				assert.Equal(t, "Sun, 16 Feb 2025 15:00:00 +0000", laml["start_time"])
				assert.Equal(t, json.Number(strconv.FormatInt(tc.wantDuration, 10)), laml["duration"])
				assert.Equal(t, tc.wantEnd, laml["end_time"])
			}
			check(t, ts.lamlGet(t, id))
			assert.Equal(t, float64(tc.wantDuration), ts.voiceCallGet(t, id)["duration"])
			assert.Equal(t, tc.wantDuration, billed())

			// Time travel folds the log: the last revision reads as live,
			// the one before the move as the call was.
			path := lamlCallsPath(lamlPrefix, acctA) + "/" + id + ".json?revision="
			now := ts.getAsA(t, path+strconv.Itoa(len(ts.eventTypes(t, id))-1))
			require.Equal(t, http.StatusOK, now.Status, "body: %s", now.Body)
			check(t, now.lamlJSON(t))
			then := ts.getAsA(t, path+strconv.Itoa(beforeMove))
			require.Equal(t, http.StatusOK, then.Status, "body: %s", then.Body)
			for _, f := range []string{"start_time", "end_time", "duration"} {
				assert.Equal(t, before[f], then.lamlJSON(t)[f], f)
			}

			ts.requireRebuildMatchesLive(t)
			assert.Equal(t, tc.wantDuration, billed())
			check(t, ts.lamlGet(t, id))
		})
	}
}

func TestDurationsSpanningCenturiesAreExact(t *testing.T) {
	// Goal (QA): a duration derived over more than 292 years (the most a
	// time.Duration holds) is the exact whole seconds on every surface that
	// shows it and in billing, live and after a rebuild, not 9223372036.
	ts := newTestServer(t)
	const want = 31556996995 // 1025-02-17T15:00:05Z to 2025-02-17T15:30:00Z
	id := ts.upsertID(t, timingUpsert(t, "vonage", "millennium", "completed",
		"1025-02-17T15:00:00Z", "1025-02-17T15:00:05Z", "2025-02-17T15:30:00Z"))

	assert.Equal(t, float64(want), ts.voiceCallGet(t, id)["duration"])
	assert.Equal(t, json.Number(strconv.FormatInt(want, 10)), ts.lamlGet(t, id)["duration"])

	// Billing sums the call's duration once it is priced (VoiceCall resends
	// the duration the call has).
	res := ts.do(t, "PUT", "/v1/voice-calls/"+id, tokenA, voiceCallBody(t, "millennium", map[string]any{
		"status": "VOICEMAIL_RECEIVED", "duration": want, "startedAt": "1025-02-17T15:00:00Z",
	}))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	billed := func() int64 { return billedSeconds(t, ts, "1025-02-17", "1025-02-18") }
	assert.Equal(t, int64(want), billed())
	ts.requireRebuildMatchesLive(t)
	assert.Equal(t, int64(want), billed())
}

func TestVoiceCallDurationTheLedgerCannotEnd(t *testing.T) {
	// Goal (QA): VoiceCall refuses, with a 422 naming duration, any
	// duration the ledger could not turn into an end (the start plus the
	// duration past year 9999), as it is refused and not silently left
	// without an end; one past time.Duration's 292 years that can end is
	// taken, and ends the call on every surface. Nothing refused is written.
	ts := newTestServer(t)
	const start = "2025-02-17T15:00:00Z"
	for _, tc := range []struct {
		name     string
		duration int64
	}{
		{"ThreeE11", 300_000_000_000},
		{"OverTheBound", 400_000_000_001},
		{"TwoToThe62", 1 << 62},
		{"OneSecondPastYear9999", 251_662_496_400},
	} {
		for _, method := range []string{"POST", "PUT"} {
			t.Run(tc.name+"_"+method, func(t *testing.T) {
				path := "/v1/voice-calls"
				if method == "PUT" {
					path += "/" + ts.createVoiceCall(t, tokenA, "src-put-"+tc.name, map[string]any{"startedAt": start})
				}
				n := len(ts.events(t))
				res := ts.do(t, method, path, tokenA, voiceCallBody(t, "src-put-"+tc.name, map[string]any{
					"status": "VOICEMAIL_RECEIVED", "duration": tc.duration, "startedAt": start,
				}))
				assert.Equal(t, http.StatusUnprocessableEntity, res.Status, "body: %s", res.Body)
				body := res.JSON(t)
				assert.Equal(t, "duration", body["field"])
				assert.Contains(t, body["message"], "duration")
				assert.Len(t, ts.events(t), n, "nothing written")
			})
		}
	}
	for _, tc := range []struct {
		name     string
		duration int64
		end      string // LaML end_time
	}{
		{"PastTimeDuration", 9_223_372_037, "Wed, 30 May 2317 14:47:17 +0000"},
		{"EndsInYear9999", 251_662_496_399, "Fri, 31 Dec 9999 23:59:59 +0000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := ts.createVoiceCall(t, tokenA, "src-ok-"+tc.name, map[string]any{
				"status": "VOICEMAIL_RECEIVED", "duration": tc.duration, "startedAt": start,
			})
			laml := ts.lamlGet(t, id)
			assert.Equal(t, json.Number(strconv.FormatInt(tc.duration, 10)), laml["duration"])
			assert.Equal(t, tc.end, laml["end_time"])
		})
	}
}
