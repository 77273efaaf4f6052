package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// lamlSeedFields are the fields of the seed's Call resource (003), every
// one of which each LaML call carries.
var lamlSeedFields = []string{
	"sid", "account_sid", "date_created", "date_updated", "parent_call_sid", "to", "formatted_to",
	"to_formatted", "from", "formatted_from", "from_formatted", "phone_number_sid", "status",
	"start_time", "end_time", "duration", "price", "price_unit", "direction", "answered_by",
	"api_version", "forwarded_from", "caller_name", "uri", "subresource_uris", "annotation",
	"group_sid", "audio_in_mos", "sip_result_code", "audio_rtt_avg", "audio_rtt_min", "audio_rtt_max",
	"audio_out_jitter_min", "audio_out_jitter_max", "audio_out_jitter_avg", "audio_out_lost",
}

// lamlPrefixes are the two mount points of the LaML surface.
var lamlPrefixes = []string{"/api/laml", ""}

// lamlCallsPath is the Calls list path of account under prefix, without ".json".
func lamlCallsPath(prefix, account string) string {
	return lamlAccountPath(prefix, account) + "/Calls"
}

// formBody encodes name/value pairs as an urlencoded form.
func formBody(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Add(pairs[i], pairs[i+1])
	}
	return v.Encode()
}

// lamlDo sends a LaML request with HTTP Basic user:password (no
// Authorization header when user is ""). A body starting with '{' is sent
// as JSON, any other as a form; extra header pairs override.
func (ts *testServer) lamlDo(t testing.TB, method, path, user, password, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	require.NoError(t, err)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	if body != "" {
		ct := "application/x-www-form-urlencoded"
		if strings.HasPrefix(body, "{") {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return ts.send(t, req)
}

// createLAMLCall creates a queued call on the LaML surface of acctA and
// returns its sid.
func (ts *testServer) createLAMLCall(t testing.TB, from, to string) string {
	t.Helper()
	res := ts.lamlDo(t, "POST", lamlCallsPath(lamlPrefix, acctA)+".json", acctA, tokenA,
		formBody("From", from, "To", to, "Url", "https://example.com/twiml"))
	require.Equal(t, http.StatusCreated, res.Status, "body: %s", res.Body)
	return res.JSON(t)["sid"].(string)
}

// lamlListSIDs lists acctA's calls on the LaML surface with the list query
// and returns the sids of the page, in the order listed (nil for none).
func (ts *testServer) lamlListSIDs(t testing.TB, query url.Values) []string {
	t.Helper()
	res := ts.lamlDo(t, "GET", lamlCallsPath("", acctA)+".json?"+query.Encode(), acctA, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	var sids []string
	for _, c := range res.JSON(t)["calls"].([]any) {
		sids = append(sids, c.(map[string]any)["sid"].(string))
	}
	return sids
}

// lamlListCase is one list query of acctA's calls on the LaML surface and
// the sids it lists, in order.
type lamlListCase struct {
	name  string
	query url.Values
	want  []string
}

// runLAMLListCases runs each case as a subtest that lists its query
// (lamlListSIDs) and checks the sids.
func (ts *testServer) runLAMLListCases(t *testing.T, cases []lamlListCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, ts.lamlListSIDs(t, tc.query))
		})
	}
}

// assertLAMLError checks a Twilio error body: status, code and more_info.
func assertLAMLError(t testing.TB, res response, status, code int) map[string]any {
	t.Helper()
	require.Equal(t, status, res.Status, "body: %s", res.Body)
	body := res.JSON(t)
	assert.Equal(t, float64(status), body["status"], "body: %s", res.Body)
	assert.Equal(t, float64(code), body["code"], "body: %s", res.Body)
	assert.Equal(t, fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), body["more_info"])
	assert.NotEmpty(t, body["message"])
	return body
}

func TestLAMLCreateAndFetchEveryRoute(t *testing.T) {
	// Goal: POST and GET work under both prefixes, with and without .json,
	// with form and JSON bodies; the call is queued, outbound-api, and
	// carries every seed field, RFC 2822 dates and URIs under the prefix
	// the request used.
	ts := newTestServer(t)
	for _, prefix := range lamlPrefixes {
		for _, suffix := range []string{"", ".json"} {
			for _, kind := range []string{"form", "json"} {
				t.Run("prefix="+prefix+"/suffix="+suffix+"/"+kind, func(t *testing.T) {
					body := formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/twiml",
						"Method", "get", "StatusCallback", "https://example.com/status", "StatusCallbackMethod", "POST")
					if kind == "json" {
						body = `{"From": "+14155550100", "To": "+14155550101", "url": "https://example.com/twiml", "status_callback": "https://example.com/status"}`
					}
					res := ts.lamlDo(t, "POST", lamlCallsPath(prefix, acctA)+suffix, acctA, tokenA, body)
					require.Equal(t, http.StatusCreated, res.Status, "body: %s", res.Body)
					call := res.JSON(t)
					for _, f := range lamlSeedFields {
						assert.Contains(t, call, f)
					}
					sid := call["sid"].(string)
					assert.Equal(t, acctA, call["account_sid"])
					assert.Equal(t, "queued", call["status"])
					assert.Equal(t, "outbound-api", call["direction"])
					assert.Equal(t, "2010-04-01", call["api_version"])
					assert.Equal(t, "(415) 555-0101", call["formatted_to"])
					assert.Equal(t, call["formatted_to"], call["to_formatted"])
					assert.Equal(t, "(415) 555-0100", call["from_formatted"])
					assert.Nil(t, call["price"])
					assert.Equal(t, "USD", call["price_unit"])
					assert.Equal(t, float64(0), call["duration"])
					assert.Nil(t, call["end_time"])
					assert.Equal(t, lamlCallsPath(prefix, acctA)+"/"+sid+".json", call["uri"])
					assert.Equal(t, lamlCallsPath(prefix, acctA)+"/"+sid+".json", res.Header.Get("Location"))
					assert.Equal(t, map[string]any{
						"notifications": lamlCallsPath(prefix, acctA) + "/" + sid + "/Notifications.json",
						"recordings":    lamlCallsPath(prefix, acctA) + "/" + sid + "/Recordings.json",
					}, call["subresource_uris"])
					for _, f := range []string{"date_created", "date_updated"} {
						assertRFC2822(t, call[f])
					}
					// Queued, not dialed yet: no start_time, as on Twilio.
					assert.Nil(t, call["start_time"])
					// The routing is a creation fact: inside CallUpserted.
					assert.Equal(t, []string{domain.TypeCallUpserted, domain.TypeCallStatusChanged}, ts.eventTypes(t, sid))

					for _, fetchPrefix := range lamlPrefixes {
						for _, fetchSuffix := range []string{"", ".json"} {
							get := ts.lamlDo(t, "GET", lamlCallsPath(fetchPrefix, acctA)+"/"+sid+fetchSuffix, acctA, tokenA, "")
							require.Equal(t, http.StatusOK, get.Status, "body: %s", get.Body)
							got := get.JSON(t)
							assert.Equal(t, sid, got["sid"])
							assert.Equal(t, lamlCallsPath(fetchPrefix, acctA)+"/"+sid+".json", got["uri"])
							assert.NotEmpty(t, get.Header.Get("ETag"))
						}
					}
				})
			}
		}
	}
}

// assertRFC2822 checks that v is a date in Twilio's RFC 2822 GMT format.
func assertRFC2822(t testing.TB, v any) {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "%v is not a string", v)
	d, err := time.Parse(time.RFC1123Z, s)
	require.NoError(t, err, s)
	assert.True(t, strings.HasSuffix(s, " +0000"), s)
	assert.Equal(t, s, d.UTC().Format("Mon, 02 Jan 2006 15:04:05 +0000"))
}

// JSON for LaML bodies keeps numbers exact (json.Number), so that price is
// compared by its digits.
func (r response) lamlJSON(t testing.TB) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m), "body: %s", r.Body)
	return m
}

func TestLAMLTerminateCancelAndWrongState(t *testing.T) {
	// Goal: Status=completed ends an in-progress call (CallTerminated) and,
	// as Twilio's "hang up a call even if it's already in progress", a
	// queued or ringing one too, which never connected (CallCanceled);
	// Status=canceled cancels a queued one (CallCanceled), leaves an
	// in-progress one as it is, and refuses an ended one.
	// The wrong state is a 409 in Twilio's body (21220), and appends
	// nothing. The price is a JSON number written from the decimal's digits.
	ts := newTestServer(t)
	path := lamlCallsPath(lamlPrefix, acctA)

	queued := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	res := ts.lamlDo(t, "POST", path+"/"+queued, acctA, tokenA, formBody("Status", "canceled"))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Equal(t, "canceled", res.JSON(t)["status"])
	types := ts.eventTypes(t, queued)
	assert.Equal(t, domain.TypeCallCanceled, types[len(types)-1])
	n := len(ts.events(t))
	res = ts.lamlDo(t, "POST", path+"/"+queued, acctA, tokenA, `{"Status": "canceled"}`)
	body := assertLAMLError(t, res, http.StatusConflict, 21220)
	assert.Contains(t, body["message"], "Status")
	res = ts.lamlDo(t, "POST", path+"/"+queued+".json", acctA, tokenA, formBody("Status", "completed"))
	assertLAMLError(t, res, http.StatusConflict, 21220)
	assert.Len(t, ts.events(t), n)

	hungUp := ts.createLAMLCall(t, "+14155550100", "+14155550102")
	res = ts.lamlDo(t, "POST", path+"/"+hungUp+".json", acctA, tokenA, formBody("Status", "completed"))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Equal(t, "canceled", res.JSON(t)["status"], "a call hung up before it connected is canceled, as Twilio reports it")
	types = ts.eventTypes(t, hungUp)
	assert.Equal(t, domain.TypeCallCanceled, types[len(types)-1])

	// An in-progress call, answered and priced through VoiceCall.
	id := ts.createVoiceCall(t, tokenA, "src-laml-end", map[string]any{
		"status": "ANSWERED_BY_STAFF", "totalPrice": "0.0135", "startedAt": "2025-02-17T15:00:00Z",
	})
	// Status=canceled does not affect a call in progress (Twilio): the
	// call is answered as it stands, and nothing is appended.
	before := ts.eventTypes(t, id)
	cancel := ts.lamlDo(t, "POST", path+"/"+id, acctA, tokenA, formBody("Status", "canceled"))
	require.Equal(t, http.StatusOK, cancel.Status, "body: %s", cancel.Body)
	assert.Equal(t, "in-progress", cancel.JSON(t)["status"])
	assert.Equal(t, before, ts.eventTypes(t, id), "nothing appended")

	end := ts.lamlDo(t, "POST", path+"/"+id+".json", acctA, tokenA, formBody("Status", "completed", "Url", "https://example.com/next"))
	require.Equal(t, http.StatusOK, end.Status, "body: %s", end.Body)
	call := end.lamlJSON(t)
	assert.Equal(t, "completed", call["status"])
	assert.Equal(t, json.Number("0.0135"), call["price"])
	assert.Contains(t, string(end.Body), `"price":0.0135,`)
	assert.Equal(t, "USD", call["price_unit"])
	assert.Equal(t, "inbound", call["direction"])
	assertRFC2822(t, call["end_time"])
	assert.Equal(t, "Mon, 17 Feb 2025 15:00:00 +0000", call["start_time"])
	types = ts.eventTypes(t, id)
	assert.Equal(t, []string{domain.TypeCallRoutingChanged, domain.TypeCallTerminated}, types[len(types)-2:])

	again := ts.lamlDo(t, "POST", path+"/"+id, acctA, tokenA, formBody("Status", "completed"))
	assertLAMLError(t, again, http.StatusConflict, 21220)

	// An update without parameters changes nothing and answers the call.
	same := ts.lamlDo(t, "POST", path+"/"+id, acctA, tokenA, "")
	require.Equal(t, http.StatusOK, same.Status, "body: %s", same.Body)
	assert.Len(t, ts.eventTypes(t, id), len(types))
}

