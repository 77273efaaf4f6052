package domain

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Command asks for a change to one call: an imperative that Decide accepts
// (with events) or refuses (with an *Error). Every command names the call
// (the stream to load and fold before deciding), the account asking, and
// Now, the ledger's time of the request, which Decide uses for defaults
// (it never reads a clock).
type Command interface {
	// TargetCallID returns the id of the call the command is about.
	TargetCallID() uuid.UUID
}

// UpsertMode says what UpsertCall may do about a call that does or does not
// exist yet. There is no default: the zero mode is refused, so that no
// surface creates calls by accident.
type UpsertMode string

// The upsert modes.
const (
	// UpsertCreate creates the call, and refuses with ErrConflict if it
	// exists (Moonbase POST /calls, VoiceCall POST, LaML POST).
	UpsertCreate UpsertMode = "create"
	// UpsertCreateOrUpdate creates the call or updates it (Moonbase POST
	// /calls/upsert).
	UpsertCreateOrUpdate UpsertMode = "upsert"
	// UpsertUpdate updates the call, and refuses with ErrNotFound if it does
	// not exist (call-history PATCH, VoiceCall PUT, LaML POST .../{Sid}).
	UpsertUpdate UpsertMode = "update"
)

// UpsertCall is the one command every surface's create and update map onto.
// Every field but Mode, CallID, AccountID and Now is optional: nil (or an
// empty string for Provider and ProviderID) means "not given, keep what the
// call has". A non-nil empty slice is given: an empty participant list.
//
// Decide emits an event only for what the command changes, so a surface may
// send every field it knows each time. Field names in errors are the Call's
// JSON names ("from", "participants[1].phone", "price.currency").
type UpsertCall struct {
	Mode UpsertMode
	// CallID is the call: CallIDFor(account, provider, provider id) for
	// surfaces that address calls by provider id, or a new UUID the caller
	// chose.
	CallID uuid.UUID
	// AccountID is the account asking. A call of another account is not
	// found.
	AccountID string
	// Now is the ledger's time of the request: the start of a call created
	// without one (VoiceCall's start is when the ledger recorded it), and
	// the cancel or answer time a lifecycle move needs but was not given.
	// It is the end of a call completed without one only when no duration
	// is known either: otherwise the end is the answer (or start) plus the
	// duration (see timing.go).
	Now time.Time

	// Provider and ProviderID are required on creation; on update, if given,
	// they must be the call's own (ErrConflict otherwise: VoiceCall's PUT on
	// a call that is not Vonage's).
	Provider   string
	ProviderID string

	// Direction is required on creation.
	Direction *Direction
	// From and To are the calling and called numbers, E.164 (a LaML "sip:"
	// or "client:" address is also taken): the caller's and the callee's
	// phones, whatever the direction. Given without Participants, a changed
	// one becomes the caller's (callee's) phone in the call's participants.
	From *string
	To   *string
	// Participants is the whole participant list; Decide derives their ids
	// and person ids. Several callers or callees are taken as sent: the
	// first caller's and callee's phones become From and To, and a list
	// without a caller (callee) clears a From (To) that is a phone number.
	// A From or To also given must be the same number (or a sip: or
	// client: address). See reconcileAddresses.
	Participants []ParticipantSpec

	// StartedAt, AnsweredAt and EndedAt are when the call began, was
	// answered and ended, any offset (stored in UTC). A call created without
	// StartedAt starts at Now, or at the earliest time given if that is
	// earlier. A StartedAt or AnsweredAt that moves the time the call's
	// duration counts from (its answer, or its start if never answered)
	// must leave that time plus the duration no later than the year 9999
	// (ErrInvalid naming the time, when no duration is given), as
	// DurationSeconds must.
	StartedAt  *time.Time
	AnsweredAt *time.Time
	EndedAt    *time.Time
	// DurationSeconds is the billed duration, not negative, and one the
	// ledger can end the call by: the answer (or start) plus it no later
	// than the year 9999 (ErrInvalid otherwise). Without it, a
	// duration the call's times gave follows the times the command moves,
	// unless the call's end was derived from its duration and the command
	// gives no end: then that end follows a moved start or answer, and the
	// duration stays. With it, the duration given is kept as sent, and an
	// end that was the start (or answer) plus the duration follows it when
	// EndedAt is not given (see timing.go).
	DurationSeconds *int64

	// Status is the canonical status the surface's word maps to (see the
	// Parse...Status functions); nil when the word is unknown or absent,
	// and Decide then derives it from AnsweredAt and EndedAt if it can.
	Status *Status
	// ProviderStatus is the provider's status word, kept verbatim (Moonbase
	// provider_status); not empty if given.
	ProviderStatus *string
	// VoiceCallStatus is the VoiceCall status word, kept verbatim; it must
	// be one of the VoiceCall enum (ParseVoiceCallStatus).
	VoiceCallStatus *string
	// AnsweredBy says who or what answered (LaML answered_by).
	AnsweredBy *string

	// Price is the call's price: rate and total not negative, an ISO 4217
	// currency.
	Price *Price
	// Recordings are added to the call's: a recording whose ProviderID (or,
	// without one, URL) the call already has is not added again. Recordings
	// are never removed by an upsert.
	Recordings []Recording
	// Transcript replaces the call's transcript.
	Transcript *Transcript
	// Details are the descriptive fields to set (nil fields are kept).
	Details DetailsChanges
	// Routing are the LaML call-control settings to set.
	Routing RoutingChanges
	// Quality replaces the call's audio quality figures, whole.
	Quality *Quality
	// ProviderMetadata replaces the provider's metadata: a JSON object,
	// kept as given. It counts as changed when it differs semantically
	// (key order and spacing do not matter; numbers compare as written).
	ProviderMetadata json.RawMessage
	// ParentCallID is the call that created this one (LaML parent_call_sid).
	ParentCallID *uuid.UUID
}

