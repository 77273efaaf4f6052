package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/callledger/callledger/domain"
)

// The Moonbase surface (seed 000, and moonbaseai/moonbase-sdk-go call.go for
// recordings and transcripts):
//
//	POST /calls/upsert  find the call by (provider, provider_id) in the
//	                    caller's account and update it, or create it (200)
//	POST /calls         log a new call; 409 if that provider id exists (201)
//	GET  /calls/{id}    one call
//	GET  /calls         the account's calls, newest start first, cursor paging
//	                    (?limit=1..100, default 20; ?after=<meta.cursor.next>
//	                    for the page after, ?before=<meta.cursor.prev> for
//	                    the page before; after wins)
//
// Errors use Moonbase's shape: {"errors": [{"status": "422", "title":
// "Unprocessable Entity", "detail": "...", "source": {"pointer":
// "/participants/1/phone"}}]}. A 409 carries x-should-retry: false.

// Moonbase list paging limits.
const (
	moonbaseListLimitDefault = 20
	moonbaseListLimitMax     = 100
)

// moonbaseRoutes mounts the Moonbase surface's router on /calls: every path
// under it is Moonbase's, answered (an unknown path or method too) in
// Moonbase's error style once the Bearer token is checked.
func (s *Server) moonbaseRoutes(r chi.Router) {
	r.Route("/calls", func(r chi.Router) {
		// The Moonbase handlers keep nothing of a request's body: it is
		// read into a pooled buffer (poolBodies).
		r.Use(s.surface(s.moonbaseError), s.bearerAuth(s.moonbaseError), s.noWriteInThePast(s.moonbaseError), poolBodies, s.Idempotent(s.moonbaseError))
		s.routeErrors(r, s.moonbaseError)
		r.Post("/upsert", s.moonbaseWrite(domain.UpsertCreateOrUpdate, http.StatusOK))
		r.Post("/", s.moonbaseWrite(domain.UpsertCreate, http.StatusCreated))
		r.Get("/{id}", s.moonbaseGet)
		r.Get("/", s.moonbaseList)
	})
}

// moonbaseWrite handles POST /calls and POST /calls/upsert: decode, execute
// the UpsertCall in the given mode, render the call as it now stands.
func (s *Server) moonbaseWrite(mode domain.UpsertMode, status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := ReadBody(r)
		if err != nil {
			s.writeError(w, r, s.moonbaseError, err)
			return
		}
		cmd, err := DecodeMoonbaseCall(body, AccountFrom(r.Context()), s.now())
		if err != nil {
			s.writeError(w, r, s.moonbaseError, err)
			return
		}
		cmd.Mode = mode
		if err := s.resolveCallSid(r.Context(), &cmd); err != nil {
			s.writeError(w, r, s.moonbaseError, err)
			return
		}
		// A closure of its own, deciding on &cmd, not decideCommand(cmd):
		// cmd (~550 bytes) stays on the stack however the compiler inlines
		// this handler (when decideCommand is not inlined into it, the
		// command it keeps escapes, and every upsert copied it to the heap).
		res, err := s.Execute(r, domain.SurfaceMoonbase, cmd.CallID, func(st domain.State, at time.Time) ([]domain.Event, domain.State, error) {
			return domain.DecideFold(st, &cmd, at)
		})
		if err != nil {
			s.writeError(w, r, s.moonbaseError, foundByProviderID(err))
			return
		}
		SetETag(w, res.State)
		if status == http.StatusCreated {
			// POST /calls made it: where it is read, as VoiceCall's POST says.
			w.Header().Set("Location", "/calls/"+res.State.Call.ID.String())
		}
		s.writeMoonbaseCall(w, r, status, &res.State.Call)
	}
}

func (s *Server) moonbaseGet(w http.ResponseWriter, r *http.Request) {
	s.serveCall(w, r, pathCallID, false, s.moonbaseError, func(c *domain.Call) (any, error) { return moonbaseCallOf(*c), nil })
}

