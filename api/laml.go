package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/domain/jsonscan"
)

// The SignalWire LaML surface (seed 003), Twilio-compatible, mounted twice:
// under /api/laml/2010-04-01/Accounts/{AccountSid} (SignalWire's path) and
// under /2010-04-01/Accounts/{AccountSid} (Twilio's, as Twilio-style clients
// call it), each with and without a ".json" suffix:
//
//	GET  ...[.json]               the caller's own account, as Twilio's
//	                              Account resource (lamlaccount.go), which
//	                              Twilio clients fetch to check their
//	                              credentials; auth_token and the dates
//	                              are null (the ledger returns no secret
//	                              and records no account times)
//	POST .../Calls[.json]         create: From, To, Url (or Twiml or
//	                              ApplicationSid), Method, FallbackUrl,
//	                              FallbackMethod, StatusCallback,
//	                              StatusCallbackMethod; a new call, queued,
//	                              outbound-api; 201. Every routing
//	                              parameter given is recorded in the
//	                              call's routing (Twiml and ApplicationSid
//	                              too: the ledger keeps what the client
//	                              asked for, though Twilio's Call resource
//	                              shows neither, so the response does not)
//	GET  .../Calls[.json]         list, newest start first, Twilio paging
//	                              (PageSize, Page, PageToken) and filters
//	                              To, From, Status, StartTime, StartTime<,
//	                              StartTime>, EndTime, EndTime<, EndTime>
//	                              (a date or a date-time: StartTime the
//	                              GMT day, < and > on or before and after
//	                              it, to the second for a date-time;
//	                              lamlTimeBounds; a call not ended matches
//	                              no EndTime filter) and ParentCallSid
//	                              (a call sid, a UUID; 400 if malformed)
//	GET  .../Calls/{Sid}[.json]   fetch
//	POST .../Calls/{Sid}[.json]   update: Url, Twiml, ApplicationSid,
//	                              Method, FallbackUrl, FallbackMethod,
//	                              StatusCallback, StatusCallbackMethod,
//	                              Status (completed hangs up a live
//	                              call: an in-progress one ends
//	                              completed, a queued or ringing one is
//	                              canceled; canceled cancels a queued or
//	                              ringing one and leaves an in-progress
//	                              one as it is); of an active call
//	                              only (lamlModifyActive): for a call that
//	                              has ended, Status or a routing parameter
//	                              is a 409 with code 21220
//	GET  .../Calls/{Sid}/Recordings[.json], .../Recordings/{RecordingSid}[.json]
//	GET  .../Calls/{Sid}/Notifications[.json]
//	                              the subresources every call advertises in
//	                              subresource_uris (lamlsubresources.go)
//	GET  .../Recordings[.json]    the account's recordings, newest first,
//	                              filters CallSid and DateCreated,
//	                              DateCreated<, DateCreated>
//	GET  .../Recordings/{RecordingSid}[.json]
//	                              one recording: its uri (the read models'
//	                              recording index names its call)
//	                              (lamlsubresources.go)
//
// Bodies are application/x-www-form-urlencoded (what Twilio clients send)
// or a JSON object with the same parameter names (snake_case is accepted
// too). Authentication is HTTP Basic with the AccountSid (the ledger
// account) and an API token. The path's AccountSid must be the caller's
// own (with or without the ".json" that ends .../Accounts/{AccountSid}.json,
// unless the sid with it is itself a configured account; lamlOwnAccount):
// any other is a 401 with code 20003, as Twilio answers credentials that
// do not open the account in the path. A call of another account is a 404
// (20404) to every request. A deleted call is a 404 (20404) to a read
// (fetch, its subresources) and left out of the list; a write to it (POST
// .../Calls/{Sid}) is a 409 (20409), as on every surface.
//
// Responses carry every field of the seed's Call resource (lamlCall):
// dates in RFC 2822 GMT, price as a JSON number written from the decimal's
// digits (or null) with price_unit, duration an integer (Twilio writes
// duration and price as strings; the seed says integer and double, and the
// seed wins), uri and subresource_uris under the prefix the request used.
// The price is the ledger's total as recorded (Twilio shows charges
// negative; the ledger does not invent a sign).
//
// Errors are Twilio's body: {"code", "message", "more_info", "status"}. The
// HTTP status comes from the ledger's one status table (400 malformed, 401,
// 404, 405, 409, 412, 413, 415, 500, 503), except that what the table
// answers 422 (a value the ledger cannot accept, an Idempotency-Key reused
// for another request) is a 400, as Twilio answers every such parameter;
// the code is Twilio's where one fits: 20003 authenticate (401), 20004
// method not allowed (a 405, with Allow), 20404 not found (also any path
// under /api/laml or /2010-04-01 that no route serves), 20413 body too
// large, 20500 an internal failure (a 500 that says nothing of its cause,
// which is logged), 20503 unavailable (a 503 with Retry-After: the read
// models have not reached the caller's writes in time, or the store has
// failed and refuses writes until callledger is restarted, or the
// idempotency table has failed and refuses keyed requests), 21201/21213
// To/From missing (left out or empty), 21211/21212 To/From invalid (given,
// but not a number, not UTF-8 or not a string), 21205 Url and 21218
// ApplicationSid (whatever is wrong with them, not UTF-8 included), 32018
// a Twiml over 4000 characters (lamlTwimlLength: its length only; anything
// else wrong with a Twiml is 20001), 21220 for an update the call's state
// forbids (Twilio answers that one with 400; the ledger's table says 409
// for every state conflict), 20409 other conflicts, 20001 any other bad
// parameter. A parameter that is not UTF-8 is named, in a form or a JSON
// body alike (lamlJSONParamNotText).

// lamlAPIVersion is the api_version of every LaML call: the Twilio API
// version the compatibility surface speaks.
const lamlAPIVersion = "2010-04-01"

// lamlUnpricedCurrency is the price_unit a LaML resource shows when the
// ledger has no price for it: a call without one (its price is null) and
// every recording (the ledger keeps no recording prices). A priced call
// shows its price's own currency. It is only shown, never stored: the
// currency VoiceCall stores for a body that names none is
// voiceCallCurrency, which follows that surface's contract and is kept
// apart from this one.
const lamlUnpricedCurrency = "USD"

// lamlPrefix is SignalWire's path prefix; Twilio's paths have none.
const lamlPrefix = "/api/laml"

// lamlProvider is the provider of calls created on the LaML surface.
const lamlProvider = "signalwire"

// lamlTimeLayout is the RFC 2822 layout Twilio and SignalWire write dates in,
// always in GMT: "Mon, 02 Jan 2006 15:04:05 +0000".
const lamlTimeLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// lamlMoreInfo is where a LaML error's code is explained, as Twilio links it.
const lamlMoreInfo = "https://www.twilio.com/docs/errors/"

// Paging limits of the LaML lists: Twilio's page size, 50 by default and at
// most 1000, and a page number bound so that Page×PageSize (a page's start)
// cannot overflow.
const (
	lamlPageSizeDefault = 50
	lamlPageSizeMax     = 1000
	lamlPageMax         = 1<<31 - 1
)

// The Twilio error codes the LaML surface answers with.
const (
	lamlCodeInvalidParam  = 20001 // a parameter is malformed or not acceptable
	lamlCodeAuthenticate  = 20003 // credentials do not open this AccountSid
	lamlCodeMethod        = 20004 // the resource does not take the method
	lamlCodeNotFound      = 20404 // no such call (or not the caller's)
	lamlCodeConflict      = 20409 // a concurrent change, an existing call
	lamlCodeInternal      = 20500 // internal failure
	lamlCodeUnavailable   = 20503 // Twilio's "Service unavailable": retry later
	lamlCodeTooLarge      = 20413 // body too large
	lamlCodeToRequired    = 21201 // To is missing
	lamlCodeURLInvalid    = 21205 // Url is missing or not a URL
	lamlCodeToInvalid     = 21211 // To is not a valid number
	lamlCodeFromInvalid   = 21212 // From is not a valid number
	lamlCodeFromRequired  = 21213 // From is missing
	lamlCodeAppInvalid    = 21218 // ApplicationSid is not an application id
	lamlCodeNotInProgress = 21220 // the call's state forbids the update
	lamlCodeTwimlTooLarge = 32018 // Twiml is over 4000 characters
)

