package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
)

// Idempotency-Key handling, as Stripe popularised it and as the SDKs of these
// APIs send it: the first POST with a key runs; its response (status, the
// headers that matter, body byte for byte) is recorded durably; a retry with
// the same key and the same request gets that response again and appends
// nothing; the same key with a different request is a 422. Records live in a
// small Pebble database of their own (the projections' store is rebuilt from
// the log; these records are not in the log) for at least 24 h.
//
// Second line of defence, in the log itself: execute derives the ids of the
// events a keyed request appends from (account, key, index). A retry that
// finds no record (the process stopped between the append and the record,
// or another server sharing a KurrentDB log took the first run) finds those
// events in the call's stream and answers with the call as it stood right
// after them, with the status of a first run, appending nothing; a retry
// that races its first run appends the same ids, which the store
// acknowledges without writing twice, and then finds them. The events carry
// the request's fingerprint in their metadata (RequestFingerprint), so that
// without the record a different request is still told apart: the key's
// events found with another fingerprint, or in another call's stream, are a
// 422. (Events written before the fingerprint was recorded have none: a
// retry that finds those is answered as the first run was.)
//
// The records are tied to the log they were written over: each names the
// event its answer rests on (idempotencyRecord.RestsOn), and answers only
// while the log holds it (Server.inLog), since an import or a restored
// backup can replace the log under this database.

// IdempotencyKeyHeader is the request header that carries the client's key.
const IdempotencyKeyHeader = "Idempotency-Key"

// idempotencyKeyBytesMax bounds a key (Stripe's limit is 255).
const idempotencyKeyBytesMax = 255

// checkIdempotencyKey refuses a key the ledger could not keep exactly as
// sent: one longer than idempotencyKeyBytesMax, or with a byte that is not
// printable ASCII (space to '~'). The key is stored in event metadata,
// which is JSON: bytes that are not UTF-8 would be stored as U+FFFD, so
// that "zz\xe9", "zz\xe8" and "zz\uFFFD" would all read back as the same
// key in the audit log. Printable ASCII, rather than any UTF-8, because
// the IETF draft of the header (draft-ietf-httpapi-idempotency-key-header)
// makes it a Structured Field String (RFC 8941), whose characters are just
// those, and because keys are generated (UUIDs, "order-42"), never typed
// text. The error is a 400 naming the header.
//
// values are every Idempotency-Key header line of the request, key the
// first: the header sent twice with different values is refused too, as
// which of them the client meant to retry under cannot be told (the same
// value repeated, as some proxies repeat headers, is that key).
func checkIdempotencyKey(key string, values []string) error {
	for _, v := range values {
		if v != key {
			return Malformed(IdempotencyKeyHeader, "sent %d times with different values (%q, %q): send one", len(values), truncate(key, 64), truncate(v, 64))
		}
	}
	if len(key) > idempotencyKeyBytesMax {
		return Malformed(IdempotencyKeyHeader, "longer than %d bytes", idempotencyKeyBytesMax)
	}
	for i := range len(key) {
		if b := key[i]; b < ' ' || b > '~' {
			return Malformed(IdempotencyKeyHeader, "byte %d (0x%02x) is not printable ASCII: a key is made of the characters from space to '~'", i, b)
		}
	}
	return nil
}

// idempotencyStripes is the number of locks that serialise requests with the
// same key: two concurrent requests with one key must not both run. Keys of
// every account share them, so a lock is held only while the request runs
// and its record is written, never while its answer goes to the client (a
// client that does not read would hold other accounts' keys), and a wait
// ends with the request's context (see Idempotent).
const idempotencyStripes = 1024

// keyLock is one of those locks: a channel of one slot, so that a wait can
// end with a context, where a sync.Mutex waits for whatever holds it.
type keyLock chan struct{}

