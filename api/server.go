// Package api serves the ledger over HTTP: four vendor call APIs (Moonbase,
// call history, VoiceCall, LaML) over one event store. Every write goes
// through execute (load the call's stream, fold it with domain.Evolve, ask
// domain.Decide, append with the exact expected revision); every read of a
// call by id or in a list is served from the read models. No business rule
// lives here: handlers decode, execute and render.
package api

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// Defaults of Config's zero fields.
const (
	// DefaultBodyBytesMax caps request bodies: far above any real call
	// (a long transcript is tens of KiB), below the store's batch limit.
	DefaultBodyBytesMax = 512 << 10
	// DefaultWriteAttemptsMax bounds execute's retries on a version conflict.
	DefaultWriteAttemptsMax = 16
	// DefaultIdempotencyTTL is how long an Idempotency-Key is remembered.
	DefaultIdempotencyTTL = 25 * time.Hour
	// DefaultWaitTimeout bounds how long a read waits for the read models
	// to reach the caller's own writes before answering 503.
	DefaultWaitTimeout = 10 * time.Second
)

// Config is what NewServer needs. Store, ReadModels, Keys and
// IdempotencyDir are required; every other zero field takes its default.
type Config struct {
	// Store is the event log; the source of truth for every write.
	Store eventstore.Store
	// ReadModels serves reads and lets writes wait until they are visible.
	ReadModels ReadModels
	// Keys are the API keys; a request with none of their tokens is a 401.
	Keys []APIKey
	// IdempotencyDir is the directory of the Idempotency-Key table (a small
	// Pebble database of its own). Required: the records must be durable.
	IdempotencyDir string
	// Logger receives request failures; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock of event metadata, of the times the ledger assigns
	// and of idempotency records, read to the millisecond (see NewServer);
	// nil means time.Now. Tests inject it.
	Now func() time.Time
	// BodyBytesMax caps a request body, in bytes; 0 means DefaultBodyBytesMax.
	BodyBytesMax int64
	// WriteAttemptsMax bounds the load-decide-append attempts of one write
	// under concurrent updates of the same call; 0 means DefaultWriteAttemptsMax.
	WriteAttemptsMax int
	// IdempotencyTTL is how long an Idempotency-Key is remembered (at
	// least 24 h); 0 means DefaultIdempotencyTTL.
	IdempotencyTTL time.Duration
	// WaitTimeout bounds the wait of a read for the read models to reach
	// the caller's own writes (see awaitWrites); 0 means DefaultWaitTimeout.
	WaitTimeout time.Duration
}

// Server is the HTTP API. Create it with NewServer, serve Handler, Close it
// when done. It is safe for concurrent use.
type Server struct {
	store       eventstore.Store
	views       ReadModels
	keys        keyring
	idem        *idempotencyTable
	log         *slog.Logger
	now         func() time.Time
	bodyMax     int64
	attemptsMax int
	waitTimeout time.Duration
	marks       writeMarks
	start       *startMark
	writers     callLocks
	longCalls   longCallStates[domain.State]
	// recordingDates keeps the long calls' recordings' dates, which LaML
	// shows (callRecordingDates).
	recordingDates longCallStates[datedRecordings]
	skew           clockSkewLog
	readiness      readinessLog
	// damage is the message of the first request that met data damaged on
	// disk (see codeDataDamaged), nil until one does: /readyz answers 503
	// with it from then on, as the damage stays until the operator repairs
	// it with callledger stopped.
	damage  atomic.Pointer[string]
	metrics *metrics
	handler http.Handler
	// recordingScanMax is lamlRecordingScanCallsMax, which tests lower.
	recordingScanMax int
}

