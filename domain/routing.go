package domain

import (
	"unicode/utf8"
)

// TwimlCharsMax bounds RoutingChanges.Twiml, in characters (Unicode code
// points, so at most 4 bytes each): Twilio refuses a Twiml parameter over
// 4000 characters (its error 32018), so no client that works against
// Twilio sends a longer one, and the bound keeps every routing event small.
const TwimlCharsMax = 4000

// TwimlTooLong counts the characters of a Twiml (a byte that is not UTF-8
// counts as one) and reports whether they are more than TwimlCharsMax:
// the one count of its bound, for the domain's check (checkTwiml) and for
// a surface that answers the length with a code of its own.
func TwimlTooLong(s string) (chars int, tooLong bool) {
	chars = utf8.RuneCountInString(s)
	return chars, chars > TwimlCharsMax
}

// ApplicationSIDBytesMax bounds RoutingChanges.ApplicationSID, in bytes.
// Providers spell application ids differently (Twilio's are "AP" and 32
// hex digits, SignalWire's are UUIDs, 36 bytes), so the ledger takes any
// printable id rather than one provider's format; 64 bytes holds both
// with room, and nothing longer is an id.
const ApplicationSIDBytesMax = 64

// checkTwiml accepts a TwiML document as text: not empty, valid UTF-8 (a
// stored event is JSON, which would replace the bytes of anything else)
// and at most TwimlCharsMax characters. It is not parsed as XML: the
// ledger records what the client asked the provider to run, and whether
// it runs is the provider's answer, not the ledger's.
func checkTwiml(field string, s *string) *Error {
	switch {
	case s == nil:
		return nil
	case *s == "":
		return invalid(field, "must not be empty")
	case !utf8.ValidString(*s):
		return invalid(field, "is not valid UTF-8")
	}
	if n, tooLong := TwimlTooLong(*s); tooLong {
		return invalid(field, "must be at most %d characters, got %d", TwimlCharsMax, n)
	}
	return nil
}

// checkApplicationSID accepts an application id: 1 to
// ApplicationSIDBytesMax bytes of valid UTF-8, every character printable
// and none a space (an id is one word; a space or a control character is
// a client's mistake, and would read ambiguously in logs and exports).
func checkApplicationSID(field string, s *string) *Error {
	switch {
	case s == nil:
		return nil
	case *s == "":
		return invalid(field, "must not be empty")
	case len(*s) > ApplicationSIDBytesMax:
		return invalid(field, "must be at most %d bytes, got %d", ApplicationSIDBytesMax, len(*s))
	case !utf8.ValidString(*s):
		return invalid(field, "is not valid UTF-8")
	}
	if !printableWord(*s) {
		return invalid(field, "%q holds a character that is not printable or is a space", *s)
	}
	return nil
}
