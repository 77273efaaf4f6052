package embedded_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
)

// TestCommitNotify pins the contract a follower of $all relies on: a
// channel taken before an append is closed once the append is readable,
// one taken after it waits for the next commit, and Close closes it, after
// which reads fail with ErrClosed.
func TestCommitNotify(t *testing.T) {
	s := openStore(t, t.TempDir(), testOptions())
	ctx := t.Context()
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}

	before := s.CommitNotify()
	assert.False(t, closed(before), "nothing committed yet")
	res, err := s.Append(ctx, "notify-1", eventstore.NoStream(), events(2, "T"))
	require.NoError(t, err)
	assert.True(t, closed(before), "closed by the commit, by the time Append returns")
	recs, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, res.Position, recs[1].Position, "what woke the reader is readable")

	after := s.CommitNotify()
	assert.False(t, closed(after), "no commit since it was taken")
	_, err = s.Append(ctx, "notify-2", eventstore.NoStream(), events(1, "T"))
	require.NoError(t, err)
	assert.True(t, closed(after))

	idle := s.CommitNotify()
	require.NoError(t, s.Close())
	assert.True(t, closed(idle), "Close wakes the followers")
	assert.True(t, closed(s.CommitNotify()), "and later ones do not wait")
	_, err = s.ReadAll(ctx, eventstore.Start, 0)
	assert.ErrorIs(t, err, eventstore.ErrClosed)
}
