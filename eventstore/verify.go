package eventstore

import (
	"context"
	"errors"
	"fmt"
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
	// store's error, which names it).
	Position Position
	// After is the position of the last event that verified (Start if none).
	After Position
	// Stream and Revision name the event as stored, when it decoded.
	Stream   string
	Revision uint64
	// Reason says what is wrong, for people.
	Reason string
	// Err is the store's error when the event could not be read; nil otherwise.
	Err error
}

// String describes the problem in one line, naming the event.
func (p *Problem) String() string {
	if p.Stream == "" {
		return fmt.Sprintf("after position %s: %s", p.After, p.Reason)
	}
	return fmt.Sprintf("position %s, stream %s, revision %d: %s", p.Position, p.Stream, p.Revision, p.Reason)
}

// chainLink is where a stream's chain stands during a walk: the revision and
// hash of its last event.
type chainLink struct {
	revision uint64
	hash     Hash
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
	c.streams[r.StreamID] = chainLink{revision: r.Revision, hash: r.Hash}
	c.last = r.Position
	c.allHash = wantAll
	c.events++
	return ""
}

// Verify walks the whole $all log of store in batches of ReadBatchEvents and
// checks it: positions rise strictly; each stream's revisions run 0, 1, 2, ...
// without gaps; each Hash equals ChainHash recomputed over the stored fields
// and the stream's previous hash; each non-zero AllHash equals AllChainHash
// recomputed (the $all chain is recomputed either way, so the report carries
// the head hash even from a backend that stores none). If store is a
// HeadReader, the walk stops at the head it reports when Verify starts (so
// appends made during the walk are not checked) and the recomputed head must
// equal it, which catches a truncated log.
//
// Verify reports the first problem in the VerifyReport, including a record
// the store cannot decode. It returns an error only when it could not do its
// job: ctx cancelled, or the store closed. Memory is one small entry per
// stream.
func Verify(ctx context.Context, store Store, progress Progress) (VerifyReport, error) {
	var head Position
	var headHash Hash
	headReader, hasHead := store.(HeadReader)
	if hasHead {
		var err error
		head, headHash, err = headReader.Head(ctx)
		if err != nil {
			return VerifyReport{}, fmt.Errorf("verify: read head: %w", err)
		}
	}
	total := uint64(0)
	if hasHead {
		total = head.Commit // the embedded store's positions are 1..N
	}

	c := newChainChecker()
	if hasHead && !headHash.IsZero() {
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
	// Each iteration reads one batch; the bound only guards against a
	// backend that keeps returning full batches forever.
	for batches := uint64(0); batches < batchesMax; batches++ {
		if err := ctx.Err(); err != nil {
			return report(nil), fmt.Errorf("verify: %w", err)
		}
		records, err := store.ReadAll(ctx, c.last, ReadBatchEvents)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return report(nil), fmt.Errorf("verify: read $all after %s: %w", c.last, err)
			}
			// Some event of the batch does not read: read one at a time to
			// check every event before it and name the last good one.
			records, err = readOneByOne(ctx, store, c.last, ReadBatchEvents)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, ErrClosed) {
					return report(nil), fmt.Errorf("verify: read $all after %s: %w", c.last, err)
				}
				for i := range records {
					r := &records[i]
					if hasHead && head.Less(r.Position) {
						break
					}
					if reason := c.check(r); reason != "" {
						return report(&Problem{Position: r.Position, After: c.last, Stream: r.StreamID, Revision: r.Revision, Reason: reason}), nil
					}
				}
				return report(&Problem{After: c.last, Reason: fmt.Sprintf("cannot read the event: %v", err), Err: err}), nil
			}
			// Every event read one by one: the failure was transient.
		}
		for i := range records {
			r := &records[i]
			if hasHead && head.Less(r.Position) {
				return finishVerify(report, c, hasHead, head, headHash), nil
			}
			if reason := c.check(r); reason != "" {
				return report(&Problem{Position: r.Position, After: c.last, Stream: r.StreamID, Revision: r.Revision, Reason: reason}), nil
			}
		}
		progress.report(c.events, total)
		if len(records) < ReadBatchEvents {
			return finishVerify(report, c, hasHead, head, headHash), nil
		}
	}
	return report(nil), fmt.Errorf("verify: more than %d batches of $all: %w", batchesMax, errTooLong)
}

// finishVerify compares the end of the walk with the head the store reported.
func finishVerify(report func(*Problem) VerifyReport, c *chainChecker, hasHead bool, head Position, headHash Hash) VerifyReport {
	if !hasHead {
		return report(nil)
	}
	if c.last != head {
		return report(&Problem{After: c.last, Reason: fmt.Sprintf("the log ends at position %s but the store's head is at %s: events are missing", c.last, head)})
	}
	if !headHash.IsZero() && headHash != c.allHash {
		return report(&Problem{After: c.last, Reason: fmt.Sprintf("the store's head hash is %s but the $all chain gives %s", headHash, c.allHash)})
	}
	return report(nil)
}

// batchesMax bounds every walk of $all: 2^40 events, far beyond any log.
const batchesMax = (1 << 40) / ReadBatchEvents

// errTooLong is returned when a walk passes batchesMax: a backend bug.
var errTooLong = errors.New("log longer than any walk allows")

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
