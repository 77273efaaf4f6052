package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// auditedEvent is one event of a call as GET /v1/calls/{id}/events shows it.
type auditedEvent struct {
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	Data          json.RawMessage `json:"data"`
}

// auditedEvents reads a call's events through the auditors' route, as acctA.
func (ts *testServer) auditedEvents(t testing.TB, id string) []auditedEvent {
	t.Helper()
	res := ts.do(t, "GET", "/v1/calls/"+id+"/events?limit=1000", tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	var page struct {
		Events []auditedEvent `json:"events"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &page))
	return page.Events
}

// routingOf returns the routing an event's data records: a creation's
// "routing", or a CallRoutingChanged's data; nil when it has none.
func routingOf(t testing.TB, e auditedEvent) map[string]any {
	t.Helper()
	var data map[string]any
	require.NoError(t, json.Unmarshal(e.Data, &data))
	switch e.Type {
	case domain.TypeCallUpserted:
		r, _ := data["routing"].(map[string]any)
		return r
	case domain.TypeCallRoutingChanged:
		return data
	}
	return nil
}

// twimlHi is the TwiML the QA run sent through Twilio's Node SDK.
const twimlHi = "<Response><Say>hi</Say></Response>"

func TestLAMLCreateRecordsTwimlAndApplicationSid(t *testing.T) {
	// Goal: a create that routes the call by Twiml or ApplicationSid (the
	// alternatives to Url), in a form or a JSON body in either spelling,
	// records them in the creation's routing, written as schema version 3
	// (a create by Url alone stays version 2), and kept in the call as the
	// read models hold it; the response is Twilio's Call resource,
	// unchanged, which shows neither.
	ts := newTestServer(t)
	calls := lamlCallsPath(lamlPrefix, acctA) + ".json"
	const appSID = "AP0123456789abcdef0123456789abcdef"
	const swAppSID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	for _, tc := range []struct {
		name    string
		body    string
		routing map[string]any
		version int
	}{
		{"TwimlForm", formBody("From", "+14155550100", "To", "+14155550101", "Twiml", twimlHi),
			map[string]any{"twiml": twimlHi}, 3},
		{"TwimlJSON", fmt.Sprintf(`{"From": "+14155550100", "To": "+14155550101", "Twiml": %q}`, twimlHi),
			map[string]any{"twiml": twimlHi}, 3},
		{"TwimlJSONLowerCase", fmt.Sprintf(`{"from": "+14155550100", "to": "+14155550101", "twiml": %q}`, twimlHi),
			map[string]any{"twiml": twimlHi}, 3},
		{"ApplicationSidForm", formBody("From", "+14155550100", "To", "+14155550101", "ApplicationSid", appSID),
			map[string]any{"application_sid": appSID}, 3},
		{"ApplicationSidJSONSnakeCase", fmt.Sprintf(`{"from": "+14155550100", "to": "+14155550101", "application_sid": %q}`, swAppSID),
			map[string]any{"application_sid": swAppSID}, 3},
		{"EveryRoutingParam", formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/twiml",
			"Twiml", twimlHi, "ApplicationSid", appSID, "Method", "get", "StatusCallback", "https://example.com/status"),
			map[string]any{"url": "https://example.com/twiml", "twiml": twimlHi, "application_sid": appSID,
				"method": "GET", "status_callback": "https://example.com/status"}, 3},
		{"UrlOnly", formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/twiml"),
			map[string]any{"url": "https://example.com/twiml"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.lamlDo(t, "POST", calls, acctA, tokenA, tc.body)
			require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
			view := res.JSON(t)
			assert.ElementsMatch(t, lamlSeedFields, slices.Collect(maps.Keys(view)), "the Call resource as before")
			sid := view["sid"].(string)

			events := ts.auditedEvents(t, sid)
			require.NotEmpty(t, events)
			assert.Equal(t, domain.TypeCallUpserted, events[0].Type)
			assert.Equal(t, tc.routing, routingOf(t, events[0]))
			for _, e := range events {
				assert.Equal(t, tc.version, e.SchemaVersion, "%s", e.Type)
			}

			cv, err := readAt(ts, acctA, uuid.MustParse(sid), "", false)
			require.NoError(t, err)
			want := map[string]any{}
			b, err := json.Marshal(cv.Call.Routing)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &want))
			assert.Equal(t, tc.routing, want, "the call the read models hold")
		})
	}
	ts.requireRebuildMatchesLive(t)
}

func TestLAMLUpdateRecordsTwimlAndApplicationSid(t *testing.T) {
	// Goal: an update of an active call records a new Twiml or
	// ApplicationSid as a CallRoutingChanged holding only what changed
	// (schema version 3); values the call has already append nothing; the
	// update of a call that has ended is a 409 21220 appending nothing
	// (TestLAMLUpdateOfAnEndedCallIsRefused covers every parameter); and
	// the read models kept live equal a rebuild.
	ts := newTestServer(t)
	sid := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	path := lamlCallsPath(lamlPrefix, acctA) + "/" + sid + ".json"
	const appSID = "AP0123456789abcdef0123456789abcdef"
	for _, step := range []struct {
		name    string
		body    string
		routing map[string]any // nil: nothing appended
	}{
		{"TwimlForm", formBody("Twiml", twimlHi), map[string]any{"twiml": twimlHi}},
		{"SameTwimlAgain", formBody("Twiml", twimlHi), nil},
		{"SameTwimlAndUrlJSON", fmt.Sprintf(`{"Twiml": %q, "Url": "https://example.com/twiml"}`, twimlHi), nil},
		{"ApplicationSidJSONSnakeCase", fmt.Sprintf(`{"application_sid": %q, "twiml": %q}`, appSID, twimlHi),
			map[string]any{"application_sid": appSID}},
		{"SameApplicationSidForm", formBody("ApplicationSid", appSID), nil},
		{"NewTwimlOnly", formBody("Twiml", "<Response><Hangup/></Response>", "ApplicationSid", appSID),
			map[string]any{"twiml": "<Response><Hangup/></Response>"}},
		{"EmptyTwimlIsNotGiven", formBody("Twiml", ""), nil},
	} {
		t.Run(step.name, func(t *testing.T) {
			before := ts.auditedEvents(t, sid)
			res := ts.lamlDo(t, "POST", path, acctA, tokenA, step.body)
			require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
			assert.ElementsMatch(t, lamlSeedFields, slices.Collect(maps.Keys(res.JSON(t))), "the Call resource as before")
			after := ts.auditedEvents(t, sid)
			if step.routing == nil {
				assert.Len(t, after, len(before), "nothing appended")
				return
			}
			require.Len(t, after, len(before)+1)
			last := after[len(after)-1]
			assert.Equal(t, domain.TypeCallRoutingChanged, last.Type)
			assert.Equal(t, 3, last.SchemaVersion)
			assert.Equal(t, step.routing, routingOf(t, last))
		})
	}
	cv, err := readAt(ts, acctA, uuid.MustParse(sid), "", false)
	require.NoError(t, err)
	assert.Equal(t, domain.Routing{URL: "https://example.com/twiml", Twiml: "<Response><Hangup/></Response>", ApplicationSID: appSID},
		cv.Call.Routing)

	// Once the call has ended, a Twiml (or ApplicationSid) is refused as a
	// Url is, even one the call has already, and nothing is appended.
	res := ts.lamlDo(t, "POST", path, acctA, tokenA, formBody("Status", "canceled"))
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	n := len(ts.auditedEvents(t, sid))
	for _, body := range []string{
		formBody("Twiml", twimlHi),
		formBody("Twiml", "<Response><Hangup/></Response>"),
		fmt.Sprintf(`{"application_sid": %q}`, "AP-other"),
		formBody("Url", "https://example.com/other"),
	} {
		res := ts.lamlDo(t, "POST", path, acctA, tokenA, body)
		body := assertLAMLError(t, res, http.StatusConflict, 21220)
		assert.Contains(t, body["message"], "canceled")
	}
	assert.Len(t, ts.auditedEvents(t, sid), n, "nothing appended for an ended call")
	ts.requireRebuildMatchesLive(t)
}

func TestLAMLBadTwimlAndApplicationSid(t *testing.T) {
	// Goal: a Twiml or ApplicationSid the ledger cannot take is a 400 in
	// Twilio's error body naming the parameter, in a form or a JSON body,
	// on create and update, and appends nothing: a Twiml over 4000
	// characters is Twilio's 32018 (4000 two-byte characters are taken), an
	// ApplicationSid that is no id (over 64 bytes, a space, a control
	// character) is 21218, and a value that is not UTF-8 is refused as
	// malformed: 21218 for an ApplicationSid, whose code covers any fault,
	// 20001 for a Twiml, whose code is its length's only.
	ts := newTestServer(t)
	sid := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	calls := lamlCallsPath(lamlPrefix, acctA)
	update := calls + "/" + sid + ".json"
	create := func(pairs ...string) string {
		return formBody(append([]string{"From", "+14155550100", "To", "+14155550101"}, pairs...)...)
	}
	tooLong := strings.Repeat("é", domain.TwimlCharsMax) + "x"
	n := len(ts.events(t))
	for _, tc := range []struct {
		name, path, body string
		code             int
		message          string
	}{
		{"CreateTwimlTooLong", calls, create("Twiml", tooLong), 32018, "Twiml"},
		{"CreateTwimlTooLongJSON", calls, fmt.Sprintf(`{"From": "+14155550100", "To": "+14155550101", "twiml": %q}`, tooLong), 32018, "Twiml"},
		{"UpdateTwimlTooLong", update, formBody("Twiml", tooLong), 32018, "Twiml"},
		{"CreateTwimlNotUTF8", calls, create() + "&Twiml=%3CResponse%3E%FF", 20001, "Twiml: is not valid UTF-8"},
		{"CreateTwimlNotUTF8JSON", calls, "{\"From\": \"+14155550100\", \"To\": \"+14155550101\", \"twiml\": \"<Response>\xff\"}", 20001, "Twiml: is not valid UTF-8"},
		{"UpdateTwimlLoneSurrogateJSON", update, `{"Twiml": "<Say>\ud83d</Say>"}`, 20001, "Twiml: is not valid UTF-8"},
		{"CreateApplicationSidTooLong", calls, create("ApplicationSid", "AP"+strings.Repeat("0", domain.ApplicationSIDBytesMax)), 21218, "ApplicationSid"},
		{"CreateApplicationSidSpace", calls, create("ApplicationSid", "AP 123"), 21218, "ApplicationSid"},
		{"UpdateApplicationSidControlJSON", update, `{"application_sid": "AP\u0007"}`, 21218, "ApplicationSid"},
		{"UpdateApplicationSidNotUTF8", update, "ApplicationSid=AP%FF", 21218, "ApplicationSid: is not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.lamlDo(t, "POST", tc.path, acctA, tokenA, tc.body)
			body := assertLAMLError(t, res, http.StatusBadRequest, tc.code)
			assert.Contains(t, body["message"], tc.message)
		})
	}
	assert.Len(t, ts.events(t), n, "no bad request appended anything")

	longest := strings.Repeat("é", domain.TwimlCharsMax)
	res := ts.lamlDo(t, "POST", calls, acctA, tokenA, create("Twiml", longest))
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
}

func TestLAMLTwimlAndApplicationSidCodesFollowWhatWasRefused(t *testing.T) {
	// Goal: the Twilio code of a refused Twiml or ApplicationSid follows
	// what was refused, by the same rule for both: each parameter's own
	// code covers what Twilio gives it for (ApplicationSid's 21218 any
	// fault, Twiml's 32018 its length only, as marked by TooLong), and a
	// fault without a code of its own is 20001, whether a decoder refused
	// it (malformed: not UTF-8) or the domain did (invalid: empty, not
	// UTF-8), in the domain's field name or the parameter's.
	ts := newTestServer(t)
	for _, tc := range []struct {
		name string
		err  error
		code int
	}{
		{"TwimlTooLong", TooLong("Twiml", "must be at most %d characters, got %d", domain.TwimlCharsMax, domain.TwimlCharsMax+1), 32018},
		{"TwimlEmpty", domain.Errorf(domain.ErrInvalid, "routing.twiml", "must not be empty"), 20001},
		{"TwimlNotUTF8", domain.Errorf(domain.ErrInvalid, "routing.twiml", "is not valid UTF-8"), 20001},
		{"TwimlNotUTF8Decoded", Malformed("Twiml", "is not valid UTF-8"), 20001},
		{"ApplicationSidTooLong", domain.Errorf(domain.ErrInvalid, "routing.application_sid", "must be at most %d bytes, got %d", domain.ApplicationSIDBytesMax, 65), 21218},
		{"ApplicationSidEmpty", domain.Errorf(domain.ErrInvalid, "routing.application_sid", "must not be empty"), 21218},
		{"ApplicationSidNotUTF8", domain.Errorf(domain.ErrInvalid, "routing.application_sid", "is not valid UTF-8"), 21218},
		{"ApplicationSidNotUTF8Decoded", Malformed("ApplicationSid", "is not valid UTF-8"), 21218},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			ts.api.writeError(rec, httptest.NewRequest("POST", lamlCallsPath(lamlPrefix, acctA)+".json", nil), ts.api.lamlError, tc.err)
			res := response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
			body := assertLAMLError(t, res, http.StatusBadRequest, tc.code)
			assert.Regexp(t, "^(Twiml|ApplicationSid): ", body["message"])
		})
	}
}
