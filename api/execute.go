package api

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// streamEventsMax bounds the events execute folds for one call: a call
// with more is not a phone call but a bug, and fails fast.
const streamEventsMax = 100_000

// callWriteEventsMax bounds the events a write other than the call's
// deletion may take a call to: a write past it is refused (a 409 naming
// the call), where it was taken and every later write and read of the call
// then failed with a 500, its deletion included (a security probe took a
// call past 100,000 events with writes of 500 recordings each). The last
// events up to streamEventsMax are kept for the deletion, so that a call
// that is full can still be deleted and read.
const callWriteEventsMax = streamEventsMax - 1000

// checkCallRoom refuses events, a write to the call state, when they
// would take it past callWriteEventsMax events (streamEventsMax for its
// deletion).
func checkCallRoom(state domain.State, events []domain.Event) error {
	held := 0
	if rev, ok := state.Revision(); ok {
		held = int(rev) + 1
	}
	limit := callWriteEventsMax
	if len(events) == 1 {
		if _, ok := events[0].(domain.CallDeleted); ok {
			limit = streamEventsMax
		}
	}
	if held+len(events) <= limit {
		return nil
	}
	return domain.Errorf(domain.ErrConflict, "call_id", "call %s holds %d events, and this write would take it past %d, the most a call may hold: it can be read and deleted, not written further",
		state.Call.ID, held, limit)
}

// Decider computes the events of one request from the call's current state,
// and the state they lead to once appended at instant at (as
// domain.DecideFold returns it): usually a closure over a domain command,
// `func(s, at) { return domain.DecideFold(s, cmd, at) }`. It must be pure:
// execute calls it again on a fresher state after a version conflict.
type Decider func(s domain.State, at time.Time) ([]domain.Event, domain.State, error)

// WriteResult is what a write did.
type WriteResult struct {
	// State is the call after the write (the state decided on, with the
	// new events folded in): what the response renders.
	State domain.State
	// Appended is the number of events written; 0 when the request changed
	// nothing (or was a replay the store recognised).
	Appended int
	// Position is the global position of the last event written; Start
	// when nothing was written.
	Position eventstore.Position
}

