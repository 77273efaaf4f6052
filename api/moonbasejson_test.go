package api

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// TestAppendMoonbaseCallIsJSONMarshal checks that the hand-written Moonbase
// Call encoder writes exactly what json.Marshal writes of moonbaseCallOf,
// over generated calls, and that it writes most of them itself.
func TestAppendMoonbaseCallIsJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	words := []string{"", "call", "+14155551212", "openphone", `q"b\`, "<b>&", "é 日本", "\x00\t\n", "bad\xffutf8", "a\u2028b"}
	word := func() string { return words[r.IntN(len(words))] }
	instant := func() time.Time {
		t := time.Unix(r.Int64N(400*365*24*3600)-150*365*24*3600, r.Int64N(1e9))
		if r.IntN(5) == 0 {
			t = t.In(time.FixedZone("CET", 3600))
		}
		if r.IntN(30) == 0 {
			t = time.Date(10000+r.IntN(10), 1, 1, 0, 0, 0, 0, time.UTC)
		}
		return t
	}
	maybeTime := func() *time.Time {
		if r.IntN(3) == 0 {
			return nil
		}
		t := instant()
		return &t
	}
	metadata := []string{"", `{"a":1}`, "{\n \"b\": [true, null, \"x y\"]\n}", `{"h":"<&>"}`, `{"bad":`}
	decimals := []string{"0", "1.50", "-0.0135", "123456789012345678901234.5", "7"}
	const n = 2000
	written := 0
	for i := range n {
		c := domain.Call{ID: uuid.New(), Direction: domain.Direction(word()), Status: domain.Status(word()),
			ProviderStatus: word(), Provider: word(), ProviderID: word(),
			ProviderMetadata: json.RawMessage(metadata[r.IntN(len(metadata))]),
			StartedAt:        maybeTime(), AnsweredAt: maybeTime(), EndedAt: maybeTime(),
			CreatedAt: instant(), UpdatedAt: instant()}
		if r.IntN(2) == 0 {
			c.Direction = domain.DirectionOutbound
		}
		for range r.IntN(4) {
			c.Participants = append(c.Participants, domain.Participant{ID: uuid.New(), Role: domain.Role(word()), Phone: word(), PersonID: uuid.New()})
		}
		for range r.IntN(3) {
			c.Recordings = append(c.Recordings, domain.Recording{ContentType: word(), ProviderID: word(), URL: word()})
		}
		if r.IntN(2) == 0 {
			c.Transcript = &domain.Transcript{}
			for range r.IntN(3) {
				c.Transcript.Cues = append(c.Transcript.Cues, domain.TranscriptCue{
					From: domain.MustParseDecimal(decimals[r.IntN(len(decimals))]), To: domain.MustParseDecimal(decimals[r.IntN(len(decimals))]),
					Speaker: word(), Text: word()})
			}
		}
		want, wantErr := json.Marshal(moonbaseCallOf(c))
		got, ok := appendMoonbaseCall(nil, &c)
		if !ok {
			continue
		}
		written++
		require.NoError(t, wantErr, "call %d: %#v", i, c)
		require.Equal(t, string(want), string(got), "call %d: %#v", i, c)
	}
	assert.Greater(t, written, n/2, "most calls are written by hand, not by json.Marshal")
}

// TestMoonbaseCallShapeIsPinned is a tripwire for appendMoonbaseCall,
// which writes moonbaseCall field by field: a field added to the answer (or
// to a type inside it) changes this list, and whoever adds it is sent to
// write it by hand too (and to extend the generated calls above).
func TestMoonbaseCallShapeIsPinned(t *testing.T) {
	var names []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct {
			return
		}
		for i := range typ.NumField() {
			name := prefix + strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]
			names = append(names, name)
			walk(name+".", typ.Field(i).Type)
		}
	}
	walk("", reflect.TypeFor[moonbaseCall]())
	assert.Equal(t, []string{
		"id", "type",
		"participants", "participants.id", "participants.type", "participants.role", "participants.phone",
		"participants.person", "participants.person.id", "participants.person.type",
		"created_at", "updated_at", "direction", "start_at", "answered_at", "end_at",
		"provider", "provider_id", "provider_status", "provider_metadata",
		"recordings", "recordings.content_type", "recordings.provider_id", "recordings.url",
		"transcript", "transcript.cues", "transcript.cues.from", "transcript.cues.to", "transcript.cues.speaker", "transcript.cues.text",
	}, names, "moonbaseCall changed: write the new field in appendMoonbaseCall too")
}

func TestVendorTimeIsTimeFormat(t *testing.T) {
	// Goal: the hand-written time writer gives time.Format's characters for
	// the vendor layout, for every time, offsets, sub-millisecond digits and
	// odd years included, in FormatTime and in the Moonbase answer.
	rng := rand.New(rand.NewPCG(3, 5))
	cases := []time.Time{
		{},
		time.Date(2025, 2, 17, 15, 0, 0, 0, time.UTC),
		time.Date(2025, 2, 17, 16, 0, 0, 999_999_999, time.FixedZone("+01", 3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 1_000_000, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 0, time.FixedZone("-0930", -(9*3600+1800))),
	}
	for range 2000 {
		cases = append(cases, time.Unix(rng.Int64N(400_000_000_000)-100_000_000_000, rng.Int64N(1e9)).
			In(time.FixedZone("", (rng.IntN(48)-24)*1800)))
	}
	for _, tm := range cases {
		want := tm.UTC().Format(vendorTimeLayout)
		assert.Equal(t, want, FormatTime(tm), tm.String())
		assert.Equal(t, `"`+want+`"`, string(appendVendorTime(nil, tm)), tm.String())
	}
}
