package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newHistoryCall creates an outbound call through Moonbase and returns its id.
func newHistoryCall(t *testing.T, ts *testServer, pid string) string {
	t.Helper()
	return ts.upsertID(t, moonbaseBody(pid, "completed"))
}

func TestCallHistoryGetPatch(t *testing.T) {
	// Goal: a call logged elsewhere reads in the seed's camelCase shape, and
	// PATCH sets its facts, each recorded as an event.
	ts := newTestServer(t)
	id := newHistoryCall(t, ts, "h1")
	res := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status)
	got := res.JSON(t)
	assert.Equal(t, id, got["id"])
	assert.Equal(t, "DIRECT_CALL", got["callType"])
	assert.Equal(t, "completed", got["status"])
	assert.Equal(t, "outbound", got["type"])
	assert.Equal(t, "2025-03-01T10:00:00.000Z", got["startedAt"])
	assert.Equal(t, map[string]any{"value": "+14155550002"}, got["phoneNumber"], "outbound: the other party is the callee")
	assert.Equal(t, map[string]any{"value": "+14155550001"}, got["callerPhoneNumber"])
	assert.Nil(t, got["deletedAt"])
	assert.Nil(t, got["notes"])
	for _, k := range []string{"createdAt", "updatedAt", "contact", "caller", "transferred", "endedAt"} {
		assert.Contains(t, got, k)
	}

	patch := `{"notes":"Call notes here","contact":{"id":"c-1","firstName":"John","lastName":"Doe","isUnknown":false},
"caller":{"firstName":"Alice","lastName":"Martin"},"transferred":true,"sequenceRunId":"sr","sequenceId":"sq",
"syncedWithCrmDate":"2024-03-20T10:15:00+01:00","organizationId":"org","organizationMembershipId":"om",
"phoneNumberId":"pn","managedPhoneNumberId":"mpn","userProviderSid":"CA1","adminProviderSid":"CA2",
"providerConferenceId":"CF1","callType":"CALL_SESSION","status":"ignored-read-only","unknownField":1}`
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, patch)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	got = res.JSON(t)
	assert.Equal(t, "Call notes here", got["notes"])
	assert.Equal(t, map[string]any{"id": "c-1", "firstName": "John", "lastName": "Doe", "isUnknown": false}, got["contact"])
	assert.Equal(t, map[string]any{"firstName": "Alice", "lastName": "Martin"}, got["caller"])
	assert.Equal(t, true, got["transferred"])
	assert.Equal(t, "2024-03-20T09:15:00.000Z", got["syncedWithCrmDate"])
	assert.Equal(t, "CALL_SESSION", got["callType"])
	assert.Equal(t, "completed", got["status"])
	for k, v := range map[string]string{"sequenceRunId": "sr", "sequenceId": "sq", "organizationId": "org",
		"organizationMembershipId": "om", "phoneNumberId": "pn", "managedPhoneNumberId": "mpn",
		"userProviderSid": "CA1", "adminProviderSid": "CA2", "providerConferenceId": "CF1"} {
		assert.Equal(t, v, got[k], k)
	}
	assert.Contains(t, ts.eventTypes(t, id), "CallDetailsChanged")
	read := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "")
	assert.Equal(t, compactJSON(t, res.Body), compactJSON(t, read.Body), "read after write")

	// null clears a text field.
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":null}`)
	require.Equal(t, http.StatusOK, res.Status)
	assert.Nil(t, res.JSON(t)["notes"])
}

