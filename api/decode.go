package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/domain/jsonscan"
)

// ReadBody reads the whole request body (already capped by the server's
// body limit). A body over the cap is ErrBodyTooLarge (413); a broken
// connection is ErrMalformed. The body read is kept in the request's scope
// and returned again to a later call (r.Body is spent by then): the
// Idempotent middleware reads a keyed write's body to fingerprint it, then
// the handler reads it. On routes under poolBodies the body is read into a
// buffer of bodyBuffers that the scope holds until the request ends: it
// must not be kept past the request.
//
// A UTF-8 byte order mark that starts the body is dropped: RFC 8259 section
// 8.1 lets a JSON parser ignore one, some clients (.NET's and PowerShell's
// writers among them) send one, and neither a JSON nor a form body means
// anything by it. Offsets that errors name count from after it.
func ReadBody(r *http.Request) ([]byte, error) {
	sc := scopeFrom(r.Context())
	if sc != nil && sc.bodyRead {
		return sc.body, nil
	}
	if r.Body == nil {
		return nil, nil
	}
	var dst []byte
	if sc != nil && sc.poolBody {
		if sc.bodyBuf == nil {
			sc.bodyBuf = bodyBuffers.get()
		}
		dst = (*sc.bodyBuf)[:0]
	}
	b, err := readAllTo(dst, r.Body, r.ContentLength)
	if sc != nil && sc.bodyBuf != nil {
		*sc.bodyBuf = b // grown, maybe: the pool gets the larger buffer
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, bodyTooLarge(tooLarge.Limit)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, &FieldError{Err: ErrRequestTimeout, Message: "the request body did not arrive in time"}
		}
		return nil, &FieldError{Err: ErrMalformed, Message: "could not read the request body"}
	}
	if len(b) >= len(utf8BOM) && string(b[:len(utf8BOM)]) == utf8BOM {
		b = b[len(utf8BOM):]
	}
	if sc != nil {
		sc.body, sc.bodyRead = b, true
	}
	return b, nil
}

// utf8BOM is the byte order mark U+FEFF in UTF-8, which ReadBody drops.
const utf8BOM = "\uFEFF"

// bodyBuffers holds the buffers ReadBody reads the bodies of routes under
// poolBodies into: each upsert allocated ~1.4 KiB for its body. The
// request's scope owns the buffer from ReadBody on and puts it back when
// the handler has returned (see requestScope.releaseBody). None larger
// than 64 KiB is put back: a body can be 512 KiB (DefaultBodyBytesMax).
var bodyBuffers = bufferPool{max: 64 << 10}

// poolBodies lets ReadBody read the body of the routes it is mounted on
// into a buffer of bodyBuffers. Mount it only before middleware and
// handlers that keep nothing of the body once the request ends: no slice
// of it, no string that shares its bytes. The Moonbase routes keep none:
// Idempotent keeps the body's hash; DecodeMoonbaseCall's strings are
// copies, and it copies the provider metadata, the one value its decoder
// leaves in the body (decodeMoonbaseParamsFast's raw values).
//
// The requestID middleware's scope puts the buffer back once the handler
// has returned. The only other scope, the one Idempotent makes for itself
// when it is mounted outside the server's router, comes after poolBodies
// on the routes that have both, which then finds no scope to mark; were it
// before, its buffer would only be left to the GC, never put back while
// in use.
func poolBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sc := scopeFrom(r.Context()); sc != nil {
			sc.poolBody = true
		}
		next.ServeHTTP(w, r)
	})
}

