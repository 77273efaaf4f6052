package eventstore

import "context"

// SharedLog is an optional extension of Store, found with a type assertion,
// implemented by a backend that other processes append to as well: a
// KurrentDB cluster that several callledger servers share.
//
// A server remembers the positions of the writes it acknowledged itself,
// and its reads wait for its read models to reach them (read-your-writes).
// A write that another server acknowledged is known only to the log:
// LastPosition tells a reader where the log ends, so that it can wait for
// that instead and see every write acknowledged anywhere before it asked.
//
// The embedded store does not implement it: one process at a time opens its
// directory, so every write to it passes through the server that reads it,
// whose own record of its writes is exact and costs no round trip. (It
// implements HeadReader, whose head is also where its log ends.)
type SharedLog interface {
	// LastPosition returns the position of the last event of $all that
	// ReadAll and SubscribeAll deliver (a backend's own system events are
	// not among them), or Start when there is none.
	LastPosition(ctx context.Context) (Position, error)
}