// lamlRoutes mounts the SignalWire LaML (Twilio-compatible) surface (seed
// 003). Its routers own every path under /api/laml and under /2010-04-01
// (Twilio's paths), so that an unknown path or method there is answered in
// Twilio's error body too. The Account resource, the Calls resource and the
// subresources its calls advertise are under .../Accounts/{AccountSid}
// (lamlAccountRoutes).
func (s *Server) lamlRoutes(r chi.Router) {
	version := func(r chi.Router) {
		s.routeErrors(r, s.lamlError)
		r.Route("/Accounts/{AccountSid}", s.lamlAccountRoutes)
	}
	r.Route(lamlPrefix, func(r chi.Router) {
		s.routeErrors(r, s.lamlError)
		r.Route("/"+lamlAPIVersion, version)
	})
	r.Route("/"+lamlAPIVersion, version)
}

// lamlAccountRoutes are the routes of one AccountSid, behind HTTP Basic
// authentication and the check that the account is the caller's: the
// Account resource itself (lamlaccount.go; "/" is both .../{AccountSid}
// and .../{AccountSid}.json, whose suffix lamlOwnAccount allows), the Calls
// resource and the call subresources of lamlsubresources.go. An unknown
// path or method is answered after those checks.
func (s *Server) lamlAccountRoutes(r chi.Router) {
	r.Use(s.surface(s.lamlError), varyByUserAgent, s.BasicAuth(s.lamlError), s.lamlOwnAccount, s.noWriteInThePast(s.lamlError), s.idempotentReadingBodyAs(s.lamlError, lamlBodyKind))
	s.routeErrors(r, s.lamlError)
	r.Get("/", s.getLAMLAccount)
	for _, suffix := range []string{"", ".json"} {
		r.Get("/Calls"+suffix, s.listLAMLCalls)
		r.Post("/Calls"+suffix, s.createLAMLCall)
		r.Get("/Calls/{Sid}/Recordings"+suffix, s.listLAMLRecordings)
		r.Get("/Calls/{Sid}/Notifications"+suffix, s.listLAMLNotifications)
	}
	r.Get("/Calls/{Sid}", s.getLAMLCall)
	r.Post("/Calls/{Sid}", s.updateLAMLCall)
	r.Delete("/Calls/{Sid}", s.deleteLAMLCall)
	r.Get("/Calls/{Sid}/Recordings/{RecordingSid}", s.getLAMLRecording)
	for _, suffix := range []string{"", ".json"} {
		r.Get("/Recordings"+suffix, s.listLAMLAccountRecordings)
	}
	r.Get("/Recordings/{RecordingSid}", s.getLAMLAccountRecording)
}