// moonbaseList is GET /calls: {"data": [...], "meta": {"cursor": {"next":
// ..., "prev": ...}}}, the shape of Moonbase's cursor pages. A cursor names
// a call, and the parameter says which way to go from it, as the SDKs
// document them: after lists the calls just after it, before the limit
// calls just before it, in the same order as every page. next names the
// page's last call, so after=next is the next page; prev names its first,
// so before=prev is exactly the page before, for any limit. prev is null on
// the first page, which nothing is before; next on the last.
func (s *Server) moonbaseList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := refuseTimeTravel(q); err != nil {
		s.writeError(w, r, s.moonbaseError, err)
		return
	}
	// limit=5&limit=6 is refused rather than read as its first value. The
	// cursors are not checked so: an SDK's next-page helper may add after
	// to a query that has one.
	if err := givenOnce(q, "limit"); err != nil {
		s.writeError(w, r, s.moonbaseError, err)
		return
	}
	limit := moonbaseListLimitDefault
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > moonbaseListLimitMax {
			s.writeError(w, r, s.moonbaseError, Malformed("limit", "must be an integer from 1 to %d", moonbaseListLimitMax))
			return
		}
		limit = n
	}
	lq := ListQuery{Account: AccountFrom(r.Context()), Limit: limit, Cursor: q.Get("after"), CursorParam: "after", Side: CursorSideAfter}
	// With after, before is not read: the Moonbase SDKs' next-page helpers
	// (getNextPage, GetNextPage, auto-paging) add after to the query of the
	// request they follow, which keeps its before, and must get the next
	// page of a list that began with before.
	if before := q.Get("before"); before != "" && lq.Cursor == "" {
		lq.Cursor, lq.CursorParam, lq.Side = before, "before", CursorSideBefore
	}
	page, err := s.ListCalls(r.Context(), lq)
	if err != nil {
		s.writeError(w, r, s.moonbaseError, err)
		return
	}
	type cursor struct {
		Next *string `json:"next"`
		Prev *string `json:"prev"`
	}
	type meta struct {
		Cursor cursor `json:"cursor"`
	}
	out := struct {
		Data []moonbaseCall `json:"data"`
		Meta meta           `json:"meta"`
	}{Data: make([]moonbaseCall, 0, len(page.Calls))}
	for _, v := range page.Calls {
		if v.Call.Deleted() || v.Call.AccountID != AccountFrom(r.Context()) {
			continue
		}
		out.Data = append(out.Data, moonbaseCallOf(v.Call))
	}
	if page.Next != "" {
		out.Meta.Cursor.Next = &page.Next
	}
	if page.Prev != "" {
		out.Meta.Cursor.Prev = &page.Prev
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// decideCommand adapts a domain command to execute's Decider.
func decideCommand(c domain.Command) Decider {
	return func(st domain.State, at time.Time) ([]domain.Event, domain.State, error) {
		return domain.DecideFold(st, c, at)
	}
}

// moonbaseCallParams is the body of POST /calls and POST /calls/upsert
// (CallNewParams / CallUpsertParams). Pointers tell absent from empty.
type moonbaseCallParams struct {
	Direction        *string                     `json:"direction"`
	StartAt          *string                     `json:"start_at"`
	Provider         *string                     `json:"provider"`
	ProviderID       *string                     `json:"provider_id"`
	ProviderStatus   *string                     `json:"provider_status"`
	Participants     []moonbaseParticipantParams `json:"participants"`
	AnsweredAt       *string                     `json:"answered_at"`
	EndAt            *string                     `json:"end_at"`
	ProviderMetadata json.RawMessage             `json:"provider_metadata"`
	Recordings       []moonbaseRecordingParams   `json:"recordings"`
	Transcript       *moonbaseTranscriptParams   `json:"transcript"`
}

type moonbaseParticipantParams struct {
	Phone *string `json:"phone"`
	Role  *string `json:"role"`
}

type moonbaseRecordingParams struct {
	ContentType *string `json:"content_type"`
	ProviderID  *string `json:"provider_id"`
	URL         *string `json:"url"`
}

type moonbaseTranscriptParams struct {
	Cues []moonbaseCueParams `json:"cues"`
}

type moonbaseCueParams struct {
	From    json.RawMessage `json:"from"`
	To      json.RawMessage `json:"to"`
	Speaker *string         `json:"speaker"`
	Text    *string         `json:"text"`
}

// DecodeMoonbaseCall turns a Moonbase create/upsert body into the UpsertCall
// (without its Mode) of account at now. It checks what the seed requires
// and the enums; the domain checks the rest (E.164, time order). Errors name
// the field in Moonbase's spelling: 400 for missing fields and wrong JSON
// types, 422 for bad values. The body is decoded without reflection
// (decodeMoonbaseParamsFast, a fifth of encoding/json's CPU) unless it holds
// something only encoding/json is sure to decode right, or is bad.
func DecodeMoonbaseCall(body []byte, account string, now time.Time) (domain.UpsertCall, error) {
	var p moonbaseCallParams
	if !decodeMoonbaseParamsFast(body, &p) {
		// Declined (every bad body is): encoding/json decodes it, with
		// the same errors as before. Into a variable of its own: one that
		// encoding/json is given escapes, and p (136 bytes) would then be
		// allocated for every body, the fast path's too.
		slow := new(moonbaseCallParams)
		if err := DecodeJSON(body, slow); err != nil {
			return domain.UpsertCall{}, err
		}
		p = *slow
	}
	for _, req := range []struct {
		name string
		v    *string
	}{{"direction", p.Direction}, {"start_at", p.StartAt}, {"provider", p.Provider},
		{"provider_id", p.ProviderID}, {"provider_status", p.ProviderStatus}} {
		if req.v == nil {
			return domain.UpsertCall{}, Malformed(req.name, "is required")
		}
	}
	if p.Participants == nil {
		return domain.UpsertCall{}, Malformed("participants", "is required")
	}
	if len(p.Participants) == 0 {
		// A call has at least one party. A list of "other" participants
		// alone is taken (a provider may report one so; the call's from
		// and to are then cleared, see domain.reconcileAddresses), but an
		// empty list is a client's bug more likely than a call of no one.
		return domain.UpsertCall{}, Invalid("participants", "must list at least one participant, not none")
	}
	dir, ok := domain.ParseMoonbaseDirection(*p.Direction)
	if !ok {
		return domain.UpsertCall{}, Invalid("direction", "%q is not one of incoming, outgoing", truncate(*p.Direction, 32))
	}
	provider := domain.NormalizeProvider(*p.Provider)
	if provider == "" {
		return domain.UpsertCall{}, Invalid("provider", "must not be empty")
	}
	if strings.TrimSpace(*p.ProviderID) == "" {
		return domain.UpsertCall{}, Invalid("provider_id", "must not be empty")
	}
	if strings.TrimSpace(*p.ProviderStatus) == "" {
		return domain.UpsertCall{}, Invalid("provider_status", "must not be empty")
	}
	// The values the command points to share one allocation: one each
	// made six for the seed's body (its direction, status, times and
	// transcript).
	vals := new(struct {
		dir        domain.Direction
		status     domain.Status
		times      [3]time.Time
		transcript domain.Transcript
	})
	vals.dir = dir
	cmd := domain.UpsertCall{
		CallID:         domain.CallIDFor(account, provider, *p.ProviderID),
		AccountID:      account,
		Now:            now.UTC(),
		Provider:       provider,
		ProviderID:     *p.ProviderID,
		Direction:      &vals.dir,
		ProviderStatus: p.ProviderStatus,
	}
	if st, ok := domain.ParseMoonbaseStatus(*p.ProviderStatus); ok {
		vals.status = st
		cmd.Status = &vals.status
	}
	var err error
	if cmd.StartedAt, err = parseOptTimeIn("start_at", p.StartAt, &vals.times[0]); err != nil {
		return domain.UpsertCall{}, err
	}
	if cmd.AnsweredAt, err = parseOptTimeIn("answered_at", p.AnsweredAt, &vals.times[1]); err != nil {
		return domain.UpsertCall{}, err
	}
	if cmd.EndedAt, err = parseOptTimeIn("end_at", p.EndAt, &vals.times[2]); err != nil {
		return domain.UpsertCall{}, err
	}
	cmd.Participants = make([]domain.ParticipantSpec, 0, len(p.Participants))
	for i, pp := range p.Participants {
		field := domain.ListField{List: "participants", I: i}
		if pp.Phone == nil {
			return domain.UpsertCall{}, Malformed(field.Sub("phone"), "is required")
		}
		if pp.Role == nil {
			return domain.UpsertCall{}, Malformed(field.Sub("role"), "is required")
		}
		role := domain.Role(*pp.Role)
		if role != domain.RoleCaller && role != domain.RoleCallee && role != domain.RoleOther {
			return domain.UpsertCall{}, Invalid(field.Sub("role"), "%q is not one of caller, callee, other", truncate(*pp.Role, 32))
		}
		if !domain.ValidE164(*pp.Phone) {
			return domain.UpsertCall{}, CheckE164(field.Sub("phone"), *pp.Phone)
		}
		cmd.Participants = append(cmd.Participants, domain.ParticipantSpec{Role: role, Phone: *pp.Phone})
	}
	if !isNullJSON(p.ProviderMetadata) {
		if trimmed := bytes.TrimSpace(p.ProviderMetadata); trimmed[0] != '{' {
			return domain.UpsertCall{}, Malformed("provider_metadata", "must be an object")
		}
		// A copy: decodeMoonbaseParamsFast leaves the value in the body,
		// whose buffer the next request reuses (poolBodies).
		cmd.ProviderMetadata = bytes.Clone(p.ProviderMetadata)
	}
	for i, rp := range p.Recordings {
		field := domain.ListField{List: "recordings", I: i}
		switch {
		case rp.ContentType == nil:
			return domain.UpsertCall{}, Malformed(field.Sub("content_type"), "is required")
		case rp.ProviderID == nil:
			return domain.UpsertCall{}, Malformed(field.Sub("provider_id"), "is required")
		case rp.URL == nil:
			return domain.UpsertCall{}, Malformed(field.Sub("url"), "is required")
		}
		cmd.Recordings = append(cmd.Recordings, domain.Recording{ContentType: *rp.ContentType, ProviderID: *rp.ProviderID, URL: *rp.URL})
	}
	if p.Transcript != nil {
		if p.Transcript.Cues == nil {
			return domain.UpsertCall{}, Malformed("transcript.cues", "is required")
		}
		t := &vals.transcript
		t.Cues = make([]domain.TranscriptCue, 0, len(p.Transcript.Cues))
		for i, c := range p.Transcript.Cues {
			field := domain.ListField{List: "transcript.cues", I: i}
			from, err := parseSeconds(field, "from", c.From)
			if err != nil {
				return domain.UpsertCall{}, err
			}
			to, err := parseSeconds(field, "to", c.To)
			if err != nil {
				return domain.UpsertCall{}, err
			}
			if c.Speaker == nil {
				return domain.UpsertCall{}, Malformed(field.Sub("speaker"), "is required")
			}
			if c.Text == nil {
				return domain.UpsertCall{}, Malformed(field.Sub("text"), "is required")
			}
			t.Cues = append(t.Cues, domain.TranscriptCue{From: from, To: to, Speaker: *c.Speaker, Text: *c.Text})
		}
		cmd.Transcript = t
	}
	return cmd, nil
}

// parseOptTime parses an optional RFC 3339 field.
func parseOptTime(field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	return parseOptTimeIn(field, s, new(time.Time))
}

// parseOptTimeIn is parseOptTime that parses into *into, which it returns,
// rather than a time of its own: a caller with several times allocates
// them together.
func parseOptTimeIn(field string, s *string, into *time.Time) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := ParseTime(field, *s)
	if err != nil {
		return nil, err
	}
	*into = t
	return into, nil
}

