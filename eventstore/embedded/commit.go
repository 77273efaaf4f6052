package embedded

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/callledger/callledger/eventstore"
)

// appendRequest is an Append waiting for the committer.
type appendRequest struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
	bytes    int                 // data and metadata bytes of events
	pre      prelookup           // ids as Pebble had them at pre.snapshot
	done     chan appendResponse // buffered: the committer never blocks on it
}

type appendResponse struct {
	result eventstore.AppendResult
	err    error
}

// requestPool recycles appendRequests with their done channels: each
// Append allocated both (~0.3 KB). A request belongs to its Append until it
// is queued, then to the committer and the syncer until the syncer sends
// its answer on done, after which neither touches it (the syncer's
// inflight may still point to it, but never reads it again); once Append
// has received that answer, the request is its own again and goes back to
// the pool, emptied. The channel is empty then: every queued request is
// answered exactly once.
var requestPool = sync.Pool{
	New: func() any { return &appendRequest{done: make(chan appendResponse, 1)} },
}

// putRequest empties req, so that the pool holds no caller's events or
// context, and returns it to the pool.
func putRequest(req *appendRequest) {
	*req = appendRequest{done: req.done}
	requestPool.Put(req)
}

// Append writes events to the end of stream if it is where expected says;
// see eventstore.Store. The append joins the committer's next group and
// returns once that group's batch is synced to disk.
//
// Once queued, an append is not abandoned: if ctx ends before the committer
// takes it, it is dropped and Append returns ctx's error; otherwise Append
// waits for the commit. An error therefore means nothing was written, except
// after a failed WAL sync, when the store cannot know and fails every later
// append until it is reopened: retry then, with the same event ids.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	req := requestPool.Get().(*appendRequest)
	req.ctx, req.stream, req.expected, req.events = ctx, stream, expected, events
	for i := range events {
		req.bytes += len(events[i].Data) + len(events[i].Metadata)
	}

	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		putRequest(req)
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, eventstore.ErrClosed)
	}
	if err := s.prelookup(req); err != nil {
		s.mu.RUnlock()
		putRequest(req)
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	// A send that need not wait does not watch ctx: ctx.Done() makes the
	// channel of a request's context (~0.1 KB an Append) for nothing, and
	// ctx has just been checked, as the committer checks it again.
	select {
	case s.queue <- req:
	default:
		select {
		case s.queue <- req:
		case <-ctx.Done():
			s.mu.RUnlock()
			putRequest(req) // not queued: nobody else saw it
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, ctx.Err())
		}
	}
	s.mu.RUnlock()

	resp := <-req.done
	putRequest(req)
	return resp.result, resp.err
}

// prelookup reads req's ids from Pebble, in the caller's goroutine, so that
// the committer need not; see lookup.go. The caller holds s.mu for reading.
func (s *Store) prelookup(req *appendRequest) error {
	req.pre.snapshot = s.applied.Load()
	var err error
	req.pre.locs, err = readIDs(s.db, s.keys, req.events)
	return err
}

// committer is the one goroutine that writes: it owns the end of the log
// and the head cache, so it needs no lock for them. It stages a group,
// applies it to Pebble without waiting for the WAL sync, and hands it to the
// syncer goroutine, which waits for the sync and acknowledges; meanwhile the
// committer stages the next group. Readers never see an applied group
// before the syncer publishes it (see Store.head).
type committer struct {
	store   *Store
	heads   *headCache
	lastPos uint64                        // last applied position
	allHash eventstore.Hash               // AllHash at lastPos
	lastAt  int64                         // RecordedAt at lastPos, Unix nanoseconds
	keyBuf  []byte                        // scratch for keys
	index   indexWrites                   // the index keys of the group being staged
	staged  reusedMap[string, streamHead] // group.heads, reused
	hasher  eventstore.Hasher
	syncs   chan *inflight // groups applied, in order, to the syncer
	free    chan *inflight // groups answered, for the committer to reuse
	recent  recentGroups   // what the last groups applied changed
	// tailValues are the record values of the append being staged, for
	// the tail ring (see stage), reused.
	tailValues [][]byte
	// clockBehind reports that the clock was last read more than
	// clockBehindWarn behind lastAt, so that it is logged once per episode.
	clockBehind bool
	// unsynced is Options.Unsynced: groups are applied without a WAL
	// sync, and answered once applied.
	unsynced bool
}