// lamlOwnAccount refuses a path whose AccountSid is not the caller's
// account, as Twilio does: 401, code 20003. The {AccountSid} segment holds
// the ".json" of .../Accounts/{AccountSid}.json (the Account resource),
// which names the account as well as the bare sid does; under it
// (.../Accounts/{AccountSid}.json/Calls) no route serves, so that path is a
// 404 for the caller's own account, never a 401 saying that the credentials
// do not open it. A segment that is itself a configured account is that
// account, never another's with ".json": with accounts "acme" and
// "acme.json", .../Accounts/acme.json is acme.json's, and acme's
// credentials get the 401 that Twilio would answer.
func (s *Server) lamlOwnAccount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid, account := chi.URLParam(r, "AccountSid"), AccountFrom(r.Context())
		switch {
		case sid == account:
		case sid == account+".json" && !s.keys.hasAccount(sid):
			// RoutePath is what follows the segment: "/" for the account
			// itself (lamlAccountRoutes).
			if rest := chi.RouteContext(r.Context()).RoutePath; rest != "/" {
				s.writeError(w, r, s.lamlError, NotFound("no resource under %s", truncate(sid, 64)))
				return
			}
		default:
			w.Header().Set("WWW-Authenticate", `Basic realm="callledger"`)
			s.writeError(w, r, s.lamlError, &FieldError{Err: ErrUnauthorized, Field: "AccountSid",
				Message: "Authenticate: the credentials do not open the account in the path"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// lamlRequestPrefix is the path prefix the request came in on: "/api/laml"
// or "" (Twilio's paths).
func lamlRequestPrefix(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, lamlPrefix+"/") {
		return lamlPrefix
	}
	return ""
}

// createLAMLCall handles POST .../Calls: a new outbound call, queued.
func (s *Server) createLAMLCall(w http.ResponseWriter, r *http.Request) {
	params, err := readLAMLParams(r)
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	cmd, err := decodeLAMLCreate(params)
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	cmd.AccountID = AccountFrom(r.Context())
	cmd.ProviderID = lamlNewProviderID(cmd.AccountID, IdempotencyKeyFrom(r.Context()))
	cmd.CallID = domain.CallIDFor(cmd.AccountID, lamlProvider, cmd.ProviderID)
	cmd.Now = s.now()
	res, err := s.Execute(r, domain.SurfaceLaML, cmd.CallID, decideInOrder(cmd))
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	SetETag(w, res.State)
	view := renderLAMLCall(&res.State.Call, r)
	w.Header().Set("Location", view.URI)
	s.writeJSON(w, r, http.StatusCreated, view)
}

// lamlNewProviderID chooses the provider id of a call created on the LaML
// surface. With an Idempotency-Key it is derived from the account and the
// key, so that a retry addresses the same call rather than creating another.
func lamlNewProviderID(account, idempotencyKey string) string {
	if idempotencyKey == "" {
		return uuid.NewString()
	}
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("laml\x00"+account+"\x00"+idempotencyKey)).String()
}

// getLAMLCall handles GET .../Calls/{Sid}.
func (s *Server) getLAMLCall(w http.ResponseWriter, r *http.Request) {
	v, err := s.readLAMLCall(r)
	s.answerCallView(w, r, v, err, s.lamlError, func(v *CallView) (any, error) { return renderLAMLCall(&v.Call, r), nil })
}

// updateLAMLCall handles POST .../Calls/{Sid}: the routing changes first,
// then the Status move, decided together and appended as one.
func (s *Server) updateLAMLCall(w http.ResponseWriter, r *http.Request) {
	params, err := readLAMLParams(r)
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	res, err := s.executeOnLAMLSid(r, func(id uuid.UUID) (Decider, error) {
		routing, cmds, err := decodeLAMLUpdate(params, id, AccountFrom(r.Context()), s.now())
		if err != nil {
			return nil, err
		}
		return lamlModifyActive(routing, decideInOrder(cmds...)), nil
	})
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	SetETag(w, res.State)
	s.writeJSON(w, r, http.StatusOK, renderLAMLCall(&res.State.Call, r))
}

// deleteLAMLCall handles DELETE .../Calls/{Sid}, Twilio's delete of a call
// record (its clients' remove()), after which the call no longer appears
// in the API: the call is soft-deleted (domain.DeleteCall), as DELETE
// /v1/calls/{id} deletes it, so that this surface, Moonbase and VoiceCall
// answer 404 for it and leave it out of their lists, while its events
// stay in the log and /v1/calls/{id} shows it with deletedAt. A deleted
// call is deleted again as any write to it is refused: a 409. It answers
// 204 with no body, as Twilio does.
func (s *Server) deleteLAMLCall(w http.ResponseWriter, r *http.Request) {
	res, err := s.executeOnLAMLSid(r, func(id uuid.UUID) (Decider, error) { return s.deleteDecider(r, id), nil })
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	SetETag(w, res.State)
	w.WriteHeader(http.StatusNoContent)
}

// lamlRoutingParam is a call-control parameter of create and update.
type lamlRoutingParam struct {
	name   string // the LaML parameter, as errors name it
	key    string // lamlKey(name), the parameter's key in lamlParams
	field  string // the field Decide reports it as (see lamlField)
	method bool   // a *Method parameter, read by lamlMethod
	// of returns the parameter's place in a RoutingChanges.
	of func(*domain.RoutingChanges) **string
}

// newLAMLRoutingParam is a lamlRoutingParam with its key worked out once,
// rather than by each request that reads the parameter.
func newLAMLRoutingParam(name, field string, method bool, of func(*domain.RoutingChanges) **string) lamlRoutingParam {
	return lamlRoutingParam{name: name, key: lamlKey(name), field: field, method: method, of: of}
}

// lamlRoutingParams are the call-control parameters, in the order an error
// names the first one given. They are the one list of them: lamlRouting
// reads them, lamlModifyActive and lamlErrorCode name them, lamlField maps
// Decide's fields to them.
var lamlRoutingParams = [...]lamlRoutingParam{
	newLAMLRoutingParam("Url", "routing.url", false, func(r *domain.RoutingChanges) **string { return &r.URL }),
	newLAMLRoutingParam("Twiml", "routing.twiml", false, func(r *domain.RoutingChanges) **string { return &r.Twiml }),
	newLAMLRoutingParam("ApplicationSid", "routing.application_sid", false, func(r *domain.RoutingChanges) **string { return &r.ApplicationSID }),
	newLAMLRoutingParam("Method", "routing.method", true, func(r *domain.RoutingChanges) **string { return &r.Method }),
	newLAMLRoutingParam("FallbackUrl", "routing.fallback_url", false, func(r *domain.RoutingChanges) **string { return &r.FallbackURL }),
	newLAMLRoutingParam("FallbackMethod", "routing.fallback_method", true, func(r *domain.RoutingChanges) **string { return &r.FallbackMethod }),
	newLAMLRoutingParam("StatusCallback", "routing.status_callback", false, func(r *domain.RoutingChanges) **string { return &r.StatusCallback }),
	newLAMLRoutingParam("StatusCallbackMethod", "routing.status_callback_method", true, func(r *domain.RoutingChanges) **string { return &r.StatusCallbackMethod }),
}

// lamlRoutingGiven returns the name of the first routing parameter
// (lamlRoutingParams) that routing gives, or "" if it gives none.
func lamlRoutingGiven(routing domain.RoutingChanges) string {
	for _, rp := range lamlRoutingParams {
		if *rp.of(&routing) != nil {
			return rp.name
		}
	}
	return ""
}

// lamlModifyActive wraps decide, the Decider of an update (POST
// .../Calls/{Sid}), so that it modifies only an active call (queued,
// ringing or in progress), as seed 003 says the endpoint does and as
// Twilio answers a redirect of a call that has ended (21220, "call is not
// in progress"): a routing parameter given for a call whose status is
// terminal is a conflict naming the first one routing gives
// (lamlRoutingGiven; 21220, see lamlErrorCode), appending nothing, whether
// or not it would change anything. routing is the update's decoded
// RoutingChanges, read rather than the parameters again, so that what
// counts as given is what decide applies. Status on such a call is refused
// by the domain already (HangUpCall, CancelCall). decide runs first, so
// that a parameter that is malformed, a call that is deleted or not there,
// and a Status that cannot apply are answered as before. Only this
// endpoint is restricted: providers (Moonbase upserts), VoiceCall PUT and
// call-history PATCH still record facts of an ended call, which are facts
// after it ended.
func lamlModifyActive(routing domain.RoutingChanges, decide Decider) Decider {
	given := lamlRoutingGiven(routing)
	if given == "" {
		return decide
	}
	return func(st domain.State, at time.Time) ([]domain.Event, domain.State, error) {
		events, next, err := decide(st, at)
		if err != nil {
			return nil, domain.State{}, err
		}
		if status := st.Call.Status; status.Terminal() {
			return nil, domain.State{}, domain.Errorf(domain.ErrConflict, given,
				"the call has ended (%s): only an active call (queued, ringing or in-progress) can be modified", status)
		}
		return events, next, nil
	}
}

// lamlParams are the parameters of a LaML request, from a form or a JSON
// body, keyed by their normalized name (lamlKey), so that "StatusCallback",
// "status_callback" and "statuscallback" are one parameter.
type lamlParams map[string]string

// lamlKey normalizes a parameter name: lower case, without underscores.
func lamlKey(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, "_", ""))
}

// lamlParamNames maps the normalized name (lamlKey) of every parameter the
// LaML surface reads to its name in Twilio's documentation: the one table
// errors name parameters by (lamlParamName, lamlField), so that "TO",
// "status_callback" or "applicationsid", which the decoders accept, are
// answered as To, StatusCallback and ApplicationSid, with the codes
// lamlErrorCode gives those names.
var lamlParamNames = func() map[string]string {
	names := []string{"To", "From", "Status", "PageSize", "Page", "PageToken"}
	for _, rp := range lamlRoutingParams {
		names = append(names, rp.name)
	}
	names = append(names, lamlFilterNames()...)
	m := make(map[string]string, len(names))
	for _, name := range names {
		m[lamlKey(name)] = name
	}
	return m
}()

// lamlParamName returns the LaML name (lamlParamNames) of the parameter a
// request spelt name, or name itself for one the surface does not read.
func lamlParamName(name string) string {
	if known, ok := lamlParamNames[lamlKey(name)]; ok {
		return known
	}
	return name
}

// lamlParamsMax bounds the parameters one request may carry.
const lamlParamsMax = 256

// get returns the parameter and whether it was given (an empty value is
// given; Twilio clients send empty strings to clear nothing).
func (p lamlParams) get(name string) (string, bool) {
	v, ok := p[lamlKey(name)]
	return v, ok
}

// add records the value v of the parameter a request spelt name. The
// decoders read names in any letter case, with or without underscores, so
// one parameter can arrive in two spellings ("To" and "to"): with one
// value it is taken; with different values, a parameter the surface reads
// is refused, naming it, since which one the client meant cannot be told,
// and one it ignores keeps the first (the decoders add names in sorted
// order, so that what a request gets never depends on a Go map's).
func (p lamlParams) add(name, v string) error {
	key := lamlKey(name)
	prev, dup := p[key]
	switch {
	case !dup:
		p[key] = v
	case prev != v:
		if known, ok := lamlParamNames[key]; ok {
			return Malformed(known, "%s is given twice, spelt two ways, with different values", known)
		}
	}
	return nil
}

// optional returns a pointer to the parameter, or nil if it was not given
// or is empty.
func (p lamlParams) optional(name string) *string {
	return p.optionalKey(lamlKey(name))
}

// optionalKey is optional of the parameter whose normalized name
// (lamlKey) is key.
func (p lamlParams) optionalKey(key string) *string {
	v, ok := p[key]
	if !ok || v == "" {
		return nil
	}
	return &v
}

