package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestParseRFC3339(t *testing.T) {
	// Goal: ParseRFC3339 accepts RFC 3339 with "T" and "Z" in either case
	// (RFC 3339 section 5.6), any offset and fractional seconds, returns
	// the instant in UTC, and refuses everything else time.Parse refuses:
	// lower case is allowed for those two letters, in their places, only.
	noon := time.Date(2025, 2, 17, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2025-02-17T12:00:00Z", noon},
		{"2025-02-17t12:00:00Z", noon},
		{"2025-02-17T12:00:00z", noon},
		{"2025-02-17t12:00:00z", noon},
		{"2025-02-17t13:00:00+01:00", noon},
		{"2025-02-17t04:00:00-08:00", noon},
		{"2025-02-17t12:00:00.000000001z", noon.Add(time.Nanosecond)},
		{"2025-02-17T12:00:00.5z", noon.Add(500 * time.Millisecond)},
		{"2024-02-29t23:59:59z", time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)},
		{"2025-02-18T11:59:00.999999999+23:59", noon.Add(999999999)},
		{"2025-02-16T12:00:00-00:00", noon.Add(-24 * time.Hour)},
		// The first and last instants of the years the ledger stores.
		{"0000-01-01T06:00:00+06:00", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"9999-12-31T18:59:59.999999999-05:00", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := domain.ParseRFC3339(tc.in)
			require.NoError(t, err)
			assert.True(t, tc.want.Equal(got), "got %s", got)
			assert.Equal(t, time.UTC, got.Location(), "in UTC")
			assert.Equal(t, tc.want.Format(time.RFC3339Nano), got.Format(time.RFC3339Nano), "formats back in upper case")
		})
	}
	for _, bad := range []string{
		"",
		"t",
		"z",
		"yesterday",
		"2025-02-17",
		"2025-02-17t",
		"2025-02-17t12:00:00",
		"2025-02-17x12:00:00z",
		"2025-02-17 12:00:00z",
		"2025-02-17t12:00:00y",
		"2025-02-17t12:00:00zz",
		"2025-02-17t12:00:00+01:00z",
		"2025-02-17tt12:00:00z",
		"2025-02-17t12:00:00.z",
		"2025-02-30t12:00:00z",
		"2025-02-17t25:00:00z",
		"2025-02-17t12:00:00Z ",
		" 2025-02-17t12:00:00z",
		"2025-02-17T12:00:00.0000000001Z",
		"2025-02-17T12:00:00.9999999999+01:00",
		"2025-02-17T12:00:00+24:00",
		"2025-02-17T12:00:00+23:60",
		"2025-02-17T12:00:00-99:00",
		// A comma before the fraction: ISO 8601 allows it, RFC 3339 does
		// not, and Go's parser takes it.
		"2025-02-17T12:00:00,5Z",
		"2025-02-17T12:00:00,123456789+01:00",
		// In UTC, before the year 0000 or after 9999.
		"0000-01-01T00:00:00+06:00",
		"0000-01-01T05:59:59.999999999+06:00",
		"9999-12-31T23:00:00-05:00",
	} {
		t.Run("Refuses_"+bad, func(t *testing.T) {
			_, err := domain.ParseRFC3339(bad)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "RFC 3339")
		})
	}
}
