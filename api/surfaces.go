package api

import "github.com/go-chi/chi/v5"

// mountOtherSurfaces mounts the surfaces whose handlers live in files of
// their own: VoiceCall (voicecall*.go), LaML (laml*.go), and the auditors'
// and billing routes (audit.go, billing.go).
func (s *Server) mountOtherSurfaces(r chi.Router) {
	s.voiceCallRoutes(r)
	s.lamlRoutes(r)
	s.auditRoutes(r)
}