// readLAMLParams reads the request body (capped by the server) as a JSON
// object when the Content-Type says JSON, as an urlencoded form otherwise.
func readLAMLParams(r *http.Request) (lamlParams, error) {
	body, err := ReadBody(r)
	if err != nil {
		return nil, err
	}
	ct := r.Header.Get("Content-Type")
	mt := ""
	if ct != "" {
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, Malformed("Content-Type", "%q is not a media type", truncate(ct, 64))
		}
	}
	switch {
	case isJSONMediaType(mt):
		return decodeLAMLJSON(body)
	case mt == "" || mt == "application/x-www-form-urlencoded":
		return decodeLAMLForm(body)
	}
	return nil, &FieldError{Err: ErrUnsupportedMediaType, Field: "Content-Type",
		Message: fmt.Sprintf("send application/x-www-form-urlencoded or application/json, not %s", truncate(mt, 64))}
}

// isJSONMediaType reports whether LaML reads a body of media type mt as
// JSON.
func isJSONMediaType(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// lamlBodyKind is how readLAMLParams reads r's body, for its fingerprint:
// "json", or "form" (no Content-Type, a form's, and those LaML refuses,
// whose error is not recorded under the key: outsideFingerprint).
func lamlBodyKind(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && isJSONMediaType(mt) {
		return "json"
	}
	return "form"
}

// decodeLAMLForm parses an urlencoded body. A repeated parameter keeps its
// first value; one spelt two ways is lamlParams.add's.
func decodeLAMLForm(body []byte) (lamlParams, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, Malformed("", "the body is not a valid urlencoded form: %s", err.Error())
	}
	if len(vals) > lamlParamsMax {
		return nil, Malformed("", "more than %d parameters", lamlParamsMax)
	}
	params := make(lamlParams, len(vals))
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		vs := vals[name]
		// Percent-escapes can spell any bytes; text that is not UTF-8 would
		// be altered on its way into an event, so it is refused.
		if !utf8.ValidString(name) {
			return nil, Malformed("", "a parameter name is not valid UTF-8")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, Malformed(lamlParamName(name), "is not valid UTF-8")
			}
		}
		if len(vs) > 0 {
			if err := params.add(name, vs[0]); err != nil {
				return nil, err
			}
		}
	}
	return params, nil
}

// decodeLAMLJSON parses a JSON object body. The values of the parameters
// the surface reads must be strings, numbers (kept by their digits),
// booleans or null (not given); an object or array is skipped under any
// other name, as unknown fields are ignored. A name repeated
// keeps its last value, as encoding/json reads an object; a parameter
// spelt two ways is lamlParams.add's.
func decodeLAMLJSON(body []byte) (lamlParams, error) {
	var raw map[string]json.RawMessage
	if err := DecodeJSON(body, &raw); err != nil {
		if name := lamlJSONParamNotText(body); name != "" {
			return nil, Malformed(lamlParamName(name), "is not valid UTF-8")
		}
		return nil, err
	}
	if len(raw) > lamlParamsMax {
		return nil, Malformed("", "more than %d parameters", lamlParamsMax)
	}
	params := make(lamlParams, len(raw))
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		v := raw[name]
		v = bytes.TrimSpace(v)
		var s string
		switch {
		case len(v) == 0 || string(v) == "null":
			continue
		case v[0] == '"':
			if err := json.Unmarshal(v, &s); err != nil {
				name := lamlParamName(name)
				return nil, Malformed(name, "%s is not a valid JSON string", truncate(name, 64))
			}
		case string(v) == "true" || string(v) == "false":
			s = string(v)
		case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
			s = string(v)
		default:
			// An object or array: an extra parameter the surface does not
			// read is ignored, as any unknown field (a JSON client sends
			// Twilio's repeated StatusCallbackEvent as an array); one it
			// reads has to be text.
			known, ok := lamlParamNames[lamlKey(name)]
			if !ok {
				continue
			}
			return nil, Malformed(known, "%s must be a string, not a JSON object or array", known)
		}
		if err := params.add(name, s); err != nil {
			return nil, err
		}
	}
	return params, nil
}

// lamlJSONParamNotText names the parameter of a JSON object body whose
// value is not UTF-8 text: it holds bytes that are not UTF-8, or escapes
// half of a UTF-16 surrogate pair. DecodeJSON refuses such a body as a
// whole, which tells a Twilio client neither the parameter nor the code a
// form with the same bytes gets (decodeLAMLForm names the parameter). It
// returns "" for a body that is text, or whose fault it cannot pin on one
// parameter's value (a name, not JSON); the body is then DecodeJSON's to
// judge. Of several faulty values it names the first in name order.
// decodeLAMLJSON asks it only of a body DecodeJSON refused (every body it
// names a parameter of is one), so a sound request is scanned once.
func lamlJSONParamNotText(body []byte) string {
	if utf8.Valid(body) && jsonscan.LoneSurrogateAt(body) < 0 {
		return ""
	}
	// Unmarshal takes bytes that are not UTF-8 (it replaces them in the
	// strings it decodes), and a RawMessage keeps a value's bytes as sent.
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return ""
	}
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		v := raw[name]
		if !utf8.Valid(v) || jsonscan.LoneSurrogateAt(v) >= 0 {
			return name
		}
	}
	return ""
}

// lamlMethod reads the value v of an optional *Method parameter: GET or
// POST, in any case (Twilio's clients send them upper case).
func lamlMethod(v *string) *string {
	if v == nil {
		return nil
	}
	m := strings.ToUpper(*v)
	return &m
}

// lamlRouting reads the call-control parameters shared by create and
// update (lamlRoutingParams).
func lamlRouting(p lamlParams) domain.RoutingChanges {
	var routing domain.RoutingChanges
	for _, rp := range lamlRoutingParams {
		v := p.optionalKey(rp.key)
		if rp.method {
			v = lamlMethod(v)
		}
		*rp.of(&routing) = v
	}
	return routing
}

// lamlTwimlLength refuses a Twiml over domain.TwimlCharsMax characters as
// too long (TooLong), before Decide would refuse it as invalid like any
// other fault: Twilio has a code of its own for the length (32018), which
// lamlErrorCode gives a refusal marked as one of length only, never
// whatever else the domain refuses of a Twiml. The bound and the count are
// the domain's (domain.TwimlTooLong); the domain still checks it, for
// every surface.
func lamlTwimlLength(routing domain.RoutingChanges) error {
	if routing.Twiml == nil {
		return nil
	}
	if n, tooLong := domain.TwimlTooLong(*routing.Twiml); tooLong {
		return TooLong("Twiml", "must be at most %d characters, got %d", domain.TwimlCharsMax, n)
	}
	return nil
}

// decodeLAMLCreate reads the parameters of POST .../Calls into the
// UpsertCall that creates the call (account, ids and time are the caller's
// to set): outbound, queued, with its routing.
func decodeLAMLCreate(p lamlParams) (domain.UpsertCall, error) {
	to := p.optional("To")
	if to == nil {
		return domain.UpsertCall{}, Required("To", "To is required")
	}
	from := p.optional("From")
	if from == nil {
		return domain.UpsertCall{}, Required("From", "From is required")
	}
	routing := lamlRouting(p)
	if routing.URL == nil && routing.Twiml == nil && routing.ApplicationSID == nil {
		return domain.UpsertCall{}, Required("Url", "Url (or Twiml, or ApplicationSid) is required")
	}
	if err := lamlTwimlLength(routing); err != nil {
		return domain.UpsertCall{}, err
	}
	dir := domain.DirectionOutbound
	queued := domain.StatusQueued
	return domain.UpsertCall{
		Mode:      domain.UpsertCreate,
		Provider:  lamlProvider,
		Direction: &dir,
		From:      from,
		To:        to,
		Status:    &queued,
		Routing:   routing,
	}, nil
}