// readAllTo reads body to its end, appending to dst. A body that announces
// its length (Content-Length, already checked against the cap) is read
// into a buffer of that size (and one byte more, to find its end), rather
// than one grown from 512 bytes by doubling.
func readAllTo(dst []byte, body io.Reader, length int64) ([]byte, error) {
	switch {
	case length > 0:
		dst = slices.Grow(dst, int(length)+1)
	case cap(dst) == 0:
		dst = make([]byte, 0, 512) // io.ReadAll's first buffer
	}
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := body.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// DecodeJSON decodes a JSON object body into dst. Unknown fields are
// ignored, so that newer clients keep working. Every failure is a 400
// *FieldError naming the field at fault where the decoder knows it: not
// JSON, not an object, not UTF-8, a value of the wrong JSON type, trailing
// data.
//
// JSON text is UTF-8 (RFC 8259). encoding/json would replace each invalid
// byte with U+FFFD, so that two provider ids that differ only in such bytes
// would name one call, and text would be stored other than it was sent: a
// body that is not UTF-8 is refused instead.
func DecodeJSON(body []byte, dst any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return Malformed("", "the request body is empty: send a JSON object")
	}
	if trimmed[0] != '{' {
		return Malformed("", "the request body must be a JSON object")
	}
	if !utf8.Valid(trimmed) {
		i := invalidUTF8At(body)
		return Malformed(fieldPathIn(jsonStringPathAt(body, i), dst), "the request body is not valid UTF-8 (at byte %d): JSON text must be UTF-8", i)
	}
	// Whitespace around the object holds no string: the offset in body is
	// the one in trimmed.
	if i := jsonscan.LoneSurrogateAt(body); i >= 0 {
		return Malformed(fieldPathIn(jsonStringPathAt(body, i), dst), "the request body escapes half of a UTF-16 surrogate pair (at byte %d), which is no character", i)
	}
	// Unmarshal, not a Decoder: the body is already in memory, and a
	// Decoder would copy it into its own buffer and scan it once more.
	// Unmarshal checks the whole body before it decodes anything, trailing
	// data included.
	if err := json.Unmarshal(trimmed, dst); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			if path := jsonPathAt(trimmed, typ.Offset); path != "" && strings.EqualFold(withoutIndices(path), typ.Field) {
				typ.Field = path
			}
		}
		return jsonError(err)
	}
	return checkJSONNames(trimmed, reflect.TypeOf(dst))
}

// jsonPathAt is the path, in the form the error messages use
// ("participants[1].role"), of the value of the valid JSON b that
// encoding/json was decoding when it reported an UnmarshalTypeError at
// offset: just past a scalar, or just past the opening bracket of an
// array or object. encoding/json names the field without the list indices
// ("participants.role"), which does not say which element is at fault.
// It returns "" when no value of b ends there.
func jsonPathAt(b []byte, offset int64) string {
	var found string
	walkJSONValues(b, func(_, end int, key bool, path func() string) bool {
		if key || int64(end) < offset {
			return false
		}
		if int64(end) == offset {
			found = path()
		}
		return true
	})
	return found
}

// jsonStringPathAt is the path of the value of b whose text holds the
// byte at offset i (a byte that is not UTF-8, or an escape of half a
// surrogate pair: the first of b, in a string as a rule), so that the
// error names the field, not only the byte: the value's path, or for a key
// the path the key names. It returns "" when no value holds that byte.
func jsonStringPathAt(b []byte, i int) string {
	var found string
	walkJSONValues(b, func(start, end int, _ bool, path func() string) bool {
		if end <= i {
			return false
		}
		if start <= i {
			found = path()
		}
		return true
	})
	return found
}

// fieldPathIn is path when its first key is a field of the struct dst
// points to, and "" otherwise: a key the body's type has no field for (an
// extra key, which is ignored, or one spelt like a query parameter or a
// header) is no field to name, and the error renderers would read it as
// one (Moonbase's source names a parameter or a header by name).
func fieldPathIn(path string, dst any) string {
	first := path
	if i := strings.IndexAny(path, ".["); i >= 0 {
		first = path[:i]
	}
	t := reflect.TypeOf(dst)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return ""
	}
	if _, ok := jsonFields(t)[first]; !ok {
		return ""
	}
	return path
}

// jsonWalkDepthMax bounds how deeply walkJSONValues follows arrays and
// objects: encoding/json's own limit, past which it refuses a body.
const jsonWalkDepthMax = 10000

