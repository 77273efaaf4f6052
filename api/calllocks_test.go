package api

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestCallLocksQueueWritersOfACall checks that callLocks lets one writer of
// a call in at a time while its entries are dropped and reused (writers
// that give up waiting included), and that it drops every entry once no
// writer is left.
func TestCallLocksQueueWritersOfACall(t *testing.T) {
	var l callLocks
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	holders := make([]atomic.Int32, len(ids))
	var wg sync.WaitGroup
	for g := range 48 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % len(ids)
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if i%7 == 0 {
					ctx, cancel = context.WithTimeout(ctx, time.Microsecond)
				}
				c, err := l.lock(ctx, ids[k])
				if err != nil {
					cancel()
					continue
				}
				if n := holders[k].Add(1); n != 1 {
					t.Errorf("%d writers of one call hold its lock", n)
				}
				holders[k].Add(-1)
				l.unlock(ids[k], c)
				cancel()
			}
		})
	}
	wg.Wait()
	if n := len(l.calls); n != 0 {
		t.Errorf("%d entries left with no writer", n)
	}
}

// TestCallLocksReuseIsIdle checks that a lock dropped by its last writer,
// and so free for reuse, comes back with no writers and an empty token: the
// next call's first writer gets in at once.
func TestCallLocksReuseIsIdle(t *testing.T) {
	var l callLocks
	for range 100 {
		id := uuid.New()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := l.lock(ctx, id)
		cancel()
		if err != nil {
			t.Fatalf("first writer of a new call waited: %v", err)
		}
		if c.waiters != 1 {
			t.Fatalf("a new call's lock has %d waiters, want 1", c.waiters)
		}
		l.unlock(id, c)
	}
}

// BenchmarkCallLocksFree locks and unlocks a free call's lock with a
// request's kind of context, a cancelCtx: a free lock must not make that
// context's done channel (the 2 allocs/op are the context and its cancel
// func; selecting on ctx.Done made a third, a 112-byte channel).
//
//	go test ./api/ -run '^$' -bench '^BenchmarkCallLocksFree$' -benchmem
func BenchmarkCallLocksFree(b *testing.B) {
	var l callLocks
	id := uuid.New()
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		c, err := l.lock(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		l.unlock(id, c)
		cancel()
	}
}
