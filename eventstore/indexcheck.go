package eventstore

import "context"

// IndexChecker is an optional extension of Store, found with a type
// assertion, for backends that keep their own indexes beside the log: the
// embedded store's stream index (what ReadStream reads), stream heads (what
// Append checks an expected revision against, and chains a stream's next
// event onto) and event id index (what makes an Append an idempotent
// retry). Verify proves the events and what ReadStream returns, but an index
// entry that ReadStream never reaches, a wrong stream head or a wrong id
// entry only shows later, as a refused or wrongly chained append: only the
// backend knows its keys, so it checks them, and Verify runs the check.
//
// A backend whose indexes are not its own to keep (KurrentDB) does not
// implement it.
type IndexChecker interface {
	// CheckIndex checks every index entry of the store against the events
	// it stores, in one consistent view of them, and returns the first
	// entry that disagrees, nil when all agree. The Problem names the entry
	// in Key, and in Stream, Revision and Position the event it concerns
	// when there is one. progress, if set, is told how many events were
	// checked, of how many. It returns an error only when it could not do
	// its job: ctx done, the store closed, or a read that failed.
	CheckIndex(ctx context.Context, progress Progress) (*Problem, error)
}
