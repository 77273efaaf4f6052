package embedded

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
)

// ringValue returns the record value of an event of stream "s" at position
// pos whose data is n bytes.
func ringValue(pos uint64, n int) []byte {
	ev := eventstore.EventData{ID: uuid.New(), Type: "T", Data: bytes.Repeat([]byte{byte(pos)}, n)}
	v := make([]byte, recordLen("s", &ev))
	encodeRecord(v, &storedEvent{stream: "s", revision: pos, recordedAt: int64(pos)}, &ev)
	return v
}

// ringHolds checks that r holds exactly the values of want in [first,
// end), as its reads decode them.
func ringHolds(t *testing.T, r *tailRing, want map[uint64][]byte, first, end uint64) {
	t.Helper()
	require.Equal(t, first, r.first, "first")
	require.Equal(t, end, r.end, "end")
	if first == end {
		return
	}
	dec := plainDecoder()
	recs, served, err := r.read(context.Background(), first, end, 0, &dec, nil)
	require.NoError(t, err)
	require.True(t, served)
	require.Len(t, recs, int(end-first))
	for i, rec := range recs {
		pos := first + uint64(i)
		wantRec, err := dec.decode(pos, want[pos])
		require.NoError(t, err)
		require.Equal(t, wantRec, rec, "position %d", pos)
	}
	// Nothing outside [first, end) is served.
	_, served, _ = r.read(context.Background(), first-1, end, 0, &dec, nil)
	assert.False(t, served, "a read from before first")
	_, served, _ = r.read(context.Background(), first, end+1, 0, &dec, nil)
	assert.False(t, served, "a read past end")
}

// TestTailRingBounds checks each way a value leaves the ring: its slot
// taken, its bytes overwritten (across the end of the buffer), a value
// larger than the ring, and a gap in positions.
func TestTailRingBounds(t *testing.T) {
	small := len(ringValue(0, 0)) // ~130 bytes
	r := newTailRing(1, 3*small+small/2, 4)
	want := map[uint64][]byte{}
	add := func(pos uint64, n int) {
		want[pos] = ringValue(pos, n)
		r.add(pos, [][]byte{want[pos]})
	}
	ringHolds(t, r, want, 1, 1)
	add(1, 0)
	add(2, 0)
	add(3, 0)
	ringHolds(t, r, want, 1, 4)
	// The fourth does not fit after the third: it starts over at 0, over
	// the first.
	add(4, 0)
	ringHolds(t, r, want, 2, 5)
	// A value twice the size overwrites the second and third.
	add(5, small)
	ringHolds(t, r, want, 4, 6)

	// Four slots: the fifth small value takes the slot of the first.
	r = newTailRing(1, 100*small, 4)
	for pos := uint64(1); pos <= 5; pos++ {
		add(pos, 0)
	}
	ringHolds(t, r, want, 2, 6)

	// A value larger than the ring empties it; the next ones fill it again.
	add(6, 100*small)
	ringHolds(t, r, want, 7, 7)
	add(7, 0)
	ringHolds(t, r, want, 7, 8)

	// A gap (which the committer does not make) starts the ring over.
	add(9, 0)
	ringHolds(t, r, want, 9, 10)
}

// TestTailRingRandom adds values of random sizes to small rings and checks
// after each that every value the ring holds reads back exactly as added,
// and that the ring keeps at least the last value.
func TestTailRingRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		size := 200 + rng.IntN(2000)
		r := newTailRing(1, size, 1+rng.IntN(16))
		want := map[uint64][]byte{}
		for pos := uint64(1); pos <= 300; pos++ {
			want[pos] = ringValue(pos, rng.IntN(size))
			r.add(pos, [][]byte{want[pos]})
			if len(want[pos]) <= size {
				require.Less(t, r.first, r.end, "the last value is kept")
			}
			ringHolds(t, r, want, r.first, pos+1)
		}
	}
}

// TestTailRingDamage checks that a value of the ring that does not decode
// is not served, so that the read goes to Pebble, which returns the events
// as stored.
func TestTailRingDamage(t *testing.T) {
	s, err := Open(t.TempDir(), Options{MemTableSize: 4 << 20, BlockCacheSize: 8 << 20, HeadCacheStreams: 64})
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	for i := range 3 {
		_, err := s.Append(ctx, "s", eventstore.Any(), []eventstore.EventData{{ID: uuid.New(), Type: "T", Data: []byte{byte(i)}}})
		require.NoError(t, err)
	}
	want, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)

	s.tail.mu.Lock()
	require.Equal(t, uint64(1), s.tail.first, "the ring holds the events")
	s.tail.buf[s.tail.slot(2).at+offsetRevision] ^= 1
	s.tail.mu.Unlock()
	dec := plainDecoder()
	recs, served, err := s.tail.read(ctx, 1, 4, 0, &dec, make([]eventstore.Record, 0, 3))
	require.NoError(t, err)
	assert.False(t, served)
	assert.Empty(t, recs)

	got, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	var page eventstore.Page
	require.NoError(t, s.ReadAllPage(ctx, eventstore.Start, 10, &page))
	assert.Equal(t, want, page.Records)
}