// NewServer checks cfg, asks the store where its log ends (reads wait until
// the read models reach it: see awaitWrites), opens the idempotency table
// and builds the router.
func NewServer(cfg Config) (*Server, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("api: Config.Store is required")
	case cfg.ReadModels == nil:
		return nil, errors.New("api: Config.ReadModels is required")
	case cfg.IdempotencyDir == "":
		return nil, errors.New("api: Config.IdempotencyDir is required")
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("api: Config.Keys is empty: no client could authenticate")
	}
	if err := CheckKeys(cfg.Keys); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s := &Server{
		store:       cfg.Store,
		views:       cfg.ReadModels,
		keys:        newKeyring(cfg.Keys),
		log:         cfg.Logger,
		now:         cfg.Now,
		bodyMax:     cfg.BodyBytesMax,
		attemptsMax: cfg.WriteAttemptsMax,
		waitTimeout: cfg.WaitTimeout,
		marks:       writeMarks{pos: map[string]eventstore.Position{}},

		recordingScanMax: lamlRecordingScanCallsMax,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	// The ledger reads its clock to the millisecond, the precision every
	// JSON surface writes times in (FormatTime): a time it assigns (a
	// call's start when no surface gives one, a hang-up's end, createdAt)
	// then reads back exactly, and a client that sends back what it read
	// (a Moonbase upsert echoing start_at) changes nothing, where a
	// nanosecond start came back a fraction of a millisecond off and was
	// recorded as moved.
	clock := s.now
	s.now = func() time.Time { return clock().Truncate(domain.ShownPrecision) }
	if s.bodyMax <= 0 {
		s.bodyMax = DefaultBodyBytesMax
	}
	if s.attemptsMax <= 0 {
		s.attemptsMax = DefaultWriteAttemptsMax
	}
	if s.waitTimeout <= 0 {
		s.waitTimeout = DefaultWaitTimeout
	}
	start, err := readStartMark(s.store, s.log)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s.start = start
	ttl := cfg.IdempotencyTTL
	if ttl <= 0 {
		ttl = DefaultIdempotencyTTL
	}
	if ttl < 24*time.Hour {
		return nil, fmt.Errorf("api: Config.IdempotencyTTL %v is under the 24 h the API promises", ttl)
	}
	idem, err := openIdempotencyTable(cfg.IdempotencyDir, ttl, s.now, s.log)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s.idem = idem
	s.metrics = newMetrics(s.views)
	s.metrics.registry.MustRegister(newStoreCollector(s))
	s.handler = s.routes()
	return s, nil
}

// Handler returns the router of every surface.
func (s *Server) Handler() http.Handler { return s.handler }

// Close closes the idempotency table. The store and read models belong to
// the caller, who closes them after the HTTP server has shut down. Calling
// Close again returns what the first call returned.
func (s *Server) Close() error { return s.idem.Close() }

// routes builds the router. Each surface has a router of its own under its
// paths (moonbaseRoutes, callHistoryRoutes, and in their own files the
// VoiceCall, LaML and auditors' routes) that starts with the surface's
// middleware and answers unknown paths and methods (routeErrors), so that
// everything that can go wrong with a request on a surface's paths is
// answered in that surface's error style. Only paths that belong to no
// surface get plainError.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	// measure comes after capBody, which must hand http.MaxBytesReader
	// net/http's own writer (it tells the server to close a connection
	// whose body ran over), and inside the recoverer, so that it counts a
	// handler's panic as the 500 the recoverer answers.
	r.Use(dropTrailingSlash, s.requestID, s.recoverer(s.plainError), s.capBody, s.metrics.measure, routeUnknownMethods)
	s.routeErrors(r, s.plainError)
	s.healthRoutes(r)
	s.moonbaseRoutes(r)
	s.callHistoryRoutes(r)
	s.mountOtherSurfaces(r)
	return r
}

// dropTrailingSlash routes a path that ends in a slash as the path without
// it (/calls/upsert/ as /calls/upsert, .../Calls/{Sid}/ as .../Calls/{Sid}),
// so that a client that joins URLs with one reaches the same route on
// every surface, where some routes took it and others were a 404; the
// request goes on with the path as routed, so that page URIs, error
// messages and an Idempotency-Key's route name it without the slash.
// Every trailing slash goes (/calls// as /calls, where one alone made it
// /calls/, a route of its own); the root path "/" stays, and a slash sent
// encoded (%2F), part of the last segment, is routed as sent.
func dropTrailingSlash(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if len(p) < 2 || p[len(p)-1] != '/' {
			next.ServeHTTP(w, r)
			return
		}
		raw := r.URL.RawPath
		if raw != "" && raw[len(raw)-1] != '/' {
			// The slash was sent encoded (%2F): part of the last segment,
			// which chi routes by (RawPath), not a separator.
			next.ServeHTTP(w, r)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = cmp.Or(strings.TrimRight(p, "/"), "/")
		if raw != "" {
			u.RawPath = cmp.Or(strings.TrimRight(raw, "/"), "/")
		}
		r2.URL = &u
		next.ServeHTTP(w, r2)
	})
}

