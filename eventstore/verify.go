package eventstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Tools written once for every backend (litestream style): Verify, Export
// and Import are plain functions over the Store interface, so that a ledger
// kept in KurrentDB is checked, archived and moved exactly as an embedded one.

// ReadBatchEvents is how many events the tools read from $all per call: large
// enough to amortise the read, small enough to keep memory bounded however
// long the log is.
const ReadBatchEvents = 512

// HeadReader is an optional interface of backends that know where their log
// ends: the position of the last committed event and its $all hash (the zero
// Hash from a backend that does not store the $all chain). Its callers take
// the head's Commit for the number of events in the log (a progress total),
// which holds for the embedded store's positions 1..N and not for
// KurrentDB's, whose Commit is an offset: the kurrent backend implements
// SharedLog instead. Verify detects it
// at runtime and compares the head it recomputed with it, which catches a
// log whose tail was cut off: every remaining event still verifies, but the
// head the store recorded is no longer there.
type HeadReader interface {
	// Head returns the last committed position (Start for an empty log) and
	// its $all hash. It returns ErrClosed after Close.
	Head(ctx context.Context) (Position, Hash, error)
}

// TimeOrdered is implemented by a store whose events' RecordedAt never
// decreases along $all (the embedded store records a group at the last
// event's time when the clock reads earlier), so that the log up to a time
// is a prefix of it and time travel (as_of) reads that prefix. Verify
// holds such a store to it: a recording time rewritten with the record's
// checksum recomputed is caught by no hash, but shows when it falls before
// the event before it. A store that does not promise it (KurrentDB, whose
// leader may move to a node whose clock is behind) is not held to it.
type TimeOrdered interface {
	// RecordedAtNeverDecreases reports whether the store promises it.
	RecordedAtNeverDecreases() bool
}

// Progress is told how far long work has come, after each batch: done events
// so far, out of total (0 when the total is not known in advance). It runs on
// the worker's goroutine and must return quickly; nil means nobody listens.
type Progress func(done, total uint64)

// report calls p if it is set.
func (p Progress) report(done, total uint64) {
	if p != nil {
		p(done, total)
	}
}

// VerifyReport is the outcome of Verify: either every event checked out (OK)
// or Problem names the first one that did not.
type VerifyReport struct {
	// OK is true when no problem was found.
	OK bool
	// Events counts the events checked (up to the problem, when there is one).
	Events uint64
	// Streams counts the distinct streams among them.
	Streams uint64
	// HeadPosition is the position of the last event checked; Start for an
	// empty log.
	HeadPosition Position
	// HeadAllHash is the $all hash of the last event checked, recomputed by
	// walking the log (it equals the stored one when the backend stores it);
	// the zero Hash for an empty log.
	HeadAllHash Hash
	// Problem is the first problem found; nil when OK.
	Problem *Problem
}

// Problem says which event of the log failed verification and why. It is
// data, not an error: a corrupt or altered log is what Verify exists to
// report.
type Problem struct {
	// Position is the position of the offending event. When the event does
	// not even decode, the backend cannot say where it is: Position is then
	// the zero Position and After is the last good position (with the
	// embedded store the bad event is at After+1, and Reason carries the
	// store's error, which names it). For a problem of a stream as
	// ReadStream returns it, Position is where the revision is, in $all or
	// as ReadStream says, when that is known, and Start when it is not.
	Position Position
	// After is the position of the last event that verified (Start if
	// none). For a problem of a stream as ReadStream returns it (found once
	// all of $all verified), it is the position of the stream's last event
	// that matched $all.
	After Position
	// Stream and Revision name the event as stored, when it decoded; for a
	// problem of a stream as ReadStream returns it, the stream and the
	// first revision that does not read back as $all holds it.
	Stream   string
	Revision uint64
	// Reason says what is wrong, for people.
	Reason string
	// Missing reports that the likely problem is not the event at Position
	// but one or more events missing from the log between After and
	// Position (Reason says which, as far as the chains tell).
	Missing bool
	// Key names the entry of the backend's own index that disagrees with
	// the events, for a problem an IndexChecker found (e.g. "stream head
	// key 'H' (stream call-1)"); Reason then says what it holds and what
	// the events say. It is empty for a problem of the events themselves
	// or of a stream as ReadStream returns it. For an index problem, After
	// is Start.
	Key string
	// Err is the store's error when the event could not be read; nil otherwise.
	Err error
	// Kept reports that the log verified on its own but does not hold the
	// KeptHead it was verified against (VerifyKept): Position is the kept
	// head's, and Reason says what the log holds there instead.
	Kept bool
}

