package api

import (
	"encoding/json"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/callledger/callledger/domain/jsonscan"
)

// The keys of each Moonbase params struct as keyMayMatch compares them:
// lowercase, without '_' (a test checks them against the json tags).
const (
	moonbaseCallKeys        = "direction startat provider providerid providerstatus participants answeredat endat providermetadata recordings transcript"
	moonbaseParticipantKeys = "phone role"
	moonbaseRecordingKeys   = "contenttype providerid url"
	moonbaseTranscriptKeys  = "cues"
	moonbaseCueKeys         = "from to speaker text"
)

// decodeMoonbaseParamsFast decodes a Moonbase create/upsert body into p
// without reflection: json.Unmarshal takes 16-19 µs of CPU on the seed's
// body, the largest part of the upsert handler; this takes a fifth of that
// or less (BenchmarkDecodeMoonbase), with 6 allocations instead of 49.
// It reports false, and leaves p as it was, for any body whose decoding it
// is not sure is exactly json.Unmarshal's, and the caller then decodes with
// DecodeJSON, which also says what is wrong with a bad body. So that it
// stays simple enough to check, it accepts only what clients send (a fuzz
// test compares it with json.Unmarshal), and declines:
//   - a body that is not JSON, or not an object, or has anything but JSON
//     whitespace around it (DecodeJSON trims \v and Unicode spaces too);
//   - a key with an escape or a non-ASCII byte; a key that is not the exact
//     name of a field but encoding/json could match to one
//     case-insensitively ("Provider", "ſtart_at", see keyMayMatch); a
//     field's key repeated (encoding/json merges the values);
//   - a value of a JSON type the field does not take, and a list element
//     that is not an object (null included);
//   - invalid UTF-8 or a lone surrogate escape in any string, which
//     encoding/json replaces with U+FFFD where it decodes them;
//   - arrays and objects nested deeper than jsonscan.MaxDepth.
func decodeMoonbaseParamsFast(body []byte, p *moonbaseCallParams) bool {
	if len(body) > math.MaxInt32 {
		return false
	}
	d := moonbaseDecoder{Scanner: jsonscan.New(body), strs: newStringSlots(body)}
	var q moonbaseCallParams
	if d.Peek() != '{' || !d.call(&q) || !d.AtEnd() {
		return false
	}
	d.strs.fill()
	*p = q
	return true
}

// moonbaseDecoder is the state of one decodeMoonbaseParamsFast: where it is
// in the body, and the strings it fills in at the end.
type moonbaseDecoder struct {
	jsonscan.Scanner
	strs stringSlots
}

// call decodes the body's object (the scanner at its '{') into p. Its
// values are at depth 1, inside the one object.
func (d *moonbaseDecoder) call(p *moonbaseCallParams) bool {
	d.Advance()
	var seen fieldsSeen
	for first := true; ; first = false {
		key, done, ok := d.Member(first)
		if !ok || done {
			return ok
		}
		switch string(key) {
		case "direction":
			ok = seen.once(0) && d.optString(&p.Direction)
		case "start_at":
			ok = seen.once(1) && d.optString(&p.StartAt)
		case "provider":
			ok = seen.once(2) && d.optString(&p.Provider)
		case "provider_id":
			ok = seen.once(3) && d.optString(&p.ProviderID)
		case "provider_status":
			ok = seen.once(4) && d.optString(&p.ProviderStatus)
		case "participants":
			ok = seen.once(5) && d.participants(&p.Participants)
		case "answered_at":
			ok = seen.once(6) && d.optString(&p.AnsweredAt)
		case "end_at":
			ok = seen.once(7) && d.optString(&p.EndAt)
		case "provider_metadata":
			ok = seen.once(8) && d.raw(&p.ProviderMetadata, 1)
		case "recordings":
			ok = seen.once(9) && d.recordings(&p.Recordings)
		case "transcript":
			ok = seen.once(10) && d.transcript(&p.Transcript)
		default:
			ok = !keyMayMatch(key, moonbaseCallKeys) && d.Value(1)
		}
		if !ok {
			return false
		}
	}
}