// lock takes l, or returns ctx's error once ctx is done first.
func (l keyLock) lock(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unlock releases l, taken by lock.
func (l keyLock) unlock() { <-l }

// sweepBatchMax bounds the records one sweep deletes.
const sweepBatchMax = 10000

// replayedHeaders are the response headers a replay repeats.
var replayedHeaders = []string{"Content-Type", "ETag", "Location", "x-should-retry"}

// Key layout of the idempotency database:
//
//	'r' ++ sha256(account NUL key)             -> record (JSON)
//	't' ++ created (uint64 unix ns) ++ r-key   -> empty: the expiry index
const (
	prefixRecord = 'r'
	prefixExpiry = 't'
)

type idempotencyRecord struct {
	// Fingerprint is the SHA-256 of method, path and body.
	Fingerprint []byte            `json:"fp"`
	Status      int               `json:"status"`
	Header      map[string]string `json:"header,omitempty"`
	Body        []byte            `json:"body"`
	CreatedNs   int64             `json:"created_ns"`
	// RestsOn is the event of the log the answer rests on: the request's
	// last event, or, if it appended none, the last event of the call it
	// loaded (nothing for a request refused before it loaded a call). A
	// replay checks the log still holds it (inLog). Records written before
	// it was kept have none.
	RestsOn eventAnchor `json:"rests_on,omitzero"`
}

// eventAnchor names one event of the log: its stream, revision and id.
type eventAnchor struct {
	Stream   string    `json:"stream"`
	Revision uint64    `json:"revision"`
	ID       uuid.UUID `json:"id"`
}

// noteAnswerRestsOn tells Idempotent which event the answer of the keyed
// request of ctx rests on, for its record; the last note counts.
func noteAnswerRestsOn(ctx context.Context, a eventAnchor) {
	if sc := scopeFrom(ctx); sc != nil {
		sc.restsOn = a
	}
}

// noteAnsweredFromLog marks the keyed request of ctx as answered with its
// first attempt's result, found in the log (see requestScope).
func noteAnsweredFromLog(ctx context.Context) {
	if sc := scopeFrom(ctx); sc != nil {
		sc.answeredFromLog = true
	}
}

// inLog reports whether the store still holds the event a record's answer
// rests on (idempotencyRecord.RestsOn). It may not: the log was replaced by
// an import, or restored from a backup taken before the request, while the
// idempotency database stayed. Such a record must not answer: its write
// is not in the log, and a client told it succeeded would never send it
// again; a call it said exists, or the state it showed, may not be there.
// A record that names no event is taken as it is.
func (s *Server) inLog(ctx context.Context, rec *idempotencyRecord) (bool, error) {
	a := rec.RestsOn
	if a == (eventAnchor{}) {
		return true, nil
	}
	recs, err := s.store.ReadStream(ctx, a.Stream, a.Revision, 1)
	switch {
	case errors.Is(err, eventstore.ErrStreamNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("check the idempotency record against %s: %w", a.Stream, err)
	}
	return len(recs) == 1 && recs[0].Revision == a.Revision && recs[0].ID == a.ID, nil
}

type idempotencyTable struct {
	db    *pebble.DB
	cache interface{ Unref() }
	ttl   time.Duration
	now   func() time.Time
	log   *slog.Logger
	seed  maphash.Seed
	locks [idempotencyStripes]keyLock
	stop  chan struct{}
	done  chan struct{}
	// closeOnce makes Close safe to call again (a server's owner may close
	// it on more than one path); closeErr is what the first Close returned.
	closeOnce sync.Once
	closeErr  error
	// failed holds what failed the table (see guard), none while it works.
	// Once set, get, put and sweep fail without touching Pebble until the
	// process is restarted: after a commit that could not be written,
	// Pebble cannot be trusted with the next one, and a damaged table may
	// have lost any record.
	failed pebblelog.Failure
}

// errIdempotencyCorrupt is the sentinel of Pebble's report of a damaged
// table of the idempotency database (see pebblelog.Wrap).
var errIdempotencyCorrupt = errors.New("idempotency table damaged on disk")

// errIdempotencyFailed is the error of every keyed request once the table
// has failed: a 503 (ErrUnavailable) with Retry-After, in the surface's
// style. A keyed request cannot run without its record: it would run a
// retry twice when the first run's answer is all its client lacks.
// (Events still carry ids derived from the key, so a store write would not
// be doubled; but the record is the answer, and it may be gone.) The cause
// is logged once, when the table fails, not for each request.
var errIdempotencyFailed = &FieldError{Err: ErrUnavailable,
	Message: "the ledger cannot check Idempotency-Key at the moment; retry later, or send the request without the header"}

// idempotencyDirPerm is the mode openIdempotencyTable creates the table's
// directory with: owner only, as cmd/callledger creates events/ and
// readmodels/.
const idempotencyDirPerm = 0o700

// openIdempotencyTable opens the idempotency database in dir, creating
// the directory (idempotencyDirPerm) when it does not exist.
func openIdempotencyTable(dir string, ttl time.Duration, now func() time.Time, log *slog.Logger) (*idempotencyTable, error) {
	return openIdempotencyTableOn(vfs.Default, dir, ttl, now, log)
}

// openIdempotencyTableOn is openIdempotencyTable on the file system fs:
// tests fail a disk with errorfs.
func openIdempotencyTableOn(fs vfs.FS, dir string, ttl time.Duration, now func() time.Time, log *slog.Logger) (*idempotencyTable, error) {
	cache := pebble.NewCache(8 << 20)
	plog := log.With("component", "idempotency/pebble")
	opts := &pebble.Options{
		FS:           fs,
		Cache:        cache,
		MemTableSize: 4 << 20,
		// Pebble's fatal errors panic (pebblelog.Logger); those of the
		// table's own calls, a commit that could not be written above
		// all (a full disk), are recovered by guard, which fails the
		// table. Background ones (a MANIFEST that cannot be written) still
		// stop the process, as Pebble intends.
		Logger: pebblelog.Logger{Log: plog},
		// A damaged table fails the read that found it with an error
		// (guard fails the table), rather than calling Logger.Fatalf.
		EventListener: &pebble.EventListener{
			DataCorruption:  pebblelog.CorruptionListener(plog, nil),
			BackgroundError: pebblelog.BackgroundErrors(plog),
		},
	}
	// The table holds whole answers (phone numbers, notes): its directory
	// is the owner's only, as the data directory's others are, where
	// Pebble would create it 0755 (a README probe read records out of a
	// data directory whose own mode let others in). One that exists keeps
	// its mode: it is the operator's.
	if err := fs.MkdirAll(dir, idempotencyDirPerm); err != nil {
		cache.Unref()
		return nil, fmt.Errorf("open idempotency table %s: %w", dir, err)
	}
	// pebblelog.Open: a table whose write-ahead log cannot be flushed (a
	// full disk) is an error, not an open that waits forever.
	db, err := pebblelog.Open(dir, opts)
	if err != nil {
		cache.Unref()
		return nil, fmt.Errorf("open idempotency table %s: %w", dir, err)
	}
	t := &idempotencyTable{db: db, cache: cache, ttl: ttl, now: now, log: log,
		seed: maphash.MakeSeed(), stop: make(chan struct{}), done: make(chan struct{})}
	for i := range t.locks {
		t.locks[i] = make(keyLock, 1)
	}
	go t.sweepLoop()
	return t, nil
}

// Close stops the sweeper and closes the database.
func (t *idempotencyTable) Close() error {
	t.closeOnce.Do(func() {
		close(t.stop)
		<-t.done
		err := t.db.Close()
		t.cache.Unref()
		if err != nil {
			t.closeErr = fmt.Errorf("close idempotency table: %w", err)
		}
	})
	return t.closeErr
}

func recordKey(account, key string) []byte {
	sum := sha256.Sum256([]byte(account + "\x00" + key))
	return append([]byte{prefixRecord}, sum[:]...)
}

func (t *idempotencyTable) lock(account, key string) keyLock {
	h := maphash.String(t.seed, account+"\x00"+key)
	return t.locks[h%idempotencyStripes]
}

// guard, deferred by each method that calls Pebble, fails the table when
// the call met Pebble's fatal error (a commit that could not be written:
// its Fatalf panics, recovered here; returning from it would have Pebble go
// on as if the batch had committed) or a damaged table, and then sets
// *errp to errIdempotencyFailed. Any other error, or panic, it leaves as
// it is.
func (t *idempotencyTable) guard(errp *error) {
	if err := pebblelog.Recovered(recover()); err != nil {
		*errp = err
	}
	if *errp == nil || !(errors.Is(*errp, pebblelog.ErrFatal) || errors.Is(*errp, errIdempotencyCorrupt)) {
		return
	}
	t.fail(*errp)
	*errp = errIdempotencyFailed
}

// fail records err as what failed the table, logging it once.
func (t *idempotencyTable) fail(err error) {
	if t.failed.Set(err) {
		t.log.Error("idempotency table failed: keyed requests are answered 503 until callledger is restarted", slog.Any("err", err))
	}
}

// failure returns errIdempotencyFailed once the table has failed, or nil.
func (t *idempotencyTable) failure() error {
	if t.failed.Err() != nil {
		return errIdempotencyFailed
	}
	return nil
}

// get returns the live record of (account, key), or nil. Once the table
// has failed it returns errIdempotencyFailed (see guard).
func (t *idempotencyTable) get(account, key string) (_ *idempotencyRecord, err error) {
	if err := t.failure(); err != nil {
		return nil, err
	}
	defer t.guard(&err)
	v, closer, err := t.db.Get(recordKey(account, key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("idempotency get: %w", pebblelog.Wrap(err, errIdempotencyCorrupt, nil))
	}
	defer closer.Close()
	var rec idempotencyRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("idempotency record: %w", err)
	}
	if t.now().Sub(time.Unix(0, rec.CreatedNs)) > t.ttl {
		return nil, nil
	}
	return &rec, nil
}

// put records rec durably (synced) with its expiry index entry. Once the
// table has failed it returns errIdempotencyFailed (see guard).
func (t *idempotencyTable) put(account, key string, rec idempotencyRecord) (err error) {
	if err := t.failure(); err != nil {
		return err
	}
	defer t.guard(&err)
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("idempotency record: %w", err)
	}
	rk := recordKey(account, key)
	b := t.db.NewBatch()
	defer b.Close()
	if err := b.Set(rk, v, nil); err != nil {
		return fmt.Errorf("idempotency put: %w", err)
	}
	if err := b.Set(expiryKey(rec.CreatedNs, rk), nil, nil); err != nil {
		return fmt.Errorf("idempotency put: %w", err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("idempotency put: %w", err)
	}
	return nil
}

func expiryKey(createdNs int64, rk []byte) []byte {
	k := make([]byte, 0, 1+8+len(rk))
	k = append(k, prefixExpiry)
	k = binary.BigEndian.AppendUint64(k, uint64(createdNs))
	return append(k, rk...)
}

func (t *idempotencyTable) sweepLoop() {
	defer close(t.done)
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			if err := t.sweepExpired(); err != nil && !errors.Is(err, errIdempotencyFailed) {
				t.log.Error("idempotency sweep", slog.Any("err", err))
			}
		}
	}
}

