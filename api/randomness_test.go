package api

import (
	"bytes"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRandomBlockHandsOutEachByteOnce(t *testing.T) {
	// Goal: a randomBlock fills reads of any size, across the blocks it
	// reads from crypto/rand, and never hands out the same bytes twice:
	// no 16-byte id's bits repeat.
	rb := &randomBlock{off: randomBlockSize}
	var all []byte
	for _, n := range []int{16, 7, 500, 16, 1, 1300, 16} {
		p := make([]byte, n)
		got, err := rb.Read(p)
		require.NoError(t, err)
		require.Equal(t, n, got)
		all = append(all, p...)
	}
	seen := map[string]bool{}
	for i := 0; i+16 <= len(all); i += 16 {
		chunk := string(all[i : i+16])
		assert.False(t, seen[chunk], "bytes %d..%d repeat", i, i+16)
		seen[chunk] = true
	}
	assert.NotEqual(t, make([]byte, 16), all[:16])
	assert.False(t, bytes.Equal(all[:randomBlockSize], all[randomBlockSize:2*randomBlockSize]), "a new block is read, not the old one again")
}

func TestNewRequestID(t *testing.T) {
	// Goal: request ids are what uuid.NewString gives: random (version 4)
	// UUIDs in their 36-character form, a fresh one each time.
	seen := map[string]bool{}
	for range 3 * randomBlockSize / 16 {
		s := newRequestID()
		id, err := uuid.Parse(s)
		require.NoError(t, err)
		assert.Len(t, s, 36)
		assert.Equal(t, uuid.Version(4), id.Version())
		assert.Equal(t, uuid.RFC4122, id.Variant())
		assert.False(t, seen[s], "%s given twice", s)
		seen[s] = true
	}
}
