package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONFieldNamesAreExact(t *testing.T) {
	// Goal: on the JSON surfaces a body's keys name fields exactly, as the
	// vendors' APIs read them: a key that is a field's name in another
	// case, and a field given twice with different values, are 400s naming
	// the key, with nothing written, where encoding/json set the field from
	// them, the last winning (a VoiceCall billed "TOTALPRICE" over
	// "totalPrice"; "PROVIDER_ID" beside "provider_id" wrote another
	// call). A field repeated with the same value, a key with escapes
	// that spell a field, and unknown keys are read as before.
	ts := newTestServer(t)
	call := ts.upsertID(t, moonbaseBody("names-1", "completed"))
	voiceCall := ts.createVoiceCall(t, tokenA, "names-vc", nil)
	moonbaseWith := func(extra string) string {
		return strings.Replace(moonbaseBody("names-2", "completed"), `{`, `{`+extra+`,`, 1)
	}
	voiceCallWith := func(extra string) string {
		return strings.Replace(voiceCallBody(t, "names-vc", nil), `{`, `{`+extra+`,`, 1)
	}
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		says                     string // in the error; "" for a success
	}{
		{"VoiceCallPriceInCapitals", "PUT", "/v1/voice-calls/" + voiceCall, voiceCallWith(`"TOTALPRICE":"999.00"`),
			http.StatusBadRequest, `TOTALPRICE: is not a field: field names are case-sensitive (did you mean \"totalPrice\"?)`},
		{"VoiceCallCreateInOtherCase", "POST", "/v1/voice-calls", strings.Replace(voiceCallBody(t, "names-vc-2", nil), `"sourceId"`, `"SourceId"`, 1),
			http.StatusBadRequest, `SourceId: is not a field`},
		{"VoiceCallPriceTwice", "PUT", "/v1/voice-calls/" + voiceCall, voiceCallWith(`"totalPrice":"999.00"`),
			http.StatusBadRequest, `totalPrice: is given twice, with different values`},
		{"VoiceCallPriceTwiceAlike", "PUT", "/v1/voice-calls/" + voiceCall, voiceCallWith(`"totalPrice" : "1.50" `),
			http.StatusOK, ""},
		{"VoiceCallDurationTwiceSpeltTwoWays", "PUT", "/v1/voice-calls/" + voiceCall, voiceCallWith(`"duration":1.2e2`),
			http.StatusOK, ""},
		{"VoiceCallDurationTwiceOneApart", "PUT", "/v1/voice-calls/" + voiceCall, strings.Replace(voiceCallWith(`"duration":9007199254740993`), `"duration":120`, `"duration":9007199254740992`, 1),
			http.StatusBadRequest, `duration: is given twice, with different values`},
		{"HistoryContactTwiceInAnotherOrder", "PATCH", "/v1/calls/" + call, `{"caller":{"firstName":"A","lastName":"B"},"caller":{"lastName":"B","firstName":"\u0041"}}`,
			http.StatusOK, ""},
		{"VoiceCallEscapedKey", "PUT", "/v1/voice-calls/" + voiceCall, strings.Replace(voiceCallBody(t, "names-vc", nil), `"summary"`, `"\u0073ummary"`, 1),
			http.StatusOK, ""},
		{"VoiceCallUnknownKey", "PUT", "/v1/voice-calls/" + voiceCall, voiceCallWith(`"totalprices":"999.00"`),
			http.StatusOK, ""},
		{"MoonbaseProviderIDInCapitals", "POST", "/calls/upsert", moonbaseWith(`"PROVIDER_ID":"names-3"`),
			http.StatusBadRequest, `"detail":"PROVIDER_ID: is not a field: field names are case-sensitive (did you mean \"provider_id\"?)","source":{"pointer":"/PROVIDER_ID"}`},
		{"MoonbaseParticipantField", "POST", "/calls/upsert", strings.Replace(moonbaseBody("names-2", "completed"), `"role"`, `"Role"`, 1),
			http.StatusBadRequest, `"source":{"pointer":"/participants/0/Role"}`},
		{"MoonbaseProviderIDTwice", "POST", "/calls/upsert", moonbaseWith(`"provider_id":"names-3"`),
			http.StatusBadRequest, `provider_id: is given twice, with different values`},
		{"HistoryNotesInCapitals", "PATCH", "/v1/calls/" + call, `{"notes":"a","NOTES":"b"}`,
			http.StatusBadRequest, `NOTES: is not a field`},
		{"HistoryContactTwice", "PATCH", "/v1/calls/" + call, `{"contact":null,"contact":{"firstName":"Jane"}}`,
			http.StatusBadRequest, `contact: is given twice, with different values`},
		{"HistoryContactMemberTwice", "PATCH", "/v1/calls/" + call, `{"caller":{"firstName":null,"firstName":"Eve"}}`,
			http.StatusBadRequest, `caller.firstName: is given twice, with different values`},
		{"HistoryContactMemberInOtherCase", "PATCH", "/v1/calls/" + call, `{"contact":{"FirstName":"Eve"}}`,
			http.StatusBadRequest, `contact.FirstName: is not a field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(ts.events(t))
			res := ts.do(t, tc.method, tc.path, tokenA, tc.body)
			require.Equal(t, tc.status, res.Status, "%s", res.Body)
			if tc.says == "" {
				return
			}
			assert.Contains(t, string(res.Body), tc.says)
			assert.Len(t, ts.events(t), before, "nothing written")
		})
	}
	got := ts.voiceCallGet(t, voiceCall)
	assert.Equal(t, "1.50", got["totalPrice"])
	assert.Equal(t, "Client called to ask about their account balance", got["summary"])
}
