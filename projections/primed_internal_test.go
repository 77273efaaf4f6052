package projections

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestPrimedEventsAreBounded(t *testing.T) {
	// Goal: primed events nobody takes age out after primedEventsMax
	// more, so a stopped runner cannot make them grow without bound;
	// recent ones stay.
	var c primedEvents
	assert.True(t, c.empty())
	ids := make([]uuid.UUID, 3*primedEventsMax/2)
	for i := range ids {
		ids[i] = uuid.New()
		c.put(ids[i], domain.Envelope{Metadata: domain.Metadata{RequestID: ids[i].String()}})
	}
	assert.LessOrEqual(t, len(c.index), primedEventsMax)
	assert.Len(t, c.slots, primedEventsMax)
	_, ok := c.take(ids[0])
	assert.False(t, ok, "the oldest aged out")
	last := ids[len(ids)-1]
	env, ok := c.take(last)
	require.True(t, ok)
	assert.Equal(t, last.String(), env.Metadata.RequestID)
	_, ok = c.take(last)
	assert.False(t, ok, "taken once")
}

func TestPrimedEventsPrimedTwice(t *testing.T) {
	// Goal: an id primed again keeps its latest envelope when the slot of
	// its earlier one is reused, and a taken event's slot, once reused,
	// drops nothing else.
	var c primedEvents
	id := uuid.New()
	c.put(id, domain.Envelope{Metadata: domain.Metadata{RequestID: "first"}})
	c.put(id, domain.Envelope{Metadata: domain.Metadata{RequestID: "second"}})
	for range primedEventsMax - 2 {
		c.put(uuid.New(), domain.Envelope{})
	}
	c.put(uuid.New(), domain.Envelope{}) // reuses the slot of "first"
	env, ok := c.take(id)
	require.True(t, ok)
	assert.Equal(t, "second", env.Metadata.RequestID)
	_, ok = c.take(id)
	assert.False(t, ok, "taken once")
	assert.False(t, c.empty())
}

func TestPrimedEventsDoNotAllocate(t *testing.T) {
	// Goal: once its ring exists, priming and taking an event allocates
	// nothing (a map of envelopes allocated each one, 144 bytes).
	var c primedEvents
	ids := make([]uuid.UUID, 64)
	for i := range ids {
		ids[i] = uuid.New()
	}
	c.put(uuid.New(), domain.Envelope{})
	env := domain.Envelope{Event: domain.CallDeleted{}, Metadata: domain.Metadata{RequestID: "r"}}
	allocs := testing.AllocsPerRun(100, func() {
		for _, id := range ids {
			c.put(id, env)
		}
		for _, id := range ids {
			if _, ok := c.take(id); !ok {
				t.Fatal("primed event not found")
			}
		}
	})
	assert.Zero(t, allocs)
}
