package domain

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAppendEventIsJSONMarshal checks that the hand-written event encoder
// writes exactly what encoding/json writes, over many generated events of
// every type it writes (and some it leaves to json.Marshal), and that it
// does write most of them itself rather than falling back.
func TestAppendEventIsJSONMarshal(t *testing.T) {
	rows := []struct {
		name string
		gen  func(g *eventGen) Event
	}{
		{"CallUpserted", func(g *eventGen) Event { return g.callUpserted() }},
		{"CallAnswered", func(g *eventGen) Event {
			return CallAnswered{AnsweredAt: g.time(), AnsweredBy: g.maybeString(), PreviousStatus: Status(g.maybeString()),
				ProviderStatus: g.stringPtr(), VoiceCallStatus: g.stringPtr()}
		}},
		{"CallTerminated", func(g *eventGen) Event {
			return CallTerminated{EndedAt: g.time(), DurationSeconds: g.int64Ptr(), Status: Status(g.string()),
				PreviousStatus: Status(g.maybeString()), ProviderStatus: g.stringPtr(), VoiceCallStatus: g.stringPtr()}
		}},
		{"CallStatusChanged", func(g *eventGen) Event {
			return CallStatusChanged{Status: Status(g.string()), PreviousStatus: Status(g.maybeString()),
				ProviderStatus: g.stringPtr(), VoiceCallStatus: g.stringPtr(), AnsweredBy: g.stringPtr()}
		}},
		{"CallCanceled", func(g *eventGen) Event {
			return CallCanceled{CanceledAt: g.time(), PreviousStatus: Status(g.maybeString()),
				ProviderStatus: g.stringPtr(), VoiceCallStatus: g.stringPtr()}
		}},
	}
	const n = 3000
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			g := &eventGen{r: rand.New(rand.NewPCG(1, uint64(len(row.name))))}
			written := 0
			for i := range n {
				e := row.gen(g)
				want, wantErr := json.Marshal(e)
				got, err := MarshalEvent(e)
				if wantErr != nil {
					require.Error(t, err, "event %d: %#v", i, e)
					continue
				}
				require.NoError(t, err, "event %d: %#v", i, e)
				require.Equal(t, string(want), string(got), "event %d: %#v", i, e)
				if _, ok := appendEvent(nil, e); ok {
					written++
				}
			}
			assert.Greater(t, written, n*6/10, "most events are written by hand, not by json.Marshal")
		})
	}
}

// TestAppendEventAppends checks that AppendEvent appends to what dst
// holds exactly the bytes MarshalEvent returns, whether dst has room or
// not, and on an error returns dst as it was, with MarshalEvent's error;
// and that EventSizeHint covers the events it counts the fields of whose
// strings need no escaping and whose cue offsets are of usual length.
func TestAppendEventAppends(t *testing.T) {
	g := &eventGen{r: rand.New(rand.NewPCG(5, 8))}
	gens := []func() Event{
		func() Event { return g.callUpserted() },
		func() Event {
			return CallAnswered{AnsweredAt: g.time(), AnsweredBy: g.maybeString(), PreviousStatus: Status(g.maybeString()),
				ProviderStatus: g.stringPtr(), VoiceCallStatus: g.stringPtr()}
		},
		func() Event {
			return CallTerminated{EndedAt: g.time(), DurationSeconds: g.int64Ptr(), EndDerived: g.oneIn(2), Status: Status(g.string()),
				PreviousStatus: Status(g.maybeString()), ProviderStatus: g.stringPtr(), VoiceCallStatus: g.stringPtr()}
		},
		func() Event {
			return CallStatusChanged{Status: Status(g.string()), PreviousStatus: Status(g.maybeString()),
				ProviderStatus: g.stringPtr(), VoiceCallStatus: g.stringPtr(), AnsweredBy: g.stringPtr()}
		},
		func() Event {
			return CallCanceled{CanceledAt: g.time(), PreviousStatus: Status(g.maybeString()),
				ProviderStatus: g.stringPtr(), VoiceCallStatus: g.stringPtr()}
		},
		func() Event { return CallTimingChanged{EndedAt: g.timePtr(), DurationSeconds: g.int64Ptr()} },
		func() Event { return CallDeleted{DeletedAt: g.time()} },
	}
	covered := 0
	for i := range 6000 {
		e := gens[i%len(gens)]()
		want, wantErr := MarshalEvent(e)
		prefix := []byte(`{"before":1}`)
		if g.oneIn(2) {
			prefix = append(make([]byte, 0, 4096), prefix...)
		}
		got, err := AppendEvent(prefix, e)
		if wantErr != nil {
			require.EqualError(t, err, wantErr.Error(), "event %d: %#v", i, e)
			require.Equal(t, `{"before":1}`, string(got), "event %d: dst as it was", i)
			continue
		}
		require.NoError(t, err, "event %d: %#v", i, e)
		require.Equal(t, `{"before":1}`+string(want), string(got), "event %d: %#v", i, e)
		if _, ok := appendEvent(nil, e); ok && plainJSON(want) && usualCueOffsets(e) {
			require.LessOrEqual(t, len(want), EventSizeHint(e), "event %d: %s", i, want)
			covered++
		}
	}
	assert.Greater(t, covered, 300, "the hint is checked on many events")
}