// sweepExpired deletes every record older than the TTL, a batch of
// sweepBatchMax at a time, until a batch comes back short or the table is
// closing. One batch each tick deleted at most 10,000 records every ten
// minutes, ~17 a second: a steadier rate of keyed writes left expired
// records, whole answers, for ever (a security probe found 26,400 of a
// day's 86,400 left after an hour of sweeps).
func (t *idempotencyTable) sweepExpired() error {
	for {
		n, err := t.sweep()
		if err != nil || n < sweepBatchMax {
			return err
		}
		select {
		case <-t.stop:
			return nil
		default:
		}
	}
}

// sweep deletes up to sweepBatchMax records older than the TTL and returns
// how many it deleted. Once the table has failed it returns
// errIdempotencyFailed (see guard).
func (t *idempotencyTable) sweep() (_ int, err error) {
	if err := t.failure(); err != nil {
		return 0, err
	}
	defer t.guard(&err)
	cutoff := t.now().Add(-t.ttl).UnixNano()
	if cutoff < 0 {
		return 0, nil
	}
	upper := binary.BigEndian.AppendUint64([]byte{prefixExpiry}, uint64(cutoff))
	it, err := t.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixExpiry}, UpperBound: upper})
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	b := t.db.NewBatch()
	defer b.Close()
	n := 0
	for ok := it.First(); ok && n < sweepBatchMax; ok = it.Next() {
		k := it.Key()
		if len(k) < 9 {
			continue
		}
		rk := bytes.Clone(k[9:])
		createdNs := int64(binary.BigEndian.Uint64(k[1:9]))
		// Delete the record only if it is still the one this entry indexes
		// (a key reused after expiry has a newer record).
		if v, closer, gerr := t.db.Get(rk); gerr == nil {
			var rec idempotencyRecord
			if json.Unmarshal(v, &rec) == nil && rec.CreatedNs == createdNs {
				_ = b.Delete(rk, nil)
			}
			closer.Close()
		}
		_ = b.Delete(bytes.Clone(k), nil)
		n++
	}
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("sweep: %w", pebblelog.Wrap(err, errIdempotencyCorrupt, nil))
	}
	if n == 0 {
		return 0, nil
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	return n, nil
}

