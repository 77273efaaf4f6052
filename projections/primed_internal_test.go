package projections

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestPrimedEventsAreBounded(t *testing.T) {
	// Goal: primed events nobody takes age out after two generations, so a
	// stopped runner cannot make them grow without bound; recent ones stay.
	var c primedEvents
	assert.True(t, c.empty())
	ids := make([]uuid.UUID, 3*primedGenerationMax)
	for i := range ids {
		ids[i] = uuid.New()
		c.put(ids[i], domain.Envelope{Metadata: domain.Metadata{RequestID: ids[i].String()}})
	}
	assert.LessOrEqual(t, len(c.cur)+len(c.old), 2*primedGenerationMax)
	_, ok := c.take(ids[0])
	assert.False(t, ok, "the oldest aged out")
	last := ids[len(ids)-1]
	env, ok := c.take(last)
	require.True(t, ok)
	assert.Equal(t, last.String(), env.Metadata.RequestID)
	_, ok = c.take(last)
	assert.False(t, ok, "taken once")
}
