package projections

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
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
type callCache struct {
	max     int
	entries map[uuid.UUID]*callEntry
}

func newCallCache(max int) *callCache {
	return &callCache{max: max, entries: make(map[uuid.UUID]*callEntry)}
}

func (c *callCache) reset() { clear(c.entries) }

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
		}
	}
}

// entry returns the cached call id, loading it from the call view when it is
// not cached. A call the read models do not have yet is the zero State.
func (p *Projector) entry(id uuid.UUID) (*callEntry, error) {
	if e, ok := p.cache.entries[id]; ok {
		return e, nil
	}
	e := &callEntry{id: id}
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

// commit writes the batch's read-model changes and its checkpoint in one
// Pebble batch, not fsync'd (see doc.go), then publishes the checkpoint.
func (p *Projector) commit(b *batch) error {
	if b.events == 0 {
		return nil
	}
	pb := p.db.NewBatch()
	defer pb.Close()

	nexts := make([]derived, len(b.dirty))
	deltas := make(map[bucket]totals)
	for i, e := range b.dirty {
		v, err := encodeCall(e.state)
		if err != nil {
			return err
		}
		if err := pb.Set(callKey(e.id), v, nil); err != nil {
			return fmt.Errorf("projections: batch: %w", err)
		}
		old, next := &e.committed, derive(&e.state)
		nexts[i] = next
		if err := writeDerived(pb, e.id, old, &next); err != nil {
			return err
		}
		if !sameContribution(old, &next) {
			if old.priced {
				deltas[old.bucket] = deltas[old.bucket].sub(old.contrib)
			}
			if next.priced {
				deltas[next.bucket] = deltas[next.bucket].add(next.contrib)
			}
		}
	}
	if err := p.writeBilling(pb, deltas); err != nil {
		return err
	}
	for _, f := range b.failures {
		v, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("projections: encode failure: %w", err)
		}
		if err := pb.Set(failureKey(f.Position), v, nil); err != nil {
			return fmt.Errorf("projections: batch: %w", err)
		}
	}
	b.cp.UpdatedAt = p.opts.Now().UTC()
	if err := pb.Set(keyCheckpoint, encodeCheckpoint(b.cp), nil); err != nil {
		return fmt.Errorf("projections: batch: %w", err)
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

// writeDerived replaces a call's lookup and list entries when they changed.
func writeDerived(pb *pebble.Batch, id uuid.UUID, old, next *derived) error {
	var errs []error
	if !sameKey(old.lookup, next.lookup) {
		if old.lookup != nil {
			errs = append(errs, pb.Delete(old.lookup, nil))
		}
		if next.lookup != nil {
			errs = append(errs, pb.Set(next.lookup, id[:], nil))
		}
	}
	switch {
	case !sameKey(old.list, next.list):
		if old.list != nil {
			errs = append(errs, pb.Delete(old.list, nil))
		}
		if next.list != nil {
			errs = append(errs, pb.Set(next.list, next.listValue, nil))
		}
	case !bytes.Equal(old.listValue, next.listValue):
		errs = append(errs, pb.Set(next.list, next.listValue, nil))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("projections: batch: %w", err)
	}
	return nil
}

// writeBilling adds each bucket's delta to its stored totals. A bucket left
// with no call is deleted, so that totals kept incrementally and rebuilt
// ones hold the same keys.
func (p *Projector) writeBilling(pb *pebble.Batch, deltas map[bucket]totals) error {
	keys := make([]bucket, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b bucket) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.account, b.account),
			cmp.Compare(a.provider, b.provider), cmp.Compare(a.currency, b.currency))
	})
	for _, k := range keys {
		key := billingKey(k)
		cur, err := p.readTotals(key)
		if err != nil {
			return err
		}
		next := cur.add(deltas[k])
		if next.calls < 0 || next.deletedCalls < 0 ||
			next.calls == 0 && (!next.total.IsZero() || next.durationSeconds != 0) {
			// A broken invariant: the stored totals do not hold the
			// contributions being taken out. Rebuild repairs it.
			return fmt.Errorf("projections: billing %+v would become calls=%d deleted=%d total=%s: read models are inconsistent, rebuild them",
				k, next.calls, next.deletedCalls, next.total)
		}
		if next.empty() {
			err = pb.Delete(key, nil)
		} else {
			err = pb.Set(key, encodeTotals(next), nil)
		}
		if err != nil {
			return fmt.Errorf("projections: batch: %w", err)
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
	p.cache.reset()
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
