package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/callledger/callledger/eventstore"
)

// readyTimeout bounds the checks of one /readyz: below the second an
// orchestrator's probe waits by default (Kubernetes' timeoutSeconds), so
// that a store slow to answer is a 503 that says so, and is logged, rather
// than a probe that timed out without a word.
const readyTimeout = 800 * time.Millisecond

// healthRoutes mounts GET /healthz (the process serves HTTP) and GET /readyz
// (the store works and the read models are running and caught up: see
// ready; a 503 says why in "reason"), for load balancers and orchestrators,
// and GET /metrics (metrics.go). None needs a key.
func (s *Server) healthRoutes(root chi.Router) {
	r := root.With(s.surface(s.plainError))
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if nr := s.ready(r.Context()); nr != nil {
			s.readiness.notReady(r.Context(), s.log, s.now(), nr)
			s.writeJSON(w, r, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": nr.reason})
			return
		}
		s.readiness.ready(r.Context(), s.log, s.now())
		s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ready"})
	})
	r.Method(http.MethodGet, "/metrics", s.metrics.handler())
}

// notReady says why /readyz answers 503: reason, shown to whoever asks
// (the route needs no key), names the part that is not ready and never
// the error's text (paths, engine messages), which is logged.
type notReady struct {
	reason string
	err    error
}

// Reasons /readyz gives.
const (
	reasonStoreFailed  = "the event store failed: it refuses every write until callledger is restarted"
	reasonStoreSilent  = "the event store does not answer"
	reasonViews        = "the read models are not running or not caught up"
	reasonViewsAtStart = "the read models have not reached where the log ended when callledger started"
	reasonViewsForeign = "the event log no longer holds events the read models were built from (it was replaced, or lost events, under the running server): every read is refused until the operator restores the data or rebuilds the read models (callledger replay) and restarts callledger"
)

// ready checks that no request has met data damaged on disk (see
// Server.damage), the store (not failed, and one read of $all answers) and
// the read models: running, nearly caught up, and past where the log
// ended when the server started. It returns nil when all hold. It waits
// for nothing but the store's answer, at most readyTimeout.
func (s *Server) ready(ctx context.Context) *notReady {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if damage := s.damage.Load(); damage != nil {
		return &notReady{*damage, errors.New("a request met data damaged on disk (logged with it)")}
	}
	// A failed store may still read: only it can say that writes fail.
	if f, ok := s.store.(eventstore.FailureReporter); ok {
		if err := f.Err(); err != nil {
			return &notReady{reasonStoreFailed, fmt.Errorf("store: %w", err)}
		}
	}
	// A log replaced under the read models is said before the store's
	// silence: it lasts until the operator acts, where a store slow to
	// answer (a KurrentDB probe, at 500 ms a read) hid it.
	if err := s.viewsOfAnotherLog(); err != nil {
		return &notReady{reasonViewsForeign, fmt.Errorf("read models: %w", err)}
	}
	if _, err := s.store.ReadAll(ctx, eventstore.Start, 1); err != nil {
		return &notReady{reasonStoreSilent, fmt.Errorf("store: %w", err)}
	}
	if err := s.views.Ready(ctx); err != nil {
		return &notReady{reasonViews, fmt.Errorf("read models: %w", err)}
	}
	// Reads wait for the log's end at start (see awaitWrites): until the
	// read models reach it, a read may wait, and answer 503. /readyz does
	// not wait for them: a probe asks again, and one that waited would
	// outlast the probe's timeout. WaitFor with a context already done
	// answers from where the read models are (the projector compares its
	// checkpoint before it looks at the context).
	if start, starting := s.start.pending(); starting {
		now, stop := context.WithCancel(ctx)
		stop()
		if err := s.views.WaitFor(now, start); err != nil {
			return &notReady{reasonViewsAtStart, fmt.Errorf("read models: not yet at position %s, where the log ended when the server started: %w", start, err)}
		}
		s.start.reached.Store(true)
	}
	return nil
}