// Execute is the one write path of every surface:
//
//  1. load the call's stream from the store and fold it with domain.Evolve
//     (the source of truth, never a read model);
//  2. check the account (another account's call is a 404) and If-Match
//     (a stale revision is a 412);
//  3. decide (the Decider also gives the state the events lead to, which
//     the result carries: the events are not folded a second time);
//  4. hand the events, decoded, to read models that take them (prime),
//     then append with the exact expected revision (NoStream for a new call),
//     each event carrying Metadata (account, actor, request id,
//     idempotency key, surface, time);
//  5. on eventstore.ErrVersionConflict, go back to 1, at most
//     Config.WriteAttemptsMax times, so that concurrent updates of one call
//     are serialised and none is lost;
//  6. mark the append's position as the account's last write: the reads
//     of the account wait for it (see awaitWrites), the write does not.
//
// r supplies the principal, request id, Idempotency-Key and If-Match.
func (s *Server) Execute(r *http.Request, surface domain.Surface, callID uuid.UUID, decide Decider) (WriteResult, error) {
	ctx := r.Context()
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return WriteResult{}, errors.New("execute outside the auth middleware")
	}
	if s.viewsOfAnotherLog() != nil {
		// The log under this server was replaced (the read models say so
		// for good): a write acknowledged now would land in a log the
		// operator may well put back the old one over, and be lost then
		// (a KurrentDB probe saw writes acknowledged while every read was
		// refused). A 503 to retry, recorded under no key.
		return WriteResult{}, &FieldError{Err: ErrUnavailable,
			Message: "writes are refused: the event log under this server is not the one its read models were built from (it was replaced under it); the operator restores the data or rebuilds the read models, and restarts callledger (see /readyz)"}
	}
	ifMatch, err := parseIfMatch(r.Header.Get("If-Match"))
	if err != nil {
		return WriteResult{}, err
	}
	idemKey, fp := keyedRequest(ctx)
	keyed := keyedIDs{account: p.Account, key: idemKey}
	var fpHex string
	if keyed.keyed() {
		fpHex = hex.EncodeToString(fp)
	}
	stream := domain.StreamID(callID)
	queued, err := s.writers.lock(ctx, callID)
	if err != nil {
		return WriteResult{}, err
	}
	defer s.writers.unlock(callID, queued)
	for attempt := range s.attemptsMax {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return WriteResult{}, err
			}
		}
		state, prior, err := s.loadCall(ctx, stream, keyed)
		if err != nil {
			return WriteResult{}, err
		}
		if state.Exists() && state.Call.AccountID != p.Account {
			return WriteResult{}, s.asUnknown(callID, ifMatch, decide)
		}
		if prior != nil {
			// This keyed request's events are in the log already: another
			// server sharing the log took it first (its idempotency record
			// is not here), or this one did and stopped before recording
			// its answer.
			return s.answerAsBefore(ctx, p.Account, prior, fpHex)
		}
		if err := ifMatch.check(state); err != nil {
			return WriteResult{}, err
		}
		now := s.recordingTime(callID, state.Call.UpdatedAt)
		events, next, err := decide(state, now)
		if err != nil {
			return WriteResult{}, err
		}
		if len(events) == 0 {
			return WriteResult{State: state}, nil
		}
		if err := checkCallRoom(state, events); err != nil {
			return WriteResult{}, err
		}
		meta := domain.Metadata{
			SchemaVersion:  domain.SchemaVersionOf(events),
			AccountID:      p.Account,
			Actor:          p.Actor,
			RequestID:      RequestID(ctx),
			IdempotencyKey: idemKey,
			// RequestFingerprint tells a retry found in the log from the
			// key reused with another request (see answerAsBefore).
			RequestFingerprint: fpHex,
			Surface:            surface,
			Time:               now,
		}
		data, err := encodeEvents(events, meta, keyed)
		if err != nil {
			return WriteResult{}, err
		}
		expected := eventstore.NoStream()
		if rev, ok := state.Revision(); ok {
			expected = eventstore.Exact(rev)
		}
		s.prime(data, events, meta, idemKey)
		res, err := s.store.Append(ctx, stream, expected, data)
		switch {
		case errors.Is(err, eventstore.ErrVersionConflict):
			s.metrics.conflicts.Inc()
			continue
		case errors.Is(err, eventstore.ErrDuplicateEventID) && idemKey != "":
			// The key's first run was appended since this one loaded the
			// call. Or the key's events are in another call's stream: the
			// key was used for another request.
			_, prior, err := s.loadCall(ctx, stream, keyed)
			if err != nil {
				return WriteResult{}, err
			}
			if prior == nil {
				return WriteResult{}, keyReusedIn(ctx)
			}
			return s.answerAsBefore(ctx, p.Account, prior, fpHex)
		case errors.Is(err, eventstore.ErrAppendTooLarge):
			// Primed events of an append that fails age out (prime).
			return WriteResult{}, appendTooLarge(data)
		case err != nil:
			// A store that failed for good answers eventstore.ErrFailed
			// (503, see statusTable); anything else is a bug or an outage
			// the table does not know, logged as a 500.
			return WriteResult{}, fmt.Errorf("append to %s: %w", stream, err)
		}
		if res.Replayed && keyed.keyed() {
			// Another run of the key appended its events between this
			// one's load and its append (another server sharing the log):
			// the store took this append for that one's retry. The log
			// holds that run's events, decided at its time: answer them,
			// not this run's decision.
			_, prior, err := s.loadCall(ctx, stream, keyed)
			if err != nil {
				return WriteResult{}, err
			}
			if prior == nil {
				return WriteResult{}, fmt.Errorf("append to %s: the store took it for a retry, but its events are not in the stream", stream)
			}
			return s.answerAsBefore(ctx, p.Account, prior, fpHex)
		}
		s.marks.mark(p.Account, res.Position)
		s.metrics.appended.Add(float64(len(events)))
		if keyed.keyed() {
			noteAnswerRestsOn(ctx, eventAnchor{Stream: stream, Revision: res.Revision, ID: data[len(data)-1].ID})
		}
		return WriteResult{State: next, Appended: len(events), Position: res.Position}, nil
	}
	return WriteResult{}, fmt.Errorf("append to %s: gave up after %d attempts: %w", stream, s.attemptsMax, eventstore.ErrVersionConflict)
}

