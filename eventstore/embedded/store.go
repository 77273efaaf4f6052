package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
)

// Type is the backend's name, as configuration files spell it.
const Type = "embedded"

var (
	_ eventstore.Store       = (*Store)(nil)
	_ eventstore.TimeOrdered = (*Store)(nil)
)

// pebbleFormat pins Pebble's on-disk format major version, so that a newer
// Pebble does not silently ratchet a store past what this build can read.
const pebbleFormat = pebble.FormatValueSeparation

// Bounds of the group commit: how many appends, and how many bytes of event
// data, one synced batch may gather, and how many appends may wait for it.
const (
	groupAppendsMax = 1024
	groupBytesMax   = 16 << 20
	queueAppendsMax = 4096
)

// Store is the embedded event store: a Pebble database written by one
// committer goroutine. It is safe for concurrent use. Create it with Open.
type Store struct {
	db *pebble.DB
	// lock is the directory's lock, which Open takes before Pebble opens
	// (see lockDir) and Close releases after Pebble has closed.
	lock *pebble.Lock
	// acked keeps the acknowledged head file (see ackedhead.go); nil for
	// an unsynced store.
	acked *ackedHeadWriter
	// syncs runs Pebble's fsyncs off the Go scheduler (see syncPool);
	// closed after db.
	syncs  *syncPool
	now    func() time.Time
	logger *slog.Logger

	// queue carries appends to the committer. Senders hold mu for reading
	// and check closed, so Close can close queue once it holds mu.
	queue         chan *appendRequest
	committerDone chan struct{}

	// mu guards closed and the lifetime of db: reads hold it for reading,
	// Close takes it for writing before closing db.
	mu       sync.RWMutex
	closed   bool
	closedCh chan struct{} // closed by Close, to wake subscribers

	// head is the last durable position and its $all hash, published by the
	// syncer after each synced batch. Pebble makes a batch visible to its
	// readers before the WAL sync completes, so every read stops at head:
	// no reader sees an event that a crash could still take back.
	head atomic.Pointer[logHead]

	// applied is the last position applied to Pebble, and so visible to
	// the lookups of Append (see lookup.go); it may be ahead of head.
	applied atomic.Uint64

	// tail holds the values of the last events written, from which readAll
	// serves the reads of the log's tail (see tailRing).
	tail *tailRing

	// keys answers, without Pebble, most lookups of keys that do not
	// exist: new event ids and new streams (see keyfilter.go).
	keys *keyFilter

	// failed holds the error of a failed batch sync or apply. The committer
	// stages each group on top of the previous one before that one is
	// synced, so after a failure no later append can be trusted: every
	// append fails until the store is reopened.
	failed pebblelog.Failure

	// notifyMu guards notify, which the syncer closes and replaces after
	// each synced batch, to wake live subscribers, and which Close closes
	// for good.
	notifyMu sync.Mutex
	notify   chan struct{}

	// checks counts the CheckIndex calls in progress: each holds a Pebble
	// snapshot and iterators over many batches of keys without holding mu,
	// so Close waits for them (they stop once closedCh is closed) before
	// it closes db. CheckIndex adds to it holding mu for reading, before
	// Close can have set closed.
	checks sync.WaitGroup
}

// logHead is the end of $all.
type logHead struct {
	position uint64
	allHash  eventstore.Hash
	// recordedAt is the RecordedAt of the event at position (Unix
	// nanoseconds), 0 for an empty store or when that record does not
	// parse (Verify reports it): the floor of the next group's RecordedAt
	// (see committer.recordingTime).
	recordedAt int64
}

