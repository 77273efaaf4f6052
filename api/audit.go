package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// The auditors' routes (issue 5), JSON, Bearer auth, scoped to the caller's
// account (another account's call is a 404, never data):
//
//	GET /v1/calls/{id}/events?limit=&cursor=
//	    The call's full history in stream order: each event's type, schema
//	    version, data, metadata (who, when, which request, which surface),
//	    stream revision, global position, recorded_at, hash and all_hash.
//	    limit is 1..AuditPageEventsMax (default AuditPageEventsDefault);
//	    cursor is the next_cursor of the previous page (absent on the last).
//	    Soft-deleted calls keep their history here.
//	GET /v1/billing/summary?from=&to=&group_by=&scale=   (see billing.go)
//
// Time travel on every surface's GET: ?revision=N or ?as_of=<RFC 3339>
// returns the call as it was then, folded from the store (ReadCallAt).

// Paging of the events route.
const (
	// AuditPageEventsDefault is the page size when limit is not given.
	AuditPageEventsDefault = 100
	// AuditPageEventsMax is the largest limit a client may ask for.
	AuditPageEventsMax = 1000
	// timeTravelEventsMax bounds the events one time-travel fold reads; a
	// longer stream is a 500 rather than unbounded work per request.
	timeTravelEventsMax = 100_000
)

// auditRoutes registers the billing jobs' route on the root router; the
// auditors' events route is under the call history's /v1/calls
// (callEventsRoutes). Both answer in plainError: they are the ledger's own,
// no vendor's.
func (s *Server) auditRoutes(r chi.Router) {
	r.With(s.surface(s.plainError), s.bearerAuth(s.plainError)).Get("/v1/billing/summary", s.billingSummary)
}

// callEventsRoutes mounts GET /v1/calls/{id}/events on r, the router of
// /v1/calls, as a router of its own: it, and any other method or path
// under it, answers in plainError, where the rest of /v1/calls is the call
// history's.
func (s *Server) callEventsRoutes(r chi.Router) {
	r.Route("/{id}/events", func(r chi.Router) {
		r.Use(s.surface(s.plainError), s.bearerAuth(s.plainError))
		s.routeErrors(r, s.plainError)
		r.Get("/", s.callEvents)
	})
}

// auditEvent is one event of GET /v1/calls/{id}/events: its export line
// (eventstore.ExportLine: the stored JSON bytes as written, base64 for bytes
// that are not compact JSON, which the ledger itself never writes) and the
// schema version of its data.
type auditEvent struct {
	eventstore.ExportLine
	SchemaVersion int `json:"schema_version"`
}

