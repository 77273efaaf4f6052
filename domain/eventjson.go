package domain

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// appendEvent appends the stored JSON of the events every upsert writes
// (CallUpserted without details, routing or quality, and the lifecycle
// events), written by hand rather than by encoding/json's reflection: every
// write encodes them, and reflection over CallUpserted was most of an
// upsert's encoding time. The bytes are exactly those json.Marshal writes
// (a test compares them over many generated events). ok is false for an
// event it does not write (other types, and pointers to events, which
// Decide does not return), or a value it cannot write as json.Marshal
// would (a time json.Marshal refuses, provider metadata to escape): the
// caller then uses json.Marshal.
func appendEvent(dst []byte, e Event) (b []byte, ok bool) {
	w := eventWriter{b: dst}
	switch e := e.(type) {
	case CallUpserted:
		w.callUpserted(&e)
	case CallAnswered:
		w.callAnswered(&e)
	case CallTerminated:
		w.callTerminated(&e)
	case CallStatusChanged:
		w.callStatusChanged(&e)
	case CallCanceled:
		w.callCanceled(&e)
	default:
		return dst, false
	}
	if w.failed {
		return dst, false
	}
	return w.b, true
}

func (w *eventWriter) callUpserted(e *CallUpserted) {
	if e.Details != nil || e.Routing != nil || e.Quality != nil {
		w.failed = true // rarer facts: left to json.Marshal
		return
	}
	w.open()
	if e.Created {
		w.key("created")
		w.b = append(w.b, "true"...)
	}
	w.uuid("call_id", e.CallID)
	w.stringOmitEmpty("account_id", e.AccountID)
	w.stringOmitEmpty("provider", e.Provider)
	w.stringOmitEmpty("provider_id", e.ProviderID)
	w.stringPtr("direction", (*string)(e.Direction))
	w.stringPtr("from", e.From)
	w.stringPtr("to", e.To)
	w.timePtr("started_at", e.StartedAt)
	if e.ParentCallID != nil {
		w.uuid("parent_call_id", *e.ParentCallID)
	}
	if len(e.Participants) > 0 {
		w.key("participants")
		w.array(len(e.Participants), func(i int) {
			p := &e.Participants[i]
			w.open()
			w.uuid("id", p.ID)
			w.string("role", string(p.Role))
			w.string("phone", p.Phone)
			w.uuid("person_id", p.PersonID)
			w.close()
		})
	}
	w.rawOmitEmpty("provider_metadata", e.ProviderMetadata)
	if len(e.Recordings) > 0 {
		w.key("recordings")
		w.array(len(e.Recordings), func(i int) {
			r := &e.Recordings[i]
			w.open()
			w.string("content_type", r.ContentType)
			w.string("provider_id", r.ProviderID)
			w.string("url", r.URL)
			w.close()
		})
	}
	if e.Transcript != nil {
		w.key("transcript")
		w.transcript(e.Transcript)
	}
	w.close()
}

// transcript writes {"cues": [...]}; nil cues are null, as json.Marshal
// writes a nil slice without omitempty.
func (w *eventWriter) transcript(t *Transcript) {
	w.open()
	w.key("cues")
	if t.Cues == nil {
		w.b = append(w.b, "null"...)
	} else {
		w.array(len(t.Cues), func(i int) {
			c := &t.Cues[i]
			w.open()
			w.key("from")
			w.b = c.From.appendJSON(w.b)
			w.key("to")
			w.b = c.To.appendJSON(w.b)
			w.string("speaker", c.Speaker)
			w.string("text", c.Text)
			w.close()
		})
	}
	w.close()
}

func (w *eventWriter) callAnswered(e *CallAnswered) {
	w.open()
	w.time("answered_at", e.AnsweredAt)
	w.stringOmitEmpty("answered_by", e.AnsweredBy)
	w.statusWords(e.PreviousStatus, e.ProviderStatus, e.VoiceCallStatus)
	w.close()
}

func (w *eventWriter) callTerminated(e *CallTerminated) {
	w.open()
	w.time("ended_at", e.EndedAt)
	if e.DurationSeconds != nil {
		w.key("duration_seconds")
		w.b = strconv.AppendInt(w.b, *e.DurationSeconds, 10)
	}
	w.string("status", string(e.Status))
	w.statusWords(e.PreviousStatus, e.ProviderStatus, e.VoiceCallStatus)
	w.close()
}

