package embedded

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// keyFilter is an in-memory Bloom filter over the keys of the store that
// say "this exists": every 'I' key (an event id is recorded) and every 'H'
// key (a stream has events). A "no" from it is certain, so the lookups that
// almost always miss (the ids of new events, the head and the events of a
// new stream) are answered without Pebble. Those misses otherwise seek
// every memtable: a random key in a 64 MiB arena skiplist costs 10-30 µs
// of cache misses on our machines, several times a request.
//
// It is not stored: Open fills it in the background from one scan of the
// 'I' and 'H' keys, and the committer adds the keys of every group before
// it applies the group. Until the scan ends it is not ready, and every
// lookup goes to Pebble as before. Memory: about 10 bits a key (1.3 MB a
// million events), in sets that double as the store grows; a false "maybe"
// (about 1% a set) costs one Pebble lookup, nothing more.
//
// It is safe for concurrent use: the committer and the scan add, while
// appends and reads test. Bits only ever go from 0 to 1 (atomic OR), so a
// test never misses a key whose add returned before it started.
type keyFilter struct {
	seed  maphash.Seed
	ready atomic.Bool
	sets  atomic.Pointer[[]*bloomSet]
	grow  sync.Mutex // serialises adding a set

	scanStop context.CancelFunc
	scanDone chan struct{}
}

// bloomSet is one blocked Bloom filter: a key sets bloomProbes bits of one
// 512-bit block (one cache line), picked by its hash.
type bloomSet struct {
	words    []atomic.Uint64
	blocks   uint64
	capacity int64
	count    atomic.Int64
}

const (
	bloomBitsPerKey    = 10
	bloomProbes        = 7
	bloomBlockWords    = 8 // 512 bits
	bloomFirstCapacity = 1 << 18
)

func newBloomSet(capacity int64) *bloomSet {
	blocks := uint64(capacity*bloomBitsPerKey/(64*bloomBlockWords)) + 1
	return &bloomSet{words: make([]atomic.Uint64, blocks*bloomBlockWords), blocks: blocks, capacity: capacity}
}

// probe calls f with the word index and bit mask of each of h's probes.
func (b *bloomSet) probe(h uint64, f func(word int, mask uint64) bool) bool {
	block, _ := bits.Mul64(h, b.blocks) // h's place in [0, blocks)
	g := h * 0x9E3779B97F4A7C15         // remix: the block used h's high bits
	base := int(block) * bloomBlockWords
	for i := range bloomProbes {
		bit := (g >> (9 * i)) & 511
		if !f(base+int(bit>>6), 1<<(bit&63)) {
			return false
		}
	}
	return true
}

func (b *bloomSet) add(h uint64) {
	b.probe(h, func(w int, m uint64) bool { b.words[w].Or(m); return true })
	b.count.Add(1)
}

func (b *bloomSet) mayContain(h uint64) bool {
	return b.probe(h, func(w int, m uint64) bool { return b.words[w].Load()&m != 0 })
}

// newKeyFilter returns a filter whose first set holds expected keys (at
// least bloomFirstCapacity): Open passes what the store can hold already, so
// that a large store is not filtered by a chain of doubling sets, each a
// cache miss for every key it does not hold, and each adding its false
// positives.
func newKeyFilter(expected int64) *keyFilter {
	f := &keyFilter{seed: maphash.MakeSeed()}
	sets := []*bloomSet{newBloomSet(max(expected, bloomFirstCapacity))}
	f.sets.Store(&sets)
	return f
}

// add records key. Once a set holds its capacity, a set twice as large
// takes the next keys.
func (f *keyFilter) add(key []byte) {
	h := maphash.Bytes(f.seed, key)
	sets := *f.sets.Load()
	last := sets[len(sets)-1]
	if last.count.Load() >= last.capacity {
		last = f.growFrom(last)
	}
	last.add(h)
}

func (f *keyFilter) growFrom(full *bloomSet) *bloomSet {
	f.grow.Lock()
	defer f.grow.Unlock()
	sets := *f.sets.Load()
	if last := sets[len(sets)-1]; last != full {
		return last // another adder grew it
	}
	next := append(sets[:len(sets):len(sets)], newBloomSet(2*full.capacity))
	f.sets.Store(&next)
	return next[len(next)-1]
}

// mayContain reports false only if key was surely never added, and only
// once the filter is ready; before that it always reports true.
func (f *keyFilter) mayContain(key []byte) bool {
	if !f.ready.Load() {
		return true
	}
	h := maphash.Bytes(f.seed, key)
	for _, s := range *f.sets.Load() {
		if s.mayContain(h) {
			return true
		}
	}
	return false
}

// startScan adds every 'I' and 'H' key of db in a background goroutine and
// makes the filter ready when it is done. It takes its iterators before it
// returns, so the keys the committer writes after it are the committer's to
// add: together they add every key. stop ends the scan early.
func (f *keyFilter) startScan(db *pebble.DB, onErr func(error)) error {
	var iters []*pebble.Iterator
	for _, p := range []byte{prefixID, prefixHead} {
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{p}, UpperBound: []byte{p + 1}})
		if err != nil {
			for _, it := range iters {
				it.Close()
			}
			return fmt.Errorf("scan keys for the key filter: %w", pebbleError(err))
		}
		iters = append(iters, it)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.scanStop, f.scanDone = cancel, make(chan struct{})
	go func() {
		defer close(f.scanDone)
		err := f.scan(ctx, iters)
		for _, it := range iters {
			if cerr := it.Close(); err == nil {
				err = cerr
			}
		}
		switch {
		case err == nil:
			f.ready.Store(true)
		case ctx.Err() == nil:
			onErr(err) // the filter stays unready: lookups go to Pebble
		}
	}()
	return nil
}

func (f *keyFilter) scan(ctx context.Context, iters []*pebble.Iterator) error {
	n := 0
	for _, it := range iters {
		for ok := it.First(); ok; ok = it.Next() {
			if n++; n%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			f.add(it.Key())
		}
		if err := it.Error(); err != nil {
			return fmt.Errorf("scan keys for the key filter: %w", pebbleError(err))
		}
	}
	return nil
}

// stopScan ends a scan in progress and waits for it, so that its iterators
// are closed before the database is.
func (f *keyFilter) stopScan() {
	if f.scanStop != nil {
		f.scanStop()
		<-f.scanDone
	}
}
