// Package jsonwrite appends JSON by hand, byte for byte as encoding/json's
// Marshal writes the same values, for the few shapes written on every
// request (stored events, metadata, the upsert's response), where
// reflection was a measurable share of a request's CPU. Whatever it cannot
// write exactly as json.Marshal would, it reports (Writer.Failed), and the
// caller then uses json.Marshal: its output is the reference, and each
// caller pins its encoder to it with a test over generated values.
package jsonwrite

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain/jsonscan"
)

// Writer appends a JSON object field by field, in the order of the
// fields of the struct it stands for, placing the commas. B is the output
// so far; callers may append to it directly a value they format themselves
// after Key.
type Writer struct {
	// B is the JSON written so far.
	B      []byte
	empty  bool // no field written yet in the innermost open object
	failed bool
}

// Failed reports that a value could not be written as json.Marshal writes
// it: B is then not to be used.
func (w *Writer) Failed() bool { return w.failed }

// Open starts an object.
func (w *Writer) Open() {
	w.B = append(w.B, '{')
	w.empty = true
}

// Close ends an object.
func (w *Writer) Close() {
	w.B = append(w.B, '}')
	w.empty = false
}

// Array writes an array of n elements, each written by element(i).
func (w *Writer) Array(n int, element func(i int)) {
	w.B = append(w.B, '[')
	for i := range n {
		if i > 0 {
			w.B = append(w.B, ',')
		}
		element(i)
	}
	w.B = append(w.B, ']')
}

// Key writes a field's name, after a comma unless it is the object's
// first. Names are the callers' constants, which need no escaping.
func (w *Writer) Key(name string) {
	if !w.empty {
		w.B = append(w.B, ',')
	}
	w.empty = false
	w.B = append(w.B, '"')
	w.B = append(w.B, name...)
	w.B = append(w.B, '"', ':')
}

// String writes a string field.
func (w *Writer) String(name, v string) {
	w.Key(name)
	w.B = AppendString(w.B, v)
}

// StringOmitEmpty writes a string field tagged omitempty.
func (w *Writer) StringOmitEmpty(name, v string) {
	if v != "" {
		w.String(name, v)
	}
}

// StringPtr writes a *string field tagged omitempty.
func (w *Writer) StringPtr(name string, v *string) {
	if v != nil {
		w.String(name, *v)
	}
}

// UUID writes a uuid.UUID field.
func (w *Writer) UUID(name string, id uuid.UUID) {
	w.Key(name)
	w.B = append(w.B, '"')
	w.B = AppendUUID(w.B, id)
	w.B = append(w.B, '"')
}

// Time writes a time.Time field as its MarshalJSON does: AppendText
// writes the same RFC 3339 text without the quotes, with the same checks,
// and without allocating. A time it refuses (a year outside 0 to 9999, an
// offset of a day or more) fails the writer.
func (w *Writer) Time(name string, t time.Time) {
	w.Key(name)
	b, err := t.AppendText(append(w.B, '"'))
	if err != nil {
		w.failed = true
		return
	}
	w.B = append(b, '"')
}

// TimePtr writes a *time.Time field tagged omitempty.
func (w *Writer) TimePtr(name string, t *time.Time) {
	if t != nil {
		w.Time(name, *t)
	}
}

// RawOmitEmpty writes a json.RawMessage field tagged omitempty, compacted
// as json.Marshal writes it. json.Marshal also escapes <, >, & and
// U+2028/U+2029 in it, which json.Compact does not: such JSON, and JSON
// that is not valid, fail the writer. JSON already compact (as the domain
// stores metadata) is copied as it is, without json.Compact's second scan
// of it byte by byte.
func (w *Writer) RawOmitEmpty(name string, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	if marshalEscapes(raw) {
		w.failed = true
		return
	}
	w.Key(name)
	if jsonscan.CompactValid(raw) {
		w.B = append(w.B, raw...)
		return
	}
	buf := bytes.NewBuffer(w.B)
	if err := json.Compact(buf, raw); err != nil {
		w.failed = true
		return
	}
	w.B = buf.Bytes()
}

// marshalEscapes reports whether raw holds what json.Marshal escapes in a
// json.RawMessage and json.Compact leaves as it is: <, > or &, or the line
// and paragraph separators U+2028 and U+2029. It is bytes.ContainsAny with
// those five characters, without ContainsAny's rune-by-rune search for a
// set that is not all ASCII (it was most of RawOmitEmpty's cost): the
// separators are E2 80 A8 and E2 80 A9 in UTF-8, found in one pass over
// the E2 bytes. The ASCII three are looked for one by one with
// bytes.IndexByte, which scans many bytes at a time, where
// bytes.IndexAny built its set and tested every byte against it.
func marshalEscapes(raw []byte) bool {
	if bytes.IndexByte(raw, '<') >= 0 || bytes.IndexByte(raw, '>') >= 0 || bytes.IndexByte(raw, '&') >= 0 {
		return true
	}
	for rest := raw; ; {
		i := bytes.IndexByte(rest, 0xE2)
		if i < 0 || i+2 >= len(rest) {
			return false
		}
		if rest[i+1] == 0x80 && rest[i+2]&^1 == 0xA8 {
			return true
		}
		rest = rest[i+1:]
	}
}

// AppendUUID appends id in its canonical 36-character form, as
// uuid.UUID.MarshalText writes it, without allocating. It writes the
// digits into dst itself, the dashes at their fixed places, rather than
// into a buffer it then copies, testing every byte for a dash (every
// event and call view writes several ids).
func AppendUUID(dst []byte, id uuid.UUID) []byte {
	const hexDigits = "0123456789abcdef"
	n := len(dst)
	dst = slices.Grow(dst, 36)[:n+36]
	text := dst[n : n+36]
	text[8], text[13], text[18], text[23] = '-', '-', '-', '-'
	hex := func(at int, b []byte) {
		for i, c := range b {
			text[at+2*i], text[at+2*i+1] = hexDigits[c>>4], hexDigits[c&0x0f]
		}
	}
	hex(0, id[0:4])
	hex(9, id[4:6])
	hex(14, id[6:8])
	hex(19, id[8:10])
	hex(24, id[10:16])
	return dst
}

// AppendString appends s as a JSON string, as json.Marshal writes it:
// printable ASCII other than '"', '\' and the HTML characters json.Marshal
// escapes is copied; any other string is left to json.Marshal.
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainByte(s[i]) {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// The bytes json.Marshal copies into a string as they are: printable ASCII
// (0x20 to 0x7e) but '"', '\\' and the HTML characters '<', '>' and '&', as
// two 64-bit masks, for bytes 0 to 63 and 64 to 127.
const (
	plainLow  = 0xffff_ffff_0000_0000 &^ (1<<'"' | 1<<'&' | 1<<'<' | 1<<'>')
	plainHigh = 0x7fff_ffff_ffff_ffff &^ (1 << ('\\' - 64))
)

// plainByte reports whether json.Marshal copies c into a string as it is:
// one test of a mask bit, where AppendString compared every byte of every
// string with seven bounds and characters.
func plainByte(c byte) bool {
	mask := uint64(plainLow)
	if c >= 64 {
		mask = plainHigh
	}
	return c < 128 && mask>>(c&63)&1 != 0
}
