package projections

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// callEntry is a call in the runner's cache: its state as folded so far and
// the derived entries of its state as committed, which the next commit
// compares against to find what to delete and what to subtract.
type callEntry struct {
	id    uuid.UUID
	state domain.State
	// folding folds the call's events into state, appending its
	// recordings without copying them for each one.
	folding   domain.Folding
	committed derived
	// added holds when the ledger recorded each recording the call gained
	// since committed (the event metadata Time of the event that added
	// it), in the order of its Recordings: what the recording index
	// entries written at the next commit hold (see addDerived).
	added []time.Time
	// addedUnknown says that added does not hold the times of the
	// recordings gained since committed: the call was refolded after a
	// failure, and no time is gathered until the next commit, so that
	// added holds fewer times than the recordings gained and their
	// entries are written without times (addDerived).
	addedUnknown bool
	dirty        bool
}

// callCache holds the call states the runner has touched, so that a call
// touched by consecutive batches is neither read back nor decoded again. It
// is bounded: after each commit it drops entries down to 3/4 of max.
// Between commits it can exceed max by at most BatchCallsMax new calls.
type callCache struct {
	max     int
	entries map[uuid.UUID]*callEntry
	// spare holds evicted entries, and those of the previous session, for
	// reuse (at most max), so that neither a rebuild nor a live session
	// allocates a State for every call it meets: a rebuild's States were a
	// third of the garbage it made beyond decoding.
	spare []*callEntry
	// totals holds, during a fresh session, the billing totals written so
	// far (at most billingCachedMax), so that commits do not read them back;
	// while totalsComplete, a bucket it lacks is not in the database either.
	totals         map[bucket]totals
	totalsComplete bool
	// fresh is true while the database holds only what this session wrote.
	fresh bool
}

func newCallCache(max int) *callCache {
	return &callCache{max: max, entries: make(map[uuid.UUID]*callEntry)}
}

// reset empties the cache for a new session; fresh says whether the
// database is empty at its start.
func (c *callCache) reset(fresh bool) {
	for _, e := range c.entries {
		c.recycle(e, c.max)
	}
	clear(c.entries)
	c.fresh = fresh
	clear(c.totals)
	c.totalsComplete = fresh
}

// billingCachedMax bounds callCache.totals.
const billingCachedMax = 1 << 16

// cachedTotals returns the totals of a bucket without reading the
// database, if the cache knows them.
func (c *callCache) cachedTotals(k bucket) (totals, bool) {
	if !c.fresh {
		return totals{}, false
	}
	t, ok := c.totals[k]
	return t, ok || c.totalsComplete
}

// keepTotals remembers the totals just written for a bucket, during a fresh
// session; past billingCachedMax buckets it forgets them all.
func (c *callCache) keepTotals(k bucket, t totals) {
	if !c.fresh {
		return
	}
	if c.totals == nil {
		c.totals = make(map[bucket]totals)
	}
	if len(c.totals) >= billingCachedMax {
		clear(c.totals)
		c.totalsComplete = false
	}
	c.totals[k] = t
}

// trim drops entries until the cache is within limit (max, or the live
// bound: see Options.LiveCallCacheMax), down to 3/4 of it. Go's map order
// makes the choice effectively random, which is good enough: hot calls come
// straight back from Pebble's block cache. It runs after a commit, when no
// entry is dirty (commit has just cleaned every entry of its batch, and
// only a batch makes entries dirty), so it drops any entry without reading
// it: an evicted entry is cold, and reading its dirty flag, then emptying
// it, cost a cache miss or two per evicted call (0.4-1 us each, a few
// tenths of a microsecond per new call through the API once the cache is
// full); newEntry empties it when it is reused, as the fold is about to
// write it anyway.
func (c *callCache) trim(limit int) {
	if len(c.entries) > limit {
		target := limit * 3 / 4
		for id, e := range c.entries {
			if len(c.entries) <= target {
				break
			}
			delete(c.entries, id)
			c.recycle(e, limit)
		}
	}
	// Spares beyond the limit (those of a larger bound, before the runner
	// went live) go to the garbage collector with what they hold.
	if len(c.spare) > limit {
		clear(c.spare[limit:])
		c.spare = c.spare[:limit]
	}
}

