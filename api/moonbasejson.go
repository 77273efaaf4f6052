package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/domain/jsonwrite"
)

// writeMoonbaseCall answers with the Moonbase Call object of c: what
// writeJSON(moonbaseCallOf(*c)) writes, byte for byte, written by hand
// (appendMoonbaseCall) since every upsert answers with one; writeJSON
// writes what the hand-written encoder leaves to it. The object and its
// newline go out in one Write, from a buffer of answerBuffers.
func (s *Server) writeMoonbaseCall(w http.ResponseWriter, r *http.Request, status int, c *domain.Call) {
	buf := answerBuffers.get()
	defer answerBuffers.put(buf)
	b, ok := appendMoonbaseCall(slices.Grow((*buf)[:0], moonbaseCallSizeHint(c)+1), c)
	*buf = b
	if !ok {
		s.writeJSON(w, r, status, moonbaseCallOf(*c))
		return
	}
	b = append(b, '\n')
	*buf = b
	writeJSONLine(w, status, b)
}

// answerBuffers holds the buffers writeMoonbaseCall encodes answers in.
// Each upsert allocated ~1.2 KiB for its answer, which it no longer needs
// once written: the ResponseWriter has copied it by the time Write returns
// (an io.Writer must not retain p; net/http buffers it, captureWriter
// copies it into the idempotency record), and nothing else sees the
// buffer. None larger than 32 KiB is put back: the answer of a call with a
// long transcript can be far larger than most.
var answerBuffers = bufferPool{max: 32 << 10}

// moonbaseCallSizeHint is about the size of c's Moonbase Call object, a
// little over for unescaped strings: the answer's buffer is made once, not
// grown (the seed's answer is ~1.1 KiB).
func moonbaseCallSizeHint(c *domain.Call) int {
	n := 384 + len(c.Provider) + len(c.ProviderID) + len(c.ProviderStatus) + len(c.ProviderMetadata) +
		176*len(c.Participants)
	for i := range c.Participants {
		n += len(c.Participants[i].Phone)
	}
	for i := range c.Recordings {
		r := &c.Recordings[i]
		n += 56 + len(r.ContentType) + len(r.ProviderID) + len(r.URL)
	}
	if c.Transcript != nil {
		n += 16
		for i := range c.Transcript.Cues {
			cue := &c.Transcript.Cues[i]
			n += 64 + len(cue.Speaker) + len(cue.Text)
		}
	}
	return n
}

// appendMoonbaseCall appends json.Marshal(moonbaseCallOf(*c)), field by
// field in moonbaseCall's order; ok is false when c holds a value only
// json.Marshal writes right (provider metadata it escapes, or that is not
// valid JSON). A test compares the two over generated calls.
func appendMoonbaseCall(dst []byte, c *domain.Call) (b []byte, ok bool) {
	w := jsonwrite.Writer{B: dst}
	w.Open()
	w.UUID("id", c.ID)
	w.String("type", "call")
	w.Key("participants")
	w.Array(len(c.Participants), func(i int) {
		p := &c.Participants[i]
		w.Open()
		w.UUID("id", p.ID)
		w.String("type", "call_participant")
		w.String("role", string(p.Role))
		w.String("phone", p.Phone)
		w.Key("person")
		w.Open()
		w.UUID("id", p.PersonID)
		w.String("type", "item")
		w.Close()
		w.Close()
	})
	w.Key("created_at")
	w.B = appendVendorTime(w.B, c.CreatedAt)
	w.Key("updated_at")
	w.B = appendVendorTime(w.B, c.UpdatedAt)
	w.String("direction", domain.MoonbaseDirectionWord(c.Direction))
	w.Key("start_at")
	if c.StartedAt == nil {
		w.B = append(w.B, "null"...)
	} else {
		w.B = appendVendorTime(w.B, *c.StartedAt)
	}
	if c.AnsweredAt != nil {
		w.Key("answered_at")
		w.B = appendVendorTime(w.B, *c.AnsweredAt)
	}
	if c.EndedAt != nil {
		w.Key("end_at")
		w.B = appendVendorTime(w.B, *c.EndedAt)
	}
	w.String("provider", c.Provider)
	w.String("provider_id", c.ProviderID)
	w.String("provider_status", domain.MoonbaseProviderStatus(c))
	w.RawOmitEmpty("provider_metadata", c.ProviderMetadata)
	if len(c.Recordings) > 0 {
		w.Key("recordings")
		domain.WriteRecordingsJSON(&w, c.Recordings) // moonbaseRecording is domain.Recording
	}
	if c.Transcript != nil {
		w.Key("transcript")
		w.Open()
		w.Key("cues")
		// moonbaseCue's offsets are raw JSON numbers: the decimal's
		// digits, which need no compacting.
		w.Array(len(c.Transcript.Cues), func(i int) { domain.WriteCueJSON(&w, &c.Transcript.Cues[i], false) })
		w.Close()
	}
	w.Close()
	if w.Failed() {
		return dst, false
	}
	return w.B, true
}

// appendVendorTime appends FormatTime(t) as a JSON string: its characters
// (digits, '-', ':', '.', 'T', 'Z') need no escaping.
func appendVendorTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = appendTime(dst, t)
	return append(dst, '"')
}
