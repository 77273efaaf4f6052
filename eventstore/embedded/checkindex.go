package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/callledger/callledger/eventstore"
)

// The index check proves, in one Pebble snapshot and with memory that does
// not grow with the log, that every key but the events ('S', 'H', 'I' and
// "Mhead") is exactly what the events ('E') make; checkMetaHead,
// checkEvents, checkStreams and checkIDs are its steps, in that order. The
// package doc ("The index check", doc.go) describes what each step checks
// and why together they leave no key unaccounted for.

// metaHeadKeyName names "Mhead" in a problem (eventstore.Problem.Key).
const metaHeadKeyName = `head key "Mhead"`

// eventKeyName names the event key of position pos in a problem.
func eventKeyName(pos uint64) string { return fmt.Sprintf("event key 'E' (position %d)", pos) }

// streamIndexKeyName names the stream index key of stream's revision rev in
// a problem.
func streamIndexKeyName(stream []byte, rev uint64) string {
	return fmt.Sprintf("stream index key 'S' (stream %s, revision %d)", stream, rev)
}

// headKeyName names the head key of stream in a problem.
func headKeyName(stream []byte) string { return fmt.Sprintf("stream head key 'H' (stream %s)", stream) }

// idKeyName names the id index key of event id in a problem.
func idKeyName(id uuid.UUID) string { return fmt.Sprintf("id index key 'I' (event %s)", id) }

// CheckIndex checks the store's index keys against its events, in one
// snapshot of the store; see eventstore.IndexChecker and the package doc.
// A key or value that does not decode is a Problem whose Err wraps
// ErrCorrupt. progress, told after every eventstore.ReadBatchEvents events
// checked, counts the events once. Close waits for a check in progress,
// which then ends with ErrClosed.
func (s *Store) CheckIndex(ctx context.Context, progress eventstore.Progress) (*eventstore.Problem, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("check index: %w", err)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, fmt.Errorf("check index: %w", eventstore.ErrClosed)
	}
	s.checks.Add(1) // Close waits for it before it closes db
	defer s.checks.Done()
	snap := s.db.NewSnapshot()
	s.mu.RUnlock()
	defer snap.Close()

	c := &indexCheck{ctx: ctx, snap: snap, closed: s.closedCh, progress: progress, wantIDs: newSetDigest(randomDigestKey())}
	for _, step := range []func() (*eventstore.Problem, error){c.checkMetaHead, c.checkEvents, c.checkStreams, c.checkIDs} {
		p, err := step()
		if err != nil {
			return nil, fmt.Errorf("check index: %w", err)
		}
		if p != nil {
			return p, nil
		}
	}
	return nil, nil
}

var _ eventstore.IndexChecker = (*Store)(nil)

// indexCheck is one run of CheckIndex.
type indexCheck struct {
	ctx      context.Context
	snap     *pebble.Snapshot
	closed   <-chan struct{} // the store's closedCh
	progress eventstore.Progress

	// total is the number of events "Mhead" gives; events and streamKeys
	// count the events and the stream index keys checked.
	total      uint64
	events     uint64
	streamKeys uint64
	// headProblem is the first stream head that disagrees with the pass
	// over the events, reported once that pass ends without another.
	headProblem *eventstore.Problem
	// wantIDs is the digest of the id keys, and their values, that the
	// events make.
	wantIDs *setDigest

	steps int          // keys visited, to poll ctx and Close
	key   []byte       // scratch for keys
	value []byte       // the value of the last get
	rec   recordFields // the event of the last eventAt
}

// tick is called for every key visited; every ctxCheckEvery keys it
// returns ctx's error, or ErrClosed once the store is closing.
func (c *indexCheck) tick() error {
	if c.steps++; c.steps%ctxCheckEvery != 0 {
		return nil
	}
	if err := c.ctx.Err(); err != nil {
		return err
	}
	select {
	case <-c.closed:
		return eventstore.ErrClosed
	default:
		return nil
	}
}

// iter returns an iterator over the snapshot's keys that start with prefix.
func (c *indexCheck) iter(prefix byte) (*pebble.Iterator, error) {
	it, err := c.snap.NewIterWithContext(c.ctx, &pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		return nil, fmt.Errorf("iterate over the %q keys: %w", prefix, pebbleError(err))
	}
	return it, nil
}

