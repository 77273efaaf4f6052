package embedded

import "github.com/callledger/callledger/eventstore"

var _ eventstore.FailureReporter = (*Store)(nil)

// Err returns the error that failed the store (a batch that could not be
// applied or synced), nil while it works; see eventstore.FailureReporter.
// Every append fails with it until the store is reopened.
func (s *Store) Err() error { return s.failure() }