// auditPage is the body of GET /v1/calls/{id}/events.
type auditPage struct {
	CallID     uuid.UUID    `json:"call_id"`
	Events     []auditEvent `json:"events"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// toAuditEvent is rec as the events route shows it, with its metadata's
// time, which time travel reads, and whether the metadata parsed (a record
// whose metadata does not parse is still shown, schema version 0).
func toAuditEvent(rec *eventstore.Record) (auditEvent, time.Time, bool) {
	e := auditEvent{ExportLine: eventstore.NewExportLine(rec)}
	meta, err := domain.UnmarshalMetadata(rec.Metadata)
	if err != nil {
		return e, time.Time{}, false
	}
	e.SchemaVersion = max(meta.SchemaVersion, 1)
	return e, meta.Time, true
}

// callAccount returns the account that owns call id, from the first event
// of its stream (the creation, which carries the identity), or a 404 when
// there is no such call.
func (s *Server) callAccount(ctx context.Context, id uuid.UUID) (string, error) {
	first, err := s.firstRecord(ctx, id)
	if err != nil {
		return "", err
	}
	if first == nil {
		return "", NotFound("no call with id %s", id)
	}
	env, err := decodeRecord(first)
	if err != nil {
		// The events route shows the stored events as they are: an
		// unreadable creation is listed to the account its metadata names.
		return metadataAccount(first, id)
	}
	return firstEventAccount(env), nil
}

// firstRecord reads the first event of call id's stream, the creation that
// carries the call's identity, as stored; nil when the call has no events.
func (s *Server) firstRecord(ctx context.Context, id uuid.UUID) (*eventstore.Record, error) {
	stream := domain.StreamID(id)
	recs, err := s.store.ReadStream(ctx, stream, 0, 1)
	switch {
	case errors.Is(err, eventstore.ErrStreamNotFound) || (err == nil && len(recs) == 0):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	return &recs[0], nil
}

// metadataAccount is the account that wrote rec (its metadata), for a
// call's first event that does not decode: the only owner it can prove. A
// record whose metadata does not parse either belongs to no one provable,
// and is a 404 as another account's call.
func metadataAccount(rec *eventstore.Record, id uuid.UUID) (string, error) {
	meta, err := domain.UnmarshalMetadata(rec.Metadata)
	if err != nil || meta.AccountID == "" {
		return "", NotFound("no call with id %s", id)
	}
	return meta.AccountID, nil
}

// unreadableRecord is the error of a read or a write of a call that meets
// rec, an event of its stream that decodeRecord could not decode (err):
// a 404 when rec is the call's first event and its metadata does not name
// the request's account (no other account learns that the call exists);
// otherwise ErrEventUnreadable naming the revision, the type and what is
// wrong, and where the caller can see the event as stored, rather than a
// bare 500 or a fold that leaves the event out as if it had never been
// written.
func unreadableRecord(ctx context.Context, rec *eventstore.Record, err error) error {
	id, _ := domain.CallIDFromStream(rec.StreamID)
	if rec.Revision == 0 {
		account, aerr := metadataAccount(rec, id)
		if aerr != nil {
			return aerr
		}
		if account != AccountFrom(ctx) {
			return NotFound("no call with id %s", id)
		}
	}
	return &FieldError{Err: ErrEventUnreadable, Message: fmt.Sprintf(
		"revision %d of the call is a %s event the ledger cannot read (%v), so the call cannot be shown or changed at or after it: GET /v1/calls/%s/events lists its events as stored, and `callledger verify` every such event",
		rec.Revision, rec.Type, errors.Unwrap(err), id)}
}

// firstEventAccount is the account that owns the call whose stream begins
// with first: the account its creation carries, or else the account that
// wrote it (its metadata).
func firstEventAccount(first domain.Envelope) string {
	created, ok := first.Event.(domain.CallUpserted)
	if !ok || created.AccountID == "" {
		return first.Metadata.AccountID
	}
	return created.AccountID
}

// decodeRecord decodes a stored record into the domain's envelope.
func decodeRecord(rec *eventstore.Record) (domain.Envelope, error) {
	env, err := domain.UnmarshalEnvelope(rec.Type, rec.Data, rec.Metadata)
	if err != nil {
		return domain.Envelope{}, fmt.Errorf("%s@%d: %w", rec.StreamID, rec.Revision, err)
	}
	return env, nil
}

// callEvents serves GET /v1/calls/{id}/events. With ?revision=N or
// ?as_of=T it lists the events the call's GET with the same parameter
// folds: through revision N, or up to the first event recorded after T
// (both inclusive of the point); a point past the last event lists them
// all, one before the first none. The next page's cursor is read with the
// same parameter.
func (s *Server) callEvents(w http.ResponseWriter, r *http.Request) {
	id, err := pathCallID(r)
	if err != nil {
		s.writeError(w, r, s.plainError, err)
		return
	}
	q := r.URL.Query()
	if err := givenOnce(q, "limit", "cursor", "after"); err != nil {
		s.writeError(w, r, s.plainError, err)
		return
	}
	limit := AuditPageEventsDefault
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > AuditPageEventsMax {
			s.writeError(w, r, s.plainError, Malformed("limit", "must be an integer in 1..%d", AuditPageEventsMax))
			return
		}
		limit = n
	}
	from, cursorName, err := auditCursor(q)
	if err != nil {
		s.writeError(w, r, s.plainError, err)
		return
	}
	point, err := ParseTimeTravel(r)
	if err != nil {
		s.writeError(w, r, s.plainError, err)
		return
	}
	ctx := r.Context()
	account, err := s.callAccount(ctx, id)
	if err == nil && account != AccountFrom(ctx) {
		err = NotFound("no call with id %s", id)
	}
	if err != nil {
		s.writeError(w, r, s.plainError, err)
		return
	}
	if point.HasRevision {
		// As the call's GET answers: a revision the call does not have
		// yet is a 404, where the events route listed every event.
		if err := s.checkRevisionWritten(ctx, id, point.Revision); err != nil {
			s.writeError(w, r, s.plainError, err)
			return
		}
	}
	// One more than the page tells whether there is a next page.
	recs, err := s.store.ReadStream(ctx, domain.StreamID(id), from, limit+1)
	if err != nil {
		s.writeError(w, r, s.plainError, fmt.Errorf("read %s: %w", domain.StreamID(id), err))
		return
	}
	if len(recs) == 0 && from > 0 || point.HasRevision && from > point.Revision {
		// A next_cursor names the revision of an event the call has, within
		// the point asked for: one past its last, or past the revision
		// asked for, was not given out (cursor=99 of a call of 9 events
		// was an empty page).
		s.writeError(w, r, s.plainError, Malformed(cursorName, "is not a cursor this API gave out (a page's next_cursor): call %s has no revision %d", id, from))
		return
	}
	page := auditPage{CallID: id, Events: make([]auditEvent, 0, min(len(recs), limit))}
	for i := range recs {
		rec := &recs[i]
		e, at, ok := toAuditEvent(rec)
		if point.AsOf != nil && !ok {
			s.writeError(w, r, s.plainError, fmt.Errorf("read %s@%d: its metadata does not parse, so its time is unknown", rec.StreamID, rec.Revision))
			return
		}
		if point.HasRevision && rec.Revision > point.Revision || point.AsOf != nil && at.After(*point.AsOf) {
			break // past the point asked for: the last page
		}
		if i == limit {
			page.NextCursor = strconv.FormatUint(rec.Revision, 10)
			break
		}
		page.Events = append(page.Events, e)
	}
	s.writeJSONRaw(w, r, http.StatusOK, page)
}

// checkRevisionWritten returns a 404 when call id has no event at
// revision rev yet, nil when it has.
func (s *Server) checkRevisionWritten(ctx context.Context, id uuid.UUID, rev uint64) error {
	stream := domain.StreamID(id)
	recs, err := s.store.ReadStream(ctx, stream, rev, 1)
	switch {
	case err != nil && !errors.Is(err, eventstore.ErrStreamNotFound):
		return fmt.Errorf("read %s: %w", stream, err)
	case len(recs) == 0:
		return NotFound("call %s has no revision %d", id, rev)
	}
	return nil
}

// auditCursor reads where a page of a call's events starts: the stream
// revision of its first event, from the next_cursor of the page before,
// given as cursor or as after (the name Moonbase's list gives its cursor,
// which a client paging both may well send here: ignoring it would serve
// the first page again, for ever). Neither is the first page; both must
// name the same page. name is the one the request gave ("cursor" when it
// gave both, or none), for the errors about the page it names.
func auditCursor(q url.Values) (from uint64, name string, err error) {
	given := ""
	for _, n := range []string{"cursor", "after"} {
		v := q.Get(n)
		if v == "" {
			continue
		}
		c, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, "", Malformed(n, "is not a cursor this API gave out (a page's next_cursor)")
		}
		if given != "" && c != from {
			return 0, "", Malformed(n, "names another page than %s: give one of them", given)
		}
		if given == "" {
			given = n
		}
		from = c
	}
	return from, cmp.Or(given, "cursor"), nil
}

// writeJSONRaw is writeJSON without HTML escaping, so that the stored event
// bytes embedded in the body are served exactly as stored.
func (s *Server) writeJSONRaw(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.writeError(w, r, s.plainError, fmt.Errorf("encode response: %w", err))
		return
	}
	writeJSONLine(w, status, buf.Bytes()) // Encode ends it in a newline
}

// TimeTravel is where in a call's history a request asks to look: at a
// stream revision, or as of an instant; the zero value is "now".
type TimeTravel struct {
	// Revision is the stream revision to stop at, inclusive, when HasRevision.
	Revision    uint64
	HasRevision bool
	// AsOf is the instant to stop at, inclusive (events whose metadata Time
	// is not after it are folded); nil when not asked. Any instant is asked
	// for as it is: as_of=0001-01-01T00:00:00Z (Go's zero time) is a time
	// before every call, not "now".
	AsOf *time.Time
}

// Active reports whether t asks for the past at all.
func (t TimeTravel) Active() bool { return t.HasRevision || t.AsOf != nil }

// ParseTimeTravel reads ?revision=N and ?as_of=<RFC 3339> from a request
// (as_of with "T" and "Z" in either case, see domain.ParseRFC3339). Giving
// both, or a malformed one, is a 400 naming the parameter; so is one given
// empty (?as_of=, a script's unset variable), which would otherwise answer
// a question about the past with the present.
func ParseTimeTravel(r *http.Request) (TimeTravel, error) {
	q := r.URL.Query()
	var t TimeTravel
	if err := givenOnce(q, timeTravelParams[:]...); err != nil {
		return t, err
	}
	for _, name := range timeTravelParams {
		if q.Has(name) && q.Get(name) == "" {
			return t, Malformed(name, "%s is empty: give a value, or leave the parameter out to read the present", name)
		}
	}
	rev, asOf := q.Get("revision"), q.Get("as_of")
	if rev != "" && asOf != "" {
		return t, Malformed("as_of", "give revision or as_of, not both")
	}
	if rev != "" {
		n, err := strconv.ParseUint(rev, 10, 64)
		if err != nil {
			return t, Malformed("revision", "must be a stream revision: an integer from 0")
		}
		t.Revision, t.HasRevision = n, true
	}
	if asOf != "" {
		at, err := domain.ParseRFC3339(asOf)
		if err != nil {
			return t, Malformed("as_of", "%s", queryTimeProblem(asOf, err, "must be an RFC 3339 time, e.g. 2025-01-31T12:00:00Z"))
		}
		t.AsOf = &at
	}
	return t, nil
}

// timeTravelParams are the query parameters of time travel (ParseTimeTravel).
var timeTravelParams = [...]string{"revision", "as_of"}

// timeTravelParam returns the first time-travel parameter q gives, "" if
// none: for the routes that read the read models, which hold calls as they
// are now, and must refuse it rather than answer a question about the
// past with the present.
func timeTravelParam(q url.Values) string {
	for _, name := range timeTravelParams {
		if q.Has(name) {
			return name
		}
	}
	return ""
}

// refuseTimeTravel refuses ?revision and ?as_of in a list's query q: lists
// are read from the read models, which hold calls as they are now, and a
// list that ignored them would answer an auditor's question about the past
// with the present. Time travel is per call (ReadCallAt).
func refuseTimeTravel(q url.Values) error {
	if name := timeTravelParam(q); name != "" {
		return Malformed(name, "a list shows calls as they are now; read one call with ?%s to see it as it was", name)
	}
	return nil
}

// foldCall folds call id from the store up to the point t names: through
// revision t.Revision, or through the last event whose metadata Time is not
// after t.AsOf. It returns a 404 when the call did not exist at that point
// (or has no such revision), and the zero State with no error never. It
// calls each, unless nil, after every event it folds, with the state that
// event made and the event: what a reader of the call needs beyond its
// state (the LaML recordings' dates) comes from the same bounded read
// (timeTravelEventsMax events at most).
//
// A call of another account than the request's (AccountFrom) is a 404 as
// a call that does not exist, whatever point t names: its first event is
// checked before anything else is answered, as the 404s that name a
// revision the call does not have yet, or a time before it existed, would
// tell another account that the call exists and how many events it has.
// Call ids are derived from (account, provider, provider id), so anyone
// can compute the id of another account's provider call and ask. Whether
// the caller may see a deleted call is the caller's check.
func (s *Server) foldCall(ctx context.Context, id uuid.UUID, t TimeTravel, each func(*domain.State, domain.Envelope)) (domain.State, error) {
	stream := domain.StreamID(id)
	var (
		state   domain.State
		folding domain.Folding // each may keep states: not exclusive
	)
	// The first event is read alone, and its account checked, before any
	// other: a page of another account's call took as long to read as its
	// events were many, which told the caller that the call exists, and
	// how big it is, where the 404 says no more than for an id no call has.
	page := 1
	for from := uint64(0); from < timeTravelEventsMax; {
		recs, err := s.store.ReadStream(ctx, stream, from, page)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return domain.State{}, NotFound("no call with id %s", id)
		}
		if err != nil {
			return domain.State{}, fmt.Errorf("read %s: %w", stream, err)
		}
		for i := range recs {
			rec := &recs[i]
			if t.HasRevision && rec.Revision > t.Revision {
				return state, nil
			}
			env, err := decodeRecord(rec)
			if err != nil {
				return foldUnreadable(ctx, state, rec, id, t, err)
			}
			if rec.Revision == 0 && firstEventAccount(env) != AccountFrom(ctx) {
				return domain.State{}, NotFound("no call with id %s", id)
			}
			if t.AsOf != nil && env.Metadata.Time.After(*t.AsOf) {
				return existedThen(state, id)
			}
			folding.EvolveInPlace(&state, env)
			if each != nil {
				each(&state, env)
			}
		}
		if len(recs) < page {
			if last, _ := state.Revision(); t.HasRevision && last < t.Revision {
				return domain.State{}, NotFound("call %s has no revision %d (its last is %d)", id, t.Revision, last)
			}
			return existedThen(state, id)
		}
		from = recs[len(recs)-1].Revision + 1
		page = AuditPageEventsMax
	}
	return domain.State{}, fmt.Errorf("read %s: more than %d events", stream, timeTravelEventsMax)
}

// foldUnreadable ends foldCall at rec, an event of call id that does not
// decode (err), state being the call folded up to it: the call as it was
// when t is a time before rec's (its metadata parses: the time is known)
// and rec is not the first event; else unreadableRecord's error.
func foldUnreadable(ctx context.Context, state domain.State, rec *eventstore.Record, id uuid.UUID, t TimeTravel, err error) (domain.State, error) {
	if t.AsOf != nil && rec.Revision > 0 {
		if meta, merr := domain.UnmarshalMetadata(rec.Metadata); merr == nil && meta.Time.After(*t.AsOf) {
			return existedThen(state, id)
		}
	}
	return domain.State{}, unreadableRecord(ctx, rec, err)
}

// existedThen returns state, or a 404 when the call had no event yet.
func existedThen(state domain.State, id uuid.UUID) (domain.State, error) {
	if !state.Exists() {
		return domain.State{}, NotFound("call %s did not exist yet at that time", id)
	}
	return state, nil
}

// ReadCallAt is ReadCall with time travel, for every surface's GET: without
// ?revision or ?as_of it is ReadCall (the read models); with one, the call
// is folded from the store up to that point (foldCall) and returned as it was
// then, with the revision of its last folded event (the ETag of that
// past). The account check is the same: another account's call is a 404.
// A call deleted at that point is a 404 unless includeDeleted; a call
// deleted later is shown as it was before.
func (s *Server) ReadCallAt(r *http.Request, id uuid.UUID, includeDeleted bool) (CallView, error) {
	t, err := ParseTimeTravel(r)
	if err != nil {
		return CallView{}, err
	}
	if !t.Active() {
		if err := s.awaitWrites(r.Context()); err != nil {
			return CallView{}, err
		}
	}
	return s.readCallAt(r.Context(), id, t, includeDeleted)
}

// readCallAt is ReadCallAt's read of call id at point t, for a caller that
// has awaited the writes (awaitWrites) when t is the present: the read
// models then, which must reflect them; the store, folded, otherwise.
func (s *Server) readCallAt(ctx context.Context, id uuid.UUID, t TimeTravel, includeDeleted bool) (CallView, error) {
	if t.Active() {
		return s.foldCallView(ctx, id, t, includeDeleted)
	}
	return s.readModelCall(ctx, id, includeDeleted)
}

// foldCallView is ReadCallAt's time travel: the call folded from the store
// up to t, checked as ReadCall checks the read models' view.
func (s *Server) foldCallView(ctx context.Context, id uuid.UUID, t TimeTravel, includeDeleted bool) (CallView, error) {
	var dates []time.Time
	state, err := s.foldCall(ctx, id, t, func(state *domain.State, env domain.Envelope) {
		dates = dateNewRecordings(dates, state, env)
	})
	if err != nil {
		return CallView{}, err
	}
	if state.Call.AccountID != AccountFrom(ctx) || (state.Call.Deleted() && !includeDeleted) {
		return CallView{}, NotFound("no call with id %s", id)
	}
	rev, _ := state.Revision()
	return CallView{Call: state.Call, Revision: rev, recordingDates: dates, folded: true}, nil
}
