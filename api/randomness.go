package api

import (
	"crypto/rand"
	"fmt"
	"sync"

	"github.com/google/uuid"
)

// randomBlockSize is how many bytes of crypto/rand a randomBlock reads at
// once: the random bits of ~32 ids (16 bytes each).
const randomBlockSize = 512

// randomBlocks holds the blocks of crypto/rand bytes that request ids
// (newRequestID) and event ids (encodeEvents) take their random bits from.
// uuid.NewString and uuid.NewV7 read crypto/rand for each id: in the upsert
// profile ~0.6 µs a read whatever its length (the generator's cold state,
// not the bytes), four reads an upsert (its request id and its three
// events' ids). From a block, ~8 upserts share one read. A block is one
// goroutine's from Get to Put, so no byte is handed out twice.
//
// uuid.EnableRandPool was not used: it is a setting of the whole process,
// changing every uuid.New and NewV7 of every package (and to be made
// before any of them runs), and its pool is one buffer, of 16 ids, behind
// one mutex that every id of every goroutine takes; a sync.Pool's blocks
// are taken without a lock, from the calling P's own cache.
var randomBlocks = sync.Pool{New: func() any { return &randomBlock{off: randomBlockSize} }}

// randomBlock is an io.Reader of crypto/rand bytes, read a block at a time.
type randomBlock struct {
	b   [randomBlockSize]byte
	off int // b[off:] is not handed out yet
}

// Read fills p, reading a new block from crypto/rand when this one is spent.
func (rb *randomBlock) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if rb.off == len(rb.b) {
			if _, err := rand.Read(rb.b[:]); err != nil {
				return n, err
			}
			rb.off = 0
		}
		k := copy(p[n:], rb.b[rb.off:])
		rb.off += k
		n += k
	}
	return n, nil
}

// newRequestID returns a fresh random UUID (version 4) in its string form,
// as uuid.NewString does, its bits from randomBlocks.
func newRequestID() string {
	rb := randomBlocks.Get().(*randomBlock)
	defer randomBlocks.Put(rb)
	id, err := uuid.NewRandomFromReader(rb)
	if err != nil {
		// What uuid.NewString does: crypto/rand does not fail on the
		// systems Go supports (it crashes the program first).
		panic(fmt.Errorf("new request id: %w", err))
	}
	return id.String()
}
