// Package jsonscan reads JSON text token by token, validating it exactly to
// the grammar encoding/json checks, for the hand-written decoders and
// checks that replace encoding/json where its reflection or its
// byte-at-a-time state machine was a measurable share of a request's CPU
// (the Moonbase body decoder in package api; provider metadata in domain).
// Whatever it is not sure encoding/json treats the same, it declines, and
// the caller then uses encoding/json, which stays the reference.
package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is how deeply arrays and objects may nest in a text the
// Scanner accepts. encoding/json allows 10000; a deeper body is
// declined (and decoded by encoding/json) so that the recursive skipper's
// stack stays small whatever a client sends.
const MaxDepth = 64

// Scanner reads a JSON text token by token for the hand-written decoders
// (api's moonbasedecode.go) and for Valid and CompactValid. It validates as
// it goes, exactly to the JSON grammar encoding/json's scanner checks
// before it decodes anything, so that a decoder built on it accepts only
// bodies json.Unmarshal accepts. Every method reports false to DECLINE: the
// text is not JSON, or holds something the decoders leave to encoding/json
// (invalid UTF-8, which encoding/json replaces with U+FFFD; a lone UTF-16
// surrogate escape; nesting deeper than MaxDepth). A declined body goes to
// encoding/json, which says what is wrong in its own words, so Scanner has
// no errors of its own. Make one with New.
type Scanner struct {
	b []byte
	i int
	// space has bit c set for each byte c SkipSpace skips: jsonSpace (New),
	// or none for CompactValid, to which whitespace outside strings is then
	// a byte that is not where JSON allows it. A mask rather than a flag
	// keeps the decoders' whitespace loop free of one more branch.
	space uint64
}

// New returns a Scanner at the start of text b. The offsets and slices
// its methods return are in b, which the Scanner does not copy.
func New(b []byte) Scanner {
	return Scanner{b: b, space: jsonSpace}
}

// Advance consumes the byte Peek returned: the '{' or '[' a decoder
// opens itself (Value, Member and Element consume every other token).
func (s *Scanner) Advance() { s.i++ }

// SkipSpace skips JSON whitespace (space, tab, CR, LF) and nothing else:
// bytes.TrimSpace also trims \v, \f and Unicode spaces, which are not JSON,
// and a body with them is declined.
func (s *Scanner) SkipSpace() {
	b, i := s.b, s.i
	for i < len(b) && b[i] <= ' ' && s.space>>b[i]&1 != 0 {
		i++
	}
	s.i = i
}

// jsonSpace has bit c set for each JSON whitespace byte c.
const jsonSpace uint64 = 1<<' ' | 1<<'\t' | 1<<'\n' | 1<<'\r'

// Peek skips whitespace and returns the next byte, 0 at the end of the text
// (a 0 byte is never valid there either, so both decline alike).
func (s *Scanner) Peek() byte {
	s.SkipSpace()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// AtEnd reports whether only whitespace is left: encoding/json refuses any
// data after the top-level value.
func (s *Scanner) AtEnd() bool {
	s.SkipSpace()
	return s.i == len(s.b)
}

// Literal consumes word (true, false or null) at the current byte. The byte
// after it is the caller's to check, as after any value.
func (s *Scanner) Literal(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// Str consumes the string starting at the current byte (a '"') and returns
// the bounds of its contents in the text, and whether they hold escapes (which
// then need Unescape; without escapes the contents are the string's
// bytes, as encoding/json takes them). It declines control characters
// (invalid JSON), invalid UTF-8 (which encoding/json would replace with
// U+FFFD) and a bad or lone-surrogate escape.
func (s *Scanner) Str() (start, end int, escaped, ok bool) {
	b := s.b
	i := s.i + 1
	start = i
	for i < len(b) {
		if i+8 <= len(b) {
			n := plainBytes(binary.LittleEndian.Uint64(b[i:]))
			i += n
			if n == 8 {
				continue
			}
		}
		c := b[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		switch {
		case c == '"':
			s.i = i + 1
			return start, i, escaped, true
		case c == '\\':
			n := escapeLen(b[i:])
			if n == 0 {
				return 0, 0, false, false
			}
			escaped = true
			i += n
		case c < 0x20:
			return 0, 0, false, false
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, 0, false, false
			}
			i += size
		}
	}
	return 0, 0, false, false
}

// plainBytes returns how many of the 8 bytes of x (the first in its low
// byte) come before the first that ends a string's plain run: a '"', a
// '\\', a control character or a non-ASCII byte; 8 if none does. Every
// such byte, and no other, underflows one of the bytewise subtractions or
// has its high bit set already; a byte after it may be marked too (by the
// borrow), but the first marked byte is always one of them.
func plainBytes(x uint64) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	m := ((x - 0x20*ones) | ((x ^ '"'*ones) - ones) | ((x ^ '\\'*ones) - ones) | x) & highs
	return bits.TrailingZeros64(m) / 8
}

// escapeLen returns the length of the escape at the start of b (which
// starts with a backslash): 2 for \" \\ \/ \b \f \n \r \t, 6 for a \uXXXX
// that is not a surrogate, 12 for a high surrogate escape followed by a low
// one (one code point), and 0 for anything else: invalid JSON, or a lone
// surrogate, valid JSON that encoding/json turns into U+FFFD.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
	default:
		return 0
	}
	r := hex4(b[2:])
	switch {
	case r < 0:
		return 0
	case !utf16.IsSurrogate(r):
		return 6
	case r >= 0xDC00: // a low surrogate first
		return 0
	}
	if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
		return 0
	}
	if lo := hex4(b[8:]); lo < 0xDC00 || lo > 0xDFFF {
		return 0
	}
	return 12
}

