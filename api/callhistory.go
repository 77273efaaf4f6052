package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// The call-history surface (seed 001), camelCase:
//
//	GET    /v1/calls/{id}  the call-history entry; a soft-deleted call stays
//	                       readable here, with deletedAt
//	PATCH  /v1/calls/{id}  set the entry's facts: notes, contact, caller,
//	                       transferred, callType, sequenceRunId, sequenceId,
//	                       syncedWithCrmDate, organizationId,
//	                       organizationMembershipId, phoneNumberId,
//	                       managedPhoneNumberId, userProviderSid,
//	                       adminProviderSid, providerConferenceId. The body
//	                       is a JSON merge patch (RFC 7396): a member
//	                       present is set, null clears it, a member absent
//	                       is kept, down into contact and caller (see
//	                       mergeContact and mergeCaller); syncedWithCrmDate
//	                       null clears the date (a call never synced, as
//	                       seed 001 has it optional). Null is a 422 for
//	                       callType, transferred and contact.isUnknown
//	                       (decodeCallHistoryPatch): an entry type and a
//	                       flag always have a value, so none reads as
//	                       cleared; to keep one, leave it out. Derived
//	                       fields (id, status, type, startedAt, endedAt,
//	                       phoneNumber, callerPhoneNumber, createdAt,
//	                       updatedAt, deletedAt) are read-only and ignored,
//	                       so a client may send back what it read.
//	DELETE /v1/calls/{id}  soft delete: deletedAt is set, the history kept;
//	                       answers the entry (200). Deleting again is a 409.
//
// Writes honour If-Match (a stale ETag is a 412). Errors:
// {"statusCode": 422, "error": "Unprocessable Entity", "message": "...",
// "field": "contact.firstName"}.

// The call-history entry types (callType).
const (
	callTypeSession = "CALL_SESSION"
	callTypeDirect  = "DIRECT_CALL"
)

// callHistoryRoutes mounts the router of /v1/calls: the call-history
// surface, and within it the auditors' /v1/calls/{id}/events with their own
// style (callEventsRoutes). Every other path under /v1/calls is the call
// history's, answered (an unknown path or method too) in its error style
// once the Bearer token is checked.
func (s *Server) callHistoryRoutes(r chi.Router) {
	r.Route("/v1/calls", func(r chi.Router) {
		s.callEventsRoutes(r)
		r.Group(func(r chi.Router) {
			r.Use(s.surface(s.callHistoryError), s.bearerAuth(s.callHistoryError), s.noWriteInThePast(s.callHistoryError), s.Idempotent(s.callHistoryError))
			s.routeErrors(r, s.callHistoryError)
			r.Get("/{id}", s.callHistoryGet)
			r.Patch("/{id}", s.callHistoryPatch)
			r.Delete("/{id}", s.callHistoryDelete)
		})
	})
}

func (s *Server) callHistoryGet(w http.ResponseWriter, r *http.Request) {
	s.serveCall(w, r, pathCallID, true, s.callHistoryError, func(c *domain.Call) (any, error) { return callHistoryOf(*c), nil })
}

func (s *Server) callHistoryPatch(w http.ResponseWriter, r *http.Request) {
	id, body, err := readCallWrite(r)
	if err != nil {
		s.writeError(w, r, s.callHistoryError, err)
		return
	}
	patch, err := decodeCallHistoryPatch(body, id, AccountFrom(r.Context()), s.now())
	if err != nil {
		s.writeError(w, r, s.callHistoryError, err)
		return
	}
	s.callHistoryExecute(w, r, id, patch.decide)
}

func (s *Server) callHistoryDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathCallID(r)
	if err != nil {
		s.writeError(w, r, s.callHistoryError, err)
		return
	}
	s.callHistoryExecute(w, r, id, s.deleteDecider(r, id))
}

// deleteDecider soft-deletes call id for r's account: the one delete of
// every surface that has one (call history's DELETE, LaML's).
func (s *Server) deleteDecider(r *http.Request, id uuid.UUID) Decider {
	return decideCommand(domain.DeleteCall{CallID: id, AccountID: AccountFrom(r.Context()), Now: s.now().UTC()})
}

