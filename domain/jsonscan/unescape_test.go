package jsonscan_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain/jsonscan"
)

func TestUnescape(t *testing.T) {
	// Goal: a string with escapes decodes as encoding/json decodes it.
	for _, text := range []string{
		`"plain"`, `""`, `"\n"`, `"a\"b\\c\/d\be\ff\ng\rh\ti"`, `"\u0000\u001f\u0041\u00e9\u20ac\uFFFD"`,
		`"\ud83d\ude00 and \uD834\uDD1E"`, `"日本\u65e5"`, `"\\u0041"`,
	} {
		t.Run(text, func(t *testing.T) {
			var want string
			require.NoError(t, json.Unmarshal([]byte(text), &want))
			b := []byte(text)
			s := jsonscan.New(b)
			start, end, _, ok := s.Str()
			require.True(t, ok)
			var sb strings.Builder
			jsonscan.Unescape(&sb, b[start:end])
			assert.Equal(t, want, sb.String())
		})
	}
}