// ParticipantSpec is a participant as a surface gives it: a role and a phone.
type ParticipantSpec struct {
	Role  Role
	Phone string
}

// RoutingChanges are LaML call-control settings to set; nil fields are kept.
// URLs are absolute http(s); methods are GET or POST.
type RoutingChanges struct {
	URL                  *string
	Method               *string
	FallbackURL          *string
	FallbackMethod       *string
	StatusCallback       *string
	StatusCallbackMethod *string
	// Twiml is the TwiML document the client gave the provider to run in
	// place of fetching URL (LaML Twiml): valid UTF-8, not empty, at most
	// TwimlCharsMax characters (checkTwiml), kept as sent and not read as
	// XML: the ledger records what was asked, the provider runs it.
	Twiml *string
	// ApplicationSID is the provider application whose settings route the
	// call (LaML ApplicationSid): printable, without spaces, at most
	// ApplicationSIDBytesMax bytes (checkApplicationSID), kept as sent.
	ApplicationSID *string
}

// AnswerCall records that a call was answered. A terminal call cannot be
// answered again, nor an answered one (ErrConflict).
type AnswerCall struct {
	CallID    uuid.UUID
	AccountID string
	Now       time.Time
	// AnsweredAt defaults to Now (never before the call's start). With a
	// duration known, the answer plus it must be no later than the year
	// 9999 (ErrInvalid naming answered_at): the duration counts from the
	// answer, and a completion without an end ends the call there.
	AnsweredAt *time.Time
	// AnsweredBy says who or what answered; may be empty.
	AnsweredBy string
}

// TerminateCall ends an in-progress call normally: it becomes completed
// (LaML Status=completed). Any other status is ErrConflict.
type TerminateCall struct {
	CallID    uuid.UUID
	AccountID string
	Now       time.Time
	// EndedAt defaults to Now (never before the call's answer).
	EndedAt *time.Time
	// DurationSeconds defaults to the whole seconds from answer to end;
	// given, it is not negative and at most 400,000,000,000 (ErrInvalid).
	DurationSeconds *int64
}

// CancelCall cancels a queued or ringing call (LaML Status=canceled). An
// in-progress call is left as it is, with no event and no error: Twilio's
// canceled "will attempt to hang up calls that are queued or ringing; but
// not affect calls already in progress", so its clients send it to stop a
// call that may have connected meanwhile (a 409 answered them otherwise).
// A call that has ended is ErrConflict.
type CancelCall struct {
	CallID    uuid.UUID
	AccountID string
	Now       time.Time
	// CanceledAt defaults to Now.
	CanceledAt *time.Time
}

// HangUpCall ends a live call whatever its stage, as Twilio's Status=completed
// does ("hang up a call even if it's already in progress"): an in-progress
// call is terminated (TerminateCall), a queued or ringing one is canceled
// (CancelCall), since it never connected. A call that has ended already is
// ErrConflict. It records no new kind of change: its events are those of
// the command it stands for.
type HangUpCall struct {
	CallID    uuid.UUID
	AccountID string
	Now       time.Time
}

// PriceCall sets a call's price; the same price again changes nothing. A
// price is also settable through UpsertCall; PriceCall is for surfaces and
// tools that only price (billing corrections).
type PriceCall struct {
	CallID    uuid.UUID
	AccountID string
	Now       time.Time
	Price     Price
}

// DeleteCall soft-deletes a call (call-history DELETE): it keeps its
// history, stays readable by id on the call-history surface, and refuses
// every further command with ErrConflict, a second DeleteCall included (so
// a client learns the call was already gone).
type DeleteCall struct {
	CallID    uuid.UUID
	AccountID string
	Now       time.Time
}

// TargetCallID implementations.
func (c UpsertCall) TargetCallID() uuid.UUID    { return c.CallID }
func (c AnswerCall) TargetCallID() uuid.UUID    { return c.CallID }
func (c TerminateCall) TargetCallID() uuid.UUID { return c.CallID }
func (c CancelCall) TargetCallID() uuid.UUID    { return c.CallID }
func (c HangUpCall) TargetCallID() uuid.UUID    { return c.CallID }
func (c PriceCall) TargetCallID() uuid.UUID     { return c.CallID }
func (c DeleteCall) TargetCallID() uuid.UUID    { return c.CallID }
