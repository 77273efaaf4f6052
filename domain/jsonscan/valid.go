package jsonscan

// Valid reports whether b is exactly one JSON value, with only JSON
// whitespace around it, as the Scanner reads it: true means json.Valid is
// true too; false means b is not JSON or holds what the Scanner declines
// (invalid UTF-8, a lone surrogate escape, nesting deeper than MaxDepth),
// and a caller that must not refuse valid JSON then asks json.Valid. It
// spares the common case encoding/json's byte-at-a-time state machine.
func Valid(b []byte) bool {
	s := New(b)
	return s.Value(0) && s.AtEnd()
}

// CompactValid reports whether b is exactly one JSON value, as Valid does,
// and holds no insignificant whitespace, before, inside or after it: then
// json.Compact would copy b unchanged, and a caller that stores or writes
// JSON compacted can use b as it is. False says nothing more than that:
// b may still be valid, and compact once json.Compact is done with it.
func CompactValid(b []byte) bool {
	// A Scanner that skips no whitespace: any outside a string is then a
	// byte the grammar does not allow where it is, and declined.
	s := Scanner{b: b}
	return s.Value(0) && s.AtEnd()
}
