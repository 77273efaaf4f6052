package domain

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestRecordingSIDIsNewSHA1 checks that SID derives what it is documented
// as, uuid.NewSHA1 of the call id and the recording's Identity, for
// recordings known by provider id and by URL, short and past the scratch
// buffer, and that it allocates nothing for the usual ones.
func TestRecordingSIDIsNewSHA1(t *testing.T) {
	call := uuid.MustParse("5b0c7c3e-6f55-4c8e-9a7e-0c2f1d1f5a09")
	long := "https://example.com/" + strings.Repeat("r", 400) + ".mp3"
	for _, r := range []Recording{
		{ProviderID: "REC1", URL: "https://example.com/r1.mp3"}, {URL: "https://example.com/r1.mp3"}, {},
		{ProviderID: "RE\x00x"}, {ProviderID: strings.Repeat("p", 300)}, {URL: long}, {ContentType: "audio/mpeg", URL: "u"},
	} {
		require.Equal(t, uuid.NewSHA1(call, []byte(r.Identity())), r.SID(call), "%+v", r)
	}
	r := Recording{ProviderID: "REC1", URL: "https://example.com/r1.mp3"}
	require.Zero(t, testing.AllocsPerRun(100, func() { r.SID(call) }))
}
