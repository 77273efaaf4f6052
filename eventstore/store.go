// Package eventstore defines the contract between callledger and the log that
// holds its events: append-only streams (one per call) and one global order,
// $all, over every event of every stream.
//
// The package knows nothing about calls. Its events are opaque bytes with a
// type name; the domain gives them meaning. Backends live in sub-packages
// (embedded for the default Pebble store, kurrent for KurrentDB) and every one
// of them passes the conformance suite in eventstore/storetest.
//
// Invariants every backend keeps:
//
//   - Revisions in a stream start at 0 and rise by one per event, with no gaps.
//   - Global positions rise strictly in commit order, and become visible in
//     order: no reader or subscriber sees position N+1 while N is not yet
//     readable.
//   - Appending events whose ids are already recorded, as the same batch in
//     the same stream, is acknowledged with the original result and writes
//     nothing, whatever the expected revision, across restarts.
//   - An acknowledged append is durable: it survives a crash of the process.
//   - Every record carries Hash, chained to the previous event of its stream
//     (see ChainHash), so that any change to a stored event is detectable.
package eventstore

import (
	"context"
	"iter"
	"time"

	"github.com/google/uuid"
)

// Limits shared by every backend, so that a batch accepted by one backend is
// accepted by all of them. KurrentDB's default maximum append size is 1 MiB.
const (
	// BatchEventsMax is the largest number of events one Append may carry.
	BatchEventsMax = 1000
	// BatchBytesMax is the largest total of Data and Metadata bytes one Append may carry.
	BatchBytesMax = 1 << 20
	// StreamIDBytesMax is the longest stream id, in bytes.
	StreamIDBytesMax = 256
	// TypeBytesMax is the longest event type name, in bytes.
	TypeBytesMax = 128
)

// Store is an append-only event log of named streams with one global order.
//
// Every method takes a context first; a cancelled context ends a call with
// ctx.Err() (wrapped). A Store is safe for concurrent use.
type Store interface {
	// Append writes events to the end of stream if the stream's current state
	// matches expected, and returns the revision and position of the last event
	// written. The events are durable when Append returns nil.
	//
	// It returns ErrVersionConflict (wrapped in a *VersionConflictError) when
	// the stream is not where expected says, ErrInvalidAppend when the batch
	// is empty, malformed or larger than BatchEventsMax/BatchBytesMax, and
	// ErrDuplicateEventID when an event id is already recorded elsewhere than
	// as this same batch in this same stream. A batch whose every event id is
	// already recorded, in the same order at consecutive revisions of stream,
	// is an idempotent retry: Append returns the original AppendResult and
	// writes nothing.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events []EventData) (AppendResult, error)

	// ReadStream returns up to limit events of stream, in revision order,
	// starting at revision from (inclusive). Reading from past the end returns
	// no records and no error. It returns ErrStreamNotFound when the stream
	// has no events at all. A limit <= 0 means no limit.
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]Record, error)

	// ReadAll returns up to limit events of the global order whose positions
	// are after the given position (exclusive), in position order. Start reads
	// from the beginning. A limit <= 0 means no limit, which the caller should
	// only use on logs it knows to be small.
	ReadAll(ctx context.Context, after Position, limit int) ([]Record, error)

	// SubscribeAll yields every event after the given position (exclusive),
	// in position order: first those already stored (catch-up), then each
	// new one as it is committed (live), without gaps or repeats. The
	// sequence ends when ctx is done (without yielding an error), when the
	// consumer stops ranging, or after yielding a non-nil error the backend
	// could not recover from; a backend that subscribes again on its own
	// after a drop yields ErrLogChanged if the log it finds no longer holds
	// the event it resumes after (the last one yielded, or the one at the
	// position it was given).
	SubscribeAll(ctx context.Context, after Position) iter.Seq2[Record, error]

	// Close releases the store's resources. Calls made after Close return
	// ErrClosed.
	Close() error
}

// EventData is an event to append: what the caller knows before the store
// gives it a place in the log.
type EventData struct {
	// ID identifies the event for idempotent retries. It must not be the nil
	// UUID: the caller chooses it, so that a retry can send the same one.
	ID uuid.UUID
	// Type names the event, e.g. "CallAnswered". Non-empty, at most TypeBytesMax bytes.
	Type string
	// Data is the event's payload, JSON encoded.
	Data []byte
	// Metadata is data about the event (who, when, which request), JSON
	// encoded, or nil.
	Metadata []byte
}

// Record is an event as stored: its data plus where and when the log put it.
type Record struct {
	// StreamID names the stream the event belongs to.
	StreamID string
	// Revision is the event's 0-based place in its stream.
	Revision uint64
	// Position is the event's place in the global order.
	Position Position
	// ID is the event id given by the appender.
	ID uuid.UUID
	// Type names the event.
	Type string
	// Data is the JSON payload as appended, byte for byte.
	Data []byte
	// Metadata is the JSON metadata as appended, byte for byte (nil if none).
	Metadata []byte
	// RecordedAt is when the store committed the event, in UTC.
	RecordedAt time.Time
	// Hash chains this event to the previous one of its stream: see ChainHash.
	Hash Hash
	// AllHash chains this event to the previous one of the global order: see
	// AllChainHash. It is the zero Hash from backends that do not store the
	// $all chain (KurrentDB); verify tools then recompute it.
	AllHash Hash
}

// AppendResult says where an append put its last event.
type AppendResult struct {
	// Revision is the stream revision of the last event written, which is
	// the expected revision of the next append to the stream.
	Revision uint64
	// Position is the global position of the last event written. A reader
	// that has seen Position has seen every event of the append.
	Position Position
	// Replayed reports an idempotent retry: the batch was recorded
	// already, by this append's first run or by another writer that sent
	// the same event ids (a server sharing the log, or one that stopped
	// before it answered), and nothing was written now; Revision and
	// Position are the original's. Its writer must not take the events it
	// sent for what was recorded: the ids are the same, but their data may
	// be another run's (decided at another time). Read the stream.
	// The embedded store reports every replay; KurrentDB recognises a
	// retry on its own too when two writers read the stream before either
	// appended, which the kurrent store cannot tell from a write.
	Replayed bool
}