func TestCallHistoryPatchMergesObjects(t *testing.T) {
	// Goal: PATCH is a JSON merge patch (RFC 7396) down into contact and
	// caller: members present are set (null clears one), members absent are
	// kept, the object null clears it whole; a patch that changes nothing
	// appends nothing. isUnknown is kept when absent, except that naming a
	// contact that had no id and no name makes it known, as in seed 001.
	const full = `{"contact":{"id":"c1","firstName":"A","lastName":"B","isUnknown":false},"caller":{"firstName":"Alice","lastName":"Martin"}}`
	fullContact := map[string]any{"id": "c1", "firstName": "A", "lastName": "B", "isUnknown": false}
	fullCaller := map[string]any{"firstName": "Alice", "lastName": "Martin"}
	noContact := map[string]any{"id": nil, "firstName": nil, "lastName": nil, "isUnknown": true}
	noCaller := map[string]any{"firstName": nil, "lastName": nil}
	ts := newTestServer(t)
	for _, tc := range []struct {
		name          string
		given, patch  string // given is "" for a call with no contact or caller
		contact       map[string]any
		caller        map[string]any
		appendsEvents bool
	}{
		{"OneMemberKeepsTheOthers", full, `{"contact":{"lastName":"C"}}`,
			map[string]any{"id": "c1", "firstName": "A", "lastName": "C", "isUnknown": false}, fullCaller, true},
		{"NullMemberClearsOnlyIt", full, `{"contact":{"firstName":null}}`,
			map[string]any{"id": "c1", "firstName": nil, "lastName": "B", "isUnknown": false}, fullCaller, true},
		{"EmptyObjectChangesNothing", full, `{"contact":{},"caller":{}}`, fullContact, fullCaller, false},
		{"SameValuesChangeNothing", full, `{"contact":{"id":"c1","isUnknown":false},"caller":{"lastName":"Martin"}}`, fullContact, fullCaller, false},
		{"NullClearsTheContact", full, `{"contact":null}`, noContact, fullCaller, true},
		{"IsUnknownSetAlone", full, `{"contact":{"isUnknown":true}}`,
			map[string]any{"id": "c1", "firstName": "A", "lastName": "B", "isUnknown": true}, fullCaller, true},
		{"IsUnknownKeptWhenANameChanges", `{"contact":{"firstName":"Caller ID","isUnknown":true}}`, `{"contact":{"firstName":"Name"}}`,
			map[string]any{"id": nil, "firstName": "Name", "lastName": nil, "isUnknown": true}, noCaller, true},
		{"NamingANewContactMakesItKnown", "", `{"contact":{"id":"c2"}}`,
			map[string]any{"id": "c2", "firstName": nil, "lastName": nil, "isUnknown": false}, noCaller, true},
		{"NamingAClearedContactMakesItKnown", `{"contact":null}`, `{"contact":{"lastName":"Doe"}}`,
			map[string]any{"id": nil, "firstName": nil, "lastName": "Doe", "isUnknown": false}, noCaller, true},
		{"ANewContactSaidUnknown", "", `{"contact":{"firstName":"Caller ID","isUnknown":true}}`,
			map[string]any{"id": nil, "firstName": "Caller ID", "lastName": nil, "isUnknown": true}, noCaller, true},
		{"EmptyObjectOnNoContact", "", `{"contact":{},"caller":{}}`, noContact, noCaller, false},
		{"NullOnNoContact", "", `{"contact":null,"caller":null}`, noContact, noCaller, false},
		{"CallerOneName", full, `{"caller":{"lastName":"Doe"}}`, fullContact, map[string]any{"firstName": "Alice", "lastName": "Doe"}, true},
		{"CallerNullName", full, `{"caller":{"firstName":null}}`, fullContact, map[string]any{"firstName": nil, "lastName": "Martin"}, true},
		{"CallerNull", full, `{"caller":null}`, fullContact, noCaller, true},
		{"OtherFieldsKeepBoth", full, `{"notes":"x"}`, fullContact, fullCaller, true},
		// A key given twice with different values is a 400
		// (TestJSONFieldNamesAreExact); with the same value, one value.
		{"RepeatedSameObject", full, `{"contact":{"lastName":"C"},"contact":{"lastName":"C"}}`,
			map[string]any{"id": "c1", "firstName": "A", "lastName": "C", "isUnknown": false}, fullCaller, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newHistoryCall(t, ts, "merge-"+tc.name)
			if tc.given != "" {
				res := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, tc.given)
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			}
			n := len(ts.eventTypes(t, id))
			res := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, tc.patch)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			got := res.JSON(t)
			assert.Equal(t, tc.contact, got["contact"])
			assert.Equal(t, tc.caller, got["caller"])
			if tc.appendsEvents {
				assert.Greater(t, len(ts.eventTypes(t, id)), n)
			} else {
				assert.Len(t, ts.eventTypes(t, id), n, "a patch that changes nothing appends nothing")
			}
			read := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "")
			assert.Equal(t, compactJSON(t, res.Body), compactJSON(t, read.Body), "read after write")
		})
	}
}