// walkJSONValues reads the JSON text b byte by byte and calls visit for
// each object key, each scalar value and each opening bracket, with the
// offsets [start, end) of its text (a bracket's end just past it), key
// true for a key, and path, which builds the value's path (for a key, the
// path of the member it names) in the form the error messages use. It
// stops when visit returns true, at the end of b, or past
// jsonWalkDepthMax levels of nesting. It reads structure only: strings
// are skipped whole (escapes included), a string is a key when a ':'
// follows it (so that a missing comma does not shift the keys), and a
// byte that starts no value (one that is not UTF-8, outside any string)
// is stepped over without a visit. Keys are kept as offsets and decoded
// only when path is called, so that the walk costs a few nanoseconds a
// byte: where b is not valid (it holds bytes that are not UTF-8), a
// decoder's tokens cost a microsecond each, and a 512 KiB body of
// brackets a third of a second to name its field.
//
// path names keys made of letters, digits and '_' only, as every field of
// the surfaces' bodies is: at a key with another character (a client's
// key in provider_metadata, say "a.b" or "a/b") it ends, at the key's
// parent, since the error renderers would read such a key back as a path
// of several keys. (Whether the first key is a field at all, and not an
// extra key spelt like a parameter or a header, is fieldPathIn's to say.)
func walkJSONValues(b []byte, visit func(start, end int, key bool, path func() string) bool) {
	type frame struct {
		array            bool
		index            int
		keyStart, keyEnd int  // the quoted key of the current member; none when equal
		valued           bool // the current member has had its value
	}
	var stack []frame
	// value notes a value in the innermost frame: a second value of one
	// member (a stray string, a missing comma) belongs to no key.
	value := func() {
		if n := len(stack); n > 0 && !stack[n-1].array {
			if stack[n-1].valued {
				stack[n-1].keyStart, stack[n-1].keyEnd = 0, 0
			}
			stack[n-1].valued = true
		}
	}
	path := func() string {
		var sb strings.Builder
		for _, f := range stack {
			if f.array {
				fmt.Fprintf(&sb, "[%d]", f.index)
				continue
			}
			if f.keyEnd <= f.keyStart {
				break // no key yet: a value where a key goes ({"x"}, {1})
			}
			key := jsonKeyText(b[f.keyStart:f.keyEnd])
			if !plainJSONKey(key) {
				break
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(key)
		}
		return sb.String()
	}
	for p := 0; p < len(b); {
		switch c := b[p]; {
		case c == '"':
			end := jsonStringEnd(b, p)
			key := false
			if n := len(stack); n > 0 && !stack[n-1].array && nextJSONByte(b, end) == ':' {
				stack[n-1].keyStart, stack[n-1].keyEnd, stack[n-1].valued, key = p, end, false, true
			} else {
				value()
			}
			if visit(p, end, key, path) {
				return
			}
			p = end
		case c == '{' || c == '[':
			value()
			if visit(p, p+1, false, path) || len(stack) >= jsonWalkDepthMax {
				return
			}
			stack = append(stack, frame{array: c == '['})
			p++
		case c == '}' || c == ']':
			if n := len(stack); n > 0 {
				stack = stack[:n-1]
			}
			p++
		case c == ',':
			if n := len(stack); n > 0 {
				if stack[n-1].array {
					stack[n-1].index++
				} else { // the member ended: the next has no key until one is read
					stack[n-1].keyStart, stack[n-1].keyEnd, stack[n-1].valued = 0, 0, false
				}
			}
			p++
		case jsonLiteralByte(c): // a number, true, false or null
			value()
			end := p + 1
			for end < len(b) && jsonLiteralByte(b[end]) {
				end++
			}
			if visit(p, end, false, path) {
				return
			}
			p = end
		default: // whitespace, ':', or a byte that starts no value
			p++
		}
	}
}

// jsonLiteralByte reports whether c may be part of a number or of true,
// false or null.
func jsonLiteralByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E'
}

// nextJSONByte is the first byte of b from i on that is not JSON
// whitespace, 0 at the end.
func nextJSONByte(b []byte, i int) byte {
	for ; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return b[i]
		}
	}
	return 0
}

// plainJSONKey reports whether key is made of ASCII letters, digits and
// '_' only, as the surfaces' field names are.
func plainJSONKey(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return key != ""
}

