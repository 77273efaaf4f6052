package projections

import (
	"sync"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// Prime hands the runner events a writer in this process has just appended,
// as the envelopes it encoded, keyed by event id: when their records come
// through the pipeline, the runner folds these instead of decoding the
// stored JSON again. Under write load decoding is most of the projector's
// work, and the writer already holds the decoded form.
//
// The contract is the caller's: env must be exactly what decoding the
// stored record gives (the domain's codec round-trips every event it
// emits: see the domain's round-trip tests and the API's test that read
// models kept live equal a rebuild), and id must be an event the caller's
// append has just written, never one a store acknowledged as the retry of
// an earlier append, whose stored events may differ.
//
// Primed events are a bounded cache, never a source of truth: one the
// runner does not reach while it is held (the runner lags by more than
// primedEventsMax events, or is stopped) is dropped, and its record is
// decoded as usual.
func (p *Projector) Prime(id uuid.UUID, env domain.Envelope) { p.primed.put(id, env) }

// primedEventsMax bounds the primed events held: a few thousand covers the
// runner's lag under load; the bound caps the memory of events nobody
// consumes (a stopped runner).
const primedEventsMax = 8192

// primedEvents holds primed envelopes in a ring of primedEventsMax slots,
// reused in the order of the puts, with an index from event id to slot: a
// put overwrites the oldest slot, dropping its event if nobody took it. Its
// zero value is ready to use.
//
// A ring rather than maps of envelopes: an Envelope (144 bytes) is too
// large for a Go map to hold in place, so each put into a
// map[uuid.UUID]domain.Envelope allocated it (three puts, 430 bytes, per
// new call through the API), and the churn of puts and takes grew the
// maps' tables; the slots are allocated once, and the index holds only
// small values.
type primedEvents struct {
	mu    sync.Mutex
	slots []primedSlot // primedEventsMax, allocated by the first put
	next  int          // the slot of the next put
	index map[uuid.UUID]int32
}

// primedSlot is one primed event; held is false once it is taken (the slot
// is then zero, keeping no event alive) or before it is ever used.
type primedSlot struct {
	id   uuid.UUID
	env  domain.Envelope
	held bool
}

func (c *primedEvents) put(id uuid.UUID, env domain.Envelope) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		c.slots = make([]primedSlot, primedEventsMax)
		c.index = make(map[uuid.UUID]int32)
	}
	i := c.next
	c.next = (i + 1) % len(c.slots)
	s := &c.slots[i]
	// The oldest event ages out, unless its id was primed again since
	// (into a newer slot, which the index names).
	if s.held {
		if j, ok := c.index[s.id]; ok && j == int32(i) {
			delete(c.index, s.id)
		}
	}
	*s = primedSlot{id: id, env: env, held: true}
	c.index[id] = int32(i)
}

// take removes and returns the envelope primed for id, if any.
func (c *primedEvents) take(id uuid.UUID) (domain.Envelope, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[id]
	if !ok {
		return domain.Envelope{}, false
	}
	delete(c.index, id)
	s := &c.slots[i]
	env := s.env
	*s = primedSlot{}
	return env, true
}

// empty reports whether nothing is primed: the decoders skip the lock then.
func (c *primedEvents) empty() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index) == 0
}
