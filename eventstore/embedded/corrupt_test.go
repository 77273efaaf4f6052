package embedded_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// TestCorruptValue checks that a damaged event value surfaces as an error
// naming its position, and its stream and revision as its index keys
// confirm them, never as a panic or as silently different data.
func TestCorruptValue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(dir, testOptions())
	require.NoError(t, err)
	stream := "call-" + uuid.NewString()
	_, err = s.Append(ctx, stream, eventstore.NoStream(), events(3, "CallUpserted"))
	require.NoError(t, err)
	orig, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	var original []byte
	embeddedtest.Rewrite(t, dir, embeddedtest.EventKey(2), func(v []byte) []byte { original = append([]byte(nil), v...); return v })

	type testCase struct {
		name string
		edit func([]byte) []byte
		// ownerUnknown is set when the value holds neither the stream and
		// revision nor the event id: nothing names the event's stream.
		ownerUnknown bool
	}
	tests := []testCase{
		{"Empty", func([]byte) []byte { return nil }, true},
		{"Truncated", func(v []byte) []byte { return v[:len(v)-1] }, false},
		{"TruncatedToHeader", func(v []byte) []byte { return v[:40] }, false},
		{"TrailingByte", func(v []byte) []byte { return append(v, 0) }, false},
		{"HugeStreamLength", func(v []byte) []byte { binary.BigEndian.PutUint16(v[97:], 0xffff); return v }, false},
	}
	// Flip a byte of every field: version, time, revision, id, hashes,
	// lengths, payloads and the checksum itself (each reopen costs a sync,
	// so not every byte).
	for i := range len(original) {
		boundary := i <= 1 || i == 9 || i == 17 || i == 33 || i == 65 || (i >= 96 && i <= 100) || i >= len(original)-5
		if !boundary && i%17 != 0 {
			continue
		}
		tests = append(tests, testCase{name: fmt.Sprintf("FlipByte%03d", i), edit: func(v []byte) []byte { v[i] ^= 0x40; return v }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			embeddedtest.Rewrite(t, dir, embeddedtest.EventKey(2), func([]byte) []byte {
				return tt.edit(append([]byte(nil), original...))
			})
			s, err := embedded.Open(dir, testOptions())
			require.NoError(t, err, "a damaged event does not stop the store opening")
			// A flipped byte leaves the stream and revision, or else the
			// event id, whose index key names them, intact.
			owner := fmt.Sprintf(" (stream %s, revision 1, as its ", stream)
			if tt.ownerUnknown {
				owner = " (its stream is unknown: "
			}
			_, err = s.ReadAll(ctx, eventstore.Start, 0)
			require.ErrorIs(t, err, embedded.ErrCorrupt)
			assert.ErrorContains(t, err, "event at position 2: ")
			assert.ErrorContains(t, err, owner)
			_, err = s.ReadStream(ctx, stream, 0, 0)
			assert.ErrorIs(t, err, embedded.ErrCorrupt)
			assert.ErrorContains(t, err, owner)
			// The events around it still read.
			recs, err := s.ReadAll(ctx, eventstore.Position{Commit: 2, Prepare: 2}, 0)
			require.NoError(t, err)
			require.Len(t, recs, 1)
			assert.Equal(t, orig[2], recs[0])
			require.NoError(t, s.Close())

		})
	}

	// A deleted event is not hidden: the events after it read, and the
	// chains break at the next one.
	t.Run("Deleted", func(t *testing.T) {
		embeddedtest.Edit(t, dir, func(db *pebble.DB) { require.NoError(t, db.Delete(embeddedtest.EventKey(2), pebble.Sync)) })
		s, err := embedded.Open(dir, testOptions())
		require.NoError(t, err)
		defer s.Close()
		all, err := s.ReadAll(ctx, eventstore.Start, 0)
		require.NoError(t, err)
		require.Len(t, all, 2)
		assert.Equal(t, uint64(3), all[1].Position.Commit)
		assert.NotEqual(t, eventstore.AllChainHash(all[0].AllHash, all[1].Position, all[1].Hash), all[1].AllHash,
			"the $all chain breaks after the gap")
		_, err = s.ReadStream(ctx, stream, 0, 0)
		assert.ErrorIs(t, err, embedded.ErrCorrupt, "the stream index names a missing event")
	})

	// With the original bytes back, everything reads and verifies again.
	embeddedtest.Edit(t, dir, func(db *pebble.DB) { require.NoError(t, db.Set(embeddedtest.EventKey(2), original, pebble.Sync)) })
	s = openStore(t, dir, testOptions())
	all, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	assert.Equal(t, orig, all)
	verifyChains(t, all)
}