// String describes the problem in one line, naming the event.
func (p *Problem) String() string {
	switch {
	case p.Missing, p.Kept:
		return p.Reason // it names the positions concerned
	case p.Key != "":
		return p.Key + ": " + p.Reason // the reason names the event concerned
	case p.Stream == "":
		return fmt.Sprintf("after position %s: %s", p.After, p.Reason)
	case p.Position.IsStart():
		return fmt.Sprintf("stream %s, revision %d: %s", p.Stream, p.Revision, p.Reason)
	}
	return fmt.Sprintf("position %s, stream %s, revision %d: %s", p.Position, p.Stream, p.Revision, p.Reason)
}

// chainLink is where a stream's chain stands during a walk of $all: the
// revision, hash and position of its last event, and a digest of the
// positions of all its events. It is what Verify's pass over the streams
// compares each stream, as ReadStream returns it, against: 88 bytes a
// stream, however long the stream.
type chainLink struct {
	revision  uint64
	hash      Hash
	position  Position
	positions Hash
}

// positionsDigest folds pos into digest, a running SHA-256 over the
// positions of a stream's events in revision order (the zero Hash before
// the first). The stream hashes do not cover positions, so two passes that
// build the same digest saw every event of the stream at the same position.
// It is only ever compared in memory, never stored.
func positionsDigest(digest Hash, pos Position) Hash {
	var in [len(Hash{}) + 16]byte
	b := append(in[:0], digest[:]...)
	b = binary.BigEndian.AppendUint64(b, pos.Commit)
	b = binary.BigEndian.AppendUint64(b, pos.Prepare)
	return sha256.Sum256(b)
}

// chainChecker checks the two hash chains event by event, in $all order. It
// is the one place that knows the rules, shared by Verify (records read from
// a store) and Import (records read from an export). Memory is one entry per
// stream seen.
type chainChecker struct {
	streams map[string]chainLink
	// last is the position of the last event checked; Start before any.
	last    Position
	allHash Hash
	events  uint64
	// allHashStored is decided by the first event: whether the source stores
	// the $all chain (non-zero AllHash). Every later event must agree, so an
	// AllHash zeroed by tampering is not mistaken for a backend without one.
	allHashStored *bool
	hasher        Hasher
	// trackPositions makes check keep each stream's positions digest, which
	// only Verify's pass over the streams reads (Export and Import do not).
	trackPositions bool
	// timeOrdered makes check require RecordedAt never to decrease (see
	// TimeOrdered); lastRecordedAt is the last event's.
	timeOrdered    bool
	lastRecordedAt time.Time
	// kept, when not nil, is the head the walk must pass (VerifyKept);
	// keptSeen is set once it has.
	kept     *KeptHead
	keptSeen bool
}

func newChainChecker() *chainChecker {
	return &chainChecker{streams: make(map[string]chainLink)}
}

// check verifies r against the chains so far and, if it holds, advances
// them. It returns "" or the reason r breaks them; on a reason the chains are
// left as they were.
func (c *chainChecker) check(r *Record) string {
	if !c.last.Less(r.Position) {
		return fmt.Sprintf("position %s does not follow position %s", r.Position, c.last)
	}
	if r.StreamID == "" {
		return "empty stream id"
	}
	var prev Hash
	link, seen := c.streams[r.StreamID]
	switch {
	case !seen && r.Revision != 0:
		return fmt.Sprintf("stream starts at revision %d, not 0", r.Revision)
	case seen && r.Revision != link.revision+1:
		return fmt.Sprintf("revision %d follows revision %d", r.Revision, link.revision)
	case seen:
		prev = link.hash
	}
	want := c.hasher.Chain(prev, r.StreamID, r.Revision, r.ID, r.Type, r.Data, r.Metadata)
	if want != r.Hash {
		return fmt.Sprintf("stored hash %s, the event's content hashes to %s", r.Hash, want)
	}
	wantAll := AllChainHash(c.allHash, r.Position, r.Hash)
	stored := !r.AllHash.IsZero()
	if c.allHashStored == nil {
		c.allHashStored = &stored
	}
	switch {
	case stored != *c.allHashStored && stored:
		return "stored $all hash where earlier events have none"
	case stored != *c.allHashStored:
		return "no stored $all hash where earlier events have one"
	case stored && wantAll != r.AllHash:
		return fmt.Sprintf("stored $all hash %s, the chain gives %s", r.AllHash, wantAll)
	}
	if c.timeOrdered && r.RecordedAt.Before(c.lastRecordedAt) {
		return fmt.Sprintf("recorded at %s, before the event at position %s (recorded at %s), where this store's recording times never decrease: one of the two was altered",
			r.RecordedAt.Format(time.RFC3339Nano), c.last, c.lastRecordedAt.Format(time.RFC3339Nano))
	}
	next := chainLink{revision: r.Revision, hash: r.Hash, position: r.Position}
	if c.trackPositions {
		next.positions = positionsDigest(link.positions, r.Position)
	}
	c.streams[r.StreamID] = next
	c.last = r.Position
	c.lastRecordedAt = r.RecordedAt
	c.allHash = wantAll
	c.events++
	return ""
}

