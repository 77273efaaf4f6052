package jsonscan

import (
	"bytes"
	"strings"
	"unicode/utf16"
)

// Unescape writes the string whose contents raw are, escapes decoded as
// encoding/json decodes them: for a decoder that keeps strings Str reported
// escaped. raw must be contents Str accepted: its escapes are valid and a
// surrogate escape is always a high one followed by a low one, which
// together are one code point; it is not checked again.
func Unescape(sb *strings.Builder, raw []byte) {
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\\')
		if i < 0 {
			sb.Write(raw)
			return
		}
		sb.Write(raw[:i])
		raw = raw[i:]
		switch c := raw[1]; c {
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'u':
			r := hex4(raw[2:])
			if utf16.IsSurrogate(r) {
				r = utf16.DecodeRune(r, hex4(raw[8:]))
				raw = raw[6:]
			}
			sb.WriteRune(r)
			raw = raw[6:]
			continue
		default: // '"', '\\', '/'
			sb.WriteByte(c)
		}
		raw = raw[2:]
	}
}