// decodeLAMLUpdate reads the parameters of POST .../Calls/{Sid} into the
// routing they change and the commands they ask for: an UpsertCall (update
// only) with the routing, then HangUpCall for Status=completed (Twilio
// hangs the call up whatever its stage: an in-progress call is terminated,
// a queued or ringing one canceled) or CancelCall for Status=canceled
// (queued or ringing; an in-progress call is left as it is).
func decodeLAMLUpdate(p lamlParams, id uuid.UUID, account string, now time.Time) (domain.RoutingChanges, []domain.Command, error) {
	routing := lamlRouting(p)
	if err := lamlTwimlLength(routing); err != nil {
		return domain.RoutingChanges{}, nil, err
	}
	cmds := []domain.Command{domain.UpsertCall{
		Mode: domain.UpsertUpdate, CallID: id, AccountID: account, Now: now, Routing: routing,
	}}
	status, given := p.get("Status")
	if !given || status == "" {
		return routing, cmds, nil
	}
	switch st, _ := domain.ParseLaMLStatus(status); st {
	case domain.StatusCompleted:
		cmds = append(cmds, domain.HangUpCall{CallID: id, AccountID: account, Now: now})
	case domain.StatusCanceled:
		cmds = append(cmds, domain.CancelCall{CallID: id, AccountID: account, Now: now})
	default:
		return domain.RoutingChanges{}, nil, Invalid("Status", "Status must be completed or canceled, not %q", truncate(status, 32))
	}
	return routing, cmds, nil
}

// lamlListQuery is a parsed GET .../Calls: the read-model query and the
// paging and filter parameters to repeat in the page URIs.
type lamlListQuery struct {
	Query    ListQuery
	Page     int
	PageSize int
	// Filters are the filter parameters as given, in a fixed order.
	Filters url.Values
}

// lamlFilterNames returns the list filters, in the order page URIs repeat them.
func lamlFilterNames() []string {
	return []string{"To", "From", "Status", "StartTime", "StartTime<", "StartTime>",
		"EndTime", "EndTime<", "EndTime>", "ParentCallSid"}
}

// decodeLAMLList reads the query of GET .../Calls. The StartTime and
// EndTime filters take a date (YYYY-MM-DD, GMT) or an RFC 3339 date-time,
// read as lamlTimeBounds says: StartTime lists the calls that started on
// that GMT day (of the date-time's, for a date-time), StartTime> those that
// started on or after it (at or after the date-time's second), StartTime<
// those that started on or before it (at or before the date-time's
// second), leaving out queued calls, which show no start_time; EndTime,
// EndTime> and EndTime< the same of the end time, which a
// call that has not ended does not have, so that it matches none of them.
// Given together, the filters narrow each other. ParentCallSid keeps the
// calls the call with that sid (a UUID) created; a malformed one is a 400
// naming it.
func decodeLAMLList(q url.Values, account string) (lamlListQuery, error) {
	q = lamlQueryNames(q, append(lamlFilterNames(), lamlPagingNames[:]...))
	out := lamlListQuery{Filters: url.Values{}}
	out.Query.Account = account
	var err error
	if out.PageSize, out.Page, err = decodeLAMLPaging(q); err != nil {
		return out, err
	}
	// A filter given twice (Status=completed&Status=busy) would be read
	// as its first value, and the list narrowed without a word: Twilio
	// takes one of each.
	if err := givenOnce(q, lamlFilterNames()...); err != nil {
		return out, err
	}
	if err := filtersNotEmpty(q, lamlFilterNames()...); err != nil {
		return out, err
	}
	out.Query.Cursor = q.Get("PageToken")
	if out.Page > 0 && out.Query.Cursor == "" {
		return out, Invalid("Page", "Page %d needs the PageToken of the previous page's next_page_uri", out.Page)
	}
	out.Query.Limit = out.PageSize
	for _, name := range lamlFilterNames() {
		if v := q.Get(name); v != "" {
			out.Filters.Set(name, v)
		}
	}
	for _, f := range []struct {
		name string
		into *string
	}{{"To", &out.Query.To}, {"From", &out.Query.From}} {
		v := q.Get(f.name)
		if plusSentAsSpace(v) {
			// No address begins with a space: this is an E.164 number
			// whose + was not percent-encoded, which a query string
			// reads as a space. It would list nothing, page after page.
			return out, Invalid(f.name, "%q is not an address: a + in a query string reads as a space; send it as %%2B (%s=%%2B%s)",
				truncate(v, 32), f.name, truncate(strings.TrimLeft(v, " "), 32))
		}
		*f.into = v
	}
	if v := q.Get("Status"); v != "" {
		st, ok := domain.ParseLaMLStatusFilter(v)
		if !ok {
			return out, Invalid("Status", "%q is not a call status (queued, ringing, in-progress, completed, busy, failed, no-answer, canceled)", truncate(v, 32))
		}
		out.Query.Status = st
	}
	for _, f := range []struct {
		name string
		// lower (inclusive) and upper (exclusive) are the query's bounds
		// that the filter narrows (nil: unbounded).
		lower, upper **time.Time
	}{
		{"StartTime", &out.Query.StartedAtMin, &out.Query.StartedAtMax},
		{"StartTime>", &out.Query.StartedAtMin, &out.Query.StartedAtMax},
		{"StartTime<", &out.Query.StartedAtMin, &out.Query.StartedAtMax},
		{"EndTime", &out.Query.EndedAtMin, &out.Query.EndedAtMax},
		{"EndTime>", &out.Query.EndedAtMin, &out.Query.EndedAtMax},
		{"EndTime<", &out.Query.EndedAtMin, &out.Query.EndedAtMax},
	} {
		if err := narrowLAMLTimeBounds(q, f.name, f.lower, f.upper); err != nil {
			return out, err
		}
	}
	// A queued call shows no start_time (lamlStartTime), so no StartTime
	// filter keeps it.
	out.Query.Started = out.Query.StartedAtMin != nil || out.Query.StartedAtMax != nil
	out.Query.ParentCallID, err = parseLAMLSidFilter(q, "ParentCallSid")
	return out, err
}

// lamlPagingNames are Twilio's paging parameters of a list.
var lamlPagingNames = [...]string{"PageSize", "Page", "PageToken"}

// lamlQueryNames returns q with each parameter that is one of names
// spelt in another letter case or with underscores (status, page_size,
// start_time>) under its name in names, as the LaML bodies are read
// (lamlKey): a filter spelt so was ignored, and the list widened without a
// word (a bad-input probe's status=completed listed every call). A time
// filter's ">=" or "<=" is its ">" or "<", which Twilio documents as on
// or after, on or before (StartTime>=2025-02-17, as Twilio's pages write
// it, is sent so by clients that encode the whole name, axios, requests:
// it was ignored too, an API-client probe found). A name given in two
// spellings is given twice (givenOnce refuses it). q itself is left as it
// is.
func lamlQueryNames(q url.Values, names []string) url.Values {
	known := make(map[string]string, len(names))
	for _, name := range names {
		known[lamlKey(name)] = name
	}
	out := make(url.Values, len(q))
	for name, vs := range q {
		key := lamlKey(name)
		if strings.HasSuffix(key, ">=") || strings.HasSuffix(key, "<=") {
			key = key[:len(key)-1]
		}
		if canonical, ok := known[key]; ok {
			name = canonical
		}
		out[name] = append(out[name], vs...)
	}
	return out
}

// plusSentAsSpace reports whether v, a To or From filter, is digits after
// a space: an E.164 number sent with its + unencoded in a query string.
func plusSentAsSpace(v string) bool {
	digits, ok := strings.CutPrefix(v, " ")
	return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
}

