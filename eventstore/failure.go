package eventstore

// FailureReporter is an optional extension of Store, found with a type
// assertion, for a backend that can fail for good while it is open: the
// embedded store, once a batch could not be applied or synced (a full disk,
// an I/O error), cannot know what reached the disk and refuses every
// append until it is reopened. Reads may still succeed, so a reader cannot
// tell from them: a server asks Err, and reports itself not ready while it
// is non-nil. The appends it refuses return ErrFailed, which a server
// answers as unavailable (503), not as a bug, without asking Err.
//
// A backend whose failures pass on their own (KurrentDB: the client
// reconnects) does not implement it.
type FailureReporter interface {
	// Err returns the error that failed the store, nil while it works: an
	// error wrapping ErrFailed and the cause. Once non-nil it stays so
	// until the store is closed and opened again.
	Err() error
}