// keyedRequest returns the Idempotency-Key and fingerprint of the request
// whose context this is ("" and nil if it has no key).
func keyedRequest(ctx context.Context) (key string, fp []byte) {
	if sc := scopeFrom(ctx); sc != nil {
		return sc.idempotencyKey, sc.fingerprint
	}
	return "", nil
}

// legacyFingerprint is the request's fingerprint as earlier builds gave
// it, when it differs (requestScope.legacyFingerprint); nil otherwise.
func legacyFingerprint(ctx context.Context) []byte {
	if sc := scopeFrom(ctx); sc != nil {
		return sc.legacyFingerprint
	}
	return nil
}

// isWriteMethod reports whether method is one of the writes an
// Idempotency-Key applies to.
func isWriteMethod(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// IdempotencyKeyFrom returns the Idempotency-Key of the request whose
// context this is ("" if none); execute records it and derives event ids
// from it. The Idempotent middleware puts it in the request's scope.
func IdempotencyKeyFrom(ctx context.Context) string {
	key, _ := keyedRequest(ctx)
	return key
}

// Idempotent makes write routes (POST, PATCH, PUT, DELETE) honour
// Idempotency-Key; mount it after the auth middleware (the key is scoped to
// the account). The key was honoured on POST only, and silently ignored
// elsewhere: a keyed PATCH retried after another client's write undid it.
// Reads and requests without the header pass through; a key checkIdempotencyKey
// refuses is a 400 before anything runs. Errors are rendered by render.
// The key goes in the request's scope, not in a derived context; the body
// it reads to fingerprint the request stays there too (ReadBody), for the
// handler.
func (s *Server) Idempotent(render ErrorRenderer) func(http.Handler) http.Handler {
	return s.idempotentReadingBodyAs(render, nil)
}

// idempotentReadingBodyAs is Idempotent for a surface that reads a body by
// its Content-Type: readAs names how the request's body is read ("" for
// the surface's default), and is part of the request's fingerprint, so
// that the same bytes sent as a form and as JSON, two requests, do not
// share a key's answer. LaML reads its JSON bodies and forms alike
// (lamlBodyKind): its answer to a JSON body sent as a form (an unknown
// parameter, nothing changed) was replayed to the retry that corrected
// the header, which then never ran.
func (s *Server) idempotentReadingBodyAs(render ErrorRenderer, readAs func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get(IdempotencyKeyHeader)
			if !isWriteMethod(r.Method) || key == "" {
				next.ServeHTTP(w, r)
				return
			}
			if err := checkIdempotencyKey(key, r.Header.Values(IdempotencyKeyHeader)); err != nil {
				s.writeError(w, r, render, err)
				return
			}
			sc := scopeFrom(r.Context())
			if sc == nil {
				// Mounted outside the server's router (no requestID
				// middleware): give the request a scope of its own, to
				// carry the key and the body ReadBody keeps there.
				r, sc = withScope(r, "")
			}
			account := AccountFrom(r.Context())
			body, err := ReadBody(r)
			if err != nil {
				s.writeError(w, r, render, err)
				return
			}
			fp := fingerprint(r.Method, r.URL.Path, "", body)
			var legacy []byte
			if readAs != nil {
				fp, legacy = fingerprint(r.Method, r.URL.Path, readAs(r), body), fp
			}

			l := s.idem.lock(account, key)
			if err := l.lock(r.Context()); err != nil {
				s.writeError(w, r, render, fmt.Errorf("wait for the request before with this Idempotency-Key: %w", err))
				return
			}
			// Everything the client is sent is sent once the lock is
			// released: a client that reads slowly, or not at all, holds
			// no lock (see idempotencyStripes).
			locked := true
			unlock := func() {
				if locked {
					locked = false
					l.unlock()
				}
			}
			defer unlock()

			rec, err := s.idem.get(account, key)
			if err == nil && rec != nil {
				var held bool
				if held, err = s.inLog(r.Context(), rec); err == nil && !held {
					s.log.WarnContext(r.Context(), "an idempotency record rests on an event the log does not hold (the log was imported or restored): the request runs again",
						slog.String("request_id", RequestID(r.Context())), slog.String("stream", rec.RestsOn.Stream))
					rec = nil
				}
			}
			if err != nil {
				unlock()
				s.writeError(w, r, render, err)
				return
			}
			if rec != nil {
				unlock()
				if !sameFingerprint(rec.Fingerprint, fp, legacy) {
					s.writeError(w, r, render, errKeyReused())
					return
				}
				replay(w, r, rec)
				return
			}

			sc.idempotencyKey, sc.fingerprint, sc.legacyFingerprint = key, fp, legacy
			cw := &captureWriter{header: w.Header()}
			next.ServeHTTP(cw, r)
			s.recordAnswer(r, account, key, fp, cw)
			unlock()
			if sc.answeredFromLog && cw.status() < 500 {
				// Its events were in the log already (another server
				// sharing it took the first attempt, or this one stopped
				// before recording its answer): a replay all the same.
				w.Header().Set("Idempotent-Replayed", "true")
			}
			cw.sendTo(w)
		})
	}
}