// Open opens the store in dir, creating it if needed, and starts its
// committer. The caller must Close it.
func Open(dir string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	syncs := &syncPool{}
	popts := &pebble.Options{
		FS:                          syncOffloadFS(opts.fs, syncs),
		FormatMajorVersion:          pebbleFormat,
		MemTableSize:                opts.MemTableSize,
		MemTableStopWritesThreshold: 4,
		Logger:                      pebblelog.Logger{Log: opts.Logger.With("component", "pebble")},
		EventListener: &pebble.EventListener{
			BackgroundError: pebblelog.BackgroundErrors(opts.Logger.With("dir", dir)),
			// Pebble reports a table it finds damaged (a block whose
			// checksum fails) here, synchronously, from the read that
			// found it, and that read then fails with Pebble's corruption
			// error, which pebbleError turns into ErrCorrupt naming the
			// file. Left unset, it would call Logger.Fatalf, whose panic
			// would take down verify, export or a server's request over
			// one flipped byte of one table.
			DataCorruption: pebblelog.CorruptionListener(opts.Logger.With("dir", dir), keyRange),
		},
	}
	// Bloom filters let the idempotency check's lookups of new event ids,
	// which almost always miss, skip most tables.
	//
	// The log is mostly scanned (rebuilds, subscriptions catching up,
	// export, verify), and a scan of a log larger than the block cache pays
	// for every block it loads: a read, a decompression, a cache insert.
	// 32 KiB blocks instead of Pebble's 4 KiB cut the cost of reading $all
	// from tables by about a third (0.75 → 0.5 µs an event); a cold point
	// read decompresses more, but appends check heads in the head cache and
	// new ids in the key filter, and recent streams sit in the memtable and
	// the block cache. MinLZ (Pebble's "fastest" profile on amd64) inflates
	// faster than Snappy at about the same size. Both apply to tables
	// written from now on; older tables stay readable as they are.
	for i := range popts.Levels {
		popts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		popts.Levels[i].BlockSize = 32 << 10
		popts.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.FastestCompression }
	}
	if opts.BlockCacheSize > 0 {
		cache := pebble.NewCache(opts.BlockCacheSize)
		defer cache.Unref() // the DB holds its own reference
		popts.Cache = cache
	}
	// The store holds the directory's lock from before the check of the
	// newest write-ahead log (see walcheck.go), so that no other process
	// writes the log while it is read, until after Pebble has closed.
	lock, err := lockDir(dir)
	if err != nil {
		syncs.close()
		return nil, fmt.Errorf("open embedded store %s: %w", dir, err)
	}
	popts.Lock = lock
	// failLocked releases what Open holds before Pebble is open.
	failLocked := func(err error) (*Store, error) {
		syncs.close()
		return nil, errors.Join(fmt.Errorf("open embedded store %s: %w", dir, err), lock.Close())
	}
	if !opts.skipWALCheck {
		if err := checkNewestWAL(vfs.Default, dir); err != nil {
			return failLocked(err)
		}
	}
	acked, hasAcked, err := readAckedHead(dir)
	if err != nil {
		return failLocked(fmt.Errorf("%w (remove the file to open the store without this check)", err))
	}
	if hasAcked {
		// Look before a read-write open replays the logs and deletes them
		// (see ackedhead.go).
		if err := checkAckedHeadReadOnly(dir, popts, acked); err != nil {
			return failLocked(err)
		}
	}
	db, err := openPebble(dir, popts)
	if err != nil {
		return failLocked(err)
	}
	// failOpen closes what Open opened, db first (its syncs need the pool).
	failOpen := func(err error) (*Store, error) {
		err = errors.Join(fmt.Errorf("open embedded store %s: %w", dir, err), db.Close(), lock.Close())
		syncs.close()
		return nil, err
	}
	head, err := loadHead(db)
	if err != nil {
		return failOpen(err)
	}
	if hasAcked {
		if err := checkAckedHead(head, acked); err != nil {
			return failOpen(err)
		}
	}
	s := &Store{
		db:            db,
		lock:          lock,
		syncs:         syncs,
		now:           opts.Now,
		logger:        opts.Logger,
		queue:         make(chan *appendRequest, queueAppendsMax),
		committerDone: make(chan struct{}),
		closedCh:      make(chan struct{}),
		notify:        make(chan struct{}),
	}
	s.head.Store(&head)
	if !opts.Unsynced {
		// Before the key filter's scan, whose iterator a failed open's
		// db.Close would find outstanding.
		s.acked, err = startAckedHeadWriter(dir, head, func() logHead { return *s.head.Load() }, func(err error) {
			opts.Logger.Warn("the acknowledged head is not kept up to date", "dir", dir, "err", err)
		})
		if err != nil {
			return failOpen(err)
		}
	}
	s.applied.Store(head.position)
	s.tail = newTailRing(head.position+1, opts.tailRingBytes, opts.tailRingEvents)
	// One 'I' key per event and at most one 'H' key per event: up to twice
	// the log's events, and room for half as many more before the filter
	// grows (10 bits a key: ~36 MiB for a log of 10M events).
	s.keys = newKeyFilter(3 * int64(head.position))
	if err := s.keys.startScan(db, func(err error) {
		opts.Logger.Warn("key filter not built: lookups of new ids and streams go to Pebble", "dir", dir, "err", err)
	}); err != nil {
		if s.acked != nil {
			err = errors.Join(err, s.acked.close(head))
		}
		return failOpen(err)
	}
	c := &committer{
		store:    s,
		syncs:    make(chan *inflight, inflightMax),
		free:     make(chan *inflight, inflightsMax),
		heads:    newHeadCache(opts.HeadCacheStreams),
		lastPos:  head.position,
		allHash:  head.allHash,
		lastAt:   head.recordedAt,
		recent:   recentGroups{floor: head.position},
		unsynced: opts.Unsynced,
	}
	go c.run()
	return s, nil
}

