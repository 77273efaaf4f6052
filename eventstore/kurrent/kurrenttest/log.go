package kurrenttest

import (
	"bytes"
	"cmp"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Limits of the in-memory log, as on a default KurrentDB node.
const (
	// appendBytesMax is KurrentDB's default MaxAppendSize: the largest total
	// of data, custom metadata and twice the type's length one append may
	// carry.
	appendBytesMax = 1 << 20
	// recordHeaderBytes is the fixed size the log charges each record, so that
	// positions are byte offsets, as on a real node, and never consecutive.
	recordHeaderBytes = 96
	// firstUserOffset is where the seeded system records end: a real node
	// writes its own events before any client's.
	firstUserOffset = 4096
)

// record is one event as the log holds it.
type record struct {
	stream   string
	revision uint64
	id       uuid.UUID
	typ      string
	content  string
	data     []byte
	custom   []byte
	created  int64 // .NET ticks (100 ns) since the Unix epoch, as KurrentDB sends them
	commit   uint64
	prepare  uint64
}

// position returns the record's place in $all.
func (r *record) position() pos { return pos{commit: r.commit, prepare: r.prepare} }

// metadata returns the system metadata KurrentDB sends with every recorded
// event. The client parses "created" with log.Fatalf on failure, so it is
// always set.
func (r *record) metadata() map[string]string {
	return map[string]string{
		"type":         r.typ,
		"content-type": r.content,
		"created":      strconv.FormatInt(r.created, 10),
	}
}

// pos is a commit/prepare position of the transaction log.
type pos struct{ commit, prepare uint64 }

func (p pos) compare(q pos) int {
	if c := cmp.Compare(p.commit, q.commit); c != 0 {
		return c
	}
	return cmp.Compare(p.prepare, q.prepare)
}

// proposed is an event an append proposes.
type proposed struct {
	id      uuid.UUID
	typ     string
	content string
	data    []byte
	custom  []byte
}

// expectation is an append's expected stream state, as on the wire:
// revision -1 stands for "no stream", as in KurrentDB's own code.
type expectation struct {
	kind     expectKind
	revision uint64
}

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectRevision
)

// appendOutcome is what an append did: written (or found already written,
// for an idempotent retry) with the last event's revision and position, or
// refused because the stream was elsewhere.
type appendOutcome struct {
	ok           bool
	lastRevision uint64
	lastPosition pos
	// current and exists describe the stream when ok is false.
	current uint64
	exists  bool
}

// memLog is the in-memory transaction log: every record in $all order plus
// an index per stream. It outlives server restarts, like a node's disk.
type memLog struct {
	mu      sync.Mutex
	all     []*record
	streams map[string][]*record
	offset  uint64        // byte offset where the next record goes
	changed chan struct{} // closed and replaced on every write, to wake subscribers
	now     func() time.Time
}

func newMemLog(now func() time.Time) *memLog {
	l := &memLog{
		streams: make(map[string][]*record),
		changed: make(chan struct{}),
		now:     now,
	}
	// A real node's log starts with its own system events; so does ours, so
	// that clients must filter them out of $all.
	l.writeSystem("$epoch-information", "$epoch-information", []byte(`{"epochNumber":0}`))
	l.writeSystem("$scavenges", "$scavengeIndexInitialized", []byte(`{}`))
	l.offset = max(l.offset, firstUserOffset)
	return l
}

// writeSystem appends one system event to stream, bypassing every check.
func (l *memLog) writeSystem(stream, typ string, data []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writeLocked(stream, []proposed{{id: uuid.New(), typ: typ, content: "application/json", data: data}})
}

// append applies KurrentDB's append rules to stream: the expected-version
// check, then the idempotency check by event id, then the write.
func (l *memLog) append(stream string, exp expectation, events []proposed) appendOutcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	recs := l.streams[stream]
	exists := len(recs) > 0
	var current uint64
	if exists {
		current = uint64(len(recs) - 1)
	}
	refused := appendOutcome{current: current, exists: exists}

	// next is the revision the batch would be written at if the expectation
	// held; -1 when the expectation does not name one.
	switch exp.kind {
	case expectNoStream:
		if exists {
			return l.idempotentAt(recs, 0, events, refused)
		}
	case expectRevision:
		if !exists || exp.revision != current {
			if exists && exp.revision < current {
				return l.idempotentAt(recs, exp.revision+1, events, refused)
			}
			return refused
		}
	case expectStreamExists:
		if !exists {
			return refused
		}
		if out, found := l.idempotentAnywhere(recs, events, refused); found {
			return out
		}
	case expectAny:
		if out, found := l.idempotentAnywhere(recs, events, refused); found {
			return out
		}
	}
	written := l.writeLocked(stream, events)
	last := written[len(written)-1]
	return appendOutcome{ok: true, lastRevision: last.revision, lastPosition: last.position()}
}

// idempotentAt reports an append whose expected revision is behind the
// stream as a success when the events after it carry the batch's ids in
// order (a retry), and as refused otherwise: KurrentDB's rule for specific
// expected versions.
func (l *memLog) idempotentAt(recs []*record, from uint64, events []proposed, refused appendOutcome) appendOutcome {
	if from+uint64(len(events)) > uint64(len(recs)) {
		return refused
	}
	for i, e := range events {
		if recs[from+uint64(i)].id != e.id {
			return refused
		}
	}
	last := recs[from+uint64(len(events))-1]
	return appendOutcome{ok: true, lastRevision: last.revision, lastPosition: last.position()}
}

// idempotentAnywhere looks for the batch's first id in the stream: when the
// whole batch follows it in order, the append is a retry and succeeds with
// the original result; when only part of it does, KurrentDB refuses it as a
// wrong expected version. found is false when the first id is not recorded.
func (l *memLog) idempotentAnywhere(recs []*record, events []proposed, refused appendOutcome) (appendOutcome, bool) {
	for i, r := range recs {
		if r.id == events[0].id {
			return l.idempotentAt(recs, uint64(i), events, refused), true
		}
	}
	return appendOutcome{}, false
}

// writeLocked appends events to stream as one transaction: every record
// gets its own prepare position (its byte offset) and the transaction's
// commit position (the offset of its first record), as KurrentDB does for
// the implicit transaction of one append.
func (l *memLog) writeLocked(stream string, events []proposed) []*record {
	recs := l.streams[stream]
	commit := l.offset
	created := l.now().UnixNano() / 100
	written := make([]*record, len(events))
	for i, e := range events {
		r := &record{
			stream:   stream,
			revision: uint64(len(recs)),
			id:       e.id,
			typ:      e.typ,
			content:  e.content,
			data:     bytes.Clone(e.data),
			custom:   bytes.Clone(e.custom),
			created:  created,
			commit:   commit,
			prepare:  l.offset,
		}
		l.offset += recordHeaderBytes + uint64(len(stream)+len(e.typ)+len(e.data)+len(e.custom))
		recs = append(recs, r)
		l.all = append(l.all, r)
		written[i] = r
	}
	l.streams[stream] = recs
	close(l.changed)
	l.changed = make(chan struct{})
	return written
}

// streamRecords returns a snapshot of stream's records (nil when it has none).
func (l *memLog) streamRecords(stream string) []*record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.streams[stream]
}

// allFrom returns the records of $all from index i on, and a channel closed
// at the next write.
func (l *memLog) allFrom(i int) ([]*record, chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i >= len(l.all) {
		return nil, l.changed
	}
	return l.all[i:len(l.all):len(l.all)], l.changed
}

// allSnapshot returns every record of $all.
func (l *memLog) allSnapshot() []*record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all[:len(l.all):len(l.all)]
}
