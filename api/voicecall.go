package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/callledger/callledger/domain"
)

// The VoiceCall surface (seed 002, "Update a VoiceCall"): a staff/client
// call record of a Vonage call.
//
//	POST /v1/voice-calls        create (201); 409 if that sourceId exists
//	GET  /v1/voice-calls/{id}   read (200); 404 for another account's or a deleted call
//	PUT  /v1/voice-calls/{id}   update (200); 409 if the call is not Vonage's
//
// Authentication is "Authorization: Bearer <token>". POST honours
// Idempotency-Key; PUT honours If-Match; responses carry the ETag.
//
// The seed lost its JSON field names; the ledger names them in camelCase.
// Request body (all required, as in the seed, except handledByStaffId and
// startedAt):
//
//	staffId           string   staff member of the call          → Details.StaffID
//	clientId          string   client of the call                → Details.ClientID
//	from              string   calling number, E.164             → From
//	to                string   called number, E.164              → To
//	direction         enum     INBOUND | OUTBOUND                → Direction
//	status            enum     INCOMING_CALL | ANSWERED_BY_STAFF | MISSED |
//	                           ANSWERED_BY_CALLS_PROVIDER | MISSED_CALL_HANDLED |
//	                           VOICEMAIL_RECEIVED                → VoiceCallStatus, verbatim,
//	                           and the canonical Status (domain.ParseVoiceCallStatus);
//	                           read back as sent while it still describes
//	                           the call, else the word for where the call
//	                           now stands (domain.VoiceCallStatusWord)
//	priceRate         string   decimal, e.g. "0.05"              → Price.Rate
//	totalPrice        string   decimal, e.g. "1.50"              → Price.Total
//	currency          string   optional ISO 4217 code of priceRate and
//	                           totalPrice (the ledger's addition); without
//	                           it the price's currency so far, else
//	                           "USD"                             → Price.Currency
//	provider          enum     VONAGE                            → Provider "vonage"
//	sourceId          string   Vonage's call id                  → ProviderID; the call id is
//	                           domain.CallIDFor(account, "vonage", sourceId)
//	duration          number   whole seconds, in any JSON spelling
//	                           (120, 120.0, 1.2e2; a fraction is a 422)
//	                                                             → DurationSeconds; VoiceCall
//	                           has no end: a status that completes the call ends
//	                           it at its answer (or, never answered, its start)
//	                           plus the duration, which VoiceCall always gives
//	                           (completionEnd in domain/timing.go); so the domain
//	                           refuses (422) a duration that sum cannot hold, one
//	                           past the year 9999
//	summary           string                                     → Details.Summary
//	externalLink      string   URL of an external page           → Details.ExternalLink
//	appName           string                                     → Details.AppName
//	recordingId       string                                     → Details.RecordingID
//	externalId        string   kept as a reference               → Details.ExternalID
//	handledByStaffId  string   optional; absent or null is none, so a PUT
//	                           without it clears it              → Details.HandledByStaffID
//	startedAt         string   optional RFC 3339 (the ledger's addition: VoiceCall
//	                           has no start; without it the call starts when the
//	                           ledger records it, and a PUT without it keeps the
//	                           start recorded)                   → StartedAt
//
// Enums are exact and upper case. priceRate and totalPrice must be JSON
// strings: a JSON number there is a 422 that says so. Neither the seed nor
// Vonage's call object (whose rate and price are bare decimal strings in the
// account's currency) names a currency, so the ledger adds an optional
// currency field: a Vonage account billed in euros sends "EUR", and billing
// sums it apart from dollars. Without it a new call's prices are recorded
// in USD, and a priced call's in the currency it has (voiceCallOnCall). A
// PUT replaces the call's facts: every field the seed requires is sent
// again, and an optional one left out (or null) is reset, handledByStaffId
// to none. The exceptions are currency (above) and startedAt: the call has
// started, and a PUT without it keeps the start the ledger recorded (when
// the POST arrived, or the one sent), there being no earlier default to
// reset it to.
//
// The response (voiceCallView) has the same fields plus id, startedAt,
// createdAt and updatedAt. Errors are {"statusCode", "error", "code",
// "message", "field"} with field in the names above.

// voiceCallProvider is the provider every VoiceCall call belongs to.
const voiceCallProvider = "vonage"

// voiceCallCurrency is the currency of VoiceCall prices whose body names
// none (see above).
const voiceCallCurrency = "USD"

