package domain

import (
	"errors"
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
// It accepts what time.Parse(time.RFC3339Nano, s) accepts, except as
// below, and also a lower-case "t" between date and time and a lower-case
// "z" for UTC, which RFC 3339 section 5.6 allows ("T" and "Z" may
// alternatively be lower case) and time.Parse refuses. It refuses a comma
// before the fractional seconds (ISO 8601's other decimal sign, which
// time.Parse takes and RFC 3339 does not), and two more things time.Parse
// takes, so that no time is silently moved: fractional
// seconds past 9 digits (the ledger keeps nanoseconds; time.Parse would
// drop the rest, moving 09:59:59.9999999999 into the second before the
// one meant), and a numeric offset past hours 00-23 and minutes 00-59
// (RFC 3339's time-numoffset; time.Parse takes "+24:00" and "+23:60").
// It also refuses a time whose offset moves it, in UTC, out of the years
// 0000-9999 ("0000-01-01T00:00:00+06:00" is 18:00 on the last day of the
// year -1): the ledger stores and writes times in UTC, as RFC 3339, whose
// years have four digits, and such a time could not be stored.
// What the ledger writes stays upper case, in UTC.
func ParseRFC3339(s string) (time.Time, error) {
	s = upperRFC3339Letters(s)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse RFC 3339 time: %w", err)
	}
	if err := checkRFC3339Limits(s); err != nil {
		return time.Time{}, fmt.Errorf("parse RFC 3339 time %q: %w", s, err)
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, fmt.Errorf("parse RFC 3339 time %q: %w", s, &YearOutOfRangeError{Year: y})
	}
	return t, nil
}

// YearOutOfRangeError is ParseRFC3339's error for a well-formed RFC 3339
// time that falls, in UTC, outside the years 0000-9999 the ledger stores
// ("0000-01-01T00:00:00+06:00" is in the year -1): the surfaces tell it
// from a malformed time (errors.As), so that their message names the
// problem rather than calling valid RFC 3339 invalid.
type YearOutOfRangeError struct {
	// Year is the time's year in UTC.
	Year int
}

// Error says which year the time falls in and why that is refused.
func (e *YearOutOfRangeError) Error() string {
	return fmt.Sprintf("in UTC it falls in the year %d, outside the years 0000-9999 that the ledger stores", e.Year)
}

// rfc3339SecondsEnd is the index just past the seconds of an RFC 3339
// date-time ("2006-01-02T15:04:05"): where its fraction or offset starts.
const rfc3339SecondsEnd = len("2006-01-02T15:04:05")

// checkRFC3339Limits checks what time.Parse lets through in s, a string it
// has parsed as RFC 3339 (so its shape is known): the separator before the
// fraction, the fraction's length and the offset's range.
func checkRFC3339Limits(s string) error {
	if len(s) > rfc3339SecondsEnd && s[rfc3339SecondsEnd] == ',' {
		return errors.New("a comma before the fractional seconds: RFC 3339 writes a '.'")
	}
	offset := len(s) - 1 // "Z"
	if s[offset] != 'Z' {
		offset = len(s) - len("+07:00")
		if s[offset+1:offset+3] > "23" || s[offset+4:] > "59" {
			return fmt.Errorf("the offset %s is out of range (hours 00-23, minutes 00-59)", s[offset:])
		}
	}
	if frac := offset - rfc3339SecondsEnd - 1; frac > 9 {
		return fmt.Errorf("%d digits of fractional seconds: at most 9 (nanoseconds) are kept", frac)
	}
	return nil
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
