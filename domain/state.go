package domain

// State is what Decide knows about a call: the call folded from its events
// and how many events that took.
//
// The zero State is a call that does not exist yet.
type State struct {
	Call Call
	// Version counts the events folded into the state. 0 means the call does
	// not exist; otherwise the stream's last revision is Version-1, which is
	// what an append must expect and what the API's ETag carries.
	Version uint64
}

// Exists reports whether any event has been folded into s.
func (s State) Exists() bool { return s.Version > 0 }

// Revision returns the stream revision of the last folded event and true, or
// 0 and false when the call does not exist.
func (s State) Revision() (uint64, bool) {
	if s.Version == 0 {
		return 0, false
	}
	return s.Version - 1, true
}
