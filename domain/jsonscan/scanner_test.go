package jsonscan_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/callledger/callledger/domain/jsonscan"
)

func TestScannerValue(t *testing.T) {
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
			s := jsonscan.New([]byte(tc.text))
			got := s.Value(0) && s.AtEnd()
			assert.Equal(t, tc.want, got)
			if got {
				assert.True(t, json.Valid([]byte(tc.text)), "accepted what json.Valid refuses")
			}
		})
	}
}