// narrowLAMLTimeBounds reads the time filter name of q, if given
// (lamlTimeBounds), and narrows *lower (inclusive) and *upper (exclusive,
// nil: unbounded) to it: several filters on one time keep what they all
// allow.
func narrowLAMLTimeBounds(q url.Values, name string, lower, upper **time.Time) error {
	v := q.Get(name)
	if v == "" {
		return nil
	}
	from, until, err := lamlTimeBounds(name, v)
	if err != nil {
		return err
	}
	if from != nil && (*lower == nil || from.After(**lower)) {
		*lower = from
	}
	if until != nil && (*upper == nil || until.Before(**upper)) {
		*upper = until
	}
	return nil
}

// parseLAMLSidFilter reads the call-sid filter name of q (ParentCallSid,
// CallSid), uuid.Nil when it is not given: ParseCallID's check of a sid,
// but a malformed filter is the query's fault, a 400 naming it, not a call
// that is not found.
func parseLAMLSidFilter(q url.Values, name string) (uuid.UUID, error) {
	v := q.Get(name)
	if v == "" {
		return uuid.Nil, nil
	}
	id, err := ParseCallID(v)
	switch {
	case err == nil:
		return id, nil
	case len(v) == 36 && uuid.Validate(v) == nil:
		// The nil UUID: well formed, but no call's sid (ids are never nil).
		return uuid.Nil, Invalid(name, "%s is the nil UUID, which is no call's sid", name)
	default:
		return uuid.Nil, Invalid(name, "%s must be a call's sid, a UUID (8-4-4-4-12 hex digits), not %q", name, truncate(v, 64))
	}
}

// decodeLAMLPaging reads Twilio's paging parameters of a list: PageSize
// (default 50, at most 1000) and Page (from 0, at most lamlPageMax). Each,
// and PageToken, given twice is a 400 naming it, as a filter is, rather
// than read as its first value.
func decodeLAMLPaging(q url.Values) (size, page int, err error) {
	q = lamlQueryNames(q, lamlPagingNames[:]) // a call's subresource lists come here first
	if err := givenOnce(q, lamlPagingNames[:]...); err != nil {
		return 0, 0, err
	}
	size = lamlPageSizeDefault
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > lamlPageSizeMax {
			return 0, 0, Invalid("PageSize", "PageSize must be an integer from 1 to %d", lamlPageSizeMax)
		}
		size = n
	}
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > lamlPageMax {
			return 0, 0, Invalid("Page", "Page must be an integer from 0 to %d", lamlPageMax)
		}
		page = n
	}
	return size, page, nil
}

// parseLAMLGMTDateTime reads v in the layout in which twilio-java writes
// the time filters of a list (its Request.QUERY_STRING_DATE_TIME_FORMAT,
// "yyyy-MM-dd'T'HH:mm:ss"): no offset, which Twilio reads as GMT, as it
// documents its filters. It is an RFC 3339 date-time without its offset,
// read by the same strict parser as the rest (domain.ParseRFC3339: a
// fraction of at most 9 digits after a '.', never a ','), with an upper-case
// 'T' as twilio-java writes it. (time.Parse took a comma, or 14 digits of
// fraction.)
func parseLAMLGMTDateTime(v string) (time.Time, error) {
	if len(v) <= 10 || v[10] != 'T' {
		return time.Time{}, errors.New("not a date-time without an offset")
	}
	return domain.ParseRFC3339(v + "Z")
}

// lamlTimeBounds reads the value v of the time filter name (StartTime or
// EndTime, alone or ending in ">" or "<") into the bounds it sets: from
// (inclusive) and until (exclusive), nil when unbounded. v is a date
// (YYYY-MM-DD, a GMT day), an RFC 3339 date-time (domain.ParseRFC3339:
// "T" and "Z" in either case), or a date-time without an offset, in GMT
// (parseLAMLGMTDateTime, as twilio-java sends them), read at the second: the
// surface shows dates to the second (RFC 2822), so a client that sends
// back a start_time (or end_time) it read, or a JS Date as twilio-node
// serialises it ("2025-02-17T00:00:00Z"), must find a call whose stored
// time has a fraction (15:00:00.5, shown as 15:00:00).
// As Twilio documents the filters ("on this date", "on or before", "on or
// after"):
//
//	name=D  [D, D+1 day)       name=T  the GMT day T falls on
//	name>D  [D, ∞)             name>T  [T's second, ∞)
//	name<D  (-∞, D+1 day)      name<T  (-∞, T's second + 1 s)
//
// where T's second is T with its fraction dropped. Anything else is a 400
// naming name.
func lamlTimeBounds(name, v string) (from, until *time.Time, err error) {
	t, day, err := parseDayOrInstant(v)
	if err != nil {
		if gmt, gmtErr := parseLAMLGMTDateTime(v); gmtErr == nil {
			t, day, err = gmt, false, nil
		}
	}
	if err != nil {
		return nil, nil, Invalid(name, "%s %s", name, queryTimeProblem(v, err,
			fmt.Sprintf("must be a date (YYYY-MM-DD) or a date-time (RFC 3339, or YYYY-MM-DDTHH:MM:SS in GMT), not %q", truncate(v, 64))))
	}
	t = t.UTC()
	second := t.Add(-time.Duration(t.Nanosecond())) // the fraction dropped, in UTC as in RFC 2822 GMT
	at := func(t time.Time) *time.Time { return &t }
	switch {
	case strings.HasSuffix(name, ">") && day:
		return at(t), nil, nil
	case strings.HasSuffix(name, ">"):
		return at(second), nil, nil
	case strings.HasSuffix(name, "<") && day:
		return nil, at(t.AddDate(0, 0, 1)), nil
	case strings.HasSuffix(name, "<"):
		return nil, at(second.Add(time.Second)), nil
	}
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return at(midnight), at(midnight.AddDate(0, 0, 1)), nil
}

// lamlPaging is the paging part of a Twilio list page: its number and size,
// the indexes of its first and last item, its URI and those of the first,
// next and previous pages (null where there is none).
type lamlPaging struct {
	Page            int     `json:"page"`
	PageSize        int     `json:"page_size"`
	Start           int     `json:"start"`
	End             int     `json:"end"`
	URI             string  `json:"uri"`
	FirstPageURI    string  `json:"first_page_uri"`
	NextPageURI     *string `json:"next_page_uri"`
	PreviousPageURI *string `json:"previous_page_uri"`
}

// newLAMLPaging returns the paging fields of page n (of size items, count
// of them on it) of the list r asked for, with no next or previous page.
func newLAMLPaging(r *http.Request, size, n, count int) lamlPaging {
	start := n * size
	return lamlPaging{Page: n, PageSize: size, Start: start, End: start + max(count-1, 0), URI: r.URL.RequestURI()}
}

// lamlPageURI is the URI of page n of the list at path: its filters, then
// PageSize, Page and, for a page of a cursor list, PageToken.
func lamlPageURI(path string, filters url.Values, size, n int, token string) string {
	q := url.Values{}
	for k, v := range filters {
		q[k] = v
	}
	q.Set("PageSize", strconv.Itoa(size))
	q.Set("Page", strconv.Itoa(n))
	if token != "" {
		q.Set("PageToken", token)
	}
	return path + "?" + q.Encode()
}

// lamlCallList is Twilio's page of the Calls list.
type lamlCallList struct {
	Calls []lamlCall `json:"calls"`
	lamlPaging
}

// listLAMLCalls handles GET .../Calls.
func (s *Server) listLAMLCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lq, err := decodeLAMLList(q, AccountFrom(r.Context()))
	if err == nil {
		err = refuseTimeTravel(q)
	}
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	page, err := s.ListCalls(r.Context(), lq.Query)
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, renderLAMLList(r, lq, page))
}

