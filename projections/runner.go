package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
)

// Run feeds the read models from the store until ctx ends or the Projector
// is closed, and then returns nil. It resumes after the stored checkpoint:
// it reads the backlog with ReadAll pages, then follows $all from where the
// backlog ended, page by page as the store commits when it is an
// eventstore.CommitNotifier, else through SubscribeAll, and applies events
// as they are committed. When the store fails, Run logs the error, keeps it for Status,
// waits (RetryDelayMin, doubling up to RetryDelayMax) and resumes from the
// checkpoint. A Rebuild pauses Run and Run resumes after it.
//
// Run stops for good, and returns the cause, when the read models'
// database cannot be written (a full disk), or when the store's log no
// longer holds the event the checkpoint names (CheckLog, run at each
// resume and every Options.LogCheckInterval: a log replaced or cut under
// a running server); Status and readiness then say why, and WaitFor
// returns ErrFailed.
//
// It returns ErrRunning if another Run is active and ErrClosed after Close.
func (p *Projector) Run(ctx context.Context) error {
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return ErrClosed
	case p.runActive:
		p.mu.Unlock()
		return ErrRunning
	}
	p.runActive = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.runActive = false
		p.mu.Unlock()
	}()

	// The sessions run under runCtx, which the log watcher cancels when
	// the log no longer holds the checkpoint's event (watchLog).
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var foreign atomic.Pointer[error]
	found := func(err error) {
		foreign.Store(&err)
		stopRun()
	}
	go p.watchLog(runCtx, found)
	err := p.runSessions(runCtx, found)
	if e := foreign.Load(); e != nil && ctx.Err() == nil {
		return p.failForGood(logReplaced(*e))
	}
	return err
}

// Failure returns what stopped the runner for good (see Run), nil while
// it has not: a caller that serves the read models tells from it whether
// they still stand for the store's log (not when it wraps ErrForeignLog).
func (p *Projector) Failure() error { return p.fatal.Err() }

// logReplaced is the failure of a runner whose log no longer holds the
// event its checkpoint names (err, wrapping ErrForeignLog).
func logReplaced(err error) error {
	return fmt.Errorf("%w: the event log under the running server no longer holds events the read models were built from (it was replaced, or lost events); stop callledger, then restore the data from a backup, or rebuild the read models from this log with `callledger replay`", err)
}

// watchLog runs CheckLog every Options.LogCheckInterval until ctx ends,
// and calls found with its error, once, when the log no longer holds the
// checkpoint's event (ErrForeignLog). A check that cannot be made (the
// store does not answer) waits for the next.
func (p *Projector) watchLog(ctx context.Context, found func(error)) {
	every := p.opts.LogCheckInterval
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := p.logGone(ctx); err != nil {
			found(err)
			return
		}
	}
}

// logGone returns CheckLog's error when the log no longer holds the
// checkpoint's event (ErrForeignLog), nil otherwise, a check that could
// not be made included.
func (p *Projector) logGone(ctx context.Context) error {
	if err := p.CheckLog(ctx); errors.Is(err, ErrForeignLog) {
		return err
	}
	return nil
}

