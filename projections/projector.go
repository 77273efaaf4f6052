package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
)

// Sentinel errors of the package. Callers test with errors.Is: they usually
// arrive wrapped.
var (
	// ErrNotFound is returned by Call and Lookup when the read model has no
	// such call (it does not exist, or the runner has not applied it yet:
	// call WaitFor first to read your own writes).
	ErrNotFound = errors.New("projections: not found")
	// ErrInvalidQuery is returned by List and Billing for a query they cannot
	// answer: a missing account, an unknown group-by, a bad cursor, a limit
	// out of range.
	ErrInvalidQuery = errors.New("projections: invalid query")
	// ErrClosed is returned by calls on a closed Projector.
	ErrClosed = errors.New("projections: closed")
	// ErrRunning is returned by Run when another Run is already feeding the
	// Projector: one runner per read-model database.
	ErrRunning = errors.New("projections: already running")
	// ErrFormat is returned by Open for a database written with another
	// key/value layout version; Rebuild it (callledger replay).
	ErrFormat = errors.New("projections: read-model format differs, rebuild needed")
	// ErrForeignLog is returned by CheckLog when the read models were built
	// from another log than the store's (a store replaced or imported under
	// them): Rebuild them.
	ErrForeignLog = errors.New("projections: read models of another log, rebuild needed")
	// ErrCorrupt is returned, wrapped with the damaged file, by Open, the
	// queries and the runner's reads when Pebble finds a table of the
	// read-model database damaged (a block whose checksum fails: a
	// failing disk). The read models cannot be trusted or repaired in
	// place, but they are derived from the log: Rebuild them (callledger
	// replay). Run logs it and retries, as for any error, until then.
	ErrCorrupt = errors.New("projections: read models damaged on disk, rebuild them (callledger replay)")
	// ErrFailed is returned, wrapped with the cause, by WaitFor once the
	// runner has stopped for good (the read models' database could not
	// write: a full disk): the read models will not advance until
	// callledger is restarted, so a reader waiting for them would wait
	// in vain.
	ErrFailed = errors.New("projections: the read models failed and cannot advance until callledger is restarted")
)

// pebbleError returns err, which a read of the read-model database
// returned, as an error wrapping ErrCorrupt and naming the damaged file
// when it is Pebble's report of on-disk corruption, and unchanged
// otherwise (see pebblelog.Wrap). Keys are named by their bytes: the read
// models hold nothing that cannot be rebuilt, so which keys were lost
// matters less than that they were.
func pebbleError(err error) error {
	return pebblelog.Wrap(err, ErrCorrupt, nil)
}

// Options tune a Projector. Every field must be set; DefaultOptions gives
// values measured on our 2-core machines. Pebble's own options are set from
// these at the call site (openPebble), never left to Pebble's defaults.
type Options struct {
	// MemTableBytes is Pebble's memtable size. Large memtables keep a
	// rebuild's writes in memory until they flush as sorted tables.
	MemTableBytes uint64
	// CacheBytes is Pebble's block cache, which serves Call, List and Billing reads.
	CacheBytes int64
	// BatchEventsMax is the most events one Pebble batch accounts for.
	BatchEventsMax int
	// BatchCallsMax is the most distinct calls one Pebble batch writes.
	BatchCallsMax int
	// CallCacheMax bounds the call states the runner keeps in memory between
	// batches, so that a call touched by consecutive batches is not read back
	// and decoded. It must be at least BatchCallsMax. As many entries
	// (about 1 KiB each, and what their last states hold until they are
	// reused) are kept for reuse once calls leave the cache, so that states
	// are not allocated afresh for every call.
	CallCacheMax int
	// LiveCallCacheMax bounds the call states kept while the runner is
	// live (it has caught up with the log and commits whenever it runs out
	// of events); CallCacheMax bounds them during a rebuild and while a
	// backlog is read. Above CallCacheMax it is CallCacheMax.
	//
	// Why a smaller bound live: a call's events reach a live server minutes
	// apart, so a cached state is reused only by events of the same burst,
	// and a miss costs one read of the call view (a few microseconds, where
	// live traffic is light enough for the cache to hold minutes of calls
	// at all). Meanwhile every cached state (about 1.2 KiB) is live heap,
	// which the garbage collector's target of 1000 (cmd/callledger)
	// multiplies by 11: 16k states kept ~220 MiB of heap, and in a fresh
	// server the heap's growth to it cost a page fault per 4 KiB allocated
	// (~45k faults, ~3 µs per upsert over BenchmarkLoopback's 40k upserts).
	LiveCallCacheMax int
	// DecodeWorkers is how many goroutines decode events in parallel.
	DecodeWorkers int
	// ChunkEventsMax is the most events handed to a decode worker at once.
	ChunkEventsMax int
	// ChunksInFlightMax bounds the chunks read ahead of the applier, and so
	// the memory of the pipeline: about ChunkEventsMax×ChunksInFlightMax events.
	ChunksInFlightMax int
	// ReadPageEvents is the page size of the ReadAll calls that feed Rebuild.
	ReadPageEvents int
	// RetryDelayMin and RetryDelayMax bound the pause before Run resubscribes
	// after an error; the pause doubles on each consecutive failure.
	RetryDelayMin time.Duration
	RetryDelayMax time.Duration
	// LogCheckInterval is how often a running Run checks that the store's
	// log still holds the event its checkpoint names (CheckLog), so that a
	// log replaced under a running server (another KurrentDB database at
	// the same address) stops the runner rather than having it serve the
	// old log's calls beside the new one's; 0 is every 10 seconds.
	LogCheckInterval time.Duration
	// Logger receives the runner's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock that stamps checkpoints. Nil means time.Now.
	Now func() time.Time

	// fs is the file system the read models' database writes through;
	// nil means Pebble's default. Only tests set it, to fail a disk.
	fs vfs.FS
}