// missingReason explains r's failing check as events missing from the log
// just before it, when the evidence says so, and returns "" when it does
// not. A deleted event leaves every event after it intact, but the next one
// in $all no longer chains to the event before the gap, and the next one of
// its stream skips a revision: reporting that event as altered points an
// auditor at an untouched one. The explanation holds when r's stored $all
// hash does not follow from the last event checked while allHashFollowed
// (what comes after r chains from that hash, so the store computed it and
// it was not altered since: see allHashFollowed), and r's stream either
// continues its chain (the missing event was of another stream) or skips
// revisions (they are the missing events). Positions are not assumed to be
// contiguous, so the gap is named by the events around it.
func (c *chainChecker) missingReason(r *Record, allHashFollowed bool) string {
	if !allHashFollowed || r.AllHash.IsZero() || (c.allHashStored != nil && !*c.allHashStored) ||
		r.StreamID == "" || !c.last.Less(r.Position) || AllChainHash(c.allHash, r.Position, r.Hash) == r.AllHash {
		return ""
	}
	var prev Hash
	next := uint64(0)
	if link, seen := c.streams[r.StreamID]; seen {
		prev, next = link.hash, link.revision+1
	}
	gap := fmt.Sprintf("the $all chain breaks before position %s: an event between positions %s and %s is missing or was altered",
		r.Position, c.last, r.Position)
	if c.last.IsStart() {
		gap = fmt.Sprintf("the $all chain breaks before position %s: an event before it is missing or was altered", r.Position)
	}
	switch {
	case r.Revision < next:
		return "" // a repeated revision is no gap
	case r.Revision == next && c.hasher.Chain(prev, r.StreamID, r.Revision, r.ID, r.Type, r.Data, r.Metadata) != r.Hash:
		return "" // the event itself was altered
	case r.Revision == next:
		return gap
	case r.Revision == next+1:
		return fmt.Sprintf("%s; revision %d of stream %s is missing", gap, next, r.StreamID)
	default:
		return fmt.Sprintf("%s; revisions %d to %d of stream %s are missing", gap, next, r.Revision-1, r.StreamID)
	}
}

// allHashFollowed reports whether the stored $all hash of r is vouched for
// by what follows it: the stored $all hash of next (the event after r in
// $all; nil at the end of the log) chains from it, or there is no next and
// the store's head is r with r's $all hash. An altered hash is followed by
// nothing: the store chained the events after it from the original.
func allHashFollowed(r, next *Record, head logHead) bool {
	if r.AllHash.IsZero() {
		return false
	}
	if next == nil {
		return head.known && head.position == r.Position && head.allHash == r.AllHash
	}
	return !next.AllHash.IsZero() && AllChainHash(r.AllHash, next.Position, next.Hash) == next.AllHash
}

// chainProblem is the Problem of r, the i-th of records, which broke the
// chains for reason: the missing events before it when that explains the
// break (see missingReason), otherwise r itself. It reads the event after r
// when r ends records.
func chainProblem(ctx context.Context, store Store, c *chainChecker, records []Record, i int, head logHead, reason string) *Problem {
	r := &records[i]
	var next *Record
	if i+1 < len(records) {
		next = &records[i+1]
	} else if after, err := store.ReadAll(ctx, r.Position, 1); err == nil && len(after) == 1 {
		next = &after[0]
	}
	p := &Problem{Position: r.Position, After: c.last, Stream: r.StreamID, Revision: r.Revision, Reason: reason}
	if missing := c.missingReason(r, allHashFollowed(r, next, head)); missing != "" {
		p.Reason, p.Missing = missing, true
	}
	return p
}