// inflight is a group applied to Pebble, or refused whole, waiting for the
// syncer to confirm its WAL sync and to answer its appends.
//
// Once the syncer has answered its appends, it empties the inflight and
// hands it back to the committer (committer.free) with its batch: a new
// Pebble batch per group allocated its buffer anew whenever Pebble's pool
// of batches held none large enough (~0.3 KB per upsert under load, in
// buffers of ~250 KB, each a fresh span of the heap), and the slices of
// requests and outcomes were new each time too. A batch is reused only
// when Pebble no longer reads it: after its SyncWait has returned without
// error, or when it was never applied, its group having written nothing
// (Batch.Reset, which drops the buffer if a WAL writer still holds a
// reference, is Pebble's way to reuse a committed batch, as its own Close
// does for its pool); never after a failed apply or sync.
type inflight struct {
	reqs     []*appendRequest
	outcomes []staged
	// batch is the group's Pebble batch. A new inflight has none until
	// applyGroup makes one; one reused from committer.free comes with its
	// batch, emptied. It is nil again once the group failed: a failed apply
	// closes it, and so does recycle after the group's error (its apply, its
	// sync, or the store's failure before it).
	batch    *pebble.Batch
	applied  bool // batch was applied: the group wrote something
	applyErr error
	head     logHead // the end of $all once the batch is synced
}

// inflightMax bounds how many applied groups may wait for their sync.
const inflightMax = 4

// inflightsMax bounds the inflights in use: inflightMax queued for the
// syncer, one it answers and one the committer stages. committer.free
// holds as many, so that the syncer never waits to hand one back.
const inflightsMax = inflightMax + 2

// run commits groups of queued appends until Close closes the queue, then
// commits what remains, waits for the syncer to finish and returns.
func (c *committer) run() {
	syncerDone := make(chan struct{})
	go c.syncLoop(syncerDone)
	defer func() {
		close(c.syncs)
		<-syncerDone
		for len(c.free) > 0 { // the syncer is done: nothing else sends
			if f := <-c.free; f.batch != nil {
				f.batch.Close()
			}
		}
		close(c.store.committerDone)
	}()
	group := make([]*appendRequest, 0, groupAppendsMax)
	for {
		req, ok := <-c.store.queue
		if !ok {
			return
		}
		group = append(group[:0], req)
		bytes := req.bytes
	gather:
		for len(group) < groupAppendsMax && bytes < groupBytesMax {
			select {
			case req, ok := <-c.store.queue:
				if !ok {
					break gather
				}
				group = append(group, req)
				bytes += req.bytes
			default:
				break gather
			}
		}
		c.syncs <- c.applyGroup(group)
		clear(group) // drop references to requests the syncer now holds
	}
}

// staged is the outcome of one append of a group, which holds once every
// group up to this one is synced.
type staged struct {
	result eventstore.AppendResult
	err    error
}

// group is what a group's appends have staged but not yet applied: the
// state later appends of the same group must see.
type group struct {
	heads   map[string]streamHead
	ids     map[uuid.UUID]idLocation
	lastPos uint64
	allHash eventstore.Hash
	now     int64 // RecordedAt of the group, Unix nanoseconds
}

