package eventstore

// CommitNotifier is an optional extension of Store, found with a type
// assertion, for a reader that follows $all by reading it in pages
// (PageReader) rather than through SubscribeAll, which hands over one
// Record at a time: a projection runner, to which each live event as its
// own Record, payload and channel send cost more than the read itself.
//
// The reader takes the channel before each read of $all and, once a read
// comes up short, waits for it: no commit between the read and the wait
// goes unnoticed, so that, reading after the last position it received, it
// sees every event in order, without gaps or repeats, as SubscribeAll does.
type CommitNotifier interface {
	// CommitNotify returns a channel that is closed once events after those
	// readable when it was taken become readable, or once the store is
	// closed (reads then fail with ErrClosed).
	CommitNotify() <-chan struct{}
}
