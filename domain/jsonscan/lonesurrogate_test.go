package jsonscan

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLoneSurrogateAt finds an escaped surrogate that is not half of a
// pair, inside strings only, past escaped backslashes.
func TestLoneSurrogateAt(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       int
	}{
		{"none", `{"a":"b"}`, -1},
		{"a pair", `{"a":"\ud83d\ude00"}`, -1},
		{"a pair in capitals", `{"a":"\uD83D\uDE00"}`, -1},
		{"other escapes", `{"a":"\u00e9\n\"\\"}`, -1},
		{"a lone high", `{"a":"x\ud800"}`, 7},
		{"a high then no low", `{"a":"\ud800\u0041"}`, 6},
		{"a lone low", `{"a":"\udc00"}`, 6},
		{"a high at the end", `{"a":"\ud800`, 6},
		{"an escaped backslash, then u", `{"a":"\\ud800"}`, -1},
		{"in a key", `{"\udfff":1}`, 2},
		{"outside strings", `{"a":1}`, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, LoneSurrogateAt([]byte(tc.json)))
		})
	}
}