// participant decodes one element of participants, at depth.
func (d *moonbaseDecoder) participant(depth int) (moonbaseParticipantParams, bool) {
	var pp moonbaseParticipantParams
	if d.Peek() != '{' {
		return pp, false
	}
	d.Advance()
	var seen fieldsSeen
	for first := true; ; first = false {
		key, done, ok := d.Member(first)
		if !ok || done {
			return pp, ok
		}
		switch string(key) {
		case "phone":
			ok = seen.once(0) && d.optString(&pp.Phone)
		case "role":
			ok = seen.once(1) && d.optString(&pp.Role)
		default:
			ok = !keyMayMatch(key, moonbaseParticipantKeys) && d.Value(depth+1)
		}
		if !ok {
			return pp, false
		}
	}
}

// recording decodes one element of recordings, at depth.
func (d *moonbaseDecoder) recording(depth int) (moonbaseRecordingParams, bool) {
	var rp moonbaseRecordingParams
	if d.Peek() != '{' {
		return rp, false
	}
	d.Advance()
	var seen fieldsSeen
	for first := true; ; first = false {
		key, done, ok := d.Member(first)
		if !ok || done {
			return rp, ok
		}
		switch string(key) {
		case "content_type":
			ok = seen.once(0) && d.optString(&rp.ContentType)
		case "provider_id":
			ok = seen.once(1) && d.optString(&rp.ProviderID)
		case "url":
			ok = seen.once(2) && d.optString(&rp.URL)
		default:
			ok = !keyMayMatch(key, moonbaseRecordingKeys) && d.Value(depth+1)
		}
		if !ok {
			return rp, false
		}
	}
}

// transcript decodes the transcript (at depth 1): null leaves it nil, as
// encoding/json does; an object, even {}, makes one.
func (d *moonbaseDecoder) transcript(dst **moonbaseTranscriptParams) bool {
	switch d.Peek() {
	case 'n':
		return d.Literal("null")
	case '{':
	default:
		return false
	}
	d.Advance()
	t := new(moonbaseTranscriptParams)
	var seen fieldsSeen
	for first := true; ; first = false {
		key, done, ok := d.Member(first)
		if !ok {
			return false
		}
		if done {
			*dst = t
			return true
		}
		switch string(key) {
		case "cues":
			ok = seen.once(0) && d.cues(&t.Cues)
		default:
			ok = !keyMayMatch(key, moonbaseTranscriptKeys) && d.Value(2)
		}
		if !ok {
			return false
		}
	}
}

// cue decodes one element of transcript.cues, at depth.
func (d *moonbaseDecoder) cue(depth int) (moonbaseCueParams, bool) {
	var c moonbaseCueParams
	if d.Peek() != '{' {
		return c, false
	}
	d.Advance()
	var seen fieldsSeen
	for first := true; ; first = false {
		key, done, ok := d.Member(first)
		if !ok || done {
			return c, ok
		}
		switch string(key) {
		case "from":
			ok = seen.once(0) && d.raw(&c.From, depth+1)
		case "to":
			ok = seen.once(1) && d.raw(&c.To, depth+1)
		case "speaker":
			ok = seen.once(2) && d.optString(&c.Speaker)
		case "text":
			ok = seen.once(3) && d.optString(&c.Text)
		default:
			ok = !keyMayMatch(key, moonbaseCueKeys) && d.Value(depth+1)
		}
		if !ok {
			return c, false
		}
	}
}

// optString decodes a *string field: a string, or null, which leaves it
// nil as encoding/json does (the field was nil: repeats are declined).
func (d *moonbaseDecoder) optString(dst **string) bool {
	switch d.Peek() {
	case 'n':
		return d.Literal("null")
	case '"':
		start, end, escaped, ok := d.Str()
		if !ok {
			return false
		}
		*dst = d.strs.add(start, end, escaped)
		return true
	}
	return false
}

// raw decodes a json.RawMessage field, at depth: any valid JSON value,
// kept as the bytes it is in the body, without the whitespace around it,
// which is what encoding/json hands RawMessage.UnmarshalJSON (null too: it
// becomes the bytes "null", not nil). encoding/json copies the bytes; this
// keeps the body's, which the caller must copy to keep them past the
// request: the body's buffer is reused by the next (poolBodies).
// DecodeMoonbaseCall copies the provider metadata, and reads the cue times
// into decimals. The slice's capacity ends with the value (Scanner.Raw),
// so that appending to it copies rather than writing over the rest of the
// body.
func (d *moonbaseDecoder) raw(dst *json.RawMessage, depth int) bool {
	v, ok := d.Raw(depth)
	if ok {
		*dst = v
	}
	return ok
}