func (s *Server) callHistoryExecute(w http.ResponseWriter, r *http.Request, id uuid.UUID, decide Decider) {
	res, err := s.Execute(r, domain.SurfaceCallHistory, id, decide)
	if err != nil {
		s.writeError(w, r, s.callHistoryError, err)
		return
	}
	SetETag(w, res.State)
	s.writeJSON(w, r, http.StatusOK, callHistoryOf(res.State.Call))
}

// callHistoryPatchBody is the body of PATCH /v1/calls/{id}: every field
// optional; Opt tells absent from null.
type callHistoryPatchBody struct {
	Notes                    Opt[string]                  `json:"notes"`
	CallType                 Opt[string]                  `json:"callType"`
	Contact                  Opt[callHistoryContactPatch] `json:"contact"`
	Caller                   Opt[callHistoryMemberPatch]  `json:"caller"`
	Transferred              Opt[bool]                    `json:"transferred"`
	SequenceRunID            Opt[string]                  `json:"sequenceRunId"`
	SequenceID               Opt[string]                  `json:"sequenceId"`
	SyncedWithCrmDate        Opt[string]                  `json:"syncedWithCrmDate"`
	OrganizationID           Opt[string]                  `json:"organizationId"`
	OrganizationMembershipID Opt[string]                  `json:"organizationMembershipId"`
	PhoneNumberID            Opt[string]                  `json:"phoneNumberId"`
	ManagedPhoneNumberID     Opt[string]                  `json:"managedPhoneNumberId"`
	UserProviderSid          Opt[string]                  `json:"userProviderSid"`
	AdminProviderSid         Opt[string]                  `json:"adminProviderSid"`
	ProviderConferenceID     Opt[string]                  `json:"providerConferenceId"`
}

// callHistoryContactPatch is the contact of a PATCH body, a merge patch of
// the stored contact: each member absent, null (cleared) or a value.
type callHistoryContactPatch struct {
	ID        Opt[string] `json:"id"`
	FirstName Opt[string] `json:"firstName"`
	LastName  Opt[string] `json:"lastName"`
	IsUnknown Opt[bool]   `json:"isUnknown"`
}

// callHistoryMemberPatch is the caller of a PATCH body, a merge patch of
// the stored caller.
type callHistoryMemberPatch struct {
	FirstName Opt[string] `json:"firstName"`
	LastName  Opt[string] `json:"lastName"`
}

// callHistoryPatch is a decoded PATCH: the update-only UpsertCall of the
// fields it sets whole, and the merge patches of contact and caller. Those
// two can only be applied to the objects as the call stands when the write
// decides (a PATCH that names one member of the contact keeps the others),
// so they are merged in decide, on the state Execute loaded, and merged
// again on a fresher state if Execute retries.
type callHistoryPatch struct {
	cmd     domain.UpsertCall
	contact Opt[callHistoryContactPatch]
	caller  Opt[callHistoryMemberPatch]
}

// decide is the patch's Decider: it merges contact and caller into the
// call's stored ones, then decides the update. A merge that changes
// nothing sets nothing, so that it appends nothing; so does a callType or
// transferred that is what GET shows, the defaults (DIRECT_CALL, false)
// of a call that never had one included, so that a client that sends back
// what it read appends nothing.
func (p callHistoryPatch) decide(st domain.State, at time.Time) ([]domain.Event, domain.State, error) {
	cmd := p.cmd
	if v := cmd.Details.CallType; v != nil && *v == shownCallType(st.Call.Details) {
		cmd.Details.CallType = nil
	}
	if v := cmd.Details.Transferred; v != nil && *v == shownTransferred(st.Call.Details) {
		cmd.Details.Transferred = nil
	}
	if p.contact.Set {
		cmd.Details.Contact = mergeContact(st.Call.Details.Contact, p.contact)
	}
	if p.caller.Set {
		cmd.Details.Caller = mergeCaller(st.Call.Details.Caller, p.caller)
	}
	return domain.DecideFold(st, &cmd, at)
}

