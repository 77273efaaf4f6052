// Package kurrent is the eventstore.Store backed by KurrentDB (formerly
// EventStoreDB), through the official client
// github.com/EventStore/EventStore-Client-Go/v4.
//
// Choose it over the embedded store when one machine is not enough: a
// KurrentDB cluster replicates the log, and several callledger processes
// can serve the same ledger, each following $all.
//
// # Mapping
//
// Every eventstore stream is a KurrentDB stream of the same name; event
// types, event ids and JSON data (content type application/json) are stored
// unchanged. Revisions are the server's stream revisions and positions its
// commit/prepare positions. The server's wrong-expected-version answer
// becomes *eventstore.VersionConflictError, a missing stream
// eventstore.ErrStreamNotFound. ReadAll and SubscribeAll leave out system
// events: those whose type or stream starts with "$".
//
// # Stored format: the metadata envelope
//
// KurrentDB stores two byte strings per event, data and custom metadata. To
// keep each event's stream-chain hash (eventstore.ChainHash) with the event,
// the custom metadata holds an envelope: a JSON object that wraps the
// caller's metadata, verbatim, with the hash. This is a stored format:
// envelopes written with it must decode forever. Its version 1 is exactly
// one of
//
//	{"callledger":1,"hash":"<H>"}
//	{"callledger":1,"hash":"<H>","metadata":<M>}
//	{"callledger":1,"hash":"<H>","metadataBase64":"<B>"}
//
// with the keys in this order and no whitespace outside <M>, where
//
//   - <H> is the event's stream-chain hash in 64 lower-case hex digits;
//   - the first form is used when the caller's metadata is nil;
//   - the second when it is a JSON object or array with no whitespace
//     around it: <M> is the caller's bytes, unchanged, so the envelope
//     stays readable JSON in the KurrentDB UI;
//   - the third for any other metadata (other JSON values, surrounding
//     whitespace, invalid JSON, empty but not nil): <B> is the caller's bytes
//     in standard base64 with padding.
//
// Reads give callers their metadata back byte for byte. Custom metadata that
// does not start with `{"callledger":1,"hash":"` was not written by
// callledger: it is returned verbatim with the zero Hash, which verify tools
// report. A later version must use a new "callledger" number.
//
// The hash covers the data and the caller's metadata, not the envelope. The
// $all chain (Record.AllHash) is not stored: the server gives no place to
// keep it, so records carry the zero AllHash and verify tools recompute it
// by walking ReadAll.
//
// # Appends
//
// A hash needs the previous event's hash, so Append reads the newest events
// of the stream (up to Options.IdempotencyWindowEvents), checks the caller's
// expectation and the event ids against them, then appends with the exact
// revision it read. When the caller expected Any or StreamExists and another
// writer got in first, it reads and tries again, a bounded number of times.
//
// A batch whose ids are already in the stream, in order, is an idempotent
// retry: Append returns where they are and writes nothing, whatever the
// expectation. A retry is recognised when the batch lies within the window
// read, or, for Exact and NoStream, at the revision the expectation names.
// An id already in the window but not as this batch is
// eventstore.ErrDuplicateEventID. Ids recorded in other streams are not
// detected: KurrentDB only keeps ids unique within a stream and offers no
// lookup by id.
//
// # Limits
//
// KurrentDB refuses appends larger than its MaxAppendSize (1 MiB by
// default), counted over data, custom metadata and twice the type's
// length. The envelope adds about 100 bytes per event (a third more for
// base64 metadata), so a batch at eventstore.BatchBytesMax needs a server
// with a larger MaxAppendSize. Append counts as the server does and
// refuses a batch over Options.MaxAppendSize before sending it; that
// refusal and the server's own both wrap eventstore.ErrAppendTooLarge (the
// API answers 413), never an unclassified error.
// Reading $all needs a user allowed to read it (an admin by default).
package kurrent