// applyGroup stages every append of the group into one batch and applies it
// to Pebble with a WAL sync it does not wait for. An append refused by its
// checks does not affect the others.
func (c *committer) applyGroup(reqs []*appendRequest) *inflight {
	f := c.newInflight(reqs)
	if err := c.store.failure(); err != nil {
		f.applyErr = err
		return f
	}
	size, events := 0, 0
	for _, r := range reqs {
		size += r.bytes + len(r.events)*(recordFixedLen+3*eventstore.StreamIDBytesMax)
		events += len(r.events)
	}
	// The group's ids go to the ring of recent groups once applied; the
	// ring hands back the map of a group it drops.
	ids := c.recent.takeSpare()
	g := group{
		heads:   c.staged.empty(len(reqs)),
		ids:     ids.empty(events),
		lastPos: c.lastPos,
		allHash: c.allHash,
		now:     c.recordingTime(),
	}
	if f.batch == nil {
		f.batch = c.store.db.NewBatchWithSize(size)
	}
	b := f.batch
	c.index.reset()
	for i, r := range reqs {
		f.outcomes[i] = c.stage(b, &g, r)
	}
	if g.lastPos == c.lastPos {
		c.recent.spare = ids // g.ids is empty
		return f             // nothing to write: refusals and retries of synced appends
	}
	// The records are in the batch, in position order; the index keys
	// follow them, in key order (see indexWrites).
	for stream, h := range g.heads {
		c.index.head(stream, h)
	}
	c.index.writeTo(b)
	f.head = logHead{position: g.lastPos, allHash: g.allHash, recordedAt: g.now}
	err := b.Set([]byte(keyHead), encodeMetaHead(g.lastPos, g.allHash), nil)
	switch {
	case err != nil:
	case c.unsynced:
		err = c.store.db.Apply(b, pebble.NoSync)
	default:
		err = c.store.db.ApplyNoSyncWait(b, pebble.Sync)
	}
	if err != nil {
		// Fail the store now, so that no later group is applied on top.
		c.store.fail(err)
		f.applyErr = err
		b.Close()
		f.batch = nil
		return f
	}
	f.applied = true
	// The next group builds on this one. Should its sync fail, the syncer
	// marks the store failed and no later group is applied or acknowledged.
	c.lastPos, c.allHash, c.lastAt = g.lastPos, g.allHash, g.now
	for stream, h := range g.heads {
		c.heads.put(stream, h)
	}
	c.recent.add(recentGroup{lastPos: g.lastPos, ids: ids})
	c.store.applied.Store(g.lastPos)
	// Let Pebble's WAL writer, which the apply readied, run now: see
	// yieldToWALWriter.
	yieldToWALWriter()
	return f
}

// clockBehindWarn is how far behind the last event's RecordedAt the clock
// may read before recordingTime logs it: a step back larger than a clock's
// usual corrections.
const clockBehindWarn = time.Second

// recordingTime is the RecordedAt of the group being staged: the clock, but
// never before the RecordedAt of the last event in $all, so that RecordedAt
// never decreases along $all, even when the clock is stepped back (by NTP,
// by hand, or on a restart on a machine whose clock is behind). An auditor
// reading $all in order then reads it in time order too, and "the log up
// to time T" is a prefix of it. A clock behind by more than clockBehindWarn
// is logged, once until it catches up again.
func (c *committer) recordingTime() int64 {
	now := c.store.now().UTC().UnixNano()
	if now >= c.lastAt {
		c.clockBehind = false
		return now
	}
	if behind := time.Duration(c.lastAt - now); behind > clockBehindWarn && !c.clockBehind {
		c.clockBehind = true
		c.store.logger.Warn("the clock is behind the last event's RecordedAt: events are recorded at that time until it catches up",
			"behind", behind, "last_recorded_at", time.Unix(0, c.lastAt).UTC())
	}
	return c.lastAt
}

// yieldToWALWriter gives the committer's P to the goroutine that the
// group's apply has just made runnable: Pebble's WAL writer (its LogWriter's
// flushLoop), which writes the group to the log and starts its sync. Go
// runs a goroutine readied this way next on the same P, but only once the
// readying goroutine stops, and the next one that goroutine readies takes
// its place: the committer went on staging, and woke the syncer, and the
// WAL writer waited behind every runnable goroutine of the P's queue. Under
// load (128 clients over loopback) that was 1–2 ms, a trace showed, during
// which the requests of the group finished their other work and waited for
// a sync not yet begun, until every request waited and both cores idled:
// the cores were busy 1.80–1.84 of 2 on average, against 1.88–1.92 with
// the yield (a fresh server, 40,000 upserts). runtime.Gosched puts the
// committer at the back of the global queue; the groups that gather while
// it waits there are committed together when it runs again.
func yieldToWALWriter() { runtime.Gosched() }