// DefaultOptions returns options for a server on a small machine: 64 MiB
// of memtable, 128 MiB of block cache and, during a rebuild, up to 16k cached
// call states and 16k events in flight (a live heap of about 60 MiB in
// BenchmarkProjection). 16k events in flight keep the decoders busy while
// the applier commits a batch of up to 16k events.
func DefaultOptions() Options {
	return Options{
		MemTableBytes:     64 << 20,
		CacheBytes:        128 << 20,
		BatchEventsMax:    16384,
		BatchCallsMax:     8192,
		CallCacheMax:      16384,
		LiveCallCacheMax:  2048,
		DecodeWorkers:     runtime.GOMAXPROCS(0),
		ChunkEventsMax:    256,
		ChunksInFlightMax: 64,
		ReadPageEvents:    2048,
		RetryDelayMin:     100 * time.Millisecond,
		RetryDelayMax:     5 * time.Second,
	}
}

// validate checks the bounds the runner relies on.
func (o Options) validate() error {
	switch {
	case o.MemTableBytes < 1<<20:
		return fmt.Errorf("projections: MemTableBytes %d is below 1 MiB", o.MemTableBytes)
	case o.CacheBytes < 1<<20:
		return fmt.Errorf("projections: CacheBytes %d is below 1 MiB", o.CacheBytes)
	case o.BatchEventsMax < 1:
		return fmt.Errorf("projections: BatchEventsMax must be positive")
	case o.BatchCallsMax < 1:
		return fmt.Errorf("projections: BatchCallsMax must be positive")
	case o.CallCacheMax < o.BatchCallsMax:
		return fmt.Errorf("projections: CallCacheMax %d is below BatchCallsMax %d", o.CallCacheMax, o.BatchCallsMax)
	case o.LiveCallCacheMax < 1:
		return fmt.Errorf("projections: LiveCallCacheMax must be positive")
	case o.DecodeWorkers < 1 || o.DecodeWorkers > 256:
		return fmt.Errorf("projections: DecodeWorkers %d is not in 1..256", o.DecodeWorkers)
	case o.ChunkEventsMax < 1 || o.ChunksInFlightMax < 1:
		return fmt.Errorf("projections: ChunkEventsMax and ChunksInFlightMax must be positive")
	case o.ReadPageEvents < 1:
		return fmt.Errorf("projections: ReadPageEvents must be positive")
	case o.RetryDelayMin <= 0 || o.RetryDelayMax < o.RetryDelayMin:
		return fmt.Errorf("projections: retry delays must satisfy 0 < min <= max")
	}
	return nil
}

