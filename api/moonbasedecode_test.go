package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastOutcome is what decodeMoonbaseParamsFast should do with a body.
type fastOutcome bool

const (
	fastAccepts  fastOutcome = true
	fastDeclines fastOutcome = false
)

// fastDecodeCase is one body of the differential test and what the fast
// decoder should do with it.
type fastDecodeCase struct {
	name string
	body string
	want fastOutcome
}

// withMember returns the minimal upsert body with member (`"key": value`)
// added first, so that it comes before the fields it may repeat.
func withMember(member string) string {
	return strings.Replace(moonbaseBody("p1", "completed"), "{", "{"+member+",", 1)
}

// withValue returns the seed's body with value as an unknown field's, as
// provider_metadata's and as a cue's "from" (values the fast decoder
// validates without decoding them).
func withValue(value string) []string {
	return []string{
		withMember(`"x":` + value),
		strings.Replace(seedUpsert, `"provider_metadata": {`, `"provider_metadata": `+value+`, "y": {`, 1),
		strings.Replace(seedUpsert, `"from": 0`, `"from": `+value, 1),
	}
}

// fastDecodeCases are the bodies of the differential test: the seed and
// the minimal body, what clients vary in them, and every case where the
// decoder could differ from encoding/json. variants are more generated
// from them (the seed cut short, values in their second and third place),
// which the fuzz target does not need as seeds: fewer seeds leave more of
// CI's 10 s to fuzzing.
func fastDecodeCases() (cases, variants []fastDecodeCase) {
	cases = []fastDecodeCase{
		{"seed", seedUpsert, fastAccepts},
		{"minimal", moonbaseBody("p1", "completed"), fastAccepts},
		{"compact seed", compactString(seedUpsert), fastAccepts},
		{"CRLF and tabs", strings.ReplaceAll(strings.ReplaceAll(seedUpsert, "\n", "\r\n"), "  ", "\t"), fastAccepts},
		{"whitespace around", " \t\r\n" + seedUpsert + "\n\n \t", fastAccepts},
		{"empty object", `{}`, fastAccepts},
		{"empty object with space", "{ \n}", fastAccepts},
		{"empty recordings", withMember(`"recordings":[]`), fastAccepts},
		{"empty participants", strings.Replace(moonbaseBody("p1", "completed"), `"participants":[`, `"participants":[],"x":[`, 1), fastAccepts},
		{"participants null", strings.Replace(moonbaseBody("p1", "completed"), `"participants":[`, `"participants":null,"x":[`, 1), fastAccepts},
		{"string fields null", `{"direction":null,"start_at":null,"provider":null,"provider_id":null,"provider_status":null,"answered_at":null,"end_at":null}`, fastAccepts},
		{"provider_metadata null", withMember(`"provider_metadata":null`), fastAccepts},
		{"provider_metadata array", withMember(`"provider_metadata":[1, "a", {"b": null}]`), fastAccepts},
		{"provider_metadata string", withMember(`"provider_metadata":"x\"y"`), fastAccepts},
		{"provider_metadata spaced", withMember(`"provider_metadata" :  { "a" : [ ] , "b" : { } }  `), fastAccepts},
		{"recordings null", withMember(`"recordings":null`), fastAccepts},
		{"recordings two", withMember(`"recordings":[{"url":"u1"},{"content_type":"c","provider_id":"p","url":"u2","size":12}]`), fastAccepts},
		{"recording empty object", withMember(`"recordings":[{}]`), fastAccepts},
		{"transcript null", withMember(`"transcript":null`), fastAccepts},
		{"transcript empty", withMember(`"transcript":{}`), fastAccepts},
		{"transcript no cues", withMember(`"transcript":{"cues":[]}`), fastAccepts},
		{"transcript cues null", withMember(`"transcript":{"cues":null,"lang":"en"}`), fastAccepts},
		{"cue offsets as strings and null", withMember(`"transcript":{"cues":[{"from":"1.50","to":null,"speaker":"a","text":""},{"from":-0.5e3,"to":1E+2}]}`), fastAccepts},
		{"empty strings", withMember(`"answered_at":"","end_at":""`), fastAccepts},
		{"escapes", withMember(`"end_at":"a\"b\\c\/d\b\f\n\r\t\u00e9\u2028\ud83d\ude00\u0000\uFFFD\u00E9z"`), fastAccepts},
		{"escapes only", withMember(`"end_at":"\n"`), fastAccepts},
		{"escaped participant", withMember(`"recordings":[{"url":"http:\/\/x\/r.mp3"}]`), fastAccepts},
		{"unicode values", withMember(`"end_at":"日本 é ❤ 😀 ` + "\uFFFD" + `"`), fastAccepts},
		{"unknown ASCII keys", withMember(`"Some_Future_Field":1,"PHONE":2,"url":3,"phone":4,"cues":5,"":6,"a b":7,"x":8,"x":9`), fastAccepts},
		{"unknown key like a nested field", withMember(`"recordings":[{"phone":"+1","role":"x","cues":[]}]`), fastAccepts},
		{"unknown key longer than any field", withMember(`"provider_metadata_of_the_provider_that_sent_it":1`), fastAccepts},
		{"unknown nested values", withMember(`"x":{"a":[1,[2,[3,{"b":{"c":[]}}]]],"d":"\u0041\\","e":[true,false,null]}`), fastAccepts},
		{"unknown values of escapes", withMember(`"x":["\"","\\","\/","\b","\f","\n","\r","\t","\u12aB","\uD800\uDC00"]`), fastAccepts},
		{"nested 64 deep", withMember(`"x":` + strings.Repeat("[", 63) + strings.Repeat("]", 63)), fastAccepts},
		{"many participants", strings.Replace(moonbaseBody("p1", "completed"), `"participants":[`, `"participants":[`+strings.Repeat(`{"phone":"+14155550001","role":"caller"},`, 40), 1), fastAccepts},
		{"many strings", withMember(`"recordings":[` + repeatJoin(`{"content_type":"a","provider_id":"b","url":"c"}`, 100) + `]`), fastAccepts},
		{"many cues", withMember(`"transcript":{"cues":[` + repeatJoin(`{"from":1,"to":2,"speaker":"s","text":"t\n"}`, 30) + `]}`), fastAccepts},

		{"empty body", ``, fastDeclines},
		{"whitespace body", " \n\t", fastDeclines},
		{"null body", `null`, fastDeclines},
		{"array body", `[]`, fastDeclines},
		{"string body", `"x"`, fastDeclines},
		{"number body", `1`, fastDeclines},
		{"byte order mark", "\uFEFF" + seedUpsert, fastDeclines},
		{"vertical tab before", "\v" + seedUpsert, fastDeclines},
		{"no-break space after", seedUpsert + "\u00a0", fastDeclines},
		{"trailing object", seedUpsert + `{}`, fastDeclines},
		{"trailing letter", `{}x`, fastDeclines},
		{"trailing comma", `{},`, fastDeclines},
		{"trailing NUL", "{}\x00", fastDeclines},
		{"unterminated", `{"direction":"incoming"`, fastDeclines},
		{"unterminated string", `{"direction":"incoming`, fastDeclines},
		{"comma before close", `{"direction":"incoming",}`, fastDeclines},
		{"comma first", `{,"direction":"incoming"}`, fastDeclines},
		{"missing colon", `{"direction" "incoming"}`, fastDeclines},
		{"missing comma", `{"direction":"incoming" "provider":"p"}`, fastDeclines},
		{"unquoted key", `{direction:"incoming"}`, fastDeclines},
		{"single quotes", `{'direction':'incoming'}`, fastDeclines},
		{"array comma before close", withMember(`"x":[1,]`), fastDeclines},
		{"array missing comma", withMember(`"x":[1 2]`), fastDeclines},
		{"array unterminated", `{"x":[1,2`, fastDeclines},
		{"comment", `{/* c */}`, fastDeclines},
		{"uppercase key", withMember(`"Provider":"x"`), fastDeclines},
		{"all-caps key", withMember(`"PROVIDER_ID":"x"`), fastDeclines},
		{"mixed-case nested key", withMember(`"recordings":[{"URL":"u"}]`), fastDeclines},
		{"long s key", withMember(`"ſtart_at":"2025-03-01T10:00:00Z"`), fastDeclines},
		{"Kelvin sign key", withMember(`"transcript":{"cues":[{"spea` + "\u212a" + `er":"s"}]}`), fastDeclines},
		{"non-ASCII unknown key", withMember(`"日本":1`), fastDeclines},
		{"escaped key", withMember(`"provider\u005fid":"x"`), fastDeclines},
		{"escaped unknown key", withMember(`"\u0078":1`), fastDeclines},
		{"key without underscore", withMember(`"providerid":"x"`), fastDeclines},
		{"key with dash", withMember(`"provider-id":"x"`), fastDeclines},
		{"duplicate string", withMember(`"provider":"x"`), fastDeclines},
		{"duplicate null then string", withMember(`"start_at":null`), fastDeclines},
		{"duplicate participants", withMember(`"participants":[]`), fastDeclines},
		{"duplicate metadata", withMember(`"provider_metadata":{},"provider_metadata":{"a":1}`), fastDeclines},
		{"duplicate transcript", withMember(`"transcript":{},"transcript":null`), fastDeclines},
		{"duplicate nested key", withMember(`"recordings":[{"url":"a","url":"b"}]`), fastDeclines},
		{"duplicate cues", withMember(`"transcript":{"cues":[],"cues":[]}`), fastDeclines},
		{"number for a string", withMember(`"end_at":1`), fastDeclines},
		{"bool for a string", withMember(`"end_at":true`), fastDeclines},
		{"object for a string", withMember(`"end_at":{}`), fastDeclines},
		{"array for a string", withMember(`"end_at":["x"]`), fastDeclines},
		{"object for a list", withMember(`"recordings":{}`), fastDeclines},
		{"string for a list", withMember(`"recordings":"x"`), fastDeclines},
		{"number in a list", withMember(`"recordings":[1]`), fastDeclines},
		{"null in a list", withMember(`"recordings":[null]`), fastDeclines},
		{"list in a list", withMember(`"recordings":[[]]`), fastDeclines},
		{"array for the transcript", withMember(`"transcript":[]`), fastDeclines},
		{"string for the transcript", withMember(`"transcript":"x"`), fastDeclines},
		{"object for cues", withMember(`"transcript":{"cues":{}}`), fastDeclines},
		{"invalid UTF-8 in a field", withMember("\"end_at\":\"a\xffb\""), fastDeclines},
		{"truncated UTF-8 in a field", withMember("\"end_at\":\"\xe6\x97\""), fastDeclines},
		{"UTF-8 surrogate in a field", withMember("\"end_at\":\"\xed\xa0\x80\""), fastDeclines},
		{"invalid UTF-8 in metadata", withMember("\"provider_metadata\":{\"k\":\"\xdd\"}"), fastDeclines},
		{"invalid UTF-8 in a key", withMember("\"\xff\":1"), fastDeclines},
		{"lone high surrogate", withMember(`"end_at":"\ud800"`), fastDeclines},
		{"lone low surrogate", withMember(`"end_at":"\udc00"`), fastDeclines},
		{"high surrogate then letter", withMember(`"end_at":"\ud800\u0041"`), fastDeclines},
		{"two high surrogates", withMember(`"end_at":"\ud800\ud800"`), fastDeclines},
		{"high surrogate then text", withMember(`"end_at":"\ud800x"`), fastDeclines},
		{"lone surrogate unknown", withMember(`"x":"\udfff"`), fastDeclines},
		{"bad escape", withMember(`"end_at":"\x41"`), fastDeclines},
		{"single quote escape", withMember(`"end_at":"\'"`), fastDeclines},
		{"short unicode escape", withMember(`"end_at":"\u12"`), fastDeclines},
		{"bad hex escape", withMember(`"end_at":"\u12G4"`), fastDeclines},
		{"backslash at end", `{"x":"\`, fastDeclines},
		{"control character in a key", "{\"\x15\":{}}", fastDeclines},
		{"unit separator in a string", withMember("\"end_at\":\"a\x1fb\""), fastDeclines},
		{"tab in a string", withMember("\"end_at\":\"a\tb\""), fastDeclines},
		{"newline in an unknown string", withMember("\"x\":\"a\nb\""), fastDeclines},
		{"DEL is fine but NUL is not", withMember("\"x\":\"\x7f\x00\""), fastDeclines},
		{"nested 65 deep", withMember(`"x":` + strings.Repeat("[", 64) + strings.Repeat("]", 64)), fastDeclines},
		{"nested 65 deep objects", withMember(`"x":` + strings.Repeat(`{"a":`, 64) + "1" + strings.Repeat("}", 64)), fastDeclines},
		{"nested past encoding/json's limit", withMember(`"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001)), fastDeclines},
	}
	for _, v := range []string{"0", "-0", "1", "-1", "10", "1.5", "-1.5e10", "1E+2", "1e-2", "0.0", "0e0", "-0.0E-0",
		"123456789012345678901234567890", "1e999", "true", "false", "null", `""`, `"x"`, "[]", "{}", `[{}, [], ""]`, ` 7 `} {
		bodies := withValue(v)
		cases = append(cases, fastDecodeCase{fmt.Sprintf("value %s", v), bodies[0], fastAccepts})
		for i, body := range bodies[1:] {
			variants = append(variants, fastDecodeCase{fmt.Sprintf("value %s (%d)", v, i+1), body, fastAccepts})
		}
	}
	for _, v := range []string{"01", "-01", "00", "-", "--1", "1.", ".5", "+1", "1e", "1e+", "1.e5", "0x10", "NaN", "Infinity",
		"1_000", "1,", "tru", "nul", "True", "nulll", "falsey", "[", "]", "{", "}", `{"a"}`, `{"a":}`, `{1:2}`, "", `"`, "'a'"} {
		bodies := withValue(v)
		cases = append(cases, fastDecodeCase{fmt.Sprintf("bad value %q", v), bodies[0], fastDeclines})
		for i, body := range bodies[1:] {
			variants = append(variants, fastDecodeCase{fmt.Sprintf("bad value %q (%d)", v, i+1), body, fastDeclines})
		}
	}
	for n := range len(seedUpsert) {
		variants = append(variants, fastDecodeCase{fmt.Sprintf("seed cut at %d", n), seedUpsert[:n], fastDeclines})
	}
	return cases, variants
}

// repeatJoin returns n copies of s separated by commas.
func repeatJoin(s string, n int) string {
	return strings.TrimSuffix(strings.Repeat(s+",", n), ",")
}

// compactString is json.Compact of s.
func compactString(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.String()
}

// checkFastDecode holds the fast decoder to its promise on body: it
// declines and leaves the params alone, or json.Unmarshal (and DecodeJSON)
// succeeds on body with exactly what it decoded. It reports which.
func checkFastDecode(t testing.TB, body []byte) (accepted bool) {
	t.Helper()
	var fast moonbaseCallParams
	if !decodeMoonbaseParamsFast(body, &fast) {
		require.Equal(t, moonbaseCallParams{}, fast, "a declined body leaves the params alone, for DecodeJSON")
		return false
	}
	var want moonbaseCallParams
	require.NoError(t, json.Unmarshal(body, &want), "the fast decoder accepted a body json.Unmarshal refuses")
	require.Equal(t, want, fast, "the fast decoder decoded otherwise than json.Unmarshal")
	var viaDecodeJSON moonbaseCallParams
	require.NoError(t, DecodeJSON(body, &viaDecodeJSON))
	require.Equal(t, want, viaDecodeJSON)
	return true
}

func TestDecodeMoonbaseParamsFastIsJSONUnmarshal(t *testing.T) {
	// Goal: the fast decoder decodes the seed, the minimal body and what
	// clients vary in them exactly as json.Unmarshal does, and declines
	// every body where it could differ (left to DecodeJSON).
	cases, variants := fastDecodeCases()
	for _, tc := range append(cases, variants...) {
		t.Run(tc.name, func(t *testing.T) {
			accepted := checkFastDecode(t, []byte(tc.body))
			assert.Equal(t, tc.want, fastOutcome(accepted), "accepted")
		})
	}
}

func TestDecodeMoonbaseParamsFastKeepsWhatDecodeMoonbaseCallChecks(t *testing.T) {
	// Goal: the cases DecodeMoonbaseCall tells apart come out of the fast
	// decoder as encoding/json makes them (checked against it above, and
	// spelled out here): [] is an empty list, not a missing one; null
	// metadata is the bytes null; an empty transcript is there.
	var p moonbaseCallParams
	require.True(t, decodeMoonbaseParamsFast([]byte(`{"participants":[],"provider_metadata":null,"transcript":{},"recordings":null}`), &p))
	assert.NotNil(t, p.Participants)
	assert.Empty(t, p.Participants)
	assert.Equal(t, json.RawMessage("null"), p.ProviderMetadata)
	require.NotNil(t, p.Transcript)
	assert.Nil(t, p.Transcript.Cues)
	assert.Nil(t, p.Recordings)
	assert.Nil(t, p.Direction)
}

func TestMoonbaseDecodeKeysAreTheJSONTags(t *testing.T) {
	// Goal: the keys the fast decoder compares unknown keys with are the
	// fields' json names, so that a field added later to a params struct
	// makes the fast decoder decline bodies with it (until it decodes
	// it) rather than skip it.
	for _, tc := range []struct {
		typ  reflect.Type
		keys string
	}{
		{reflect.TypeFor[moonbaseCallParams](), moonbaseCallKeys},
		{reflect.TypeFor[moonbaseParticipantParams](), moonbaseParticipantKeys},
		{reflect.TypeFor[moonbaseRecordingParams](), moonbaseRecordingKeys},
		{reflect.TypeFor[moonbaseTranscriptParams](), moonbaseTranscriptKeys},
		{reflect.TypeFor[moonbaseCueParams](), moonbaseCueKeys},
	} {
		t.Run(tc.typ.Name(), func(t *testing.T) {
			var names []string
			for f := range tc.typ.Fields() {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				require.NotEmpty(t, name, "field %s has a json name", f.Name)
				names = append(names, strings.ReplaceAll(name, "_", ""))
				assert.True(t, keyMayMatch([]byte(strings.ToUpper(name)), tc.keys))
			}
			assert.Equal(t, strings.Join(names, " "), tc.keys)
		})
	}
}

func TestKeyMayMatch(t *testing.T) {
	// Goal: a key is skipped as unknown only when no case-insensitive
	// matching could make it a field's.
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"phone", true}, {"PHONE", true}, {"Role", true}, {"p_h-o_n_e", true},
		{"phon", false}, {"phones", false}, {"x", false}, {"", false},
		{"ph\u00f6ne", true}, {"\u212a", true},
		{strings.Repeat("a", 24), false}, {strings.Repeat("a", 25), false},
		{strings.Repeat("a", 25) + "\u212a", false},
		{strings.Repeat("_", 40) + "role", true},
	} {
		t.Run(tc.key, func(t *testing.T) {
			assert.Equal(t, tc.want, keyMayMatch([]byte(tc.key), moonbaseParticipantKeys))
		})
	}
}