// recordAnswer records cw, the answer of the keyed request r, under the
// account's key, unless it is no result (see below). The caller holds the
// key's lock.
func (s *Server) recordAnswer(r *http.Request, account, key string, fp []byte, cw *captureWriter) {
	sc := scopeFrom(r.Context())
	if cw.status() >= 500 || sc.unrecorded {
		// Not a result: a retry should run again. Nor is a 422 for a key
		// whose events belong to another request (found in the log):
		// recording it would answer that request's own retry with the
		// 422. Nor a route's 404 or 405. Nor an error about a header the
		// fingerprint leaves out (a 412 for If-Match, a Content-Type
		// refused: outsideFingerprint).
		return
	}
	rec := idempotencyRecord{Fingerprint: fp, Status: cw.status(), Body: cw.body.Bytes(), CreatedNs: s.now().UnixNano(), RestsOn: sc.restsOn}
	for _, h := range replayedHeaders {
		if v := cw.header.Get(h); v != "" {
			if rec.Header == nil {
				rec.Header = make(map[string]string, len(replayedHeaders))
			}
			rec.Header[h] = v
		}
	}
	if err := s.idem.put(account, key, rec); err != nil {
		// The response is sent all the same; the event ids derived from
		// the key still protect a retry from writing twice.
		ctx := r.Context()
		s.log.ErrorContext(ctx, "record idempotency key", slog.String("request_id", RequestID(ctx)), slog.Any("err", err))
	}
}

