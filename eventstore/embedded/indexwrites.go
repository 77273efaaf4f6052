package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

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
// The keys of one group are distinct: a stream's head is added once, with
// its last revision, and an event id once (a repeated id is a retry, which
// writes nothing).
type indexWrites struct {
	buf []byte    // the keys and values, back to back
	ops []indexOp // where each key and value lies in buf
}

// indexOp locates one key and its value in indexWrites.buf: the key is
// buf[start:keyEnd] and the value buf[keyEnd:end]; end is set by writeTo
// (a value ends where the next key starts).
type indexOp struct{ start, keyEnd, end int }

// reset empties w for the next group, keeping its memory.
func (w *indexWrites) reset() {
	w.buf = w.buf[:0]
	w.ops = w.ops[:0]
}

// streamIndex adds the stream index key of revision rev, at pos.
func (w *indexWrites) streamIndex(stream string, rev, pos uint64) {
	start := len(w.buf)
	w.buf = streamIndexKey(w.buf, stream, rev)
	w.done(start)
	w.buf = binary.BigEndian.AppendUint64(w.buf, pos)
}

// id adds the idempotency index key of id and returns the key, which is
// valid until the next call.
func (w *indexWrites) id(id uuid.UUID, loc idLocation) []byte {
	start := len(w.buf)
	w.buf = idKey(w.buf, id)
	key := w.done(start)
	w.buf = appendIDValue(w.buf, loc.position, loc.revision, loc.stream)
	return key
}

// head adds the head key of stream.
func (w *indexWrites) head(stream string, h streamHead) {
	start := len(w.buf)
	w.buf = streamPrefix(w.buf, prefixHead, stream)
	w.done(start)
	w.buf = encodeHead(w.buf, h)
}

// done records the key that begins at start and ends at the end of buf;
// its value is what is appended to buf next. It returns the key.
func (w *indexWrites) done(start int) []byte {
	w.ops = append(w.ops, indexOp{start: start, keyEnd: len(w.buf)})
	return w.buf[start:]
}

// writeTo adds every gathered key to b, in key order.
func (w *indexWrites) writeTo(b *pebble.Batch) {
	for i := range w.ops {
		if i+1 < len(w.ops) {
			w.ops[i].end = w.ops[i+1].start
		} else {
			w.ops[i].end = len(w.buf)
		}
	}
	key := func(op indexOp) []byte { return w.buf[op.start:op.keyEnd] }
	slices.SortFunc(w.ops, func(x, y indexOp) int { return bytes.Compare(key(x), key(y)) })
	for _, op := range w.ops {
		if err := b.Set(key(op), w.buf[op.keyEnd:op.end], nil); err != nil {
			panic(fmt.Sprintf("embedded: set in a batch without index failed: %v", err))
		}
	}
}