// Projector keeps the read models of callledger in their own Pebble
// database, fed from any eventstore.Store. Queries (Call, Lookup, List,
// Billing, Digest, Status, WaitFor) are safe for concurrent use with each
// other and with Run or Rebuild.
type Projector struct {
	// db holds the read models that queries read.
	db    *pebble.DB
	dir   string
	store eventstore.Store
	opts  Options
	log   *slog.Logger
	// blocks is the block cache db shares with a Rebuild's build database;
	// popts are db's Pebble options, which the build database and the
	// sstables a Rebuild ingests are written with.
	blocks *pebble.Cache
	popts  *pebble.Options

	// runMu is held by whoever applies events: a Run session or Rebuild.
	// Only its holder writes to db, uses dst and touches cache.
	runMu sync.Mutex
	// dst is the database the applier writes: db while Run feeds the read
	// models, the build database while a Rebuild builds them aside.
	dst *pebble.DB
	// pb is the Pebble batch of pbDB that commits reuse; pbBytes is the
	// largest batch committed, up to batchRetainedBytesMax.
	pb      *pebble.Batch
	pbDB    *pebble.DB
	pbBytes int
	cache   *callCache
	// buildRemoved is closed when the last Rebuild's build database is
	// closed and removed (removeBuild); nil if none is pending.
	buildRemoved chan struct{}
	// enc encodes call views; nexts holds the derived entries of the
	// commit in progress and deltas its billing changes, both reused from
	// commit to commit.
	enc    callEncoder
	nexts  []derived
	deltas map[bucket]totals
	writes writes

	// evolveInPlace, if not nil, folds instead of domain.EvolveInPlace:
	// only tests set it, to fold with a domain bug (see evolve).
	evolveInPlace func(*domain.State, domain.Envelope)

	// primed holds the events writers handed over decoded (Prime).
	primed primedEvents
	// itemSlices recycles the items of applied chunks: a rebuild would
	// otherwise allocate an item for every event.
	itemSlices sync.Pool
	// recordPages recycles the pages the log is read into (see pages.go),
	// when the store is an eventstore.PageReader.
	recordPages sync.Pool

	// closeMu is read-held by every query while it uses db, and held by
	// Close while it closes db, which Pebble requires to have no open
	// iterators.
	closeMu sync.RWMutex

	// mu guards the fields below it.
	mu sync.Mutex
	// cp is the last checkpoint committed to db.
	cp checkpoint
	// building is true while a Rebuild writes into its build database;
	// buildCP is the last checkpoint committed there.
	building bool
	buildCP  checkpoint
	// advanced is closed and replaced each time cp changes, waking WaitFor.
	advanced chan struct{}
	// received is the position of the latest event the runner was handed.
	received eventstore.Position
	// pendingEvents counts events handed to the runner but not yet committed.
	pendingEvents uint64
	runActive     bool
	sessionCancel context.CancelFunc
	// rebuildsWaiting counts Rebuild calls that want runMu; Run steps aside
	// until it is zero, and waits on rebuildIdle.
	rebuildsWaiting int
	rebuildIdle     chan struct{}
	lastRunError    string
	// fatal holds the error after which Pebble must not be used again (a
	// commit that could not be written, see commitBatch): Close then
	// leaves the database as it is, since Pebble's commit pipeline may be
	// held by the commit that panicked.
	fatal       pebblelog.Failure
	lastBatchAt time.Time
	closed      bool
}

// Open opens (or creates) the read-model database in dir, fed from store.
// dir must belong to this Projector alone (cmd passes <data>/readmodels).
// It returns ErrFormat when dir holds read models of another layout. Read
// models of an earlier layout that this build reads but must rebuild to
// complete are opened, and NeedsRebuild reports them.
func Open(dir string, store eventstore.Store, opts Options) (*Projector, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	blocks := pebble.NewCache(opts.CacheBytes)
	popts := pebbleOptions(opts, blocks)
	db, err := openPebble(dir, popts)
	if err != nil {
		blocks.Unref()
		return nil, err
	}
	p := &Projector{
		db:       db,
		dst:      db,
		dir:      dir,
		blocks:   blocks,
		popts:    popts,
		store:    store,
		opts:     opts,
		log:      opts.Logger.With("component", "projections"),
		cache:    newCallCache(opts.CallCacheMax),
		advanced: make(chan struct{}),
	}
	if err := p.load(); err != nil {
		db.Close()
		blocks.Unref()
		return nil, err
	}
	// A build database left by a crash mid-rebuild was never swapped in.
	if err := os.RemoveAll(p.buildDir()); err != nil {
		db.Close()
		blocks.Unref()
		return nil, fmt.Errorf("projections: remove unfinished rebuild: %w", err)
	}
	return p, nil
}

// openPebble opens a read-model database with the options of
// pebbleOptions, through pebblelog.Open: a database whose write-ahead log
// cannot be flushed (a full disk) is an error, not an open that waits
// forever.
func openPebble(dir string, po *pebble.Options) (*pebble.DB, error) {
	db, err := pebblelog.Open(dir, po)
	if errors.Is(err, pebblelog.ErrNoManifest) {
		// Derived data: rebuilt from the log once the damaged database
		// is out of the way.
		return nil, fmt.Errorf("projections: open pebble %s: %w: %w; remove that directory, then rebuild the read models (callledger replay)", dir, ErrCorrupt, err)
	}
	if err != nil {
		return nil, fmt.Errorf("projections: open pebble %s: %w", dir, err)
	}
	return db, nil
}