// errKeyReused is the 422 of an Idempotency-Key used again for a different
// request.
func errKeyReused() error {
	return &FieldError{Err: ErrIdempotencyKeyReused, Field: IdempotencyKeyHeader,
		Message: "this key was already used with a different request; use a new key"}
}

// keyReusedIn is errKeyReused for a request that found, in the log, that
// its key's events belong to another request: it also tells Idempotent not
// to record the 422 under that key (see requestScope.unrecorded).
func keyReusedIn(ctx context.Context) error {
	markUnrecorded(ctx)
	return errKeyReused()
}

// markUnrecorded tells Idempotent that the answer to the request of ctx is
// not its result, and must not be recorded under its key.
func markUnrecorded(ctx context.Context) {
	if sc := scopeFrom(ctx); sc != nil {
		sc.unrecorded = true
	}
}

// fingerprint identifies a keyed request's content: the SHA-256 of its
// method, path and body, on a surface that reads every body one way (the
// JSON surfaces; readAs ""). On LaML, which reads a body as a form or as
// JSON by its Content-Type, readAs names the way ("form", "json") and
// comes first, after "v2" and zero bytes, where a write method never is:
// the same bytes read two ways are two requests. Earlier builds gave LaML
// requests the plain fingerprint whichever way they were read; the
// records and events they made hold it, and a request whose plain
// fingerprint it is is taken for theirs (sameFingerprint), as they took
// it, so that their keys still replay across an upgrade, while a record
// made since tells a form from JSON. The idempotency record keeps the
// fingerprint, and so does the metadata of the events the request appends
// (hex), a stored format.
func fingerprint(method, path, readAs string, body []byte) []byte {
	h := sha256.New()
	if readAs != "" {
		h.Write([]byte("v2\x00"))
		h.Write([]byte(readAs))
		h.Write([]byte{0})
	}
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)
}

