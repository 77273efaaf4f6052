package projections

// This test is white-box on purpose: appendCall is an unexported hand-written
// encoder, and the guard it needs (every field of domain.Call is written) is
// about its code, not about behaviour visible through the API.

import (
	"encoding/json"
	"reflect"
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
		t.Fatalf("fill: unsupported kind %s (%s): teach fill and appendCall", v.Kind(), v.Type())
	}
}

// TestAppendCallCoversCall checks the hand-written call view encoder: a Call
// with every field set, and one with none, read back with encoding/json,
// equal what encoding/json's own output reads back as. A field added to
// domain.Call that appendCall does not write fails here.
func TestAppendCallCoversCall(t *testing.T) {
	var full domain.Call
	fill(t, reflect.ValueOf(&full).Elem(), 0)
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(storedCall{Version: 3, Call: tt.call})
			require.NoError(t, err)
			got, err := appendCall(nil, 3, &tt.call)
			require.NoError(t, err)
			require.True(t, json.Valid(got), "%s", got)

			var fromStd, fromOurs storedCall
			require.NoError(t, json.Unmarshal(want, &fromStd))
			require.NoError(t, json.Unmarshal(got, &fromOurs))
			assert.Equal(t, fromStd, fromOurs)
			assert.JSONEq(t, string(want), string(got))
		})
	}
}
