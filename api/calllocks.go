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
		c = &callLock{token: make(chan struct{}, 1)}
		l.calls[id] = c
	}
	c.waiters++
	l.mu.Unlock()

	select {
	case c.token <- struct{}{}:
		return c, nil
	case <-ctx.Done():
		l.leave(id, c)
		return nil, fmt.Errorf("wait for the other writes to call %s: %w", id, ctx.Err())
	}
}

// unlock lets the next writer of call id in, after lock returned c.
func (l *callLocks) unlock(id uuid.UUID, c *callLock) {
	<-c.token
	l.leave(id, c)
}

// leave counts a writer of c out, and drops c once none holds or waits for it.
func (l *callLocks) leave(id uuid.UUID, c *callLock) {
	l.mu.Lock()
	if c.waiters--; c.waiters == 0 {
		delete(l.calls, id)
	}
	l.mu.Unlock()
}
