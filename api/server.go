// Package api serves the ledger over HTTP: four vendor call APIs (Moonbase,
// call history, VoiceCall, LaML) over one event store. Every write goes
// through execute (load the call's stream, fold it with domain.Evolve, ask
// domain.Decide, append with the exact expected revision); every read of a
// call by id or in a list is served from the read models. No business rule
// lives here: handlers decode, execute and render.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

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
	// Now is the clock of event metadata and idempotency records; nil means
	// time.Now. Tests inject it.
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
	handler     http.Handler
}

// NewServer checks cfg, opens the idempotency table and builds the router.
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
	if err := checkKeys(cfg.Keys); err != nil {
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
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.bodyMax <= 0 {
		s.bodyMax = DefaultBodyBytesMax
	}
	if s.attemptsMax <= 0 {
		s.attemptsMax = DefaultWriteAttemptsMax
	}
	if s.waitTimeout <= 0 {
		s.waitTimeout = DefaultWaitTimeout
	}
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
	s.handler = s.routes()
	return s, nil
}

// Handler returns the router of every surface.
func (s *Server) Handler() http.Handler { return s.handler }

// Close closes the idempotency table. The store and read models belong to
// the caller, who closes them after the HTTP server has shut down.
func (s *Server) Close() error { return s.idem.Close() }

// routes builds the router. The VoiceCall and LaML surfaces are mounted by
// their own files' voiceCallRoutes and lamlRoutes.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.recoverer, s.requestID, s.limitBody)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, s.plainError, NotFound("no route %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.writeJSON(w, r, http.StatusMethodNotAllowed, map[string]any{"error": map[string]string{
			"code": "method_not_allowed", "message": r.Method + " is not allowed on " + r.URL.Path}})
	})
	s.healthRoutes(r)
	s.moonbaseRoutes(r)
	s.callHistoryRoutes(r)
	s.mountOtherSurfaces(r)
	return r
}

// requestIDPattern is what a client-supplied request id may look like; any
// other is replaced, so that logs and metadata never carry arbitrary bytes.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,128}$`)

func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, withScope(r, id))
	})
}

// limitBody caps every request body at bodyMax bytes; reading past it fails
// with *http.MaxBytesError, which readBody turns into a 413.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.bodyMax {
			s.writeError(w, r, s.plainError, &FieldError{Err: ErrBodyTooLarge, Message: fmt.Sprintf("body larger than %d bytes", s.bodyMax)})
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.bodyMax)
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic in a handler (a bug) into a logged 500 that shows
// the caller nothing but the request id. http.ErrAbortHandler is re-raised,
// as net/http expects.
func (s *Server) recoverer(next http.Handler) http.Handler {
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
			s.writeJSON(w, r, http.StatusInternalServerError, map[string]any{"error": map[string]string{
				"code": "internal", "message": "internal error", "request_id": RequestID(r.Context())}})
		}()
		next.ServeHTTP(w, r)
	})
}