// asUnknown is the answer to a write to a call of another account: the
// answer to the same write to an id no call has, decided on the empty
// state (a 412 for an If-Match, else the decider's not-found naming its
// field), since call ids are derived from (account, provider, provider
// id) and anyone can compute the id of another account's provider call: a
// 404 of its own wording, or a 404 where an unknown id is a 412, told them
// that the call exists. Nothing is appended: a decider that would create a
// call at that id (none does: creating writes derive the id from the
// caller's own account) is answered not found.
func (s *Server) asUnknown(callID uuid.UUID, cond ifMatch, decide Decider) error {
	var none domain.State
	if err := cond.check(none); err != nil {
		return err
	}
	if _, _, err := decide(none, s.recordingTime(callID, none.Call.UpdatedAt)); err != nil {
		return err
	}
	return NotFound("no call with id %s", callID)
}

// answerAsBefore is the result of a keyed request, with fingerprint fp
// (hex), whose events prior found in the log: the call as that append left
// it, with nothing appended now. Reads of account wait for that append, as
// for any write. If the append recorded another fingerprint, the key was
// used for a different request: a 422, as the idempotency record would
// have answered. An append without one (written before fingerprints were
// recorded) cannot be compared and is taken for this request's.
//
// An append made by an earlier build holds the request's plain
// fingerprint where this build's differs (LaML's: see fingerprint), and
// is taken for this request's as that build took it.
func (s *Server) answerAsBefore(ctx context.Context, account string, prior *keyedAppend, fp string) (WriteResult, error) {
	if prior.Fingerprint != "" && prior.Fingerprint != fp {
		if legacy := legacyFingerprint(ctx); legacy == nil || prior.Fingerprint != hex.EncodeToString(legacy) {
			return WriteResult{}, keyReusedIn(ctx)
		}
	}
	s.marks.mark(account, prior.Position)
	noteAnswerRestsOn(ctx, prior.Last)
	noteAnsweredFromLog(ctx)
	return WriteResult{State: prior.State, Position: prior.Position}, nil
}

// LoadCall reads a call's stream from the store and folds it: the state
// writes decide on. A call with no events is the zero State.
func (s *Server) LoadCall(ctx context.Context, callID uuid.UUID) (domain.State, error) {
	state, _, err := s.loadCall(ctx, domain.StreamID(callID), keyedIDs{})
	return state, err
}

// keyedAppend is the append of a keyed request, found in a call's stream.
type keyedAppend struct {
	// State is the call right after the append: what the request answered.
	State domain.State
	// Position is that of the append's last event, and Last that event.
	Position eventstore.Position
	Last     eventAnchor
	// Fingerprint is the request fingerprint its first event's metadata
	// recorded ("" for events written before fingerprints were).
	Fingerprint string
}

// keyedIDs derives the event ids of a keyed request (keyedEventID), so
// that its retry appends, and finds, the same ids. The zero value is a
// request without a key, whose events get fresh ids.
type keyedIDs struct{ account, key string }

func (k keyedIDs) keyed() bool        { return k.key != "" }
func (k keyedIDs) id(i int) uuid.UUID { return keyedEventID(k.account, k.key, i) }

// loadCall is LoadCall of the call whose stream (domain.StreamID) is
// stream, that, for a keyed request, also looks for its events (ids
// keyed.id(0), keyed.id(1), ... in a row) and returns the state right after
// the last of them, or nil if the stream holds none. It takes the stream,
// which Execute has already, rather than deriving it again each attempt.
// For a request without a key it folds only the events after the state
// kept for a long call (longCallStates), and it keeps the state it folded
// for the next write.
func (s *Server) loadCall(ctx context.Context, stream string, keyed keyedIDs) (domain.State, *keyedAppend, error) {
	var (
		state   domain.State
		folding domain.Folding // prior keeps states: not exclusive
		prior   *keyedAppend
		next    uuid.UUID // the id of the keyed request's next event
		index   int
		from    uint64
	)
	// A keyed request looks for its events in the whole stream; any other
	// starts from the state kept for a long call, if there is one.
	if !keyed.keyed() {
		if kept, revision, ok := s.longCalls.get(stream); ok {
			state, from = kept, revision+1
		}
	}
	recs, err := s.store.ReadStream(ctx, stream, from, streamEventsMax+1-int(from))
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return domain.State{}, nil, nil
	}
	if err != nil {
		return domain.State{}, nil, fmt.Errorf("read %s: %w", stream, err)
	}
	if int(from)+len(recs) > streamEventsMax {
		return domain.State{}, nil, fmt.Errorf("read %s: more than %d events", stream, streamEventsMax)
	}
	if keyed.keyed() {
		next = keyed.id(0)
	}
	for i := range recs {
		rec := &recs[i]
		env, err := decodeRecord(rec)
		if err != nil {
			return domain.State{}, nil, unreadableRecord(ctx, rec, err)
		}
		folding.EvolveInPlace(&state, env)
		if keyed.keyed() && rec.ID == next {
			if prior == nil {
				prior = &keyedAppend{Fingerprint: env.Metadata.RequestFingerprint}
			}
			prior.State, prior.Position = state, rec.Position
			prior.Last = eventAnchor{Stream: stream, Revision: rec.Revision, ID: rec.ID}
			index++
			next = keyed.id(index)
		}
	}
	if keyed.keyed() && len(recs) > 0 {
		// What a keyed request answers rests on the call as loaded (an
		// append notes its own last event instead): see inLog.
		last := &recs[len(recs)-1]
		noteAnswerRestsOn(ctx, eventAnchor{Stream: stream, Revision: last.Revision, ID: last.ID})
	}
	if len(recs) > 0 {
		s.longCalls.keep(stream, state, recs[len(recs)-1].Revision)
	}
	return state, prior, nil
}