// runSessions runs subscription sessions one after another until ctx
// ends, as Run describes; it calls found, and ends, when the log no
// longer holds the checkpoint's event as a session resumes.
func (p *Projector) runSessions(ctx context.Context, found func(error)) error {
	delay := p.opts.RetryDelayMin
	for resumed := false; ctx.Err() == nil; resumed = true {
		if err := p.waitRebuilds(ctx); err != nil {
			return nil
		}
		if resumed {
			// A session ended: the log may have been replaced under the
			// read models meanwhile (another KurrentDB database at the
			// same address, a log restored or lost). Following it from
			// the checkpoint would serve the old ledger's calls beside
			// the new log's, with writes acknowledged and never shown:
			// the runner stops for good, as the start refuses such read
			// models (CheckLog).
			if err := p.logGone(ctx); err != nil {
				found(err)
				return nil
			}
		}
		err, stepAside, progressed := p.runSession(ctx)
		if stepAside {
			if p.isClosed() {
				return nil
			}
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, pebblelog.ErrFatal) {
			// The read models' database cannot be written (a full disk):
			// Pebble requires it reopened. The runner stops for good and
			// readiness says why; the event log is not affected.
			return p.failForGood(fmt.Errorf("%w: the read models cannot be written until callledger is restarted (free space on the disk first)", err))
		}
		if err == nil {
			err = errors.New("projections: subscription ended")
		}
		p.log.Error("projection runner stopped; resuming from the checkpoint", "err", err, "retry_in", delay)
		p.mu.Lock()
		p.lastRunError = err.Error()
		p.mu.Unlock()
		if progressed {
			delay = p.opts.RetryDelayMin
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
		delay = min(2*delay, p.opts.RetryDelayMax)
	}
	return nil
}

// failForGood stops the runner for good with err: readiness says why, and
// WaitFor, woken, returns ErrFailed rather than wait for read models that
// no longer advance. It returns err, for Run to return.
func (p *Projector) failForGood(err error) error {
	p.fatal.Set(err)
	p.log.Error("projection runner failed", "err", err)
	p.mu.Lock()
	p.lastRunError = err.Error()
	close(p.advanced)
	p.advanced = make(chan struct{})
	p.mu.Unlock()
	return err
}

// runSession runs one subscription session under runMu. stepAside is true
// when the session did not start, or ended, because a Rebuild or Close asked
// for the database; progressed reports whether the checkpoint moved.
func (p *Projector) runSession(ctx context.Context) (err error, stepAside, progressed bool) {
	p.runMu.Lock()
	defer p.runMu.Unlock()
	p.mu.Lock()
	if p.closed || p.rebuildsWaiting > 0 {
		p.mu.Unlock()
		return nil, true, false
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.sessionCancel = cancel
	from := p.cp.Position
	p.mu.Unlock()

	err = p.session(sctx, p.liveSource(from), true, false, nil)

	p.mu.Lock()
	p.sessionCancel = nil
	progressed = from.Less(p.cp.Position)
	p.mu.Unlock()
	if sctx.Err() != nil && ctx.Err() == nil {
		return nil, true, progressed // cancelled by Rebuild or Close
	}
	return err, false, progressed
}

// waitRebuilds blocks while a Rebuild wants the database.
func (p *Projector) waitRebuilds(ctx context.Context) error {
	p.mu.Lock()
	if p.rebuildsWaiting == 0 {
		p.mu.Unlock()
		return nil
	}
	ch := p.rebuildIdle
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RebuildStats reports what a Rebuild did.
type RebuildStats struct {
	// Checkpoint is the position of the last event the rebuild applied.
	Checkpoint eventstore.Position
	// Events counts the events read from the log; EventsApplied those folded
	// into the call view; Failures those recorded as failures (a failure
	// that was folded all the same counts in both).
	Events        uint64
	EventsApplied uint64
	Failures      uint64
	// Elapsed is how long the rebuild took.
	Elapsed time.Duration
}

// Rebuild replaces every read model by replaying the log from position 0,
// in pages of ReadPageEvents, until it reaches the end of the log as it was
// when the last page was read (a running Run picks up anything later). It
// pauses Run while it works. Memory stays bounded: the log streams through
// the pipeline and is never held whole.
//
// The read models are built aside, in a build database without a WAL, and
// swapped in atomically when the replay ends (see doc.go): queries and
// WaitFor see the previous read models until then. Progress can be followed
// with Status from another goroutine: while Rebuilding, its checkpoint is
// the rebuild's and rises with each committed batch. A rebuild stopped by
// ctx swaps in what it built, which is consistent with its checkpoint, and
// Run continues from there; Rebuild returns ctx's error, wrapped.
func (p *Projector) Rebuild(ctx context.Context) (RebuildStats, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return RebuildStats{}, ErrClosed
	}
	p.rebuildsWaiting++
	if p.rebuildsWaiting == 1 {
		p.rebuildIdle = make(chan struct{})
	}
	if p.sessionCancel != nil {
		p.sessionCancel()
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.rebuildsWaiting--
		if p.rebuildsWaiting == 0 {
			close(p.rebuildIdle)
		}
		p.mu.Unlock()
	}()

	p.runMu.Lock()
	defer p.runMu.Unlock()
	if p.isClosed() {
		return RebuildStats{}, ErrClosed
	}
	started := time.Now()
	// The build database opens while the first pages are read and decoded.
	start := p.startBuild()
	var bdb *pebble.DB
	err := p.session(ctx, p.pageSource(eventstore.Start), false, true, func() error {
		var err error
		bdb, err = p.openBuild(start)
		return err
	})
	if bdb == nil {
		p.abandonBuild()
		return RebuildStats{}, err
	}
	ferr := p.finishBuild(bdb)
	cp := p.applied() // the rebuilt checkpoint, or the previous one if the swap failed
	stats := RebuildStats{
		Checkpoint:    cp.Position,
		Events:        cp.Events,
		EventsApplied: cp.EventsApplied,
		Failures:      cp.Failures,
		Elapsed:       time.Since(started),
	}
	if err != nil {
		return stats, fmt.Errorf("projections: rebuild: %w", errors.Join(err, ferr))
	}
	if ferr != nil {
		return stats, ferr
	}
	p.log.Info("projections rebuilt", "events", stats.Events, "applied", stats.EventsApplied,
		"failures", stats.Failures, "checkpoint", stats.Checkpoint.String(), "elapsed", stats.Elapsed)
	return stats, nil
}

// source feeds records into the pipeline, in position order, in runs. It
// returns when it has sent everything it means to, or with ctx's error.
type source func(ctx context.Context, out chan<- recordRun) error

// send hands a run of records to the pipeline and notes what was received.
// The run's page may be reused as soon as it is sent: what is noted is
// taken from it before. Its events are counted pending before the run is
// handed over, since the committer may commit them (publish) before send
// runs again: counted after, they stayed pending for good (a soak probe's
// pending_events stayed at 5-23 with the read models at the log's head).
func (p *Projector) send(ctx context.Context, out chan<- recordRun, run recordRun) error {
	n := uint64(len(run.recs))
	if n == 0 {
		if run.page != nil {
			run.page.release()
		}
		return nil
	}
	last := run.recs[n-1].Position
	p.mu.Lock()
	p.pendingEvents += n
	p.mu.Unlock()
	select {
	case out <- run:
	case <-ctx.Done():
		p.mu.Lock()
		p.pendingEvents -= min(n, p.pendingEvents) // never handed over
		p.mu.Unlock()
		return ctx.Err()
	}
	p.mu.Lock()
	p.received = last
	p.mu.Unlock()
	return nil
}

// readPages sends the log after from, page by page, until a short page, and
// returns the position of the last record sent.
func (p *Projector) readPages(ctx context.Context, from eventstore.Position, out chan<- recordRun) (eventstore.Position, error) {
	for ctx.Err() == nil {
		run, err := p.readPage(ctx, from, p.opts.ReadPageEvents)
		if err != nil {
			return from, fmt.Errorf("read $all after %s: %w", from, err)
		}
		page := run.recs
		if len(page) > p.opts.ReadPageEvents {
			return from, fmt.Errorf("read $all after %s: store returned %d records for a limit of %d", from, len(page), p.opts.ReadPageEvents)
		}
		prev := from
		for i := range page {
			if !prev.Less(page[i].Position) {
				return from, fmt.Errorf("read $all after %s: position %s after %s: the store broke its order", from, page[i].Position, prev)
			}
			prev = page[i].Position
		}
		full := len(page) == p.opts.ReadPageEvents
		if err := p.send(ctx, out, run); err != nil {
			return from, err
		}
		from = prev
		if !full {
			return from, nil
		}
	}
	return from, ctx.Err()
}

// pageSource reads the log from `from` to its current end. Rebuild uses it.
func (p *Projector) pageSource(from eventstore.Position) source {
	return func(ctx context.Context, out chan<- recordRun) error {
		_, err := p.readPages(ctx, from, out)
		return err
	}
}

// liveSource reads the backlog after `from` in pages (full pages make full
// decode chunks and large batches), then follows the log from where the
// backlog ended: in pages again when the store tells of its commits
// (followPages), else through SubscribeAll, sending each event as it is
// committed.
func (p *Projector) liveSource(from eventstore.Position) source {
	return func(ctx context.Context, out chan<- recordRun) error {
		if n, ok := p.store.(eventstore.CommitNotifier); ok {
			return p.followPages(ctx, n, from, out)
		}
		last, err := p.readPages(ctx, from, out)
		if err != nil {
			return err
		}
		for rec, err := range p.store.SubscribeAll(ctx, last) {
			if err != nil {
				return fmt.Errorf("subscribe $all after %s: %w", last, err)
			}
			if !last.Less(rec.Position) {
				return fmt.Errorf("subscribe $all: position %s after %s: the store broke its order", rec.Position, last)
			}
			last = rec.Position
			if err := p.send(ctx, out, recordRun{recs: []eventstore.Record{rec}}); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return errors.New("subscription ended")
	}
}

// followPages sends the log after `from` page by page, and each time it has
// read to the end waits for the store's next commit and reads on from the
// last record sent. Live events then travel as the runs of records their
// group commits made, in the pipeline's reused pages, rather than one
// allocated Record and channel send each. The notification is taken before
// each read (see eventstore.CommitNotifier), so that no commit is missed;
// readPages checks the order, and reading after the last position sent
// leaves no gap and repeats nothing.
func (p *Projector) followPages(ctx context.Context, n eventstore.CommitNotifier, from eventstore.Position, out chan<- recordRun) error {
	for {
		committed := n.CommitNotify()
		last, err := p.readPages(ctx, from, out)
		if err != nil {
			return err
		}
		from = last
		select {
		case <-committed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// item is one record on its way through the pipeline, decoded.
type item struct {
	pos      eventstore.Position
	stream   string
	revision uint64
	eventID  uuid.UUID
	// allHash is the record's stored $all hash (zero where the backend
	// keeps none): the checkpoint names it (eventRef).
	allHash eventstore.Hash
	typ     string
	// isCall is false for streams that are not calls' (they are skipped).
	isCall bool
	callID uuid.UUID
	env    domain.Envelope
	// err is why the record could not be decoded; the event is a failure.
	err error
}

// chunk is a run of consecutive records decoded by one worker. The applier
// takes chunks in order and waits on done. page, if not nil, holds the
// records' memory and is released once they are decoded.
type chunk struct {
	recs  []eventstore.Record
	page  *recordPage
	items []item
	done  chan struct{}
}

// decodeRecord decodes one record with the domain's codec.
// An event primed by its writer (see Prime) is taken instead of decoded.
func decodeRecord(rec *eventstore.Record, primed *primedEvents) item {
	it := item{pos: rec.Position, stream: rec.StreamID, revision: rec.Revision, eventID: rec.ID, allHash: rec.AllHash, typ: rec.Type}
	id, ok := domain.CallIDFromStream(rec.StreamID)
	if !ok {
		return it
	}
	it.isCall, it.callID = true, id
	if primed != nil {
		if env, ok := primed.take(rec.ID); ok {
			it.env = env
			return it
		}
	}
	it.env, it.err = domain.UnmarshalEnvelope(rec.Type, rec.Data, rec.Metadata)
	return it
}

// decodeChunk decodes a chunk's records into items, taking primed events
// where it can, into an item slice recycled from applied chunks.
func (p *Projector) decodeChunk(c *chunk) {
	primed := &p.primed
	if primed.empty() {
		primed = nil
	}
	if s, ok := p.itemSlices.Get().(*[]item); ok && cap(*s) >= len(c.recs) {
		c.items = (*s)[:len(c.recs)]
	} else {
		c.items = make([]item, len(c.recs))
	}
	for i := range c.recs {
		c.items[i] = decodeRecord(&c.recs[i], primed)
	}
	c.recs = nil // the raw bytes are no longer needed
	if c.page != nil {
		c.page.release()
		c.page = nil
	}
	close(c.done)
}

// session runs the pipeline source → chunker → decode workers → applier
// until the source is done (then the last batch is committed) or ctx ends.
// live makes the applier commit whenever it runs out of work, for the
// latency of WaitFor; otherwise it commits only full batches and the last.
//
// fresh says the database was emptied just before (Rebuild): the billing
// totals it writes are then remembered rather than read back, and batches
// may be larger. prepare, if not nil, runs while the
// source, chunker and decoders start, and the applier starts after it; if
// it fails, the session ends with its error.
func (p *Projector) session(ctx context.Context, src source, live, fresh bool, prepare func() error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.cache.reset(fresh) // a previous session may have ended mid-batch

	pages := make(chan recordRun, 4)
	work := make(chan *chunk, p.opts.ChunksInFlightMax)
	ordered := make(chan *chunk, p.opts.ChunksInFlightMax)
	var wg sync.WaitGroup
	var srcErr error
	wg.Go(func() {
		defer close(pages)
		srcErr = src(ctx, pages)
	})
	wg.Go(func() { p.chunk(ctx, pages, work, ordered) })
	for range p.opts.DecodeWorkers {
		wg.Go(func() {
			for c := range work {
				p.decodeChunk(c)
			}
		})
	}
	// A rebuild's batches go to the build database, whose checkpoint
	// nothing reads before the swap: they are cut by BatchCallsMax, which
	// bounds their memory, and only loosely by events (which bound the
	// failures a batch holds), so that fewer calls are written twice.
	eventsMax := uint64(p.opts.BatchEventsMax)
	if fresh {
		eventsMax *= buildBatchEventsFactor
	}
	var err error
	if prepare != nil {
		err = prepare()
	}
	if err == nil {
		err = p.apply(ctx, ordered, live, eventsMax)
	}
	cancel()
	wg.Wait()
	p.mu.Lock()
	p.pendingEvents = 0
	p.mu.Unlock()
	if err != nil {
		p.cache.reset(false)
		return err
	}
	return srcErr
}

// buildBatchEventsFactor multiplies BatchEventsMax for a rebuild's batches.
const buildBatchEventsFactor = 16

// chunk cuts the source's runs into chunks of at most ChunkEventsMax
// records and hands each chunk to the workers and, in order, to the
// applier. Runs that own their records (live events arrive one by one) are
// merged while more are waiting; a run held in a page is cut up on its own,
// each chunk holding the page until its records are decoded.
func (p *Projector) chunk(ctx context.Context, in <-chan recordRun, work, ordered chan<- *chunk) {
	defer close(ordered)
	defer close(work)
	max := p.opts.ChunkEventsMax
	var pending, next recordRun // next: a paged run met while merging
	open := true
	for open || len(pending.recs) > 0 || len(next.recs) > 0 {
		if len(pending.recs) == 0 {
			if len(next.recs) > 0 {
				pending, next = next, recordRun{}
			} else {
				select {
				case run, ok := <-in:
					if !ok {
						return
					}
					pending = run
				case <-ctx.Done():
					return
				}
			}
		}
	fill:
		for open && pending.page == nil && len(next.recs) == 0 && len(pending.recs) < max {
			select {
			case run, ok := <-in:
				switch {
				case !ok:
					open = false
				case run.page != nil:
					next = run
				default:
					pending.recs = append(pending.recs, run.recs...)
				}
			default:
				break fill
			}
		}
		n := min(max, len(pending.recs))
		c := &chunk{recs: pending.recs[:n:n], page: pending.page, done: make(chan struct{})}
		if c.page != nil {
			c.page.hold()
		}
		pending.recs = pending.recs[n:]
		if len(pending.recs) == 0 {
			if pending.page != nil {
				pending.page.release() // the chunker's hold: the page is cut up
			}
			pending = recordRun{}
		}
		select {
		case work <- c:
		case <-ctx.Done():
			return
		}
		select {
		case ordered <- c:
		case <-ctx.Done():
			return
		}
	}
}

// batch is the applier's uncommitted work: events accounted for since the
// last commit and the calls they touched.
type batch struct {
	events   uint64
	dirty    []*callEntry
	failures []Failure
	cp       checkpoint
}

// apply folds decoded chunks into the call cache in order and commits
// batches of at most eventsMax events (or BatchCallsMax calls). It returns
// nil when the chunks run out (after committing the last batch), or ctx's
// error.
func (p *Projector) apply(ctx context.Context, ordered <-chan *chunk, live bool, eventsMax uint64) error {
	b := batch{cp: p.applied()}
	for {
		var c *chunk
		var ok bool
		select {
		case c, ok = <-ordered:
		default:
			if live {
				// Caught up with the log: keep the live bound of states
				// (see Options.LiveCallCacheMax).
				if err := p.commit(&b, min(p.opts.LiveCallCacheMax, p.cache.max)); err != nil {
					return err
				}
			}
			select {
			case c, ok = <-ordered:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if !ok {
			if err := ctx.Err(); err != nil {
				return err
			}
			return p.commit(&b, p.cache.max)
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		for i := range c.items {
			if err := p.applyItem(ctx, &b, &c.items[i]); err != nil {
				return err
			}
			if b.events >= eventsMax || len(b.dirty) >= p.opts.BatchCallsMax {
				if err := p.commit(&b, p.cache.max); err != nil {
					return err
				}
			}
		}
		p.recycleItems(c)
	}
}

// recycleItems hands an applied chunk's items back to itemSlices, cleared
// so that they keep no decoded event alive.
func (p *Projector) recycleItems(c *chunk) {
	items := c.items[:cap(c.items)]
	clear(items)
	c.items = nil
	p.itemSlices.Put(&items)
}

// applyItem folds one decoded record into the batch. Only a failure of the
// read-model database is returned; a bad event is recorded as a Failure.
func (p *Projector) applyItem(ctx context.Context, b *batch, it *item) error {
	// The first event of a stream, after everything applied so far: the
	// read models cannot hold its call yet (a redelivered event is not after).
	first := it.revision == 0 && b.cp.Position.Less(it.pos)
	b.events++
	b.cp.Events++
	b.cp.Position = it.pos
	b.cp.Last = eventRef{Stream: it.stream, Revision: it.revision, ID: it.eventID, AllHash: it.allHash}
	if !it.isCall {
		b.cp.EventsSkipped++
		return nil
	}
	if it.err != nil {
		p.recordFailure(b, it, it.err, false)
		return nil
	}
	e, err := p.entry(it.callID, first)
	if err != nil {
		return err
	}
	if it.revision < e.state.Version {
		// Already folded: only possible if a store redelivers. Folding it
		// again would double-count, so it is skipped.
		b.cp.EventsSkipped++
		return nil
	}
	broken := domain.CheckEvolveInPlace(&e.state, it.env)
	if broken != nil {
		// A broken invariant (say, an answer of a terminal call). Evolve
		// folds such an event as best it can, as every reader of the stream
		// does, so the call view keeps agreeing with the write side; the
		// event is recorded as a failure for verify and readiness.
		p.recordFailure(b, it, broken, true)
	}
	if err := p.evolve(&e.state, &e.folding, it.env, broken != nil); err != nil {
		p.recordFailure(b, it, err, false)
		if broken == nil {
			// The fold may have stopped halfway through the state: fold
			// the call again, without this event.
			return p.refold(ctx, e, it)
		}
		return nil
	}
	// The recordings the event added were recorded at its time.
	for !e.addedUnknown && len(e.state.Call.Recordings) > e.committed.recordings+len(e.added) {
		e.added = append(e.added, it.env.Metadata.Time.UTC())
	}
	// The call view's Version is the stream revision + 1 even when an
	// earlier event of the stream was a failure.
	e.state.Version = it.revision + 1
	if !e.dirty {
		e.dirty = true
		b.dirty = append(b.dirty, e)
	}
	b.cp.EventsApplied++
	return nil
}

// evolve folds env into *s with f (or the evolveInPlace a test set) and
// turns a panic into an error, so that one bad event cannot
// kill the runner. Evolve is total (it never panics); the guard is for a
// domain bug, most likely on an event that breaks an invariant: for such an
// event (broken) *s is copied first and restored after a panic. A State is
// over 800 bytes, so the copy is not taken for other events: after a panic
// on one of those (a bug the property tests and fuzz targets look for), *s
// is as far as the fold got, and applyItem refolds the call.
func (p *Projector) evolve(s *domain.State, f *domain.Folding, env domain.Envelope, broken bool) (err error) {
	if broken {
		before := *s
		defer func() {
			if err != nil {
				*s = before
			}
		}()
	}
	defer recoverEvolve(&env, &err) // a pointer: the deferred call keeps no copy of env
	if p.evolveInPlace != nil {
		p.evolveInPlace(s, env)
	} else {
		f.EvolveInPlace(s, env)
	}
	return nil
}

// refoldPageEvents is how many events refold reads from the store at once.
const refoldPageEvents = 512

// refold sets e's state to the fold of its stream's events before it,
// read from the store and applied as applyItem applies them: an event that
// does not decode, or whose fold panics, is left out (with a copy of the
// state taken before each fold, as this runs only after such a panic); one
// that breaks an invariant is folded all the same. It repairs the state a
// fold that panicked left halfway, at no cost to the folds that do not.
func (p *Projector) refold(ctx context.Context, e *callEntry, it *item) error {
	var (
		s domain.State
		f domain.Folding
	)
	for from := uint64(0); from < it.revision; {
		recs, err := p.store.ReadStream(ctx, it.stream, from, int(min(it.revision-from, refoldPageEvents)))
		if err != nil {
			return fmt.Errorf("projections: refold %s before revision %d: %w", it.stream, it.revision, err)
		}
		if len(recs) == 0 {
			break
		}
		for i := range recs { // the limit stops the read before it.revision
			rec := &recs[i]
			env, err := domain.UnmarshalEnvelope(rec.Type, rec.Data, rec.Metadata)
			if err != nil {
				continue
			}
			if p.evolve(&s, &f, env, true) == nil {
				s.Version = rec.Revision + 1
			}
		}
		from = recs[len(recs)-1].Revision + 1
	}
	e.state, e.folding = s, f
	e.added, e.addedUnknown = e.added[:0], true // the refold's events' times are not kept
	return nil
}

// recoverEvolve, deferred, turns a panic of folding env into *err.
func recoverEvolve(env *domain.Envelope, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("evolve %s: %v", env.Event.EventType(), r)
	}
}

// recordFailure logs a bad event and adds it to the batch, so that it is
// stored with the checkpoint that passes it. folded says whether the event
// was folded into the call view all the same.
func (p *Projector) recordFailure(b *batch, it *item, err error, folded bool) {
	f := Failure{
		Position: it.pos,
		StreamID: it.stream,
		Revision: it.revision,
		EventID:  it.eventID.String(),
		Type:     it.typ,
		Error:    err.Error(),
		Folded:   folded,
	}
	p.log.Error("projection skipped an event it cannot apply",
		"position", it.pos.String(), "stream", it.stream, "revision", it.revision,
		"event_id", f.EventID, "type", it.typ, "folded", folded, "err", err)
	b.failures = append(b.failures, f)
	b.cp.Failures++
	last := f
	b.cp.LastFailure = &last
}