// plainJSON reports whether b, JSON, is ASCII with no escape: none of its
// strings was written longer than it is.
func plainJSON(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// usualCueOffsets reports whether e has no cue offset written longer than
// cueOffsetSizeHint, which EventSizeHint counts each at.
func usualCueOffsets(e Event) bool {
	u, ok := e.(CallUpserted)
	if !ok || u.Transcript == nil {
		return true
	}
	for _, c := range u.Transcript.Cues {
		if len(c.From.appendJSON(nil)) > cueOffsetSizeHint || len(c.To.appendJSON(nil)) > cueOffsetSizeHint {
			return false
		}
	}
	return true
}

func TestAppendEventLeavesOthersToJSONMarshal(t *testing.T) {
	dir := DirectionInbound
	rows := []struct {
		name string
		e    Event
	}{
		{"another type", CallDeleted{DeletedAt: time.Unix(0, 0).UTC()}},
		{"details", CallUpserted{Details: &DetailsChanges{}}},
		{"routing", CallUpserted{Routing: &CallRoutingChanged{}}},
		{"quality", CallUpserted{Quality: &Quality{}}},
		{"html in provider metadata", CallUpserted{ProviderMetadata: json.RawMessage(`{"a":"<b>"}`)}},
		{"invalid provider metadata", CallUpserted{ProviderMetadata: json.RawMessage(`{"a":`), Direction: &dir}},
		{"year 10000", CallAnswered{AnsweredAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"a pointer", &CallAnswered{AnsweredAt: time.Unix(0, 0).UTC()}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			_, ok := appendEvent(nil, row.e)
			assert.False(t, ok)
			want, wantErr := json.Marshal(row.e)
			got, err := MarshalEvent(row.e)
			if wantErr != nil {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
}

// eventGen generates event field values: mostly ordinary ones, sometimes
// empty, absent, escaped, non-ASCII, in another zone or out of range.
type eventGen struct{ r *rand.Rand }

func (g *eventGen) oneIn(n int) bool { return g.r.IntN(n) == 0 }

var genStrings = []string{"", "a", "completed", "+14155551212", "openphone_id_000000000006", `quote " back \`,
	"tab\tnl\n", "<html>&amp;", "é ü 日本", "\x00\x1f\x7f", "bad\xffutf8", "line\u2028sep", "https://example.com/r1.mp3?a=1&b=2"}

func (g *eventGen) string() string {
	if g.oneIn(3) {
		var b strings.Builder
		for range g.r.IntN(12) {
			b.WriteString(genStrings[g.r.IntN(len(genStrings))])
		}
		return b.String()
	}
	return genStrings[g.r.IntN(len(genStrings))]
}

func (g *eventGen) maybeString() string {
	if g.oneIn(3) {
		return ""
	}
	return g.string()
}

func (g *eventGen) stringPtr() *string {
	if g.oneIn(2) {
		return nil
	}
	s := g.string()
	return &s
}

func (g *eventGen) int64Ptr() *int64 {
	if g.oneIn(2) {
		return nil
	}
	v := g.r.Int64() >> g.r.IntN(64)
	if g.oneIn(2) {
		v = -v
	}
	return &v
}

var genZones = []*time.Location{time.FixedZone("CET", 3600), time.FixedZone("odd", -(9*3600 + 30*60 + 15)),
	time.FixedZone("UTC", 0), time.FixedZone("far", 25*3600)}

func (g *eventGen) time() time.Time {
	sec := g.r.Int64N(300*365*24*3600) - 100*365*24*3600 // 1870 to 2170
	t := time.Unix(sec, 0).UTC()
	switch g.r.IntN(4) {
	case 0:
		t = t.Add(time.Duration(g.r.IntN(1e9)))
	case 1:
		t = t.Add(time.Duration(g.r.IntN(1000)) * time.Millisecond)
	}
	switch {
	case g.oneIn(10):
		t = t.In(genZones[g.r.IntN(len(genZones))])
	case g.oneIn(50):
		t = time.Date(-1-g.r.IntN(100), 1, 1, 0, 0, 0, 0, time.UTC)
	case g.oneIn(50):
		t = time.Date(10000+g.r.IntN(100), 1, 1, 0, 0, 0, 0, time.UTC)
	case g.oneIn(50):
		t = time.Time{}
	}
	return t
}

func (g *eventGen) timePtr() *time.Time {
	if g.oneIn(3) {
		return nil
	}
	t := g.time()
	return &t
}

func (g *eventGen) uuid() uuid.UUID {
	if g.oneIn(20) {
		return uuid.Nil
	}
	var id uuid.UUID
	for i := range id {
		id[i] = byte(g.r.Uint32())
	}
	return id
}

func (g *eventGen) decimal() Decimal {
	digits := g.r.IntN(25) + 1
	var b strings.Builder
	if g.oneIn(4) {
		b.WriteByte('-')
	}
	for i := range digits {
		if i == 0 {
			b.WriteByte(byte('1' + g.r.IntN(9)))
		} else {
			b.WriteByte(byte('0' + g.r.IntN(10)))
		}
	}
	d, err := decimal.NewFromString(b.String())
	if err != nil {
		panic(err)
	}
	if g.oneIn(10) {
		return Decimal{}
	}
	return Decimal{d.Shift(-int32(g.r.IntN(digits + 3)))}
}

var genMetadata = []string{`{"answered_by":"UShjUatqtF","user_id":"UShjUatqtF"}`,
	"{\n  \"a\": [1, 2.5, true, null],\n  \"b\": {\"c\": \"d e\"}\n}", `{}`, `{"x":"\u00e9\n"}`, `{"u":"日本"}`,
	"{\"sep\":\"a\u2028b\u2029\"}", `{"h":"<&>"}`}

func (g *eventGen) callUpserted() CallUpserted {
	e := CallUpserted{Created: g.oneIn(2), CallID: g.uuid(), AccountID: g.maybeString(), Provider: g.maybeString(),
		ProviderID: g.maybeString(), From: g.stringPtr(), To: g.stringPtr(), StartedAt: g.timePtr()}
	if !g.oneIn(3) {
		d := Direction(g.string())
		e.Direction = &d
	}
	if g.oneIn(5) {
		id := g.uuid()
		e.ParentCallID = &id
	}
	if !g.oneIn(4) {
		e.Participants = make([]Participant, g.r.IntN(4))
		for i := range e.Participants {
			e.Participants[i] = Participant{ID: g.uuid(), Role: Role(g.maybeString()), Phone: g.maybeString(), PersonID: g.uuid()}
		}
	}
	if !g.oneIn(3) {
		e.ProviderMetadata = json.RawMessage(genMetadata[g.r.IntN(len(genMetadata))])
	}
	if g.oneIn(2) {
		e.Recordings = make([]Recording, g.r.IntN(3))
		for i := range e.Recordings {
			e.Recordings[i] = Recording{ContentType: g.maybeString(), ProviderID: g.maybeString(), URL: g.maybeString()}
		}
	}
	if g.oneIn(2) {
		e.Transcript = &Transcript{}
		if !g.oneIn(5) {
			e.Transcript.Cues = make([]TranscriptCue, g.r.IntN(3))
			for i := range e.Transcript.Cues {
				e.Transcript.Cues[i] = TranscriptCue{From: g.decimal(), To: g.decimal(), Speaker: g.maybeString(), Text: g.maybeString()}
			}
		}
	}
	switch g.r.IntN(30) {
	case 0:
		e.Details = &DetailsChanges{Notes: g.stringPtr()}
	case 1:
		e.Routing = &CallRoutingChanged{URL: g.stringPtr()}
	case 2:
		e.Quality = &Quality{SIPResultCode: g.maybeString()}
	}
	return e
}
