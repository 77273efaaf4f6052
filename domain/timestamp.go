package domain

import (
	"fmt"
	"time"
)

// rfc3339DateLen is the length of an RFC 3339 full-date ("2025-02-17"): the
// index of the "T" between the date and the time.
const rfc3339DateLen = len("2006-01-02")

// ParseRFC3339 parses a timestamp a client sent as RFC 3339 and returns it
// in UTC. It is the one parser of client times: every API surface and every
// tool flag that takes an RFC 3339 time calls it, so that all of them accept
// and refuse the same strings.
//
// It accepts what time.Parse(time.RFC3339Nano, s) accepts (any offset,
// fractional seconds of any length) and also a lower-case "t" between date
// and time and a lower-case "z" for UTC, which RFC 3339 section 5.6 allows
// ("T" and "Z" may alternatively be lower case) and time.Parse refuses.
// Nothing else is relaxed: the rest of the string must still be RFC 3339.
// What the ledger writes stays upper case, in UTC.
func ParseRFC3339(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, upperRFC3339Letters(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("parse RFC 3339 time: %w", err)
	}
	return t.UTC(), nil
}

// upperRFC3339Letters returns s with a lower-case "t" where RFC 3339 puts
// the date-time separator, and a lower-case "z" where it puts the UTC
// offset (last), in upper case: the only two letters RFC 3339 has, and the
// only places they can be. s is returned as it is, without a copy, when
// neither is lower case.
func upperRFC3339Letters(s string) string {
	lowerT := len(s) > rfc3339DateLen && s[rfc3339DateLen] == 't'
	lowerZ := len(s) > rfc3339DateLen+1 && s[len(s)-1] == 'z'
	if !lowerT && !lowerZ {
		return s
	}
	b := []byte(s)
	if lowerT {
		b[rfc3339DateLen] = 'T'
	}
	if lowerZ {
		b[len(b)-1] = 'Z'
	}
	return string(b)
}
