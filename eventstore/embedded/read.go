package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/callledger/callledger/eventstore"
)

// Bounds of the read paths.
const (
	// subscribeBatchMax is how many events a subscription reads at a time.
	subscribeBatchMax = 512
	// ctxCheckEvery is how many events a read decodes between checks of ctx.
	ctxCheckEvery = 256
	// preallocMax caps the records slice a read allocates before it knows
	// how many events there are. A page of up to this many events (a
	// projection runner reads 2048) allocates its slice once instead of
	// growing it.
	preallocMax = 4096
)

// ReadStream returns up to limit events of stream from revision from; see
// eventstore.Store. It returns ErrStreamNotFound for a stream with no events.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, &streamReadError{stream: stream, err: err}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, &streamReadError{stream: stream, err: eventstore.ErrClosed}
	}
	recs, err := s.readStream(ctx, stream, from, limit)
	if err != nil {
		return nil, &streamReadError{stream: stream, err: err}
	}
	return recs, nil
}

// streamReadError is ReadStream's error, worded as
// fmt.Errorf("read stream %s: %w") would word it but built only when
// printed: a read of a stream that does not exist yet
// (eventstore.ErrStreamNotFound) starts every new call's write.
type streamReadError struct {
	stream string
	err    error
}

func (e *streamReadError) Error() string { return "read stream " + e.stream + ": " + e.err.Error() }

func (e *streamReadError) Unwrap() error { return e.err }

func (s *Store) readStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Record, error) {
	if len(stream) > eventstore.StreamIDBytesMax {
		return nil, eventstore.ErrStreamNotFound // no such stream can be written
	}
	var head [3 + eventstore.StreamIDBytesMax]byte // on the stack: the key is only hashed
	if !s.keys.mayContain(streamPrefix(head[:0], prefixHead, stream)) {
		return nil, eventstore.ErrStreamNotFound // never written: see keyFilter
	}
	prefix := streamPrefix(nil, prefixStream, stream)
	upper := append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00)
	index, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: binary.BigEndian.AppendUint64(prefix, from),
		UpperBound: upper,
	})
	if err != nil {
		return nil, fmt.Errorf("iterate over the stream index from revision %d: %w", from, pebbleError(err))
	}
	defer index.Close()
	events, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: []byte{prefixEvent},
		UpperBound: []byte{prefixEvent + 1},
	})
	if err != nil {
		return nil, fmt.Errorf("iterate over the events: %w", pebbleError(err))
	}
	defer events.Close()

	durable := s.head.Load().position
	var recs []eventstore.Record
	dec := plainDecoder()
	key := make([]byte, 0, eventKeyLen)
	// The loop stops at the limit before it moves on, so that a read does
	// not fail on a block of index keys after those it needs.
	for ok := index.First(); ok; ok = index.Next() {
		if len(recs)%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		// want is the revision the index key at hand should be of.
		want := from + uint64(len(recs))
		v, err := index.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("stream index at revision %d: %w", want, pebbleError(err))
		}
		pos, err := decodeIndexValue(index.Key(), v)
		if err != nil {
			return nil, err
		}
		if pos > durable {
			break // applied but not yet synced: not readable yet
		}
		key = eventKey(key[:0], pos)
		if !events.SeekGE(key) || string(events.Key()) != string(key) {
			if err := events.Error(); err != nil {
				return nil, fmt.Errorf("event at position %d, revision %d: %w", pos, want, pebbleError(err))
			}
			return nil, fmt.Errorf("stream index names position %d, which holds no event: %w", pos, ErrCorrupt)
		}
		ev, err := events.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("event at position %d, revision %d: %w", pos, want, pebbleError(err))
		}
		r, err := dec.decode(pos, ev)
		if err != nil {
			return nil, withOwner(s.db, err, ev)
		}
		// The index and the event must agree, and revisions have no gaps.
		if r.StreamID != stream || r.Revision != want {
			return nil, fmt.Errorf("stream index of %s at revision %d names position %d, which holds %s@%d: %w",
				stream, want, pos, r.StreamID, r.Revision, ErrCorrupt)
		}
		recs = append(recs, r)
		if limit > 0 && len(recs) == limit {
			break
		}
	}
	if err := index.Error(); err != nil {
		return nil, fmt.Errorf("stream index at revision %d: %w", from+uint64(len(recs)), pebbleError(err))
	}
	if len(recs) == 0 {
		exists, err := s.streamExists(stream, durable)
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, eventstore.ErrStreamNotFound
		}
	}
	return recs, nil
}

// streamExists reports whether stream's first event is durable, that is, at
// or before position durable.
func (s *Store) streamExists(stream string, durable uint64) (bool, error) {
	key := streamIndexKey(nil, stream, 0)
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stream index at revision 0: %w", pebbleError(err))
	}
	defer closer.Close()
	pos, err := decodeIndexValue(key, v)
	if err != nil {
		return false, err
	}
	return pos <= durable, nil
}

