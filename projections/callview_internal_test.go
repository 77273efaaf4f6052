package projections

// This test is white-box on purpose: appendCallView is an unexported
// hand-written encoder, and the guard it needs (every field of domain.Call is
// written) is about its code, not about behaviour visible through the API.

import (
	"bytes"
	"encoding/hex"
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
// neither, and refuse the events that carry them. The bytes are those an
// old build wrote (layout3Golden), and those of today's writer with the
// two fields cut out (layout3Of), which must agree with them.
func TestDecodeCallReadsLayout3(t *testing.T) {
	var filled domain.Call
	fill(t, reflect.ValueOf(&filled).Elem(), 0)
	golden, err := hex.DecodeString(layout3Golden)
	require.NoError(t, err)
	full := fullWithMarkers(t)
	tests := []struct {
		name    string
		layout3 []byte
		call    domain.Call // the call written
	}{
		{"WrittenBy7c1283e", golden, filled},
		{"Layout4WithoutRouting", layout3Of(t, domain.State{Call: full, Version: 6}), full},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, byte(callViewVersion3), tt.layout3[0])
			got, err := decodeCall(tt.layout3)
			require.NoError(t, err)
			want := tt.call
			want.Routing.Twiml, want.Routing.ApplicationSID = "", ""
			assert.Equal(t, domain.State{Call: want, Version: 6}, got)
			_, err = decodeCall(slices.Concat([]byte{callViewVersion}, tt.layout3[1:]))
			assert.ErrorIs(t, err, errBadValue, "layout 3 bytes are not layout 4")
		})
	}
	assert.Equal(t, golden, tests[1].layout3,
		"today's writer without the routing's new fields writes what the old build wrote")

	v, err := appendCallView(nil, &domain.State{Call: full, Version: 6})
	require.NoError(t, err)
	require.Equal(t, byte(callViewVersion), v[0])
	_, err = decodeCall(slices.Concat([]byte{callViewVersion3}, v[1:]))
	assert.ErrorIs(t, err, errBadValue, "layout 4 bytes are not layout 3")
}

// TestDecodeCallReadsLayout2 checks that call views written in layout 2
// (layout 3 without end_from_duration, by builds before it) still read
// back, with the flag false: those builds wrote no end_derived, so that is
// what the call's events fold to; and, like layout 3, without the
// routing's twiml and application_sid. The bytes are those an old build
// wrote (layout2Golden), and those of layout 3 with the flag cut out.
func TestDecodeCallReadsLayout2(t *testing.T) {
	var filled domain.Call
	fill(t, reflect.ValueOf(&filled).Elem(), 0)
	golden, err := hex.DecodeString(layout2Golden)
	require.NoError(t, err)

	full := fullWithMarkers(t)
	require.True(t, full.EndFromDuration)
	const marker = "answered-by-marker"
	full.AnsweredBy = marker
	v := layout3Of(t, domain.State{Call: full, Version: 6})
	// Layout 3 writes end_from_duration (one byte) right before answered_by
	// (a one-byte length, then the marker).
	at := bytes.Index(v, []byte(marker)) - 2
	require.Equal(t, byte(1), v[at], "the flag byte")
	cut := slices.Concat([]byte{callViewVersion2}, v[1:at], v[at+1:])

	tests := []struct {
		name    string
		layout2 []byte
		call    domain.Call // the call written
	}{
		{"WrittenBy66e6bf4", golden, filled},
		{"Layout3WithoutTheFlag", cut, full},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, byte(callViewVersion2), tt.layout2[0])
			got, err := decodeCall(tt.layout2)
			require.NoError(t, err)
			want := tt.call
			want.EndFromDuration = false
			want.Routing.Twiml, want.Routing.ApplicationSID = "", ""
			assert.Equal(t, domain.State{Call: want, Version: 6}, got)
		})
	}

	_, err = decodeCall(slices.Concat([]byte{callViewVersion2}, v[1:]))
	assert.ErrorIs(t, err, errBadValue, "layout 3 bytes are not layout 2")
	_, err = decodeCall(slices.Concat([]byte{callViewVersion3}, golden[1:]))
	assert.ErrorIs(t, err, errBadValue, "layout 2 bytes are not layout 3")
}