func TestCallHistoryPatchOfWhatWasReadAppendsNothing(t *testing.T) {
	// Goal: a client that sends back what GET read, or a callType or
	// transferred that GET already shows (the defaults DIRECT_CALL and
	// false of a call that never had one included), appends nothing and
	// keeps the ETag, so that another client holding it gets no 412; a
	// value GET does not show is still recorded.
	ts := newTestServer(t)
	for _, tc := range []struct {
		name, given string // given is "" for a call patched never before
		patch       func(read []byte) string
		appends     bool
	}{
		{"DefaultTransferred", "", func([]byte) string { return `{"transferred":false}` }, false},
		{"DefaultCallType", "", func([]byte) string { return `{"callType":"DIRECT_CALL"}` }, false},
		{"TheWholeEntryRead", "", func(read []byte) string { return string(read) }, false},
		{"TheWholeEntryReadAfterAPatch", `{"notes":"n","transferred":true,"callType":"CALL_SESSION","contact":{"id":"c"}}`,
			func(read []byte) string { return string(read) }, false},
		{"SetValuesAgain", `{"transferred":true,"callType":"CALL_SESSION"}`,
			func([]byte) string { return `{"transferred":true,"callType":"CALL_SESSION"}` }, false},
		{"TransferredSet", "", func([]byte) string { return `{"transferred":true}` }, true},
		{"CallTypeSet", "", func([]byte) string { return `{"callType":"CALL_SESSION"}` }, true},
		{"TransferredSetBack", `{"transferred":true}`, func([]byte) string { return `{"transferred":false}` }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newHistoryCall(t, ts, "read-back-"+tc.name)
			if tc.given != "" {
				res := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, tc.given)
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			}
			read := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "")
			require.Equal(t, http.StatusOK, read.Status, string(read.Body))
			n := len(ts.eventTypes(t, id))

			res := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, tc.patch(read.Body), "If-Match", read.Header.Get("ETag"))
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			if tc.appends {
				assert.Len(t, ts.eventTypes(t, id), n+1)
				assert.NotEqual(t, read.Header.Get("ETag"), res.Header.Get("ETag"))
				return
			}
			assert.Len(t, ts.eventTypes(t, id), n, "a patch that changes nothing appends nothing")
			assert.Equal(t, read.Header.Get("ETag"), res.Header.Get("ETag"))
			assert.Equal(t, compactJSON(t, read.Body), compactJSON(t, res.Body))
		})
	}
}

