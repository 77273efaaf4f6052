package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

// Read-your-writes without making writes wait.
//
// A write is answered once its events are durable in the store, rendered
// from the state Execute folded (the same Evolve the projections run), so
// it never waits for the read models. Instead the server remembers, per
// account, the position of the last write it acknowledged (writeMarks), and
// every read of the read models (a call, a list, billing) first waits until
// they reach the caller's account's mark. A read after an acknowledged
// write therefore sees it, while a stream of writes never queues behind the
// projector: under load that wait was half of a write's latency.
//
// Marks are per account, not per call: a read waits for every write its
// account was acknowledged, which is what a client that writes several
// calls and then lists them expects.
//
// Marks live in this process, so a process that starts knows none: a call
// acknowledged before a restart, or events imported before the first
// start, would read as missing (a 404, partial billing totals) while the
// projector works through a backlog (read models deleted, behind, or never
// built). So the server also takes where the log ends as it starts
// (startMark) and every read waits until the read models reach it; once
// they have, an atomic flag says so and reads no longer look at it.
//
// When the store is shared with other servers
// (an eventstore.SharedLog: several callledger servers over one KurrentDB
// cluster), a client may write through one server and read through another,
// so a read there also asks the log where it ends and waits for that: it
// sees every write acknowledged by any server before it began, at the cost
// of a round trip to the store (concurrent reads share them: see
// eventstore/kurrent's freshReads). Should the store not answer, the read
// falls back to this server's marks (it stays consistent with the writes
// made here) and the failure is logged.

// writeMarks holds the position of each account's last acknowledged write.
// Its zero value is not usable; the map is made by NewServer. Accounts are
// bounded by the configured keys, so the map is too.
type writeMarks struct {
	mu  sync.Mutex
	pos map[string]eventstore.Position
}

// mark records that account's write at pos was acknowledged.
func (m *writeMarks) mark(account string, pos eventstore.Position) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if last, ok := m.pos[account]; !ok || last.Less(pos) {
		m.pos[account] = pos
	}
}

// last returns account's mark: the position its reads wait for.
func (m *writeMarks) last(account string) (eventstore.Position, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pos, ok := m.pos[account]
	return pos, ok
}

// startMark is where the log ended when the server started: the position
// every read waits for until the read models have reached it once.
type startMark struct {
	pos eventstore.Position
	// reached is set once the read models reached pos (they never go back:
	// a Rebuild serves the previous read models until it is done).
	reached atomic.Bool
}

// newStartMark returns the mark of pos; the mark of Start is reached.
func newStartMark(pos eventstore.Position) *startMark {
	m := &startMark{pos: pos}
	m.reached.Store(pos.IsStart())
	return m
}

// pending returns the position to wait for, and false once it was reached.
func (m *startMark) pending() (eventstore.Position, bool) {
	if m.reached.Load() {
		return eventstore.Start, false
	}
	return m.pos, true
}

// readStartMark asks the store where its log ends (eventstore.LogEnd),
// within startMarkTimeout. A store that cannot say gives a reached mark:
// reads then wait for this server's own writes only, as before, and the
// warning says so.
func readStartMark(store eventstore.Store, log *slog.Logger) (*startMark, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startMarkTimeout)
	defer cancel()
	pos, err := eventstore.LogEnd(ctx, store)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		log.Warn("reads after a restart may miss earlier writes until the read models catch up: the store cannot say where its log ends", slog.Any("err", err))
		return newStartMark(eventstore.Start), nil
	case err != nil:
		return nil, err
	}
	return newStartMark(pos), nil
}

// startMarkTimeout bounds NewServer's question to the store of where its
// log ends: the embedded store answers from memory, KurrentDB with one
// or more backward reads (which Open has just shown the cluster answers).
const startMarkTimeout = 30 * time.Second

// failureReporter is implemented by read models whose runner can stop for
// good (projections.Projector.Failure).
type failureReporter interface{ Failure() error }

// viewsOfAnotherLog returns the read models' failure when their runner
// stopped because the store's log no longer holds what they were built
// from (projections.ErrForeignLog), nil otherwise: no read may then be
// answered from them, and /readyz says so.
func (s *Server) viewsOfAnotherLog() error {
	fr, ok := s.views.(failureReporter)
	if !ok {
		return nil
	}
	if err := fr.Failure(); errors.Is(err, projections.ErrForeignLog) {
		return err
	}
	return nil
}

// awaitWrites waits until the read models reflect every write this server
// acknowledged to the request's account, every event the log held when the
// server started and, over a shared store, every event the log held when
// the read began, at most Config.WaitTimeout. Past it the read is refused
// with ErrReadModelsBehind (503) rather than answered from read models that
// would hide the caller's own write. A handler that reads the read models
// twice waits once, before its first read (see readRecordingCall). Read
// models whose runner stopped because the log no longer holds what they
// were built from (projections.ErrForeignLog) refuse every read (503).
func (s *Server) awaitWrites(ctx context.Context) error {
	if s.viewsOfAnotherLog() != nil {
		// The read models hold another log's calls: none of them is this
		// log's to show, whatever this account wrote or not.
		return &FieldError{Err: ErrReadModelsBehind,
			Message: "the read models no longer stand for the event log this server follows (it was replaced under it): reads are refused until the operator restarts callledger (see /readyz)"}
	}
	pos, ok := s.marks.last(AccountFrom(ctx))
	start, starting := s.start.pending()
	if starting && (!ok || pos.Less(start)) {
		pos, ok = start, true
	}
	shared, isShared := s.store.(eventstore.SharedLog)
	if !ok && !isShared {
		return nil // no write of this account to wait for
	}
	wctx, cancel := context.WithTimeout(ctx, s.waitTimeout)
	defer cancel()
	if isShared {
		last, err := shared.LastPosition(wctx)
		switch {
		case err == nil:
			if !last.IsStart() && (!ok || pos.Less(last)) {
				pos, ok = last, true
			}
		case ctx.Err() != nil:
			return fmt.Errorf("wait for the read models: %w", ctx.Err())
		default:
			s.log.WarnContext(ctx, "read without the writes of other servers: the store did not say where its log ends",
				slog.String("request_id", RequestID(ctx)), slog.Any("err", err))
		}
	}
	if !ok {
		return nil
	}
	if err := s.views.WaitFor(wctx, pos); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("wait for the read models: %w", ctx.Err())
		}
		if errors.Is(err, projections.ErrFailed) {
			// Not "retry shortly": they advance again only after a
			// restart (readiness says so too). The cause is logged by
			// the runner, and is the operator's.
			return &FieldError{Err: ErrReadModelsBehind,
				Message: "the read models have failed and will not show this account's last writes until callledger is restarted"}
		}
		return &FieldError{Err: ErrReadModelsBehind,
			Message: fmt.Sprintf("the read models have not yet reached position %s (this account's last write, where the log ended when the server started, or where the shared log ended); retry shortly", pos)}
	}
	if starting && !pos.Less(start) {
		s.start.reached.Store(true)
	}
	return nil
}