// checkAckedHeadReadOnly opens the store in dir with Pebble read-only
// (which replays the write-ahead logs but writes and deletes nothing) and
// refuses it (checkAckedHead) when its log ends before acked. A store that
// does not open so is left to the read-write open and its own checks.
func checkAckedHeadReadOnly(dir string, popts *pebble.Options, acked logHead) error {
	ro := *popts
	ro.ReadOnly = true
	db, err := openPebble(dir, &ro)
	if err != nil {
		return nil
	}
	head, err := loadHead(db)
	err = errors.Join(err, db.Close())
	if err != nil {
		return nil
	}
	return checkAckedHead(head, acked)
}

// loadHead checks the stored format version, writing it into a new store,
// and returns the end of $all, checked against the last stored event.
func loadHead(db *pebble.DB) (logHead, error) {
	var head logHead
	lastPos, recordedAt, err := lastEvent(db)
	if err != nil {
		return head, err
	}
	head.recordedAt = recordedAt
	v, closer, err := db.Get([]byte(keyFormat))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		if lastPos != 0 {
			return head, fmt.Errorf("events without a format version: %w", ErrCorrupt)
		}
		if err := db.Set([]byte(keyFormat), []byte{formatVersion}, pebble.Sync); err != nil {
			return head, fmt.Errorf("write format version: %w", err)
		}
		return head, nil
	case err != nil:
		return head, fmt.Errorf("read format version: %w", pebbleError(err))
	}
	version := append([]byte(nil), v...)
	closer.Close()
	if len(version) != 1 || version[0] != formatVersion {
		return head, fmt.Errorf("stored format version %x, this build reads %d: %w", version, formatVersion, ErrCorrupt)
	}

	v, closer, err = db.Get([]byte(keyHead))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		if lastPos != 0 {
			return head, fmt.Errorf("events up to position %d without a %s key: %w", lastPos, keyHead, ErrCorrupt)
		}
		return head, nil
	case err != nil:
		return head, fmt.Errorf("read %s: %w", keyHead, pebbleError(err))
	}
	head.position, head.allHash, err = decodeMetaHead(v)
	closer.Close()
	if err != nil {
		return head, err
	}
	if head.position != lastPos {
		return head, fmt.Errorf("%s names position %d but the last event is at %d: %w", keyHead, head.position, lastPos, ErrCorrupt)
	}
	return head, nil
}

// lastEvent returns the position of the last stored event, 0 if none, and
// its RecordedAt, 0 if its record does not parse: a damaged record must not
// keep the store from opening, or Verify could not report it.
func lastEvent(db *pebble.DB) (pos uint64, recordedAt int64, err error) {
	it, err := db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixEvent},
		UpperBound: []byte{prefixEvent + 1},
	})
	if err != nil {
		return 0, 0, fmt.Errorf("find last event: %w", pebbleError(err))
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return 0, 0, fmt.Errorf("find last event: %w", pebbleError(err))
		}
		return 0, 0, nil
	}
	if pos, err = parseEventKey(it.Key()); err != nil {
		return 0, 0, err
	}
	var f recordFields
	if v, err := it.ValueAndErr(); err == nil && parseRecord(pos, v, &f) == nil {
		recordedAt = f.recordedAt
	}
	return pos, recordedAt, nil
}

// Head returns the position of the last committed event and its AllHash,
// the head of the $all chain: Start and the zero Hash for an empty store.
// Audit tools compare it with the chain they recompute from ReadAll.
func (s *Store) Head(ctx context.Context) (eventstore.Position, eventstore.Hash, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.Start, eventstore.Hash{}, fmt.Errorf("head: %w", err)
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return eventstore.Start, eventstore.Hash{}, fmt.Errorf("head: %w", eventstore.ErrClosed)
	}
	h := s.head.Load()
	return eventstore.Position{Commit: h.position, Prepare: h.position}, h.allHash, nil
}