// Verify checks the whole log of store in two passes and reports the first
// problem it finds.
//
// The first pass walks $all in batches of ReadBatchEvents: positions rise
// strictly; each stream's revisions run 0, 1, 2, ... without gaps; each Hash
// equals ChainHash recomputed over the stored fields and the stream's
// previous hash; each non-zero AllHash equals AllChainHash recomputed (the
// $all chain is recomputed either way, so the report carries the head hash
// even from a backend that stores none); and, when store is TimeOrdered,
// no RecordedAt is before the one of the event before it. If store is a
// HeadReader, the walk stops at the head it reports when Verify starts (so
// appends made during the walk are not checked) and the recomputed head
// must equal it, which catches a truncated log. When an event is missing from the middle of
// $all, the problem says so, naming the positions around the gap, rather
// than blaming the intact event after it (see Problem.Missing).
//
// The second pass proves that every stream seen in $all reads back through
// ReadStream, in pages of ReadBatchEvents, as exactly its events in $all:
// the same number, revisions 0 to the last, each at the position $all gives
// it, with the same ids, content and hashes (the stream chain recomputed
// from what ReadStream returns ends at the hash $all ended at). Callers
// read a call's history, its past states and its expected revision through
// ReadStream, so an index that hides, drops or swaps an event would show
// auditors a different history from the one $all proves. The streams are
// checked in the order of their ids; events appended to a stream after the
// first pass ended are not checked.
//
// Between the two passes, when store is an IndexChecker, Verify runs its
// CheckIndex: the backend's own indexes (the embedded store's stream index,
// stream heads, id index and head key) must agree with its events. The
// stream heads and the id index are read by no call of the Store interface
// but Append, so a wrong one shows in no read, only in a later refused or
// wrongly chained append. It runs before the pass over the streams, which
// reads through the stream index, so that a broken index is reported as
// the key at fault rather than as a stream that reads back wrong.
//
// Verify reports the first problem in the VerifyReport, including a record
// the store cannot decode. It returns an error only when it could not do its
// job: ctx cancelled, or the store closed. Memory is one small entry per
// stream, and one page of events. Progress counts every event once per
// pass, the index check included: its total is twice the head's position
// when the store is a HeadReader, three times when it is also an
// IndexChecker.
func Verify(ctx context.Context, store Store, progress Progress) (VerifyReport, error) {
	return verify(ctx, store, progress, nil)
}

// KeptHead is a point of a log kept from an earlier look at it: the head
// position and $all hash verify printed then ("head position 1234, head
// hash 9f…"), or an export's end marker (last_position, all_hash). The
// log, grown since, still holds it: its $all chain, recomputed from the
// first event, gives that hash at that position, which only the same
// events up to it can. A log checked on its own cannot show that its tail
// was cut and its stored head rewritten to match, or that it was rebuilt
// with hashes chained anew; checked against a head kept elsewhere, it can.
type KeptHead struct {
	Position Position
	AllHash  Hash
}

// VerifyKept is Verify, and checks that the log holds kept (KeptHead):
// the report's Problem, with Kept set, names the kept head's position when
// the $all chain gives another hash there, the log has no event there, or
// ends before it. The zero KeptHead (an empty log's) is held by every log.
func VerifyKept(ctx context.Context, store Store, progress Progress, kept KeptHead) (VerifyReport, error) {
	return verify(ctx, store, progress, &kept)
}

