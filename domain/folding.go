package domain

import "slices"

// A Folding is one fold of a stream's events, in order, into one State that
// the fold owns: loading a call, a projection keeping its call current.
// Evolve must copy a call's recordings for every recording it adds, since
// the state it was given may be kept (and folded on elsewhere) and so may
// not share an array that is written to; folding a call that holds
// thousands of recordings one event at a time then copied them thousands
// of times (10,000 recordings: ~50M copies). A Folding remembers the
// recordings array it allocated and how much of it its state holds, and
// appends into that array while the state it is given is still exactly
// the one it left (the same array, the same length), growing it by
// doubling: linear time. A state copied before keeps its length, and
// nothing is ever written inside it; any other state, or a state changed
// by something else since, gets a copy, as Evolve does.
//
// A recording changed (CallRecordingChanged) is written into a copy that
// the Folding then owns, since states copied before hold that element;
// Fold, which keeps no state but its last, changes it in place.
//
// Only a Folding writes into the arrays it allocated, and only past the
// length of every state it left: nothing appends to a state's recordings
// with the built-in append (Evolve and apply copy), which would write into
// them.
//
// A Folding must not be used by two goroutines at once. Its zero value is
// ready to use.
type Folding struct {
	// exclusive says that no state but the one folded last is kept by
	// anyone (Fold's): a recording changed is written where it is.
	exclusive bool
	// recordings is the first element of the array the Folding allocated,
	// nil before it allocated one.
	recordings *Recording
	// held is how many of the array's elements the state folded last holds.
	held int
}

// EvolveInPlace folds e into *s as domain.EvolveInPlace does, appending a
// recording into the array f owns when *s is the state f folded last.
func (f *Folding) EvolveInPlace(s *State, e Envelope) {
	foldStep(s, derefEvent(e.Event), e.Metadata.Time, f)
}

// addRecording returns held with r appended: into f's array when held is
// what f left, else into a new array f then owns. A nil f copies held
// whole, as Evolve must.
func (f *Folding) addRecording(held []Recording, r Recording) []Recording {
	if f == nil {
		// Concat allocates: the earlier state's array is never
		// appended into.
		return slices.Concat(held, []Recording{r})
	}
	if !f.owns(held) || len(held) == cap(held) {
		held = f.own(held, 1)
	}
	held = append(held, r)
	f.recordings, f.held = &held[0], len(held)
	return held
}

// changeRecording returns held with the recording that is r
// (sameRecording) replaced by r: in f's array when f is exclusive and held
// is what f left, else in a copy (that f then owns, when not nil), since
// states copied before hold that element. A change of a recording held
// does not hold (a broken invariant, see checkReason) adds it: the event
// says it exists.
func (f *Folding) changeRecording(held []Recording, r Recording) []Recording {
	i := recordingIndex(held, r)
	if i < 0 {
		return f.addRecording(held, r)
	}
	if f == nil || !f.exclusive || !f.owns(held) {
		held = f.own(held, 0)
	}
	held[i] = r
	return held
}

// owns reports whether held is the array f allocated, as f left it.
func (f *Folding) owns(held []Recording) bool {
	return len(held) > 0 && len(held) == f.held && &held[0] == f.recordings
}

// own returns a copy of held in a new array; f, when not nil, then owns
// it, with room for at least extra more elements, and as many again as
// held has.
func (f *Folding) own(held []Recording, extra int) []Recording {
	if f == nil {
		return slices.Clone(held)
	}
	// Clip makes Grow allocate, and copy.
	owned := slices.Grow(slices.Clip(held), max(len(held), 4)+extra)
	f.recordings, f.held = nil, len(owned)
	if len(owned) > 0 {
		f.recordings = &owned[0]
	}
	return owned
}
