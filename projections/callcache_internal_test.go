package projections

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
)

func TestCallCacheTrimKeepsTheLimit(t *testing.T) {
	// Goal: a trim to the live bound leaves at most 3/4 of it cached and
	// at most the bound spare, however many a larger bound had kept, so a
	// live runner's cache holds what LiveCallCacheMax says.
	tests := []struct {
		name           string
		max, cached    int
		limit          int
		entries, spare int
	}{
		{name: "within the limit", max: 100, cached: 40, limit: 64, entries: 40, spare: 0},
		{name: "to the full bound", max: 100, cached: 120, limit: 100, entries: 75, spare: 45},
		{name: "to the live bound", max: 100, cached: 100, limit: 16, entries: 12, spare: 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCallCache(tt.max)
			for range tt.cached {
				id := uuid.New()
				c.entries[id] = c.newEntry(id)
			}
			c.trim(tt.limit)
			assert.Len(t, c.entries, tt.entries)
			assert.Len(t, c.spare, tt.spare)
			for _, e := range c.spare {
				_, cached := c.entries[e.id]
				assert.False(t, cached, "a spare entry is still cached")
			}
		})
	}
}

func TestCallCacheTrimDropsSparesBeyondTheLimit(t *testing.T) {
	// Goal: spares a larger bound kept (a backlog read before the runner
	// went live) are let go when the live bound is smaller.
	c := newCallCache(100)
	for range 100 {
		id := uuid.New()
		c.entries[id] = c.newEntry(id)
	}
	c.reset(false) // every entry becomes a spare, up to max
	assert.Len(t, c.spare, 100)
	id := uuid.New()
	c.entries[id] = c.newEntry(id)
	c.trim(16)
	assert.Len(t, c.entries, 1)
	assert.Len(t, c.spare, 16)
}