// verify is Verify, checking the log against kept when it is not nil.
func verify(ctx context.Context, store Store, progress Progress, kept *KeptHead) (VerifyReport, error) {
	head, err := readLogHead(ctx, store, "verify")
	if err != nil {
		return VerifyReport{}, err
	}
	indexChecker, checksIndex := store.(IndexChecker)
	passes := uint64(2)
	if checksIndex {
		passes = 3
	}
	total := uint64(0)
	if head.known {
		total = passes * head.position.Commit // the embedded store's positions are 1..N
	}

	c := newChainChecker()
	c.trackPositions = true // for the pass over the streams
	if kept != nil && !(kept.Position.IsStart() && kept.AllHash.IsZero()) {
		c.kept = kept // an empty log's head is every log's
	}
	if ordered, ok := store.(TimeOrdered); ok {
		c.timeOrdered = ordered.RecordedAtNeverDecreases()
	}
	if head.known && !head.allHash.IsZero() {
		// The backend stores the $all chain: every event must carry its hash.
		stored := true
		c.allHashStored = &stored
	}
	report := func(p *Problem) VerifyReport {
		return VerifyReport{
			OK:           p == nil,
			Events:       c.events,
			Streams:      uint64(len(c.streams)),
			HeadPosition: c.last,
			HeadAllHash:  c.allHash,
			Problem:      p,
		}
	}
	p, err := verifyAll(ctx, store, c, head, func(done uint64) { progress.report(done, total) })
	if err != nil || p != nil {
		return report(p), err
	}
	counted := c.events // by the passes before
	if checksIndex {
		p, err = checkIndex(ctx, indexChecker, func(done, _ uint64) { progress.report(counted+done, total) })
		if err != nil || p != nil {
			return report(p), err
		}
		counted += c.events
	}
	p, err = verifyStreams(ctx, store, c, func(done uint64) { progress.report(counted+done, total) })
	return report(p), err
}

// checkIndex runs the store's CheckIndex for Verify. An error that is not
// ctx's or a closed store's is a read that failed, which Verify reports as
// a problem, as it does for the reads of its passes.
func checkIndex(ctx context.Context, checker IndexChecker, progress Progress) (*Problem, error) {
	p, err := checker.CheckIndex(ctx, progress)
	switch {
	case err != nil && stopped(ctx, err):
		return nil, fmt.Errorf("verify: check the index: %w", err)
	case err != nil:
		return &Problem{Key: "the store's index", Reason: fmt.Sprintf("cannot check it: %v", err), Err: err}, nil
	}
	return p, nil
}

// stopped reports whether err, which a read or check of the store
// returned, means that Verify cannot go on (ctx is done, the store closed,
// or it does not answer: ErrUnavailable, a KurrentDB node down or refusing
// the credentials) rather than a problem of the store for Verify to
// report: an outage says nothing of the log, and reported as a FAILED
// read of the event at position 0 it looked like damage.
func stopped(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, ErrClosed) || errors.Is(err, ErrUnavailable)
}

// logHead is where a HeadReader's log ended when Verify began.
type logHead struct {
	// known is false when the store is no HeadReader; the rest is then zero.
	known    bool
	position Position
	allHash  Hash
}

// readLogHead asks store for its head, if it is a HeadReader; op names
// the caller in an error.
func readLogHead(ctx context.Context, store Store, op string) (logHead, error) {
	headReader, ok := store.(HeadReader)
	if !ok {
		return logHead{}, nil
	}
	position, allHash, err := headReader.Head(ctx)
	if err != nil {
		return logHead{}, fmt.Errorf("%s: read head: %w", op, err)
	}
	return logHead{known: true, position: position, allHash: allHash}, nil
}

// verifyAll is Verify's first pass: it walks $all through c up to the head
// (to the end when it is not known) and returns the first problem. counted
// is told how many events were checked after each batch.
func verifyAll(ctx context.Context, store Store, c *chainChecker, head logHead, counted func(done uint64)) (*Problem, error) {
	// One page serves the whole walk: c keeps of each record only its
	// hashes, position and stream id (a string, which outlives the page),
	// and chainProblem reads records of the batch at hand, reading the one
	// after the batch with ReadAll.
	var page Page
	// Each iteration reads one batch; the bound only guards against a
	// backend that keeps returning full batches forever.
	for batches := uint64(0); batches < batchesMax; batches++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		records, err := readBatch(ctx, store, c.last, ReadBatchEvents, &page)
		var unreadable error
		if err != nil {
			if stopped(ctx, err) {
				return nil, fmt.Errorf("verify: read $all after %s: %w", c.last, err)
			}
			// Some event of the batch does not read: read one at a time to
			// check every event before it and name the last good one.
			records, unreadable = readOneByOne(ctx, store, c.last, ReadBatchEvents)
			if unreadable != nil && stopped(ctx, unreadable) {
				return nil, fmt.Errorf("verify: read $all after %s: %w", c.last, unreadable)
			}
			// Without an error, every event read one by one: the failure
			// was transient.
		}
		for i := range records {
			r := &records[i]
			if head.known && head.position.Less(r.Position) {
				return finishVerify(c, head), nil
			}
			before := c.last
			if reason := c.check(r); reason != "" {
				return chainProblem(ctx, store, c, records, i, head, reason), nil
			}
			if p := c.passKept(before); p != nil {
				return p, nil
			}
		}
		if unreadable != nil {
			return &Problem{After: c.last, Reason: fmt.Sprintf("cannot read the event: %v", unreadable), Err: unreadable}, nil
		}
		counted(c.events)
		if len(records) < ReadBatchEvents {
			return finishVerify(c, head), nil
		}
	}
	return nil, fmt.Errorf("verify: more than %d batches of $all: %w", batchesMax, errTooLong)
}