// parseSeconds reads a transcript offset, the field name of cue: a JSON
// number (as the Moonbase SDK sends it) or a string holding a decimal, kept
// exactly as written, in plain or exponent notation (domain.ParseNumber:
// JavaScript writes 1e-7 and 1e21 so), within the cue bounds. It is kept
// and written back in plain notation (1e2 reads back as 100). raw is one
// value of a body DecodeMoonbaseCall has decoded, so valid JSON (both its
// decoders check the whole body): only its type is left to check.
func parseSeconds(cue domain.ListField, name string, raw json.RawMessage) (domain.Decimal, error) {
	if isNullJSON(raw) {
		return domain.Decimal{}, Malformed(cue.Sub(name), "is required")
	}
	text := strings.TrimSpace(string(raw))
	if strings.HasPrefix(text, `"`) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return domain.Decimal{}, Malformed(cue.Sub(name), "must be a number")
		}
		text = s
	} else if strings.ContainsAny(text[:1], "[{tfn") {
		return domain.Decimal{}, Malformed(cue.Sub(name), "must be a number")
	}
	d, err := domain.ParseNumber(text, domain.CueSecondsIntDigitsMax, domain.CueSecondsPlacesMax)
	if err != nil {
		return domain.Decimal{}, Invalid(cue.Sub(name), "%s", err.Error())
	}
	return d, nil
}

