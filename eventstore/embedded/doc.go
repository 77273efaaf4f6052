// Package embedded is the default eventstore backend: a Pebble database in a
// local directory, written by one committer goroutine that gathers every
// waiting append into one synced batch (group commit).
//
// # Stored format, version 1
//
// Everything below is a stored format: stores written with it must stay
// readable forever. Never change an encoding silently; add a new key prefix
// or a new format version (the "Mformat" key) and keep reading the old one.
//
// All integers are big-endian, so that byte order is numeric order. A
// stream id inside a key is prefixed with its length as a uint16, so that no
// stream's keys can be mistaken for another's. Keys, by their first byte:
//
//	"Mformat"                       -> 1 byte: the format version (1).
//	"Mhead"                         -> position (uint64) ++ $all head hash (32 bytes):
//	                                   the last committed position and its AllHash,
//	                                   rewritten by every group commit.
//	'E' ++ position (uint64)        -> the record value (below): the $all log,
//	                                   one key per event, positions 1, 2, 3, ...
//	'S' ++ len (uint16) ++ stream ++ revision (uint64)
//	                                -> position (uint64): the stream index.
//	'H' ++ len (uint16) ++ stream   -> last revision (uint64) ++ last Hash (32 bytes):
//	                                   the stream head, for the revision check.
//	'I' ++ event id (16 bytes)      -> position (uint64) ++ revision (uint64) ++
//	                                   len (uint16) ++ stream: the idempotency index.
//
// Positions are a 1-based sequence with no gaps: the n-th event ever
// committed is at Position{Commit: n, Prepare: n}.
//
// The record value stored under an 'E' key is, in order:
//
//	offset  size  field
//	0       1     record format version (1)
//	1       8     RecordedAt, Unix nanoseconds (int64), UTC
//	9       8     revision (uint64)
//	17      16    event id
//	33      32    Hash: eventstore.ChainHash over the stream
//	65      32    AllHash: eventstore.AllChainHash over $all
//	97      2     len(stream) (uint16), then the stream id bytes
//	.       2     len(type) (uint16), then the type bytes
//	.       4     len(data) (uint32), then the data bytes
//	.       4     len(metadata) (uint32), then the metadata bytes
//	.       4     CRC-32C (Castagnoli) of every byte before it
//
// and nothing after. The position is not repeated in the value: it is the
// key. RecordedAt never decreases along $all: a group is recorded at the
// clock's time, or at the last event's RecordedAt when the clock reads
// earlier (committer.recordingTime). The checksum catches damage to any byte, RecordedAt included, which
// the hash chains do not cover. A value that does not decode (checksum
// mismatch, short, a length past the end, trailing bytes, an unknown
// version) is reported as an error wrapping ErrCorrupt that
// names the position, and the event's stream and revision when an index
// key confirms them: the 'S' key of the stream and revision the damaged
// value holds, or else the 'I' key of the event id it holds, naming that
// position (the value's own copy is not trusted, as the damage may be in
// it); a value that decodes but was altered is caught by
// recomputing Hash and AllHash. To tamper with an event in a test, close
// the store, open the directory with pebble.Open, rewrite the value under
// 'E' ++ position, and open the store again: the store that wrote the event
// may still serve it from its tail ring (see "Reads of the tail"), which
// holds the value as written, and a reopened store's ring is empty.
//
// Below the records, Pebble checks each block of its tables against a
// checksum of its own as it reads it. A block holds keys and their values:
// about 32 KiB of them in the tables written since Open sets that size,
// 4 KiB (Pebble's default) in tables written before, which stay as they
// are until a compaction rewrites them. Every read that needs a damaged
// block fails with an error wrapping ErrCorrupt that names what was being
// read (the position of the first event it could not read, or the index
// key) and the damaged file with the range of keys it holds; Pebble's
// corruption report goes to the log, and nothing panics. A read of older
// events that Pebble also positions in a newer table damaged at its start
// returns the events before that table and names its first event (see
// readAll). Nothing in a damaged block can be read, so the streams of its
// events are not named: the keys that could name them ('I' values and 'S'
// keys hold a position with its stream) are found only by scanning the
// whole index, which a failing read does not do.
//
// Before Pebble opens, Open reads the newest write-ahead log and refuses
// the store when a record in it is damaged yet a later record says the
// log was synced past it, which Pebble would read as a torn write and
// drop with everything after it (see walcheck.go).
//
// Open reads the block that holds the last event, and those of "Mformat"
// and "Mhead", to check the stored head: when one of them is damaged, it
// refuses the store with an error wrapping ErrCorrupt that names the file,
// and neither verify nor export can run on it.
//
// # The index check
//
// Every key but the events is derived from them, and read where no hash
// chain covers it: Append checks expected revisions against the 'H' keys
// and chains a stream's next event onto their hash, finds idempotent
// retries through the 'I' keys, and Open resumes the $all chain from
// "Mhead"; ReadStream reads through the 'S' keys up to the durable end of
// $all only. So a wrong index key shows in no read: a stream head naming
// another revision or hash makes the stream's next append fail or chain
// onto a hash that is not its last event's, and an 'S' key past the head
// of its stream, or any key of a stream $all does not hold, is never read
// at all. Store.CheckIndex (eventstore.IndexChecker, which
// eventstore.Verify and so callledger verify run) proves, in one Pebble
// snapshot, that the keys are exactly those the events make:
//
//   - "Mhead" names the last event's position and AllHash (Open already
//     refuses one naming another position).
//   - Every event, walked in position order, has its 'S' key naming its
//     position (one seek each), and the event at which a stream's 'S' keys
//     end has its stream's 'H' key naming its revision and Hash.
//   - The 'S' keys, walked in key order beside the 'H' keys (both sort by
//     stream alike), run from revision 0 without gaps up to the head's
//     revision, every 'H' key has 'S' keys, and there are as many 'S' keys
//     as events.
//   - The 'I' keys with their values, walked in key order, are the set of
//     those the events make (each event's id naming its position, stream
//     and revision). Seeking each event's id, at random in the keys, took
//     twice as long as the rest of the check (6 of 9 s over a million
//     events), so the two sets are compared by a digest instead: the sum
//     of the SHA-256 of each key and value under a key drawn at random for
//     the check (see setDigest), which misses a difference with a chance
//     of about 2^-256, and which nobody can forge keys to cancel out in,
//     not knowing the hashes before the check runs.
//
// Two events of one stream and revision would need one 'S' key to name two
// positions, so each event has an 'S' key of its own: with as many 'S' keys
// as events, every 'S' key is an event's, and every stream has its 'H' key,
// since a stream's last 'S' key is its last event's, whose 'H' key the pass
// over the events checks. Only when a count or the digest is off are the
// keys (each event's, then the event each key names) looked up one by
// one, to name the one at fault. The first key that disagrees is reported
// (eventstore.Problem.Key names it: "stream index key 'S' (stream s,
// revision r)", "stream head key 'H' (stream s)", "id index key 'I' (event
// id)" or `head key "Mhead"`), a stream head after every other problem of
// the pass over the events, so that a missing 'S' key is not reported as
// the wrong head it makes the stream seem to have. Memory stays a few
// iterators, whatever the log's size. Over a log of a million events
// (TestVerifyTiming) the check reads for about as long as Verify's pass
// over $all and adds a quarter to Verify's time. Keys of no documented
// prefix are not checked.
//
// # Writes
//
// An append becomes one 'E', one 'S' and one 'I' key per event and one 'H'
// key per stream, written with the "Mhead" key of its group in one Pebble
// batch applied with pebble.Sync: first the group's records in position
// order, then its index keys in key order, each stream's head once (see
// indexWrites: sorted keys are cheaper to insert into the memtable). One committer goroutine gathers every
// waiting append (at most groupAppendsMax, groupBytesMax bytes), checks
// each against the stream heads and ids of the store and of the appends
// before it in the group (each Append has looked its ids up beforehand, in
// its own goroutine: see lookup.go), assigns revisions, positions and both
// hashes, and applies the group's batch without waiting
// for its WAL sync (DB.ApplyNoSyncWait), so that it can stage the next
// group while the disk syncs this one; Pebble syncs every batch applied
// meanwhile with one fsync. After each apply the committer yields its P
// (yieldToWALWriter), so that Pebble's WAL writer, which the apply made
// runnable, writes the batch and starts its sync before the goroutines
// queued ahead of it. A syncer goroutine waits for each batch's sync
// (Batch.SyncWait), in order, then publishes the new end of $all and
// acknowledges the group's appends.
//
// Pebble's fsyncs and fdatasyncs (the WAL's above all) run on a few threads
// outside Go's scheduler (syncPool, with cgo on Linux; elsewhere they run on
// the calling goroutine): a goroutine in a blocking system call keeps its P
// for up to 10 ms, and under load the WAL's syncs kept one of two Ps from
// running Go code a quarter of the time.
//
// Pebble makes an applied batch visible to its readers before the WAL sync
// completes. Every read of this package therefore stops at the published
// end of $all: no reader sees an event that a crash could take back, and
// positions become visible strictly in order. Every acknowledged append is
// synced, but in a store opened with Options.Unsynced (import's temporary
// store, thrown away unless it is closed whole): there the committer
// applies each group with pebble.NoSync and the syncer publishes it at
// once, and Close syncs the log.
//
// # Reads of the tail
//
// A projection runner follows $all live: after each group's sync it reads
// the events just committed (ReadAllPage after the last it read). Through
// Pebble, each such read builds an iterator that positions itself in every
// table whose keys overlap the events' (every flushed table does, its
// index keys spanning the others'): ~0.75 of the read's ~1.25 µs of CPU per
// upsert over 40k upserts in a fresh store, and the read takes ~2.5 µs
// after 100k upserts, as tables accumulate. So the committer copies each
// record value it stages, the exact bytes of its 'E' key, into a ring
// (tailRing) of fixed size, allocated once at Open: 1 MiB of values and
// 4096 slots locating them by position, ~1,500 Moonbase upserts, a dozen
// groups under load. Its memory does not grow with the load: at the GOGC
// of 1000 callledger runs with, each MiB of live heap lets the heap grow
// ~11 MiB more before a collection, all of it fresh pages to fault in. The
// oldest values go as new ones need their bytes or slots.
//
// readAll serves a read from the ring when it holds every position the
// read needs, up to the published durable end as every read (the ring may
// hold staged, unsynced values, and those of a group whose apply or sync
// failed, after which nothing is published again, but no read asks for
// them). Each value goes through the same decode as one read from Pebble,
// checksum included, into the same Records; one that does not decode
// (which only a bug could make) is not served, and the read goes to
// Pebble. Anything else, a read that begins before the ring (older events,
// a reader that fell behind by more than the ring, evicted values) and any
// read after a reopen, reads Pebble as before. As the ring holds values as
// written, damage done to the stored copy since (a table on disk) shows
// only in reads from Pebble: a test that damages a store reopens it (see
// above). A mutex guards the ring: the committer adds the values of each
// append it stages under it, taking it once for them all, and a reader
// copies the raw values it needs out under it, so no value is overwritten
// while a reader copies it, then decodes its copy without it. So the
// committer waits at most for the copy of a ring of values (a few moves of
// memory), never for a decode. A read copies into a buffer of its own, no
// larger than the ring, taken from a pool so that reads seldom allocate
// one.
package embedded