// passKept checks the event c just checked (the last, after the one at
// before) against c.kept: the kept head's position must be an event's, and
// the $all chain must give the kept hash there. It returns nil while the
// walk has not reached the kept head, and once it has passed it.
func (c *chainChecker) passKept(before Position) *Problem {
	k := c.kept
	if k == nil || c.keptSeen || c.last.Less(k.Position) {
		return nil
	}
	if c.last != k.Position {
		return &Problem{Kept: true, Position: k.Position, After: before,
			Reason: fmt.Sprintf("the log has no event at position %s, the kept head's (it goes from position %s to %s): it is not the log the head was kept from", k.Position, before, c.last)}
	}
	if c.allHash != k.AllHash {
		return &Problem{Kept: true, Position: k.Position, After: before,
			Reason: fmt.Sprintf("the $all chain gives hash %s at position %s, where the kept head has %s: the log up to it is not the one the head was kept from (an event up to it was altered, removed or added)", c.allHash, k.Position, k.AllHash)}
	}
	c.keptSeen = true
	return nil
}

// keptMissing is the problem of a walk that ended without passing c.kept:
// the log ends before it. An empty kept head (the zero position and hash)
// is passed by every log.
func (c *chainChecker) keptMissing() *Problem {
	k := c.kept
	switch {
	case k == nil || c.keptSeen:
		return nil
	case k.Position.IsStart() && k.AllHash.IsZero():
		return nil
	}
	return &Problem{Kept: true, Position: k.Position, After: c.last,
		Reason: fmt.Sprintf("the log ends at position %s, before the kept head at position %s: events up to it were cut, or it is not the log the head was kept from", c.last, k.Position)}
}

// finishVerify compares the end of the walk with the head the store
// reported, and the kept head with what the walk passed, and returns the
// problem if they differ.
func finishVerify(c *chainChecker, head logHead) *Problem {
	if !head.known {
		return c.keptMissing()
	}
	if c.last != head.position {
		return &Problem{After: c.last, Reason: fmt.Sprintf("the log ends at position %s but the store's head is at %s: events are missing", c.last, head.position)}
	}
	if !head.allHash.IsZero() && head.allHash != c.allHash {
		return &Problem{After: c.last, Reason: fmt.Sprintf("the store's head hash is %s but the $all chain gives %s", head.allHash, c.allHash)}
	}
	return c.keptMissing()
}

// batchesMax bounds every walk of $all: 2^40 events, far beyond any log.
const batchesMax = (1 << 40) / ReadBatchEvents

// errTooLong is returned when a walk passes batchesMax: a backend bug.
var errTooLong = errors.New("log longer than any walk allows")

// readBatch reads up to limit events after after, as ReadAll does: into
// page when store is a PageReader, so that a walk of $all does not allocate
// a record and a payload per event, and with ReadAll otherwise. The records
// it returns from page are valid until the next read into page; on an error
// it returns none.
func readBatch(ctx context.Context, store Store, after Position, limit int, page *Page) ([]Record, error) {
	pr, ok := store.(PageReader)
	if !ok {
		return store.ReadAll(ctx, after, limit)
	}
	if err := pr.ReadAllPage(ctx, after, limit, page); err != nil {
		return nil, err
	}
	return page.Records, nil
}

// readOneByOne reads up to n events after after, one per call, and returns
// those that read before the first error, with that error.
func readOneByOne(ctx context.Context, store Store, after Position, n int) ([]Record, error) {
	var out []Record
	for range n {
		recs, err := store.ReadAll(ctx, after, 1)
		if err != nil {
			return out, err
		}
		if len(recs) == 0 {
			return out, nil
		}
		out = append(out, recs[0])
		after = recs[0].Position
	}
	return out, nil
}