// moonbaseCall is the Moonbase Call object.
type moonbaseCall struct {
	ID               string                `json:"id"`
	Type             string                `json:"type"`
	Participants     []moonbaseParticipant `json:"participants"`
	CreatedAt        string                `json:"created_at"`
	UpdatedAt        string                `json:"updated_at"`
	Direction        string                `json:"direction"`
	StartAt          *string               `json:"start_at"`
	AnsweredAt       *string               `json:"answered_at,omitempty"`
	EndAt            *string               `json:"end_at,omitempty"`
	Provider         string                `json:"provider"`
	ProviderID       string                `json:"provider_id"`
	ProviderStatus   string                `json:"provider_status"`
	ProviderMetadata json.RawMessage       `json:"provider_metadata,omitempty"`
	Recordings       []moonbaseRecording   `json:"recordings,omitempty"`
	Transcript       *moonbaseTranscript   `json:"transcript,omitempty"`
}

type moonbasePointer struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type moonbaseParticipant struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	Role   string          `json:"role"`
	Phone  string          `json:"phone"`
	Person moonbasePointer `json:"person"`
}

type moonbaseRecording struct {
	ContentType string `json:"content_type"`
	ProviderID  string `json:"provider_id"`
	URL         string `json:"url"`
}

type moonbaseTranscript struct {
	Cues []moonbaseCue `json:"cues"`
}