// layout3Golden is the call view, in hex, that the build of commit 7c1283e
// (the last to write layout 3) wrote for a call filled by fill, at version
// 6: appendCallView's bytes as that build printed them. A stored format:
// never regenerate it.
const layout3Golden = "" +
	"03066ba7b8109dad11d180b400c04fd430c81c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c" +
	"76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820" +
	"c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f746564" +
	"22205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e26" +
	"1c76202271756f74656422205c200a09e280a820c3a9203c7461673e26207b2261223a205b312c2022785c7530306539" +
	"225d2c202262223a206e756c6c7d016ba7b8109dad11d180b400c04fd430c81c76202271756f74656422205c200a09e2" +
	"80a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e266ba7b8109dad11" +
	"d180b400c04fd430c81c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f746564" +
	"22205c200a09e280a820c3a9203c7461673e26010f010000000edf4545f0075bcd15ffff010f010000000edf4545f007" +
	"5bcd15ffff010f010000000edf4545f0075bcd15ffff0154011c76202271756f74656422205c200a09e280a820c3a920" +
	"3c7461673e260106302e3031333506302e303133351c76202271756f74656422205c200a09e280a820c3a9203c746167" +
	"3e26011c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09" +
	"e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e2601a7017b2263" +
	"756573223a5b7b2266726f6d223a22302e30313335222c22746f223a22302e30313335222c22737065616b6572223a22" +
	"76205c2271756f7465645c22205c5c205c6e5c745c753230323820c3a9205c75303033637461675c75303033655c7530" +
	"303236222c2274657874223a2276205c2271756f7465645c22205c5c205c6e5c745c753230323820c3a9205c75303033" +
	"637461675c75303033655c7530303236227d5d7d1c76202271756f74656422205c200a09e280a820c3a9203c7461673e" +
	"261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280" +
	"a820c3a9203c7461673e2601d3017b226964223a2276205c2271756f7465645c22205c5c205c6e5c745c753230323820" +
	"c3a9205c75303033637461675c75303033655c7530303236222c2266697273745f6e616d65223a2276205c2271756f74" +
	"65645c22205c5c205c6e5c745c753230323820c3a9205c75303033637461675c75303033655c7530303236222c226c61" +
	"73745f6e616d65223a2276205c2271756f7465645c22205c5c205c6e5c745c753230323820c3a9205c75303033637461" +
	"675c75303033655c7530303236222c2269735f756e6b6e6f776e223a747275657d0186017b2266697273745f6e616d65" +
	"223a2276205c2271756f7465645c22205c5c205c6e5c745c753230323820c3a9205c75303033637461675c7530303365" +
	"5c7530303236222c226c6173745f6e616d65223a2276205c2271756f7465645c22205c5c205c6e5c745c753230323820" +
	"c3a9205c75303033637461675c75303033655c7530303236227d01011c76202271756f74656422205c200a09e280a820" +
	"c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f746564" +
	"22205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e26" +
	"1c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a8" +
	"20c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f7465" +
	"6422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e" +
	"261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280" +
	"a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74" +
	"656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c746167" +
	"3e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e2" +
	"80a820c3a9203c7461673e26010f010000000edf4545f0075bcd15ffff1c76202271756f74656422205c200a09e280a8" +
	"20c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f7465" +
	"6422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e" +
	"261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280" +
	"a820c3a9203c7461673e260196027b22617564696f5f696e5f6d6f73223a22302e30313335222c227369705f72657375" +
	"6c745f636f6465223a2276205c2271756f7465645c22205c5c205c6e5c745c753230323820c3a9205c75303033637461" +
	"675c75303033655c7530303236222c22617564696f5f7274745f6176675f6d73223a34322c22617564696f5f7274745f" +
	"6d696e5f6d73223a34322c22617564696f5f7274745f6d61785f6d73223a34322c22617564696f5f6f75745f6a697474" +
	"65725f6d696e5f6d73223a34322c22617564696f5f6f75745f6a69747465725f6d61785f6d73223a34322c2261756469" +
	"6f5f6f75745f6a69747465725f6176675f6d73223a34322c22617564696f5f6f75745f6c6f73745f7061636b65747322" +
	"3a34327d016ba7b8109dad11d180b400c04fd430c8010f010000000edf4545f0075bcd15ffff0f010000000edf4545f0" +
	"075bcd15ffff0f010000000edf4545f0075bcd15ffff"