// jsonStringEnd is the offset just past the string of b that starts at
// its quote at p: past the closing quote, or len(b) for a string b cuts.
func jsonStringEnd(b []byte, p int) int {
	for q := p + 1; q < len(b); q++ {
		switch b[q] {
		case '\\':
			q++
		case '"':
			return q + 1
		}
	}
	return len(b)
}

// jsonKeyText is the text of the object key quoted, its JSON string as
// sent (a cut one without its closing quote): escapes decoded and bytes
// that are not UTF-8 replaced, as encoding/json names the field.
func jsonKeyText(quoted []byte) string {
	if len(quoted) == 0 {
		return ""
	}
	var key string
	if bytes.IndexByte(quoted, '\\') >= 0 && json.Unmarshal(quoted, &key) == nil {
		return key
	}
	// No escape, or a string cut short: its bytes, those that are not
	// UTF-8 replaced as encoding/json replaces them.
	return strings.ToValidUTF8(strings.TrimSuffix(string(quoted[1:]), `"`), "\uFFFD")
}

// withoutIndices is path without its list indices: "a[1].b" is "a.b".
func withoutIndices(path string) string {
	var sb strings.Builder
	depth := 0
	for _, c := range path {
		switch {
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth == 0:
			sb.WriteRune(c)
		}
	}
	return sb.String()
}

// invalidUTF8At is the offset of the first byte of b that does not start a
// valid UTF-8 sequence, or len(b).
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// jsonError turns an encoding/json error into a 400 naming the field.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var fe *FieldError
	var de *domain.Error
	switch {
	case errors.As(err, &fe), errors.As(err, &de):
		return err
	case errors.As(err, &syntax) && strings.HasSuffix(syntax.Error(), "after top-level value"):
		return Malformed("", "unexpected data after the JSON object (at byte %d)", syntax.Offset)
	case errors.As(err, &syntax) && syntax.Error() == "unexpected end of JSON input":
		return Malformed("", "the request body is truncated JSON")
	case errors.As(err, &syntax):
		return Malformed("", "the request body is not valid JSON (at byte %d): %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		field := typ.Field
		return Malformed(field, "must be %s, not a JSON %s", jsonTypeName(typ.Type), jsonValueName(typ.Value))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Malformed("", "the request body is truncated JSON")
	}
	return Malformed("", "the request body could not be decoded: %s", err.Error())
}

// jsonValueName names the JSON value an encoding/json type error found
// (its UnmarshalTypeError.Value) as jsonValueKind names the values the
// hand-read fields find: "bool" is Go's word, "boolean" JSON's, and one
// API should not say both.
func jsonValueName(v string) string {
	if v == "bool" {
		return "boolean"
	}
	return v
}

// jsonTypeName names a Go type as the JSON type it decodes from.
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Time](), reflect.TypeFor[domain.Decimal](), reflect.TypeFor[uuid.UUID]():
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}

// ParseTime parses an RFC 3339 timestamp of a request body with any offset,
// "T" and "Z" in either case (domain.ParseRFC3339), and returns it in UTC. A
// bad one is a 422 naming field.
func ParseTime(field, s string) (time.Time, error) {
	t, err := domain.ParseRFC3339(s)
	if err != nil {
		return time.Time{}, Invalid(field, "%s", timeProblem(s, err,
			fmt.Sprintf("%q is not an RFC 3339 timestamp (e.g. 2025-02-17T15:00:00Z)", truncate(s, 64))))
	}
	return t, nil
}

// timeProblem words why the time v was refused with err, the error of
// domain.ParseRFC3339 (or of parseDayOrInstant): for a well-formed RFC 3339
// time that falls, in UTC, outside the years the ledger stores, v and that
// (`"0000-01-01T00:00:00+06:00" in UTC it falls in the year -1, outside
// ...`), so that no surface calls a valid RFC 3339 time invalid; for any
// other, malformed, the route's own message.
//
// A leap second (23:59:60, which RFC 3339 allows) is refused, as Go's time
// has none to hold it, and says so rather than calling it no RFC 3339 time.
func timeProblem(v string, err error, malformed string) string {
	var year *domain.YearOutOfRangeError
	if errors.As(err, &year) {
		return fmt.Sprintf("%q %s", truncate(v, 64), year.Error())
	}
	if isLeapSecond(v) {
		return fmt.Sprintf("%q is a leap second, which the ledger cannot store (its times have none): send the second before or after", truncate(v, 64))
	}
	return malformed
}

