package domain

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestEchoesTime holds the rule by which a time a client sends is the
// call's own as a surface showed it: the same instant with the digits
// beyond the millisecond dropped, in any offset, before the year 1 too.
func TestEchoesTime(t *testing.T) {
	at := func(s string) time.Time {
		v, err := ParseRFC3339(s)
		if err != nil {
			t.Fatalf("parse %s: %v", s, err)
		}
		return v
	}
	for _, tc := range []struct {
		name          string
		given, stored string
		want          bool
	}{
		{"shown to the millisecond", "2025-03-01T08:00:00.123Z", "2025-03-01T08:00:00.123456789Z", true},
		{"in another offset", "2025-03-01T10:00:00.123+02:00", "2025-03-01T08:00:00.123456789Z", true},
		{"a millisecond shown as zero", "2025-03-01T08:00:00Z", "2025-03-01T08:00:00.000000500Z", true},
		{"before the year 1", "0000-06-01T00:00:00.001Z", "0000-06-01T00:00:00.001999999Z", true},
		{"the same time is no echo", "2025-03-01T08:00:00.123Z", "2025-03-01T08:00:00.123Z", false},
		{"a millisecond later", "2025-03-01T08:00:00.124Z", "2025-03-01T08:00:00.123456789Z", false},
		{"rounded up, not as shown", "2025-03-01T08:00:00.124Z", "2025-03-01T08:00:00.123999999Z", false},
		{"digits of its own", "2025-03-01T08:00:00.1234Z", "2025-03-01T08:00:00.123456789Z", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, echoesTime(at(tc.given), at(tc.stored)))
		})
	}
}
