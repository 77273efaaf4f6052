package api

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseIfMatchTagsBound(t *testing.T) {
	// Goal: If-Match takes at most ifMatchTagsMax entity tags; one more is
	// a 400 about the bound, whatever that piece holds, and an earlier
	// malformed tag is still answered as malformed.
	tags := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strconv.Quote(strconv.Itoa(i))
		}
		return out
	}
	m, err := parseIfMatch(strings.Join(tags(ifMatchTagsMax), ", "))
	require.NoError(t, err)
	assert.Len(t, m.revisions, ifMatchTagsMax)

	for name, h := range map[string]string{
		"OneTooMany":        strings.Join(tags(ifMatchTagsMax+1), ", "),
		"ManyTooMany":       strings.Join(tags(10*ifMatchTagsMax), ", "),
		"MalformedPastMax":  strings.Join(append(tags(ifMatchTagsMax), "garbage", `"1"`), ", "),
		"OnlyCommasPastMax": strings.Join(tags(ifMatchTagsMax), ", ") + strings.Repeat(",", 100),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseIfMatch(h)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.ErrorIs(t, err, ErrMalformed)
			assert.Equal(t, "If-Match", fe.Field)
			assert.Equal(t, "more than 16 entity tags", fe.Message)
		})
	}

	_, err = parseIfMatch(strings.Join(append([]string{"garbage"}, tags(10*ifMatchTagsMax)...), ", "))
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, fe.Message, `"garbage" is not an ETag`)
}
