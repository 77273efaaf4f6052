package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/callledger/callledger/eventstore"
)

// CheckLog checks that the read models were built from the log of the
// store they follow: that the store holds, at the checkpoint's position,
// the event the checkpoint names, with the $all hash it names where the
// store keeps one (eventRef). It returns an error wrapping
// ErrForeignLog when it does not: the store was replaced under the read
// models (an import into a data directory that held another ledger's read
// models, a restored backup of the events alone, another KurrentDB
// cluster). Following such a log from the checkpoint would skip every
// event up to it, so writes would be acknowledged and never shown; the
// read models must be rebuilt (Rebuild) instead.
//
// Read models with no checkpoint pass, as do checkpoints written before
// they named their event (they pass until the next batch names one).
func (p *Projector) CheckLog(ctx context.Context) error {
	cp := p.applied()
	if cp.Position.IsStart() || cp.Last == (eventRef{}) {
		return nil
	}
	recs, err := p.store.ReadStream(ctx, cp.Last.Stream, cp.Last.Revision, 1)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		recs, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("projections: check the log: read %s at revision %d: %w", cp.Last.Stream, cp.Last.Revision, err)
	}
	if len(recs) == 0 {
		end := ""
		if pos, err := eventstore.LogEnd(ctx, p.store); err == nil {
			end = fmt.Sprintf(" (the log ends at position %s)", pos)
		}
		return fmt.Errorf("%w: the checkpoint is at position %s, revision %d of %s, which the store does not hold%s",
			ErrForeignLog, cp.Position, cp.Last.Revision, cp.Last.Stream, end)
	}
	r := recs[0]
	if r.ID != cp.Last.ID || r.Position != cp.Position || r.Revision != cp.Last.Revision {
		return fmt.Errorf("%w: the checkpoint names event %s at position %s, revision %d of %s; the store holds event %s at position %s there",
			ErrForeignLog, cp.Last.ID, cp.Position, cp.Last.Revision, cp.Last.Stream, r.ID, r.Position)
	}
	if !cp.Last.AllHash.IsZero() && !r.AllHash.IsZero() && r.AllHash != cp.Last.AllHash {
		return fmt.Errorf("%w: the checkpoint names event %s at position %s with $all hash %s; the store holds it there with $all hash %s: an event before it was altered, removed or added and the log chained anew (it verifies on its own), or the log is another one",
			ErrForeignLog, cp.Last.ID, cp.Position, cp.Last.AllHash, r.AllHash)
	}
	return nil
}
