package projections

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// callEntry is a call in the runner's cache: its state as folded so far and
// the derived entries of its state as committed, which the next commit
// compares against to find what to delete and what to subtract.
type callEntry struct {
	id        uuid.UUID
	state     domain.State
	committed derived
	dirty     bool
}

// callCache holds the call states the runner has touched, so that a call
// touched by consecutive batches is neither read back nor decoded again. It
// is bounded: after each commit it drops clean entries down to 3/4 of max.
// Between commits it can exceed max by at most BatchCallsMax new calls.
//
// During a rebuild the database started empty, so a call that is neither
// cached nor was ever evicted cannot be in it: evicted remembers evicted
// ids in a fixed-size Bloom filter, and entry skips the Pebble read of every
// other call (most of them, the first time each is seen). A false positive
// only costs that read.
type callCache struct {
	max     int
	entries map[uuid.UUID]*callEntry
	// fresh is true while the database holds only what this session wrote.
	fresh   bool
	evicted bloomFilter
}

func newCallCache(max int) *callCache {
	return &callCache{max: max, entries: make(map[uuid.UUID]*callEntry), evicted: newBloomFilter()}
}

// reset empties the cache for a new session; fresh says whether the
// database is empty at its start.
func (c *callCache) reset(fresh bool) {
	clear(c.entries)
	c.fresh = fresh
	c.evicted.clear()
}

// trim drops clean entries until the cache is within bounds. Go's map order
// makes the choice effectively random, which is good enough: hot calls come
// straight back from Pebble's block cache.
func (c *callCache) trim() {
	if len(c.entries) <= c.max {
		return
	}
	target := c.max * 3 / 4
	for id, e := range c.entries {
		if len(c.entries) <= target {
			return
		}
		if !e.dirty {
			delete(c.entries, id)
			if c.fresh {
				c.evicted.add(id)
			}
		}
	}
}

// bloomFilterBits is the size of the evicted-call filter: 1 MiB, under 1%
// false positives up to about a million evicted calls.
const bloomFilterBits = 1 << 23

// bloomFilter is a fixed-size Bloom filter of call ids with 7 probes.
type bloomFilter struct {
	seed maphash.Seed
	bits []uint64
	used bool
}

func newBloomFilter() bloomFilter {
	return bloomFilter{seed: maphash.MakeSeed()}
}

func (f *bloomFilter) clear() {
	if f.used {
		clear(f.bits)
		f.used = false
	}
}

// probes calls fn with the bit index of each probe (Kirsch–Mitzenmacher:
// h1 + i×h2 over one 64-bit hash).
func (f *bloomFilter) probes(id uuid.UUID, fn func(bit uint64) bool) bool {
	h := maphash.Bytes(f.seed, id[:])
	h1, h2 := h&0xFFFFFFFF, h>>32|1
	for i := range uint64(7) {
		if !fn((h1 + i*h2) % bloomFilterBits) {
			return false
		}
	}
	return true
}

func (f *bloomFilter) add(id uuid.UUID) {
	if f.bits == nil {
		f.bits = make([]uint64, bloomFilterBits/64)
	}
	f.used = true
	f.probes(id, func(bit uint64) bool {
		f.bits[bit/64] |= 1 << (bit % 64)
		return true
	})
}

func (f *bloomFilter) mayContain(id uuid.UUID) bool {
	if !f.used {
		return false
	}
	return f.probes(id, func(bit uint64) bool { return f.bits[bit/64]&(1<<(bit%64)) != 0 })
}

// entry returns the cached call id, loading it from the call view when it is
// not cached. A call the read models do not have yet is the zero State.
func (p *Projector) entry(id uuid.UUID) (*callEntry, error) {
	if e, ok := p.cache.entries[id]; ok {
		return e, nil
	}
	e := &callEntry{id: id}
	if p.cache.fresh && !p.cache.evicted.mayContain(id) {
		p.cache.entries[id] = e // never written: the database started empty
		return e, nil
	}
	v, closer, err := p.db.Get(callKey(id))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("projections: load call %s: %w", id, err)
	default:
		s, derr := decodeCall(v)
		closer.Close()
		if derr != nil {
			return nil, fmt.Errorf("projections: load call %s: %w", id, derr)
		}
		e.state = s
		e.committed = derive(&e.state)
	}
	p.cache.entries[id] = e
	return e, nil
}

// writes is the set of key changes of one commit, gathered before they go
// into the Pebble batch so that they can go in key order: Pebble's memtable
// inserts a batch in order, and sorted keys let each insert start from the
// previous one's place instead of searching the skiplist from the top.
type writes struct {
	deletes [][]byte
	sets    []setOp
	// arena holds encoded call views back to back; a setOp with value nil
	// points into it (valueAt, valueEnd), since the arena may move as it grows.
	arena []byte
}

type setOp struct {
	key               []byte
	value             []byte
	valueAt, valueEnd int
	seq               int // order of gathering: the tie-break of equal keys
}

func (w *writes) reset() {
	w.deletes = w.deletes[:0]
	w.sets = w.sets[:0]
	if cap(w.arena) > 64<<20 {
		w.arena = nil // do not keep an outsized batch's memory
	}
	w.arena = w.arena[:0]
}

func (w *writes) set(key, value []byte) {
	w.sets = append(w.sets, setOp{key: key, value: value, seq: len(w.sets)})
}

func (w *writes) setFromArena(key, value []byte) {
	at := len(w.arena)
	w.arena = append(w.arena, value...)
	w.sets = append(w.sets, setOp{key: key, valueAt: at, valueEnd: len(w.arena), seq: len(w.sets)})
}