// encodeEvents encodes a write's events for the store, each with meta: a
// keyed request's with the ids derived from its key, so that its retry
// appends the same ids; others with fresh ones.
//
// The metadata and every event's data share one buffer, sized by their
// hints (an upsert allocated four, ~1.6 KB, where one of ~1.4 KB does):
// each is a full slice expression of it, so that none can grow into the
// next. A hint that falls short only makes an append move the rest to a
// larger buffer; the slices taken before keep the old one.
func encodeEvents(events []domain.Event, meta domain.Metadata, keyed keyedIDs) ([]eventstore.EventData, error) {
	size := domain.MetadataSizeHint(meta)
	for _, e := range events {
		size += domain.EventSizeHint(e)
	}
	buf, err := domain.AppendMetadata(make([]byte, 0, size), meta)
	if err != nil {
		return nil, err
	}
	metaBytes := buf[:len(buf):len(buf)]
	var random *randomBlock
	if !keyed.keyed() {
		random = randomBlocks.Get().(*randomBlock)
		defer randomBlocks.Put(random)
	}
	out := make([]eventstore.EventData, len(events))
	for i, e := range events {
		start := len(buf)
		if buf, err = domain.AppendEvent(buf, e); err != nil {
			return nil, err
		}
		b := buf[start:len(buf):len(buf)]
		// A fresh id is time-ordered (UUIDv7): the store's id index then
		// grows at its end, which is cheaper to insert into than random
		// places (see the embedded store's indexWrites). uuid.NewV7FromReader
		// gives it the time as uuid.NewV7 does (after every id it gave
		// before), and random bits from randomBlocks.
		var id uuid.UUID
		if keyed.keyed() {
			id = keyed.id(i)
		} else if id, err = uuid.NewV7FromReader(random); err != nil {
			return nil, fmt.Errorf("new event id: %w", err)
		}
		out[i] = eventstore.EventData{ID: id, Type: e.EventType(), Data: b, Metadata: metaBytes}
	}
	return out, nil
}

// prime hands the events about to be appended, decoded, to read models
// that take them (EventPrimer), before the append, so that they are there
// when the projector reads the records. Only fresh ids (uuid.NewV7) are
// primed: a keyed request derives its ids from its key, and the store may
// answer it as the retry of an earlier append whose events differ. Events
// of an append that then fails are never read, and age out of the primer.
func (s *Server) prime(data []eventstore.EventData, events []domain.Event, meta domain.Metadata, idemKey string) {
	primer, ok := s.views.(EventPrimer)
	if !ok || idemKey != "" {
		return
	}
	for i, e := range events {
		primer.Prime(data[i].ID, domain.Envelope{Event: e, Metadata: meta})
	}
}

// backoff sleeps a short random time that grows with attempt, so that
// writers conflicting on one call spread out instead of colliding again.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(attempt)*int64(500*time.Microsecond) + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("write retry: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}

// ETag formats a call's stream revision as the ETag and If-Match value.
func ETag(revision uint64) string { return `"` + strconv.FormatUint(revision, 10) + `"` }