func TestCallHistoryPatchClearsSyncDate(t *testing.T) {
	// Goal: syncedWithCrmDate null clears the date, as a merge patch's null
	// does (seed 001 has it optional: null for a call never synced),
	// through a CallDetailsChanged that records the clearing; the date
	// stays in the call's history; clearing a date the call does not have
	// appends nothing.
	ts := newTestServer(t)
	id := newHistoryCall(t, ts, "crm-clear")
	res := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"syncedWithCrmDate":"2024-03-20T09:15:00Z"}`)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	syncedRevision := res.Header.Get("ETag")

	n := len(ts.events(t))
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"syncedWithCrmDate":null,"notes":"unsynced"}`)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	got := res.JSON(t)
	assert.Contains(t, got, "syncedWithCrmDate")
	assert.Nil(t, got["syncedWithCrmDate"])
	assert.Equal(t, "unsynced", got["notes"])
	events := ts.events(t)
	require.Len(t, events, n+1)
	last := events[len(events)-1]
	assert.Equal(t, "CallDetailsChanged", last.Type)
	assert.JSONEq(t, `{"changes":{"notes":"unsynced","synced_with_crm_at_cleared":true}}`, string(last.Data))
	read := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "")
	assert.Equal(t, compactJSON(t, res.Body), compactJSON(t, read.Body), "read after write")

	// The date stays in the history.
	rev := strings.Trim(syncedRevision, `"`)
	past := ts.do(t, "GET", "/v1/calls/"+id+"?revision="+rev, tokenA, "")
	require.Equal(t, http.StatusOK, past.Status, string(past.Body))
	assert.Equal(t, "2024-03-20T09:15:00.000Z", past.JSON(t)["syncedWithCrmDate"])

	// Clearing again, or on a call never synced, changes nothing.
	never := newHistoryCall(t, ts, "crm-never")
	for _, call := range []string{id, never} {
		n := len(ts.events(t))
		res := ts.do(t, "PATCH", "/v1/calls/"+call, tokenA, `{"syncedWithCrmDate":null}`)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		assert.Nil(t, res.JSON(t)["syncedWithCrmDate"])
		assert.Len(t, ts.events(t), n, "a patch that changes nothing appends nothing")
	}

	// A date set again after the clearing reads back.
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"syncedWithCrmDate":"2024-03-21T08:00:00Z"}`)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	assert.Equal(t, "2024-03-21T08:00:00.000Z", res.JSON(t)["syncedWithCrmDate"])
}

func TestCallHistoryIfMatch(t *testing.T) {
	// Goal: ETag is the stream revision; If-Match with a stale one is a 412
	// that writes nothing; with the current one the write goes through.
	ts := newTestServer(t)
	id := newHistoryCall(t, ts, "im")
	etag := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "").Header.Get("ETag")
	require.NotEmpty(t, etag)

	res := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"one"}`, "If-Match", etag)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	next := res.Header.Get("ETag")
	assert.NotEqual(t, etag, next)
	n := len(ts.events(t))

	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"two"}`, "If-Match", etag)
	assert.Equal(t, http.StatusPreconditionFailed, res.Status)
	assert.Contains(t, string(res.Body), "If-Match")
	res = ts.do(t, "DELETE", "/v1/calls/"+id, tokenA, "", "If-Match", etag)
	assert.Equal(t, http.StatusPreconditionFailed, res.Status)
	assert.Equal(t, http.StatusBadRequest, ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"x"}`, "If-Match", "garbage").Status)
	// If-Match compares strongly (RFC 9110 section 13.1.1): a weak tag of
	// the current revision never matches; beside a strong one it is ignored.
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"weak"}`, "If-Match", "W/"+next)
	assert.Equal(t, http.StatusPreconditionFailed, res.Status, string(res.Body))
	assert.Contains(t, string(res.Body), "weak")
	assert.Len(t, ts.events(t), n)
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"weak and strong"}`, "If-Match", "W/"+next+", "+next)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	next = res.Header.Get("ETag")
	n = len(ts.events(t))

	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"two"}`, "If-Match", next)
	assert.Equal(t, http.StatusOK, res.Status)
}

func TestCallHistoryDelete(t *testing.T) {
	// Goal: DELETE soft-deletes: the call stays readable here with
	// deletedAt, is a 404 on Moonbase and gone from its list, and every
	// further write is a 409.
	ts := newTestServer(t)
	id := newHistoryCall(t, ts, "del")
	res := ts.do(t, "DELETE", "/v1/calls/"+id, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	assert.NotNil(t, res.JSON(t)["deletedAt"])

	got := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "")
	require.Equal(t, http.StatusOK, got.Status)
	assert.NotNil(t, got.JSON(t)["deletedAt"])
	assert.Equal(t, "completed", got.JSON(t)["status"], "history is kept")

	assert.Equal(t, http.StatusNotFound, ts.do(t, "GET", "/calls/"+id, tokenA, "").Status)
	assert.Empty(t, ts.do(t, "GET", "/calls", tokenA, "").JSON(t)["data"])
	n := len(ts.events(t))
	assert.Equal(t, http.StatusConflict, ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("del", "completed")).Status)
	assert.Equal(t, http.StatusConflict, ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"x"}`).Status)
	assert.Equal(t, http.StatusConflict, ts.do(t, "DELETE", "/v1/calls/"+id, tokenA, "").Status)
	assert.Len(t, ts.events(t), n)
}

