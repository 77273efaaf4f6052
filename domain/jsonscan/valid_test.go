package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain/jsonscan"
)

// seedMetadata is the provider metadata of the seed's upsert, the shape
// Valid and CompactValid are mostly asked about.
const seedMetadata = `{"answered_by":"UShjUatqtF","user_id":"UShjUatqtF","phone_number_id":"PN72zMikBJ","conversation_id":"CN3b48bcc423e772aeba377414a4fa6a06"}`

// seedMetadataPretty is seedMetadata as the seed's body writes it, indented.
const seedMetadataPretty = `{
    "answered_by": "UShjUatqtF",
    "user_id": "UShjUatqtF",
    "phone_number_id": "PN72zMikBJ",
    "conversation_id": "CN3b48bcc423e772aeba377414a4fa6a06"
  }`

// validCase is a text with what Valid and CompactValid say of it.
type validCase struct {
	text           string
	valid, compact bool
}

// validCases returns the table of TestValidAndCompactValid, which also
// seeds FuzzCompactValid.
func validCases() []validCase {
	return []validCase{
		{seedMetadata, true, true},
		{`{}`, true, true}, {`[]`, true, true}, {`0`, true, true}, {`-1.5e+3`, true, true}, {`true`, true, true},
		{`null`, true, true}, {`""`, true, true}, {`"a b  c"`, true, true}, {`"日本"`, true, true},
		{`{"a":1}`, true, true}, {`{"a b":"x y\tz\u00e9\ud83d\ude00"}`, true, true},
		{`{"a":[1,2,{"b":null}],"c":{"d":[]},"e":false}`, true, true}, {`{"a":1,"a":2}`, true, true},
		{`{"\b0000":""}`, true, true}, {`{"a\"b":{"\u00e9":[]}}`, true, true}, {`{"a\n" : 1}`, true, false},
		{strings.Repeat("[", 64) + strings.Repeat("]", 64), true, true},

		// Insignificant whitespace, wherever JSON allows it.
		{` {}`, true, false}, {`{} `, true, false}, {"\n{}", true, false}, {"{}\r\n", true, false},
		{`{ }`, true, false}, {`[ ]`, true, false}, {`{ "a":1}`, true, false}, {`{"a" :1}`, true, false},
		{`{"a": 1}`, true, false}, {"{\"a\":\t1}", true, false}, {`{"a":1 }`, true, false},
		{`{"a":1 ,"b":2}`, true, false}, {`{"a":1, "b":2}`, true, false}, {`[1 ,2]`, true, false},
		{`[1, 2]`, true, false}, {`[ 1]`, true, false}, {`[1 ]`, true, false}, {`[true ]`, true, false},
		{`{"a":"x" }`, true, false}, {`{"a":{} }`, true, false}, {`1 `, true, false},
		{"{ \"a\\\\\" :\t\"b \\\" c \" ,\r\n \"d\" : [ 1 , \"\\\\\\\\ \" , null ] }", true, false},
		{seedMetadataPretty, true, false},

		// Not JSON.
		{``, false, false}, {` `, false, false}, {`{`, false, false}, {`{"a":1,}`, false, false}, {`[1,]`, false, false},
		{`01`, false, false}, {`{} {}`, false, false}, {`{}x`, false, false}, {`{"a"}`, false, false},
		{"\v{}", false, false}, {"{}\f", false, false}, {"{\"a\":\"\n\"}", false, false}, {`{'a':1}`, false, false},

		// Valid JSON the Scanner declines.
		{"\"\xff\"", false, false}, {`"\ud800"`, false, false}, {`{"a":"\udc00"}`, false, false},
		{strings.Repeat("[", 65) + strings.Repeat("]", 65), false, false},
	}
}

func TestValidAndCompactValid(t *testing.T) {
	// Goal: Valid accepts exactly one JSON value with JSON whitespace around
	// it, CompactValid the same without any insignificant whitespace, and
	// both decline only what the Scanner declines.
	for _, tc := range validCases() {
		t.Run(tc.text, func(t *testing.T) {
			b := []byte(tc.text)
			assert.Equal(t, tc.valid, jsonscan.Valid(b), "Valid")
			assert.Equal(t, tc.compact, jsonscan.CompactValid(b), "CompactValid")
			checkAgainstEncodingJSON(t, b)
		})
	}
}

