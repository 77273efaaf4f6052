package kurrent

import (
	"context"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/callledger/callledger/eventstore"
)

// lastPageEvents is how many events a backward read of LastPosition asks
// for once the newest event was a system event: the end of a node's $all is
// mostly callledger's events, with a few of the node's own (statistics,
// projections) in between. The first read asks for one, the usual answer:
// every read of a shared store starts with it.
const lastPageEvents = 32

// readEndOfAll names LastPosition's read in its errors.
const readEndOfAll = "read the end of $all"

// lastPositionTimeout bounds one read of the end of $all, which the
// concurrent callers of LastPosition share (see freshReads): no caller's
// context can bound it.
const lastPositionTimeout = 30 * time.Second

// LastPosition returns the position of the last event of $all that is not one of the
// node's own system events, or eventstore.Start if there is none; see
// eventstore.SharedLog. It reads $all backwards from its end, a page at a
// time, past the system events. Concurrent calls share reads (freshReads),
// each answered by a read that began after it was called.
func (s *Store) LastPosition(ctx context.Context) (eventstore.Position, error) {
	if err := s.begin(ctx, readEndOfAll); err != nil {
		return eventstore.Start, err
	}
	pos, err := s.heads.do(ctx, s.readLastPosition)
	if err != nil && ctx.Err() != nil {
		return eventstore.Start, fmt.Errorf("kurrent: %s: %w", readEndOfAll, ctx.Err())
	}
	return pos, err
}

// readLastPosition is one read of LastPosition's answer, bounded by
// lastPositionTimeout and by Close.
func (s *Store) readLastPosition() (eventstore.Position, error) {
	ctx, cancel := context.WithTimeout(s.closeCtx, lastPositionTimeout)
	defer cancel()
	var from esdb.AllPosition = esdb.End{}
	for count := 1; ; count = lastPageEvents {
		type page struct {
			last  eventstore.Position
			found bool // last is the newest event that is not a system event
			read  int
		}
		p, err := call(ctx, s, func(c *esdb.Client) (page, error) {
			var p page
			var err error
			p.read, err = eachOfAll(ctx, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, count, func(ev *esdb.ResolvedEvent) (bool, error) {
				e := ev.OriginalEvent()
				p.last = recordedPosition(e)
				p.found = !isSystem(e)
				return !p.found, nil
			})
			return p, err
		})
		if err != nil {
			return eventstore.Start, s.fail(ctx, readEndOfAll, err)
		}
		if p.found {
			return p.last, nil
		}
		if p.read < count {
			return eventstore.Start, nil // only system events, or none
		}
		from = allPosition(p.last)
	}
}

var _ eventstore.SharedLog = (*Store)(nil)
