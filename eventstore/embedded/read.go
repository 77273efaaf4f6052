package embedded

import (
	"bytes"
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
	events := eventSeeker{db: s.db, ctx: ctx}
	defer events.close()

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
		ev, found, err := events.value(pos, key)
		if err != nil {
			return nil, fmt.Errorf("event at position %d, revision %d: %w", pos, want, pebbleError(err))
		}
		if !found {
			return nil, fmt.Errorf("stream index names position %d, which holds no event: %w", pos, ErrCorrupt)
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

// eventSeeker reads the events of a stream one position at a time, for
// readStream, with one iterator over the events that each read seeks.
// Pebble positions a seek in every table whose keys overlap the key, not
// only in the table that holds it: a table of later events that is damaged
// where the seek lands in it (its first data block, its index, its footer)
// fails the seek of an event of an older table (see readAll). Then the
// seeker reads the events before that table's first with a second iterator
// whose upper bound keeps Pebble out of it, and the events from it on as
// before.
type eventSeeker struct {
	db  *pebble.DB
	ctx context.Context
	// all iterates over every event; nil until the first read.
	all *pebble.Iterator
	// below iterates over the events before position belowEnd, the first
	// event of a damaged table; nil until a seek of all found one.
	below    *pebble.Iterator
	belowEnd uint64
}

// value returns the value of the event at pos, whose key is key, valid
// until the next call; found is false when there is no such event. An
// error keeps Pebble's: callers pass it to pebbleError.
func (e *eventSeeker) value(pos uint64, key []byte) (v []byte, found bool, err error) {
	if e.all == nil {
		if e.all, err = e.iter([]byte{prefixEvent + 1}); err != nil {
			return nil, false, err
		}
	}
	// Each new damaged table found has a lower first event than the one
	// before: there are at most as many seeks as damaged tables.
	for {
		it := e.all
		if e.below != nil && pos < e.belowEnd {
			it = e.below
		}
		if it.SeekGE(key) && bytes.Equal(it.Key(), key) {
			v, err := it.ValueAndErr()
			return v, true, err
		}
		err := it.Error()
		if err == nil {
			return nil, false, nil
		}
		start, ok := damagedTableStart(err, pos)
		if !ok || (e.below != nil && start >= e.belowEnd) {
			return nil, false, err
		}
		below, ierr := e.iter(eventKey(nil, start))
		if ierr != nil {
			return nil, false, ierr
		}
		if e.below != nil {
			e.below.Close()
		}
		e.below, e.belowEnd = below, start
	}
}

// iter returns an iterator over the events before the key upper.
func (e *eventSeeker) iter(upper []byte) (*pebble.Iterator, error) {
	return e.db.NewIterWithContext(e.ctx, &pebble.IterOptions{
		LowerBound: []byte{prefixEvent},
		UpperBound: upper,
	})
}

// close closes the seeker's iterators.
func (e *eventSeeker) close() {
	if e.all != nil {
		e.all.Close()
	}
	if e.below != nil {
		e.below.Close()
	}
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
//
// Pebble positions an iterator in every table whose keys overlap its
// range, not only in the table that holds the first event: a table of
// later events that is damaged where the iterator starts in it (its first
// data block, its index, its footer) fails the move that positions the
// iterator, though no event read so far is in it. Such a table is written
// by a flush of the memtable, and holds the events after those of the
// older tables (and index keys, which make its range overlap theirs). When
// a move fails naming a damaged table whose first key is an event after
// the one the read is at, readAll reads again up to that event (an upper
// bound keeps Pebble out of the table), so the events before it are read
// as they were, and reports the damage at the table's first event, the
// first one it cannot read. Each read again has a lower upper bound, so
// there are at most as many as damaged tables.
func (s *Store) readAll(ctx context.Context, after eventstore.Position, limit int, dec *decoder, recs []eventstore.Record) ([]eventstore.Record, error) {
	// Read only what is durable: see Store.head.
	durable := s.head.Load().position
	first, ok := firstPositionAfter(after)
	if !ok || first > durable {
		return recs, nil
	}
	n := len(recs)
	upper := durable + 1
	// A read of the tail of the log (a live follower's) is served from the
	// values the committer wrote last, when it holds them all: see tailRing.
	want := upper
	if limit > 0 && uint64(limit) < upper-first {
		want = first + uint64(limit)
	}
	if recs, served, err := s.tail.read(ctx, first, want, n, dec, recs); served || err != nil {
		return recs, err
	}
	// damage is the error of a damaged table whose first event is at upper,
	// as the moveError that found it wrapped Pebble's, nil while upper is
	// past the durable end.
	var damage error
	for {
		remaining := 0 // no limit
		if limit > 0 {
			remaining = limit - (len(recs) - n)
		}
		var next uint64
		var err error
		recs, next, err = s.readEvents(ctx, first, upper, remaining, n, dec, recs)
		if err == nil {
			// A read that stopped at the damaged table before its limit
			// needs the table's events next.
			if damage != nil && (limit == 0 || len(recs)-n < limit) {
				return recs, fmt.Errorf("event at position %d: %w", upper, damage)
			}
			return recs, nil
		}
		var moved *moveError
		if !errors.As(err, &moved) {
			return recs, err
		}
		start, ok := damagedTableStart(moved.err, next)
		if !ok || start >= upper {
			return recs, err
		}
		upper, damage, first = start, moved.wrapped, next
	}
}

// damagedTableStart returns the position of the first event of the table
// that err, the error of a move of an iterator over the events at position
// next, reports damaged, if the table's first key is an event after next:
// the events before it can be read without it.
func damagedTableStart(err error, next uint64) (uint64, bool) {
	info := pebble.ExtractDataCorruptionInfo(err)
	if info == nil {
		return 0, false
	}
	start, perr := parseEventKey(info.Bounds.Start)
	if perr != nil || start <= next {
		return 0, false
	}
	return start, true
}

// readEvents appends to recs up to limit events (0: no limit) from
// position first to before upper, decoded by dec; n is the length recs had
// when the caller's read began, from which it checks ctx every
// ctxCheckEvery events. It returns the position of the event after the last
// it read (first if none), and on an error recs holds what was read before
// it; a failed move of the iterator is reported at that position, and its
// error keeps Pebble's (see damagedTableStart).
func (s *Store) readEvents(ctx context.Context, first, upper uint64, limit, n int, dec *decoder, recs []eventstore.Record) ([]eventstore.Record, uint64, error) {
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: eventKey(nil, first),
		UpperBound: eventKey(nil, upper),
	})
	if err != nil {
		return recs, first, fmt.Errorf("iterate over the events from position %d: %w", first, pebbleError(err))
	}
	defer it.Close()

	// Size the result from the log's end, so a large read allocates once.
	capacity := preallocMax
	if upper-first < uint64(capacity) {
		capacity = int(upper - first)
	}
	if limit > 0 && limit < capacity {
		capacity = limit
	}
	recs = slices.Grow(recs, capacity)
	// Positions are not checked for gaps here: a deleted event shows as a
	// break in both hash chains, which is what verify tools report, and
	// reading past it lets them name the first broken position.
	m := len(recs)
	// next is the position the iterator moves to: a move that fails names
	// it, as positions have no gaps, when the damage is in the table that
	// holds it (a damaged block of it, or of a later table that Pebble
	// positioned in, is the first one the read needs there; see readAll
	// for a later table whose first block is damaged). The loop stops at
	// the limit before it moves on, so that a read does not fail on a block
	// after the events it returns.
	next := first
	for ok := it.First(); ok; ok = it.Next() {
		pos, err := parseEventKey(it.Key())
		var v []byte
		if err == nil {
			if v, err = it.ValueAndErr(); err != nil {
				err = fmt.Errorf("event at position %d: %w", pos, pebbleError(err))
			}
		}
		var bad bool
		if recs, bad, err = readRecord(ctx, n, dec, recs, pos, v, err); err != nil {
			if bad {
				err = withOwner(s.db, err, v)
			}
			return recs, next, err
		}
		next = pos + 1
		if limit > 0 && len(recs)-m == limit {
			break
		}
	}
	if err := it.Error(); err != nil {
		return recs, next, &moveError{pos: next, err: err, wrapped: pebbleError(err)}
	}
	return recs, next, nil
}

// readRecord is the step of a read of $all for each record, one function
// for readEvents and tailRing.read so that the two cannot drift. Before
// every ctxCheckEvery-th record, counted from n (the length recs had when
// the caller's read began), it checks ctx and returns its error. Then it
// returns verr, the caller's error of reading the record's key or value,
// if any: readEvents reads them before the step, and ctx's error comes
// first. Otherwise it appends to recs the record dec decodes from v, the
// value stored at pos; a value that does not decode returns decode's error
// with bad true, and recs as it came.
func readRecord(ctx context.Context, n int, dec *decoder, recs []eventstore.Record, pos uint64, v []byte, verr error) (out []eventstore.Record, bad bool, err error) {
	if (len(recs)-n)%ctxCheckEvery == 0 {
		if err := ctx.Err(); err != nil {
			return recs, false, err
		}
	}
	if verr != nil {
		return recs, false, verr
	}
	r, err := dec.decode(pos, v)
	if err != nil {
		return recs, true, err
	}
	return append(recs, r), false, nil
}

// moveError is the error of a move of an iterator over the events that
// failed at position pos. It keeps Pebble's error err for readAll, which
// may read again without the damaged table it names, and pebbleError's
// of err, wrapped, made once with the moveError (not on every errors.Is or
// errors.As walk), which it prints and unwraps to, and which readAll
// reports when it reads again up to that table.
type moveError struct {
	pos     uint64
	err     error
	wrapped error
}

func (e *moveError) Error() string {
	return fmt.Sprintf("event at position %d: %v", e.pos, e.wrapped)
}

// Unwrap makes errors.Is(err, ErrCorrupt) true for damage Pebble found.
func (e *moveError) Unwrap() error { return e.wrapped }

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