// surface is the middleware a surface's routes start with, before its
// authentication: the surface's error style for what goes wrong around its
// handlers. A body that announces (Content-Length) more than bodyMax bytes
// is refused with a 413 before a byte of it is read, a query string that
// does not parse (checkQuery) with a 400, a body in a content coding
// (checkContentEncoding) with a 415, and a handler's panic is a 500, all
// in render's style.
func (s *Server) surface(render ErrorRenderer) func(http.Handler) http.Handler {
	recoverer := s.recoverer(render)
	return func(next http.Handler) http.Handler {
		return recoverer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > s.bodyMax {
				s.writeError(w, r, render, bodyTooLarge(s.bodyMax))
				return
			}
			if err := checkQuery(r.URL.RawQuery); err != nil {
				s.writeError(w, r, render, err)
				return
			}
			if err := checkContentEncoding(w, r); err != nil {
				s.writeError(w, r, render, err)
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
}

// noWriteInThePast refuses ?revision and ?as_of on a write (POST, PUT,
// PATCH, DELETE) that a route serves with a 400 naming the parameter, in
// render's style: a write applies to the call as it is now, and one that
// ignored them deleted or repriced the present call from a URL whose GET
// says the call did not exist yet (an auditor probe), where lists and
// billing refuse them. A surface uses it after its authentication, so that
// a request without credentials is a 401 first, and before Idempotent, so
// that nothing is recorded under the request's key (a corrected retry
// runs); a path or method no route serves goes on to its 404 or 405.
func (s *Server) noWriteInThePast(render ErrorRenderer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := writeInThePast(r); err != nil {
				s.writeError(w, r, render, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// writeInThePast returns the error of noWriteInThePast for r, nil when r
// is no such write.
func writeInThePast(r *http.Request) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return nil
	}
	name := timeTravelParam(r.URL.Query())
	if name == "" || !routed(r) {
		return nil
	}
	return Malformed(name, "a write applies to the call as it is now; ?%s reads a call as it was (GET): send the write without it", name)
}

// routed reports whether a route of the root router serves r's method
// and path (findRoute, as routeLabel asks it).
func routed(r *http.Request) bool {
	rc := chi.RouteContext(r.Context())
	if rc == nil || rc.Routes == nil {
		return true
	}
	return findRoute(rc.Routes, r) != ""
}

// checkContentEncoding refuses a request whose body comes in a content
// coding (Content-Encoding: gzip, ...): the ledger reads bodies as sent, and
// a compressed one would otherwise be a 400 for JSON it is not. RFC 9110
// section 15.5.16 makes it a 415, whose Accept-Encoding says which coding
// the server takes: identity, none. A request without a body is not
// refused for the header alone.
func checkContentEncoding(w http.ResponseWriter, r *http.Request) error {
	codings, ok := r.Header["Content-Encoding"]
	if !ok || r.ContentLength == 0 {
		return nil
	}
	for _, list := range codings {
		for c := range strings.SplitSeq(list, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				w.Header().Set("Accept-Encoding", "identity")
				return &FieldError{Err: ErrUnsupportedMediaType, Field: "Content-Encoding",
					Message: fmt.Sprintf("a body in content coding %q is not read: send it uncompressed", truncate(c, 32))}
			}
		}
	}
	return nil
}

// routeErrors makes router answer in render's style a path it has no route
// for (404) and a method its route for the path does not serve (405, with
// the Allow header that net/http and chi send). Call it on every router
// (chi would have a Route's router inherit them from its parent, but the
// parent's 405 cannot list the methods of the routes below it). On an
// inline router (Group) call it after Use: chi then runs the group's
// middleware, authentication included, before these answers too, as a
// Route's router always does.
func (s *Server) routeErrors(router chi.Router, render ErrorRenderer) {
	// chi runs the router's middleware, Idempotent included, around these
	// handlers too: their answers are no request's result (markUnrecorded).
	router.NotFound(func(w http.ResponseWriter, r *http.Request) {
		markUnrecorded(r.Context())
		s.writeError(w, r, render, NotFound("no route %s %s", truncate(r.Method, 16), r.URL.Path))
	})
	router.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		markUnrecorded(r.Context())
		allowed := strings.Join(allowedMethods(router, r), ", ")
		w.Header().Set("Allow", allowed)
		s.writeError(w, r, render, &FieldError{Err: ErrMethodNotAllowed,
			Message: fmt.Sprintf("%s is not allowed on %s (allowed: %s)", truncate(r.Method, 16), r.URL.Path, allowed)})
	})
}

