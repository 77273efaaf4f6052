package domain

import (
	"slices"
	"strconv"

	"github.com/callledger/callledger/domain/jsonwrite"
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
	w := eventWriter{jsonwrite.Writer{B: dst}}
	switch e := e.(type) {
	case CallUpserted:
		if e.Details != nil || e.Routing != nil || e.Quality != nil {
			return dst, false // rarer facts: left to json.Marshal
		}
		w.B = slices.Grow(dst, upsertedSizeHint(&e))
		w.callUpserted(&e)
	case CallAnswered:
		w.B = slices.Grow(dst, answeredSizeHint(&e))
		w.callAnswered(&e)
	case CallTerminated:
		w.B = slices.Grow(dst, terminatedSizeHint(&e))
		w.callTerminated(&e)
	case CallStatusChanged:
		w.B = slices.Grow(dst, statusChangedSizeHint(&e))
		w.callStatusChanged(&e)
	case CallCanceled:
		w.B = slices.Grow(dst, canceledSizeHint(&e))
		w.callCanceled(&e)
	default:
		return dst, false // not written here: no buffer grown for json.Marshal's turn
	}
	if w.Failed() {
		return dst, false
	}
	return w.B, true
}

// callUpserted writes e, which has no details, routing or quality.
func (w *eventWriter) callUpserted(e *CallUpserted) {
	w.Open()
	if e.Created {
		w.Key("created")
		w.B = append(w.B, "true"...)
	}
	w.UUID("call_id", e.CallID)
	w.StringOmitEmpty("account_id", e.AccountID)
	w.StringOmitEmpty("provider", e.Provider)
	w.StringOmitEmpty("provider_id", e.ProviderID)
	w.StringPtr("direction", (*string)(e.Direction))
	w.StringPtr("from", e.From)
	w.StringPtr("to", e.To)
	w.TimePtr("started_at", e.StartedAt)
	if e.ParentCallID != nil {
		w.UUID("parent_call_id", *e.ParentCallID)
	}
	if len(e.Participants) > 0 {
		w.Key("participants")
		w.Array(len(e.Participants), func(i int) {
			p := &e.Participants[i]
			w.Open()
			w.UUID("id", p.ID)
			w.String("role", string(p.Role))
			w.String("phone", p.Phone)
			w.UUID("person_id", p.PersonID)
			w.Close()
		})
	}
	w.RawOmitEmpty("provider_metadata", e.ProviderMetadata)
	if len(e.Recordings) > 0 {
		w.Key("recordings")
		WriteRecordingsJSON(&w.Writer, e.Recordings)
	}
	if e.Transcript != nil {
		w.Key("transcript")
		WriteTranscriptJSON(&w.Writer, e.Transcript)
	}
	w.Close()
}

// WriteRecordingsJSON writes recordings as json.Marshal writes a
// []Recording; the Moonbase surface shows them in the same shape.
func WriteRecordingsJSON(w *jsonwrite.Writer, recordings []Recording) {
	w.Array(len(recordings), func(i int) {
		r := &recordings[i]
		w.Open()
		w.String("content_type", r.ContentType)
		w.String("provider_id", r.ProviderID)
		w.String("url", r.URL)
		w.Close()
	})
}

// The size hints are about the length of an event's JSON, or a little
// more, so that writing it does not grow the buffer (an allocation and a
// copy each time, which cost as much as writing the event). They count the
// fields the event writes, its strings as written when they need no
// escaping: a lifecycle event took 192 bytes for every one of them
// (CallAnswered writes about 40), which both overallocated MarshalEvent's
// buffers and made a buffer that several events are appended into grow.

// EventSizeHint returns about the length of e's stored data, or a little
// more, for a writer presizing the buffer it appends the events of a
// write into (AppendEvent). For the events AppendEvent writes by hand
// it counts their fields; for the others it is a rough guess.
func EventSizeHint(e Event) int {
	switch e := e.(type) {
	case CallUpserted:
		return upsertedSizeHint(&e)
	case CallAnswered:
		return answeredSizeHint(&e)
	case CallTerminated:
		return terminatedSizeHint(&e)
	case CallStatusChanged:
		return statusChangedSizeHint(&e)
	case CallCanceled:
		return canceledSizeHint(&e)
	}
	return otherEventSizeHint
}

