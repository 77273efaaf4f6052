package embedded

import "github.com/cockroachdb/pebble/v2/vfs"

// KeyFilterReady reports whether s's key filter has finished its scan and
// answers lookups (see keyFilter), for tests that must exercise it.
func KeyFilterReady(s *Store) bool { return s.keys.ready.Load() }

// WithTailRing returns opts with a tail ring of the given bounds, which
// tests make small to wrap it often (see tailRing).
func WithTailRing(opts Options, bytes, events int) Options {
	opts.tailRingBytes, opts.tailRingEvents = bytes, events
	return opts
}

// TailRing returns the positions [first, end) s's tail ring holds, for
// tests that must know which reads it serves.
func TailRing(s *Store) (first, end uint64) {
	s.tail.mu.Lock()
	defer s.tail.mu.Unlock()
	return s.tail.first, s.tail.end
}

// WithoutWALCheck returns opts with Open's check of the newest
// write-ahead log left out, for tests of Pebble's own refusal of a
// damaged log (see checkNewestWAL).
func WithoutWALCheck(opts Options) Options {
	opts.skipWALCheck = true
	return opts
}

// WithFS returns opts with Pebble writing through fs, which tests wrap
// with errorfs to fail a disk.
func WithFS(opts Options, fs vfs.FS) Options {
	opts.fs = fs
	return opts
}

// AckedHeadName is the acknowledged head file's name (see ackedhead.go),
// for tests that remove it to test another check alone, or damage it.
const AckedHeadName = ackedHeadName
