package eventstore

import (
	"context"
	"errors"
	"fmt"
)

// LogEnd returns the position of the last event of store's $all (Start for
// an empty log), asked of the store itself: where a SharedLog (KurrentDB)
// ends, read from the log (backward reads from its end, of one event and
// then a page at a time, past the node's own system events: see
// kurrent.Store.LastPosition), or a HeadReader's head (the embedded store:
// its last committed position). A reader that waits until it has seen that
// position has seen every event acknowledged before LogEnd was called,
// whoever appended it: what a process that starts over a log it has not
// finished projecting must wait for before its read models answer.
//
// It returns an error wrapping errors.ErrUnsupported for a store that is
// neither, and the store's own error when it cannot answer.
func LogEnd(ctx context.Context, store Store) (Position, error) {
	switch s := store.(type) {
	case SharedLog:
		// Before HeadReader: only the log knows what other processes
		// appended to it.
		pos, err := s.LastPosition(ctx)
		if err != nil {
			return Start, fmt.Errorf("read where the log ends: %w", err)
		}
		return pos, nil
	case HeadReader:
		pos, _, err := s.Head(ctx)
		if err != nil {
			return Start, fmt.Errorf("read where the log ends: %w", err)
		}
		return pos, nil
	default:
		return Start, fmt.Errorf("the %T store cannot say where its log ends: %w", store, errors.ErrUnsupported)
	}
}
