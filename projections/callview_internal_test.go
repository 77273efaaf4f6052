package projections

// This test is white-box on purpose: appendCallView is an unexported
// hand-written encoder, and the guard it needs (every field of domain.Call is
// written) is about its code, not about behaviour visible through the API.

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// fill sets every field reachable from v to a non-zero value: strings,
// integers, bools, times, Decimals, uuids, pointers (allocated), slices (one
// element) and raw JSON. depth bounds the recursion.
func fill(t *testing.T, v reflect.Value, depth int) {
	t.Helper()
	require.Less(t, depth, 10, "type nests too deep for fill")
	switch v.Interface().(type) {
	case time.Time:
		v.Set(reflect.ValueOf(time.Date(2025, 2, 17, 15, 0, 0, 123456789, time.UTC)))
		return
	case domain.Decimal:
		v.Set(reflect.ValueOf(domain.MustParseDecimal("0.0135")))
		return
	case uuid.UUID:
		v.Set(reflect.ValueOf(uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")))
		return
	case json.RawMessage:
		v.Set(reflect.ValueOf(json.RawMessage(`{"a": [1, "x\u00e9"], "b": null}`)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("v \"quoted\" \\ \n\t\u2028 é <tag>&")
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(42)
	case reflect.Uint64, reflect.Uint32, reflect.Uint:
		v.SetUint(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), depth+1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0), depth+1)
	case reflect.Struct:
		for i := range v.NumField() {
			require.True(t, v.Type().Field(i).IsExported(), "%s.%s", v.Type(), v.Type().Field(i).Name)
			fill(t, v.Field(i), depth+1)
		}
	default:
		t.Fatalf("fill: unsupported kind %s (%s): teach fill and appendCallView", v.Kind(), v.Type())
	}
}

// TestCallViewCoversCall checks the hand-written binary call view: a Call
// with every field set, one with none, and edge cases read back equal to
// what was written. A field added to domain.Call that appendCallView does not
// write fails here.
func TestCallViewCoversCall(t *testing.T) {
	var full domain.Call
	fill(t, reflect.ValueOf(&full).Elem(), 0)
	offset := time.Date(2025, 3, 1, 9, 30, 0, 5, time.FixedZone("", -5*3600-30*60))
	tests := []struct {
		name string
		call domain.Call
	}{
		{"EveryField", full},
		{"Empty", domain.Call{}},
		{"FalseAndZeroPointers", domain.Call{
			DurationSeconds: new(int64),
			Details:         domain.Details{Transferred: new(bool)},
		}},
		{"NegativeDurationAndOffsetTimes", domain.Call{
			DurationSeconds: func() *int64 { d := int64(-3); return &d }(),
			StartedAt:       &offset,
			CreatedAt:       offset,
		}},
		{"BytesNotUTF8", domain.Call{AccountID: "a\xff\x00b", ProviderMetadata: json.RawMessage(`"x"`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := domain.State{Call: tt.call, Version: 3}
			v, err := appendCallView([]byte("prefix"), &want)
			require.NoError(t, err)
			require.Equal(t, "prefix", string(v[:6]), "appends to dst")
			got, err := decodeCall(v[6:])
			require.NoError(t, err)
			assert.Equal(t, want, got)

			for cut := 1; cut < len(v)-6; cut += 7 {
				_, err := decodeCall(v[6 : len(v)-cut])
				assert.ErrorIs(t, err, errBadValue, "cut %d bytes", cut)
			}
			_, err = decodeCall(append(v[6:], 0))
			assert.ErrorIs(t, err, errBadValue, "trailing byte")
		})
	}
}

// TestDecodeCallReadsLayout1 checks that call views written as JSON (layout
// 1, by earlier builds) still read back.
func TestDecodeCallReadsLayout1(t *testing.T) {
	var full domain.Call
	fill(t, reflect.ValueOf(&full).Elem(), 0)
	full.AccountID = "plain" // JSON would replace bytes that are not UTF-8
	b, err := json.Marshal(storedCall{Version: 4, Call: full})
	require.NoError(t, err)
	got, err := decodeCall(append([]byte{valueVersion}, b...))
	require.NoError(t, err)
	var want storedCall
	require.NoError(t, json.Unmarshal(b, &want))
	assert.Equal(t, domain.State{Call: want.Call, Version: 4}, got)

	_, err = decodeCall([]byte{9, '{', '}'})
	assert.ErrorIs(t, err, errBadValue, "unknown layout")
}

// TestDecodeCallRefusesUnknownLayout checks that a call view value with no
// version byte, or one no layout has, is refused as malformed (errBadValue,
// naming the version) rather than read by the nearest layout.
func TestDecodeCallRefusesUnknownLayout(t *testing.T) {
	for _, v := range [][]byte{nil, {0}, {callViewVersion + 1, 0}, {9, '{', '}'}} {
		_, err := decodeCall(v)
		assert.ErrorIs(t, err, errBadValue, "value % x", v)
		assert.ErrorContains(t, err, "call view version", "value % x", v)
	}
}

// layout3Of returns the call view of s in layout 3, version byte
// included: layout 4 without the routing's twiml and application_sid. The
// call's Twiml and ApplicationSID are markers, each written once in the
// view (under 128 bytes, so a one-byte length before each).
func layout3Of(t *testing.T, s domain.State) []byte {
	t.Helper()
	v, err := appendCallView(nil, &s)
	require.NoError(t, err)
	twiml, app := s.Call.Routing.Twiml, s.Call.Routing.ApplicationSID
	require.Equal(t, 1, bytes.Count(v, []byte(twiml)), "twiml marker written once")
	at := bytes.Index(v, []byte(twiml)) - 1
	require.Equal(t, byte(len(twiml)), v[at], "twiml's length byte")
	end := at + 1 + len(twiml) + 1 + len(app)
	require.Equal(t, byte(len(app)), v[at+1+len(twiml)], "application_sid's length byte, right after twiml")
	require.Equal(t, app, string(v[end-len(app):end]))
	return slices.Concat([]byte{callViewVersion3}, v[1:at], v[end:])
}

// fullWithMarkers returns a call with every field set, its routing's
// twiml and application_sid markers for layout3Of.
func fullWithMarkers(t *testing.T) domain.Call {
	var full domain.Call
	fill(t, reflect.ValueOf(&full).Elem(), 0)
	full.Routing.Twiml = "<Response><Say>twiml-marker</Say></Response>"
	full.Routing.ApplicationSID = "AP-application-sid-marker"
	return full
}

// TestDecodeCallReadsLayout3 checks that call views written in layout 3
// (layout 4 without the routing's twiml and application_sid, by builds
// before them) still read back, with both empty: those builds recorded
// neither, and refuse the events that carry them.
func TestDecodeCallReadsLayout3(t *testing.T) {
	full := fullWithMarkers(t)
	layout3 := layout3Of(t, domain.State{Call: full, Version: 6})

	got, err := decodeCall(layout3)
	require.NoError(t, err)
	want := full
	want.Routing.Twiml, want.Routing.ApplicationSID = "", ""
	assert.Equal(t, domain.State{Call: want, Version: 6}, got)

	v, err := appendCallView(nil, &domain.State{Call: full, Version: 6})
	require.NoError(t, err)
	require.Equal(t, byte(callViewVersion), v[0])
	_, err = decodeCall(slices.Concat([]byte{callViewVersion3}, v[1:]))
	assert.ErrorIs(t, err, errBadValue, "layout 4 bytes are not layout 3")
	_, err = decodeCall(slices.Concat([]byte{callViewVersion}, layout3[1:]))
	assert.ErrorIs(t, err, errBadValue, "layout 3 bytes are not layout 4")
}

// TestDecodeCallReadsLayout2 checks that call views written in layout 2
// (layout 3 without end_from_duration, by builds before it) still read
// back, with the flag false: those builds wrote no end_derived, so that is
// what the call's events fold to; and, like layout 3, without the
// routing's twiml and application_sid.
func TestDecodeCallReadsLayout2(t *testing.T) {
	full := fullWithMarkers(t)
	require.True(t, full.EndFromDuration)
	const marker = "answered-by-marker"
	full.AnsweredBy = marker
	v := layout3Of(t, domain.State{Call: full, Version: 5})
	// Layout 3 writes end_from_duration (one byte) right before answered_by
	// (a one-byte length, then the marker).
	at := bytes.Index(v, []byte(marker)) - 2
	require.Equal(t, byte(1), v[at], "the flag byte")
	layout2 := slices.Concat([]byte{callViewVersion2}, v[1:at], v[at+1:])

	got, err := decodeCall(layout2)
	require.NoError(t, err)
	want := full
	want.EndFromDuration = false
	want.Routing.Twiml, want.Routing.ApplicationSID = "", ""
	assert.Equal(t, domain.State{Call: want, Version: 5}, got)

	_, err = decodeCall(slices.Concat([]byte{callViewVersion2}, v[1:]))
	assert.ErrorIs(t, err, errBadValue, "layout 3 bytes are not layout 2")
}

// TestTranscriptViewBytesAsBefore holds the call view's transcript field to
// the bytes jsonPtr (json.Marshal) wrote for it before it was written by
// hand: the stored layout must not change. The cases cross the one- and
// two-byte lengths and need json.Marshal's escaping.
func TestTranscriptViewBytesAsBefore(t *testing.T) {
	dec := func(s string) domain.Decimal {
		d, err := domain.ParseDecimal(s)
		require.NoError(t, err)
		return d
	}
	cue := func(from, to, speaker, text string) domain.TranscriptCue {
		return domain.TranscriptCue{From: dec(from), To: dec(to), Speaker: speaker, Text: text}
	}
	long := make([]domain.TranscriptCue, 40)
	for i := range long {
		long[i] = cue("1.50", "12", "Ada", "a cue <b>&</b> \u2028 \xff \"quoted\" \\ \t")
	}
	tests := map[string]*domain.Transcript{
		"none":         nil,
		"nil cues":     {},
		"no cues":      {Cues: []domain.TranscriptCue{}},
		"one cue":      {Cues: []domain.TranscriptCue{cue("0", "2.250", "caller", "Hello")}},
		"short":        {Cues: []domain.TranscriptCue{cue("0.1", "0.2", "a", "b"), cue("0.000", "1000", "", "")}},
		"over 127":     {Cues: long[:2]},
		"over 16383":   {Cues: slices.Repeat(long, 10)},
		"escapes only": {Cues: []domain.TranscriptCue{cue("1", "2", "<&>", "\x00\x1f")}},
	}
	for name, tr := range tests {
		t.Run(name, func(t *testing.T) {
			for _, prefix := range [][]byte{nil, []byte("view so far")} {
				got := viewWriter{b: append([]byte(nil), prefix...)}
				got.transcript(tr)
				want := viewWriter{b: append([]byte(nil), prefix...)}
				want.jsonPtr(tr != nil, tr)
				require.NoError(t, want.err)
				assert.Equal(t, want.b, got.b)
			}
		})
	}
}
