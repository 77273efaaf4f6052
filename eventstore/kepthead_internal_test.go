package eventstore

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChainCheckerPassesKeptHead(t *testing.T) {
	// Goal: a walk holds the log to a kept head at positions that are not
	// contiguous (KurrentDB's): the kept head at an event's position with
	// the chain's hash there passes; a position between two events', or
	// another hash, fails naming the kept position; a walk that ends
	// before it fails too.
	positions := []uint64{100, 250, 400}
	records := make([]Record, len(positions))
	allHashes := make([]Hash, len(positions))
	var prev, all Hash
	for i, p := range positions {
		r := Record{StreamID: "call-1", Revision: uint64(i), ID: uuid.New(), Type: "T", Data: []byte(`{}`), Metadata: []byte(`{}`),
			Position: Position{Commit: p, Prepare: p}}
		r.Hash = ChainHash(prev, r.StreamID, r.Revision, r.ID, r.Type, r.Data, r.Metadata)
		all = AllChainHash(all, r.Position, r.Hash)
		prev, records[i], allHashes[i] = r.Hash, r, all
	}
	walk := func(kept KeptHead) *Problem {
		c := newChainChecker()
		c.kept = &kept
		for i := range records {
			before := c.last
			require.Empty(t, c.check(&records[i]))
			if p := c.passKept(before); p != nil {
				return p
			}
		}
		return c.keptMissing()
	}
	at := func(p uint64) Position { return Position{Commit: p, Prepare: p} }
	assert.Nil(t, walk(KeptHead{Position: at(250), AllHash: allHashes[1]}))
	assert.Nil(t, walk(KeptHead{Position: at(400), AllHash: allHashes[2]}))

	p := walk(KeptHead{Position: at(300), AllHash: allHashes[1]})
	require.NotNil(t, p)
	assert.True(t, p.Kept)
	assert.Contains(t, p.String(), "the log has no event at position 300, the kept head's (it goes from position 250 to 400)")

	p = walk(KeptHead{Position: at(250), AllHash: allHashes[0]})
	require.NotNil(t, p)
	assert.Contains(t, p.String(), "at position 250, where the kept head has "+allHashes[0].String())

	p = walk(KeptHead{Position: at(500), AllHash: allHashes[2]})
	require.NotNil(t, p)
	assert.Contains(t, p.String(), "the log ends at position 400, before the kept head at position 500")
}
