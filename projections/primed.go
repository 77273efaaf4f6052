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
// primedGenerationMax events, or is stopped) is dropped, and its record is
// decoded as usual.
func (p *Projector) Prime(id uuid.UUID, env domain.Envelope) { p.primed.put(id, env) }

// primedGenerationMax bounds each of the two generations of primed events:
// a few thousand covers the runner's lag under load; the bound caps the
// memory of events nobody consumes (a stopped runner) at two generations.
const primedGenerationMax = 4096

// primedEvents holds primed envelopes in two generations: puts go to cur;
// when cur is full it becomes old and the previous old is dropped. Its zero
// value is ready to use.
type primedEvents struct {
	mu       sync.Mutex
	cur, old map[uuid.UUID]domain.Envelope
}

func (c *primedEvents) put(id uuid.UUID, env domain.Envelope) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil || len(c.cur) >= primedGenerationMax {
		c.old, c.cur = c.cur, make(map[uuid.UUID]domain.Envelope, primedGenerationMax)
	}
	c.cur[id] = env
}

// take removes and returns the envelope primed for id, if any.
func (c *primedEvents) take(id uuid.UUID) (domain.Envelope, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range []map[uuid.UUID]domain.Envelope{c.cur, c.old} {
		if env, ok := m[id]; ok {
			delete(m, id)
			return env, true
		}
	}
	return domain.Envelope{}, false
}

// empty reports whether nothing is primed: the decoders skip the lock then.
func (c *primedEvents) empty() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) == 0 && len(c.old) == 0
}
