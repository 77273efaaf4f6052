package jsonscan

import (
	"bytes"
	"unicode/utf16"
)

// Valid reports whether b is exactly one JSON value, with only JSON
// whitespace around it, as the Scanner reads it: true means json.Valid is
// true too; false means b is not JSON or holds what the Scanner declines
// (invalid UTF-8, a lone surrogate escape, nesting deeper than MaxDepth),
// and a caller that must not refuse valid JSON then asks json.Valid. It
// spares the common case encoding/json's byte-at-a-time state machine.
func Valid(b []byte) bool {
	s := New(b)
	return s.Value(0) && s.AtEnd()
}

// CompactValid reports whether b is exactly one JSON value, as Valid does,
// and holds no insignificant whitespace, before, inside or after it: then
// json.Compact would copy b unchanged, and a caller that stores or writes
// JSON compacted can use b as it is. False says nothing more than that:
// b may still be valid, and compact once json.Compact is done with it.
func CompactValid(b []byte) bool {
	// A Scanner that skips no whitespace: any outside a string is then a
	// byte the grammar does not allow where it is, and declined.
	s := Scanner{b: b}
	return s.Value(0) && s.AtEnd()
}

// CompactValidated returns b without its insignificant whitespace, as
// json.Compact writes it, for b the caller has already validated (Valid or
// json.Valid said true, for what Valid declines too): it spares such a
// caller a second validating scan. b
// itself is returned, not copied, when it holds no insignificant
// whitespace, the usual case. For b that is not valid JSON the result is
// unspecified. It spares provider metadata sent pretty-printed
// encoding/json's byte-at-a-time state machine (BenchmarkCompactValidated).
//
// It looks at the bytes between strings one by one, but skips each
// string with bytes.IndexByte to its closing quote, and each run of
// whitespace at once: stepping through every byte of the strings, which
// are most of metadata's bytes, and appending at every byte of an
// indentation took three times as long.
func CompactValidated(b []byte) []byte {
	// b is valid JSON: a byte outside a string is whitespace, punctuation
	// or part of a literal or number, and a string cannot hold raw
	// whitespace other than space, so only the strings need skipping.
	var out []byte // nil until the first whitespace to drop
	start := 0     // b[start:i] is a run of bytes to keep
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			i = ClosingQuote(b, i+1)
		case isSpace(c):
			if out == nil {
				out = make([]byte, 0, len(b))
			}
			out = append(out, b[start:i]...)
			for i+1 < len(b) && isSpace(b[i+1]) {
				i++
			}
			start = i + 1
		}
	}
	if out == nil {
		return b
	}
	return append(out, b[start:]...)
}

// ClosingQuote returns the index of the quote that ends the string of
// valid JSON b whose contents start at from (just past its opening
// quote): the first quote not escaped, that is not preceded by an odd
// number of backslashes. Without one (b is not valid JSON) it returns
// len(b). It finds it with bytes.IndexByte, rather than stepping through
// the string byte by byte: a scan of JSON already validated that only
// looks at what lies between the strings skips them so.
func ClosingQuote(b []byte, from int) int {
	for i := from; ; {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		j += i
		k := j
		for k > from && b[k-1] == '\\' {
			k--
		}
		if (j-k)%2 == 0 {
			return j
		}
		i = j + 1
	}
}

// isSpace reports whether c is JSON whitespace: a byte of jsonSpace, as
// SkipSpace tests it.
func isSpace(c byte) bool { return c <= ' ' && jsonSpace>>c&1 != 0 }

// LoneSurrogateAt returns the offset in b of the first escape, inside a
// string, of a UTF-16 surrogate that is not half of a pair (\ud800 alone),
// or -1. Such an escape is valid JSON, which Valid declines and
// encoding/json decodes as U+FFFD, as it does an invalid UTF-8 byte: a
// caller that must not let two different texts become one finds it here.
// b need not be valid JSON; what else is wrong in it is not looked for.
func LoneSurrogateAt(b []byte) int {
	if !bytes.Contains(b, []byte(`\u`)) {
		return -1 // no \u escape at all: the usual body, at memchr speed
	}
	inString := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\':
			n := escapeLen(b[i:])
			if n == 0 && i+1 < len(b) && b[i+1] == 'u' && utf16.IsSurrogate(hex4(b[i+2:])) {
				return i
			}
			i += max(n, 2) - 1 // a bad escape: step over its backslash and the next byte
		}
	}
	return -1
}