func TestLAMLUpdateOfAnEndedCallIsRefused(t *testing.T) {
	// Goal: the update endpoint modifies an active call only (seed 003):
	// on a call that has ended, whatever its final status, each routing
	// parameter (Url, Twiml, ApplicationSid, Method, FallbackUrl,
	// FallbackMethod, StatusCallback, StatusCallbackMethod), in a form or
	// a JSON body, is a 409 with Twilio's 21220 naming it, and appends
	// nothing. A malformed value is still answered as malformed, an active
	// call still takes the parameters, and the other surfaces still record
	// facts of an ended call.
	ts := newTestServer(t)
	path := lamlCallsPath(lamlPrefix, acctA)
	ended := map[string]string{}
	for _, word := range []string{"completed", "busy", "failed", "no-answer"} {
		ended[word] = ts.upsertID(t, moonbaseBody("ended-"+word, word))
	}
	canceled := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	res := ts.lamlDo(t, "POST", path+"/"+canceled, acctA, tokenA, formBody("Status", "canceled"))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	ended["canceled"] = canceled

	params := [][2]string{
		{"Url", "https://example.com/redirect"}, {"Method", "GET"},
		{"Twiml", "<Response><Say>hi</Say></Response>"}, {"ApplicationSid", "AP0123456789abcdef0123456789abcdef"},
		{"FallbackUrl", "https://example.com/fallback"}, {"FallbackMethod", "POST"},
		{"StatusCallback", "https://example.com/status"}, {"StatusCallbackMethod", "GET"},
	}
	n := len(ts.events(t))
	for status, sid := range ended {
		require.Equal(t, status, ts.lamlDo(t, "GET", path+"/"+sid, acctA, tokenA, "").JSON(t)["status"])
		for _, param := range params {
			t.Run(status+"/"+param[0], func(t *testing.T) {
				form := ts.lamlDo(t, "POST", path+"/"+sid, acctA, tokenA, formBody(param[0], param[1]))
				body := assertLAMLError(t, form, http.StatusConflict, 21220)
				assert.Contains(t, body["message"], param[0])
				assert.Contains(t, body["message"], status)
				assert.Equal(t, "false", form.Header.Get("x-should-retry"))
				js := ts.lamlDo(t, "POST", path+"/"+sid+".json", acctA, tokenA, fmt.Sprintf(`{%q: %q}`, param[0], param[1]))
				assertLAMLError(t, js, http.StatusConflict, 21220)
			})
		}
	}
	assert.Len(t, ts.events(t), n, "nothing appended for an ended call")

	// With Status too, the Status is what cannot apply.
	body := assertLAMLError(t, ts.lamlDo(t, "POST", path+"/"+ended["completed"], acctA, tokenA,
		formBody("Status", "completed", "Url", "https://example.com/redirect")), http.StatusConflict, 21220)
	assert.Contains(t, body["message"], "Status")
	// A malformed value is malformed whatever the call's state.
	assertLAMLError(t, ts.lamlDo(t, "POST", path+"/"+ended["completed"], acctA, tokenA, formBody("Url", "nope")), http.StatusBadRequest, 21205)
	// An update without parameters still answers the call.
	assert.Equal(t, http.StatusOK, ts.lamlDo(t, "POST", path+"/"+ended["completed"], acctA, tokenA, "").Status)
	assert.Len(t, ts.events(t), n)

	// An active call takes them, each a CallRoutingChanged.
	active := ts.createLAMLCall(t, "+14155550100", "+14155550102")
	for _, param := range params {
		res := ts.lamlDo(t, "POST", path+"/"+active, acctA, tokenA, formBody(param[0], param[1]))
		require.Equal(t, http.StatusOK, res.Status, "%s: %s", param[0], res.Body)
	}
	types := ts.eventTypes(t, active)
	assert.Equal(t, domain.TypeCallRoutingChanged, types[len(types)-1])

	// The other surfaces are not restricted: a provider's late facts and
	// the CRM's notes about an ended call are recorded.
	n = len(ts.events(t))
	patch := ts.do(t, "PATCH", "/v1/calls/"+ended["completed"], tokenA, `{"notes":"called back"}`)
	assert.Equal(t, http.StatusOK, patch.Status, string(patch.Body))
	assert.Greater(t, len(ts.events(t)), n)
}

func TestLAMLRoutingParams(t *testing.T) {
	// Goal: the one table of routing parameters reads each parameter into
	// its own RoutingChanges field (a method upper-cased), names it as the
	// one given, and maps Decide's field for it back to its name.
	link, get := "https://example.com/x", "GET"
	for _, tc := range []struct {
		name, field string
		want        domain.RoutingChanges
	}{
		{"Url", "routing.url", domain.RoutingChanges{URL: &link}},
		{"Twiml", "routing.twiml", domain.RoutingChanges{Twiml: &link}},
		{"ApplicationSid", "routing.application_sid", domain.RoutingChanges{ApplicationSID: &link}},
		{"Method", "routing.method", domain.RoutingChanges{Method: &get}},
		{"FallbackUrl", "routing.fallback_url", domain.RoutingChanges{FallbackURL: &link}},
		{"FallbackMethod", "routing.fallback_method", domain.RoutingChanges{FallbackMethod: &get}},
		{"StatusCallback", "routing.status_callback", domain.RoutingChanges{StatusCallback: &link}},
		{"StatusCallbackMethod", "routing.status_callback_method", domain.RoutingChanges{StatusCallbackMethod: &get}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			value := link
			if strings.HasSuffix(tc.name, "Method") {
				value = "get"
			}
			routing := lamlRouting(lamlParams{lamlKey(tc.name): value})
			assert.Equal(t, tc.want, routing)
			assert.Equal(t, tc.name, lamlRoutingGiven(routing))
			assert.Equal(t, tc.name, lamlField(tc.field))
			assert.Equal(t, tc.name, lamlField(strings.ToLower(tc.name)), "a parameter named as a JSON body may spell it")
			assert.True(t, lamlIsRoutingParam(tc.name))
		})
	}
	assert.Equal(t, "", lamlRoutingGiven(lamlRouting(lamlParams{lamlKey("Status"): "completed"})))
	assert.Equal(t, "Method", lamlRoutingGiven(lamlRouting(lamlParams{lamlKey("StatusCallback"): link, lamlKey("Method"): get})),
		"the first given in the table's order")
}

