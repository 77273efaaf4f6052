package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONScanValue(t *testing.T) {
	// Goal: the scanner consumes exactly one JSON value where json.Valid
	// says it is one, and declines what is not JSON and the valid JSON it
	// leaves to encoding/json (invalid UTF-8, lone surrogates, deep nesting).
	for _, tc := range []struct {
		text string
		want bool
	}{
		{`0`, true}, {`-0`, true}, {`-12.5e+3`, true}, {`1E-2`, true}, {`10`, true},
		{`"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"`, true}, {`""`, true}, {"\"日本\"", true},
		{`true`, true}, {`false`, true}, {`null`, true},
		{`[]`, true}, {`{}`, true}, {` [ 1 , { "a" : [ ] } ] `, true}, {`{"a":1,"a":2}`, true},
		{strings.Repeat("[", 64) + strings.Repeat("]", 64), true},

		{``, false}, {` `, false}, {`01`, false}, {`-`, false}, {`1.`, false}, {`.1`, false}, {`1e`, false},
		{`+1`, false}, {`tru`, false}, {`nul`, false}, {`"`, false}, {`"\"`, false}, {`"\a"`, false},
		{`"\u00G0"`, false}, {"\"\x1f\"", false}, {`[1,]`, false}, {`{"a":1,}`, false}, {`{"a"}`, false},
		{`{1:1}`, false}, {`[1 2]`, false}, {`{"a":1 "b":2}`, false}, {`1 2`, false}, {`[`, false}, {`{`, false},
		{"\"\xff\"", false}, {`"\ud800"`, false}, {`"\udc00"`, false}, {`"\ud800\u0041"`, false},
		{strings.Repeat("[", 65) + strings.Repeat("]", 65), false},
	} {
		t.Run(tc.text, func(t *testing.T) {
			s := jsonScan{b: []byte(tc.text)}
			got := s.value(0) && s.atEnd()
			assert.Equal(t, tc.want, got)
			if got {
				assert.True(t, json.Valid([]byte(tc.text)), "accepted what json.Valid refuses")
			}
		})
	}
}

func TestUnescapeJSON(t *testing.T) {
	// Goal: a string with escapes decodes as encoding/json decodes it.
	for _, text := range []string{
		`"plain"`, `""`, `"\n"`, `"a\"b\\c\/d\be\ff\ng\rh\ti"`, `"\u0000\u001f\u0041\u00e9\u20ac\uFFFD"`,
		`"\ud83d\ude00 and \uD834\uDD1E"`, `"日本\u65e5"`, `"\\u0041"`,
	} {
		t.Run(text, func(t *testing.T) {
			var want string
			require.NoError(t, json.Unmarshal([]byte(text), &want))
			s := jsonScan{b: []byte(text)}
			start, end, _, ok := s.str()
			require.True(t, ok)
			var sb strings.Builder
			unescapeJSON(&sb, s.b[start:end])
			assert.Equal(t, want, sb.String())
		})
	}
}