// streamIters returns iterators over the stream index keys and over the
// stream head keys; the caller closes both.
func (c *indexCheck) streamIters() (index, heads *pebble.Iterator, err error) {
	if index, err = c.iter(prefixStream); err != nil {
		return nil, nil, err
	}
	if heads, err = c.iter(prefixHead); err != nil {
		return nil, nil, errors.Join(err, index.Close())
	}
	return index, heads, nil
}

// get reads key from the snapshot into c.value; found is false when there
// is no such key.
func (c *indexCheck) get(key []byte) (found bool, err error) {
	v, closer, err := c.snap.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read key %x: %w", key, pebbleError(err))
	}
	c.value = append(c.value[:0], v...)
	return true, closer.Close()
}

// eventAt reads the event at pos into c.rec; found is false when there is
// none, and p is set when it does not decode.
func (c *indexCheck) eventAt(pos uint64) (found bool, p *eventstore.Problem, err error) {
	c.key = eventKey(c.key[:0], pos)
	if found, err = c.get(c.key); !found || err != nil {
		return false, nil, err
	}
	if err := parseRecord(pos, c.value, &c.rec); err != nil {
		return true, c.unreadableEvent(pos, err, c.value), nil
	}
	return true, nil, nil
}

// unreadableEvent is the problem of the event at pos, whose record value v
// does not decode with err, naming its stream and revision when an index
// key of the snapshot confirms them (see withOwner). Verify reports it
// before the index check runs.
func (c *indexCheck) unreadableEvent(pos uint64, err error, v []byte) *eventstore.Problem {
	err = withOwner(c.snap, err, v)
	return &eventstore.Problem{Key: eventKeyName(pos),
		Position: position(pos), Reason: fmt.Sprintf("cannot read the event: %v", err), Err: err}
}

// badEventKey is the problem of an 'E' key that is not 'E' ++ position,
// which parseEventKey refused with err.
func badEventKey(key []byte, err error) *eventstore.Problem {
	return &eventstore.Problem{Key: fmt.Sprintf("event key %x", key), Reason: "not 'E' ++ position", Err: err}
}

// position is the embedded store's Position of sequence number pos.
func position(pos uint64) eventstore.Position { return eventstore.Position{Commit: pos, Prepare: pos} }

// checkMetaHead compares "Mhead" with the last event, and sets c.total.
func (c *indexCheck) checkMetaHead() (*eventstore.Problem, error) {
	it, err := c.iter(prefixEvent)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var last uint64
	var lastAllHash eventstore.Hash
	if it.Last() {
		if last, err = parseEventKey(it.Key()); err != nil {
			return badEventKey(it.Key(), err), nil
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("read the last event: %w", pebbleError(err))
		}
		var f recordFields
		if err := parseRecord(last, v, &f); err != nil {
			return c.unreadableEvent(last, err, v), nil
		}
		lastAllHash = f.allHash
	} else if err := it.Error(); err != nil {
		return nil, fmt.Errorf("find the last event: %w", pebbleError(err))
	}

	lastEvent := fmt.Sprintf("the last event is at position %d with $all hash %s", last, lastAllHash)
	if last == 0 {
		lastEvent = "the store holds no event"
	}
	problem := func(reason string, err error) *eventstore.Problem {
		return &eventstore.Problem{Key: metaHeadKeyName, Position: position(last), Reason: reason, Err: err}
	}
	found, err := c.get([]byte(keyHead))
	switch {
	case err != nil:
		return nil, err
	case !found && last == 0:
		return nil, nil // an empty store
	case !found:
		return problem("missing, and "+lastEvent, nil), nil
	}
	pos, allHash, err := decodeMetaHead(c.value)
	if err != nil {
		return problem(fmt.Sprintf("holds %d bytes, not a position and a hash", len(c.value)), err), nil
	}
	if pos != last || allHash != lastAllHash {
		return problem(fmt.Sprintf("names position %d with $all hash %s, but %s", pos, allHash, lastEvent), nil), nil
	}
	c.total = pos
	return nil, nil
}