// ReadAll returns up to limit events after position after, in position
// order; see eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Record, error) {
	dec := plainDecoder()
	recs, err := s.readAllLocked(ctx, after, limit, &dec, nil)
	if err != nil {
		return nil, err
	}
	return recs, nil
}

var _ eventstore.PageReader = (*Store)(nil)

// ReadAllPage reads like ReadAll into page's reusable memory; see
// eventstore.PageReader.
func (s *Store) ReadAllPage(ctx context.Context, after eventstore.Position, limit int, page *eventstore.Page) error {
	page.Reset()
	dec := pageDecoder(page)
	recs, err := s.readAllLocked(ctx, after, limit, &dec, page.Records)
	if err != nil {
		clear(recs)
		recs = recs[:0]
	}
	page.Records = recs
	return err
}

// readAllLocked is ReadAll and ReadAllPage: it takes the store's lock and
// appends the records, decoded by dec, to recs.
func (s *Store) readAllLocked(ctx context.Context, after eventstore.Position, limit int, dec *decoder, recs []eventstore.Record) ([]eventstore.Record, error) {
	if err := ctx.Err(); err != nil {
		return recs, fmt.Errorf("read $all after %s: %w", after, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return recs, fmt.Errorf("read $all after %s: %w", after, eventstore.ErrClosed)
	}
	recs, err := s.readAll(ctx, after, limit, dec, recs)
	if err != nil {
		return recs, fmt.Errorf("read $all after %s: %w", after, err)
	}
	return recs, nil
}

// firstPositionAfter returns the sequence number of the first event after
// p, and false if there can be none. The embedded store's events are at
// Position{n, n}, which is after p when n > p.Commit, or n == p.Commit and
// n > p.Prepare.
func firstPositionAfter(p eventstore.Position) (uint64, bool) {
	if p.Prepare < p.Commit {
		return p.Commit, true
	}
	if p.Commit == ^uint64(0) {
		return 0, false
	}
	return p.Commit + 1, true
}

// readAll appends to recs up to limit events after position after, decoded
// by dec. On an error, recs holds what was read before it.
func (s *Store) readAll(ctx context.Context, after eventstore.Position, limit int, dec *decoder, recs []eventstore.Record) ([]eventstore.Record, error) {
	// Read only what is durable: see Store.head.
	durable := s.head.Load().position
	first, ok := firstPositionAfter(after)
	if !ok || first > durable {
		return recs, nil
	}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: eventKey(nil, first),
		UpperBound: eventKey(nil, durable+1),
	})
	if err != nil {
		return recs, fmt.Errorf("iterate over the events from position %d: %w", first, pebbleError(err))
	}
	defer it.Close()

	// Size the result from the log's end, so a large read allocates once.
	capacity := preallocMax
	if durable-first+1 < uint64(capacity) {
		capacity = int(durable - first + 1)
	}
	if limit > 0 && limit < capacity {
		capacity = limit
	}
	recs = slices.Grow(recs, capacity)
	// Positions are not checked for gaps here: a deleted event shows as a
	// break in both hash chains, which is what verify tools report, and
	// reading past it lets them name the first broken position.
	n := len(recs)
	// next is the position the iterator moves to: a move that fails names
	// it (the first position of a damaged block, as positions have no
	// gaps). The loop stops at the limit before it moves on, so that a read
	// does not fail on a block after the events it returns.
	next := first
	for ok := it.First(); ok; ok = it.Next() {
		if (len(recs)-n)%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return recs, err
			}
		}
		pos, err := parseEventKey(it.Key())
		if err != nil {
			return recs, err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return recs, fmt.Errorf("event at position %d: %w", pos, pebbleError(err))
		}
		r, err := dec.decode(pos, v)
		if err != nil {
			return recs, withOwner(s.db, err, v)
		}
		recs = append(recs, r)
		next = pos + 1
		if limit > 0 && len(recs)-n == limit {
			break
		}
	}
	if err := it.Error(); err != nil {
		return recs, fmt.Errorf("event at position %d: %w", next, pebbleError(err))
	}
	return recs, nil
}

// SubscribeAll yields every event after position after, first those stored,
// then each as it commits; see eventstore.Store. It reads in batches of at
// most subscribeBatchMax events, and while caught up waits for the syncer's
// notification of the next synced batch, taken before each read so that no
// commit between the read and the wait goes unnoticed. A Close ends it with
// ErrClosed.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Record, error] {
	return func(yield func(eventstore.Record, error) bool) {
		last := after
		for {
			notify := s.CommitNotify()
			recs, err := s.ReadAll(ctx, last, subscribeBatchMax)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				yield(eventstore.Record{}, fmt.Errorf("subscribe to $all: %w", err))
				return
			}
			for _, r := range recs {
				if !yield(r, nil) {
					return
				}
				last = r.Position
			}
			if len(recs) == subscribeBatchMax {
				continue // more may be stored already
			}
			select {
			case <-ctx.Done():
				return
			case <-s.closedCh:
				yield(eventstore.Record{}, fmt.Errorf("subscribe to $all: %w", eventstore.ErrClosed))
				return
			case <-notify:
			}
		}
	}
}