// mergeContact applies a PATCH's contact to stored, the call's contact (nil
// when it has none, which reads as every member null and isUnknown true),
// as RFC 7396 merges: null clears the whole contact (it reads as a call
// with none); in an object, id, firstName and lastName present are set
// (null clears each), absent are kept. isUnknown, a flag the client sets,
// is set when present (decode refuses null) and kept when absent, with one
// exception: a contact that had no id and no name, which GET shows as an
// unknown contact, becomes known (isUnknown false) when the patch gives it
// an id or a name without saying isUnknown, as a contact given in full
// reads in seed 001. It returns the contact to record, or nil when the
// patch changes nothing as GET shows it.
func mergeContact(stored *domain.Contact, patch Opt[callHistoryContactPatch]) *domain.Contact {
	before := domain.Contact{IsUnknown: true}
	if stored != nil {
		before = *stored
	}
	after := domain.Contact{IsUnknown: true}
	if !patch.Null {
		v := patch.Value
		after = before
		mergeString(&after.ID, v.ID)
		mergeString(&after.FirstName, v.FirstName)
		mergeString(&after.LastName, v.LastName)
		switch {
		case v.IsUnknown.Set:
			after.IsUnknown = v.IsUnknown.Value
		case !contactNamed(before) && contactNamed(after):
			after.IsUnknown = false
		}
	}
	if after == before {
		return nil
	}
	return &after
}

// contactNamed reports whether c identifies anyone: an id or a name.
func contactNamed(c domain.Contact) bool {
	return c.ID != "" || c.FirstName != "" || c.LastName != ""
}

// mergeCaller applies a PATCH's caller to stored, the call's caller (nil
// when it has none, which reads as both names null), as RFC 7396 merges:
// null clears both names; in an object, a name present is set (null clears
// it), absent is kept. It returns the caller to record, or nil when the
// patch changes nothing as GET shows it.
func mergeCaller(stored *domain.Member, patch Opt[callHistoryMemberPatch]) *domain.Member {
	var before domain.Member
	if stored != nil {
		before = *stored
	}
	var after domain.Member
	if !patch.Null {
		after = before
		mergeString(&after.FirstName, patch.Value.FirstName)
		mergeString(&after.LastName, patch.Value.LastName)
	}
	if after == before {
		return nil
	}
	return &after
}

// mergeString applies one member of a merge patch to *dst: a value sets
// it, null clears it (""), absent keeps it.
func mergeString(dst *string, o Opt[string]) {
	if v := optString(o); v != nil {
		*dst = *v
	}
}

// decodeCallHistoryPatch decodes a PATCH body for call id of account at
// now. Errors name the camelCase field ("contact.isUnknown" inside the
// contact).
func decodeCallHistoryPatch(body []byte, id uuid.UUID, account string, now time.Time) (callHistoryPatch, error) {
	var p callHistoryPatchBody
	if err := DecodeJSON(body, &p); err != nil {
		return callHistoryPatch{}, err
	}
	var d domain.DetailsChanges
	d.Notes = optString(p.Notes)
	d.SequenceRunID = optString(p.SequenceRunID)
	d.SequenceID = optString(p.SequenceID)
	d.OrganizationID = optString(p.OrganizationID)
	d.OrganizationMembershipID = optString(p.OrganizationMembershipID)
	d.PhoneNumberID = optString(p.PhoneNumberID)
	d.ManagedPhoneNumberID = optString(p.ManagedPhoneNumberID)
	d.UserProviderSID = optString(p.UserProviderSid)
	d.AdminProviderSID = optString(p.AdminProviderSid)
	d.ProviderConferenceID = optString(p.ProviderConferenceID)
	if p.CallType.Set {
		if p.CallType.Null {
			return callHistoryPatch{}, Invalid("callType", "must be one of %s, %s, not null (leave it out to keep it)", callTypeSession, callTypeDirect)
		}
		if p.CallType.Value != callTypeSession && p.CallType.Value != callTypeDirect {
			return callHistoryPatch{}, Invalid("callType", "must be one of %s, %s", callTypeSession, callTypeDirect)
		}
		d.CallType = &p.CallType.Value
	}
	if p.Transferred.Set {
		if p.Transferred.Null {
			return callHistoryPatch{}, Invalid("transferred", "must be true or false, not null")
		}
		d.Transferred = &p.Transferred.Value
	}
	if u := p.Contact.Value.IsUnknown; u.Set && u.Null {
		// A flag has no "cleared": leave it out to keep it.
		return callHistoryPatch{}, Invalid("contact.isUnknown", "must be true or false, not null")
	}
	switch {
	case p.SyncedWithCrmDate.Null:
		d.SyncedWithCRMAtCleared = true
	case p.SyncedWithCrmDate.Set:
		t, err := ParseTime("syncedWithCrmDate", p.SyncedWithCrmDate.Value)
		if err != nil {
			return callHistoryPatch{}, err
		}
		d.SyncedWithCRMAt = &t
	}
	cmd := domain.UpsertCall{Mode: domain.UpsertUpdate, CallID: id, AccountID: account, Now: now.UTC(), Details: d}
	return callHistoryPatch{cmd: cmd, contact: p.Contact, caller: p.Caller}, nil
}

