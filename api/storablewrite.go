package api

import (
	"fmt"

	"github.com/callledger/callledger/eventstore"
)

// appendTooLarge is the answer to a write whose events the store refused
// as too large for one append (eventstore.ErrAppendTooLarge: more than
// BatchEventsMax events or BatchBytesMax bytes, data and metadata), which
// was a 500. A body within the body limit can still make more: JSON stores
// '<', '>' and '&' as six-byte escapes (\u003c), every event carries the
// write's metadata, and the recordings a write adds each carry their sid.
// It is the client's to send less: a 413 that says so, counted again from
// data, the events refused, on this error path only. A backend may refuse
// less than the ledger's limits: KurrentDB counts its envelope around each
// event against its MaxAppendSize (1 MiB by default). The domain keeps a
// write's number of events within the store's (domain.RecordingChangesMax).
func appendTooLarge(data []eventstore.EventData) error {
	if len(data) > eventstore.BatchEventsMax {
		return &FieldError{Err: ErrBodyTooLarge, Message: fmt.Sprintf(
			"the body makes %d events, more than the %d one write may append: send it in several writes", len(data), eventstore.BatchEventsMax)}
	}
	size := 0
	for _, e := range data {
		size += len(e.Data) + len(e.Metadata)
	}
	if size <= eventstore.BatchBytesMax {
		// Within the ledger's own limit, over the backend's: KurrentDB
		// counts an envelope around each event's metadata too.
		return &FieldError{Err: ErrBodyTooLarge, Message: fmt.Sprintf(
			"the body's events come to %d bytes as stored (data and metadata, JSON writing '<', '>' and '&' as six-byte escapes), with the event store's own envelope more than it takes in one append: send less",
			size)}
	}
	return &FieldError{Err: ErrBodyTooLarge, Message: fmt.Sprintf(
		"the body's events come to %d bytes as stored (data and metadata, JSON writing '<', '>' and '&' as six-byte escapes), more than the %d one write may store: send less",
		size, eventstore.BatchBytesMax)}
}
