package api

import (
	"context"
	"net/http"
)

// requestScope is what the middleware learns about a request, held in the
// request's context once: its id (requestID); once authenticated, its
// principal; for a keyed write, its Idempotency-Key; and the body, once
// ReadBody has read it. Each middleware fills in
// the scope rather than deriving another context and copying the request
// (r.WithContext) to carry what it learnt, which a request paid for at
// every step.
type requestScope struct {
	id            string
	principal     Principal
	authenticated bool
	// idempotencyKey is the request's Idempotency-Key once the Idempotent
	// middleware has found no record of it ("" otherwise).
	idempotencyKey string
	// fingerprint identifies the keyed request's content (see fingerprint),
	// with idempotencyKey: execute records it in the events' metadata.
	fingerprint []byte
	// legacyFingerprint is the fingerprint earlier builds gave the same
	// request, which its records and events made by them hold, when it
	// differs from fingerprint (LaML's, see fingerprint); nil otherwise.
	legacyFingerprint []byte
	// unrecorded is set when the answer is not this request's result, so
	// that Idempotent does not record it under the request's key: when the
	// log shows that the key belongs to another request (keyReusedIn: the
	// key's record, if any, is that request's to write), and when no route
	// takes the request (routeErrors: a retry at the right path or with the
	// right method would find the key spent on a 404 or 405).
	unrecorded bool
	// restsOn is the event of the log that a keyed request's answer rests
	// on (noteAnswerRestsOn): Idempotent records it with the answer, so
	// that a replay can check the log still holds it (Server.inLog).
	restsOn eventAnchor
	// answeredFromLog is set when a keyed request's events were found in
	// the log (answerAsBefore): its answer is the first attempt's, and
	// Idempotent says so (Idempotent-Replayed), as for a recorded answer.
	answeredFromLog bool
	// body is the request body ReadBody read, when bodyRead: it returns
	// it again, since r.Body is then spent.
	body     []byte
	bodyRead bool
	// poolBody has ReadBody read the body into bodyBuf, a buffer of
	// bodyBuffers (poolBodies sets it). The requestID middleware's scope
	// puts the buffer back (releaseBody) once the handler has returned;
	// a scope of its own that Idempotent makes, outside the server's
	// router, leaves it to the GC.
	poolBody bool
	bodyBuf  *[]byte
}

// releaseBody puts the body's buffer, if it came from bodyBuffers, back in
// the pool: the request is over, and the handlers under poolBodies kept
// nothing of it. A buffer that grew too large is left to the GC (see
// bodyBuffers).
func (sc *requestScope) releaseBody() {
	buf := sc.bodyBuf
	if buf == nil {
		return
	}
	sc.body, sc.bodyBuf = nil, nil
	bodyBuffers.put(buf)
}

type requestScopeKey struct{}

// scopeFrom returns the request scope of ctx, or nil outside the requestID
// middleware.
func scopeFrom(ctx context.Context) *requestScope {
	sc, _ := ctx.Value(requestScopeKey{}).(*requestScope)
	return sc
}

// withScope returns r carrying a new scope with the request id, and the
// scope.
func withScope(r *http.Request, id string) (*http.Request, *requestScope) {
	sc := &requestScope{id: id}
	return r.WithContext(context.WithValue(r.Context(), requestScopeKey{}, sc)), sc
}

// withPrincipal returns r carrying p: r itself, its scope now holding p,
// when the requestID middleware made one; else a copy of r with p in its
// context (WithPrincipal).
func withPrincipal(r *http.Request, p Principal) *http.Request {
	if sc := scopeFrom(r.Context()); sc != nil {
		sc.principal, sc.authenticated = p, true
		return r
	}
	return r.WithContext(WithPrincipal(r.Context(), p))
}

// RequestID returns the request id of ctx ("" outside the middleware): the
// client's X-Request-Id when it is sane, else a fresh UUID. It is echoed in
// the x-request-id response header and recorded in event metadata.
func RequestID(ctx context.Context) string {
	if sc := scopeFrom(ctx); sc != nil {
		return sc.id
	}
	return ""
}
