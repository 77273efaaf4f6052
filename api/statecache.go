package api

import (
	"container/list"
	"sync"
	"sync/atomic"
)

// longCallStates keeps what was folded of the calls with the most events
// that were written or read lately (T: a call's state, or its state with
// its recordings' dates), up to a revision, so that a write to such a call reads and folds
// only the events after the state kept, not its whole stream: a scale probe
// found a small upsert to a call of 50,000 events taking 330-820 ms, and
// 5,000 sequential upserts to one call 66 s (each write folded every event
// before it). A state kept is the fold of its call's events up to its
// revision, which never change, so it stays right whatever is appended
// after it, by this server or by another sharing the log: the events after
// it are read and folded as ever.
//
// Only calls of at least longCallEvents events are kept, so that the writes
// of new and short calls (nearly all of them) cost one atomic load while no
// long call is kept, and one map lookup after; the
// states kept are bounded by longCallStatesMax and by longCallEventsKept,
// their events in all, the least recently written going first. Its
// methods are safe for concurrent use; a state it returns is a copy of the
// State value (its slices shared, never written: see domain.Folding), for
// the writer of that call, who holds its lock (callLocks). Its zero value
// is ready to use.
type longCallStates[T any] struct {
	// kept is how many states are kept, read without mu: while none is
	// (a ledger of short calls), get takes no lock on the write path.
	kept   atomic.Int32
	mu     sync.Mutex
	byID   map[string]*list.Element // stream → element of lru
	lru    list.List                // of *keptState[T], most recent first
	events int                      // the events of the states kept
}

// keptState is one call's state, folded up to revision.
type keptState[T any] struct {
	stream   string
	state    T
	revision uint64
}

// Bounds of longCallStates.
const (
	// longCallEvents is the fewest events a call's state is kept for:
	// below it, reading and folding the stream costs less than 1 ms.
	longCallEvents = 512
	// longCallStatesMax bounds the states kept.
	longCallStatesMax = 256
	// longCallEventsKept bounds the events the states kept fold, in all:
	// a state is about the size of its events' facts, so this bounds their
	// memory (a call of 100,000 recordings is ~10 MB: ~50 MB for each of
	// the two kept, Server.longCalls and Server.recordingDates).
	longCallEventsKept = 500_000
)

// get returns the state kept for stream and its revision, if any.
func (c *longCallStates[T]) get(stream string) (T, uint64, bool) {
	var none T
	if c.kept.Load() == 0 {
		return none, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[stream]
	if !ok {
		return none, 0, false
	}
	c.lru.MoveToFront(e)
	k := e.Value.(*keptState[T])
	return k.state, k.revision, true
}

// keep keeps state, stream's call folded up to revision, when the call has
// at least longCallEvents events, in place of any state kept for it.
func (c *longCallStates[T]) keep(stream string, state T, revision uint64) {
	if revision+1 < longCallEvents {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil {
		c.byID = make(map[string]*list.Element)
	}
	if e, ok := c.byID[stream]; ok {
		k := e.Value.(*keptState[T])
		c.events += int(revision) - int(k.revision)
		k.state, k.revision = state, revision
		c.lru.MoveToFront(e)
	} else {
		c.byID[stream] = c.lru.PushFront(&keptState[T]{stream: stream, state: state, revision: revision})
		c.events += int(revision) + 1
	}
	for c.lru.Len() > longCallStatesMax || c.events > longCallEventsKept && c.lru.Len() > 1 {
		k := c.lru.Remove(c.lru.Back()).(*keptState[T])
		delete(c.byID, k.stream)
		c.events -= int(k.revision) + 1
	}
	c.kept.Store(int32(c.lru.Len()))
}
