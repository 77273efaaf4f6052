package api

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/uuid"
)

// callLocks queues this process's writes to one call. Without it, writers
// of one call each load it, decide, and append against the revision they
// loaded; all but one find that another has appended first, back off and
// try again, and under enough contention some run out of attempts and
// answer 409 although nothing was wrong with their request. Queued, each
// loads the call as the previous write left it and appends once. Writes to
// different calls never wait for each other. Writers in other processes
// sharing the log (KurrentDB) can still conflict; execute retries those.
//
// The zero value is ready to use.
type callLocks struct {
	mu    sync.Mutex
	calls map[uuid.UUID]*callLock
	// free holds *callLock values no writer can reach any more (see
	// leave), for lock to reuse instead of allocating a lock and its
	// channel for every write.
	free sync.Pool
}

// callLock is one call's queue: a token that its holder owns, and how many
// writers hold or wait for it (the entry goes when none do).
type callLock struct {
	token   chan struct{}
	waiters int
}

// lock waits until the caller is the call's only writer in this process,
// or until ctx ends. The caller lets the next one in with unlock(id, c).
func (l *callLocks) lock(ctx context.Context, id uuid.UUID) (*callLock, error) {
	l.mu.Lock()
	if l.calls == nil {
		l.calls = make(map[uuid.UUID]*callLock)
	}
	c := l.calls[id]
	if c == nil {
		c, _ = l.free.Get().(*callLock)
		if c == nil {
			c = &callLock{token: make(chan struct{}, 1)}
		}
		l.calls[id] = c
	}
	c.waiters++
	l.mu.Unlock()

	// A free lock is taken without ctx.Done: the request context is a
	// cancelCtx, whose done channel is made on the first call to Done, so
	// selecting on it at once allocated a channel for every write although
	// almost every write finds its call's lock free. Only a writer that
	// must wait selects on it. (With the lock free, the select could take
	// either case if ctx had ended too; now it takes the lock, one of the
	// outcomes it had.)
	select {
	case c.token <- struct{}{}:
		return c, nil
	default:
	}
	select {
	case c.token <- struct{}{}:
		return c, nil
	case <-ctx.Done():
		l.leave(id, c)
		return nil, fmt.Errorf("wait for the other writes to call %s: %w", id, ctx.Err())
	}
}

// unlock lets the next writer of call id in, after lock returned c. The
// caller must not use c afterwards: it may serve another call by then.
func (l *callLocks) unlock(id uuid.UUID, c *callLock) {
	<-c.token
	l.leave(id, c)
}

// leave counts a writer of c out, and drops c once none holds or waits for
// it, keeping it for reuse.
//
// Reuse is safe: a writer reaches c only through l.calls, counting itself
// in waiters under l.mu, and leave is the last it does with c. So when
// waiters drops to 0 under l.mu and c leaves the map, no writer holds or
// waits for c, and none can find it again. Its token is empty then: each
// writer that counted itself in either put the token in (at once or in
// its select) and took it out again in unlock before leaving, or gave up
// (its select took ctx.Done, so it sent nothing). A reused c is therefore
// as new: no waiters and an empty token.
func (l *callLocks) leave(id uuid.UUID, c *callLock) {
	l.mu.Lock()
	c.waiters--
	idle := c.waiters == 0
	if idle {
		delete(l.calls, id)
	}
	l.mu.Unlock()
	if idle {
		l.free.Put(c)
	}
}