// renderLAMLList builds Twilio's page from a read-model page. Paging is by
// cursor: next_page_uri carries the page's Next cursor as PageToken,
// previous_page_uri its Prev cursor (read backwards by the read models), or
// is the first page's URI on page 1, and null on page 0.
func renderLAMLList(r *http.Request, lq lamlListQuery, page ListPage) lamlCallList {
	out := lamlCallList{Calls: make([]lamlCall, 0, len(page.Calls))}
	for i := range page.Calls {
		out.Calls = append(out.Calls, renderLAMLCall(&page.Calls[i].Call, r))
	}
	out.lamlPaging = cursorLAMLPaging(r, lq.Filters, lq.PageSize, lq.Page, len(out.Calls), page.Next, page.Prev)
	return out
}

// cursorLAMLPaging is the paging of a page of count items read by cursor,
// of size items at most, number page: next_page_uri carries the cursor next
// as PageToken (none: null); previous_page_uri is the first page's URI on
// page 1, prev's on a later page (none: null), and null on page 0. The
// URIs repeat filters.
func cursorLAMLPaging(r *http.Request, filters url.Values, size, page, count int, next, prev string) lamlPaging {
	out := newLAMLPaging(r, size, page, count)
	pageURI := func(n int, token string) string { return lamlPageURI(r.URL.Path, filters, size, n, token) }
	out.FirstPageURI = pageURI(0, "")
	if next != "" {
		uri := pageURI(page+1, next)
		out.NextPageURI = &uri
	}
	switch {
	case page == 1:
		out.PreviousPageURI = &out.FirstPageURI
	case page > 1 && prev != "":
		uri := pageURI(page-1, prev)
		out.PreviousPageURI = &uri
	}
	return out
}

// lamlCall is a call as the LaML (Twilio-compatible) surface renders it:
// every field of the seed's Call resource, nulls included. Duration,
// Price and AudioInMOS are raw JSON numbers, the decimals written from
// their digits (nil is null), or for twilio-go strings (lamlQuotesNumbers).
type lamlCall struct {
	SID             string            `json:"sid"`
	AccountSID      string            `json:"account_sid"`
	DateCreated     string            `json:"date_created"`
	DateUpdated     string            `json:"date_updated"`
	ParentCallSID   *string           `json:"parent_call_sid"`
	To              string            `json:"to"`
	FormattedTo     string            `json:"formatted_to"`
	ToFormatted     string            `json:"to_formatted"`
	From            string            `json:"from"`
	FormattedFrom   string            `json:"formatted_from"`
	FromFormatted   string            `json:"from_formatted"`
	PhoneNumberSID  *string           `json:"phone_number_sid"`
	Status          string            `json:"status"`
	StartTime       *string           `json:"start_time"`
	EndTime         *string           `json:"end_time"`
	Duration        json.RawMessage   `json:"duration"`
	Price           json.RawMessage   `json:"price"`
	PriceUnit       string            `json:"price_unit"`
	Direction       string            `json:"direction"`
	AnsweredBy      *string           `json:"answered_by"`
	APIVersion      string            `json:"api_version"`
	ForwardedFrom   *string           `json:"forwarded_from"`
	CallerName      *string           `json:"caller_name"`
	URI             string            `json:"uri"`
	SubresourceURIs map[string]string `json:"subresource_uris"`
	Annotation      *string           `json:"annotation"`
	GroupSID        *string           `json:"group_sid"`
	AudioInMOS      json.RawMessage   `json:"audio_in_mos"`
	SIPResultCode   *string           `json:"sip_result_code"`
	AudioRTTAvg     *int64            `json:"audio_rtt_avg"`
	AudioRTTMin     *int64            `json:"audio_rtt_min"`
	AudioRTTMax     *int64            `json:"audio_rtt_max"`
	AudioJitterMin  *int64            `json:"audio_out_jitter_min"`
	AudioJitterMax  *int64            `json:"audio_out_jitter_max"`
	AudioJitterAvg  *int64            `json:"audio_out_jitter_avg"`
	AudioOutLost    *int64            `json:"audio_out_lost"`
}

// lamlTime formats t as Twilio does: RFC 2822 in GMT.
func lamlTime(t time.Time) string { return t.UTC().Format(lamlTimeLayout) }

// lamlStartTime is the start_time LaML shows for c: null while the call is
// queued, as Twilio shows a call that has not been dialed yet ("empty if
// the call has not yet been dialed"), and c's start once it has moved on.
// The ledger itself keeps the start every call has (the time it recorded a
// call that did not say, domain.Call.StartedAt), which orders the lists and
// places the call in billing; only this view leaves it out. So the
// StartTime filters leave queued calls out too (ListQuery.Started).
func lamlStartTime(c *domain.Call) *string {
	if domain.LaMLStatusWord(c.Status) == string(domain.StatusQueued) {
		return nil
	}
	return lamlTimePtr(c.StartedAt)
}

// lamlTimePtr is lamlTime for an optional time; nil stays nil (JSON null).
func lamlTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := lamlTime(*t)
	return &s
}

// varyByUserAgent says on every LaML answer that it depends on the
// client's User-Agent (Vary), as a call's does (lamlQuotesNumbers), so
// that no cache between clients hands one client's rendering to another.
func varyByUserAgent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "User-Agent")
		next.ServeHTTP(w, r)
	})
}

// lamlQuotesNumbers reports whether r comes from twilio-go (its
// User-Agent, "twilio-go/1.23.0 (linux amd64) go/go1.26"), which decodes a
// Call's duration and price into Go strings, as Twilio sends them
// ("duration": "15", "price": "-0.03000"), and refuses JSON numbers: every
// read of a call failed ("cannot unmarshal number into Go struct field
// ApiV2010Call.duration of type string", an API-client probe), and a
// create it retried made a second call. Seed 003 types them as a number
// and a double, which the other SDKs (twilio-node, SignalWire's, and those
// whose decoders take a number for a string) read as they are; so only
// twilio-go's answers carry them as strings, the same digits quoted.
func lamlQuotesNumbers(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("User-Agent"), "twilio-go/")
}

// lamlDurationPrice matches the duration and price members of a LaML
// answer's JSON, a call's or those of a page of calls, holding a number or
// a string of a number's characters (lamlQuotesNumbers); null is left.
// In JSON text a key's quotes are never escaped, so `"duration":` is that
// member and never text inside a string.
var lamlDurationPrice = regexp.MustCompile(`"(duration|price)":"?(-?[0-9][0-9.]*)"?`)

// lamlRenumbered is body, a LaML answer recorded for an Idempotency-Key,
// with its duration and price members quoted (quoted true: for twilio-go)
// or bare: a keyed retry from twilio-go of a request another client made
// first (or the reverse) was replayed the first client's rendering, which
// twilio-go could not decode (a verification probe). A body with neither
// member (an error, the Account) is returned as it is.
func lamlRenumbered(body []byte, quoted bool) []byte {
	if !bytes.Contains(body, []byte(`"duration":`)) && !bytes.Contains(body, []byte(`"price":`)) {
		return body
	}
	repl := []byte(`"$1":$2`)
	if quoted {
		repl = []byte(`"$1":"$2"`)
	}
	return lamlDurationPrice.ReplaceAll(body, repl)
}

// isLAMLPath reports whether path is under the LaML surface: its API
// version's Accounts, with or without the /api/laml prefix.
func isLAMLPath(path string) bool {
	return strings.Contains(path, "/"+lamlAPIVersion+"/Accounts/")
}

// lamlNumber writes d as a raw JSON number from its decimal digits, never
// through a float64, so "0.0135" reads back as 0.0135 exactly.
func lamlNumber(d domain.Decimal) json.RawMessage { return json.RawMessage(d.String()) }

