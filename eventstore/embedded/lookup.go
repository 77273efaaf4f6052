package embedded

import (
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/callledger/callledger/eventstore"
)

// The committer is the one serial step of every append, and looking up
// event ids in Pebble was about a fifth of its work. So each Append looks
// its ids up in its own goroutine, in parallel with the others, and notes
// the position applied when it looked (its snapshot). The committer then
// only adds the ids recorded by groups applied after the snapshot, which it
// remembers in a bounded ring of recent groups; when the ring no longer
// reaches back to the snapshot, it looks up again itself. Stream heads are
// not looked up early: the committer's head cache answers most of them.

// prelookup is what an Append found in Pebble before queueing.
type prelookup struct {
	// snapshot is the last position applied to Pebble before the lookups:
	// they saw every group up to it, and maybe some after.
	snapshot uint64
	locs     []idLocation // nil when no id was recorded; see readIDs
}

// readIDs finds where each event id is recorded in Pebble. It returns nil
// when none is; otherwise one location per event, zero for an id not
// recorded.
func readIDs(db *pebble.DB, keys *keyFilter, events []eventstore.EventData) ([]idLocation, error) {
	var locs []idLocation
	var buf [idKeyLen]byte
	for i := range events {
		id := events[i].ID
		key := idKey(buf[:0], id)
		var v []byte
		var closer io.Closer
		err := pebble.ErrNotFound
		if keys.mayContain(key) {
			v, closer, err = db.Get(key)
		}
		if errors.Is(err, pebble.ErrNotFound) {
			if locs != nil {
				locs = append(locs, idLocation{})
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read id index key of event %s: %w", id, pebbleError(err))
		}
		loc, err := decodeIDValue(id, v)
		closer.Close()
		if err != nil {
			return nil, err
		}
		if locs == nil {
			locs = make([]idLocation, i, len(events))
		}
		locs = append(locs, loc)
	}
	return locs, nil
}

// readHead reads the head of stream from Pebble: the zero streamHead for a
// stream with no events. It builds the head's key in scratch (which it
// returns, grown if need be).
func readHead(db *pebble.DB, keys *keyFilter, scratch []byte, stream string) (streamHead, []byte, error) {
	key := streamPrefix(scratch[:0], prefixHead, stream)
	if !keys.mayContain(key) {
		return streamHead{}, key, nil
	}
	v, closer, err := db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return streamHead{}, key, nil
	}
	if err != nil {
		return streamHead{}, key, fmt.Errorf("read head: %w", pebbleError(err))
	}
	defer closer.Close()
	h, err := decodeHead(stream, v)
	return h, key, err
}

// Bounds of the ring of recent groups: enough for the few groups applied
// while an append waits in the queue, small enough to scan.
const (
	recentGroupsMax = 64
	recentIDsMax    = 1 << 16
)

// recentGroup is the ids one applied group recorded.
type recentGroup struct {
	lastPos uint64
	ids     reusedMap[uuid.UUID, idLocation]
}

// recentGroups is the ring of the last groups applied, oldest first. Only
// the committer uses it.
type recentGroups struct {
	ring  [recentGroupsMax]recentGroup
	start int // index of the oldest group
	count int
	ids   int // ids held by the groups in the ring
	// floor is the last position of the newest group dropped from the ring:
	// the ring holds every group applied after floor.
	floor uint64
	// spare is the map of ids of a group dropped from the ring, which
	// nothing reads any more, for the committer's next group (takeSpare).
	spare reusedMap[uuid.UUID, idLocation]
}

// takeSpare returns the spare map of ids (a zero reusedMap when there is
// none), which is then the caller's.
func (r *recentGroups) takeSpare() reusedMap[uuid.UUID, idLocation] {
	s := r.spare
	r.spare = reusedMap[uuid.UUID, idLocation]{}
	return s
}

// covers reports whether the ring holds every group applied after snapshot.
func (r *recentGroups) covers(snapshot uint64) bool { return snapshot >= r.floor }

func (r *recentGroups) add(g recentGroup) {
	for r.count > 0 && (r.count == recentGroupsMax || r.ids+len(g.ids.m) > recentIDsMax) {
		oldest := &r.ring[r.start]
		r.floor = oldest.lastPos
		r.ids -= len(oldest.ids.m)
		if r.spare.m == nil {
			r.spare = oldest.ids
		}
		*oldest = recentGroup{}
		r.start = (r.start + 1) % recentGroupsMax
		r.count--
	}
	r.ring[(r.start+r.count)%recentGroupsMax] = g
	r.count++
	r.ids += len(g.ids.m)
}

// findID returns where a group applied after snapshot recorded id.
func (r *recentGroups) findID(snapshot uint64, id uuid.UUID) (idLocation, bool) {
	for i := r.count - 1; i >= 0; i-- {
		g := &r.ring[(r.start+i)%recentGroupsMax]
		if g.lastPos <= snapshot {
			break
		}
		if loc, ok := g.ids.m[id]; ok {
			return loc, true
		}
	}
	return idLocation{}, false
}