// checkEvents checks every event's stream index key, and the head of every
// stream at the event its stream index ends with, and adds the id key each
// event should have to c.wantIDs.
func (c *indexCheck) checkEvents() (*eventstore.Problem, error) {
	// An iterator for each kind of key looked up: seeks are cheaper than
	// Gets.
	index, heads, err := c.streamIters()
	if err != nil {
		return nil, err
	}
	defer index.Close()
	defer heads.Close()

	p, err := c.eachEvent(func(pos uint64, f *recordFields) (*eventstore.Problem, error) {
		if p, err := c.checkEventIndex(index, heads, pos, f); err != nil || p != nil {
			return p, err
		}
		c.key = idKey(c.key[:0], f.id)
		c.key = appendIDValue(c.key, pos, f.revision, f.stream)
		c.wantIDs.add(c.key)
		if c.events++; c.events%eventstore.ReadBatchEvents == 0 && c.progress != nil {
			c.progress(c.events, c.total)
		}
		return nil, nil
	})
	if err != nil || p != nil {
		return p, err
	}
	if c.progress != nil {
		c.progress(c.events, c.total)
	}
	return c.headProblem, nil
}

// eachEvent calls check with every event of the snapshot, in position
// order, until it returns a problem or an error.
func (c *indexCheck) eachEvent(check func(pos uint64, f *recordFields) (*eventstore.Problem, error)) (*eventstore.Problem, error) {
	events, err := c.iter(prefixEvent)
	if err != nil {
		return nil, err
	}
	defer events.Close()
	var f recordFields
	var last uint64 // the position of the last event read
	for ok := events.First(); ok; ok = events.Next() {
		if err := c.tick(); err != nil {
			return nil, err
		}
		pos, err := parseEventKey(events.Key())
		if err != nil {
			return badEventKey(events.Key(), err), nil
		}
		v, err := events.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("read the event at position %d: %w", pos, pebbleError(err))
		}
		if err := parseRecord(pos, v, &f); err != nil {
			return c.unreadableEvent(pos, err, v), nil
		}
		if p, err := check(pos, &f); err != nil || p != nil {
			return p, err
		}
		last = pos
	}
	if err := events.Error(); err != nil {
		return nil, fmt.Errorf("read the event after position %d: %w", last, pebbleError(err))
	}
	return nil, nil
}

// seek positions it at key and returns key's value; found is false when
// there is no such key.
func seek(it *pebble.Iterator, key []byte) (v []byte, found bool, err error) {
	if !it.SeekGE(key) || !bytes.Equal(it.Key(), key) {
		if err := it.Error(); err != nil {
			return nil, false, fmt.Errorf("seek key %x: %w", key, pebbleError(err))
		}
		return nil, false, nil
	}
	if v, err = it.ValueAndErr(); err != nil {
		return nil, false, fmt.Errorf("read key %x: %w", key, pebbleError(err))
	}
	return v, true, nil
}

// checkEventIndex checks the stream index key of f, the event at pos, in
// index; if it is the stream's last index key, it checks the stream's head
// in heads too.
func (c *indexCheck) checkEventIndex(index, heads *pebble.Iterator, pos uint64, f *recordFields) (*eventstore.Problem, error) {
	problem := func(reason string, err error) *eventstore.Problem {
		return &eventstore.Problem{Key: streamIndexKeyName(f.stream, f.revision), Position: position(pos),
			Stream: string(f.stream), Revision: f.revision, Reason: reason, Err: err}
	}
	c.key = streamIndexKey(c.key[:0], f.stream, f.revision)
	v, found, err := seek(index, c.key)
	switch {
	case err != nil:
		return nil, err
	case !found:
		return problem(fmt.Sprintf("missing: the event at position %d has no stream index key", pos), nil), nil
	}
	switch named, err := decodeIndexValue(c.key, v); {
	case err != nil:
		return problem(fmt.Sprintf("holds %d bytes, not a position", len(v)), err), nil
	case named != pos:
		return problem(fmt.Sprintf("names position %d, but the event is at position %d", named, pos), nil), nil
	}
	binary.BigEndian.PutUint64(c.key[len(c.key)-8:], f.revision+1)
	if index.Next() && bytes.Equal(index.Key(), c.key) {
		return nil, nil // not the last
	}
	if err := index.Error(); err != nil {
		return nil, fmt.Errorf("read the stream index: %w", pebbleError(err))
	}
	if c.headProblem == nil {
		c.headProblem, err = c.checkHead(heads, pos, f)
	}
	return nil, err
}