// voiceCallRoutes mounts the VoiceCall surface (seed 002) under
// /v1/voice-calls, behind Bearer authentication; an unknown path or method
// under it is answered in the surface's error style too.
func (s *Server) voiceCallRoutes(r chi.Router) {
	r.Route("/v1/voice-calls", func(r chi.Router) {
		r.Use(s.surface(s.voiceCallError), s.BearerAuth(s.voiceCallError), s.noWriteInThePast(s.voiceCallError), s.Idempotent(s.voiceCallError))
		s.routeErrors(r, s.voiceCallError)
		r.Post("/", s.createVoiceCall)
		r.Get("/{id}", s.getVoiceCall)
		r.Put("/{id}", s.updateVoiceCall)
	})
}

// voiceCallRequest is the body of POST /v1/voice-calls and PUT
// /v1/voice-calls/{id}. Pointers tell a missing field from an empty one.
// priceRate and totalPrice stay raw so that a JSON number there can be
// refused by name.
type voiceCallRequest struct {
	StaffID          *string         `json:"staffId"`
	ClientID         *string         `json:"clientId"`
	From             *string         `json:"from"`
	To               *string         `json:"to"`
	Direction        *string         `json:"direction"`
	Status           *string         `json:"status"`
	PriceRate        json.RawMessage `json:"priceRate"`
	TotalPrice       json.RawMessage `json:"totalPrice"`
	Provider         *string         `json:"provider"`
	SourceID         *string         `json:"sourceId"`
	Duration         json.RawMessage `json:"duration"`
	Summary          *string         `json:"summary"`
	ExternalLink     *string         `json:"externalLink"`
	AppName          *string         `json:"appName"`
	RecordingID      *string         `json:"recordingId"`
	ExternalID       *string         `json:"externalId"`
	HandledByStaffID *string         `json:"handledByStaffId"`
	StartedAt        *string         `json:"startedAt"`
	Currency         *string         `json:"currency"`
}

// decodeVoiceCall reads a VoiceCall body into the UpsertCall it asks for
// (mode, call id, account and time are the caller's to set). It checks what
// the wire format requires: presence, JSON types, the exact enums and
// decimal strings; the domain checks the values.
func decodeVoiceCall(body []byte) (domain.UpsertCall, error) {
	return decodeVoiceCallBody(body, nil)
}

// decodeVoiceCallUpdate is decodeVoiceCall for a PUT, which leaves a
// provider other than VONAGE to the call: the PUT of a call that is not
// Vonage's is a 409 saying so, whatever the body names (its GET shows its
// own provider, OPENPHONE say, which a client's read-modify-write sends
// back), while on a Vonage call, or none, badProvider is the 422 the body
// is. cmd's provider is Vonage's either way.
func decodeVoiceCallUpdate(body []byte) (cmd domain.UpsertCall, badProvider, err error) {
	cmd, err = decodeVoiceCallBody(body, &badProvider)
	return cmd, badProvider, err
}

