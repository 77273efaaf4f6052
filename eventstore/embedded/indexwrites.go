package embedded

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// indexWrites gathers the index keys of a group ('S', 'I' and 'H' keys, see
// doc.go) so that the committer adds them to the group's batch after its
// records, in key order.
//
// Why: Pebble applies a batch to its memtable, a skiplist of up to 64 MiB,
// key by key in batch order, and an insert is cheap only when the key lands
// next to the one inserted before it (the skiplist reuses the previous
// insert's splice); any other key costs a search from the top, a dozen
// cache misses. In staging order every key of an append is far from the
// one before it ('E', 'S', 'I', 'E', 'S', 'I', ..., 'H'). Grouped and
// sorted, the records follow each other (their positions are consecutive),
// a new stream's index keys follow each other, and so do the id keys of
// time-ordered event ids, so that most inserts skip the search.
//
// The keys are gathered by kind, not as bytes, and each kind is sorted on
// its own: 'H' < 'I' < 'S', so the three in turn are in key order. Sorting
// every key as bytes (bytes.Compare through slices of one buffer) cost
// about 1 µs per upsert in the committer; now an append's stream index keys
// are one run (its revisions and positions are consecutive) sorted by
// stream, and the id keys are sorted by comparing two integers. The keys
// and values are encoded straight into the batch.
//
// The keys of one group are distinct: a stream's head is added once, with
// its last revision, and an event id once (a repeated id is a retry, which
// writes nothing).
type indexWrites struct {
	runs  []streamRun
	ids   []idWrite
	heads []headWrite
	key   [idKeyLen]byte // the key id returns
}

// streamRun is n stream index keys of stream: revisions rev, rev+1, ...
// at positions pos, pos+1, ...
type streamRun struct {
	stream   string
	rev, pos uint64
	n        uint64
}

// idWrite is an idempotency index key and its value.
type idWrite struct {
	id  uuid.UUID
	loc idLocation
}

// headWrite is a stream head key and its value.
type headWrite struct {
	stream string
	head   streamHead
}

// reset empties w for the next group, keeping its memory (and dropping
// its references to the group's streams).
func (w *indexWrites) reset() {
	clear(w.runs)
	clear(w.ids)
	clear(w.heads)
	w.runs, w.ids, w.heads = w.runs[:0], w.ids[:0], w.heads[:0]
}

// streamIndex adds the stream index key of revision rev, at pos.
func (w *indexWrites) streamIndex(stream string, rev, pos uint64) {
	if n := len(w.runs); n > 0 {
		if r := &w.runs[n-1]; r.stream == stream && r.rev+r.n == rev && r.pos+r.n == pos {
			r.n++
			return
		}
	}
	w.runs = append(w.runs, streamRun{stream: stream, rev: rev, pos: pos, n: 1})
}

// id adds the idempotency index key of id and returns the key, which is
// valid until the next call.
func (w *indexWrites) id(id uuid.UUID, loc idLocation) []byte {
	w.ids = append(w.ids, idWrite{id: id, loc: loc})
	return idKey(w.key[:0], id)
}

// head adds the head key of stream.
func (w *indexWrites) head(stream string, h streamHead) {
	w.heads = append(w.heads, headWrite{stream: stream, head: h})
}

// compareStreams orders streams as their keys ('H' or 'S' ++ len ++
// stream ++ ...) order them: by length first.
func compareStreams(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// compareIDs orders ids as their bytes, and so their keys, order them.
func compareIDs(a, b *uuid.UUID) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}

// writeTo adds every gathered key to b, in key order.
func (w *indexWrites) writeTo(b *pebble.Batch) {
	slices.SortFunc(w.heads, func(x, y headWrite) int { return compareStreams(x.stream, y.stream) })
	for i := range w.heads {
		h := &w.heads[i]
		op := b.SetDeferred(3+len(h.stream), headValueLen)
		streamPrefix(op.Key[:0], prefixHead, h.stream)
		encodeHead(op.Value[:0], h.head)
		finish(op)
	}
	slices.SortFunc(w.ids, func(x, y idWrite) int { return compareIDs(&x.id, &y.id) })
	for i := range w.ids {
		id := &w.ids[i]
		op := b.SetDeferred(idKeyLen, 8+8+2+len(id.loc.stream))
		idKey(op.Key[:0], id.id)
		appendIDValue(op.Value[:0], id.loc.position, id.loc.revision, id.loc.stream)
		finish(op)
	}
	slices.SortFunc(w.runs, func(x, y streamRun) int {
		if c := compareStreams(x.stream, y.stream); c != 0 {
			return c
		}
		return cmp.Compare(x.rev, y.rev)
	})
	for i := range w.runs {
		r := &w.runs[i]
		for k := range r.n {
			op := b.SetDeferred(3+len(r.stream)+8, 8)
			streamIndexKey(op.Key[:0], r.stream, r.rev+k)
			binary.BigEndian.PutUint64(op.Value, r.pos+k)
			finish(op)
		}
	}
}

// finish finishes a Set in a batch without an index, which cannot fail.
func finish(op *pebble.DeferredBatchOp) {
	if err := op.Finish(); err != nil {
		panic(fmt.Sprintf("embedded: set in a batch without index failed: %v", err))
	}
}
