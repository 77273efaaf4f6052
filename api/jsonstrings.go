package api

import (
	"bytes"
	"strings"

	"github.com/callledger/callledger/domain/jsonscan"
)

// stringSlotsMaxFirst caps the first block of string slots a decoder
// allocates from its estimate, so that a large body made of strings the
// decoder skips cannot make it allocate more than a few KiB up front.
const stringSlotsMaxFirst = 128

// stringSlots gives a hand-written decoder the *string fields it fills
// while it scans, and makes all their strings in one allocation when it is
// done: a decoder that made each string (and each pointer to it) as it went
// would allocate twice per field. The slots are strings allocated in
// blocks, which never move once allocated, so that a slot's address can be
// a field's *string. Until fill makes the strings, the spans say where each
// is in the body: the first ones in an array inside stringSlots (on the
// decoder's stack; a slice of an array outside it would escape with the
// slots' pointers), the others in more.
type stringSlots struct {
	body []byte
	// hint is the size of the first block: at most one slot per four
	// quotes in the body (a key and a string value), so that most bodies
	// need one block.
	hint  int
	block []string
	full  [][]string
	// n is the number of slots; the spans of the first len(first) are in
	// first, the others in more.
	n     int
	first [24]stringSpan
	more  []stringSpan
	// length is the length of all the strings' contents in the body.
	length int
}

// stringSpan is where a slot's string is in the body, and whether it has
// escapes to decode.
type stringSpan struct {
	start, end int32
	escaped    bool
}

// newStringSlots returns the slots of the strings in body (at most 2 GiB,
// so that offsets fit in an int32; the decoders decline larger bodies).
// The quotes are counted in a pass of their own (bytes.Count, vectorised)
// rather than during the decoder's: the first block is made at the first
// string, before that pass has seen the rest of the body.
func newStringSlots(body []byte) stringSlots {
	return stringSlots{body: body, hint: min(bytes.Count(body, []byte{'"'})/4, stringSlotsMaxFirst)}
}

// add returns the field for the string whose contents are body[start:end]
// (escaped says whether they need jsonscan.Unescape); it holds the string once
// fill has run.
func (ss *stringSlots) add(start, end int, escaped bool) *string {
	if len(ss.block) == cap(ss.block) {
		n := max(ss.hint, 1)
		if cap(ss.block) > 0 {
			ss.full = append(ss.full, ss.block)
			n = 2 * cap(ss.block)
		}
		ss.block = make([]string, 0, n)
	}
	sp := stringSpan{start: int32(start), end: int32(end), escaped: escaped}
	if ss.n < len(ss.first) {
		ss.first[ss.n] = sp
	} else {
		if ss.more == nil {
			// Sized from the count of quotes, rather than grown by
			// doubling from one span (a transcript of ten cues).
			ss.more = make([]stringSpan, 0, max(ss.hint-len(ss.first), 8))
		}
		ss.more = append(ss.more, sp)
	}
	ss.n++
	ss.length += end - start
	ss.block = ss.block[:len(ss.block)+1]
	return &ss.block[len(ss.block)-1]
}

// span returns the span of slot i.
func (ss *stringSlots) span(i int) *stringSpan {
	if i < len(ss.first) {
		return &ss.first[i]
	}
	return &ss.more[i-len(ss.first)]
}

// fill makes every slot's string, all of them parts of one string: the
// contents as they are in the body, or unescaped. Unescaping never makes a
// string longer, so the builder grows once.
func (ss *stringSlots) fill() {
	var sb strings.Builder
	sb.Grow(ss.length)
	for i := range ss.n {
		sp := ss.span(i)
		raw := ss.body[sp.start:sp.end]
		sp.start = int32(sb.Len())
		if sp.escaped {
			jsonscan.Unescape(&sb, raw)
		} else {
			sb.Write(raw)
		}
		sp.end = int32(sb.Len())
	}
	all := sb.String()
	i := 0
	for _, block := range ss.full {
		for j := range block {
			sp := ss.span(i)
			block[j] = all[sp.start:sp.end]
			i++
		}
	}
	for j := range ss.block {
		sp := ss.span(i)
		ss.block[j] = all[sp.start:sp.end]
		i++
	}
}
