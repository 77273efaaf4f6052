package eventstore

import (
	"fmt"

	"github.com/google/uuid"
)

// ValidateAppend checks a batch against the limits every backend shares and
// returns an error wrapping ErrInvalidAppend that names the problem. Backends
// call it first, so that all of them refuse the same batches.
func ValidateAppend(stream string, events []EventData) error {
	if stream == "" {
		return fmt.Errorf("%w: empty stream id", ErrInvalidAppend)
	}
	if len(stream) > StreamIDBytesMax {
		return fmt.Errorf("%w: stream id is %d bytes, the limit is %d", ErrInvalidAppend, len(stream), StreamIDBytesMax)
	}
	if stream[0] == '$' {
		return fmt.Errorf("%w: stream id %q: ids starting with $ are reserved for the system", ErrInvalidAppend, stream)
	}
	if len(events) == 0 {
		return fmt.Errorf("%w: no events", ErrInvalidAppend)
	}
	if len(events) > BatchEventsMax {
		return fmt.Errorf("%w: %d events, the limit is %d", ErrAppendTooLarge, len(events), BatchEventsMax)
	}
	size := 0
	seen := make(map[uuid.UUID]struct{}, len(events))
	for i, e := range events {
		if e.ID == uuid.Nil {
			return fmt.Errorf("%w: event %d has the nil id", ErrInvalidAppend, i)
		}
		if _, dup := seen[e.ID]; dup {
			return fmt.Errorf("%w: event %d repeats id %s", ErrInvalidAppend, i, e.ID)
		}
		seen[e.ID] = struct{}{}
		if e.Type == "" {
			return fmt.Errorf("%w: event %d has no type", ErrInvalidAppend, i)
		}
		if len(e.Type) > TypeBytesMax {
			return fmt.Errorf("%w: event %d type is %d bytes, the limit is %d", ErrInvalidAppend, i, len(e.Type), TypeBytesMax)
		}
		if e.Type[0] == '$' {
			return fmt.Errorf("%w: event %d type %q: types starting with $ are reserved for the system", ErrInvalidAppend, i, e.Type)
		}
		size += len(e.Data) + len(e.Metadata)
	}
	if size > BatchBytesMax {
		return fmt.Errorf("%w: %d bytes of data and metadata, the limit is %d", ErrAppendTooLarge, size, BatchBytesMax)
	}
	return nil
}
