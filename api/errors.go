package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

// Sentinel errors of the HTTP layer: failures that are about the request
// itself rather than about a call, so domain.Error has no code for them.
// Handlers wrap them in a *FieldError (see Malformed and friends) and the one
// status table below turns them into statuses. Test with errors.Is.
var (
	// ErrMalformed: the body is not JSON (or not a form), a value has the
	// wrong JSON type, a required field is missing, or an id in the path is
	// not an id. 400.
	ErrMalformed = errors.New("malformed request")
	// ErrRequired: a required parameter is absent (or empty). It wraps
	// ErrMalformed and is a 400 like it, but its Problem code is
	// "required", so that a surface whose codes tell a missing parameter
	// from one given but unreadable can (LaML: 21201 To missing, 21211 To
	// invalid). Build it with Required.
	ErrRequired = fmt.Errorf("%w: required parameter missing", ErrMalformed)
	// ErrUnauthorized: no credentials, or credentials no key matches. 401.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrPreconditionFailed: If-Match names a revision the call is no longer
	// at (or the call does not exist). 412.
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrBodyTooLarge: the body is longer than Config.BodyBytesMax. 413.
	ErrBodyTooLarge = errors.New("request body too large")
	// ErrIdempotencyKeyReused: an Idempotency-Key already used with a
	// different request. 422.
	ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")
	// ErrMethodNotAllowed: the path has a route, but not for the request's
	// method. 405, with an Allow header (routeErrors).
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrUnsupportedMediaType: a body in a content type the route does not
	// read, or in a content coding (Content-Encoding) the ledger does not
	// undo. 415.
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	// ErrRequestTimeout: the body did not arrive within the server's read
	// timeout (serve's ReadTimeout). 408: the client was too slow, not
	// wrong, and may send it again.
	ErrRequestTimeout = errors.New("request timeout")
	// ErrTooLong: a value is longer than the ledger takes, refused as such
	// by the decoder of a surface whose codes tell a length from other
	// faults (LaML: a Twiml over domain.TwimlCharsMax characters is
	// Twilio's 32018, anything else wrong with it 20001). 422, as any value
	// the ledger cannot accept, with the Problem code "too_long". Build it
	// with TooLong.
	ErrTooLong = errors.New("value too long")
	// ErrReadModelsBehind: a read would not yet show the caller's own
	// acknowledged write (see awaitWrites). 503, to be retried.
	ErrReadModelsBehind = errors.New("read models behind")
	// ErrUnavailable: a part of the ledger the request needs cannot serve
	// it now, and says so once in the log (the idempotency table, after a
	// fatal write error or damage on disk). 503, to be retried: another
	// server, or this one restarted, takes the retry.
	ErrUnavailable = errors.New("unavailable")
	// ErrEventUnreadable: the call holds an event the ledger cannot decode
	// (its hashes check: a forged or older build's archive imported), so it
	// can neither be folded up to a point at or after it (time travel) nor
	// changed: a decision on the call without the event could undo it. 500,
	// as no request can mend it, with the Problem code "event_unreadable";
	// built by unreadableRecord.
	ErrEventUnreadable = errors.New("event unreadable")
)

// FieldError is a request error about one field (or the whole request when
// Field is ""): Err is one of the sentinels above or a domain error code's
// meaning, Message is safe to show callers.
type FieldError struct {
	Err     error
	Field   string
	Message string
}

// Error formats the error for logs.
func (e *FieldError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%v: %s: %s", e.Err, e.Field, e.Message)
	}
	return fmt.Sprintf("%v: %s", e.Err, e.Message)
}

// Unwrap makes errors.Is(err, ErrMalformed) (and the others) hold.
func (e *FieldError) Unwrap() error { return e.Err }