// pebbleOptions are the Pebble options of the read-model database, every
// option that matters set here, measured rather than defaulted (see
// ../shared/NOTES.md): a large memtable for bursts, a block cache for reads,
// bloom filters for the point reads of the call view, snappy for the values.
// Pebble's defaults fill in the rest, so that the sstables a Rebuild writes
// for ingestion can be written with the same options.
func pebbleOptions(o Options, cache *pebble.Cache) *pebble.Options {
	po := &pebble.Options{
		FS:                          o.fs,
		Cache:                       cache,
		MemTableSize:                o.MemTableBytes,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		LBaseMaxBytes:               256 << 20,
		MaxOpenFiles:                1000,
		BytesPerSync:                1 << 20,
		WALBytesPerSync:             0, // no background WAL syncs: batches are NoSync, see doc.go
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      pebblelog.Logger{Log: o.Logger.With("component", "projections/pebble")},
		// Pebble reports a damaged table here, from the read that found it,
		// which then fails with ErrCorrupt (pebbleError). Left unset,
		// EnsureDefaults would call Logger.Fatalf, whose panic would take
		// down serve (from the runner or a query) or the billing tool over
		// one flipped byte of one table.
		EventListener: &pebble.EventListener{
			DataCorruption:  pebblelog.CorruptionListener(o.Logger.With("component", "projections/pebble"), nil),
			BackgroundError: pebblelog.BackgroundErrors(o.Logger.With("component", "projections/pebble")),
		},
	}
	for i := range po.Levels {
		po.Levels[i].BlockSize = 32 << 10
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		po.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.SnappyCompression }
	}
	po.EnsureDefaults()
	return po
}

// load reads the checkpoint and checks the format of an existing database,
// or stamps a new one.
func (p *Projector) load() error {
	v, closer, err := p.db.Get(keyFormat)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		empty, err := p.isEmpty()
		if err != nil {
			return err
		}
		if !empty {
			return fmt.Errorf("projections: database has no format stamp: %w", ErrFormat)
		}
		if err := p.db.Set(keyFormat, []byte(formatVersion), pebble.Sync); err != nil {
			return fmt.Errorf("projections: stamp format: %w", err)
		}
	case err != nil:
		return fmt.Errorf("projections: read format: %w", pebbleError(err))
	default:
		got := string(v)
		closer.Close()
		if got != formatVersion && got != formatVersionNoEnds && got != formatVersionNoRecordings {
			return fmt.Errorf("projections: database is %q, this build writes %q: %w", got, formatVersion, ErrFormat)
		}
	}
	cp, err := p.readCheckpoint()
	if err != nil {
		return err
	}
	p.cp = cp
	return nil
}

// isEmpty says whether the database holds no key at all: a new one, which
// load stamps, as opposed to one that lost its format stamp.
func (p *Projector) isEmpty() (bool, error) {
	it, err := p.db.NewIter(nil)
	if err != nil {
		return false, fmt.Errorf("projections: iterate: %w", pebbleError(err))
	}
	empty := !it.First()
	if err := it.Close(); err != nil {
		return false, fmt.Errorf("projections: iterate: %w", pebbleError(err))
	}
	return empty, nil
}

func (p *Projector) readCheckpoint() (checkpoint, error) {
	v, closer, err := p.db.Get(keyCheckpoint)
	if errors.Is(err, pebble.ErrNotFound) {
		return checkpoint{}, nil
	}
	if err != nil {
		return checkpoint{}, fmt.Errorf("projections: read checkpoint: %w", pebbleError(err))
	}
	defer closer.Close()
	return decodeCheckpoint(v)
}

// Close stops a running session, waits for it, and closes the database.
// Run returns once Close is called. Queries after Close return ErrClosed.
func (p *Projector) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	if p.sessionCancel != nil {
		p.sessionCancel()
	}
	p.mu.Unlock()
	p.runMu.Lock() // wait for the session or rebuild to let go of the db
	defer p.runMu.Unlock()
	p.awaitBuildRemoved()
	p.closeMu.Lock() // and for queries in flight
	defer p.closeMu.Unlock()
	defer p.blocks.Unref()
	p.dropBatch()
	if err := p.fatal.Err(); err != nil && !errors.Is(err, ErrForeignLog) {
		// Pebble must not be used after its fatal error. A runner stopped
		// for a replaced log (ErrForeignLog) left a sound database, which
		// closes as any: serve stopped then exited 1 for it.
		return fmt.Errorf("projections: the read models' database is left unclosed after its fatal error: %w", err)
	}
	if err := p.db.Close(); err != nil {
		return fmt.Errorf("projections: close pebble: %w", err)
	}
	return nil
}