// listStart starts the value of a list field: null (consumed, isNull: it
// leaves the field nil, as encoding/json does), or a '[' (consumed), else
// it declines. The lists then gather their elements on the stack and copy
// them into a slice of the right size (exactCopy), one allocation for most
// lists. They are written out rather than one generic function taking the
// element's decoder: a function value makes the decoder escape, one more
// allocation.
func (d *moonbaseDecoder) listStart() (isNull, ok bool) {
	switch d.Peek() {
	case 'n':
		return true, d.Literal("null")
	case '[':
		d.Advance()
		return false, true
	}
	return false, false
}

// exactCopy returns list in a slice of its length, not nil even if empty:
// encoding/json makes [] an empty list, which DecodeMoonbaseCall tells from
// a missing one.
func exactCopy[T any](list []T) []T {
	return append(make([]T, 0, len(list)), list...)
}

// participants decodes the participants list (at depth 1).
func (d *moonbaseDecoder) participants(dst *[]moonbaseParticipantParams) bool {
	if isNull, ok := d.listStart(); isNull || !ok {
		return ok
	}
	var stack [8]moonbaseParticipantParams
	list := stack[:0]
	for first := true; ; first = false {
		done, ok := d.Element(first)
		if !ok {
			return false
		}
		if done {
			*dst = exactCopy(list)
			return true
		}
		v, ok := d.participant(2)
		if !ok {
			return false
		}
		list = append(list, v)
	}
}

// recordings decodes the recordings list (at depth 1).
func (d *moonbaseDecoder) recordings(dst *[]moonbaseRecordingParams) bool {
	if isNull, ok := d.listStart(); isNull || !ok {
		return ok
	}
	var stack [8]moonbaseRecordingParams
	list := stack[:0]
	for first := true; ; first = false {
		done, ok := d.Element(first)
		if !ok {
			return false
		}
		if done {
			*dst = exactCopy(list)
			return true
		}
		v, ok := d.recording(2)
		if !ok {
			return false
		}
		list = append(list, v)
	}
}

// cues decodes transcript.cues (at depth 2).
func (d *moonbaseDecoder) cues(dst *[]moonbaseCueParams) bool {
	if isNull, ok := d.listStart(); isNull || !ok {
		return ok
	}
	var stack [8]moonbaseCueParams
	list := stack[:0]
	for first := true; ; first = false {
		done, ok := d.Element(first)
		if !ok {
			return false
		}
		if done {
			*dst = exactCopy(list)
			return true
		}
		v, ok := d.cue(3)
		if !ok {
			return false
		}
		list = append(list, v)
	}
}

// fieldsSeen is the set of an object's fields decoded so far, by number,
// to decline a repeated one: encoding/json decodes the second value over
// the first, which for lists and pointers keeps parts of the first.
type fieldsSeen uint32

// once adds field n and reports whether it was not there yet.
func (s *fieldsSeen) once(n uint) bool {
	if *s&(1<<n) != 0 {
		return false
	}
	*s |= 1 << n
	return true
}

// keyMayMatch reports whether encoding/json might decode the value of key,
// which is not the exact name of a field, into one of the fields whose
// names keys lists (lowercase, without '_', separated by spaces): whether
// the key is not pure ASCII (Unicode case folding makes the Kelvin sign a
// k and ſ an s) or, lowercased, is one of them. It also ignores '_' and
// '-', as encoding/json/v2 can when it matches names case-insensitively,
// so that it stays right if encoding/json is built on v2
// (GOEXPERIMENT=jsonv2, under which the differential test passes too); it
// then declines a few keys ("providerid") that encoding/json ignores.
func keyMayMatch(key []byte, keys string) bool {
	// A key with more letters than folded holds matches no field name
	// (at most 17 letters), even if Unicode letters follow: each folds to
	// one letter.
	var folded [24]byte
	n := 0
	for _, c := range key {
		switch {
		case c >= utf8.RuneSelf:
			return true
		case c == '_' || c == '-':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if n == len(folded) {
			return false
		}
		folded[n] = c
		n++
	}
	for keys != "" {
		var name string
		name, keys, _ = strings.Cut(keys, " ")
		if name == string(folded[:n]) {
			return true
		}
	}
	return false
}