// layout2Golden is the call view, in hex, that the build of commit 66e6bf4
// (the last to write layout 2: the next, a315663, added
// end_from_duration) wrote for a call filled by fill, at version 6. A
// stored format: never regenerate it.
const layout2Golden = "" +
	"02066ba7b8109dad11d180b400c04fd430c81c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c" +
	"76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820" +
	"c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f746564" +
	"22205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e26" +
	"1c76202271756f74656422205c200a09e280a820c3a9203c7461673e26207b2261223a205b312c2022785c7530306539" +
	"225d2c202262223a206e756c6c7d016ba7b8109dad11d180b400c04fd430c81c76202271756f74656422205c200a09e2" +
	"80a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e266ba7b8109dad11" +
	"d180b400c04fd430c81c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f746564" +
	"22205c200a09e280a820c3a9203c7461673e26010f010000000edf4545f0075bcd15ffff010f010000000edf4545f007" +
	"5bcd15ffff010f010000000edf4545f0075bcd15ffff01541c76202271756f74656422205c200a09e280a820c3a9203c" +
	"7461673e260106302e3031333506302e303133351c76202271756f74656422205c200a09e280a820c3a9203c7461673e" +
	"26011c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e2" +
	"80a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e2601a7017b226375" +
	"6573223a5b7b2266726f6d223a22302e30313335222c22746f223a22302e30313335222c22737065616b6572223a2276" +
	"205c2271756f7465645c22205c5c205c6e5c745c753230323820c3a9205c75303033637461675c75303033655c753030" +
	"3236222c2274657874223a2276205c2271756f7465645c22205c5c205c6e5c745c753230323820c3a9205c7530303363" +
	"7461675c75303033655c7530303236227d5d7d1c76202271756f74656422205c200a09e280a820c3a9203c7461673e26" +
	"1c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a8" +
	"20c3a9203c7461673e2601d3017b226964223a2276205c2271756f7465645c22205c5c205c6e5c745c753230323820c3" +
	"a9205c75303033637461675c75303033655c7530303236222c2266697273745f6e616d65223a2276205c2271756f7465" +
	"645c22205c5c205c6e5c745c753230323820c3a9205c75303033637461675c75303033655c7530303236222c226c6173" +
	"745f6e616d65223a2276205c2271756f7465645c22205c5c205c6e5c745c753230323820c3a9205c7530303363746167" +
	"5c75303033655c7530303236222c2269735f756e6b6e6f776e223a747275657d0186017b2266697273745f6e616d6522" +
	"3a2276205c2271756f7465645c22205c5c205c6e5c745c753230323820c3a9205c75303033637461675c75303033655c" +
	"7530303236222c226c6173745f6e616d65223a2276205c2271756f7465645c22205c5c205c6e5c745c753230323820c3" +
	"a9205c75303033637461675c75303033655c7530303236227d01011c76202271756f74656422205c200a09e280a820c3" +
	"a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422" +
	"205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c" +
	"76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820" +
	"c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f746564" +
	"22205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e26" +
	"1c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a8" +
	"20c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f7465" +
	"6422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e" +
	"261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280" +
	"a820c3a9203c7461673e26010f010000000edf4545f0075bcd15ffff1c76202271756f74656422205c200a09e280a820" +
	"c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f746564" +
	"22205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a820c3a9203c7461673e26" +
	"1c76202271756f74656422205c200a09e280a820c3a9203c7461673e261c76202271756f74656422205c200a09e280a8" +
	"20c3a9203c7461673e260196027b22617564696f5f696e5f6d6f73223a22302e30313335222c227369705f726573756c" +
	"745f636f6465223a2276205c2271756f7465645c22205c5c205c6e5c745c753230323820c3a9205c7530303363746167" +
	"5c75303033655c7530303236222c22617564696f5f7274745f6176675f6d73223a34322c22617564696f5f7274745f6d" +
	"696e5f6d73223a34322c22617564696f5f7274745f6d61785f6d73223a34322c22617564696f5f6f75745f6a69747465" +
	"725f6d696e5f6d73223a34322c22617564696f5f6f75745f6a69747465725f6d61785f6d73223a34322c22617564696f" +
	"5f6f75745f6a69747465725f6176675f6d73223a34322c22617564696f5f6f75745f6c6f73745f7061636b657473223a" +
	"34327d016ba7b8109dad11d180b400c04fd430c8010f010000000edf4545f0075bcd15ffff0f010000000edf4545f007" +
	"5bcd15ffff0f010000000edf4545f0075bcd15ffff"

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
