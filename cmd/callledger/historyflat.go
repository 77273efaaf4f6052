package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// flatCall is a call flattened into dotted paths (flatten, over its JSON),
// kept by top-level field, so that the diff of each event of a timeline re-flattens
// only the fields the event changed, and of a recording appended only that
// recording: flattening and diffing the whole call at every event made
// `history` quadratic in the call's size (a scale probe: 81 s for a call of
// 6,000 recordings, more than 9 minutes for one of 98,600 events). A field
// is taken for unchanged when it is identical: the same value, the same
// pointer, or a slice with the same array and length (domain.Evolve and a
// Folding replace what they change, and a Folding that appends a recording
// into its own array leaves the recordings before it as they were). Its
// zero value is the empty call.
type flatCall struct {
	call   domain.Call
	fields map[string]map[string]string // top-level JSON name → its leaves
}

// callFields are the top-level fields of domain.Call as its JSON writes
// them, in struct order.
type callField struct {
	index     int
	name      string
	omitEmpty bool
}

// callFieldsOf lists domain.Call's JSON fields.
func callFieldsOf() []callField {
	t := reflect.TypeFor[domain.Call]()
	var out []callField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, callField{index: i, name: name, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")})
	}
	return out
}

// update makes f the call next and returns the changes from the call f was
// to it, sorted by path as diffFlat sorts them (created_at and updated_at
// left out, as every event changes them).
func (f *flatCall) update(fields []callField, next *domain.Call) []fieldChange {
	if f.fields == nil {
		f.fields = map[string]map[string]string{}
	}
	wasEmpty := f.call.ID == uuid.Nil && f.call.AccountID == ""
	isEmpty := next.ID == uuid.Nil && next.AccountID == ""
	before, after := reflect.ValueOf(&f.call).Elem(), reflect.ValueOf(next).Elem()
	var changes []fieldChange
	for _, cf := range fields {
		b, a := before.Field(cf.index), after.Field(cf.index)
		old := f.fields[cf.name]
		var leaves map[string]string
		switch {
		case isEmpty:
			leaves = nil
		case !wasEmpty && identical(b, a):
			continue
		case !wasEmpty && cf.name == "recordings" && appendedTo(b, a):
			// Only the recordings added are new leaves.
			leaves = old
			if leaves == nil {
				leaves = map[string]string{}
			}
			for i := b.Len(); i < a.Len(); i++ {
				added := map[string]string{}
				flattenValue(added, fmt.Sprintf("%s[%d]", cf.name, i), a.Index(i).Interface(), false)
				for k, v := range added {
					leaves[k] = v
					changes = append(changes, fieldChange{Field: k, After: v, Added: true})
				}
			}
			f.fields[cf.name] = leaves
			continue
		default:
			leaves = map[string]string{}
			if !(cf.omitEmpty && isEmptyValue(a)) {
				flattenValue(leaves, quoteKey(cf.name), a.Interface(), false)
			}
		}
		changes = append(changes, diffFlat(old, leaves)...) // leaves created_at and updated_at out
		f.fields[cf.name] = leaves
	}
	f.call = *next
	sort.Slice(changes, func(i, j int) bool { return changes[i].Field < changes[j].Field })
	return changes
}

// identical reports whether field value a is b as flatCall tells it:
// slices by array and length, everything else as == compares it
// (pointers by address), and a value that == cannot compare never.
func identical(b, a reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice:
		return a.Len() == b.Len() && (a.Len() == 0 || a.Pointer() == b.Pointer())
	default:
		if !a.Comparable() {
			return false
		}
		return a.Equal(b)
	}
}

// appendedTo reports whether slice a is slice b with elements appended in
// place: the same array, longer.
func appendedTo(b, a reflect.Value) bool {
	return b.Len() > 0 && a.Len() > b.Len() && a.Pointer() == b.Pointer()
}

// isEmptyValue is encoding/json's test of an omitempty field.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// flattenValue adds the leaves of v, rendered as JSON, under path, as
// flattenCall adds the call's.
func flattenValue(out map[string]string, path string, v any, verbatim bool) {
	raw, err := json.Marshal(v)
	if err != nil {
		out[path] = fmt.Sprintf("cannot render: %v", err)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		out[path] = fmt.Sprintf("cannot render: %v", err)
		return
	}
	flatten(out, path, x, verbatim)
}