// apply adds every delete, then every set, each in key order, to pb. Deletes
// go first so that a key one call leaves and another takes ends up set.
func (w *writes) apply(pb *pebble.Batch) error {
	slices.SortFunc(w.deletes, bytes.Compare)
	slices.SortFunc(w.sets, func(a, b setOp) int {
		if c := bytes.Compare(a.key, b.key); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	for _, k := range w.deletes {
		if err := pb.Delete(k, nil); err != nil {
			return fmt.Errorf("projections: batch: %w", err)
		}
	}
	for _, op := range w.sets {
		v := op.value
		if v == nil {
			v = w.arena[op.valueAt:op.valueEnd]
		}
		if err := pb.Set(op.key, v, nil); err != nil {
			return fmt.Errorf("projections: batch: %w", err)
		}
	}
	return nil
}

// commit writes the batch's read-model changes and its checkpoint in one
// Pebble batch, not fsync'd (see doc.go), then publishes the checkpoint.
func (p *Projector) commit(b *batch) error {
	if b.events == 0 {
		return nil
	}
	w := &p.writes
	w.reset()
	nexts := make([]derived, len(b.dirty))
	deltas := make(map[bucket]totals)
	for i, e := range b.dirty {
		v, err := p.enc.encode(&e.state)
		if err != nil {
			return err
		}
		w.setFromArena(callKey(e.id), v)
		old, next := &e.committed, derive(&e.state)
		nexts[i] = next
		addDerived(w, e.id, old, &next)
		if !sameContribution(old, &next) {
			if old.priced {
				deltas[old.bucket] = deltas[old.bucket].sub(old.contrib)
			}
			if next.priced {
				deltas[next.bucket] = deltas[next.bucket].add(next.contrib)
			}
		}
	}
	if err := p.addBilling(w, deltas); err != nil {
		return err
	}
	for _, f := range b.failures {
		v, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("projections: encode failure: %w", err)
		}
		w.set(failureKey(f.Position), v)
	}
	b.cp.UpdatedAt = p.opts.Now().UTC()
	w.set(keyCheckpoint, encodeCheckpoint(b.cp))

	pb := p.db.NewBatch()
	defer pb.Close()
	if err := w.apply(pb); err != nil {
		return err
	}
	if err := pb.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("projections: commit batch at %s: %w", b.cp.Position, err)
	}

	for i, e := range b.dirty {
		e.committed = nexts[i]
		e.dirty = false
	}
	p.cache.trim()
	p.publish(b.cp, b.events)
	b.events = 0
	b.dirty = b.dirty[:0]
	b.failures = nil
	return nil
}

// addDerived replaces a call's lookup and list entries when they changed.
func addDerived(w *writes, id uuid.UUID, old, next *derived) {
	if !sameKey(old.lookup, next.lookup) {
		if old.lookup != nil {
			w.deletes = append(w.deletes, old.lookup)
		}
		if next.lookup != nil {
			w.set(next.lookup, bytes.Clone(id[:]))
		}
	}
	switch {
	case !sameKey(old.list, next.list):
		if old.list != nil {
			w.deletes = append(w.deletes, old.list)
		}
		if next.list != nil {
			w.set(next.list, next.listValue)
		}
	case !bytes.Equal(old.listValue, next.listValue):
		w.set(next.list, next.listValue)
	}
}

// addBilling adds each bucket's delta to its stored totals. A bucket left
// with no call is deleted, so that totals kept incrementally and rebuilt
// ones hold the same keys.
func (p *Projector) addBilling(w *writes, deltas map[bucket]totals) error {
	for k, d := range deltas {
		key := billingKey(k)
		cur, err := p.readTotals(key)
		if err != nil {
			return err
		}
		next := cur.add(d)
		if next.calls < 0 || next.deletedCalls < 0 ||
			next.calls == 0 && (!next.total.IsZero() || next.durationSeconds != 0) {
			// A broken invariant: the stored totals do not hold the
			// contributions being taken out. Rebuild repairs it.
			return fmt.Errorf("projections: billing %+v would become calls=%d deleted=%d total=%s: read models are inconsistent, rebuild them",
				k, next.calls, next.deletedCalls, next.total)
		}
		if next.empty() {
			w.deletes = append(w.deletes, key)
		} else {
			w.set(key, encodeTotals(next))
		}
	}
	return nil
}

func (p *Projector) readTotals(key []byte) (totals, error) {
	v, closer, err := p.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return totals{}, nil
	}
	if err != nil {
		return totals{}, fmt.Errorf("projections: read billing: %w", err)
	}
	defer closer.Close()
	return decodeTotals(v)
}

// dropAll deletes every read model, failure and the checkpoint in one synced
// batch, keeping the format stamp, and resets the runner's memory.
func (p *Projector) dropAll() error {
	pb := p.db.NewBatch()
	defer pb.Close()
	errs := []error{
		pb.DeleteRange([]byte{0x00}, []byte{0xFF}, nil),
		pb.Set(keyFormat, []byte(formatVersion), nil),
	}
	cp := checkpoint{UpdatedAt: p.opts.Now().UTC()}
	errs = append(errs, pb.Set(keyCheckpoint, encodeCheckpoint(cp), nil))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("projections: drop read models: %w", err)
	}
	if err := pb.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("projections: drop read models: %w", err)
	}
	p.cache.reset(false)
	p.mu.Lock()
	p.received = cp.Position
	p.mu.Unlock()
	p.publish(cp, 0)
	return nil
}

// syncWAL makes every committed batch durable, at the end of a rebuild: it
// writes the checkpoint again, synced, which syncs the WAL up to it.
func (p *Projector) syncWAL() error {
	p.mu.Lock()
	cp := p.cp
	p.mu.Unlock()
	if err := p.db.Set(keyCheckpoint, encodeCheckpoint(cp), pebble.Sync); err != nil {
		return fmt.Errorf("projections: sync: %w", err)
	}
	return nil
}