// moonbaseCue writes offsets as JSON numbers with the digits they were
// given ("1.50" stays 1.50), in plain notation (1e2 is written 100).
type moonbaseCue struct {
	From    json.RawMessage `json:"from"`
	To      json.RawMessage `json:"to"`
	Speaker string          `json:"speaker"`
	Text    string          `json:"text"`
}

func moonbaseCallOf(c domain.Call) moonbaseCall {
	out := moonbaseCall{
		ID:               c.ID.String(),
		Type:             "call",
		Participants:     make([]moonbaseParticipant, 0, len(c.Participants)),
		CreatedAt:        FormatTime(c.CreatedAt),
		UpdatedAt:        FormatTime(c.UpdatedAt),
		Direction:        domain.MoonbaseDirectionWord(c.Direction),
		StartAt:          timePtr(c.StartedAt),
		AnsweredAt:       timePtr(c.AnsweredAt),
		EndAt:            timePtr(c.EndedAt),
		Provider:         c.Provider,
		ProviderID:       c.ProviderID,
		ProviderStatus:   domain.MoonbaseProviderStatus(&c),
		ProviderMetadata: c.ProviderMetadata,
	}
	for _, p := range c.Participants {
		out.Participants = append(out.Participants, moonbaseParticipant{
			ID: p.ID.String(), Type: "call_participant", Role: string(p.Role), Phone: p.Phone,
			Person: moonbasePointer{ID: p.PersonID.String(), Type: "item"},
		})
	}
	for _, r := range c.Recordings {
		out.Recordings = append(out.Recordings, moonbaseRecording(r))
	}
	if c.Transcript != nil {
		t := &moonbaseTranscript{Cues: make([]moonbaseCue, 0, len(c.Transcript.Cues))}
		for _, q := range c.Transcript.Cues {
			t.Cues = append(t.Cues, moonbaseCue{From: json.RawMessage(q.From.String()), To: json.RawMessage(q.To.String()), Speaker: q.Speaker, Text: q.Text})
		}
		out.Transcript = t
	}
	return out
}