// checkHead checks the head of f's stream against f, the event at pos at
// which the stream index of the stream ends.
func (c *indexCheck) checkHead(heads *pebble.Iterator, pos uint64, f *recordFields) (*eventstore.Problem, error) {
	last := func() string { // built for a problem only: this runs once a stream
		return fmt.Sprintf("the stream index ends at revision %d, the event at position %d with hash %s", f.revision, pos, f.hash)
	}
	problem := func(reason string, err error) *eventstore.Problem {
		return &eventstore.Problem{Key: headKeyName(f.stream), Position: position(pos),
			Stream: string(f.stream), Revision: f.revision, Reason: reason, Err: err}
	}
	c.key = streamPrefix(c.key[:0], prefixHead, f.stream)
	v, found, err := seek(heads, c.key)
	switch {
	case err != nil:
		return nil, err
	case !found:
		return problem("missing, and "+last(), nil), nil
	}
	h, err := decodeHead(f.stream, v)
	if err != nil {
		return problem(fmt.Sprintf("holds %d bytes, not a revision and a hash", len(v)), err), nil
	}
	if h.revision != f.revision || h.hash != f.hash {
		return problem(fmt.Sprintf("says revision %d with hash %s, but %s", h.revision, h.hash, last()), nil), nil
	}
	return nil, nil
}

// checkEventID checks the id key of f, the event at pos, positioning ids
// at it.
func (c *indexCheck) checkEventID(ids *pebble.Iterator, pos uint64, f *recordFields) (*eventstore.Problem, error) {
	event := func() string { // built for a problem only: this runs once an event
		return fmt.Sprintf("position %d (stream %s, revision %d)", pos, f.stream, f.revision)
	}
	problem := func(reason string, err error) *eventstore.Problem {
		return &eventstore.Problem{Key: idKeyName(f.id), Position: position(pos),
			Stream: string(f.stream), Revision: f.revision, Reason: reason, Err: err}
	}
	c.key = idKey(c.key[:0], f.id)
	v, found, err := seek(ids, c.key)
	switch {
	case err != nil:
		return nil, err
	case !found:
		return problem("missing: the event at "+event()+" has no id index key", nil), nil
	}
	loc, err := decodeIDValue(f.id, v)
	if err != nil {
		return problem(fmt.Sprintf("holds %d bytes, not a location", len(v)), err), nil
	}
	if loc.position != pos || loc.revision != f.revision || loc.stream != string(f.stream) {
		return problem(fmt.Sprintf("names position %d (stream %s, revision %d), but the event is at %s",
			loc.position, loc.stream, loc.revision, event()), nil), nil
	}
	return nil, nil
}