// TestCompactValidatedSkipsStrings checks CompactValidated against
// json.Compact on generated JSON whose strings hold runs of backslashes
// before quotes (escaped or closing the string), spaces and brackets, with
// whitespace between the tokens: the strings it skips to their closing
// quote, and the whitespace runs it drops at once.
func TestCompactValidatedSkipsStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 6))
	pieces := []string{`a`, ` `, `\\`, `\"`, `\\\"`, `\\\\`, `{`, `]`, `,`, `:`, `\u00e9`, `é`, `\n`}
	str := func() string {
		var b strings.Builder
		b.WriteByte('"')
		for range r.IntN(6) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		b.WriteByte('"')
		return b.String()
	}
	ws := func() string { return []string{"", "", " ", "\n  ", "\t", "\r\n", "  "}[r.IntN(7)] }
	var value func(depth int) string
	value = func(depth int) string {
		switch k := r.IntN(5); {
		case depth > 3 || k == 0:
			return []string{str(), "1", "-2.5e3", "true", "null"}[r.IntN(5)]
		case k <= 2:
			var b strings.Builder
			b.WriteString("{" + ws())
			for i := range r.IntN(4) {
				if i > 0 {
					b.WriteString(ws() + "," + ws())
				}
				b.WriteString(str() + ws() + ":" + ws() + value(depth+1))
			}
			b.WriteString(ws() + "}")
			return b.String()
		default:
			var b strings.Builder
			b.WriteString("[" + ws())
			for i := range r.IntN(4) {
				if i > 0 {
					b.WriteString(ws() + "," + ws())
				}
				b.WriteString(value(depth + 1))
			}
			b.WriteString(ws() + "]")
			return b.String()
		}
	}
	for range 5000 {
		in := []byte(ws() + value(0) + ws())
		require.True(t, json.Valid(in), "the generator wrote invalid JSON: %q", in)
		checkAgainstEncodingJSON(t, in)
	}
}

// FuzzCompactValid holds Valid and CompactValid to json.Valid and
// json.Compact (see checkAgainstEncodingJSON) on arbitrary bytes, and on
// them as a member's value and as a string's contents, where more of them
// are JSON.
func FuzzCompactValid(f *testing.F) {
	for _, tc := range validCases() {
		f.Add([]byte(tc.text))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkAgainstEncodingJSON(t, in)
		checkAgainstEncodingJSON(t, []byte(`{"a":`+string(in)+`}`))
		checkAgainstEncodingJSON(t, []byte(`["`+string(in)+`"]`))
	})
}

// checkAgainstEncodingJSON checks Valid, CompactValid and CompactValidated
// on b against encoding/json: what Valid accepts json.Valid accepts,
// CompactValidated compacts whatever json.Valid accepts as
// json.Compact (returning b itself when that is b), and what
// CompactValid accepts json.Compact leaves unchanged; and where they say
// false but encoding/json would agree, b holds what the Scanner declines.
func checkAgainstEncodingJSON(t testing.TB, b []byte) {
	valid := json.Valid(b)
	var compacted bytes.Buffer
	compact := json.Compact(&compacted, b) == nil && bytes.Equal(compacted.Bytes(), b)
	gotValid, gotCompact := jsonscan.Valid(b), jsonscan.CompactValid(b)
	if gotValid {
		require.True(t, valid, "Valid accepted what json.Valid refuses: %q", b)
	} else if valid {
		require.True(t, mayDecline(b), "Valid declined valid JSON: %q", b)
	}
	if valid {
		got := jsonscan.CompactValidated(b)
		require.Equal(t, compacted.String(), string(got), "CompactValidated differs from json.Compact on %q", b)
		if compact && len(b) > 0 {
			require.Same(t, &b[0], &got[0], "CompactValidated copied compact %q", b)
		}
	}
	if gotCompact {
		require.True(t, gotValid, "CompactValid accepted what Valid refuses: %q", b)
		require.True(t, compact, "CompactValid accepted what json.Compact changes: %q", b)
	} else if valid && compact {
		require.True(t, mayDecline(b), "CompactValid declined compact JSON: %q", b)
	}
}

// mayDecline reports whether b holds something the Scanner may decline
// although it is valid JSON: invalid UTF-8, a surrogate escape, or more
// than MaxDepth brackets (nested or not). It may excuse too much (a pair
// of surrogates, which the Scanner accepts; text after an escaped
// backslash that looks like an escape), never too little.
func mayDecline(b []byte) bool {
	if !utf8.Valid(b) || bytes.Count(b, []byte("["))+bytes.Count(b, []byte("{")) > jsonscan.MaxDepth {
		return true
	}
	for i := range len(b) - 3 {
		if b[i] == '\\' && b[i+1] == 'u' && (b[i+2] == 'd' || b[i+2] == 'D') && strings.IndexByte("89abcdefABCDEF", b[i+3]) >= 0 {
			return true
		}
	}
	return false
}

// BenchmarkCompactValidated compacts the seed's indented provider metadata,
// beside json.Compact, which compactJSON used before.
func BenchmarkCompactValidated(b *testing.B) {
	in := []byte(seedMetadataPretty)
	b.Run("jsonscan", func(b *testing.B) {
		for b.Loop() {
			if len(jsonscan.CompactValidated(in)) == len(in) {
				b.Fatal("not compacted")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var out bytes.Buffer
			if err := json.Compact(&out, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
