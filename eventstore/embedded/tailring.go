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
// in one piece of buf; the committer adds the values of each append once
// it has staged them, and the oldest go as new ones need their bytes or
// slots. It may hold values past the durable end, which readAll never asks
// for.
//
// mu guards everything: the committer adds under it, and a reader copies
// out the values it reads under it (see read), so no value is overwritten
// while a reader copies it; the reader decodes its copy after releasing
// it.
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

// add copies values, the record values the committer wrote at positions
// first, first+1, ..., into the ring, taking its lock once: the committer
// adds those of each append it stages at once. Positions come in order; a
// gap (which the committer does not make) or a value larger than the ring
// empties it.
func (r *tailRing) add(first uint64, values [][]byte) {
	if len(values) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, v := range values {
		r.addLocked(first+uint64(i), v)
	}
}

// addLocked is add for the value v of position pos; r.mu is held.
func (r *tailRing) addLocked(pos uint64, v []byte) {
	size := uint64(len(r.buf))
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

// slot returns the slot of position pos, which says where in buf its value
// is: slots is itself a ring, indexed by position modulo its length, so
// that add and read find a position's value without a search, and a
// position shares its slot with those a multiple of len(slots) apart (add
// drops the oldest value before its slot is taken). The slot is pos's only
// while pos is in [first, end); r.mu is held.
func (r *tailRing) slot(pos uint64) *tailSlot {
	return &r.slots[pos%uint64(len(r.slots))]
}

// read appends to recs the records at positions [first, end), decoded by
// dec, if the ring holds all of them, and reports whether it did (served).
// Like readEvents, and through the same step (readRecord), it checks ctx
// every ctxCheckEvery records counted from n, the length recs had when the
// caller's read began, and on ctx's error returns it with the records read
// before it. A value that does not decode
// (the ring holds what was written: only a bug could make one) is not
// served: recs is returned as it came, and the caller reads Pebble, which
// holds the same bytes and reports whatever they hold.
//
// It holds the ring's lock only to copy the values out (see copyOut), and
// decodes the copy after releasing it: decoding (checksums, strings,
// payloads) costs far more than the copy, and the committer waits on the
// lock for every append it stages.
func (r *tailRing) read(ctx context.Context, first, end uint64, n int, dec *decoder, recs []eventstore.Record) (out []eventstore.Record, served bool, err error) {
	if first >= end {
		return recs, false, nil
	}
	c := tailCopies.Get().(*tailCopy)
	defer tailCopies.Put(c)
	if !r.copyOut(c, first, end) {
		return recs, false, nil
	}
	m := len(recs)
	recs = slices.Grow(recs, len(c.slots))
	for i, sl := range c.slots {
		off := sl.at - c.base
		var bad bool
		recs, bad, err = readRecord(ctx, n, dec, recs, first+uint64(i), c.buf[off:off+uint64(sl.len)], nil)
		if bad {
			clear(recs[m:])
			return recs[:m], false, nil
		}
		if err != nil {
			return recs, true, err
		}
	}
	return recs, true, nil
}

// tailCopy is a reader's copy of the values of a run of positions, which
// tailRing.read takes under the ring's lock and decodes after it.
type tailCopy struct {
	// buf holds the bytes of the ring's buf at virtual offsets [base,
	// base+len(buf)): the values copied, and the bytes a value that did not
	// fit at the end of the ring's buf left unused (see tailRing.add).
	buf  []byte
	base uint64
	// slots are those of the positions copied, in order.
	slots []tailSlot
}

// tailCopies recycles the copies of reads, so that a read allocates its
// copy only when the pool has none large enough. copyOut grows a copy no
// larger than the ring (~1.1 MiB), and a read holds one only while it runs.
var tailCopies = sync.Pool{New: func() any { return new(tailCopy) }}

// copyOut copies into c the values of positions [first, end), first <
// end, and reports whether the ring holds them all. Under the lock it only
// checks the range and copies (at most two moves of bytes and two of
// slots): a c too small is grown with the lock released, and the copy tried
// again.
func (r *tailRing) copyOut(c *tailCopy, first, end uint64) bool {
	for {
		r.mu.Lock()
		if first < r.first || end > r.end {
			r.mu.Unlock()
			return false
		}
		// The values are in position order, in virtual offsets [lo, hi),
		// which the ring's buf holds: hi-lo is at most its size.
		lo := r.slot(first).at
		last := r.slot(end - 1)
		bytes, values := last.at+uint64(last.len)-lo, end-first
		if bytes <= uint64(cap(c.buf)) && values <= uint64(cap(c.slots)) {
			c.buf, c.base, c.slots = c.buf[:bytes], lo, c.slots[:values]
			copyRing(c.buf, r.buf, lo)
			copyRing(c.slots, r.slots, first)
			r.mu.Unlock()
			return true
		}
		size, count := len(r.buf), len(r.slots)
		r.mu.Unlock()
		c.grow(int(bytes), int(values), size, count)
	}
}

// grow gives c room for bytes bytes and values slots, at least doubling
// what it grows but not past the ring's size bytes and count slots, which
// no copy exceeds.
func (c *tailCopy) grow(bytes, values, size, count int) {
	if bytes > cap(c.buf) {
		c.buf = make([]byte, 0, max(bytes, min(2*cap(c.buf), size)))
	}
	if values > cap(c.slots) {
		c.slots = make([]tailSlot, 0, max(values, min(2*cap(c.slots), count)))
	}
}

// copyRing fills dst with the elements of ring from index at (modulo its
// length) on, going on from its start past its end; len(dst) is at most
// len(ring).
func copyRing[T any](dst, ring []T, at uint64) {
	k := copy(dst, ring[at%uint64(len(ring)):])
	copy(dst[k:], ring)
}