// checkStreams walks the stream index keys beside the head keys, and
// looks for a stray index key if there are more of them than events.
func (c *indexCheck) checkStreams() (*eventstore.Problem, error) {
	index, heads, err := c.streamIters()
	if err != nil {
		return nil, err
	}
	defer index.Close()
	defer heads.Close()

	var (
		started bool   // whether a key was walked
		stream  []byte // of the keys being walked
		next    uint64 // the revision the next key of stream must have
		head    streamHead
		headsOK = heads.First()
	)
	for ok := index.First(); ok; ok = index.Next() {
		if err := c.tick(); err != nil {
			return nil, err
		}
		key := index.Key()
		s, rev, err := parseStreamIndexKey(key)
		if err != nil {
			return &eventstore.Problem{Key: fmt.Sprintf("stream index key %x", key), Reason: "not 'S' ++ length ++ stream ++ revision", Err: err}, nil
		}
		problem := func(reason string, err error) *eventstore.Problem {
			return &eventstore.Problem{Key: streamIndexKeyName(s, rev), Stream: string(s), Revision: rev, Reason: reason, Err: err}
		}
		c.streamKeys++
		if !started || !bytes.Equal(s, stream) {
			if started {
				if p := endOfStream(stream, next-1, head); p != nil {
					return p, nil
				}
			}
			started, stream, next = true, append(stream[:0], s...), 0
			// The heads sort by stream as the index does: a head before
			// this stream has no index keys.
			p, err := c.strayHead(heads, headsOK, key[1:len(key)-8])
			if err != nil || p != nil {
				return p, err
			}
			if !headsOK || !bytes.Equal(heads.Key()[1:], key[1:len(key)-8]) {
				return problem("the stream has no head key", nil), nil
			}
			v, err := heads.ValueAndErr()
			if err != nil {
				return nil, fmt.Errorf("read the stream heads: %w", pebbleError(err))
			}
			if head, err = decodeHead(s, v); err != nil {
				return &eventstore.Problem{Key: headKeyName(s), Stream: string(s),
					Reason: fmt.Sprintf("holds %d bytes, not a revision and a hash", len(v)), Err: err}, nil
			}
			headsOK = heads.Next()
		}
		switch {
		case rev != next && next == 0:
			return problem("the stream index has no revision 0 of the stream, so no event has this revision", nil), nil
		case rev != next:
			return problem(fmt.Sprintf("the stream index skips from revision %d to this one, so no event has it", next-1), nil), nil
		case rev > head.revision:
			return problem(fmt.Sprintf("past the stream's head: its head key says revision %d is its last", head.revision), nil), nil
		}
		next++
	}
	if err := index.Error(); err != nil {
		return nil, fmt.Errorf("read the stream index: %w", pebbleError(err))
	}
	if started {
		if p := endOfStream(stream, next-1, head); p != nil {
			return p, nil
		}
	}
	if p, err := c.strayHead(heads, headsOK, nil); err != nil || p != nil {
		return p, err
	}
	if err := heads.Error(); err != nil {
		return nil, fmt.Errorf("read the stream heads: %w", pebbleError(err))
	}
	if c.streamKeys == c.events {
		return nil, nil
	}
	return c.findStray(index, "stream index", c.streamKeys, c.checkIndexKey)
}

// endOfStream is the problem of a stream whose index keys end at revision
// last while its head says another (a head past the index; one before it
// is reported at the key past it), or nil.
func endOfStream(stream []byte, last uint64, head streamHead) *eventstore.Problem {
	if last == head.revision {
		return nil
	}
	return &eventstore.Problem{Key: headKeyName(stream), Stream: string(stream), Revision: head.revision,
		Reason: fmt.Sprintf("says revision %d is the stream's last, but the stream index ends at revision %d", head.revision, last)}
}

// strayHead is the problem of the head key at heads, if headsOK, when it
// sorts before the stream index keys that start with before (len ++
// stream), or when before is nil: its stream has no index keys.
func (c *indexCheck) strayHead(heads *pebble.Iterator, headsOK bool, before []byte) (*eventstore.Problem, error) {
	if !headsOK {
		if err := heads.Error(); err != nil {
			return nil, fmt.Errorf("read the stream heads: %w", pebbleError(err))
		}
		return nil, nil
	}
	key := heads.Key()
	s, err := parseHeadKey(key)
	if err != nil {
		return &eventstore.Problem{Key: fmt.Sprintf("stream head key %x", key), Reason: "not 'H' ++ length ++ stream", Err: err}, nil
	}
	if before != nil && bytes.Compare(key[1:], before) >= 0 {
		return nil, nil
	}
	return &eventstore.Problem{Key: headKeyName(s), Stream: string(s),
		Reason: "the stream has no stream index key, so no event"}, nil
}

// checkIndexKey checks the stream index key key, whose value is v, against
// the event it names.
func (c *indexCheck) checkIndexKey(key, v []byte) (*eventstore.Problem, error) {
	s, rev, _ := parseStreamIndexKey(key) // checkStreams parsed every key
	problem := func(reason string, err error) *eventstore.Problem {
		return &eventstore.Problem{Key: streamIndexKeyName(s, rev), Stream: string(s), Revision: rev, Reason: reason, Err: err}
	}
	pos, err := decodeIndexValue(key, v)
	if err != nil {
		return problem(fmt.Sprintf("holds %d bytes, not a position", len(v)), err), nil
	}
	found, p, err := c.eventAt(pos)
	switch {
	case err != nil || p != nil:
		return p, err
	case !found:
		return problem(fmt.Sprintf("names position %d, which holds no event", pos), nil), nil
	case !bytes.Equal(c.rec.stream, s) || c.rec.revision != rev:
		return problem(fmt.Sprintf("names position %d, which holds revision %d of stream %s", pos, c.rec.revision, c.rec.stream), nil), nil
	}
	return nil, nil
}

