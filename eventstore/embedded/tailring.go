package embedded

import (
	"context"
	"slices"
	"sync"

	"github.com/callledger/callledger/eventstore"
)

// Bounds of the tail ring (see "Reads of the tail" in the package doc). At
// ~0.7 KB a record (a Moonbase upsert), 1 MiB holds ~1,500 events, a dozen
// groups of 128 appends: a live follower that reads each group as it is
// published, or a few behind, finds it there. Both are allocated once, at
// Open (~1.1 MiB, for as long as the store is open).
const (
	// tailRingBytes bounds the bytes of the values the ring holds.
	tailRingBytes = 1 << 20
	// tailRingEvents bounds how many values it holds: values of less than
	// 256 bytes run out of slots before bytes.
	tailRingEvents = 1 << 12
)

// tailRing holds the record values of the events the committer wrote last,
// the exact bytes it stored under their 'E' keys, from which readAll serves
// the reads of the tail of $all without building a Pebble iterator (see
// "Reads of the tail" in the package doc).
//
// It holds the values of a run of consecutive positions [first, end), each
// in one piece of buf; the committer adds each value as it stages it, and
// the oldest go as new ones need their bytes or slots. It may hold values
// past the durable end, which readAll never asks for.
//
// mu guards everything: the committer adds under it, and a reader decodes
// (copies out) the values it reads under it, so no value is overwritten
// while a reader copies it.
type tailRing struct {
	mu sync.Mutex
	// buf holds the values: the byte at virtual offset v is buf[v%len(buf)].
	buf []byte
	// slots locates the value of position p at slots[p%len(slots)].
	slots []tailSlot
	// first and end bound the positions held: [first, end).
	first, end uint64
	// next is the virtual offset the next value goes at (or after).
	next uint64
}

// tailSlot is where a value is in tailRing.buf.
type tailSlot struct {
	at  uint64 // virtual offset of its first byte
	len int
}

// newTailRing returns an empty ring of the given bounds whose next value
// is that of position end.
func newTailRing(end uint64, bytes, events int) *tailRing {
	return &tailRing{
		buf:   make([]byte, bytes),
		slots: make([]tailSlot, events),
		first: end,
		end:   end,
	}
}

// add copies v, the record value the committer wrote at position pos, into
// the ring. Positions come in order; a gap (which the committer does not
// make) or a value larger than the ring empties it.
func (r *tailRing) add(pos uint64, v []byte) {
	size := uint64(len(r.buf))
	r.mu.Lock()
	defer r.mu.Unlock()
	if pos != r.end {
		r.first, r.end = pos, pos
	}
	if uint64(len(v)) > size {
		r.first, r.end = pos+1, pos+1
		return
	}
	// A value does not wrap around the end of buf: it starts again at 0.
	at := r.next
	if off := at % size; off+uint64(len(v)) > size {
		at += size - off
	}
	r.next = at + uint64(len(v))
	// The bytes at virtual offsets [next-size, next) are the last written:
	// a value that starts before them is partly overwritten. Values start
	// in position order, so the oldest go first; so does the one whose
	// slot pos takes.
	for r.first < r.end && (r.slot(r.first).at+size < r.next || r.end-r.first == uint64(len(r.slots))) {
		r.first++
	}
	copy(r.buf[at%size:], v)
	*r.slot(pos) = tailSlot{at: at, len: len(v)}
	r.end = pos + 1
}

func (r *tailRing) slot(pos uint64) *tailSlot {
	return &r.slots[pos%uint64(len(r.slots))]
}

// read appends to recs the records at positions [first, end), decoded by
// dec, if the ring holds all of them, and reports whether it did (served).
// Like readEvents, it checks ctx every ctxCheckEvery records counted from
// n, the length recs had when the caller's read began, and on ctx's error
// returns it with the records read before it. A value that does not decode
// (the ring holds what was written: only a bug could make one) is not
// served: recs is returned as it came, and the caller reads Pebble, which
// holds the same bytes and reports whatever they hold.
func (r *tailRing) read(ctx context.Context, first, end uint64, n int, dec *decoder, recs []eventstore.Record) (out []eventstore.Record, served bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if first < r.first || end > r.end || first >= end {
		return recs, false, nil
	}
	m := len(recs)
	recs = slices.Grow(recs, int(end-first))
	size := uint64(len(r.buf))
	for pos := first; pos < end; pos++ {
		if (len(recs)-n)%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return recs, true, err
			}
		}
		sl := r.slot(pos)
		off := sl.at % size
		rec, err := dec.decode(pos, r.buf[off:off+uint64(sl.len)])
		if err != nil {
			clear(recs[m:])
			return recs[:m], false, nil
		}
		recs = append(recs, rec)
	}
	return recs, true, nil
}