// moonbaseFieldNames maps the domain's field names (the Call's JSON names)
// onto Moonbase's where they differ.
var moonbaseFieldNames = map[string]string{
	"started_at": "start_at",
	"ended_at":   "end_at",
	"from":       "participants",
	"to":         "participants",
}

// moonbaseError renders a Problem in Moonbase's error shape.
func (s *Server) moonbaseError(w http.ResponseWriter, r *http.Request, p Problem) {
	type apiError struct {
		Status string          `json:"status"`
		Title  string          `json:"title"`
		Code   string          `json:"code"`
		Detail string          `json:"detail"`
		Source *moonbaseSource `json:"source,omitempty"`
	}
	e := apiError{Status: strconv.Itoa(p.Status), Title: http.StatusText(p.Status), Code: p.Code, Detail: p.Message}
	if p.Field != "" {
		field := p.Field
		if f, ok := moonbaseFieldNames[field]; ok {
			field = f
		}
		e.Source = moonbaseErrorSource(field)
		e.Detail = withField(field, e.Detail)
	}
	s.writeJSON(w, r, p.Status, map[string][]apiError{"errors": {e}})
}

// moonbaseSource says where the value at fault is, as a JSON:API error's
// source does: a JSON pointer into the body, a query parameter, or a
// header; exactly one is set.
type moonbaseSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Header    string `json:"header,omitempty"`
}

// moonbaseQueryParameters are the query parameters of the Moonbase routes
// (list paging, reading a call as it was): no body has fields of these names.
var moonbaseQueryParameters = map[string]bool{"limit": true, "after": true, "before": true, "revision": true, "as_of": true}

// moonbaseErrorSource places a problem's field: header names are
// capitalized words joined by hyphens (Idempotency-Key, If-Match) or
// Authorization; body fields are snake_case, but a body key in another
// case that a problem names (checkJSONNames: "Provider_Id") is a body
// field too.
func moonbaseErrorSource(field string) *moonbaseSource {
	switch {
	case field[0] >= 'A' && field[0] <= 'Z' && (strings.Contains(field, "-") || field == "Authorization"):
		return &moonbaseSource{Header: field}
	case moonbaseQueryParameters[field]:
		return &moonbaseSource{Parameter: field}
	}
	return &moonbaseSource{Pointer: jsonPointer(field)}
}

// jsonPointer turns "participants[1].phone" into "/participants/1/phone".
func jsonPointer(field string) string {
	f := strings.NewReplacer("[", ".", "]", "").Replace(field)
	return "/" + strings.ReplaceAll(f, ".", "/")
}
