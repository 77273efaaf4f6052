package eventstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// verifyStreams is Verify's second pass: it reads every stream the first
// pass saw (c.streams) through ReadStream, in the order of their ids, and
// returns the first stream that does not read back as its events in $all.
// counted is told how many events it has read, after each page.
func verifyStreams(ctx context.Context, store Store, c *chainChecker, counted func(done uint64)) (*Problem, error) {
	var done uint64
	for _, stream := range slices.Sorted(maps.Keys(c.streams)) {
		// The walks, one at a time after the first pass, share its Hasher.
		w := streamWalk{stream: stream, want: c.streams[stream], end: c.last, hasher: &c.hasher}
		p, err := w.run(ctx, store, func(n int) {
			done += uint64(n)
			counted(done)
		})
		if err != nil || p != nil {
			return p, err
		}
	}
	return nil, nil
}

// streamWalk checks one stream as ReadStream returns it against what the
// walk of $all recorded of it. It recomputes the stream chain from the
// records it reads: with the last hash equal to $all's, every event read
// has the id, content and hash of the event at its revision in $all.
type streamWalk struct {
	stream string
	// want is the stream as $all holds it: its last revision, hash and
	// position, and the digest of its events' positions.
	want chainLink
	// end is where the walk of $all ended: later events were appended since.
	end Position

	// next is the revision expected next; hash, position and positions
	// are those of the events read so far (zero before the first).
	next      uint64
	hash      Hash
	position  Position
	positions Hash
	// hasher recomputes the chain; the walks of a Verify share one, so
	// that its buffer is not allocated again for every stream.
	hasher *Hasher
}

// run reads the stream in pages of ReadBatchEvents from revision 0 and
// returns its first problem. It returns an error only when ctx is done or
// the store closed.
func (w *streamWalk) run(ctx context.Context, store Store, counted func(n int)) (*Problem, error) {
	for pages := uint64(0); pages < batchesMax; pages++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		records, err := store.ReadStream(ctx, w.stream, w.next, ReadBatchEvents)
		var unreadable error
		if err != nil {
			if stopped(ctx, err) {
				return nil, fmt.Errorf("verify: read stream %s from revision %d: %w", w.stream, w.next, err)
			}
			// Some event of the page does not read: read one at a time to
			// check every event before it and name the revision that fails.
			records, unreadable = readStreamOneByOne(ctx, store, w.stream, w.next, ReadBatchEvents)
			if unreadable != nil && stopped(ctx, unreadable) {
				return nil, fmt.Errorf("verify: read stream %s from revision %d: %w", w.stream, w.next, unreadable)
			}
		}
		for i := range records {
			done, reason := w.step(&records[i])
			if reason != "" {
				return w.problem(w.next, records[i].Position, reason), nil
			}
			if done {
				return nil, nil
			}
		}
		counted(len(records))
		if unreadable != nil {
			return w.unreadable(unreadable), nil
		}
		if len(records) < ReadBatchEvents {
			return w.finish(), nil
		}
	}
	return nil, fmt.Errorf("verify: more than %d pages of stream %s: %w", batchesMax, w.stream, errTooLong)
}

// step checks r, the next record ReadStream returned, and advances the walk
// past it. It returns done when r was appended after the walk of $all
// ended, which ends the check of the stream, and a reason when r is not the
// event $all holds at its revision.
func (w *streamWalk) step(r *Record) (done bool, reason string) {
	past := r.Revision > w.want.revision
	switch {
	case r.StreamID != w.stream:
		return false, fmt.Sprintf("ReadStream returns an event of stream %s (revision %d) in its place", r.StreamID, r.Revision)
	case r.Revision != w.next:
		return false, fmt.Sprintf("ReadStream returns revision %d where revision %d belongs", r.Revision, w.next)
	case past && w.end.Less(r.Position):
		return true, "" // appended since the walk of $all
	case past:
		return false, fmt.Sprintf("ReadStream returns an event past revision %d, the stream's last in $all", w.want.revision)
	case !w.position.Less(r.Position):
		return false, fmt.Sprintf("ReadStream returns it at position %s, which does not follow position %s of the revision before", r.Position, w.position)
	}
	if want := w.hasher.Chain(w.hash, r.StreamID, r.Revision, r.ID, r.Type, r.Data, r.Metadata); want != r.Hash {
		return false, fmt.Sprintf("ReadStream returns stored hash %s, the event's content hashes to %s", r.Hash, want)
	}
	if r.Revision == w.want.revision && r.Position != w.want.position {
		return false, fmt.Sprintf("ReadStream returns it at position %s, $all holds it at %s", r.Position, w.want.position)
	}
	if r.Revision == w.want.revision && r.Hash != w.want.hash {
		return false, fmt.Sprintf("ReadStream returns hash %s, $all holds %s: the stream holds events $all does not", r.Hash, w.want.hash)
	}
	w.next++
	w.hash, w.position = r.Hash, r.Position
	w.positions = positionsDigest(w.positions, r.Position)
	return false, ""
}

// finish compares the end of the stream as ReadStream returned it with the
// end $all gives it, and returns the problem if they differ.
func (w *streamWalk) finish() *Problem {
	if w.next <= w.want.revision {
		read := fmt.Sprintf("ReadStream ends at revision %d", w.next-1)
		if w.next == 0 {
			read = "ReadStream returns no events of the stream"
		}
		if w.next == w.want.revision {
			return w.problem(w.next, w.want.position, fmt.Sprintf("%s, without this revision, which $all holds", read))
		}
		return w.problem(w.next, Start, fmt.Sprintf("%s, without this revision and the ones after it up to %d (at position %s), which $all holds",
			read, w.want.revision, w.want.position))
	}
	if w.positions != w.want.positions {
		return w.problem(0, Start, fmt.Sprintf("ReadStream returns some event of revisions 0 to %d at another position than $all does", w.want.revision))
	}
	return nil
}

// unreadable is the problem of the revision ReadStream fails to read with err.
func (w *streamWalk) unreadable(err error) *Problem {
	reason := fmt.Sprintf("ReadStream cannot read it: %v", err)
	if errors.Is(err, ErrStreamNotFound) {
		reason = fmt.Sprintf("ReadStream finds no such stream, $all holds revisions up to %d (the last at position %s)", w.want.revision, w.want.position)
	}
	p := w.problem(w.next, Start, reason)
	p.Err = err
	return p
}

// problem names revision rev of the stream and pos (Start when not known),
// with reason. After is the position of the last event of the stream that
// matched $all.
func (w *streamWalk) problem(rev uint64, pos Position, reason string) *Problem {
	return &Problem{Position: pos, After: w.position, Stream: w.stream, Revision: rev, Reason: reason}
}

// readStreamOneByOne reads up to n events of stream from revision from, one
// per call, and returns those that read before the first error, with that
// error.
func readStreamOneByOne(ctx context.Context, store Store, stream string, from uint64, n int) ([]Record, error) {
	var out []Record
	for rev := from; rev < from+uint64(n); rev++ {
		recs, err := store.ReadStream(ctx, stream, rev, 1)
		if err != nil {
			return out, err
		}
		if len(recs) == 0 {
			return out, nil
		}
		out = append(out, recs[0])
	}
	return out, nil
}