// otherEventSizeHint is EventSizeHint's guess for the events json.Marshal
// writes: the size of a timing, price or details change.
const otherEventSizeHint = 256

// timeSizeMax is the longest JSON time, quoted:
// "2006-01-02T15:04:05.999999999-07:00".
const timeSizeMax = len(`"2006-01-02T15:04:05.999999999-07:00"`)

// The lengths of the fields the lifecycle events may write, beyond their
// strings' contents: a name, its quotes, colon and comma, and a value's
// quotes.
const (
	statusFieldSize             = len(`,"status":""`)
	previousStatusFieldSize     = len(`,"previous_status":""`)
	providerStatusFieldSize     = len(`,"provider_status":""`)
	voiceCallStatusFieldSize    = len(`,"voice_call_status":""`)
	answeredByFieldSize         = len(`,"answered_by":""`)
	durationSecondsFieldSizeMax = len(`,"duration_seconds":-9223372036854775808`)
	endDerivedFieldSize         = len(`,"end_derived":true`)
)

// stringFieldHint is the size of a string field of the given size (its
// name and punctuation) holding v, or 0 when it is not written (omitted
// when empty).
func stringFieldHint(size int, v string) int {
	if v == "" {
		return 0
	}
	return size + len(v)
}

// stringPtrFieldHint is stringFieldHint of a *string field: written when
// not nil.
func stringPtrFieldHint(size int, v *string) int {
	if v == nil {
		return 0
	}
	return size + len(*v)
}

// statusWordsHint is the size of statusWords' fields.
func statusWordsHint(previous Status, provider, voiceCall *string) int {
	return stringFieldHint(previousStatusFieldSize, string(previous)) +
		stringPtrFieldHint(providerStatusFieldSize, provider) +
		stringPtrFieldHint(voiceCallStatusFieldSize, voiceCall)
}

func answeredSizeHint(e *CallAnswered) int {
	return len(`{"answered_at":}`) + timeSizeMax + stringFieldHint(answeredByFieldSize, e.AnsweredBy) +
		statusWordsHint(e.PreviousStatus, e.ProviderStatus, e.VoiceCallStatus)
}

func terminatedSizeHint(e *CallTerminated) int {
	n := len(`{"ended_at":}`) + timeSizeMax + statusFieldSize + len(e.Status) +
		statusWordsHint(e.PreviousStatus, e.ProviderStatus, e.VoiceCallStatus)
	if e.DurationSeconds != nil {
		n += durationSecondsFieldSizeMax
	}
	if e.EndDerived {
		n += endDerivedFieldSize
	}
	return n
}

func statusChangedSizeHint(e *CallStatusChanged) int {
	return len(`{"status":""}`) + len(e.Status) + statusWordsHint(e.PreviousStatus, e.ProviderStatus, e.VoiceCallStatus) +
		stringPtrFieldHint(answeredByFieldSize, e.AnsweredBy)
}

func canceledSizeHint(e *CallCanceled) int {
	return len(`{"canceled_at":}`) + timeSizeMax + statusWordsHint(e.PreviousStatus, e.ProviderStatus, e.VoiceCallStatus)
}

// upsertedSizeHint is the size hint of e (without details, routing or
// quality). A cue's offsets are counted at cueOffsetSizeHint each.
func upsertedSizeHint(e *CallUpserted) int {
	n := len(`{"created":true,"call_id":""}`) + uuidSize +
		stringFieldHint(len(`,"account_id":""`), e.AccountID) +
		stringFieldHint(len(`,"provider":""`), e.Provider) +
		stringFieldHint(len(`,"provider_id":""`), e.ProviderID) +
		stringPtrFieldHint(len(`,"direction":""`), (*string)(e.Direction)) +
		stringPtrFieldHint(len(`,"from":""`), e.From) +
		stringPtrFieldHint(len(`,"to":""`), e.To)
	if e.StartedAt != nil {
		n += len(`,"started_at":`) + timeSizeMax
	}
	if e.ParentCallID != nil {
		n += len(`,"parent_call_id":""`) + uuidSize
	}
	if len(e.Participants) > 0 {
		n += len(`,"participants":[]`)
		for _, p := range e.Participants {
			n += len(`,{"id":"","role":"","phone":"","person_id":""}`) + 2*uuidSize + len(p.Role) + len(p.Phone)
		}
	}
	if len(e.ProviderMetadata) > 0 {
		n += len(`,"provider_metadata":`) + len(e.ProviderMetadata)
	}
	if len(e.Recordings) > 0 {
		n += len(`,"recordings":[]`)
		for _, r := range e.Recordings {
			n += len(`,{"content_type":"","provider_id":"","url":""}`) + len(r.ContentType) + len(r.ProviderID) + len(r.URL)
		}
	}
	if e.Transcript != nil {
		n += len(`,"transcript":{"cues":[]}`)
		for _, c := range e.Transcript.Cues {
			n += len(`,{"from":"","to":"","speaker":"","text":""}`) + 2*cueOffsetSizeHint + len(c.Speaker) + len(c.Text)
		}
	}
	return n
}

