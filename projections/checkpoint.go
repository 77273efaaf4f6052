package projections

import (
	"context"
	"fmt"

	"github.com/callledger/callledger/eventstore/embedded"
)

// Checkpoint writes a consistent copy of the read models into dir, which
// must not exist, while they stay open and current (Pebble's checkpoint:
// tables hard-linked, the write-ahead log synced and copied). A copy taken
// before one of the event store, by the same process, holds no event that
// copy lacks: the read models apply durable events only. cmd/callledger
// copies both so for the tools of a directory a running server holds.
// The memtable is flushed first and the copy's log cut where its records
// end, so that the copy's log is short (embedded.CheckpointPebble).
func (p *Projector) Checkpoint(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("checkpoint the read models: %w", err)
	}
	if !p.acquire() {
		return fmt.Errorf("checkpoint the read models: %w", ErrClosed)
	}
	defer p.release()
	if err := embedded.CheckpointPebble(p.db, dir); err != nil {
		return fmt.Errorf("checkpoint the read models into %s: %w", dir, pebbleError(err))
	}
	return nil
}