// recycle keeps an entry that left the cache for newEntry, while spare
// holds fewer than limit. Nothing else may refer to it: an evicted entry is
// clean, so no batch holds it, and reset runs between sessions. It is not
// emptied until newEntry reuses it (see trim): until then it keeps the
// memory of its last state alive, at most limit such entries.
func (c *callCache) recycle(e *callEntry, limit int) {
	if len(c.spare) < limit {
		c.spare = append(c.spare, e)
	}
}

// newEntry returns an empty entry for id, reusing a recycled one if any.
func (c *callCache) newEntry(id uuid.UUID) *callEntry {
	n := len(c.spare)
	if n == 0 {
		return &callEntry{id: id}
	}
	e := c.spare[n-1]
	c.spare[n-1] = nil
	c.spare = c.spare[:n-1]
	*e = callEntry{id: id, added: e.added[:0]}
	return e
}

// entry returns the cached call id, loading it from the call view when it is
// not cached. A call the read models do not have yet is the zero State.
// first says the event to apply is the first of the call's stream (revision
// 0) and comes after every event applied: the read models, which stand
// before it, cannot have the call, so it is not looked up (a miss that
// seeks every memtable, for every new call).
func (p *Projector) entry(id uuid.UUID, first bool) (*callEntry, error) {
	if e, ok := p.cache.entries[id]; ok {
		return e, nil
	}
	e := p.cache.newEntry(id)
	if first {
		p.cache.entries[id] = e // never written: the read models stand before it
		return e, nil
	}
	v, closer, err := p.dst.Get(callKey(id))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("projections: load call %s: %w", id, pebbleError(err))
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

// writes is the set of key changes of one commit other than the call views,
// gathered before they go into the Pebble batch so that they can go in key
// order: Pebble's memtable inserts a batch in order, and sorted keys let
// each insert start from the previous one's place instead of searching the
// skiplist from the top. The batch holds three sorted runs: the call views
// ('c' keys, encoded straight into it in call id order), then the deletes,
// then the sets (see commit).
type writes struct {
	deletes [][]byte
	sets    []setOp
	// order is the indices of sets in key order, and of equal keys in the
	// order of gathering (see sort).
	order []int32
}

type setOp struct {
	key   []byte
	value []byte
}

func (w *writes) reset() {
	w.deletes = w.deletes[:0]
	w.sets = w.sets[:0]
}

func (w *writes) set(key, value []byte) {
	w.sets = append(w.sets, setOp{key: key, value: value})
}

// sort orders deletes by key, and sets by key through order, with equal
// keys in the order they were gathered (the last one wins). The sets are
// sorted as indices, not moved: sorting the 48-byte setOps themselves took
// twice as long for a live commit's ~170 sets (~22 us, ~0.4 us per new
// call), and longer for a rebuild's.
func (w *writes) sort() {
	slices.SortFunc(w.deletes, bytes.Compare)
	w.order = w.order[:0]
	for i := range w.sets {
		w.order = append(w.order, int32(i))
	}
	sets := w.sets
	slices.SortFunc(w.order, func(a, b int32) int {
		if c := bytes.Compare(sets[a].key, sets[b].key); c != 0 {
			return c
		}
		return int(a - b)
	})
}

// applySets adds the sets to pb in the order sort put them in.
func applySets(pb *pebble.Batch, w *writes) error {
	for _, i := range w.order {
		if err := pb.Set(w.sets[i].key, w.sets[i].value, nil); err != nil {
			return fmt.Errorf("projections: batch: %w", err)
		}
	}
	return nil
}

// commit writes the batch's read-model changes and its checkpoint in one
// Pebble batch, not fsync'd (see doc.go), then publishes the checkpoint.
// Each call view goes into the batch as soon as its keys are derived, in
// call id order, while its State is in the CPU's caches (walking thousands
// of States twice, to derive and then to encode, missed the caches twice);
// then the deletes, so that a key one call leaves and another takes ends
// up set; then every other set, in key order. No delete is of a call view.
// Once committed, the cache keeps at most keep call states (see trim).
func (p *Projector) commit(b *batch, keep int) error {
	if b.events == 0 {
		return nil
	}
	slices.SortFunc(b.dirty, func(x, y *callEntry) int { return bytes.Compare(x.id[:], y.id[:]) })
	w := &p.writes
	w.reset()
	pb := p.batch()
	nexts := slices.Grow(p.nexts[:0], len(b.dirty))[:len(b.dirty)]
	if p.deltas == nil {
		p.deltas = make(map[bucket]totals)
	}
	deltas := p.deltas
	defer clear(deltas)
	key := make([]byte, 0, 17)
	for i, e := range b.dirty {
		old, next := &e.committed, derive(&e.state)
		nexts[i] = next
		v, err := p.enc.encode(&e.state)
		if err != nil {
			return err
		}
		key = append(append(key[:0], prefixCall), e.id[:]...)
		if err := pb.Set(key, v, nil); err != nil { // Set copies key and value
			return fmt.Errorf("projections: batch: %w", err)
		}
		addDerived(w, e.id, old, &next, e.state.Call.Recordings, e.added)
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
	w.sort()

	for _, k := range w.deletes {
		if err := pb.Delete(k, nil); err != nil {
			return fmt.Errorf("projections: batch: %w", err)
		}
	}
	if err := applySets(pb, w); err != nil {
		return err
	}
	p.pbBytes = max(p.pbBytes, min(pb.Len(), batchRetainedBytesMax))
	if err := commitBatch(pb); err != nil {
		return fmt.Errorf("projections: commit batch at %s: %w", b.cp.Position, err)
	}

	for i, e := range b.dirty {
		e.committed = nexts[i]
		e.dirty = false
		e.added, e.addedUnknown = e.added[:0], false
	}
	clear(nexts) // the entries own them now
	p.nexts = nexts[:0]
	p.cache.trim(keep)
	p.publish(b.cp, b.events)
	b.events = 0
	b.dirty = b.dirty[:0]
	b.failures = nil
	return nil
}

// batchRetainedBytesMax is the largest Pebble batch buffer kept for the next
// commit: a full batch (BatchEventsMax events) of call views fits.
const batchRetainedBytesMax = 32 << 20

// batch returns an empty Pebble batch of dst, reusing the previous commit's
// buffer: a fresh batch regrows it by doubling, which at a few megabytes a
// commit is a large share of a rebuild's garbage.
func (p *Projector) batch() *pebble.Batch {
	if p.pb != nil && p.pbDB == p.dst {
		p.pb.Reset()
		return p.pb
	}
	if p.pb != nil {
		p.pb.Close()
	}
	// A new database (each Rebuild's) starts its batch at the largest size
	// seen, rather than doubling up to it again.
	p.pb = p.dst.NewBatch(pebble.WithInitialSizeBytes(p.pbBytes), pebble.WithMaxRetainedSizeBytes(batchRetainedBytesMax))
	p.pbDB = p.dst
	return p.pb
}

// dropBatch closes the reused batch, before its database closes.
func (p *Projector) dropBatch() {
	if p.pb != nil {
		p.pb.Close()
		p.pb, p.pbDB = nil, nil
	}
}

// addDerived replaces a call's list entry when it changed, and adds the
// recording index entries of the recordings it gained, of recs (its
// Recordings; see derived.recordings), each with the time it was added
// (see callEntry.added), or without times when added does not hold one for
// each (a call refolded after a failure: callEntry.addedUnknown).
func addDerived(w *writes, id uuid.UUID, old, next *derived, recs []domain.Recording, added []time.Time) {
	gained := recs[min(old.recordings, next.recordings):next.recordings]
	dated := len(added) == len(gained)
	for i, r := range gained {
		v := make([]byte, 0, recordingValueBytes)
		v = append(v, id[:]...)
		if dated {
			v = appendTime(v, added[i])
		}
		w.set(recordingKey(r.SID(id)), v)
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
		cur, ok := p.cache.cachedTotals(k)
		if !ok {
			var err error
			if cur, err = p.readTotals(key); err != nil {
				return err
			}
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
		p.cache.keepTotals(k, next)
	}
	return nil
}

func (p *Projector) readTotals(key []byte) (totals, error) {
	v, closer, err := p.dst.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return totals{}, nil
	}
	if err != nil {
		return totals{}, fmt.Errorf("projections: read billing: %w", pebbleError(err))
	}
	defer closer.Close()
	return decodeTotals(v)
}

// commitBatch commits pb, turning the panic of Pebble's fatal error (a
// write-ahead log record that could not be written: a full disk) into an
// error wrapping pebblelog.ErrFatal, which the runner does not retry (see
// Run): the panic took the server down with a stack trace (exit 2), where
// the event store and the idempotency table each fail for good and keep
// serving what they can.
func commitBatch(pb *pebble.Batch) (err error) {
	defer func() {
		if e := pebblelog.Recovered(recover()); e != nil {
			err = e
		}
	}()
	return pb.Commit(pebble.NoSync)
}
