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
//	                       adminProviderSid, providerConferenceId. A string
//	                       field set to null is cleared. Derived fields (id,
//	                       status, type, startedAt, endedAt, phoneNumber,
//	                       callerPhoneNumber, createdAt, updatedAt,
//	                       deletedAt) are read-only and ignored, so a client
//	                       may send back what it read.
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
			r.Use(s.surface(s.callHistoryError), s.bearerAuth(s.callHistoryError))
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
	cmd, err := DecodeCallHistoryPatch(body, id, AccountFrom(r.Context()), s.now())
	if err != nil {
		s.writeError(w, r, s.callHistoryError, err)
		return
	}
	s.callHistoryExecute(w, r, cmd)
}

func (s *Server) callHistoryDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathCallID(r)
	if err != nil {
		s.writeError(w, r, s.callHistoryError, err)
		return
	}
	s.callHistoryExecute(w, r, domain.DeleteCall{CallID: id, AccountID: AccountFrom(r.Context()), Now: s.now().UTC()})
}

func (s *Server) callHistoryExecute(w http.ResponseWriter, r *http.Request, cmd domain.Command) {
	res, err := s.Execute(r, domain.SurfaceCallHistory, cmd.TargetCallID(), decideCommand(cmd))
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
	Notes                    Opt[string]             `json:"notes"`
	CallType                 Opt[string]             `json:"callType"`
	Contact                  Opt[callHistoryContact] `json:"contact"`
	Caller                   Opt[callHistoryMember]  `json:"caller"`
	Transferred              Opt[bool]               `json:"transferred"`
	SequenceRunID            Opt[string]             `json:"sequenceRunId"`
	SequenceID               Opt[string]             `json:"sequenceId"`
	SyncedWithCrmDate        Opt[string]             `json:"syncedWithCrmDate"`
	OrganizationID           Opt[string]             `json:"organizationId"`
	OrganizationMembershipID Opt[string]             `json:"organizationMembershipId"`
	PhoneNumberID            Opt[string]             `json:"phoneNumberId"`
	ManagedPhoneNumberID     Opt[string]             `json:"managedPhoneNumberId"`
	UserProviderSid          Opt[string]             `json:"userProviderSid"`
	AdminProviderSid         Opt[string]             `json:"adminProviderSid"`
	ProviderConferenceID     Opt[string]             `json:"providerConferenceId"`
}

// DecodeCallHistoryPatch turns a PATCH body into the update-only UpsertCall
// of call id for account at now. Errors name the camelCase field.
func DecodeCallHistoryPatch(body []byte, id uuid.UUID, account string, now time.Time) (domain.UpsertCall, error) {
	var p callHistoryPatchBody
	if err := DecodeJSON(body, &p); err != nil {
		return domain.UpsertCall{}, err
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
		if p.CallType.Null || (p.CallType.Value != callTypeSession && p.CallType.Value != callTypeDirect) {
			return domain.UpsertCall{}, Invalid("callType", "must be one of %s, %s", callTypeSession, callTypeDirect)
		}
		d.CallType = &p.CallType.Value
	}
	if p.Transferred.Set {
		if p.Transferred.Null {
			return domain.UpsertCall{}, Invalid("transferred", "must be true or false, not null")
		}
		d.Transferred = &p.Transferred.Value
	}
	if p.Contact.Set {
		c := domain.Contact{IsUnknown: true}
		if !p.Contact.Null {
			v := p.Contact.Value
			c = domain.Contact{ID: deref(v.ID), FirstName: deref(v.FirstName), LastName: deref(v.LastName), IsUnknown: v.IsUnknown}
		}
		d.Contact = &c
	}
	if p.Caller.Set {
		m := domain.Member{}
		if !p.Caller.Null {
			m = domain.Member{FirstName: deref(p.Caller.Value.FirstName), LastName: deref(p.Caller.Value.LastName)}
		}
		d.Caller = &m
	}
	if p.SyncedWithCrmDate.Set {
		if p.SyncedWithCrmDate.Null {
			return domain.UpsertCall{}, Invalid("syncedWithCrmDate", "cannot be cleared")
		}
		t, err := ParseTime("syncedWithCrmDate", p.SyncedWithCrmDate.Value)
		if err != nil {
			return domain.UpsertCall{}, err
		}
		d.SyncedWithCRMAt = &t
	}
	return domain.UpsertCall{Mode: domain.UpsertUpdate, CallID: id, AccountID: account, Now: now.UTC(), Details: d}, nil
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

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
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
		CallType:                 d.CallType,
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
		Transferred:              d.Transferred != nil && *d.Transferred,
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
	if out.CallType == "" {
		out.CallType = callTypeDirect
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
// surface's camelCase where they differ.
var callHistoryFieldNames = map[string]string{
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

// callHistoryError renders a Problem in the call-history (NestJS-like) style.
func (s *Server) callHistoryError(w http.ResponseWriter, r *http.Request, p Problem) {
	field := p.Field
	if f, ok := callHistoryFieldNames[strings.TrimPrefix(field, "details.")]; ok {
		field = f
	}
	type body struct {
		StatusCode int    `json:"statusCode"`
		Error      string `json:"error"`
		Code       string `json:"code"`
		Message    string `json:"message"`
		Field      string `json:"field,omitempty"`
	}
	msg := p.Message
	if field != "" && !strings.Contains(msg, field) {
		msg = field + ": " + msg
	}
	s.writeJSON(w, r, p.Status, body{StatusCode: p.Status, Error: http.StatusText(p.Status), Code: p.Code, Message: msg, Field: field})
}