// SetETag sets the ETag header of a response about state (none when the
// call does not exist).
func SetETag(w http.ResponseWriter, state domain.State) {
	if rev, ok := state.Revision(); ok {
		w.Header().Set("ETag", ETag(rev))
	}
}

// ifMatch is a parsed If-Match header: absent, "*", or a list of revisions.
// Weak entity tags (W/"3") are understood but never match: If-Match uses
// the strong comparison (RFC 9110 section 13.1.1), so that a client or
// proxy that weakened an ETag gets a 412, not an unconditional write.
type ifMatch struct {
	present   bool
	any       bool
	revisions []uint64 // of the strong tags
	weak      bool     // some tag was weak
}

// ifMatchTagsMax bounds the entity tags one If-Match may list.
const ifMatchTagsMax = 16

func parseIfMatch(h string) (ifMatch, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return ifMatch{}, nil
	}
	if h == "*" {
		return ifMatch{present: true, any: true}, nil
	}
	m := ifMatch{present: true}
	// SplitN bounds the pieces, so a long header allocates no more than
	// ifMatchTagsMax+1 of them: the last, holding the rest, trips the bound
	// before it is parsed.
	for i, piece := range strings.SplitN(h, ",", ifMatchTagsMax+1) {
		if i >= ifMatchTagsMax {
			return ifMatch{}, Malformed("If-Match", "more than %d entity tags", ifMatchTagsMax)
		}
		tag, weak := strings.CutPrefix(strings.TrimSpace(piece), "W/")
		unq, err := strconv.Unquote(tag)
		if err != nil || !strings.HasPrefix(tag, `"`) {
			unq = tag // be lenient: a bare revision is understood too
		}
		rev, err := strconv.ParseUint(unq, 10, 64)
		if err != nil {
			return ifMatch{}, Malformed("If-Match", "%q is not an ETag of this API (a quoted revision such as \"3\")", truncate(tag, 32))
		}
		if weak {
			m.weak = true
			continue
		}
		m.revisions = append(m.revisions, rev)
	}
	return m, nil
}

// check returns ErrPreconditionFailed unless state matches.
func (m ifMatch) check(state domain.State) error {
	if !m.present {
		return nil
	}
	rev, exists := state.Revision()
	if !exists {
		return &FieldError{Err: ErrPreconditionFailed, Field: "If-Match", Message: "the call does not exist"}
	}
	if m.any {
		return nil
	}
	for _, r := range m.revisions {
		if r == rev {
			return nil
		}
	}
	if m.weak && len(m.revisions) == 0 {
		return &FieldError{Err: ErrPreconditionFailed, Field: "If-Match",
			Message: fmt.Sprintf("a weak entity tag never matches If-Match (RFC 9110 section 13.1.1); send the strong ETag %s", ETag(rev))}
	}
	return &FieldError{Err: ErrPreconditionFailed, Field: "If-Match",
		Message: fmt.Sprintf("the call is at revision %d (ETag %s), not the one given; reload it and retry", rev, ETag(rev))}
}

// ReadCall returns the call id of the request's account from the read
// models. Another account's call is a 404, and so is a soft-deleted call
// unless includeDeleted (only the call-history surface shows them).
func (s *Server) ReadCall(ctx context.Context, id uuid.UUID, includeDeleted bool) (CallView, error) {
	if err := s.awaitWrites(ctx); err != nil {
		return CallView{}, err
	}
	return s.readModelCall(ctx, id, includeDeleted)
}

// readModelCall is ReadCall's read, for a caller that has awaited the
// writes already (awaitWrites) for an earlier read of the same request.
func (s *Server) readModelCall(ctx context.Context, id uuid.UUID, includeDeleted bool) (CallView, error) {
	v, err := s.views.Call(ctx, id)
	if err != nil {
		return CallView{}, err
	}
	if v.Call.AccountID != AccountFrom(ctx) || (v.Call.Deleted() && !includeDeleted) {
		return CallView{}, NotFound("no call with id %s", id)
	}
	return v, nil
}

// ListCalls returns a page of the request's account's calls from the read
// models, once they reflect the account's acknowledged writes.
func (s *Server) ListCalls(ctx context.Context, q ListQuery) (ListPage, error) {
	if err := s.awaitWrites(ctx); err != nil {
		return ListPage{}, err
	}
	return s.views.List(ctx, q)
}
