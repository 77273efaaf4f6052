package api

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLAMLRecordingTokenRefusesAlteredTokens checks that a PageToken of the
// account's Recordings list reads back as written, and that every change
// of one character (to a hex digit, a letter, a digit or a dot) is refused
// as a PageToken this API did not give out, where its call, next and skip
// parts were taken as they came (only its list cursor checked itself), so
// that a token changed by hand resumed elsewhere in the caller's list.
func TestLAMLRecordingTokenRefusesAlteredTokens(t *testing.T) {
	token := lamlRecordingToken{given: true, cursor: "AgAAAAAAAAAB", skip: 12, call: uuid.MustParse("0b8f2d1e-6c54-4b01-90e6-d701748f0851"), next: 3}
	written := token.String()
	got, err := parseLAMLRecordingToken(written)
	require.NoError(t, err)
	assert.Equal(t, token, got)

	const alphabet = "0123456789abcdefABCDEFxyzXYZ-_."
	for i := range len(written) {
		for _, c := range []byte(alphabet) {
			if c == written[i] {
				continue
			}
			altered := written[:i] + string(c) + written[i+1:]
			_, err := parseLAMLRecordingToken(altered)
			if !assert.ErrorIs(t, err, ErrMalformed, "character %d changed to %q: %s", i, c, altered) {
				return
			}
		}
	}
	for _, v := range []string{".", "x", written + ".", written[:len(written)-1]} {
		_, err := parseLAMLRecordingToken(v)
		assert.ErrorIs(t, err, ErrMalformed, "%q", v)
	}
}