func (w *eventWriter) callStatusChanged(e *CallStatusChanged) {
	w.open()
	w.string("status", string(e.Status))
	w.statusWords(e.PreviousStatus, e.ProviderStatus, e.VoiceCallStatus)
	w.stringPtr("answered_by", e.AnsweredBy)
	w.close()
}

func (w *eventWriter) callCanceled(e *CallCanceled) {
	w.open()
	w.time("canceled_at", e.CanceledAt)
	w.statusWords(e.PreviousStatus, e.ProviderStatus, e.VoiceCallStatus)
	w.close()
}

// statusWords writes the fields the lifecycle events share, in the order
// they declare them: previous_status, provider_status, voice_call_status.
func (w *eventWriter) statusWords(previous Status, provider, voiceCall *string) {
	w.stringOmitEmpty("previous_status", string(previous))
	w.stringPtr("provider_status", provider)
	w.stringPtr("voice_call_status", voiceCall)
}

// eventWriter appends a JSON object field by field, in the fields' struct
// order, placing the commas. failed records that a value cannot be written
// as json.Marshal writes it.
type eventWriter struct {
	b      []byte
	empty  bool // no field written yet in the innermost open object
	failed bool
}

func (w *eventWriter) open() {
	w.b = append(w.b, '{')
	w.empty = true
}

func (w *eventWriter) close() {
	w.b = append(w.b, '}')
	w.empty = false
}

// array writes an array of n elements, each written by element(i).
func (w *eventWriter) array(n int, element func(i int)) {
	w.b = append(w.b, '[')
	for i := range n {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		element(i)
	}
	w.b = append(w.b, ']')
}

// key writes the field's name, after a comma unless it is the first.
// Names are the constants of this file, which need no escaping.
func (w *eventWriter) key(name string) {
	if !w.empty {
		w.b = append(w.b, ',')
	}
	w.empty = false
	w.b = append(w.b, '"')
	w.b = append(w.b, name...)
	w.b = append(w.b, '"', ':')
}

func (w *eventWriter) string(name, v string) {
	w.key(name)
	w.b = appendJSONString(w.b, v)
}

func (w *eventWriter) stringOmitEmpty(name, v string) {
	if v != "" {
		w.string(name, v)
	}
}

func (w *eventWriter) stringPtr(name string, v *string) {
	if v != nil {
		w.string(name, *v)
	}
}

func (w *eventWriter) uuid(name string, id uuid.UUID) {
	w.key(name)
	w.b = append(w.b, '"')
	var text [36]byte
	w.b = appendUUID(w.b, &text, id)
	w.b = append(w.b, '"')
}

// appendUUID appends id in its canonical 36-character form, as
// uuid.UUID.MarshalText writes it, using text as scratch.
func appendUUID(dst []byte, text *[36]byte, id uuid.UUID) []byte {
	const hexDigits = "0123456789abcdef"
	j := 0
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			text[j] = '-'
			j++
		}
		text[j], text[j+1] = hexDigits[c>>4], hexDigits[c&0x0f]
		j += 2
	}
	return append(dst, text[:]...)
}

// time writes t as time.Time.MarshalJSON does. A UTC time of years 0 to
// 9999 is formatted in place; any other goes through MarshalJSON, whose
// error (a year out of range) leaves the event to json.Marshal.
func (w *eventWriter) time(name string, t time.Time) {
	w.key(name)
	if y := t.Year(); y >= 0 && y <= 9999 && t.Location() == time.UTC {
		w.b = append(w.b, '"')
		w.b = t.AppendFormat(w.b, time.RFC3339Nano)
		w.b = append(w.b, '"')
		return
	}
	q, err := t.MarshalJSON()
	if err != nil {
		w.failed = true
		return
	}
	w.b = append(w.b, q...)
}

func (w *eventWriter) timePtr(name string, t *time.Time) {
	if t != nil {
		w.time(name, *t)
	}
}

// rawOmitEmpty writes raw JSON compacted, as json.Marshal writes a
// json.RawMessage. json.Marshal also escapes <, >, & and U+2028/U+2029 in
// it, which json.Compact does not: such metadata, and JSON that is not
// valid, are left to json.Marshal.
func (w *eventWriter) rawOmitEmpty(name string, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	if bytes.ContainsAny(raw, "<>&\u2028\u2029") {
		w.failed = true
		return
	}
	w.key(name)
	buf := bytes.NewBuffer(w.b)
	if err := json.Compact(buf, raw); err != nil {
		w.failed = true
		return
	}
	w.b = buf.Bytes()
}