func TestWritesToADeletedCallNameWhatWasSent(t *testing.T) {
	// Goal: a write to a deleted call is a 409 naming what the request
	// sent to find the call, never a call_id it did not send: Moonbase's
	// writes and VoiceCall's POST find the call by the provider id of
	// their body (Moonbase's pointer /provider_id, VoiceCall's sourceId),
	// call history's and VoiceCall's PUT by the path's {id} (field "id"),
	// LaML's update by the path's {Sid}.
	ts := newTestServer(t)
	moonbase := newHistoryCall(t, ts, "del-named")
	voiceCall := ts.createVoiceCall(t, tokenA, "vonage-del-named", nil)
	laml := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	for _, id := range []string{moonbase, voiceCall, laml} {
		res := ts.do(t, "DELETE", "/v1/calls/"+id, tokenA, "")
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	}
	n := len(ts.events(t))

	for _, tc := range []struct {
		name, method, path, body string
		style                    errorStyle
		field                    string // as the surface spells it
	}{
		{"MoonbaseUpsert", "POST", "/calls/upsert", moonbaseBody("del-named", "completed"), styleMoonbase, "provider_id"},
		{"MoonbaseCreate", "POST", "/calls", moonbaseBody("del-named", "completed"), styleMoonbase, "provider_id"},
		{"CallHistoryPatch", "PATCH", "/v1/calls/" + moonbase, `{"notes":"x"}`, styleCallHistory, "id"},
		{"CallHistoryDelete", "DELETE", "/v1/calls/" + moonbase, "", styleCallHistory, "id"},
		{"VoiceCallPost", "POST", "/v1/voice-calls", voiceCallBody(t, "vonage-del-named", nil), styleVoiceCall, "sourceId"},
		{"VoiceCallPut", "PUT", "/v1/voice-calls/" + voiceCall, voiceCallBody(t, "vonage-del-named", nil), styleVoiceCall, "id"},
		{"LaMLUpdate", "POST", lamlCallsPath(lamlPrefix, acctA) + "/" + laml + ".json", formBody("Url", "https://example.com/next"), styleLaML, "Sid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.doInStyle(t, tc.style, tc.method, tc.path, tc.body)
			assertErrorStyle(t, res, tc.style, http.StatusConflict, lamlCodeConflict)
			body := res.JSON(t)
			var message any
			switch tc.style {
			case styleMoonbase:
				e := body["errors"].([]any)[0].(map[string]any)
				assert.Equal(t, map[string]any{"pointer": "/" + tc.field}, e["source"])
				message = e["detail"]
			case styleLaML:
				message = body["message"]
			default:
				assert.Equal(t, tc.field, body["field"])
				message = body["message"]
			}
			assert.Regexp(t, "^"+tc.field+": ", message)
			assert.NotContains(t, message, "call_id")
		})
	}
	assert.Len(t, ts.events(t), n, "no write to a deleted call appended anything")
}

