package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// serveCall answers a surface's GET of one call the same way on every
// surface: take the call id from the path, read the call (with ?revision
// and ?as_of time travel, ReadCallAt), set the ETag to its revision and
// render it in the surface's shape (or a part of it: render may fail, as a
// LaML recording the call does not have does). Failures are answered in the
// surface's error style. includeDeleted says whether the surface shows
// soft-deleted calls (only call history does).
func (s *Server) serveCall(w http.ResponseWriter, r *http.Request, callID func(*http.Request) (uuid.UUID, error),
	includeDeleted bool, errs ErrorRenderer, render func(*domain.Call) (any, error)) {
	s.serveCallView(w, r, callID, includeDeleted, errs, func(v *CallView) (any, error) { return render(&v.Call) })
}

// serveCallView is serveCall for a render that needs the call's revision
// too: one that reads more of the call's stream, up to the revision read
// (the LaML recordings, whose dates only the stream holds).
func (s *Server) serveCallView(w http.ResponseWriter, r *http.Request, callID func(*http.Request) (uuid.UUID, error),
	includeDeleted bool, errs ErrorRenderer, render func(*CallView) (any, error)) {
	v, err := s.readPathCall(r, callID, includeDeleted)
	s.answerCallView(w, r, v, err, errs, render)
}

// readPathCall reads, as ReadCallAt does, the call whose id callID reads
// from r's path (a bad one is its error).
func (s *Server) readPathCall(r *http.Request, callID func(*http.Request) (uuid.UUID, error), includeDeleted bool) (CallView, error) {
	id, err := callID(r)
	if err != nil {
		return CallView{}, err
	}
	return s.ReadCallAt(r, id, includeDeleted)
}

// answerCallView answers a GET with the call v, read by the caller, or
// with err, the failure of reading it: v rendered, with its revision as
// the ETag, or a 304 with that ETag when If-None-Match names it
// (notModified); failures in the surface's error style.
func (s *Server) answerCallView(w http.ResponseWriter, r *http.Request, v CallView, err error,
	errs ErrorRenderer, render func(*CallView) (any, error)) {
	if err != nil {
		s.writeError(w, r, errs, err)
		return
	}
	body, err := render(&v)
	if err != nil {
		s.writeError(w, r, errs, err)
		return
	}
	etag := ETag(v.Revision)
	w.Header().Set("ETag", etag)
	if notModified(r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.writeJSON(w, r, http.StatusOK, body)
}

// pathCallID is the call id of the route's {id} parameter.
func pathCallID(r *http.Request) (uuid.UUID, error) { return ParseCallID(chi.URLParam(r, "id")) }

// readCallWrite reads what every write to one call starts with: the call
// id of the path (a bad one is a 404) and the request body.
func readCallWrite(r *http.Request) (uuid.UUID, []byte, error) {
	id, err := pathCallID(r)
	if err != nil {
		return uuid.Nil, nil, err
	}
	body, err := ReadBody(r)
	return id, body, err
}
