package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// crossSurfaceUpsert is a Moonbase upsert of a ringing Vonage call.
const crossSurfaceUpsert = `{
  "direction": "incoming",
  "provider": "vonage",
  "provider_id": "vg-cross-001",
  "provider_status": "ringing",
  "start_at": "2025-02-17T15:00:00Z",
  "participants": [
    {"phone": "+14155550148", "role": "caller"},
    {"phone": "+14155550901", "role": "callee"}
  ]
}`

func TestCrossSurfaceScenario(t *testing.T) {
	// Goal (issue 3): one call, four surfaces. Create it with the Moonbase
	// upsert, answer and price it through VoiceCall, end it through LaML,
	// read it through /v1/calls/{id}; the stream holds the domain's events
	// in order, each recording the surface it came through.
	ts := newTestServer(t)

	created := ts.do(t, "POST", "/calls/upsert", tokenA, crossSurfaceUpsert)
	require.Equal(t, http.StatusOK, created.Status, "body: %s", created.Body)
	id := created.JSON(t)["id"].(string)
	assert.Equal(t, domain.CallIDFor(acctA, "vonage", "vg-cross-001").String(), id)

	priced := ts.do(t, "PUT", "/v1/voice-calls/"+id, tokenA, voiceCallBody(t, "vg-cross-001", map[string]any{
		"status": "ANSWERED_BY_STAFF", "priceRate": "0.0135", "totalPrice": "0.27", "duration": 20,
	}))
	require.Equal(t, http.StatusOK, priced.Status, "body: %s", priced.Body)
	vc := priced.JSON(t)
	assert.Equal(t, "ANSWERED_BY_STAFF", vc["status"])
	assert.Equal(t, "0.27", vc["totalPrice"])
	assert.Equal(t, "2025-02-17T15:00:00.000Z", vc["startedAt"])
	assert.Equal(t, float64(20), vc["duration"])

	ended := ts.lamlDo(t, "POST", lamlCallsPath(lamlPrefix, acctA)+"/"+id+".json", acctA, tokenA, formBody("Status", "completed"))
	require.Equal(t, http.StatusOK, ended.Status, "body: %s", ended.Body)
	laml := ended.lamlJSON(t)
	assert.Equal(t, "completed", laml["status"])
	assert.Equal(t, json.Number("0.27"), laml["price"])
	assert.Equal(t, "inbound", laml["direction"])
	assert.Equal(t, "Mon, 17 Feb 2025 15:00:00 +0000", laml["start_time"])
	assertRFC2822(t, laml["end_time"])

	history := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "")
	require.Equal(t, http.StatusOK, history.Status, "body: %s", history.Body)
	h := history.JSON(t)
	assert.Equal(t, id, h["id"])
	assert.Equal(t, "completed", h["status"])
	assert.NotNil(t, h["endedAt"])

	// Every surface reads the same call.
	mb := ts.do(t, "GET", "/calls/"+id, tokenA, "")
	require.Equal(t, http.StatusOK, mb.Status, "body: %s", mb.Body)
	assert.NotNil(t, mb.JSON(t)["end_at"])
	vcRead := ts.voiceCallGet(t, id)
	assert.Equal(t, "ANSWERED_BY_STAFF", vcRead["status"], "the VoiceCall word is kept verbatim")
	assert.Equal(t, string(laml["duration"].(json.Number)), strconv.FormatFloat(vcRead["duration"].(float64), 'f', -1, 64), "one duration on every surface")

	// The stream: domain events only, in order, each with its surface.
	recs, err := ts.store.ReadStream(context.Background(), domain.StreamID(uuid.MustParse(id)), 0, 0)
	require.NoError(t, err)
	type step struct {
		Type    string
		Surface domain.Surface
	}
	var got []step
	for _, r := range recs {
		md, err := domain.UnmarshalMetadata(r.Metadata)
		require.NoError(t, err)
		assert.Equal(t, acctA, md.AccountID)
		assert.NotEmpty(t, md.RequestID)
		assert.NotEmpty(t, md.Actor)
		got = append(got, step{r.Type, md.Surface})
	}
	assert.Equal(t, []step{
		{domain.TypeCallUpserted, domain.SurfaceMoonbase},
		{domain.TypeCallStatusChanged, domain.SurfaceMoonbase},   // ringing, provider_status "ringing"
		{domain.TypeCallDetailsChanged, domain.SurfaceVoiceCall}, // staffId, clientId, summary...
		{domain.TypeCallStatusChanged, domain.SurfaceVoiceCall},  // in-progress, ANSWERED_BY_STAFF
		{domain.TypeCallTimingChanged, domain.SurfaceVoiceCall},  // duration
		{domain.TypeCallPriced, domain.SurfaceVoiceCall},
		{domain.TypeCallTerminated, domain.SurfaceLaML},
	}, got)
	for _, r := range recs {
		_, err := domain.UnmarshalEvent(r.Type, 1, r.Data)
		assert.NoError(t, err, "every stored event is a domain event")
	}
}