func TestCallHistoryBadInputs(t *testing.T) {
	// Goal: bad PATCH bodies and bad ids are 4xx naming the field in the
	// call-history style, and append nothing.
	ts := newTestServer(t)
	id := newHistoryCall(t, ts, "bad")
	n := len(ts.events(t))
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"Empty", "PATCH", "/v1/calls/" + id, "", 400, ""},
		{"NotJSON", "PATCH", "/v1/calls/" + id, "{", 400, ""},
		{"NotObject", "PATCH", "/v1/calls/" + id, `"notes"`, 400, ""},
		{"NotUTF8", "PATCH", "/v1/calls/" + id, "{\"notes\":\"caf\xe9\"}", 400, ""},
		{"NotesType", "PATCH", "/v1/calls/" + id, `{"notes":5}`, 400, "notes"},
		{"TransferredType", "PATCH", "/v1/calls/" + id, `{"transferred":"yes"}`, 400, "transferred"},
		{"TransferredNull", "PATCH", "/v1/calls/" + id, `{"transferred":null}`, 422, "transferred"},
		{"ContactType", "PATCH", "/v1/calls/" + id, `{"contact":"John"}`, 400, "contact"},
		{"ContactFieldType", "PATCH", "/v1/calls/" + id, `{"contact":{"firstName":1}}`, 400, "contact.firstName"},
		{"ContactIsUnknownNull", "PATCH", "/v1/calls/" + id, `{"contact":{"isUnknown":null}}`, 422, "contact.isUnknown"},
		{"ContactIsUnknownType", "PATCH", "/v1/calls/" + id, `{"contact":{"isUnknown":"no"}}`, 400, "contact.isUnknown"},
		{"CallerType", "PATCH", "/v1/calls/" + id, `{"caller":[]}`, 400, "caller"},
		{"CallerFieldType", "PATCH", "/v1/calls/" + id, `{"caller":{"lastName":5}}`, 400, "caller.lastName"},
		{"CallTypeEnum", "PATCH", "/v1/calls/" + id, `{"callType":"CONFERENCE"}`, 422, "callType"},
		{"CallTypeNull", "PATCH", "/v1/calls/" + id, `{"callType":null}`, 422, "callType"},
		{"CrmDate", "PATCH", "/v1/calls/" + id, `{"syncedWithCrmDate":"03/20/2024"}`, 422, "syncedWithCrmDate"},
		{"CrmDateLowercaseNoOffset", "PATCH", "/v1/calls/" + id, `{"syncedWithCrmDate":"2024-03-20t10:15:00"}`, 422, "syncedWithCrmDate"},
		{"CrmDateLowercaseBadZone", "PATCH", "/v1/calls/" + id, `{"syncedWithCrmDate":"2024-03-20t10:15:00y"}`, 422, "syncedWithCrmDate"},
		{"BadID", "PATCH", "/v1/calls/not-a-uuid", `{"notes":"x"}`, 404, ""},
		{"UnknownID", "PATCH", "/v1/calls/7f1d3c47-6b3b-4e8e-9b7e-6a1c2f8e9d10", `{"notes":"x"}`, 404, ""},
		{"UnknownIDDelete", "DELETE", "/v1/calls/7f1d3c47-6b3b-4e8e-9b7e-6a1c2f8e9d10", "", 404, ""},
		{"BadIDGet", "GET", "/v1/calls/%20", "", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, tc.method, tc.path, tokenA, tc.body)
			assert.Equal(t, tc.status, res.Status, string(res.Body))
			body := res.JSON(t)
			assert.EqualValues(t, tc.status, body["statusCode"])
			if tc.field != "" {
				assert.Equal(t, tc.field, body["field"], string(res.Body))
				assert.Contains(t, body["message"], tc.field)
			}
		})
	}
	assert.Len(t, ts.events(t), n)
}

func TestCallHistoryNullOfAFlagOrEnumSaysNull(t *testing.T) {
	// Goal: null for a member that cannot be cleared (an enum, a flag) is
	// a 422 whose message says null is what was refused, not just the
	// values it takes.
	ts := newTestServer(t)
	id := newHistoryCall(t, ts, "nulls")
	for _, tc := range []struct{ body, field, want string }{
		{`{"callType":null}`, "callType", "callType: must be one of CALL_SESSION, DIRECT_CALL, not null (leave it out to keep it)"},
		{`{"transferred":null}`, "transferred", "transferred: must be true or false, not null"},
		{`{"contact":{"isUnknown":null}}`, "contact.isUnknown", "contact.isUnknown: must be true or false, not null"},
	} {
		res := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, tc.body)
		require.Equal(t, http.StatusUnprocessableEntity, res.Status, "%s", res.Body)
		body := res.JSON(t)
		assert.Equal(t, tc.field, body["field"])
		assert.Equal(t, tc.want, body["message"])
	}
}

// FuzzCallHistoryPatch sends arbitrary bodies to PATCH /v1/calls/{id}
// through the whole handler: never a panic, never a 5xx.
func FuzzCallHistoryPatch(f *testing.F) {
	f.Add([]byte(`{"notes":"x","contact":{"firstName":"a"},"transferred":true}`))
	f.Add([]byte(`{"syncedWithCrmDate":"2024-03-20T09:15:00Z","callType":"DIRECT_CALL"}`))
	f.Add([]byte(`{"contact":null,"caller":null,"notes":null}`))
	f.Add([]byte(`[]`))
	ts := newTestServer(f)
	res := ts.do(f, "POST", "/calls/upsert", tokenA, moonbaseBody("fuzz", "ringing"))
	require.Equal(f, http.StatusOK, res.Status)
	id := res.JSON(f)["id"].(string)
	h := ts.api.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("PATCH", "/v1/calls/"+id, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+tokenA)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}