// decodeVoiceCallBody is decodeVoiceCall, which sets *badProvider to the
// provider's error instead of returning it when badProvider is not nil.
func decodeVoiceCallBody(body []byte, badProvider *error) (domain.UpsertCall, error) {
	var req voiceCallRequest
	if err := DecodeJSON(body, &req); err != nil {
		return domain.UpsertCall{}, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{
		{"staffId", req.StaffID}, {"clientId", req.ClientID}, {"from", req.From}, {"to", req.To},
		{"direction", req.Direction}, {"status", req.Status}, {"provider", req.Provider},
		{"sourceId", req.SourceID}, {"summary", req.Summary}, {"externalLink", req.ExternalLink},
		{"appName", req.AppName}, {"recordingId", req.RecordingID}, {"externalId", req.ExternalID},
	} {
		if f.v == nil {
			return domain.UpsertCall{}, Malformed(f.name, "%s is required", f.name)
		}
	}
	duration, err := durationSeconds("duration", req.Duration)
	if err != nil {
		return domain.UpsertCall{}, err
	}
	if *req.SourceID == "" {
		return domain.UpsertCall{}, Invalid("sourceId", "sourceId must not be empty: it is the provider's call id")
	}
	if *req.Provider != "VONAGE" {
		err := Invalid("provider", "provider must be VONAGE (exact, upper case), not %q", truncate(*req.Provider, 32))
		if badProvider == nil {
			return domain.UpsertCall{}, err
		}
		*badProvider = err
	}
	dir, ok := domain.ParseVoiceCallDirection(*req.Direction)
	if !ok {
		return domain.UpsertCall{}, Invalid("direction", "direction must be INBOUND or OUTBOUND (exact, upper case), not %q", truncate(*req.Direction, 32))
	}
	if _, ok := domain.ParseVoiceCallStatus(*req.Status); !ok {
		return domain.UpsertCall{}, Invalid("status", "status must be one of INCOMING_CALL, ANSWERED_BY_STAFF, MISSED, "+
			"ANSWERED_BY_CALLS_PROVIDER, MISSED_CALL_HANDLED, VOICEMAIL_RECEIVED (exact, upper case), not %q", truncate(*req.Status, 32))
	}
	rate, err := decimalString("priceRate", req.PriceRate)
	if err != nil {
		return domain.UpsertCall{}, err
	}
	total, err := decimalString("totalPrice", req.TotalPrice)
	if err != nil {
		return domain.UpsertCall{}, err
	}
	currency := "" // the call's, or voiceCallCurrency: see voiceCallOnCall
	if req.Currency != nil {
		// The domain checks it is ISO 4217, where "" means none given:
		// sent, it is no code (only leaving it out, or null, is).
		if *req.Currency == "" {
			return domain.UpsertCall{}, Invalid("currency", "must be an ISO 4217 code (\"USD\", \"EUR\"), not empty: leave it out for the call's currency")
		}
		currency = *req.Currency
	}
	started, err := parseOptTime("startedAt", req.StartedAt)
	if err != nil {
		return domain.UpsertCall{}, err
	}
	// handledByStaffId is optional: absent or null says nobody handled the
	// call, so a PUT, which replaces the call's facts, clears one recorded
	// before. On a POST "" is what the
	// new call has anyway and writes nothing.
	handledBy := req.HandledByStaffID
	if handledBy == nil {
		handledBy = new(string)
	}
	return domain.UpsertCall{
		Provider:        voiceCallProvider,
		ProviderID:      *req.SourceID,
		Direction:       &dir,
		From:            req.From,
		To:              req.To,
		StartedAt:       started,
		DurationSeconds: &duration,
		VoiceCallStatus: req.Status,
		Price:           &domain.Price{Rate: rate, Total: total, Currency: currency},
		Details: domain.DetailsChanges{
			StaffID:          req.StaffID,
			ClientID:         req.ClientID,
			Summary:          req.Summary,
			ExternalLink:     req.ExternalLink,
			AppName:          req.AppName,
			RecordingID:      req.RecordingID,
			ExternalID:       req.ExternalID,
			HandledByStaffID: handledBy,
		},
	}, nil
}

// decimalString reads a VoiceCall price: a JSON string holding a plain
// decimal, kept with its scale. A JSON number is refused by name, as the
// seed demands ("Must be a string, not a number").
func decimalString(field string, raw json.RawMessage) (domain.Decimal, error) {
	raw, err := requiredJSON(field, raw)
	if err != nil {
		return domain.Decimal{}, err
	}
	switch c := raw[0]; {
	case c == '-' || (c >= '0' && c <= '9'):
		return domain.Decimal{}, Invalid(field, "%s must be a JSON string holding a decimal (e.g. \"1.50\"), not a JSON number", field)
	case c != '"':
		return domain.Decimal{}, Malformed(field, "%s must be a JSON string holding a decimal (e.g. \"1.50\")", field)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return domain.Decimal{}, Malformed(field, "%s must be a JSON string holding a decimal (e.g. \"1.50\")", field)
	}
	d, err := domain.ParseDecimal(s)
	if err != nil {
		return domain.Decimal{}, Invalid(field, "%s: %s", field, err.Error())
	}
	return d, nil
}

// createVoiceCall handles POST /v1/voice-calls.
func (s *Server) createVoiceCall(w http.ResponseWriter, r *http.Request) {
	body, err := ReadBody(r)
	if err != nil {
		s.writeError(w, r, s.voiceCallError, err)
		return
	}
	cmd, err := decodeVoiceCall(body)
	if err != nil {
		s.writeError(w, r, s.voiceCallError, err)
		return
	}
	cmd.Mode = domain.UpsertCreate
	cmd.AccountID = AccountFrom(r.Context())
	cmd.CallID = domain.CallIDFor(cmd.AccountID, voiceCallProvider, cmd.ProviderID)
	cmd.Now = s.now()
	res, err := s.Execute(r, domain.SurfaceVoiceCall, cmd.CallID, voiceCallDecider(cmd))
	if err != nil {
		s.writeError(w, r, s.voiceCallError, foundByProviderID(err))
		return
	}
	SetETag(w, res.State)
	w.Header().Set("Location", "/v1/voice-calls/"+res.State.Call.ID.String())
	s.writeJSON(w, r, http.StatusCreated, renderVoiceCall(&res.State.Call))
}

// getVoiceCall handles GET /v1/voice-calls/{id}.
func (s *Server) getVoiceCall(w http.ResponseWriter, r *http.Request) {
	s.serveCall(w, r, pathCallID, false, s.voiceCallError, func(c *domain.Call) (any, error) { return renderVoiceCall(c), nil })
}

// updateVoiceCall handles PUT /v1/voice-calls/{id}. The domain refuses
// (409) a call whose provider is not Vonage, whatever provider the body
// names (decodeVoiceCallUpdate), or whose provider id is not the sourceId
// sent.
func (s *Server) updateVoiceCall(w http.ResponseWriter, r *http.Request) {
	id, body, err := readCallWrite(r)
	if err != nil {
		s.writeError(w, r, s.voiceCallError, err)
		return
	}
	cmd, badProvider, err := decodeVoiceCallUpdate(body)
	if err != nil {
		s.writeError(w, r, s.voiceCallError, err)
		return
	}
	cmd.Mode = domain.UpsertUpdate
	cmd.AccountID = AccountFrom(r.Context())
	cmd.CallID = id
	cmd.Now = s.now()
	onCall := voiceCallDecider(cmd)
	decide := onCall
	if badProvider != nil {
		decide = func(st domain.State, at time.Time) ([]domain.Event, domain.State, error) {
			if st.Exists() && domain.NormalizeProvider(st.Call.Provider) != voiceCallProvider {
				return onCall(st, at) // the 409 of a call that is not Vonage's
			}
			return nil, st, badProvider
		}
	}
	res, err := s.Execute(r, domain.SurfaceVoiceCall, id, decide)
	if err != nil {
		s.writeError(w, r, s.voiceCallError, err)
		return
	}
	SetETag(w, res.State)
	s.writeJSON(w, r, http.StatusOK, renderVoiceCall(&res.State.Call))
}

// voiceCallDecider is the Decider of a decoded VoiceCall write, which
// adapts the command to the call it finds (voiceCallOnCall).
func voiceCallDecider(cmd domain.UpsertCall) Decider {
	return func(st domain.State, at time.Time) ([]domain.Event, domain.State, error) {
		return decideInOrder(voiceCallOnCall(cmd, &st))(st, at)
	}
}

// voiceCallOnCall is cmd as it applies to the call st:
//
//   - A body that names no currency (the ledger's addition, which clients
//     written to the seed never send) prices the call in the currency its
//     price already has, and a call not priced yet in voiceCallCurrency: a
//     PUT that resends the same priceRate and totalPrice of a call priced
//     in euros keeps them in euros rather than re-billing them as dollars.
//   - A from or to of "" on a call that has no such number (made on
//     another surface without a caller, say) is not given: it is what the
//     call's GET shows (renderVoiceCall), so a client's read-modify-write
//     of such a call works. On a call that has the number, or a new call,
//     "" is still refused: VoiceCall's numbers are E.164.
func voiceCallOnCall(cmd domain.UpsertCall, st *domain.State) domain.UpsertCall {
	if cmd.Price != nil && cmd.Price.Currency == "" {
		price := *cmd.Price
		price.Currency = voiceCallCurrency
		if st.Call.Price != nil && st.Call.Price.Currency != "" {
			price.Currency = st.Call.Price.Currency
		}
		cmd.Price = &price
	}
	if st.Exists() {
		if cmd.From != nil && *cmd.From == "" && st.Call.From == "" {
			cmd.From = nil
		}
		if cmd.To != nil && *cmd.To == "" && st.Call.To == "" {
			cmd.To = nil
		}
	}
	return cmd
}

// decideInOrder is the Decider of domain commands applied in order, as one append.
func decideInOrder(cmds ...domain.Command) Decider {
	if len(cmds) == 1 {
		// The command's own events are the result: no slice to copy them into.
		return decideCommand(cmds[0])
	}
	return func(st domain.State, at time.Time) ([]domain.Event, domain.State, error) {
		var all []domain.Event
		for _, cmd := range cmds {
			// Each command decides on the call as the earlier ones leave it,
			// as one append.
			events, next, err := domain.DecideFold(st, cmd, at)
			if err != nil {
				return nil, domain.State{}, err
			}
			st = next
			all = append(all, events...)
		}
		return all, st, nil
	}
}

// voiceCallView is a call as the VoiceCall surface renders it. Fields a call
// created on another surface never had are "" (or null where noted).
type voiceCallView struct {
	ID        string `json:"id"`
	StaffID   string `json:"staffId"`
	ClientID  string `json:"clientId"`
	From      string `json:"from"`
	To        string `json:"to"`
	Direction string `json:"direction"`
	// Status is the VoiceCall status as written while the call is still in
	// the status it says, else the nearest word for the call's status now
	// (domain.VoiceCallStatusWord: another surface may have moved the call,
	// and a completed call with no answer time reads VOICEMAIL_RECEIVED).
	Status string `json:"status"`
	// PriceRate and TotalPrice are decimal strings with their written
	// scale; null while the call is not priced.
	PriceRate  *string `json:"priceRate"`
	TotalPrice *string `json:"totalPrice"`
	// Currency is the ISO 4217 code of the prices; null while the call is
	// not priced.
	Currency *string `json:"currency"`
	// Provider is the call's provider in upper case ("VONAGE").
	Provider string `json:"provider"`
	SourceID string `json:"sourceId"`
	// Duration is in seconds; null while unknown.
	Duration         *int64  `json:"duration"`
	Summary          string  `json:"summary"`
	ExternalLink     string  `json:"externalLink"`
	AppName          string  `json:"appName"`
	RecordingID      string  `json:"recordingId"`
	ExternalID       string  `json:"externalId"`
	HandledByStaffID *string `json:"handledByStaffId"`
	StartedAt        *string `json:"startedAt"`
	CreatedAt        string  `json:"createdAt"`
	UpdatedAt        string  `json:"updatedAt"`
}

// renderVoiceCall builds the VoiceCall view of c.
func renderVoiceCall(c *domain.Call) voiceCallView {
	v := voiceCallView{
		ID:               c.ID.String(),
		StaffID:          c.Details.StaffID,
		ClientID:         c.Details.ClientID,
		From:             c.From,
		To:               c.To,
		Direction:        domain.VoiceCallDirectionWord(c.Direction),
		Status:           domain.VoiceCallStatusWord(c),
		Provider:         strings.ToUpper(c.Provider),
		SourceID:         c.ProviderID,
		Duration:         c.DurationSeconds,
		Summary:          c.Details.Summary,
		ExternalLink:     c.Details.ExternalLink,
		AppName:          c.Details.AppName,
		RecordingID:      c.Details.RecordingID,
		ExternalID:       c.Details.ExternalID,
		HandledByStaffID: nullIfEmpty(c.Details.HandledByStaffID),
		StartedAt:        timePtr(c.StartedAt),
		CreatedAt:        FormatTime(c.CreatedAt),
		UpdatedAt:        FormatTime(c.UpdatedAt),
	}
	if c.Price != nil {
		rate, total, currency := c.Price.Rate.String(), c.Price.Total.String(), c.Price.Currency
		v.PriceRate, v.TotalPrice, v.Currency = &rate, &total, &currency
	}
	return v
}

// nullIfEmpty returns nil (JSON null) for "" and &s otherwise.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// voiceCallField maps a domain field name (the Call's JSON words, as Decide
// reports them) to the VoiceCall name, so that an error names a field of
// the body the client sent; other names (from, to, direction, status,
// provider, the same on both) are returned unchanged.
func voiceCallField(name string) string {
	switch name {
	case "voice_call_status":
		return "status"
	case "price", "price.total":
		return "totalPrice"
	case "price.currency":
		return "currency"
	case "price.rate":
		return "priceRate"
	case "provider_id":
		return "sourceId"
	case "duration_seconds":
		return "duration"
	case "started_at":
		return "startedAt"
	case "answered_at", "ended_at":
		// VoiceCall sends neither. The domain already names started_at
		// when the client sent the start and the answer or end it clashes
		// with is stored (set on another surface, or by the call's status);
		// any other error about them is still about times the client can
		// only change through the start. The message names both times.
		return "startedAt"
	case "details.staff_id":
		return "staffId"
	case "details.client_id":
		return "clientId"
	case "details.handled_by_staff_id":
		return "handledByStaffId"
	case "details.external_link":
		return "externalLink"
	case "call_id":
		// The path's {id} of a PUT; a POST finds its call by sourceId,
		// and names it so (foundByProviderID).
		return "id"
	}
	return name
}

// voiceCallError renders a Problem in the VoiceCall surface's style
// (nestJSError): {"statusCode", "error", "code", "message", "field"}, field
// in the surface's camelCase names (voiceCallField).
func (s *Server) voiceCallError(w http.ResponseWriter, r *http.Request, p Problem) {
	s.nestJSError(w, r, p, voiceCallField(p.Field))
}
