package domain

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// TestAppendEventWritesEveryField guards the hand-written event encoder
// against a field added to an event (or to a type inside one) later: it
// fills every exported field, found by reflection rather than listed, and
// requires the encoder to write the event itself, exactly as json.Marshal
// does. A field the encoder does not know makes the two differ.
func TestAppendEventWritesEveryField(t *testing.T) {
	for _, e := range []Event{CallUpserted{}, CallAnswered{}, CallTerminated{}, CallStatusChanged{}, CallCanceled{}} {
		name := reflect.TypeOf(e).Name()
		t.Run(name, func(t *testing.T) {
			v := reflect.New(reflect.TypeOf(e)).Elem()
			fillEveryField(t, v)
			ev := v.Interface().(Event)
			if u, ok := ev.(CallUpserted); ok {
				// The rarer facts are left to json.Marshal by design.
				u.Details, u.Routing, u.Quality = nil, nil, nil
				ev = u
			}
			got, ok := appendEvent(nil, ev)
			require.True(t, ok, "%s is not written by hand", name)
			want, err := json.Marshal(ev)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
		})
	}
}

// fillEveryField sets every exported field reachable from v to a value that
// is not its zero value, so that omitempty leaves none out.
func fillEveryField(t *testing.T, v reflect.Value) {
	t.Helper()
	if fillLeaf(v) {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillEveryField(t, v.Field(i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillEveryField(t, v.Elem())
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range s.Len() {
			fillEveryField(t, s.Index(i))
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			fillEveryField(t, v.Index(i))
		}
	default:
		t.Fatalf("fillEveryField: %s (%s) is not supported: extend it", v.Type(), v.Kind())
	}
}

// fillLeaf sets v, a leaf, to a value that is not its zero value, so that
// omitempty writes it, and reports whether v was one. The leaves are the
// types filled as one value (a time, a Decimal, a json.RawMessage, a
// uuid.UUID) and the strings, bools and numbers; any other v is left as it
// is. fillEveryField and the schema version test (as FillLeaf) both fill
// their leaves with it.
func fillLeaf(v reflect.Value) bool {
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 11, 21, 10, 30, 5, 123000000, time.UTC)))
		return true
	case reflect.TypeFor[Decimal]():
		v.Set(reflect.ValueOf(NewDecimal(decimal.RequireFromString("1.50"))))
		return true
	case reflect.TypeFor[json.RawMessage]():
		v.SetBytes([]byte(`{"k":1}`))
		return true
	case reflect.TypeFor[uuid.UUID]():
		v.Set(reflect.ValueOf(uuid.MustParse("11111111-1111-4111-8111-111111111111")))
		return true
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	default:
		return false
	}
	return true
}
