package api

import "github.com/go-chi/chi/v5"

func (s *Server) callHistoryRoutes(r chi.Router) { _ = r }