// lamlFormatPhone renders an address as Twilio's formatted_to does: a North
// American E.164 number as "(415) 555-0100", anything else unchanged.
func lamlFormatPhone(addr string) string {
	digits, ok := strings.CutPrefix(addr, "+1")
	if !ok || len(digits) != 10 {
		return addr
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return addr
		}
	}
	return "(" + digits[:3] + ") " + digits[3:6] + "-" + digits[6:]
}

// lamlAccountPath is the Account resource path of account under prefix,
// without ".json": the base of the Account's uri and of its calls' paths.
func lamlAccountPath(prefix, account string) string {
	return prefix + "/" + lamlAPIVersion + "/Accounts/" + url.PathEscape(account)
}

// lamlCallPath is the path of call c under prefix, without ".json": the base
// of its uri and of its subresources' URIs.
func lamlCallPath(c *domain.Call, prefix string) string {
	return lamlAccountPath(prefix, c.AccountID) + "/Calls/" + c.ID.String()
}

// renderLAMLCall builds the LaML view of c for the request r: uri and
// subresource_uris under the path prefix r used, so that they lead back the
// same way, and duration and price as r's client reads them
// (lamlQuotesNumbers).
func renderLAMLCall(c *domain.Call, r *http.Request) lamlCall {
	sid := c.ID.String()
	base := lamlCallPath(c, lamlRequestPrefix(r))
	quoted := lamlQuotesNumbers(r)
	out := lamlCall{
		SID:            sid,
		AccountSID:     c.AccountID,
		DateCreated:    lamlTime(c.CreatedAt),
		DateUpdated:    lamlTime(c.UpdatedAt),
		To:             c.To,
		FormattedTo:    lamlFormatPhone(c.To),
		ToFormatted:    lamlFormatPhone(c.To),
		From:           c.From,
		FormattedFrom:  lamlFormatPhone(c.From),
		FromFormatted:  lamlFormatPhone(c.From),
		PhoneNumberSID: nullIfEmpty(c.Details.PhoneNumberID),
		Status:         domain.LaMLStatusWord(c.Status),
		StartTime:      lamlStartTime(c),
		EndTime:        lamlTimePtr(c.EndedAt),
		PriceUnit:      lamlUnpricedCurrency,
		Direction:      domain.LaMLDirectionWord(c.Direction, c.ParentCallID != nil),
		AnsweredBy:     nullIfEmpty(c.AnsweredBy),
		APIVersion:     lamlAPIVersion,
		URI:            base + ".json",
		SubresourceURIs: map[string]string{
			"notifications": base + "/Notifications.json",
			"recordings":    base + "/Recordings.json",
		},
	}
	if c.ParentCallID != nil {
		parent := c.ParentCallID.String()
		out.ParentCallSID = &parent
	}
	var duration int64
	if c.DurationSeconds != nil {
		duration = *c.DurationSeconds
	}
	out.Duration = json.RawMessage(strconv.FormatInt(duration, 10))
	if c.Price != nil {
		out.Price = lamlNumber(c.Price.Total)
		out.PriceUnit = c.Price.Currency
	}
	if quoted {
		out.Duration = strconv.AppendQuote(nil, string(out.Duration))
		if out.Price != nil {
			out.Price = strconv.AppendQuote(nil, string(out.Price))
		}
	}
	if q := c.Quality; q != nil {
		if q.AudioInMOS != nil {
			out.AudioInMOS = lamlNumber(*q.AudioInMOS)
		}
		out.SIPResultCode = nullIfEmpty(q.SIPResultCode)
		out.AudioRTTAvg, out.AudioRTTMin, out.AudioRTTMax = q.AudioRTTAvgMs, q.AudioRTTMinMs, q.AudioRTTMaxMs
		out.AudioJitterMin, out.AudioJitterMax, out.AudioJitterAvg = q.AudioOutJitterMinMs, q.AudioOutJitterMaxMs, q.AudioOutJitterAvgMs
		out.AudioOutLost = q.AudioOutLostPackets
	}
	return out
}

// lamlField maps a domain field name (as Decide reports it) or a
// parameter name in any spelling the decoders accept (lamlParamName) to
// the LaML parameter name; other names are returned unchanged.
func lamlField(name string) string {
	switch name {
	case "call_id", "provider_id":
		return "Sid"
	case "cursor":
		return "PageToken"
	}
	for _, rp := range lamlRoutingParams {
		if name == rp.field {
			return rp.name
		}
	}
	// The domain's from, to and status are the parameters' names in
	// lower case.
	return lamlParamName(name)
}

// lamlIsRoutingParam reports whether name is a routing parameter
// (lamlRoutingParams).
func lamlIsRoutingParam(name string) bool {
	for _, rp := range lamlRoutingParams {
		if name == rp.name {
			return true
		}
	}
	return false
}

// lamlErrorCode picks the Twilio error code of a Problem about field.
func lamlErrorCode(p Problem, field string) int {
	switch {
	case p.Status == http.StatusUnauthorized:
		return lamlCodeAuthenticate
	case p.Status == http.StatusNotFound:
		return lamlCodeNotFound
	case p.Status == http.StatusMethodNotAllowed:
		return lamlCodeMethod
	case p.Status == http.StatusRequestEntityTooLarge:
		return lamlCodeTooLarge
	case p.Status == http.StatusServiceUnavailable:
		return lamlCodeUnavailable
	case p.Status >= 500:
		return lamlCodeInternal
	case p.Status == http.StatusConflict && (field == "Status" || lamlIsRoutingParam(field)):
		// A conflict about one of these is always the call's state
		// (lamlModifyActive, HangUpCall, CancelCall).
		return lamlCodeNotInProgress
	case p.Status == http.StatusConflict:
		return lamlCodeConflict
	}
	// Only a parameter left out (or empty) is missing (Required); one
	// given but unreadable (not UTF-8, a JSON object) is invalid.
	missing := p.Code == "required"
	switch field {
	case "To":
		if missing {
			return lamlCodeToRequired
		}
		return lamlCodeToInvalid
	case "From":
		if missing {
			return lamlCodeFromRequired
		}
		return lamlCodeFromInvalid
	case "Url":
		return lamlCodeURLInvalid
	case "ApplicationSid":
		// Twilio's code for an ApplicationSid it cannot take, whatever is
		// wrong with it: too long, not an id, not UTF-8.
		return lamlCodeAppInvalid
	case "Twiml":
		// Twilio's code for a Twiml is about its length only
		// (lamlTwimlLength); anything else wrong with one (not UTF-8,
		// empty) has no code of its own, as for any parameter without one.
		if p.Code == "too_long" {
			return lamlCodeTwimlTooLarge
		}
	}
	return lamlCodeInvalidParam
}

// lamlError renders a Problem as Twilio's error body: code, message,
// more_info and status. A 404 reads as Twilio's ("The requested resource
// ... was not found"), followed by what was not found. A parameter the
// ledger cannot accept is a 400, as Twilio answers every one (an invalid
// To is 400 with code 21211), never the 422 the other surfaces give: the
// code says what is wrong.
func (s *Server) lamlError(w http.ResponseWriter, r *http.Request, p Problem) {
	field := lamlField(p.Field)
	code := lamlErrorCode(p, field)
	if p.Status == http.StatusUnprocessableEntity {
		p.Status = http.StatusBadRequest
	}
	msg := withField(field, p.Message)
	if p.Status == http.StatusNotFound {
		// Twilio's words, then why: which call, revision or recording.
		msg = "The requested resource " + r.URL.Path + " was not found: " + msg
	}
	type body struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		MoreInfo string `json:"more_info"`
		Status   int    `json:"status"`
	}
	s.writeJSON(w, r, p.Status, body{Code: code, Message: msg, MoreInfo: lamlMoreInfo + strconv.Itoa(code), Status: p.Status})
}