// queryTimeProblem is timeProblem for a time read from a query string,
// where a + sent unencoded reads as a space: a time whose offset's + so
// became a space (2025-01-31T12:00:00 14:00) is told to send %2B.
func queryTimeProblem(v string, err error, malformed string) string {
	problem := timeProblem(v, err, malformed)
	if i := strings.LastIndexByte(v, ' '); i > 0 && strings.Count(v, " ") == 1 {
		if _, perr := domain.ParseRFC3339(v[:i] + "+" + v[i+1:]); perr == nil {
			problem += "; a + in a query string reads as a space: send it as %2B"
		}
	}
	return problem
}

// isLeapSecond reports whether v is an RFC 3339 time but for its seconds
// being 60: it reads as one with 59 instead.
func isLeapSecond(v string) bool {
	if len(v) < len("2006-01-02T15:04:60") || (v[10] != 'T' && v[10] != 't') || v[16] != ':' || v[17:19] != "60" {
		return false
	}
	_, err := domain.ParseRFC3339(v[:17] + "59" + v[19:])
	return err == nil
}

// parseDayOrInstant reads a query value that is a calendar day
// ("2025-01-31", time.DateOnly), which is its midnight UTC with day true, or
// an RFC 3339 instant ("T" and "Z" in either case, see domain.ParseRFC3339)
// in UTC. A value that is neither is domain.ParseRFC3339's error: each
// caller words it as its surface answers it.
func parseDayOrInstant(v string) (t time.Time, day bool, err error) {
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		return d, true, nil
	}
	t, err = domain.ParseRFC3339(v)
	return t, false, err
}

// ParseCallID parses a call id from a path; anything but a UUID is a 404 in
// the surface's style (no call has that id), reported as not found rather
// than 400 because ids are opaque to clients.
func ParseCallID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil || len(s) != 36 {
		return uuid.Nil, NotFound("no call with id %q", truncate(s, 64))
	}
	return id, nil
}

// CheckE164 returns a 422 naming field unless phone is an E.164 number. The
// domain checks again; checking here lets a surface name its own field.
func CheckE164(field, phone string) error {
	if !domain.ValidE164(phone) {
		return Invalid(field, "%q is not an E.164 phone number (e.g. +14155551212)", truncate(phone, 64))
	}
	return nil
}

// timePtr formats an optional time, nil when unknown.
func timePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := FormatTime(*t)
	return &s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Opt is a JSON field that distinguishes absent (Set false), null (Set and
// Null) and a value, for PATCH bodies where each means something else.
type Opt[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON records that the field was present and decodes it. A key
// given twice in one object is decoded twice, each time from nothing (an
// earlier null would otherwise stay set under a later value, and an
// earlier object's members would merge into a later one): DecodeJSON
// refuses one given twice with different values (checkJSONNames), so both
// times decode the same value.
func (o *Opt[T]) UnmarshalJSON(b []byte) error {
	*o = Opt[T]{Set: true}
	if string(bytes.TrimSpace(b)) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// valueType is T: checkJSONNames reads an Opt's JSON as its Value's.
func (Opt[T]) valueType() reflect.Type { return reflect.TypeFor[T]() }

// requiredJSON returns the value raw of the required body field field,
// spaces trimmed, or a 400 naming field when it is absent or null: how the
// VoiceCall fields read from raw JSON (its prices, its duration) begin.
func requiredJSON(field string, raw json.RawMessage) (json.RawMessage, error) {
	if isNullJSON(raw) {
		return nil, Malformed(field, "%s is required", field)
	}
	return bytes.TrimSpace(raw), nil
}

// isNullJSON reports whether raw is absent or the JSON null.
func isNullJSON(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw) // not a string: that would copy raw
	return len(t) == 0 || string(t) == "null"
}
