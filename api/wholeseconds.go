package api

import (
	"encoding/json"
	"strconv"
	"strings"
)

// durationSeconds reads VoiceCall's duration, which seed 002 types as a JSON
// number of seconds ("120 for a 2-minute call"): a whole number in any of
// JSON's spellings is taken exactly (120, 120.0, 1.2e2, as a client's float
// serializer may write it; Python's json.dumps of timedelta.total_seconds()
// sends 120.0). A number with a fraction of a second, or one no int64
// holds, is a 422 naming field; any other JSON type a 400, as a wrong type
// is everywhere; null or absent is a missing required field (400).
func durationSeconds(field string, raw json.RawMessage) (int64, error) {
	raw, err := requiredJSON(field, raw)
	if err != nil {
		return 0, err
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return 0, Malformed(field, "%s must be a JSON number of seconds, not a JSON %s", field, jsonValueKind(c))
	}
	n, whole, inRange := wholeNumber(string(raw))
	switch {
	case !whole:
		return 0, Invalid(field, "%s must be a whole number of seconds, not %s", field, truncate(string(raw), 32))
	case !inRange:
		return 0, Invalid(field, "%s %s is out of range", field, truncate(string(raw), 32))
	}
	return n, nil
}

// jsonValueKind names the JSON type of a value that starts with c.
func jsonValueKind(c byte) string {
	switch c {
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case '[':
		return "array"
	default:
		return "object"
	}
}

// wholeNumber reads lit, a JSON number literal (checked by the JSON
// decoder), exactly: whole reports that it has no fraction once its
// exponent is applied, inRange that an int64 holds it (n is then its
// value). It works on the digits, never on a float (120.000000000000000001
// is not whole) nor on a big number built from the exponent (1e400000000
// would be a number of 400 million digits): it only counts how far the
// exponent moves the point.
func wholeNumber(lit string) (n int64, whole, inRange bool) {
	neg := strings.HasPrefix(lit, "-")
	lit = strings.TrimPrefix(lit, "-")
	mantissa, expText, hasExp := strings.Cut(strings.ToLower(lit), "e")
	intDigits, fracDigits, _ := strings.Cut(mantissa, ".")
	digits := intDigits + fracDigits
	point := int64(len(intDigits)) // the point sits before digits[point]

	trimmed := strings.TrimLeft(digits, "0")
	point -= int64(len(digits) - len(trimmed))
	digits = strings.TrimRight(trimmed, "0")
	if digits == "" {
		return 0, true, true // zero, whatever its exponent
	}
	var exp int64
	if hasExp {
		e, err := strconv.ParseInt(strings.TrimPrefix(expText, "+"), 10, 64)
		switch {
		case err == nil && e > -1<<40 && e < 1<<40:
			exp = e
		case strings.HasPrefix(expText, "-"):
			return 0, false, false // a nonzero number this small has a fraction
		default:
			return 0, true, false // and one this large no int64 holds
		}
	}
	// The value is digits × 10^zeros, digits ending in a nonzero digit.
	zeros := point + exp - int64(len(digits))
	if zeros < 0 {
		return 0, false, false
	}
	if int64(len(digits))+zeros > 19 { // int64 holds at most 19 digits
		return 0, true, false
	}
	text := digits + strings.Repeat("0", int(zeros))
	if neg {
		text = "-" + text
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, true, false
	}
	return v, true, true
}
