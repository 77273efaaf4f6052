package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/callledger/callledger/eventstore"
)

// readyTimeout bounds the checks of one /readyz.
const readyTimeout = 2 * time.Second

// healthRoutes mounts GET /healthz (the process serves HTTP) and GET /readyz
// (the store answers and the read models are running and caught up), for
// load balancers and orchestrators. Neither needs a key.
func (s *Server) healthRoutes(root chi.Router) {
	r := root.With(s.surface(s.plainError))
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.ready(r.Context()); err != nil {
			s.log.WarnContext(r.Context(), "not ready", slog.Any("err", err))
			s.writeJSON(w, r, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
		s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ready"})
	})
}

// ready checks the store (one read of $all) and the read models: running,
// nearly caught up, and past where the log ended when the server started.
func (s *Server) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if _, err := s.store.ReadAll(ctx, eventstore.Start, 1); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := s.views.Ready(ctx); err != nil {
		return fmt.Errorf("read models: %w", err)
	}
	// Reads wait for the log's end at start (see awaitWrites): until the
	// read models reach it, a read may wait, and answer 503.
	if start, starting := s.start.pending(); starting {
		if err := s.views.WaitFor(ctx, start); err != nil {
			return fmt.Errorf("read models: not yet at position %s, where the log ended when the server started: %w", start, err)
		}
		s.start.reached.Store(true)
	}
	return nil
}