func optString(o Opt[string]) *string {
	if !o.Set {
		return nil
	}
	v := o.Value
	if o.Null {
		v = ""
	}
	return &v
}

// callHistoryCall is the seed's call-history entry. Unknown text fields are
// null.
type callHistoryCall struct {
	ID                       string             `json:"id"`
	CallType                 string             `json:"callType"`
	Status                   string             `json:"status"`
	Type                     string             `json:"type"`
	StartedAt                *string            `json:"startedAt"`
	EndedAt                  *string            `json:"endedAt"`
	CreatedAt                string             `json:"createdAt"`
	Contact                  callHistoryContact `json:"contact"`
	PhoneNumber              callHistoryPhone   `json:"phoneNumber"`
	Caller                   callHistoryMember  `json:"caller"`
	CallerPhoneNumber        callHistoryPhone   `json:"callerPhoneNumber"`
	PhoneNumberID            *string            `json:"phoneNumberId"`
	UserProviderSid          *string            `json:"userProviderSid"`
	AdminProviderSid         *string            `json:"adminProviderSid"`
	ProviderConferenceID     *string            `json:"providerConferenceId"`
	Transferred              bool               `json:"transferred"`
	UpdatedAt                string             `json:"updatedAt"`
	SequenceRunID            *string            `json:"sequenceRunId"`
	SequenceID               *string            `json:"sequenceId"`
	SyncedWithCrmDate        *string            `json:"syncedWithCrmDate"`
	DeletedAt                *string            `json:"deletedAt"`
	OrganizationID           *string            `json:"organizationId"`
	OrganizationMembershipID *string            `json:"organizationMembershipId"`
	ManagedPhoneNumberID     *string            `json:"managedPhoneNumberId"`
	Notes                    *string            `json:"notes"`
}

type callHistoryContact struct {
	ID        *string `json:"id"`
	FirstName *string `json:"firstName"`
	LastName  *string `json:"lastName"`
	IsUnknown bool    `json:"isUnknown"`
}

type callHistoryMember struct {
	FirstName *string `json:"firstName"`
	LastName  *string `json:"lastName"`
}

type callHistoryPhone struct {
	Value *string `json:"value"`
}