// syncLoop waits, group by group in order, for the WAL sync of each applied
// batch, publishes the new end of $all and answers the group's appends. A
// group that wrote nothing (not applied: its appends were refused or were
// retries, or the store had failed) has nothing to sync, though it may
// carry a batch, empty: it is answered once every group before it is
// synced, so a retry of an append never returns before that append is
// durable.
func (c *committer) syncLoop(done chan<- struct{}) {
	defer close(done)
	// failure is the first failed group's error: that group and every later
	// one fail, while the groups before it, synced, succeed.
	var failure error
	for f := range c.syncs {
		err := f.applyErr
		if f.applied && !c.unsynced {
			err = f.batch.SyncWait()
		}
		if err != nil && failure == nil {
			c.store.fail(err)
			failure = c.store.failure()
		}
		if failure == nil && f.applied {
			c.store.publish(f.head)
		}
		for i, r := range f.reqs {
			o := f.outcomes[i]
			if o.err == nil && failure != nil {
				o.err = fmt.Errorf("append to %s: %w", r.stream, failure)
			}
			r.done <- appendResponse{result: o.result, err: o.err}
		}
		c.recycle(f, err)
	}
}

// newInflight returns an empty inflight for the group reqs, reused from
// the syncer when one is free.
func (c *committer) newInflight(reqs []*appendRequest) *inflight {
	var f *inflight
	select {
	case f = <-c.free:
	default:
		f = &inflight{}
	}
	f.reqs = append(f.reqs[:0], reqs...)
	f.outcomes = slices.Grow(f.outcomes[:0], len(reqs))[:len(reqs)]
	clear(f.outcomes)
	return f
}

// recycle empties f, whose appends the syncer has answered, and hands it
// back to the committer with its batch, emptied, unless the group failed
// (err), after which Pebble's batch is not to be reused: it is closed.
func (c *committer) recycle(f *inflight, err error) {
	if f.batch != nil {
		if err != nil {
			f.batch.Close()
			f.batch = nil
		} else {
			f.batch.Reset() // synced: Pebble reads it no more
		}
	}
	clear(f.reqs) // the requests are their Appends' again
	f.reqs = f.reqs[:0]
	f.applied, f.applyErr, f.head = false, nil, logHead{}
	select {
	case c.free <- f:
	default: // cannot happen (see inflightsMax); drop it
		if f.batch != nil {
			f.batch.Close()
		}
	}
}

// stage checks one append against the store and the group so far and, if
// it passes, adds its keys to b and its effects to g, and its record values
// to the tail ring. It adds nothing when it refuses the append.
func (c *committer) stage(b *pebble.Batch, g *group, r *appendRequest) staged {
	if err := r.ctx.Err(); err != nil {
		return staged{err: fmt.Errorf("append to %s: %w", r.stream, err)}
	}
	locs, err := c.lookupIDs(g, r)
	if err != nil {
		return staged{err: fmt.Errorf("append to %s: %w", r.stream, err)}
	}
	if locs != nil {
		result, err := retryResult(r.stream, r.events, locs)
		if err != nil {
			return staged{err: err}
		}
		return staged{result: result}
	}

	head, err := c.head(g, r.stream)
	if err != nil {
		return staged{err: fmt.Errorf("append to %s: %w", r.stream, err)}
	}
	newStream := !head.exists
	if !r.expected.Matches(head.revision, head.exists) {
		return staged{err: &eventstore.VersionConflictError{
			Stream:   r.stream,
			Expected: r.expected,
			Actual:   head.revision,
			Exists:   head.exists,
		}}
	}

	// The record values go to the tail ring together, under one lock,
	// once the loop has written them all: see tailRing. Each is the value
	// of its op, the bytes of the record in b, which stay as written until
	// b is reset or closed: a batch only appends, and one that grows copies
	// its bytes to a new buffer, leaving the old one as it was (Pebble's
	// Batch.grow).
	first, values := g.lastPos+1, c.tailValues[:0]
	for i := range r.events {
		ev := &r.events[i]
		se := storedEvent{stream: r.stream, recordedAt: g.now}
		se.revision = nextRevision(head)
		g.lastPos++
		pos := eventstore.Position{Commit: g.lastPos, Prepare: g.lastPos}
		se.hash = c.hasher.Chain(head.hash, r.stream, se.revision, ev.ID, ev.Type, ev.Data, ev.Metadata)
		se.allHash = eventstore.AllChainHash(g.allHash, pos, se.hash)

		op := b.SetDeferred(eventKeyLen, recordLen(r.stream, ev))
		eventKey(op.Key[:0], g.lastPos)
		encodeRecord(op.Value, &se, ev)
		values = append(values, op.Value)
		if err := op.Finish(); err != nil {
			panic(fmt.Sprintf("embedded: batch without index failed to finish: %v", err))
		}
		c.index.streamIndex(r.stream, se.revision, g.lastPos)
		loc := idLocation{stream: r.stream, revision: se.revision, position: g.lastPos}
		c.store.keys.add(c.index.id(ev.ID, loc)) // before the batch applies: see keyFilter
		g.ids[ev.ID] = loc

		head = streamHead{exists: true, revision: se.revision, hash: se.hash}
		g.allHash = se.allHash
	}
	c.store.tail.add(first, values)
	clear(values) // no reference into b past the append
	c.tailValues = values[:0]
	if newStream {
		c.keyBuf = streamPrefix(c.keyBuf[:0], prefixHead, r.stream)
		c.store.keys.add(c.keyBuf)
	}
	g.heads[r.stream] = head // its key is written by applyGroup
	return staged{
		result: eventstore.AppendResult{Revision: head.revision, Position: eventstore.Position{Commit: g.lastPos, Prepare: g.lastPos}},
	}
}