func TestLAMLListPagingAndFilters(t *testing.T) {
	// Goal: the list is newest first, pages by PageSize with Twilio's paging
	// fields, follows next_page_uri to the end, and filters by To, From,
	// Status and StartTime (=, >, <).
	ts := newTestServer(t)
	starts := []string{"2025-01-01T10:00:00Z", "2025-01-02T10:00:00Z", "2025-01-02T18:00:00Z", "2025-01-03T10:00:00Z", "2025-01-04T10:00:00Z"}
	ids := make([]string, len(starts))
	for i, st := range starts {
		status := "INCOMING_CALL"
		if i%2 == 1 {
			status = "MISSED"
		}
		ids[i] = ts.createVoiceCall(t, tokenA, "src-list-"+st, map[string]any{
			"startedAt": st, "status": status, "to": "+1415555090" + string(rune('0'+i)),
		})
	}
	ts.createVoiceCall(t, tokenB, "src-list-b", nil) // another account's: never listed

	for _, prefix := range lamlPrefixes {
		t.Run("Paging"+prefix, func(t *testing.T) {
			next := lamlCallsPath(prefix, acctA) + ".json?PageSize=2"
			var seen []string
			var uris []string // the uri of each page
			var prevs []any   // the previous_page_uri of each page
			for page := 0; next != ""; page++ {
				require.Less(t, page, 10, "paging does not end")
				res := ts.lamlDo(t, "GET", next, acctA, tokenA, "")
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				list := res.JSON(t)
				assert.Equal(t, float64(page), list["page"])
				assert.Equal(t, float64(2), list["page_size"])
				assert.Equal(t, float64(page*2), list["start"])
				calls := list["calls"].([]any)
				assert.Equal(t, float64(page*2+max(len(calls)-1, 0)), list["end"])
				assert.True(t, strings.HasPrefix(list["first_page_uri"].(string), lamlCallsPath(prefix, acctA)+".json?"))
				assert.Equal(t, next, list["uri"])
				if page == 0 {
					assert.Nil(t, list["previous_page_uri"])
				}
				for _, c := range calls {
					seen = append(seen, c.(map[string]any)["sid"].(string))
				}
				uris = append(uris, list["uri"].(string))
				prevs = append(prevs, list["previous_page_uri"])
				next, _ = list["next_page_uri"].(string)
			}
			want := slices.Clone(ids)
			slices.Reverse(want)
			assert.Equal(t, want, seen, "newest start first, each call once")

			// previous_page_uri of every page but the first gives the page
			// before it: the same calls as when paging forward.
			require.Len(t, uris, 3)
			for i := 1; i < len(uris); i++ {
				prev, ok := prevs[i].(string)
				require.True(t, ok, "page %d has a previous_page_uri", i)
				assert.True(t, strings.HasPrefix(prev, lamlCallsPath(prefix, acctA)+".json?"), "on the route paged: %s", prev)
				assert.Equal(t, ts.lamlListSIDs(t, mustQuery(t, uris[i-1])), ts.lamlListSIDs(t, mustQuery(t, prev)), "previous of page %d is page %d", i, i-1)
			}
		})
	}

	ts.runLAMLListCases(t, []lamlListCase{
		{"To", url.Values{"To": {"+14155550902"}}, []string{ids[2]}},
		{"From", url.Values{"From": {"+14155550148"}}, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"FromNone", url.Values{"From": {"+19995550148"}}, nil},
		{"Status", url.Values{"Status": {"no-answer"}}, []string{ids[3], ids[1]}},
		{"StartTimeDay", url.Values{"StartTime": {"2025-01-02"}}, []string{ids[2], ids[1]}},
		{"StartTimeAfter", url.Values{"StartTime>": {"2025-01-03"}}, []string{ids[4], ids[3]}},
		{"StartTimeBefore", url.Values{"StartTime<": {"2025-01-02"}}, []string{ids[2], ids[1], ids[0]}},
		{"StartTimeRange", url.Values{"StartTime>": {"2025-01-02"}, "StartTime<": {"2025-01-03"}}, []string{ids[3], ids[2], ids[1]}},
		{"StartTimeInstant", url.Values{"StartTime>": {"2025-01-02T12:00:00Z"}}, []string{ids[4], ids[3], ids[2]}},
		{"StartTimeInstantLowercase", url.Values{"StartTime>": {"2025-01-02t12:00:00z"}}, []string{ids[4], ids[3], ids[2]}},
		{"StartTimeDateTimeIsItsDayLowercase", url.Values{"StartTime": {"2025-01-02t18:00:00z"}}, []string{ids[2], ids[1]}},
		{"StartTimeBeforeLowercaseOffset", url.Values{"StartTime<": {"2025-01-02t19:00:00+01:00"}}, []string{ids[2], ids[1], ids[0]}},
		// twilio-java writes date-times without an offset (its
		// QUERY_STRING_DATE_TIME_FORMAT): GMT, as Twilio reads them.
		{"StartTimeRangeTwilioJava", url.Values{"StartTime>": {"2025-01-02T10:00:00"}, "StartTime<": {"2025-01-02T17:59:59"}}, []string{ids[1]}},
		{"StartTimeTwilioJavaIsItsDay", url.Values{"StartTime": {"2025-01-02T23:00:00"}}, []string{ids[2], ids[1]}},
		{"StartTimeTwilioJavaFraction", url.Values{"StartTime>": {"2025-01-03T10:00:00.250"}}, []string{ids[4], ids[3]}},
		{"StatusAndTime", url.Values{"Status": {"ringing"}, "StartTime<": {"2025-01-02"}}, []string{ids[2], ids[0]}},
		// Names in any letter case, with or without underscores, as in
		// the bodies: status= was ignored and the list widened.
		{"StatusLowercase", url.Values{"status": {"no-answer"}}, []string{ids[3], ids[1]}},
		{"ToUpperCase", url.Values{"TO": {"+14155550902"}}, []string{ids[2]}},
		{"StartTimeSnakeCase", url.Values{"start_time>": {"2025-01-03"}}, []string{ids[4], ids[3]}},
		// Twilio writes its filters StartTime>=, which clients that
		// encode the whole name send as the name "StartTime>=".
		{"StartTimeAfterOrOn", url.Values{"StartTime>=": {"2025-01-03"}}, []string{ids[4], ids[3]}},
		{"StartTimeBeforeOrOn", url.Values{"StartTime<=": {"2025-01-02"}}, []string{ids[2], ids[1], ids[0]}},
	})
	// ... and a page size so spelt pages, the URIs spelling it as Twilio.
	res := ts.lamlDo(t, "GET", lamlCallsPath("", acctA)+"?page_size=1&status=no-answer", acctA, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Len(t, res.JSON(t)["calls"], 1)
	assert.Contains(t, res.JSON(t)["next_page_uri"], "PageSize=1")
	assert.Contains(t, res.JSON(t)["next_page_uri"], "Status=no-answer")
	// One filter in two spellings is given twice.
	res = ts.lamlDo(t, "GET", lamlCallsPath("", acctA)+"?status=no-answer&Status=ringing", acctA, tokenA, "")
	assert.Equal(t, http.StatusBadRequest, res.Status, "body: %s", res.Body)
	assert.Contains(t, string(res.Body), "Status: is given 2 times")

	// Filters are repeated in the page URIs.
	res = ts.lamlDo(t, "GET", lamlCallsPath("", acctA)+"?Status=no-answer&PageSize=1", acctA, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status)
	next := res.JSON(t)["next_page_uri"].(string)
	assert.Contains(t, next, "Status=no-answer")
	res = ts.lamlDo(t, "GET", next, acctA, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	page1 := res.JSON(t)
	assert.Equal(t, ids[1], page1["calls"].([]any)[0].(map[string]any)["sid"])
	assert.Equal(t, page1["first_page_uri"], page1["previous_page_uri"])
}

func TestLAMLListTimeFiltersReadSeconds(t *testing.T) {
	// Goal: a StartTime date-time is read as LaML shows dates, to the
	// second: StartTime= lists the GMT day it falls on, StartTime< the
	// calls that started at or before its second, StartTime> those at or
	// after it. So a start_time read back (RFC 2822, whole seconds), or a
	// JS Date as twilio-node sends it, finds a call that started at
	// 15:00:00.5. A date keeps its day semantics.
	ts := newTestServer(t)
	frac := ts.createVoiceCall(t, tokenA, "src-frac", map[string]any{"startedAt": "2025-01-05T15:00:00.5Z"})
	before := ts.createVoiceCall(t, tokenA, "src-before", map[string]any{"startedAt": "2025-01-05T14:59:59.999Z"})
	after := ts.createVoiceCall(t, tokenA, "src-after", map[string]any{"startedAt": "2025-01-05T15:00:01Z"})
	dayBefore := ts.createVoiceCall(t, tokenA, "src-day-before", map[string]any{"startedAt": "2025-01-04T23:59:59.9Z"})
	nextDay := ts.createVoiceCall(t, tokenA, "src-next-day", map[string]any{"startedAt": "2025-01-06T00:00:00Z"})

	shown := ts.lamlDo(t, "GET", lamlCallsPath("", acctA)+"/"+frac+".json", acctA, tokenA, "").JSON(t)["start_time"]
	require.Equal(t, "Sun, 05 Jan 2025 15:00:00 +0000", shown, "shown to the second")

	ts.runLAMLListCases(t, []lamlListCase{
		{"BeforeShownSecond", url.Values{"StartTime<": {"2025-01-05T15:00:00Z"}}, []string{frac, before, dayBefore}},
		{"AfterShownSecond", url.Values{"StartTime>": {"2025-01-05T15:00:00Z"}}, []string{nextDay, after, frac}},
		{"BeforeAndAfterShownSecond", url.Values{"StartTime>": {"2025-01-05T15:00:00Z"}, "StartTime<": {"2025-01-05T15:00:00Z"}}, []string{frac}},
		{"BeforeWithFraction", url.Values{"StartTime<": {"2025-01-05T15:00:00.2Z"}}, []string{frac, before, dayBefore}},
		{"AfterWithFraction", url.Values{"StartTime>": {"2025-01-05T15:00:00.9Z"}}, []string{nextDay, after, frac}},
		{"BeforeOffset", url.Values{"StartTime<": {"2025-01-05T16:00:00+01:00"}}, []string{frac, before, dayBefore}},
		{"BeforeSecondBefore", url.Values{"StartTime<": {"2025-01-05T14:59:59Z"}}, []string{before, dayBefore}},
		{"AfterSecondAfter", url.Values{"StartTime>": {"2025-01-05T15:00:01Z"}}, []string{nextDay, after}},
		{"OnDateTimeIsItsDay", url.Values{"StartTime": {"2025-01-05T15:00:00Z"}}, []string{after, frac, before}},
		{"OnDateTimeOffsetIsItsGMTDay", url.Values{"StartTime": {"2025-01-06T00:30:00+01:00"}}, []string{after, frac, before}},
		{"OnDate", url.Values{"StartTime": {"2025-01-05"}}, []string{after, frac, before}},
		{"BeforeDateIsOnOrBefore", url.Values{"StartTime<": {"2025-01-04"}}, []string{dayBefore}},
		{"AfterDateIsOnOrAfter", url.Values{"StartTime>": {"2025-01-06"}}, []string{nextDay}},
	})
}

// appendChildCall writes a call of acctA that parent created (ParentCallID)
// to the store through Decide, since no surface sets a parent call (LaML
// only shows parent_call_sid), and returns its sid once the read models
// have it. end, when not nil, is when it ended (completed).
func appendChildCall(t *testing.T, ts *testServer, parent uuid.UUID, providerID string, start time.Time, end *time.Time) string {
	t.Helper()
	dir := domain.DirectionOutbound
	from, to := "+14155550100", "+14155550199"
	cmd := domain.UpsertCall{
		Mode: domain.UpsertCreate, CallID: domain.CallIDFor(acctA, "twilio", providerID), AccountID: acctA, Now: start,
		Provider: "twilio", ProviderID: providerID, Direction: &dir, From: &from, To: &to,
		StartedAt: &start, EndedAt: end, ParentCallID: &parent,
	}
	if end != nil {
		completed := domain.StatusCompleted
		cmd.Status = &completed
	}
	events, st, err := domain.DecideFold(domain.State{}, cmd, start)
	require.NoError(t, err)
	require.Equal(t, parent, *st.Call.ParentCallID)
	ts.appendDirect(t, cmd.CallID, eventstore.NoStream(), domain.Metadata{AccountID: acctA, Actor: "laml-test", Surface: domain.SurfaceCLI, Time: start}, events...)
	return cmd.CallID.String()
}

func TestLAMLListEndTimeAndParentFilters(t *testing.T) {
	// Goal: EndTime, EndTime< and EndTime> filter on the end time as the
	// StartTime family does on the start (a date is its GMT day, a
	// date-time is read at the second), a call that has not ended matching
	// none of them; ParentCallSid keeps the calls the given call created
	// (a malformed sid is a 400, 20001, naming it). Paged with a filter,
	// the list gives each matching call once, page URIs repeat the
	// filters, and next_page_uri is null exactly on the last page.
	ts := newTestServer(t)
	ended := func(src, start string, seconds int) string {
		return ts.createVoiceCall(t, tokenA, src, map[string]any{"startedAt": start, "status": "VOICEMAIL_RECEIVED", "duration": seconds})
	}
	e1 := ended("src-e1", "2025-02-01T10:00:00Z", 60)   // ends 2025-02-01 10:01:00
	e2 := ended("src-e2", "2025-02-01T23:59:30.5Z", 60) // ends 2025-02-02 00:00:30.5, the day after it started
	open := ts.createVoiceCall(t, tokenA, "src-open", map[string]any{"startedAt": "2025-02-02T12:00:00Z", "status": "INCOMING_CALL"})
	e3 := ended("src-e3", "2025-02-02T15:00:00.5Z", 30) // ends 2025-02-02 15:00:30.5
	e4 := ended("src-e4", "2025-02-03T08:00:00Z", 3600) // ends 2025-02-03 09:00:00
	path := lamlCallsPath("", acctA) + ".json"
	require.Equal(t, "Sun, 02 Feb 2025 15:00:30 +0000", ts.lamlGet(t, e3)["end_time"], "shown to the second")
	require.Equal(t, "Sun, 02 Feb 2025 00:00:30 +0000", ts.lamlGet(t, e2)["end_time"])
	require.Nil(t, ts.lamlGet(t, open)["end_time"])

	parentID := uuid.MustParse(ts.createLAMLCall(t, "+14155550100", "+14155550101"))
	other := uuid.MustParse(ts.createLAMLCall(t, "+14155550100", "+14155550102"))
	childStart := time.Date(2025, 2, 4, 9, 0, 0, 0, time.UTC)
	var children []string // newest start first, as listed
	for i := range 5 {
		start := childStart.Add(time.Duration(i) * time.Minute)
		var end *time.Time
		if i == 2 {
			end = new(start.Add(90 * time.Second)) // children[2] once listed: the one that ended
		}
		children = slices.Insert(children, 0, appendChildCall(t, ts, parentID, fmt.Sprintf("child-%d", i), start, end))
		// A call between the children, created by another call.
		ts.createVoiceCall(t, tokenA, fmt.Sprintf("src-between-%d", i), map[string]any{"startedAt": childStart.Add(time.Duration(i)*time.Minute + time.Second).Format(time.RFC3339)})
	}
	orphan := appendChildCall(t, ts, other, "child-of-other", childStart, nil)
	assert.Equal(t, parentID.String(), ts.lamlGet(t, children[0])["parent_call_sid"])

	ts.runLAMLListCases(t, []lamlListCase{
		{"EndTimeDate", url.Values{"EndTime": {"2025-02-02"}}, []string{e3, e2}},
		{"EndTimeDateTimeIsItsDay", url.Values{"EndTime": {"2025-02-02T18:00:00Z"}}, []string{e3, e2}},
		{"EndTimeAfterDate", url.Values{"EndTime>": {"2025-02-02"}}, []string{children[2], e4, e3, e2}},
		{"EndTimeBeforeDate", url.Values{"EndTime<": {"2025-02-01"}}, []string{e1}},
		{"EndTimeBeforeShownSecond", url.Values{"EndTime<": {"2025-02-02T15:00:30Z"}}, []string{e3, e2, e1}},
		{"EndTimeAfterShownSecond", url.Values{"EndTime>": {"2025-02-02T15:00:30Z"}}, []string{children[2], e4, e3}},
		{"EndTimeAfterNextSecond", url.Values{"EndTime>": {"2025-02-02T15:00:31Z"}}, []string{children[2], e4}},
		{"EndTimeBeforeSecondBefore", url.Values{"EndTime<": {"2025-02-01T10:00:59Z"}}, nil},
		{"EndTimeBeforeItsSecond", url.Values{"EndTime<": {"2025-02-01T10:01:00Z"}}, []string{e1}},
		{"EndTimeRange", url.Values{"EndTime>": {"2025-02-01T12:00:00Z"}, "EndTime<": {"2025-02-03"}}, []string{e4, e3, e2}},
		{"EndTimeEmptyRange", url.Values{"EndTime>": {"2025-02-03"}, "EndTime<": {"2025-02-01"}}, nil},
		{"EndTimeAnyOmitsOpenCalls", url.Values{"EndTime>": {"2000-01-01"}}, []string{children[2], e4, e3, e2, e1}},
		{"EndTimeAfterWithoutOffsetIsGMT", url.Values{"EndTime>": {"2025-02-01T10:01:00"}}, []string{children[2], e4, e3, e2, e1}},
		{"EndTimeAfterWithoutOffsetNextSecond", url.Values{"EndTime>": {"2025-02-01T10:01:01"}}, []string{children[2], e4, e3, e2}},
		{"StartTimeAndEndTime", url.Values{"StartTime": {"2025-02-01"}, "EndTime": {"2025-02-02"}}, []string{e2}},
		{"ParentCallSid", url.Values{"ParentCallSid": {parentID.String()}}, children},
		{"ParentCallSidUpperCase", url.Values{"ParentCallSid": {strings.ToUpper(parentID.String())}}, children},
		{"ParentCallSidOther", url.Values{"ParentCallSid": {other.String()}}, []string{orphan}},
		{"ParentCallSidNoChildren", url.Values{"ParentCallSid": {e1}}, nil},
		{"ParentCallSidAndEndTime", url.Values{"ParentCallSid": {parentID.String()}, "EndTime": {"2025-02-04"}}, []string{children[2]}},
		{"ParentCallSidAndTo", url.Values{"ParentCallSid": {parentID.String()}, "To": {"+14155550101"}}, nil},
	})

	for _, tc := range []struct {
		name, param, query string // param is the parameter the message names
	}{
		{"ParentCallSidNotAUUID", "ParentCallSid", "ParentCallSid=CA123"},
		{"ParentCallSidWithoutHyphens", "ParentCallSid", "ParentCallSid=" + strings.ReplaceAll(parentID.String(), "-", "")},
		{"ParentCallSidNilUUID", "ParentCallSid", "ParentCallSid=" + uuid.Nil.String()},
		{"EndTimeNotADate", "EndTime", "EndTime=yesterday"},
		{"EndTimeBeforeNoSuchDay", "EndTime<", url.Values{"EndTime<": {"2025-02-30"}}.Encode()},
		{"EndTimeAfterWithoutSeconds", "EndTime>", url.Values{"EndTime>": {"2025-02-01T10:00"}}.Encode()},
	} {
		t.Run("Bad"+tc.name, func(t *testing.T) {
			body := assertLAMLError(t, ts.lamlDo(t, "GET", path+"?"+tc.query, acctA, tokenA, ""), http.StatusBadRequest, 20001)
			assert.Contains(t, body["message"], tc.param)
		})
	}

	for _, tc := range []struct {
		name  string
		query url.Values
		want  []string
		pages int
	}{
		{"ParentCallSid", url.Values{"ParentCallSid": {parentID.String()}}, children, 3},
		{"EndTime", url.Values{"EndTime>": {"2025-02-01"}, "EndTime<": {"2025-02-03"}}, []string{e4, e3, e2, e1}, 2},
	} {
		t.Run("Paging"+tc.name, func(t *testing.T) {
			next := path + "?" + tc.query.Encode() + "&PageSize=2"
			var seen []string
			var uris []string
			var prevs []any
			for next != "" {
				require.Less(t, len(uris), 10, "paging does not end")
				res := ts.lamlDo(t, "GET", next, acctA, tokenA, "")
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				page := res.JSON(t)
				calls := page["calls"].([]any)
				require.NotEmpty(t, calls, "no empty page")
				for _, c := range calls {
					seen = append(seen, c.(map[string]any)["sid"].(string))
				}
				for name, v := range tc.query {
					assert.Contains(t, page["first_page_uri"], url.Values{name: v}.Encode())
				}
				uris = append(uris, page["uri"].(string))
				prevs = append(prevs, page["previous_page_uri"])
				next, _ = page["next_page_uri"].(string)
				if next != "" {
					for name, v := range tc.query {
						assert.Contains(t, next, url.Values{name: v}.Encode(), "next_page_uri repeats %s", name)
					}
				}
			}
			assert.Equal(t, tc.want, seen, "each matching call once, newest start first")
			assert.Len(t, uris, tc.pages, "next_page_uri is null on the last page")
			for i := 1; i < len(uris); i++ {
				prev, ok := prevs[i].(string)
				require.True(t, ok, "page %d has a previous_page_uri", i)
				assert.Equal(t, seen[(i-1)*2:i*2], ts.lamlListSIDs(t, mustQuery(t, prev)), "previous of page %d is page %d", i, i-1)
			}
		})
	}
}

// mustQuery returns the query of a page URI the list gave.
func mustQuery(t *testing.T, uri string) url.Values {
	t.Helper()
	u, err := url.Parse(uri)
	require.NoError(t, err)
	return u.Query()
}

func TestLAMLListStartTimeAroundZeroTime(t *testing.T) {
	// Goal: a StartTime filter whose bound falls on Go's zero time
	// (0001-01-01T00:00:00Z) bounds the list there, as any other instant
	// does: calls may start in the year 0000, and the list never reads that
	// bound as "no filter". A call may start at the zero time itself.
	ts := newTestServer(t)
	year0 := ts.createVoiceCall(t, tokenA, "src-year-0", map[string]any{"startedAt": "0000-12-31T18:00:00Z"})
	atZero := ts.createVoiceCall(t, tokenA, "src-zero", map[string]any{"startedAt": "0001-01-01T00:00:00Z"})
	year1 := ts.createVoiceCall(t, tokenA, "src-year-1", map[string]any{"startedAt": "0001-01-01T00:00:01Z"})
	recent := ts.createVoiceCall(t, tokenA, "src-2026", map[string]any{"startedAt": "2026-01-02T10:00:00Z"})
	ts.runLAMLListCases(t, []lamlListCase{
		{"OnOrBeforeTheDayBeforeZeroTime", url.Values{"StartTime<": {"0000-12-31"}}, []string{year0}},
		{"TheDayBeforeZeroTime", url.Values{"StartTime": {"0000-12-31"}}, []string{year0}},
		{"OnOrAfterZeroTime", url.Values{"StartTime>": {"0001-01-01"}}, []string{recent, year1, atZero}},
		{"OnOrAfterZeroTimeInstant", url.Values{"StartTime>": {"0001-01-01T00:00:00Z"}}, []string{recent, year1, atZero}},
		{"OnOrBeforeZeroTimeInstant", url.Values{"StartTime<": {"0001-01-01T00:00:00Z"}}, []string{atZero, year0}},
		{"OnTheDayOfZeroTime", url.Values{"StartTime": {"0001-01-01T00:00:00Z"}}, []string{year1, atZero}},
	})
}

func TestLAMLAccountIsolation(t *testing.T) {
	// Goal: the path's AccountSid must be the caller's own (401, 20003, as
	// Twilio answers); another account's call is a 404 (20404) on fetch and
	// update, and is never listed; bad credentials are a 401.
	ts := newTestServer(t)
	sid := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	n := len(ts.events(t))
	for _, prefix := range lamlPrefixes {
		pathA, pathB := lamlCallsPath(prefix, acctA), lamlCallsPath(prefix, acctB)
		assertLAMLError(t, ts.lamlDo(t, "GET", pathA+"/"+sid, acctB, tokenB, ""), 401, 20003)
		assertLAMLError(t, ts.lamlDo(t, "GET", pathA+".json", acctB, tokenB, ""), 401, 20003)
		assertLAMLError(t, ts.lamlDo(t, "POST", pathA, acctB, tokenB, formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com")), 401, 20003)
		body := assertLAMLError(t, ts.lamlDo(t, "GET", pathB+"/"+sid+".json", acctB, tokenB, ""), 404, 20404)
		assert.Equal(t, "The requested resource "+pathB+"/"+sid+".json was not found: no call with id "+sid, body["message"],
			"the message of a call no one has")
		assertLAMLError(t, ts.lamlDo(t, "POST", pathB+"/"+sid, acctB, tokenB, formBody("Status", "canceled")), 404, 20404)
		res := ts.lamlDo(t, "GET", pathB, acctB, tokenB, "")
		require.Equal(t, http.StatusOK, res.Status)
		assert.Empty(t, res.JSON(t)["calls"])
		assertLAMLError(t, ts.lamlDo(t, "GET", pathA, "", "", ""), 401, 20003)
		assertLAMLError(t, ts.lamlDo(t, "GET", pathA, acctA, tokenB, ""), 401, 20003)
		assertLAMLError(t, ts.lamlDo(t, "GET", pathA, acctA, "wrong", ""), 401, 20003)
		res = ts.lamlDo(t, "GET", pathA, "", "", "", "Authorization", "Bearer "+tokenA)
		assertLAMLError(t, res, 401, 20003)
	}
	assert.Len(t, ts.events(t), n)
}

func TestLAMLBadInputs(t *testing.T) {
	// Goal: every malformed or unacceptable LaML request is a 4xx in
	// Twilio's body, with a code and a message naming the parameter, and
	// appends nothing.
	ts := newTestServer(t)
	sid := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	n := len(ts.events(t))
	calls := lamlCallsPath(lamlPrefix, acctA)
	good := []string{"From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/twiml"}
	without := func(name string) string {
		var out []string
		for i := 0; i < len(good); i += 2 {
			if good[i] != name {
				out = append(out, good[i], good[i+1])
			}
		}
		return formBody(out...)
	}
	with := func(pairs ...string) string { return formBody(append(append([]string(nil), good...), pairs...)...) }
	for _, tc := range []struct {
		name, method, path, body, contentType string
		status, code                          int
		field                                 string
	}{
		{"CreateNoTo", "POST", calls, without("To"), "", 400, 21201, "To"},
		{"CreateNoFrom", "POST", calls, without("From"), "", 400, 21213, "From"},
		{"CreateNoUrl", "POST", calls + ".json", without("Url"), "", 400, 21205, "Url"},
		{"CreateBadTo", "POST", calls, formBody("From", "+14155550100", "To", "555", "Url", "https://example.com"), "", 400, 21211, "To"},
		{"CreateBadFrom", "POST", calls, formBody("From", "nobody", "To", "+14155550101", "Url", "https://example.com"), "", 400, 21212, "From"},
		{"CreateBadUrl", "POST", calls, formBody("From", "+14155550100", "To", "+14155550101", "Url", "ftp://x"), "", 400, 21205, "Url"},
		{"CreateUrlTooLong", "POST", calls, formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/"+strings.Repeat("a", domain.URLBytesMax)), "", 400, 21205, "Url: must be at most 4096 bytes"},
		{"CreateSIPToTooLong", "POST", calls, formBody("From", "+14155550100", "To", "sip:"+strings.Repeat("a", domain.AddressBytesMax)+"@example.com", "Url", "https://example.com"), "", 400, 21211, "To: must be at most 1024 bytes"},
		// An address or a URL that could not be handed on as it is: a
		// control character, a space, a character RFC 3986 excludes, a
		// port past 65535.
		{"CreateClientToEscape", "POST", calls, formBody("From", "+14155550100", "To", "client:a\x1b[31mb", "Url", "https://example.com"), "", 400, 21211, "To"},
		{"CreateSIPFromNUL", "POST", calls, formBody("From", "sip:a\x00b@example.com", "To", "+14155550101", "Url", "https://example.com"), "", 400, 21212, "From"},
		{"CreateClientToLineSeparator", "POST", calls, formBody("From", "+14155550100", "To", "client:a\u2028b", "Url", "https://example.com"), "", 400, 21211, "To"},
		{"CreateUrlSpaceInPath", "POST", calls, formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/x y"), "", 400, 21205, "Url"},
		{"CreateUrlPortTooLarge", "POST", calls, formBody("From", "+14155550100", "To", "+14155550101", "Url", "http://localhost:99999/x"), "", 400, 21205, "Url"},
		{"CreateUrlQuote", "POST", calls, formBody("From", "+14155550100", "To", "+14155550101", "Url", `https://example.com/a"<b>`), "", 400, 21205, "Url"},
		{"CreateStatusCallbackTab", "POST", calls, with("StatusCallback", "https://example.com/a\tb"), "", 400, 20001, "StatusCallback"},
		{"CreateBadMethod", "POST", calls, with("Method", "PUT"), "", 400, 20001, "Method"},
		{"CreateBadStatusCallback", "POST", calls, with("StatusCallback", "not a url"), "", 400, 20001, "StatusCallback"},
		{"CreateBadStatusCallbackMethod", "POST", calls, with("StatusCallbackMethod", "DELETE"), "", 400, 20001, "StatusCallbackMethod"},
		{"CreateBadFallbackUrl", "POST", calls, with("FallbackUrl", "//x"), "", 400, 20001, "FallbackUrl"},
		{"CreateJSONObjectValue", "POST", calls, `{"From": {"a": 1}, "To": "+14155550101", "Url": "https://example.com"}`, "", 400, 21212, "From"},
		// A JSON value that is not UTF-8 text is named, as in a form.
		{"CreateJSONNotUTF8", "POST", calls, "{\"From\": \"+14155550100\", \"To\": \"+14155550101\", \"Url\": \"https://example.com/\xff\"}", "application/json", 400, 21205, "Url: is not valid UTF-8"},
		{"CreateJSONLoneSurrogate", "POST", calls, `{"From": "+14155550100", "to": "\ud800", "Url": "https://example.com"}`, "", 400, 21211, "To: is not valid UTF-8"},
		{"CreateJSONNameNotUTF8", "POST", calls, "{\"From\": \"+14155550100\", \"To\": \"+14155550101\", \"Url\": \"https://example.com/\", \"\xff\": \"x\"}", "application/json", 400, 20001, "UTF-8"},
		{"CreateFormNotUTF8", "POST", calls, "From=%2B14155550100&To=%2B14155550101&Url=https%3A%2F%2Fexample.com%2F%FF", "", 400, 21205, "UTF-8"},
		// A To or From given but not UTF-8 is invalid (21211, 21212), not
		// missing (21201, 21213): only an absent or empty one is missing.
		{"CreateToNotUTF8", "POST", calls, "To=%ff&From=x", "", 400, 21211, "To: is not valid UTF-8"},
		{"CreateFromNotUTF8", "POST", calls, "From=%ff&To=%2B14155550101&Url=https%3A%2F%2Fexample.com", "", 400, 21212, "From: is not valid UTF-8"},
		// A parameter in another letter case, or snake_case, is that
		// parameter, named as Twilio spells it and with its own code.
		{"CreateToUpperNotUTF8", "POST", calls, "TO=%ff&From=x", "", 400, 21211, "To: is not valid UTF-8"},
		{"CreateFromLowerNotUTF8", "POST", calls, "from=%ff&To=%2B14155550101&Url=https%3A%2F%2Fexample.com", "", 400, 21212, "From: is not valid UTF-8"},
		{"CreateUrlUpperNotUTF8", "POST", calls, "From=%2B14155550100&To=%2B14155550101&URL=https%3A%2F%2Fexample.com%2F%FF", "", 400, 21205, "Url: is not valid UTF-8"},
		{"CreateApplicationSidSnakeNotUTF8", "POST", calls, "From=%2B14155550100&To=%2B14155550101&application_sid=AP%FF", "", 400, 21218, "ApplicationSid: is not valid UTF-8"},
		{"CreateStatusCallbackSnakeNotUTF8", "POST", calls, formBody(good...) + "&status_callback=%ff", "", 400, 20001, "StatusCallback: is not valid UTF-8"},
		{"CreateJSONToUpperObject", "POST", calls, `{"From": "+14155550100", "TO": {"a": 1}, "Url": "https://example.com"}`, "", 400, 21211, "To must be a string"},
		{"CreateJSONFromUpperNotUTF8", "POST", calls, "{\"FROM\": \"+1415\xff\", \"To\": \"+14155550101\", \"Url\": \"https://example.com\"}", "application/json", 400, 21212, "From: is not valid UTF-8"},
		{"UpdateJSONStatusUpperArray", "POST", calls + "/" + sid, `{"STATUS": ["completed"]}`, "", 400, 20001, "Status must be a string"},
		// One parameter spelt two ways with different values: which one
		// the client meant cannot be told.
		{"CreateToTwoSpellings", "POST", calls, with("to", "+14155550199"), "", 400, 21211, "To is given twice"},
		{"CreateJSONStatusCallbackTwoSpellings", "POST", calls, `{"From": "+14155550100", "To": "+14155550101", "Url": "https://example.com", "StatusCallback": "https://a.example.com", "status_callback": "https://b.example.com"}`, "", 400, 20001, "StatusCallback is given twice"},
		{"UpdateStatusTwoSpellings", "POST", calls + "/" + sid, formBody("Status", "canceled", "STATUS", "completed"), "", 400, 20001, "Status is given twice"},
		{"CreateEmptyTo", "POST", calls, formBody("From", "+14155550100", "To", "", "Url", "https://example.com"), "", 400, 21201, "To"},
		{"CreateJSONNullFrom", "POST", calls, `{"From": null, "To": "+14155550101", "Url": "https://example.com"}`, "", 400, 21213, "From"},
		{"CreateJSONMalformed", "POST", calls, `{"From": `, "", 400, 20001, ""},
		{"CreateJSONArray", "POST", calls, `[1]`, "application/json", 400, 20001, ""},
		{"CreateBadForm", "POST", calls, "From=%zz", "", 400, 20001, ""},
		{"CreateBadContentType", "POST", calls, with(), "text/xml", 415, 20001, "Content-Type"},
		{"CreateBadMediaType", "POST", calls, with(), "a/b/c;;", 400, 20001, "Content-Type"},
		{"UpdateBadStatus", "POST", calls + "/" + sid, formBody("Status", "in-progress"), "", 400, 20001, "Status"},
		{"UpdateUnknownStatus", "POST", calls + "/" + sid + ".json", formBody("Status", "hangup"), "", 400, 20001, "Status"},
		{"UpdateBadUrl", "POST", calls + "/" + sid, formBody("Url", "nope"), "", 400, 21205, "Url"},
		{"UpdateBadMethod", "POST", calls + "/" + sid, formBody("Method", "PATCH"), "", 400, 20001, "Method"},
		{"UpdateBadFallbackMethod", "POST", calls + "/" + sid, formBody("FallbackMethod", "x"), "", 400, 20001, "FallbackMethod"},
		{"UpdateUnknownSid", "POST", calls + "/" + uuid.NewString(), formBody("Status", "canceled"), "", 404, 20404, ""},
		{"UpdateBadSid", "POST", calls + "/CA123.json", formBody("Status", "canceled"), "", 404, 20404, ""},
		{"FetchUnknownSid", "GET", calls + "/" + uuid.NewString() + ".json", "", "", 404, 20404, ""},
		{"FetchBadSid", "GET", calls + "/not-a-sid", "", "", 404, 20404, ""},
		{"ListBadPageSize", "GET", calls + "?PageSize=0", "", "", 400, 20001, "PageSize"},
		{"ListHugePageSize", "GET", calls + "?PageSize=5000", "", "", 400, 20001, "PageSize"},
		{"ListBadPage", "GET", calls + "?Page=-1", "", "", 400, 20001, "Page"},
		{"ListPageWithoutToken", "GET", calls + "?Page=3", "", "", 400, 20001, "Page"},
		{"ListBadStatus", "GET", calls + "?Status=ended", "", "", 400, 20001, "Status"},
		// A filter given twice is refused, not read as its first value.
		{"ListStatusTwice", "GET", calls + "?Status=completed&Status=busy", "", "", 400, 20001, "Status: is given 2 times"},
		{"ListPageSizeTwice", "GET", calls + "?PageSize=2&PageSize=300", "", "", 400, 20001, "PageSize: is given 2 times"},
		{"ListPageTwice", "GET", calls + "?Page=0&Page=1", "", "", 400, 20001, "Page: is given 2 times"},
		{"ListToTwice", "GET", calls + "?To=%2B14155550002&To=%2B14155550003", "", "", 400, 21211, "To: is given 2 times"},
		// A filter given empty (a script's unset variable) is refused, not
		// read as left out: it listed every call (a bad-input probe).
		{"ListStatusEmpty", "GET", calls + "?Status=", "", "", 400, 20001, "Status is empty: give a value, or leave the filter out"},
		{"ListToEmpty", "GET", calls + "?To=&PageSize=5", "", "", 400, 21211, "To is empty"},
		{"ListFromEmpty", "GET", calls + "?From=", "", "", 400, 21212, "From is empty"},
		{"ListStartTimeAfterEmpty", "GET", calls + "?StartTime%3E=", "", "", 400, 20001, "StartTime> is empty"},
		{"ListEndTimeEmpty", "GET", calls + "?EndTime=", "", "", 400, 20001, "EndTime is empty"},
		{"ListParentCallSidEmpty", "GET", calls + "?ParentCallSid=", "", "", 400, 20001, "ParentCallSid is empty"},
		// A + not percent-encoded reads as a space: the number would match
		// no call, page after page (a scale probe).
		{"ListToWithPlusUnencoded", "GET", calls + "?To=+14155550002", "", "", 400, 21211, "send it as %2B (To=%2B14155550002)"},
		{"ListFromWithPlusUnencoded", "GET", calls + "?From=+14155550002&PageSize=5", "", "", 400, 21212, "From"},
		{"ListBadStartTime", "GET", calls + "?StartTime=yesterday", "", "", 400, 20001, "StartTime"},
		{"ListBadStartTimeLowercaseNoOffset", "GET", calls + "?StartTime=2025-01-02t12:00:00", "", "", 400, 20001, "StartTime"},
		{"ListBadStartTimeNoOffsetHour", "GET", calls + "?StartTime=2025-01-02T24:00:00", "", "", 400, 20001, "StartTime"},
		{"ListBadStartTimeNoOffsetShort", "GET", calls + "?StartTime=2025-01-02T12:00", "", "", 400, 20001, "StartTime"},
		// Without an offset, the same strict parser as with one: no comma
		// before the fraction, at most 9 digits of it.
		{"ListBadStartTimeNoOffsetComma", "GET", calls + "?" + url.Values{"StartTime<": {"2025-01-01T00:05:00,5"}}.Encode(), "", "", 400, 20001, "StartTime<"},
		{"ListBadStartTimeNoOffsetLongFraction", "GET", calls + "?" + url.Values{"StartTime<": {"2025-01-01T00:05:00.12345678912345"}}.Encode(), "", "", 400, 20001, "StartTime<"},
		{"ListBadEndTimeNoOffsetComma", "GET", calls + "?" + url.Values{"EndTime>": {"2025-01-01T00:05:00,5"}}.Encode(), "", "", 400, 20001, "EndTime>"},
		{"ListBadStartTimeBeforeLowercaseSeparator", "GET", calls + "?" + url.Values{"StartTime<": {"2025-01-02x12:00:00z"}}.Encode(), "", "", 400, 20001, "StartTime<"},
		{"ListBadStartTimeAfter", "GET", calls + "?" + url.Values{"StartTime>": {"2025-02-30"}}.Encode(), "", "", 400, 20001, "StartTime>"},
		{"ListBadPageToken", "GET", calls + "?Page=1&PageToken=%21%21garbage", "", "", 400, 20001, "PageToken"},
		{"ListBadParentCallSid", "GET", calls + "?ParentCallSid=CA123", "", "", 400, 20001, "ParentCallSid must be a call's sid, a UUID (8-4-4-4-12 hex digits)"},
		{"ListNilParentCallSid", "GET", calls + "?ParentCallSid=00000000-0000-0000-0000-000000000000", "", "", 400, 20001, "ParentCallSid is the nil UUID, which is no call's sid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.contentType != "" {
				headers = []string{"Content-Type", tc.contentType}
			}
			res := ts.lamlDo(t, tc.method, tc.path, acctA, tokenA, tc.body, headers...)
			body := assertLAMLError(t, res, tc.status, tc.code)
			if tc.field != "" {
				assert.Contains(t, body["message"], tc.field)
			}
		})
	}
	assert.Len(t, ts.events(t), n, "no bad request appended anything")
}

func TestLAMLParameterNamesInAnyCase(t *testing.T) {
	// Goal: every parameter the LaML surface reads is named by the one
	// table (lamlParamNames) as Twilio spells it, whatever the letter case
	// or underscores of the name the request used, which the decoders
	// accept; a name the surface does not read is left as sent.
	known := []string{"To", "From", "Status", "Url", "Method", "FallbackUrl", "FallbackMethod",
		"StatusCallback", "StatusCallbackMethod", "Twiml", "ApplicationSid",
		"StartTime", "StartTime<", "StartTime>", "EndTime", "EndTime<", "EndTime>", "ParentCallSid",
		"PageSize", "Page", "PageToken"}
	assert.Len(t, lamlParamNames, len(known), "the table holds these and no others")
	snake := regexp.MustCompile(`([a-z])([A-Z])`)
	for _, name := range known {
		t.Run(name, func(t *testing.T) {
			for _, spelt := range []string{name, strings.ToUpper(name), strings.ToLower(name), snake.ReplaceAllString(name, "${1}_${2}")} {
				assert.Equal(t, name, lamlParamName(spelt), spelt)
				assert.Equal(t, name, lamlField(spelt), spelt)
			}
		})
	}
	for domainField, name := range map[string]string{"to": "To", "from": "From", "status": "Status", "call_id": "Sid",
		"provider_id": "Sid", "cursor": "PageToken", "routing.status_callback": "StatusCallback"} {
		assert.Equal(t, name, lamlField(domainField), domainField)
	}
	assert.Equal(t, "SendDigits", lamlParamName("SendDigits"), "a parameter the surface does not read")
	assert.Equal(t, "x_y", lamlField("x_y"))
}

func TestLAMLParameterInTwoSpellingsWithOneValue(t *testing.T) {
	// Goal: a parameter spelt two ways with the same value, in a form or a
	// JSON body, is that parameter (only different values of a parameter
	// the surface reads are refused, see TestLAMLBadInputs).
	ts := newTestServer(t)
	calls := lamlCallsPath(lamlPrefix, acctA)
	for name, body := range map[string]string{
		"form": formBody("From", "+14155550100", "To", "+14155550101", "to", "+14155550101", "Url", "https://example.com/twiml"),
		"json": `{"From": "+14155550100", "To": "+14155550101", "TO": "+14155550101", "Url": "https://example.com/twiml", "url": "https://example.com/twiml"}`,
		// A parameter the surface does not read may differ: it is ignored.
		"ignored": formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/twiml", "SendDigits", "1", "send_digits", "2"),
	} {
		t.Run(name, func(t *testing.T) {
			res := ts.lamlDo(t, "POST", calls+".json", acctA, tokenA, body)
			require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
			assert.Equal(t, "+14155550101", res.JSON(t)["to"])
		})
	}
}

func TestLAMLJSONIgnoresObjectsAndArraysOfUnknownParameters(t *testing.T) {
	// Goal: a JSON body's parameters that the surface does not read are
	// ignored whatever their JSON type, as unknown fields are: a JSON
	// client sends Twilio's repeated StatusCallbackEvent as an array. A
	// parameter the surface reads still has to be text (TestLAMLBadInputs,
	// UpdateJSONStatusUpperArray).
	ts := newTestServer(t)
	calls := lamlCallsPath(lamlPrefix, acctA)
	body := `{"From": "+14155550100", "To": "+14155550101", "Url": "https://example.com/twiml",
		"StatusCallbackEvent": ["initiated", "completed"], "MachineDetectionConfig": {"a": [1, {"b": null}]}, "Extra": []}`
	res := ts.lamlDo(t, "POST", calls+".json", acctA, tokenA, body)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	created := res.JSON(t)
	assert.Equal(t, "+14155550101", created["to"])
	assert.Equal(t, "queued", created["status"])

	res = ts.lamlDo(t, "POST", calls+"/"+created["sid"].(string)+".json", acctA, tokenA, `{"Status": "canceled", "StatusCallbackEvent": ["completed"]}`)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	assert.Equal(t, "canceled", res.JSON(t)["status"])

	res = ts.lamlDo(t, "POST", calls+".json", acctA, tokenA, `{"From": "+14155550100", "To": ["+14155550101"], "Url": "https://example.com/twiml"}`)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	assert.Contains(t, res.JSON(t)["message"], "To must be a string, not a JSON object or array")
}

func TestLAMLIdempotentCreate(t *testing.T) {
	// Goal: a create retried with its Idempotency-Key answers the first
	// response and creates no second call.
	ts := newTestServer(t)
	body := formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/twiml")
	path := lamlCallsPath("", acctA) + ".json"
	first := ts.lamlDo(t, "POST", path, acctA, tokenA, body, "Idempotency-Key", "laml-1")
	require.Equal(t, http.StatusCreated, first.Status, "body: %s", first.Body)
	n := len(ts.events(t))
	second := ts.lamlDo(t, "POST", path, acctA, tokenA, body, "Idempotency-Key", "laml-1")
	assert.Equal(t, http.StatusCreated, second.Status)
	assert.Equal(t, string(first.Body), string(second.Body))
	assert.Len(t, ts.events(t), n)
}

func TestLAMLRenderQualityAndPrice(t *testing.T) {
	// Goal: the LaML view writes price and audio_in_mos from the decimals'
	// digits (never through a float), and the quality figures when known.
	mos := domain.MustParseDecimal("4.30")
	rtt, lost := int64(42), int64(3)
	parent := uuid.New()
	c := domain.Call{
		ID: uuid.New(), AccountID: acctA, Direction: domain.DirectionOutbound, Status: domain.StatusCompleted,
		From: "+442071838750", To: "sip:alice@example.com", ParentCallID: &parent,
		Price:   &domain.Price{Rate: domain.MustParseDecimal("0.01"), Total: domain.MustParseDecimal("123456789012345678.000000000001"), Currency: "EUR"},
		Quality: &domain.Quality{AudioInMOS: &mos, SIPResultCode: "200", AudioRTTAvgMs: &rtt, AudioOutLostPackets: &lost},
	}
	b, err := json.Marshal(renderLAMLCall(&c, httptest.NewRequest("GET", "/2010-04-01/Accounts/x/Calls", nil)))
	require.NoError(t, err)
	s := string(b)
	assert.Contains(t, s, `"duration":0,`)
	assert.Contains(t, s, `"price":123456789012345678.000000000001,`)
	assert.Contains(t, s, `"price_unit":"EUR"`)
	assert.Contains(t, s, `"audio_in_mos":4.30,`)
	assert.Contains(t, s, `"audio_rtt_avg":42,`)
	assert.Contains(t, s, `"audio_out_lost":3}`)
	assert.Contains(t, s, `"audio_rtt_min":null`)
	assert.Contains(t, s, `"sip_result_code":"200"`)
	assert.Contains(t, s, `"direction":"outbound-dial"`)
	assert.Contains(t, s, `"parent_call_sid":"`+parent.String()+`"`)
	assert.Contains(t, s, `"formatted_from":"+442071838750"`)
	assert.Contains(t, s, `"to_formatted":"sip:alice@example.com"`)
}

func FuzzLAMLRequest(f *testing.F) {
	// Goal: no body, content type or query makes the LaML routes (the
	// Calls list and a call's Recordings list among them) panic or answer 5xx.
	ts := newTestServer(f)
	sid := ts.createLAMLCall(f, "+14155550100", "+14155550101")
	f.Add(formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/twiml"), "application/x-www-form-urlencoded", uint8(0), "")
	f.Add(`{"From": "+14155550100", "To": "client:bob", "Url": "https://example.com", "Method": "get"}`, "application/json", uint8(0), "")
	f.Add(formBody("Status", "canceled", "Url", "https://example.com/x"), "", uint8(1), "")
	f.Add(`{"Status": 1, "Url": true, "x": null}`, "application/json; charset=utf-8", uint8(1), "")
	f.Add("", "", uint8(2), "PageSize=2&Status=queued&StartTime%3E=2025-01-01&StartTime%3C=2025-01-01T00:00:00%2B02:00")
	f.Add("", "", uint8(2), "Page=1&PageToken=abc")
	f.Add("", "", uint8(2), "PageSize=1&EndTime%3C=2025-01-01T00:00:00.5Z&ParentCallSid="+sid)
	f.Add("", "", uint8(3), "PageSize=1&Page=3")
	f.Fuzz(func(t *testing.T, body, contentType string, route uint8, query string) {
		contentType = strings.Map(func(r rune) rune {
			if r < 0x20 || r > 0x7e {
				return -1
			}
			return r
		}, contentType)
		if p, err := decodeLAMLForm([]byte(body)); err == nil {
			_, _ = decodeLAMLCreate(p)
		}
		if p, err := decodeLAMLJSON([]byte(body)); err == nil {
			_, _, _ = decodeLAMLUpdate(p, uuid.New(), acctA, time.Now())
		}
		if q, err := url.ParseQuery(query); err == nil {
			_, _ = decodeLAMLList(q, acctA)
		}
		method, path := "POST", lamlCallsPath(lamlPrefix, acctA)
		switch route % 4 {
		case 1:
			path += "/" + sid
		case 2:
			method, path = "GET", path+".json?"+url.PathEscape(query)
		case 3:
			method, path = "GET", path+"/"+sid+"/Recordings.json?"+url.PathEscape(query)
		}
		var headers []string
		if contentType != "" {
			headers = []string{"Content-Type", contentType}
		}
		res := ts.lamlDo(t, method, path, acctA, tokenA, body, headers...)
		if res.Status >= 500 {
			t.Fatalf("%s %s answered %d: %s", method, path, res.Status, res.Body)
		}
	})
}

func TestLAMLNotFoundSaysWhat(t *testing.T) {
	// Goal: a LaML 404 gives Twilio's words and then what was not found:
	// the call, the revision it does not have yet, the CallSid filter's
	// call; another account's call reads as one that does not exist.
	ts := newTestServer(t)
	sid := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	unknown := uuid.NewString()
	calls, recordings := lamlCallsPath("", acctA), lamlAccountPath("", acctA)+"/Recordings.json"
	for _, tc := range []struct {
		name, path, want string
	}{
		{"UnknownCall", calls + "/" + unknown + ".json", "no call with id " + unknown},
		{"RevisionNotYetWritten", calls + "/" + sid + ".json?revision=99", "call " + sid + " has no revision 99 (its last is 1)"},
		{"CallSidFilterOfUnknownCall", recordings + "?CallSid=" + unknown, "CallSid: no call with sid " + unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.path)
			require.NoError(t, err)
			body := assertLAMLError(t, ts.lamlDo(t, "GET", tc.path, acctA, tokenA, ""), 404, 20404)
			assert.Equal(t, "The requested resource "+u.Path+" was not found: "+tc.want, body["message"])
		})
	}
}

func TestLAMLIfMatch(t *testing.T) {
	// Goal: a LaML update honours If-Match: a stale ETag is a 412 in
	// Twilio's body and writes nothing.
	ts := newTestServer(t)
	sid := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	path := lamlCallsPath("", acctA) + "/" + sid
	etag := ts.lamlDo(t, "GET", path, acctA, tokenA, "").Header.Get("ETag")
	require.NotEmpty(t, etag)
	n := len(ts.events(t))
	assertLAMLError(t, ts.lamlDo(t, "POST", path, acctA, tokenA, formBody("Status", "canceled"), "If-Match", `"999"`), 412, 20001)
	assert.Len(t, ts.events(t), n)
	res := ts.lamlDo(t, "POST", path, acctA, tokenA, formBody("Status", "canceled"), "If-Match", etag)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Equal(t, "canceled", res.JSON(t)["status"])
}

func TestLAMLQueuedCallShowsNoStartTime(t *testing.T) {
	// Goal: LaML shows a queued call with start_time null, as Twilio shows
	// a call not dialed yet, though the ledger keeps the start the call
	// was given (or the time it recorded it); the StartTime filters leave
	// such a call out (with Status=queued the page is empty, a bad
	// PageToken still a 400), the other filters list it, and once it rings
	// it shows its start and the StartTime filters find it.
	ts := newTestServer(t)
	upsert := func(status string) string {
		res := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("queued-then-ringing", status))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		return res.JSON(t)["id"].(string)
	}
	queued := upsert("queued") // start_at 2025-03-01T10:00:00Z
	started := ts.createVoiceCall(t, tokenA, "src-started", map[string]any{"startedAt": "2025-03-01T11:00:00Z", "status": "INCOMING_CALL"})

	got := ts.lamlGet(t, queued)
	require.Equal(t, "queued", got["status"])
	assert.Nil(t, got["start_time"])
	assert.Equal(t, "2025-03-01T10:00:00.000Z", ts.do(t, "GET", "/v1/calls/"+queued, tokenA, "").JSON(t)["startedAt"],
		"the ledger keeps the start; only LaML leaves it out")

	ts.runLAMLListCases(t, []lamlListCase{
		{"NoFilter", url.Values{}, []string{started, queued}},
		{"StatusQueued", url.Values{"Status": {"queued"}}, []string{queued}},
		{"StartTimeDay", url.Values{"StartTime": {"2025-03-01"}}, []string{started}},
		{"StartTimeAfter", url.Values{"StartTime>": {"2025-01-01"}}, []string{started}},
		{"StartTimeBefore", url.Values{"StartTime<": {"2025-12-31"}}, []string{started}},
		{"StatusQueuedAndStartTime", url.Values{"Status": {"queued"}, "StartTime<": {"2025-12-31"}}, nil},
		{"StatusRingingAndStartTime", url.Values{"Status": {"ringing"}, "StartTime": {"2025-03-01"}}, []string{started}},
	})
	bad := ts.lamlDo(t, "GET", lamlCallsPath("", acctA)+".json?Status=queued&StartTime=2025-03-01&Page=1&PageToken=nonsense", acctA, tokenA, "")
	assertLAMLError(t, bad, http.StatusBadRequest, 20001)

	require.Equal(t, queued, upsert("ringing"))
	assert.Equal(t, "Sat, 01 Mar 2025 10:00:00 +0000", ts.lamlGet(t, queued)["start_time"])
	assert.Equal(t, []string{started, queued}, ts.lamlListSIDs(t, url.Values{"StartTime": {"2025-03-01"}}))
}

func TestLAMLNumbersForTwilioGo(t *testing.T) {
	// Goal: twilio-go, whose Call model reads duration and price as Go
	// strings (as Twilio sends them) and refuses JSON numbers, reads every
	// call answer (create, fetch, update, list): for its User-Agent they
	// are the same digits quoted; every other client gets the seed's
	// numbers; the answers say they vary by User-Agent. (An API-client
	// probe's twilio-go v1.23.0 failed on every call read.)
	ts := newTestServer(t)
	id := ts.createVoiceCall(t, tokenA, "src-twilio-go", map[string]any{"duration": 125, "totalPrice": "1.50", "priceRate": "0.0135", "status": "ANSWERED_BY_STAFF"})
	calls := lamlCallsPath("", acctA)
	const goUA = "twilio-go/1.23.0 (linux amd64) go/go1.26.0"
	// twilioGoCall is the part of twilio-go's ApiV2010Call whose types
	// differ from the seed's.
	type twilioGoCall struct {
		Sid      *string `json:"sid,omitempty"`
		Duration *string `json:"duration,omitempty"`
		Price    *string `json:"price,omitempty"`
	}
	decodeAsTwilioGo := func(t *testing.T, body []byte, into any) {
		t.Helper()
		require.NoError(t, json.Unmarshal(body, into), "%s", body)
	}
	res := ts.lamlDo(t, "GET", calls+"/"+id+".json", acctA, tokenA, "", "User-Agent", goUA)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Contains(t, res.Header.Values("Vary"), "User-Agent")
	var one twilioGoCall
	decodeAsTwilioGo(t, res.Body, &one)
	require.NotNil(t, one.Duration)
	require.NotNil(t, one.Price)
	assert.Equal(t, "125", *one.Duration)
	assert.Equal(t, "1.50", *one.Price)

	var page struct {
		Calls []twilioGoCall `json:"calls"`
	}
	res = ts.lamlDo(t, "GET", calls+".json", acctA, tokenA, "", "User-Agent", goUA)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	decodeAsTwilioGo(t, res.Body, &page)
	require.NotEmpty(t, page.Calls)

	res = ts.lamlDo(t, "POST", calls+".json", acctA, tokenA, formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/twiml"), "User-Agent", goUA)
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	var created twilioGoCall
	decodeAsTwilioGo(t, res.Body, &created)
	assert.Equal(t, "0", *created.Duration)
	assert.Nil(t, created.Price, "unpriced: null")

	res = ts.lamlDo(t, "POST", calls+"/"+*created.Sid+".json", acctA, tokenA, formBody("Status", "canceled"), "User-Agent", goUA)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	decodeAsTwilioGo(t, res.Body, &created)

	// Any other client: the seed's numbers.
	const nodeUA = "twilio-node/5.3.0 (linux x64) node/v20"
	res = ts.lamlDo(t, "GET", calls+"/"+id+".json", acctA, tokenA, "", "User-Agent", nodeUA)
	require.Equal(t, http.StatusOK, res.Status)
	assert.Contains(t, string(res.Body), `"duration":125,`)
	assert.Contains(t, string(res.Body), `"price":1.50,`)

	// A keyed request's replay is written for the client that retries,
	// whoever made it first (a verification probe: twilio-go was replayed
	// another client's numbers), and is otherwise the first answer.
	for _, order := range [][2]string{{nodeUA, goUA}, {goUA, nodeUA}} {
		key := "k-" + order[0][:9]
		body := formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/"+key)
		first := ts.lamlDo(t, "POST", calls+".json", acctA, tokenA, body, "User-Agent", order[0], "Idempotency-Key", key)
		require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)
		again := ts.lamlDo(t, "POST", calls+".json", acctA, tokenA, body, "User-Agent", order[1], "Idempotency-Key", key)
		require.Equal(t, http.StatusCreated, again.Status, "%s", again.Body)
		assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		if order[1] == goUA {
			assert.Contains(t, string(again.Body), `"duration":"0"`)
			decodeAsTwilioGo(t, again.Body, &created)
		} else {
			assert.Contains(t, string(again.Body), `"duration":0,`)
		}
		same := ts.lamlDo(t, "POST", calls+".json", acctA, tokenA, body, "User-Agent", order[0], "Idempotency-Key", key)
		assert.Equal(t, string(first.Body), string(same.Body), "the first client's retry: its answer byte for byte")
	}
}

func TestLAMLRenumbered(t *testing.T) {
	// Goal: a recorded LaML answer's duration and price are quoted or
	// bare as asked, in a call or a page of calls, and nothing else moves:
	// nulls, price_unit, text that spells a member inside a string.
	call := `{"sid":"x","to":"\"duration\":5","duration":125,"price":-1.50,"price_unit":"USD","audio_in_mos":4.30}`
	quoted := `{"sid":"x","to":"\"duration\":5","duration":"125","price":"-1.50","price_unit":"USD","audio_in_mos":4.30}`
	assert.Equal(t, quoted, string(lamlRenumbered([]byte(call), true)))
	assert.Equal(t, call, string(lamlRenumbered([]byte(quoted), false)))
	assert.Equal(t, call, string(lamlRenumbered([]byte(call), false)), "bare stays bare")
	page := `{"calls":[{"duration":0,"price":null},{"duration":7,"price":0.0135}],"page":0}`
	assert.Equal(t, `{"calls":[{"duration":"0","price":null},{"duration":"7","price":"0.0135"}],"page":0}`, string(lamlRenumbered([]byte(page), true)))
	recs := `{"recordings":[{"duration":null,"price":null}]}`
	assert.Equal(t, recs, string(lamlRenumbered([]byte(recs), true)))
}