func callHistoryOf(c domain.Call) callHistoryCall {
	d := c.Details
	out := callHistoryCall{
		ID:                       c.ID.String(),
		CallType:                 shownCallType(d),
		Status:                   domain.CallHistoryStatusWord(c.Status),
		Type:                     domain.CallHistoryDirectionWord(c.Direction),
		StartedAt:                timePtr(c.StartedAt),
		EndedAt:                  timePtr(c.EndedAt),
		CreatedAt:                FormatTime(c.CreatedAt),
		Contact:                  callHistoryContact{IsUnknown: true},
		PhoneNumberID:            nonEmpty(d.PhoneNumberID),
		UserProviderSid:          nonEmpty(d.UserProviderSID),
		AdminProviderSid:         nonEmpty(d.AdminProviderSID),
		ProviderConferenceID:     nonEmpty(d.ProviderConferenceID),
		Transferred:              shownTransferred(d),
		UpdatedAt:                FormatTime(c.UpdatedAt),
		SequenceRunID:            nonEmpty(d.SequenceRunID),
		SequenceID:               nonEmpty(d.SequenceID),
		SyncedWithCrmDate:        timePtr(d.SyncedWithCRMAt),
		DeletedAt:                timePtr(c.DeletedAt),
		OrganizationID:           nonEmpty(d.OrganizationID),
		OrganizationMembershipID: nonEmpty(d.OrganizationMembershipID),
		ManagedPhoneNumberID:     nonEmpty(d.ManagedPhoneNumberID),
		Notes:                    nonEmpty(d.Notes),
	}
	if ct := d.Contact; ct != nil {
		out.Contact = callHistoryContact{ID: nonEmpty(ct.ID), FirstName: nonEmpty(ct.FirstName), LastName: nonEmpty(ct.LastName), IsUnknown: ct.IsUnknown}
	}
	if m := d.Caller; m != nil {
		out.Caller = callHistoryMember{FirstName: nonEmpty(m.FirstName), LastName: nonEmpty(m.LastName)}
	}
	// phoneNumber is the other party's number; callerPhoneNumber the
	// organization's own (managed) number.
	from, to := c.From, c.To
	if from == "" {
		from = participantPhone(c, domain.RoleCaller)
	}
	if to == "" {
		to = participantPhone(c, domain.RoleCallee)
	}
	external, own := from, to
	if c.Direction == domain.DirectionOutbound {
		external, own = to, from
	}
	out.PhoneNumber.Value = nonEmpty(external)
	out.CallerPhoneNumber.Value = nonEmpty(own)
	return out
}

// shownCallType is the callType GET shows for details d: DIRECT_CALL for
// a call that never had one.
func shownCallType(d domain.Details) string {
	if d.CallType == "" {
		return callTypeDirect
	}
	return d.CallType
}

// shownTransferred is the transferred GET shows for details d: false for
// a call that never had one.
func shownTransferred(d domain.Details) bool {
	return d.Transferred != nil && *d.Transferred
}

func participantPhone(c domain.Call, role domain.Role) string {
	for _, p := range c.Participants {
		if p.Role == role {
			return p.Phone
		}
	}
	return ""
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// callHistoryFieldNames maps domain field names (snake case) onto this
// surface's camelCase where they differ. call_id, the call a command is
// about, is the path's {id} on every route of this surface.
var callHistoryFieldNames = map[string]string{
	"call_id":                    "id",
	"notes":                      "notes",
	"call_type":                  "callType",
	"sequence_run_id":            "sequenceRunId",
	"sequence_id":                "sequenceId",
	"synced_with_crm_at":         "syncedWithCrmDate",
	"organization_id":            "organizationId",
	"organization_membership_id": "organizationMembershipId",
	"phone_number_id":            "phoneNumberId",
	"managed_phone_number_id":    "managedPhoneNumberId",
	"user_provider_sid":          "userProviderSid",
	"admin_provider_sid":         "adminProviderSid",
	"provider_conference_id":     "providerConferenceId",
	"started_at":                 "startedAt",
	"ended_at":                   "endedAt",
}

// callHistoryError renders a Problem in the call-history (NestJS-like)
// style (nestJSError), field in the surface's names (callHistoryFieldNames).
func (s *Server) callHistoryError(w http.ResponseWriter, r *http.Request, p Problem) {
	field := p.Field
	if f, ok := callHistoryFieldNames[strings.TrimPrefix(field, "details.")]; ok {
		field = f
	}
	s.nestJSError(w, r, p, field)
}
