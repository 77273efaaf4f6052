package api

import "github.com/go-chi/chi/v5"

// mountOtherSurfaces mounts the surfaces whose handlers live in files of
// their own (VoiceCall in voicecall*.go, LaML in laml*.go), once those files
// are part of the package.
func (s *Server) mountOtherSurfaces(r chi.Router) {
	_ = r
}
