package kurrent

import (
	"context"
	"sync"

	"github.com/callledger/callledger/eventstore"
)

// freshReads shares reads of the end of $all among concurrent callers of
// LastPosition without ever answering a caller from a read that began
// before it did. A caller that arrives while a read is in flight does not
// take that read's answer, which could miss an append acknowledged just
// before the caller asked (the very write a read-your-writes reader waits
// for); it waits for the next read, which starts once the one in flight
// ends and serves every caller that arrived meanwhile. So N concurrent
// callers cost the node about one read per round trip instead of N, and
// each caller at most two round trips of latency.
//
// The zero value is ready to use.
type freshReads struct {
	mu      sync.Mutex
	running bool       // a goroutine runs rounds (run)
	next    *readRound // the round that callers join; nil: none waiting
}

// readRound is one read of the end of $all and its answer, shared by the
// callers that joined it before it began.
type readRound struct {
	done chan struct{} // closed once pos and err are set
	pos  eventstore.Position
	err  error
}

// do returns the answer of a read that begins after do was called: read's,
// run by whichever goroutine runs the rounds, with its own context (a
// caller that gives up must not fail the others). ctx bounds only the
// wait.
func (f *freshReads) do(ctx context.Context, read func() (eventstore.Position, error)) (eventstore.Position, error) {
	f.mu.Lock()
	if f.next == nil {
		f.next = &readRound{done: make(chan struct{})}
	}
	r := f.next
	if !f.running {
		f.running = true
		go f.run(read)
	}
	f.mu.Unlock()
	select {
	case <-r.done:
		return r.pos, r.err
	case <-ctx.Done():
		return eventstore.Start, ctx.Err()
	}
}

// run reads for one round after another while callers wait. A round is
// taken from next before its read begins, so every caller of a round
// joined it before the read.
func (f *freshReads) run(read func() (eventstore.Position, error)) {
	for {
		f.mu.Lock()
		r := f.next
		f.next = nil
		if r == nil {
			f.running = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		r.pos, r.err = read()
		close(r.done)
	}
}
