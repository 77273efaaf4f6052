package domain

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRecordingIdentity checks that two recordings are one (sameRecording)
// exactly when their identities are equal, so that the names surfaces
// derive from Identity tell apart the recordings the decider tells apart.
func TestRecordingIdentity(t *testing.T) {
	recs := []Recording{
		{ProviderID: "R1", URL: "https://a"},
		{ProviderID: "R1", URL: "https://b"},
		{ProviderID: "R2", URL: "https://a"},
		{URL: "https://a"},
		{URL: "https://b"},
		{URL: "R1"},
		{},
	}
	for _, a := range recs {
		for _, b := range recs {
			assert.Equal(t, sameRecording(a, b), a.Identity() == b.Identity(), "%+v and %+v", a, b)
		}
	}
}