// hex4 returns the value of the four hex digits at the start of b, -1 when
// there are not four.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// number consumes a number at the current byte, to the JSON grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. A number that goes on
// ("01", "1.2.3") leaves bytes the caller then refuses.
func (s *Scanner) number() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	s.i = i
	return true
}

// digits returns the index of the first byte from i on that is not a digit.
func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// Value consumes one JSON value of any type after whitespace, validating
// all of it: the values of unknown keys (encoding/json checks them too,
// then ignores them) and json.RawMessage fields. depth is the number of
// arrays and objects around the value.
func (s *Scanner) Value(depth int) bool {
	switch s.Peek() {
	case '"':
		_, _, _, ok := s.Str()
		return ok
	case '{':
		if depth >= MaxDepth {
			return false
		}
		s.i++
		for first := true; ; first = false {
			_, _, done, ok := s.member(first)
			if !ok || done {
				return ok
			}
			if !s.Value(depth + 1) {
				return false
			}
		}
	case '[':
		if depth >= MaxDepth {
			return false
		}
		s.i++
		for first := true; ; first = false {
			done, ok := s.Element(first)
			if !ok || done {
				return ok
			}
			if !s.Value(depth + 1) {
				return false
			}
		}
	case 't':
		return s.Literal("true")
	case 'f':
		return s.Literal("false")
	case 'n':
		return s.Literal("null")
	}
	return s.number()
}

// Raw consumes one JSON value after whitespace, as Value does, and
// returns its bytes, without the whitespace around it: what encoding/json
// hands a json.RawMessage. The slice's capacity ends with the value, so
// that appending to it copies rather than writing over the rest of the
// text.
func (s *Scanner) Raw(depth int) ([]byte, bool) {
	s.SkipSpace()
	start := s.i
	if !s.Value(depth) {
		return nil, false
	}
	return s.b[start:s.i:s.i], true
}

// Member steps to the next member of the object whose '{' was consumed:
// done at its '}' (consumed); else the member's key, with the scanner after
// its ':', at the value, which the caller consumes. first says whether a
// member came before (then a ',' must separate them). Keys with escapes are
// declined: matching them to fields would need encoding/json's unescaping
// and Unicode case folding of keys, and clients do not send them. (Value,
// which matches no keys, accepts them.)
func (s *Scanner) Member(first bool) (key []byte, done, ok bool) {
	key, escaped, done, ok := s.member(first)
	if escaped {
		return nil, false, false
	}
	return key, done, ok
}

// member is Member that also steps over a key with escapes, saying so; the
// key is then returned raw, as written between its quotes.
func (s *Scanner) member(first bool) (key []byte, escaped, done, ok bool) {
	c := s.Peek()
	if c == '}' {
		s.i++
		return nil, false, true, true
	}
	if !first {
		if c != ',' {
			return nil, false, false, false
		}
		s.i++
		c = s.Peek()
	}
	if c != '"' {
		return nil, false, false, false
	}
	start, end, escaped, ok := s.Str()
	if !ok || s.Peek() != ':' {
		return nil, false, false, false
	}
	s.i++
	return s.b[start:end], escaped, false, true
}

// Element steps to the next element of the array whose '[' was consumed:
// done at its ']' (consumed); else the scanner is at the element, which the
// caller consumes. first says whether an element came before.
func (s *Scanner) Element(first bool) (done, ok bool) {
	c := s.Peek()
	if c == ']' {
		s.i++
		return true, true
	}
	if !first {
		if c != ',' {
			return false, false
		}
		s.i++
	}
	return false, true
}