// Close waits for queued appends to commit, stops the committer and closes
// Pebble. Later calls return ErrClosed; Close itself may be called again and
// then returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	// closedCh ends subscriptions now; notify cannot stand in for it, as
	// the syncer closes and replaces notify until the committer is done,
	// and only then is it closed for good (below).
	close(s.closedCh)
	// No sender holds mu any more, and new ones see closed: queue can close.
	close(s.queue)
	s.mu.Unlock()

	<-s.committerDone
	var ackedErr error
	if s.acked != nil {
		// Every append is answered: the head is the log's end. (No flush
		// here to spare the next Open's read-only look a replay: Pebble
		// panics past recovery when a flush cannot create its new log, as
		// on the full disk a failed store may stand on.)
		ackedErr = s.acked.close(*s.head.Load())
	}
	s.keys.stopScan()
	// Wake the followers of CommitNotify, whose next read fails with
	// ErrClosed; with the syncer gone, nothing replaces the closed channel.
	s.notifyMu.Lock()
	close(s.notify)
	s.notifyMu.Unlock()

	s.checks.Wait()
	s.mu.Lock() // wait for reads in progress
	defer s.mu.Unlock()
	err := errors.Join(ackedErr, s.db.Close(), s.lock.Close())
	s.syncs.close()
	if err != nil {
		return fmt.Errorf("close embedded store: %w", err)
	}
	return nil
}

// fail records the first commit failure; see Store.failed.
func (s *Store) fail(err error) {
	wrapped := fmt.Errorf("embedded: %w: %w: it refuses every append until it is opened again (restart callledger)", eventstore.ErrFailed, err)
	if s.failed.Set(wrapped) {
		s.logger.Error("commit failed: refusing appends until reopened", "err", err)
	}
}

// failure returns the error that failed the store, or nil.
func (s *Store) failure() error {
	return s.failed.Err()
}

var _ eventstore.CommitNotifier = (*Store)(nil)

// CommitNotify returns the channel the next synced batch, or Close, will
// close; see eventstore.CommitNotifier.
func (s *Store) CommitNotify() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.notify
}

// publish makes a committed batch's end of $all known and wakes subscribers.
func (s *Store) publish(h logHead) {
	s.head.Store(&h)
	s.notifyMu.Lock()
	close(s.notify)
	s.notify = make(chan struct{})
	s.notifyMu.Unlock()
}

// lockDir creates dir if need be and takes its lock as Pebble's Open
// would (pebble.LockDirectory), so that Open can read the write-ahead
// logs before Pebble does with no other process writing them.
func lockDir(dir string) (*pebble.Lock, error) {
	// Owner only: the log holds every call's data, and Pebble writes its
	// files readable by all under the usual umask.
	if err := vfs.Default.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return pebble.LockDirectory(dir, vfs.Default)
}

// openPebble opens the Pebble database in dir with popts, whose Lock the
// caller holds. Pebble writes the write-ahead log of a new database, or of
// one of a format older than FormatWALSyncChunks, before it raises the
// format to popts.FormatMajorVersion, and so without the synced offsets
// that let checkNewestWAL tell damage from a torn write: such a database
// is closed and opened again at once, so that every log the store writes
// to carries them. When Pebble cannot replay a log, the error names the
// damaged log (see walDamage). Both opens go through pebblelog.Open,
// which gives up, rather than wait forever, when Pebble cannot flush the
// log it replays (a full disk).
func openPebble(dir string, popts *pebble.Options) (*pebble.DB, error) {
	desc, err := pebble.Peek(dir, popts.FS)
	if err != nil {
		return nil, err
	}
	db, err := pebblelog.Open(dir, popts)
	if err != nil {
		switch {
		case pebble.IsCorruptionError(err):
			err = walDamage(vfs.Default, dir, err)
		case errors.Is(err, pebblelog.ErrNoManifest):
			err = fmt.Errorf("%w: %w; restore the data directory from a backup or an export (callledger import)", ErrCorrupt, err)
		}
		return nil, err
	}
	if desc.Exists && desc.FormatMajorVersion >= pebble.FormatWALSyncChunks {
		return db, nil
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	return pebblelog.Open(dir, popts)
}

// RecordedAtNeverDecreases reports that the store's RecordedAt never
// decreases along $all (see committer.recordingTime), so that Verify holds
// it to that (eventstore.TimeOrdered).
func (s *Store) RecordedAtNeverDecreases() bool { return true }
