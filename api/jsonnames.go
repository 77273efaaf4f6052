package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/callledger/callledger/domain/jsonscan"
)

// checkJSONNames refuses what encoding/json decoded from body, a JSON
// text it accepted, into a value of type t other than the body says, in
// the objects it decodes into structs (a body's fields, a participant, a
// contact...):
//
//   - a key that is no field's name but one's in another case
//     ("TOTALPRICE", "Provider_Id"): encoding/json matches keys to fields
//     ignoring case, so such a key set the field, and one sent beside the
//     field itself overrode it, the last in the body winning (a VoiceCall
//     with "totalPrice":"1.50" and "TOTALPRICE":"999.00" billed 999.00;
//     "PROVIDER_ID" beside "provider_id" wrote to another call). The
//     vendors' APIs read their field names exactly, so it is a 400 naming
//     the key and the field's name;
//   - a field given twice with different values, of which encoding/json
//     keeps the last (and another reader of the body, a proxy's, may keep
//     the first): a 400 naming it, as LaML refuses a parameter given
//     twice. A field repeated with the same value is one value.
//
// Keys of no field in any case are left alone, as encoding/json leaves
// them, and so are objects decoded into maps or kept raw (Moonbase's
// provider_metadata, returned as given; LaML's parameters, which
// lamlParams checks itself). Errors name the key as the decoders' errors
// name fields ("participants[1].Role").
func checkJSONNames(body []byte, t reflect.Type) error {
	c := nameChecker{b: body}
	return c.value(t, "")
}

// nameChecker walks a JSON text that encoding/json accepted, so it checks
// no syntax: i is where it is in b. It recurses only where t does (into
// the fields of structs and the elements of their lists), so the depth of
// the text elsewhere costs no stack.
type nameChecker struct {
	b  []byte
	i  int
	sb strings.Builder
}

// optional is implemented by Opt, whose JSON is its Value's.
type optional interface{ valueType() reflect.Type }

// value checks the value at c.i, to be decoded into a value of type t,
// and steps over it.
func (c *nameChecker) value(t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if o, ok := reflect.Zero(t).Interface().(optional); ok {
		t = o.valueType()
	}
	switch c.peek() {
	case '{':
		if t.Kind() == reflect.Struct {
			return c.object(t, path)
		}
	case '[':
		if (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t.Elem().Kind() != reflect.Uint8 {
			c.i++
			for n := 0; c.peek() != ']'; n++ {
				if n > 0 {
					c.i++ // ','
				}
				if err := c.value(t.Elem(), fmt.Sprintf("%s[%d]", path, n)); err != nil {
					return err
				}
			}
			c.i++
			return nil
		}
	}
	c.skip()
	return nil
}

// object is value for an object decoded into the struct type t.
func (c *nameChecker) object(t reflect.Type, path string) error {
	fields := jsonFields(t)
	var seen map[string][]byte // a field's name → its value's text
	c.i++
	for n := 0; c.peek() != '}'; n++ {
		if n > 0 {
			c.i++ // ','
		}
		c.peek()
		key := c.key()
		c.peek()
		c.i++ // ':'
		f, exact := fields[key]
		if !exact {
			for name := range fields {
				if strings.EqualFold(name, key) {
					return Malformed(joinPath(path, key), "is not a field: field names are case-sensitive (did you mean %q?)", name)
				}
			}
			c.skip()
			continue
		}
		c.peek()
		start := c.i
		if err := c.value(f, joinPath(path, key)); err != nil {
			return err
		}
		raw := bytes.TrimRight(c.b[start:c.i], " \t\n\r") // skip ends a number at the ',' after
		if prev, ok := seen[key]; ok && !sameJSONValue(prev, raw) {
			return Malformed(joinPath(path, key), "is given twice, with different values")
		}
		if seen == nil {
			seen = make(map[string][]byte)
		}
		seen[key] = raw
	}
	c.i++
	return nil
}

// sameJSONValue reports whether the JSON values a and b are one value,
// however written: spaces, escapes, the order of members, a number's
// spelling (120, 120.0 and 1.2e2 are one duration; numbers are compared
// exactly, as decimals, not as the float64s two long ones may round to).
func sameJSONValue(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	va, okA := decodeJSONValue(a)
	vb, okB := decodeJSONValue(b)
	return okA && okB && equalJSONValues(va, vb)
}

// decodeJSONValue decodes b, numbers as json.Number.
func decodeJSONValue(b []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	return v, d.Decode(&v) == nil
}

// equalJSONValues reports whether a and b, decoded by decodeJSONValue,
// are equal, numbers by their exact decimal values.
func equalJSONValues(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		da, errA := decimal.NewFromString(string(a))
		db, errB := decimal.NewFromString(string(b))
		return errA == nil && errB == nil && da.Equal(db)
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, va := range a {
			if vb, ok := b[k]; !ok || !equalJSONValues(va, vb) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalJSONValues(a[i], b[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// key reads the string at c.i (its opening quote), a member's key, with
// its escapes decoded: encoding/json decodes keys before it matches them.
func (c *nameChecker) key() string {
	from := c.i + 1
	end := jsonscan.ClosingQuote(c.b, from)
	c.i = end + 1
	raw := c.b[from:end]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	c.sb.Reset()
	jsonscan.Unescape(&c.sb, raw)
	return c.sb.String()
}

// peek skips whitespace and returns the byte at c.i (0 at the end).
func (c *nameChecker) peek() byte {
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return c.b[c.i]
		}
	}
	return 0
}

// skip steps over the value at c.i, however deep, without recursion.
func (c *nameChecker) skip() {
	depth := 0
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case '"':
			c.i = jsonscan.ClosingQuote(c.b, c.i+1) + 1
			if depth == 0 {
				return
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return // the end of the object or list the value is in
			}
			depth--
			if depth == 0 {
				c.i++
				return
			}
		case ',':
			if depth == 0 {
				return
			}
		}
		c.i++
	}
}

// jsonFields maps the JSON names of t's exported fields to their types,
// as encoding/json names them (the json tag's name, else the field's).
// The fields of an embedded struct, which encoding/json promotes, are not
// listed: no request type embeds one.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// joinPath names the member key of the object at path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
