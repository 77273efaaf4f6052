package api

import (
	"fmt"

	"github.com/callledger/callledger/eventstore"
)

// checkStorable refuses, before anything is primed or appended, a write
// whose events are more bytes than one append may store
// (eventstore.BatchBytesMax, data and metadata), which the store would
// refuse as an invalid append, a 500. A body within the body limit can
// still make more: JSON stores '<', '>' and '&' as six-byte escapes
// (\u003c), every event carries the write's metadata, and the recordings a
// write adds each carry their sid. It is the client's to send less: a 413
// that says so. The domain keeps a write's number of events within the
// store's (domain.RecordingChangesMax), and this checks that too, so that
// a write beyond it is a 413 rather than a 500 whatever makes it.
func checkStorable(data []eventstore.EventData) error {
	if len(data) > eventstore.BatchEventsMax {
		return &FieldError{Err: ErrBodyTooLarge, Message: fmt.Sprintf(
			"the body makes %d events, more than the %d one write may append: send it in several writes", len(data), eventstore.BatchEventsMax)}
	}
	size := 0
	for _, e := range data {
		size += len(e.Data) + len(e.Metadata)
	}
	if size > eventstore.BatchBytesMax {
		return &FieldError{Err: ErrBodyTooLarge, Message: fmt.Sprintf(
			"the body's events come to %d bytes as stored (data and metadata, JSON writing '<', '>' and '&' as six-byte escapes), more than the %d one write may store: send less",
			size, eventstore.BatchBytesMax)}
	}
	return nil
}
