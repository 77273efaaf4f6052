package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// A call that reaches the ledger through the Moonbase surface as
// SignalWire's (provider "signalwire", provider_id SignalWire's own CallSid
// X) has a ledger id derived from X (domain.CallIDFor), which the LaML
// surface shows as its sid, as every surface shows a call by its one ledger
// id. A LaML client that knows the call by X, the CallSid SignalWire gave
// it, would get a 404 for .../Calls/X. So a {Sid} that names no call of
// the caller's account is read as a signalwire provider id as well: the
// call CallIDFor(account, "signalwire", {Sid}) answers, if there is one,
// still under its ledger id (its sid field, its uri). A {Sid} that names a
// call of the account is always that call; the alias costs nothing but on
// a path that would otherwise be a 404. (resolveCallSid is the other
// direction: a Moonbase upsert whose provider_id is a LaML CallSid.)

// isNotFound reports whether err is answered as a 404: a call the caller
// has not (none of that id, another account's, or one deleted).
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	p, ok := ProblemOf(err)
	return ok && p.Status == http.StatusNotFound
}

// onLAMLSid does, and returns what it gives, on the call the path's {Sid}
// names (onCallSid), without ".json".
func onLAMLSid[T any](r *http.Request, do func(id uuid.UUID) (T, error)) (T, error) {
	sid := strings.TrimSuffix(chi.URLParam(r, "Sid"), ".json")
	id, err := ParseCallID(sid)
	return onCallSid(r.Context(), sid, id, err, do)
}

// onCallSid does, and returns what it gives, on the call a LaML sid names:
// the call of id, the sid parsed (err when it does not parse), or, when
// that is a 404 (no call of the account has it, or sid is no call id at
// all), the call sid names as a signalwire provider id in the caller's
// account, which need not be a UUID (provider ids are matched exactly, as
// given), and, for a sid that is a UUID written otherwise than in its
// canonical form (upper case, as some clients write them), the call its
// canonical form names so: SignalWire's CallSids are lower-case UUIDs, and
// a UUID is the same whatever its letter case, as the ledger's own sids
// are. When none is there, the answer is the one id gave (or err).
func onCallSid[T any](ctx context.Context, sid string, id uuid.UUID, err error, do func(id uuid.UUID) (T, error)) (T, error) {
	var v T
	parsed := err == nil
	if parsed {
		v, err = do(id)
	}
	if !isNotFound(err) {
		return v, err
	}
	names := []string{sid}
	if parsed && id.String() != sid {
		names = append(names, id.String())
	}
	for _, name := range names {
		alias := domain.CallIDFor(AccountFrom(ctx), lamlProvider, name)
		if alias == id {
			continue
		}
		if av, aerr := do(alias); !isNotFound(aerr) {
			return av, aerr
		}
	}
	return v, err
}

// readLAMLCall reads, as readPathCall does, the call the path's {Sid}
// names (onLAMLSid).
func (s *Server) readLAMLCall(r *http.Request) (CallView, error) {
	return onLAMLSid(r, func(id uuid.UUID) (CallView, error) { return s.ReadCallAt(r, id, false) })
}

// executeOnLAMLSid executes the LaML write decide makes for a call id on
// the call the path's {Sid} names (onLAMLSid). decide's errors (a bad
// parameter) are returned as they are.
func (s *Server) executeOnLAMLSid(r *http.Request, decide func(id uuid.UUID) (Decider, error)) (WriteResult, error) {
	return onLAMLSid(r, func(id uuid.UUID) (WriteResult, error) {
		decider, err := decide(id)
		if err != nil {
			return WriteResult{}, err
		}
		return s.Execute(r, domain.SurfaceLaML, id, decider)
	})
}