// uuidSize is the length of a UUID's text.
const uuidSize = 36

// cueOffsetSizeHint is the length a cue's offset is counted at: the
// digits, sign and point of a decimal of up to 22 digits.
const cueOffsetSizeHint = 24

// WriteTranscriptJSON writes t as json.Marshal writes a *Transcript:
// {"cues": [...]}, nil cues as null (the field has no omitempty). Stored
// events and the read models' call views hold a transcript in this form,
// and most calls carry one.
func WriteTranscriptJSON(w *jsonwrite.Writer, t *Transcript) {
	w.Open()
	w.Key("cues")
	if t.Cues == nil {
		w.B = append(w.B, "null"...)
	} else {
		w.Array(len(t.Cues), func(i int) { WriteCueJSON(w, &t.Cues[i], true) })
	}
	w.Close()
}

// WriteCueJSON writes a transcript cue, {"from", "to", "speaker", "text"},
// its offsets as JSON strings when quoted (as events and call views store
// them, json.Marshal's form of a Decimal) or else as bare JSON numbers (as
// the Moonbase surface shows them): either way the decimal's digits.
func WriteCueJSON(w *jsonwrite.Writer, c *TranscriptCue, quoted bool) {
	offset := func(name string, d Decimal) {
		w.Key(name)
		if quoted {
			w.B = d.appendJSON(w.B)
		} else {
			w.B = d.AppendString(w.B)
		}
	}
	w.Open()
	offset("from", c.From)
	offset("to", c.To)
	w.String("speaker", c.Speaker)
	w.String("text", c.Text)
	w.Close()
}

func (w *eventWriter) callAnswered(e *CallAnswered) {
	w.Open()
	w.Time("answered_at", e.AnsweredAt)
	w.StringOmitEmpty("answered_by", e.AnsweredBy)
	w.statusWords(e.PreviousStatus, e.ProviderStatus, e.VoiceCallStatus)
	w.Close()
}

func (w *eventWriter) callTerminated(e *CallTerminated) {
	w.Open()
	w.Time("ended_at", e.EndedAt)
	if e.DurationSeconds != nil {
		w.Key("duration_seconds")
		w.B = strconv.AppendInt(w.B, *e.DurationSeconds, 10)
	}
	if e.EndDerived {
		w.Key("end_derived")
		w.B = append(w.B, "true"...)
	}
	w.String("status", string(e.Status))
	w.statusWords(e.PreviousStatus, e.ProviderStatus, e.VoiceCallStatus)
	w.Close()
}

func (w *eventWriter) callStatusChanged(e *CallStatusChanged) {
	w.Open()
	w.String("status", string(e.Status))
	w.statusWords(e.PreviousStatus, e.ProviderStatus, e.VoiceCallStatus)
	w.StringPtr("answered_by", e.AnsweredBy)
	w.Close()
}

func (w *eventWriter) callCanceled(e *CallCanceled) {
	w.Open()
	w.Time("canceled_at", e.CanceledAt)
	w.statusWords(e.PreviousStatus, e.ProviderStatus, e.VoiceCallStatus)
	w.Close()
}

// eventWriter writes the events appendEvent writes.
type eventWriter struct{ jsonwrite.Writer }

// statusWords writes the fields the lifecycle events share, in the order
// they declare them: previous_status, provider_status, voice_call_status.
func (w *eventWriter) statusWords(previous Status, provider, voiceCall *string) {
	w.StringOmitEmpty("previous_status", string(previous))
	w.StringPtr("provider_status", provider)
	w.StringPtr("voice_call_status", voiceCall)
}