// acquire lets a query use db until release; false means closed.
func (p *Projector) acquire() bool {
	p.closeMu.RLock()
	if p.isClosed() {
		p.closeMu.RUnlock()
		return false
	}
	return true
}

func (p *Projector) release() { p.closeMu.RUnlock() }

func (p *Projector) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// WaitFor returns nil once every event up to and including pos has been
// applied to the read models (the checkpoint is at or past pos), so a reader
// that got pos from an Append sees its own write. It returns ctx's error,
// wrapped, if ctx ends first, ErrClosed if the Projector closes, and
// ErrFailed, with the cause, once the runner has stopped for good.
func (p *Projector) WaitFor(ctx context.Context, pos eventstore.Position) error {
	for {
		p.mu.Lock()
		done := pos.Compare(p.cp.Position) <= 0
		closed := p.closed
		ch := p.advanced
		p.mu.Unlock()
		if done {
			return nil
		}
		if closed {
			return fmt.Errorf("wait for %s: %w", pos, ErrClosed)
		}
		if err := p.fatal.Err(); err != nil {
			return fmt.Errorf("wait for %s: %w: %w", pos, ErrFailed, err)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", pos, ctx.Err())
		}
	}
}

// publish makes cp the committed checkpoint and wakes WaitFor. During a
// Rebuild it is the build database's checkpoint, which Status reports and
// WaitFor ignores: queries still read db.
func (p *Projector) publish(cp checkpoint, eventsCommitted uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastBatchAt = cp.UpdatedAt
	if p.pendingEvents >= eventsCommitted {
		p.pendingEvents -= eventsCommitted
	} else {
		p.pendingEvents = 0
	}
	if p.building {
		p.buildCP = cp
		return
	}
	p.cp = cp
	close(p.advanced)
	p.advanced = make(chan struct{})
}

// applied is the checkpoint of the database the applier writes.
func (p *Projector) applied() checkpoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.building {
		return p.buildCP
	}
	return p.cp
}

// Status is what readiness checks and verify tools need to know about the
// runner.
type Status struct {
	// Checkpoint is the position of the last event applied to the read models.
	Checkpoint eventstore.Position
	// Received is the position of the latest event the store handed the
	// runner. Received ahead of Checkpoint means events are being applied.
	Received eventstore.Position
	// PendingEvents counts events received but not yet committed: the lag
	// in events. It does not count events the store has not delivered yet.
	PendingEvents uint64
	// Events counts every event passed since the last rebuild; EventsApplied
	// those folded into the call view; EventsSkipped those of non-call
	// streams or already folded.
	Events        uint64
	EventsApplied uint64
	EventsSkipped uint64
	// Failures counts events the runner could not decode or fold since the
	// last rebuild; LastFailure is the latest of them (nil if none). The
	// read models reflect every other event.
	Failures    uint64
	LastFailure *Failure
	// Running reports whether Run is feeding the read models now.
	Running bool
	// Rebuilding reports whether a Rebuild is building the read models
	// aside. Checkpoint and the counters are then the rebuild's progress;
	// queries and WaitFor see the previous read models until it ends.
	Rebuilding bool
	// LastBatchAt is when the last batch was committed (zero if none since Open).
	LastBatchAt time.Time
	// LastRunError is the error that ended the latest Run session, if any.
	LastRunError string
}

// Status reports the runner's progress, lag and failures. It reads memory
// only, so readiness probes may call it often.
func (p *Projector) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	cp := &p.cp
	if p.building {
		cp = &p.buildCP
	}
	st := Status{
		Checkpoint:    cp.Position,
		Received:      p.received,
		PendingEvents: p.pendingEvents,
		Events:        cp.Events,
		EventsApplied: cp.EventsApplied,
		EventsSkipped: cp.EventsSkipped,
		Failures:      cp.Failures,
		Running:       p.runActive,
		Rebuilding:    p.building,
		LastBatchAt:   p.lastBatchAt,
		LastRunError:  p.lastRunError,
	}
	if p.received.Less(cp.Position) {
		st.Received = cp.Position
	}
	if cp.LastFailure != nil {
		f := *cp.LastFailure
		st.LastFailure = &f
	}
	return st
}
