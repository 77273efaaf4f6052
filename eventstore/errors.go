package eventstore

import (
	"errors"
	"fmt"
)

// Sentinel errors of the Store contract. Backends translate their engine's
// errors into these at the package boundary; callers test with errors.Is,
// because they usually arrive wrapped.
var (
	// ErrVersionConflict is returned by Append when the stream is not at the
	// expected revision. The caller should reload the stream and decide again.
	ErrVersionConflict = errors.New("eventstore: wrong expected revision")
	// ErrStreamNotFound is returned by ReadStream for a stream with no events.
	ErrStreamNotFound = errors.New("eventstore: stream not found")
	// ErrInvalidAppend is returned by Append for a batch that no store would
	// accept: empty, too large, or with a nil id, an empty type or an empty
	// stream id.
	ErrInvalidAppend = errors.New("eventstore: invalid append")
	// ErrAppendTooLarge is the ErrInvalidAppend (it wraps it) of a batch
	// of more than BatchEventsMax events or BatchBytesMax bytes: unlike
	// the other invalid appends, which are a writer's bug, a client can
	// cause it by sending much, so that a caller can answer it as the
	// client's to send less.
	ErrAppendTooLarge = fmt.Errorf("%w: too large", ErrInvalidAppend)
	// ErrDuplicateEventID is returned by Append when an event id is already
	// recorded, but not as an exact retry of the same batch to the same stream.
	ErrDuplicateEventID = errors.New("eventstore: duplicate event id")
	// ErrClosed is returned by calls on a closed store.
	ErrClosed = errors.New("eventstore: store closed")
	// ErrFailed is returned by Append of a store that has failed for good
	// while open (see FailureReporter: a batch it could not apply or sync,
	// on a full disk or after an I/O error), for the append that met the
	// failure and every one after it, until the store is reopened. It is an
	// outage, not a bad request or a bug: the append may succeed on
	// another server or once the store is reopened. The error wraps the
	// cause too, and FailureReporter.Err returns the same error.
	ErrFailed = errors.New("eventstore: store failed")
	// ErrUnavailable is wrapped by the errors of a call to a store that did
	// not answer it (a KurrentDB node down or unreachable, a call past its
	// time limit): an outage that may end by itself, so the call may be
	// retried. For an append the outcome is unknown: it may have landed,
	// so it is retried as the same append (the same event ids, a keyed
	// request's same Idempotency-Key), which finds it if it did.
	ErrUnavailable = errors.New("eventstore: store unavailable")
	// ErrCorrupt is wrapped by the errors of a backend that finds its own
	// stored data damaged or altered on disk (a record that does not decode,
	// a file whose checksum fails), so that callers that know no backend
	// can tell damage, which retrying does not cure and only the operator
	// can (callledger verify names it), from an outage or a bug. A backend
	// may wrap it in a sentinel of its own (embedded.ErrCorrupt).
	ErrCorrupt = errors.New("eventstore: data damaged on disk")
	// ErrLogChanged is yielded by SubscribeAll, wrapped, when a backend
	// that subscribes again after a dropped connection finds that the log
	// no longer holds the event it resumes after (the last one it
	// yielded, or the one at the position it was given), at that event's
	// position: the log was replaced (another database at the same
	// address, a restored backup) or lost events while the subscription
	// was down. Following it on would mix two logs, the old one's events
	// before the drop and the new one's after, without gaps or repeats
	// that anything could tell; the consumer must read again from what it
	// knows it has (the projector checks its read models against the
	// log, projections.CheckLog).
	ErrLogChanged = errors.New("eventstore: the log no longer holds an event it delivered")
)

// VersionConflictError details an ErrVersionConflict: which stream, what the
// append expected and where the stream really was.
type VersionConflictError struct {
	Stream   string
	Expected ExpectedRevision
	// Actual is the stream's last revision; meaningless when Exists is false.
	Actual uint64
	// Exists reports whether the stream had any events.
	Exists bool
}

// Error describes the conflict.
func (e *VersionConflictError) Error() string {
	actual := "no stream"
	if e.Exists {
		actual = fmt.Sprintf("revision %d", e.Actual)
	}
	return fmt.Sprintf("append to %s: expected %s, stream is at %s: %v", e.Stream, e.Expected, actual, ErrVersionConflict)
}

// Unwrap makes errors.Is(err, ErrVersionConflict) true.
func (e *VersionConflictError) Unwrap() error { return ErrVersionConflict }