// FuzzMoonbaseFastDecode holds the fast decoder to its promise (see
// checkFastDecode) on arbitrary bodies, from the differential test's; and
// on the input as a value and as a string's contents in the minimal body,
// which the decoder accepts much more often than a mutated body, so that
// its value skipper and its strings meet arbitrary bytes too.
func FuzzMoonbaseFastDecode(f *testing.F) {
	cases, _ := fastDecodeCases()
	for _, tc := range cases {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkFastDecode(t, in)
		checkFastDecode(t, []byte(withMember(`"x":`+string(in))))
		checkFastDecode(t, []byte(withMember(`"end_at":"`+string(in)+`"`)))
	})
}

// BenchmarkDecodeMoonbase compares the decoding of the seed's upsert body
// by encoding/json (DecodeJSON, which DecodeMoonbaseCall ran before) and by
// the fast decoder:
//
//	go test ./api/ -run '^$' -bench '^BenchmarkDecodeMoonbase$' -benchtime 1s
func BenchmarkDecodeMoonbase(b *testing.B) {
	body := []byte(seedUpsert)
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p moonbaseCallParams
			if err := DecodeJSON(body, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p moonbaseCallParams
			if !decodeMoonbaseParamsFast(body, &p) {
				b.Fatal("declined the seed")
			}
		}
	})
}