// nextRevision is the revision of the event after head: 0 for a new
// stream. Revisions are 0-based; positions, by contrast, are 1-based.
func nextRevision(head streamHead) uint64 {
	if !head.exists {
		return 0
	}
	return head.revision + 1
}

// head returns the stream's head as the group sees it: staged by an earlier
// append of the group, cached, or read from Pebble, which holds every group
// applied before this one.
func (c *committer) head(g *group, stream string) (streamHead, error) {
	if h, ok := g.heads[stream]; ok {
		return h, nil
	}
	if h, ok := c.heads.get(stream); ok {
		return h, nil
	}
	h, key, err := readHead(c.store.db, c.store.keys, c.keyBuf, stream)
	c.keyBuf = key
	if err != nil {
		return streamHead{}, err
	}
	if h.exists {
		c.heads.put(stream, h) // a new stream is cached once written
	}
	return h, nil
}

// lookupIDs finds where each event id of r is already recorded: in the
// group, in a group applied after r's lookups, or where those lookups found
// it. It returns nil when no id is recorded; otherwise one location per
// event, zero for an id not recorded.
func (c *committer) lookupIDs(g *group, r *appendRequest) ([]idLocation, error) {
	locs := r.pre.locs
	if !c.recent.covers(r.pre.snapshot) {
		var err error
		if locs, err = readIDs(c.store.db, c.store.keys, r.events); err != nil {
			return nil, err
		}
	}
	for i := range r.events {
		if locs != nil && locs[i].stream != "" {
			continue
		}
		id := r.events[i].ID
		loc, ok := g.ids[id]
		if !ok && c.recent.covers(r.pre.snapshot) {
			loc, ok = c.recent.findID(r.pre.snapshot, id)
		}
		if !ok {
			continue
		}
		if locs == nil {
			locs = make([]idLocation, len(r.events))
		}
		locs[i] = loc
	}
	return locs, nil
}

// retryResult decides an append whose ids are already (partly) recorded:
// an idempotent retry if every id is recorded in stream, in order, at
// consecutive revisions, and then returns the original result, Replayed; otherwise
// ErrDuplicateEventID.
func retryResult(stream string, events []eventstore.EventData, locs []idLocation) (eventstore.AppendResult, error) {
	for i, loc := range locs {
		if loc.stream == "" {
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: some events are already recorded but event %s is not: %w",
				stream, events[i].ID, eventstore.ErrDuplicateEventID)
		}
		if loc.stream != stream {
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: event %s is recorded in stream %s: %w",
				stream, events[i].ID, loc.stream, eventstore.ErrDuplicateEventID)
		}
		if i > 0 && (loc.revision != locs[i-1].revision+1 || loc.position <= locs[i-1].position) {
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: events %s and %s are recorded, but not consecutively: %w",
				stream, events[i-1].ID, events[i].ID, eventstore.ErrDuplicateEventID)
		}
	}
	last := locs[len(locs)-1]
	return eventstore.AppendResult{
		Revision: last.revision,
		Position: eventstore.Position{Commit: last.position, Prepare: last.position},
		Replayed: true,
	}, nil
}