// Malformed builds a 400 error about field: the request cannot be read.
func Malformed(field, format string, args ...any) error {
	return &FieldError{Err: ErrMalformed, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Required builds a 400 error about field: the request leaves out (or
// leaves empty) a parameter it must give. See ErrRequired.
func Required(field, format string, args ...any) error {
	return &FieldError{Err: ErrRequired, Field: field, Message: fmt.Sprintf(format, args...)}
}

// TooLong builds a 422 error about field: its value is longer than the
// ledger takes. See ErrTooLong.
func TooLong(field, format string, args ...any) error {
	return &FieldError{Err: ErrTooLong, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Invalid builds a 422 error about field: the request reads but a value is
// not acceptable (unknown enum, bad E.164 number, bad timestamp). It is a
// *domain.Error with code ErrInvalid, so it renders like Decide's own.
func Invalid(field, format string, args ...any) error {
	return domain.Errorf(domain.ErrInvalid, field, format, args...)
}

// foundByProviderID is err, the failure of a write whose body has no call
// id (Moonbase POST /calls and /calls/upsert, VoiceCall POST), with a
// refusal of the call itself named after what the body sent: such a write
// finds its call by the provider id the body gives (domain.CallIDFor), so
// the call_id the domain names (the call is deleted) is the body's
// provider_id, which each surface's renderer spells in its own words
// (Moonbase provider_id, VoiceCall sourceId). Any other err is returned as
// it is.
func foundByProviderID(err error) error {
	var de *domain.Error
	if !errors.As(err, &de) || de.Field != "call_id" {
		return err
	}
	renamed := *de
	renamed.Field = "provider_id"
	return &renamed
}

// bodyTooLarge builds the 413 error of a request body longer than limit
// bytes, whether its Content-Length says so (Server.surface) or reading it
// found out (ReadBody).
func bodyTooLarge(limit int64) error {
	return &FieldError{Err: ErrBodyTooLarge, Message: fmt.Sprintf("body larger than %d bytes", limit)}
}

// NotFound builds a 404 error: the call does not exist, or is not the
// caller's, or is deleted on a surface that hides deleted calls.
func NotFound(format string, args ...any) error {
	return domain.Errorf(domain.ErrNotFound, "", format, args...)
}

// Problem is an error as every surface renders it: the status, a short
// machine-readable code, the field at fault ("" if none) and a message that
// is safe to show. Internal failures become a Problem that says nothing
// about their cause.
type Problem struct {
	// Status is the HTTP status.
	Status int
	// Code is "invalid", "too_long", "malformed", "required", "conflict",
	// "not_found", "method_not_allowed", "precondition_failed",
	// "unauthorized", "too_large", "idempotency_key_reused",
	// "unsupported_media_type", "timeout", "unavailable", "data_damaged",
	// "event_unreadable" or "internal".
	Code string
	// Field names the request field at fault, in the surface's own
	// spelling when the handler knows it; "" for the whole request.
	Field string
	// Message says what is wrong; safe to show.
	Message string
	// retry says a retry of the same request can succeed: a write that
	// lost every race with writers in other processes sharing the log.
	retry bool
}

// statusTable is the one map from error classes to HTTP statuses. Domain
// codes first, then the HTTP layer's sentinels, then the store's.
var statusTable = []struct {
	match  func(error) bool
	status int
	code   string
	retry  bool // see Problem.retry
	// message is the Problem's message, "" for the status's text; a
	// *FieldError's or *domain.Error's own message comes first.
	message string
}{
	{isDomainCode(domain.ErrInvalid), http.StatusUnprocessableEntity, "invalid", false, ""},
	{isDomainCode(domain.ErrConflict), http.StatusConflict, "conflict", false, ""},
	{isDomainCode(domain.ErrNotFound), http.StatusNotFound, "not_found", false, ""},
	{isErr(ErrRequired), http.StatusBadRequest, "required", false, ""}, // before ErrMalformed, which it wraps
	{isErr(ErrMalformed), http.StatusBadRequest, "malformed", false, ""},
	{isErr(ErrUnauthorized), http.StatusUnauthorized, "unauthorized", false, ""},
	{isErr(ErrMethodNotAllowed), http.StatusMethodNotAllowed, "method_not_allowed", false, ""},
	{isErr(ErrPreconditionFailed), http.StatusPreconditionFailed, "precondition_failed", false, ""},
	{isErr(ErrBodyTooLarge), http.StatusRequestEntityTooLarge, "too_large", false, ""},
	{isErr(ErrIdempotencyKeyReused), http.StatusUnprocessableEntity, "idempotency_key_reused", false, ""},
	{isErr(ErrTooLong), http.StatusUnprocessableEntity, "too_long", false, ""},
	{isErr(ErrUnsupportedMediaType), http.StatusUnsupportedMediaType, "unsupported_media_type", false, ""},
	{isErr(ErrRequestTimeout), http.StatusRequestTimeout, "timeout", false, ""},
	{isErr(ErrReadModelsBehind), http.StatusServiceUnavailable, "unavailable", false, ""},
	{isErr(ErrUnavailable), http.StatusServiceUnavailable, "unavailable", false, ""},
	{isErr(ErrEventUnreadable), http.StatusInternalServerError, codeEventUnreadable, false, ""},
	{isErr(eventstore.ErrStreamNotFound), http.StatusNotFound, "not_found", false, "call not found"},
	// A store that failed for good (eventstore.FailureReporter) refuses
	// every append until callledger is restarted: an outage, which another
	// server or this one restarted takes the retry of, not a bug. Its
	// cause is not logged for each request: the store logged it once when
	// it failed, and /readyz says so.
	{isErr(eventstore.ErrFailed), http.StatusServiceUnavailable, "unavailable", false, "the ledger cannot record writes at the moment; retry later"},
	// A store that does not answer (a KurrentDB node down, a call past its
	// time limit): an outage that may end by itself. A write's outcome is
	// unknown; its retry with the same Idempotency-Key finds it if it
	// landed.
	{isErr(eventstore.ErrUnavailable), http.StatusServiceUnavailable, "unavailable", false, "the event store does not answer at the moment; retry later (a write with the same Idempotency-Key)"},
	// Only after the bounded retries of execute gave up.
	{isErr(eventstore.ErrVersionConflict), http.StatusConflict, "conflict", true, "the call is being changed concurrently; retry"},
	// Data damaged on disk: a fault of the server, which no retry cures,
	// and which the caller is told apart from a bug, with what the
	// operator must do (the error, naming the damaged file, is logged, and
	// /readyz says so from then on: see Server.damage).
	{isErr(projections.ErrCorrupt), http.StatusInternalServerError, codeDataDamaged, false, messageViewsDamaged},
	{isErr(eventstore.ErrCorrupt), http.StatusInternalServerError, codeDataDamaged, false, messageLogDamaged},
}

// statusClientClosedRequest is the status of a request whose client went
// away before its answer (nginx's 499, "client closed request"): what the
// metrics count it under, as no client reads it.
const statusClientClosedRequest = 499

// codeDataDamaged is the Problem code of data damaged on disk.
const codeDataDamaged = "data_damaged"

// codeEventUnreadable is the Problem code of ErrEventUnreadable: a fault of
// the log's content, not of the disk, so it leaves /readyz as it is.
const codeEventUnreadable = "event_unreadable"

// The messages of data damaged on disk, as callers and /readyz show them.
const (
	messageViewsDamaged = "the ledger's read models are damaged on disk: the operator must rebuild them (callledger replay)"
	messageLogDamaged   = "the ledger's event log is damaged on disk: the operator must restore it (callledger verify names the damage)"
)

func isDomainCode(c domain.ErrorCode) func(error) bool {
	return func(err error) bool { return domain.ErrorCodeOf(err) == c }
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

// ProblemOf classifies err through the status table. The second result is
// false for an internal failure (any error the table does not know), whose
// Problem is a bare 500 that leaks nothing.
func ProblemOf(err error) (Problem, bool) {
	for _, row := range statusTable {
		if !row.match(err) {
			continue
		}
		p := Problem{Status: row.status, Code: row.code, Message: cmp.Or(row.message, http.StatusText(row.status)), retry: row.retry}
		var de *domain.Error
		var fe *FieldError
		switch {
		case errors.As(err, &fe):
			p.Field, p.Message = fe.Field, fe.Message
		case errors.As(err, &de):
			p.Field, p.Message = de.Field, de.Message
		}
		return p, true
	}
	return problemInternal, false
}

// withField is msg, about field, as every error renderer shows it (each
// surface's and plainError): "field: msg", unless msg already starts with
// the field as a word ("To is required") or there is no field. One rule
// for every renderer, so that a message reads the same on each, and a
// message that merely mentions the field ("id" in "no call with id ...")
// is still prefixed.
func withField(field, msg string) string {
	if field == "" {
		return msg
	}
	if rest, ok := strings.CutPrefix(msg, field); ok && !startsWithWordChar(rest) {
		return msg
	}
	return field + ": " + msg
}

// startsWithWordChar reports whether s starts with a letter, a digit or
// '_': a field name that goes on ("Status" in "StatusCallback ...").
func startsWithWordChar(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// problemInternal is the Problem of every internal failure: a bug or an
// error the status table does not know. It says nothing about the cause.
var problemInternal = Problem{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}

// ErrorRenderer writes a Problem in one surface's error style. Each surface
// has one (moonbaseError, callHistoryError, and the VoiceCall and LaML
// surfaces their own); writeError picks the status, the renderer the body.
type ErrorRenderer func(w http.ResponseWriter, r *http.Request, p Problem)

// writeError answers err in the style of render: it classifies err with
// ProblemOf, logs internal failures with the request id (and shows callers
// none of their text), and sets x-should-retry: false on conflicts, because
// the SDKs of these APIs retry 409s by default and a conflict will not go
// away by retrying; except a Problem that says retry (statusTable), which
// is worth trying again, as its message says.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, render ErrorRenderer, err error) {
	if gone := r.Context().Err(); gone != nil && errors.Is(err, gone) {
		// The client went away (closed the connection, or gave up at its
		// own timeout while the request waited, say, behind other writes
		// to its call): no fault of the server's, and nobody reads the
		// answer. statusClientClosedRequest keeps it out of the 5xx an
		// operator alerts on, and it is not logged as a failure. It is
		// not recorded under an Idempotency-Key: the retry runs.
		markUnrecorded(r.Context())
		s.log.DebugContext(r.Context(), "client gone", slog.String("request_id", RequestID(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		w.WriteHeader(statusClientClosedRequest)
		return
	}
	p, known := ProblemOf(err)
	if !known || p.Code == codeDataDamaged || p.Code == codeEventUnreadable {
		s.log.ErrorContext(r.Context(), "request failed", slog.String("request_id", RequestID(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	if p.Code == codeDataDamaged {
		s.damage.CompareAndSwap(nil, &p.Message)
	}
	if outsideFingerprint(p.Field) {
		markUnrecorded(r.Context())
	}
	switch {
	case p.retry:
		// An answer that says retry is no result: recorded under the
		// key, it would answer every retry with itself.
		markUnrecorded(r.Context())
		w.Header().Set("x-should-retry", "true")
	case p.Status == http.StatusConflict, p.Status == http.StatusPreconditionFailed:
		w.Header().Set("x-should-retry", "false")
	case p.Status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	}
	// Capped as it is sent only: the damage kept for /readyz is whole.
	p.Message = capMessage(p.Message)
	render(w, r, p)
}

// problemMessageMax bounds the message of an error answer, in bytes: the
// checks quote the value at fault, most cut to a few dozen characters, but
// not every one is (a bad currency, price, content type or LaML Method of
// 200 KB came back whole, a body as large as the request's).
const problemMessageMax = 1024

// capMessage cuts msg to problemMessageMax bytes, at a character's start,
// saying so.
func capMessage(msg string) string {
	if len(msg) <= problemMessageMax {
		return msg
	}
	cut := problemMessageMax
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes more)", msg[:cut], len(msg)-cut)
}

// writeJSON writes v as JSON with the given status. Encoding errors of our
// own response types are programmer errors; they are logged.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.ErrorContext(r.Context(), "encode response", slog.Any("err", err))
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	writeJSONLine(w, status, b)
}

// writeJSONLine answers with status and the JSON body b and its newline:
// b's last byte when the caller has put it there (writeMoonbaseCall's
// buffer, a json.Encoder's output), so that the body goes out in one
// Write; else written after b (writeJSON's json.Marshal body, which
// appending the newline to would copy whenever it fills its allocation).
func writeJSONLine(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	if len(b) == 0 || b[len(b)-1] != '\n' {
		_, _ = io.WriteString(w, "\n") // a []byte literal here escaped: an allocation a response
	}
}

// plainError renders a Problem as {"error": {"code", "message", "field"}}:
// the style of the ledger's own routes (health, the auditors' and billing
// routes) and of paths that belong to no surface. Its message names the
// field as every surface's does (withField), so that one error reads the
// same on each.
func (s *Server) plainError(w http.ResponseWriter, r *http.Request, p Problem) {
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	}
	s.writeJSON(w, r, p.Status, map[string]body{"error": {Code: p.Code, Message: withField(p.Field, p.Message), Field: p.Field}})
}

// nestJSError renders a Problem in the NestJS-like style the call-history
// and VoiceCall surfaces share: {"statusCode", "error", "code", "message",
// "field"}. field is p.Field as the surface names it (callHistoryError and
// voiceCallError map it); the message names it as every surface's does
// (withField).
func (s *Server) nestJSError(w http.ResponseWriter, r *http.Request, p Problem, field string) {
	type body struct {
		StatusCode int    `json:"statusCode"`
		Error      string `json:"error"`
		Code       string `json:"code"`
		Message    string `json:"message"`
		Field      string `json:"field,omitempty"`
	}
	s.writeJSON(w, r, p.Status, body{StatusCode: p.Status, Error: http.StatusText(p.Status), Code: p.Code, Message: withField(field, p.Message), Field: field})
}