// routedMethods are the methods a route may serve, in the order an Allow
// header lists them.
var routedMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowedMethods returns the methods router serves on r's path. chi knows
// them when it answers 405 but hands a custom handler none of them, so the
// router that answers is asked once a method, for the path as it routes it
// (below its mount point). Only that router can tell: to the routers above
// it, the path of a mount point takes every method.
func allowedMethods(router chi.Routes, r *http.Request) []string {
	path := chi.RouteContext(r.Context()).RoutePath
	if path == "" { // the root router routes the request's path, as chi does
		path = r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
	}
	var allowed []string
	for _, m := range routedMethods {
		if router.Match(chi.NewRouteContext(), routeMethod(m), path) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// chiMethods are the methods chi routes; it answers any other with the root
// router's 405 before routing, where no surface would see it.
var chiMethods = []string{http.MethodConnect, http.MethodDelete, http.MethodGet, http.MethodHead,
	http.MethodOptions, http.MethodPatch, http.MethodPost, http.MethodPut, http.MethodTrace}

// routeUnknownMethods routes a request whose method chi does not know as a
// TRACE, which no route serves, so that the router of the surface whose path
// it is answers it: a 405 (or 404) in the surface's style. It routes a HEAD
// as a GET: every resource a GET reads answers HEAD with the same status and
// headers (ETag, Content-Length) and no body, which net/http drops (RFC 9110
// section 9.3.2), as monitors and `curl -I` expect; no route serves HEAD of
// its own. Handlers still see the request's own method.
func routeUnknownMethods(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := routeMethod(r.Method); m != r.Method {
			chi.RouteContext(r.Context()).RouteMethod = m
		}
		next.ServeHTTP(w, r)
	})
}

// routeMethod is the method a request of method m is routed as (see
// routeUnknownMethods): a HEAD as a GET, a method chi does not know as a
// TRACE, any other as itself. allowedMethods asks the router by it too, so
// that Allow lists HEAD wherever a HEAD is answered.
func routeMethod(m string) string {
	switch {
	case m == http.MethodHead:
		return http.MethodGet
	case !slices.Contains(chiMethods, m):
		return http.MethodTrace
	}
	return m
}

// requestIDPattern is what a client-supplied request id may look like; any
// other is replaced, so that logs and metadata never carry arbitrary bytes.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,128}$`)

func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			id = newRequestID()
		}
		h := w.Header()
		h.Set("X-Request-Id", id)
		// Every answer says what it is (Content-Type); nosniff forbids a
		// browser to take one for something else, an error or a recording's
		// redirect echoing a client's text for HTML.
		h.Set("X-Content-Type-Options", "nosniff")
		// The scope outlives the handlers: once they have returned, the
		// body's buffer goes back to its pool (see poolBodies). Not
		// deferred: a panic that gets here (http.ErrAbortHandler) leaves
		// the buffer to the GC.
		r, sc := withScope(r, id)
		next.ServeHTTP(w, r)
		sc.releaseBody()
	})
}

// capBody caps every request body at bodyMax bytes; reading past it fails
// with *http.MaxBytesError, which ReadBody turns into a 413 in the style of
// the handler that reads. A body that announces its excess is refused
// earlier, by the surface's middleware (surface).
func (s *Server) capBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.bodyMax)
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic in a handler (a bug) into a logged 500 that shows
// the caller nothing but the request id (the X-Request-Id header), in
// render's style. http.ErrAbortHandler is re-raised, as net/http expects.
// The root router's recoverer answers in plainError; each surface's (see
// surface) in its own.
func (s *Server) recoverer(render ErrorRenderer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "handler panic", slog.String("request_id", RequestID(r.Context())),
					slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				render(w, r, problemInternal)
			}()
			next.ServeHTTP(w, r)
		})
	}
}