// sameFingerprint reports whether stored, the fingerprint of a record or
// of events, is the request's: fp, or legacy, the plain fingerprint an
// earlier build gave it (nil where fp is plain).
func sameFingerprint(stored, fp, legacy []byte) bool {
	return bytes.Equal(stored, fp) || legacy != nil && bytes.Equal(stored, legacy)
}

// outsideFingerprint reports whether field names a request header that
// a write's answer can turn on and fingerprint leaves out: If-Match, and
// the Content-Type a body is read by. An error about one is not recorded
// under the request's key (writeError marks it unrecorded): it would
// answer the retry that corrects the header with an error that retry does
// not have.
func outsideFingerprint(field string) bool {
	return field == "If-Match" || field == "Content-Type"
}

// replay answers r with rec, the first answer to its key: its status, its
// recorded headers and its body, byte for byte but for a LaML answer's
// duration and price, which are written as r's client reads them
// (lamlRenumbered).
func replay(w http.ResponseWriter, r *http.Request, rec *idempotencyRecord) {
	for k, v := range rec.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Idempotent-Replayed", "true")
	body := rec.Body
	if isLAMLPath(r.URL.Path) {
		body = lamlRenumbered(body, lamlQuotesNumbers(r))
	}
	w.WriteHeader(rec.Status)
	_, _ = w.Write(body)
}

// captureWriter holds a keyed request's response, for its record and then
// for the client (sendTo): its headers are the client's own (written
// when sendTo writes the status), its status and body are kept until then.
type captureWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }

func (c *captureWriter) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return c.body.Write(b)
}

// status is the status the response was answered with: 200 when the
// handler wrote none.
func (c *captureWriter) status() int { return cmp.Or(c.code, http.StatusOK) }

// sendTo writes the response held to w.
func (c *captureWriter) sendTo(w http.ResponseWriter) {
	w.WriteHeader(c.status())
	_, _ = w.Write(c.body.Bytes())
}

// eventIDNamespace is the namespace of the version 5 UUIDs execute derives
// for the events of keyed requests. A stored format: never change it.
var eventIDNamespace = uuid.MustParse("6c1f6a0e-2b7d-4f0c-8d7e-3a9f4e2b1c01")

// keyedEventID derives the id of the index-th event appended by the request
// of account with Idempotency-Key key.
func keyedEventID(account, key string, index int) uuid.UUID {
	return uuid.NewSHA1(eventIDNamespace, fmt.Appendf(nil, "%s\x00%s\x00%d", account, key, index))
}
