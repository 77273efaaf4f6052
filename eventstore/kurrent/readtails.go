package kurrent

import (
	"sync"

	"github.com/google/uuid"

	"github.com/callledger/callledger/eventstore"
)

// readTailsMax is how many of the latest reads of $all readTails keeps.
const readTailsMax = 8

// readTails remembers the last event of the latest reads of $all: where it
// stands and its id. A consumer that reads $all and then subscribes after
// the last event it read (the projector does) gives SubscribeAll a
// position whose event the store has just served: SubscribeAll takes that
// event's id from here as the one the log must still hold there, rather
// than from a read of its own, which a node down at that moment could not
// answer, leaving nothing to tell a log replaced meanwhile by (a KurrentDB
// probe: its subscription then followed the new log). Its zero value is
// empty and ready to use.
type readTails struct {
	mu    sync.Mutex
	tails [readTailsMax]readTail
	next  int
}

// readTail is the last event of one read.
type readTail struct {
	pos eventstore.Position
	id  uuid.UUID
}

// note remembers the last record of a read.
func (t *readTails) note(rec eventstore.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tails[t.next] = readTail{pos: rec.Position, id: rec.ID}
	t.next = (t.next + 1) % readTailsMax
}

// idAt returns the id of the event at pos if one of the reads kept ended
// there.
func (t *readTails) idAt(pos eventstore.Position) (uuid.UUID, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tail := range t.tails {
		if tail.pos == pos && tail.id != uuid.Nil {
			return tail.id, true
		}
	}
	return uuid.Nil, false
}