func TestCrossSurfaceDeletedCall(t *testing.T) {
	// Goal: a call soft-deleted on the call-history surface is a 404 on the
	// VoiceCall and LaML surfaces, is left out of the LaML list, and every
	// write to it there is a 409.
	ts := newTestServer(t)
	id := ts.createVoiceCall(t, tokenA, "src-deleted", nil)
	require.Equal(t, http.StatusOK, ts.do(t, "DELETE", "/v1/calls/"+id, tokenA, "").Status)
	n := len(ts.events(t))

	assert.Equal(t, http.StatusNotFound, ts.do(t, "GET", "/v1/voice-calls/"+id, tokenA, "").Status)
	assert.Equal(t, http.StatusConflict, ts.do(t, "PUT", "/v1/voice-calls/"+id, tokenA, voiceCallBody(t, "src-deleted", nil)).Status)
	assert.Equal(t, http.StatusConflict, ts.do(t, "POST", "/v1/voice-calls", tokenA, voiceCallBody(t, "src-deleted", nil)).Status)
	path := lamlCallsPath("", acctA)
	assertLAMLError(t, ts.lamlDo(t, "GET", path+"/"+id+".json", acctA, tokenA, ""), 404, 20404)
	assertLAMLError(t, ts.lamlDo(t, "POST", path+"/"+id, acctA, tokenA, formBody("Status", "canceled")), 409, 20409)
	list := ts.lamlDo(t, "GET", path, acctA, tokenA, "")
	require.Equal(t, http.StatusOK, list.Status)
	assert.Empty(t, list.JSON(t)["calls"])
	assert.Len(t, ts.events(t), n)
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

func TestMoonbaseProviderStatusFollowsTheCall(t *testing.T) {
	// Goal: Moonbase's provider_status, "the current status of the call",
	// stops showing the provider's last word once the call has moved past
	// it: a LaML hang-up ends a call the provider reported in progress, and
	// a late "ringing" after "completed" is not applied. A word that still
	// says the status, or one the ledger does not know, is shown verbatim.
	ts := newTestServer(t)
	path := lamlCallsPath("", acctA)
	status := func(id string) string {
		t.Helper()
		res := ts.do(t, "GET", "/calls/"+id, tokenA, "")
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		return res.JSON(t)["provider_status"].(string)
	}
	upsert := func(pid, word string) (string, string) {
		t.Helper()
		res := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody(pid, word))
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		call := res.JSON(t)
		return call["id"].(string), call["provider_status"].(string)
	}

	id, shown := upsert("hung-up", "in-progress")
	assert.Equal(t, "in-progress", shown)
	res := ts.lamlDo(t, "POST", path+"/"+id+".json", acctA, tokenA, formBody("Status", "completed"))
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	assert.Equal(t, "completed", status(id), "the ledger ended the call: in-progress is no longer current")

	id, _ = upsert("late", "completed")
	_, shown = upsert("late", "ringing")
	assert.Equal(t, "completed", shown, "the late ringing was not applied")
	assert.Equal(t, "completed", status(id))

	_, shown = upsert("voicemail", "voicemail")
	assert.Equal(t, "voicemail", shown, "the provider's own word for completed")
	_, shown = upsert("custom", "wrapping-up")
	assert.Equal(t, "wrapping-up", shown, "a word the ledger does not know is shown as it came")
}

func TestMoonbaseCallEndedUnansweredIsOverOnLaML(t *testing.T) {
	// Goal (QA with the Moonbase and Twilio SDKs): a Moonbase upsert of a
	// call that ended unanswered, with OpenPhone's "abandoned" or with a
	// word the ledger does not know, ends the call as no-answer; it stayed
	// queued, so LaML showed an ended call as waiting to be dialled, listed
	// it under Status=queued and canceled it.
	ts := newTestServer(t)
	path := lamlCallsPath("", acctA)
	for _, word := range []string{"abandoned", "wrapping-up"} {
		t.Run(word, func(t *testing.T) {
			body := strings.Replace(moonbaseBody("ended-"+word, word), `"start_at":"2025-03-01T10:00:00Z"`,
				`"start_at":"2025-03-01T10:00:00Z","end_at":"2025-03-01T10:00:30Z"`, 1)
			res := ts.do(t, "POST", "/calls/upsert", tokenA, body)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			call := res.JSON(t)
			id := call["id"].(string)
			assert.Equal(t, word, call["provider_status"], "the provider's word is shown as it came")

			res = ts.lamlDo(t, "GET", path+"/"+id+".json", acctA, tokenA, "")
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			laml := res.JSON(t)
			assert.Equal(t, "no-answer", laml["status"])
			assert.Equal(t, "Sat, 01 Mar 2025 10:00:30 +0000", laml["end_time"])

			res = ts.lamlDo(t, "GET", path+".json?Status=queued", acctA, tokenA, "")
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			assert.NotContains(t, string(res.Body), id, "not listed as queued")

			res = ts.lamlDo(t, "POST", path+"/"+id+".json", acctA, tokenA, formBody("Status", "canceled"))
			assert.Equal(t, http.StatusConflict, res.Status, string(res.Body))
			assert.EqualValues(t, 21220, res.JSON(t)["code"], "an ended call cannot be canceled")
		})
	}
}
