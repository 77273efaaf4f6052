package embedded

import (
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configures Open. Every field is explicit so that callers see what
// they tune; DefaultOptions gives the values measured to work well (see
// /work/shared/NOTES.md).
type Options struct {
	// MemTableSize is the size in bytes of Pebble's memtable. Zero means
	// Pebble's default (4 MiB), which roughly halves throughput at high
	// concurrency; DefaultOptions sets 64 MiB.
	MemTableSize uint64
	// BlockCacheSize is the size in bytes of Pebble's block cache, which the
	// revision and idempotency checks read through. Zero means Pebble's
	// default (8 MiB); DefaultOptions sets 512 MiB.
	BlockCacheSize int64
	// HeadCacheStreams bounds how many stream heads (last revision and hash)
	// the committer keeps in memory, so that most revision checks do not
	// read Pebble. Older heads are evicted and read back from Pebble when
	// needed. Zero means 65536; a negative value disables the cache.
	HeadCacheStreams int
	// Now returns the time recorded as RecordedAt of committed events (stored
	// in UTC, to the nanosecond). Nil means time.Now; tests inject a clock.
	Now func() time.Time
	// Logger receives the store's and Pebble's log messages. Nil means
	// slog.Default().
	Logger *slog.Logger
	// Unsynced acknowledges an append once it is applied, without waiting
	// for its write-ahead log to reach the disk; Close syncs it (Pebble
	// syncs a log as it closes it). A crash loses acknowledged appends,
	// so only a store nobody serves and that is thrown away unless it is
	// closed whole may set it: callledger import, which loads a temporary
	// directory one stream run at a time and renames it into place once
	// it is closed and verified, and was one fsync per run (16 times
	// slower than the export of the same log, a scale probe found).
	Unsynced bool

	// tailRingBytes and tailRingEvents size the tail ring (see tailRing);
	// zero means tailRingBytes and tailRingEvents. Only tests set them
	// (export_test.go), to wrap a small ring often.
	tailRingBytes, tailRingEvents int

	// skipWALCheck leaves the newest write-ahead log to Pebble alone (see
	// checkNewestWAL). Only tests set it (WithoutWALCheck), to reach
	// Pebble's own refusal of a damaged log.
	skipWALCheck bool

	// fs is the file system Pebble writes through (wrapped to offload
	// syncs); nil means vfs.Default. Only tests set it (WithFS), to fail
	// a disk with errorfs.
	fs vfs.FS
}

// DefaultOptions returns the options tuned for durable ingest on our 2-core
// machines: a 64 MiB memtable and a 512 MiB block cache nearly doubled
// appends at 32 and 128 writers compared with Pebble's defaults.
func DefaultOptions() Options {
	return Options{
		MemTableSize:     64 << 20,
		BlockCacheSize:   512 << 20,
		HeadCacheStreams: 1 << 17,
		Now:              time.Now,
		Logger:           slog.Default(),
	}
}

// headCacheStreamsDefault is the head cache size used when Options leaves it zero.
const headCacheStreamsDefault = 1 << 16

// withDefaults returns o with its zero fields replaced by their documented meaning.
func (o Options) withDefaults() Options {
	if o.HeadCacheStreams == 0 {
		o.HeadCacheStreams = headCacheStreamsDefault
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.tailRingBytes == 0 {
		o.tailRingBytes = tailRingBytes
	}
	if o.fs == nil {
		o.fs = vfs.Default
	}
	if o.tailRingEvents == 0 {
		o.tailRingEvents = tailRingEvents
	}
	return o
}