// checkIDs compares the id keys with those the events should have, as
// two sets: seeking every event's id key (random ids, a random seek each)
// would take several times as long as the rest of the check. Only when
// the sets differ does it look for the key at fault, event by event, then
// key by key.
func (c *indexCheck) checkIDs() (*eventstore.Problem, error) {
	ids, err := c.iter(prefixID)
	if err != nil {
		return nil, err
	}
	defer ids.Close()
	stored := newSetDigest(c.wantIDs.key)
	for ok := ids.First(); ok; ok = ids.Next() {
		if err := c.tick(); err != nil {
			return nil, err
		}
		if len(ids.Key()) != idKeyLen {
			return &eventstore.Problem{Key: fmt.Sprintf("id index key %x", ids.Key()), Reason: "not 'I' ++ event id",
				Err: fmt.Errorf("id index key %x: %w", ids.Key(), ErrCorrupt)}, nil
		}
		v, err := ids.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("read the id index: %w", pebbleError(err))
		}
		c.key = append(append(c.key[:0], ids.Key()...), v...)
		stored.add(c.key)
	}
	if err := ids.Error(); err != nil {
		return nil, fmt.Errorf("read the id index: %w", pebbleError(err))
	}
	if stored.equal(c.wantIDs) {
		return nil, nil
	}
	p, err := c.eachEvent(func(pos uint64, f *recordFields) (*eventstore.Problem, error) {
		return c.checkEventID(ids, pos, f)
	})
	if err != nil || p != nil {
		return p, err
	}
	return c.findStray(ids, "id index", stored.n, c.checkIDKey)
}

// checkIDKey checks the id key key, whose value is v, against the event it
// names.
func (c *indexCheck) checkIDKey(key, v []byte) (*eventstore.Problem, error) {
	id := uuid.UUID(key[1:]) // checkIDs checked its length
	problem := func(reason string, err error) *eventstore.Problem {
		return &eventstore.Problem{Key: idKeyName(id), Reason: reason, Err: err}
	}
	loc, err := decodeIDValue(id, v)
	if err != nil {
		return problem(fmt.Sprintf("holds %d bytes, not a location", len(v)), err), nil
	}
	named := fmt.Sprintf("names position %d (stream %s, revision %d)", loc.position, loc.stream, loc.revision)
	found, p, err := c.eventAt(loc.position)
	switch {
	case err != nil || p != nil:
		return p, err
	case !found:
		return problem(named+", which holds no event", nil), nil
	case c.rec.id != id || string(c.rec.stream) != loc.stream || c.rec.revision != loc.revision:
		return problem(fmt.Sprintf("%s, which holds event %s (stream %s, revision %d)", named, c.rec.id, c.rec.stream, c.rec.revision), nil), nil
	}
	return nil, nil
}

// findStray walks the keys of it, n of them (what names the index), for
// the first whose event, looked up by check, disagrees: there are more
// keys than events, and every event has its own key.
func (c *indexCheck) findStray(it *pebble.Iterator, what string, n uint64, check func(key, v []byte) (*eventstore.Problem, error)) (*eventstore.Problem, error) {
	for ok := it.First(); ok; ok = it.Next() {
		if err := c.tick(); err != nil {
			return nil, err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("read the %s: %w", what, pebbleError(err))
		}
		if p, err := check(it.Key(), v); err != nil || p != nil {
			return p, err
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("read the %s: %w", what, pebbleError(err))
	}
	// Not reached while events' keys are distinct: the count is all we know.
	return &eventstore.Problem{Key: "the " + what, Reason: fmt.Sprintf("holds %d keys for %d events", n, c.events)}, nil
}
