package domain

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Call is the canonical phone call: the union of everything the four API
// surfaces (Moonbase, call history, VoiceCall, LaML) can say about a call.
// Each surface renders a view of it; none owns a field the others cannot see.
//
// A Call is only ever built by folding its events with Evolve. Times are UTC.
// A nil pointer or empty string means "not known"; the zero Call is no call.
type Call struct {
	// ID is the ledger's id of the call, the same on every surface.
	ID uuid.UUID `json:"id"`
	// AccountID is the tenant that owns the call. Calls of other accounts
	// are invisible to it.
	AccountID string `json:"account_id"`

	// Direction is inbound or outbound.
	Direction Direction `json:"direction"`
	// Status is the canonical status, moved only along the state machine.
	Status Status `json:"status"`
	// ProviderStatus is the provider's own status, verbatim (Moonbase
	// provider_status).
	ProviderStatus string `json:"provider_status,omitempty"`
	// VoiceCallStatus is the VoiceCall surface's status, verbatim
	// (INCOMING_CALL, ANSWERED_BY_STAFF, ...), empty if never set there.
	// Other surfaces moving the call leave it as it is: the surface shows
	// VoiceCallStatusWord, which tells whether it is still current.
	VoiceCallStatus string `json:"voice_call_status,omitempty"`

	// Provider names the telephony provider, lower case ("openphone",
	// "vonage", "signalwire"). Providers compare case-insensitively.
	Provider string `json:"provider"`
	// ProviderID is the provider's id of the call; unique per account and provider.
	ProviderID string `json:"provider_id"`
	// ProviderMetadata is the provider's extra data, kept and returned as given.
	ProviderMetadata json.RawMessage `json:"provider_metadata,omitempty"`

	// Participants are the parties of the call, in the order they were given.
	Participants []Participant `json:"participants,omitempty"`
	// From and To are the calling and called addresses, E.164 for phone
	// numbers: the first caller's and callee's phones, or a sip: or client:
	// address no participant holds; "" when the call has no such side.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`

	// StartedAt is when the call began (rang or was placed).
	StartedAt *time.Time `json:"started_at,omitempty"`
	// AnsweredAt is when the call was answered; nil if never.
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	// EndedAt is when the call ended; nil while it is not over.
	EndedAt *time.Time `json:"ended_at,omitempty"`
	// DurationSeconds is the billed duration in whole seconds; nil if unknown.
	DurationSeconds *int64 `json:"duration_seconds,omitempty"`
	// EndFromDuration reports that the ledger derived EndedAt from the
	// duration (the answer, or start, plus DurationSeconds) rather than
	// anyone reporting it: the event that wrote the end said so
	// (end_derived). It tells which side of tied times follows the other
	// when a write moves the start or answer and gives neither end nor
	// duration (timing.go). False while the call has no end, and for an end
	// a client or provider gave or the ledger's clock set.
	EndFromDuration bool `json:"end_from_duration,omitempty"`
	// AnsweredBy says who or what answered (LaML answered_by: human,
	// machine_start, ...).
	AnsweredBy string `json:"answered_by,omitempty"`

	// Price is what the call cost; nil while not priced.
	Price *Price `json:"price,omitempty"`

	// Recordings of the call, in the order they were added.
	Recordings []Recording `json:"recordings,omitempty"`
	// Transcript of the call; nil if none.
	Transcript *Transcript `json:"transcript,omitempty"`

	// Details holds the descriptive facts the surfaces record: notes,
	// references to people and CRM objects, sequence and organization ids.
	Details Details `json:"details"`
	// Routing holds the LaML call-control URLs.
	Routing Routing `json:"routing"`
	// Quality holds the audio quality figures; nil if never reported.
	Quality *Quality `json:"quality,omitempty"`

	// ParentCallID is the call that created this one (LaML parent_call_sid).
	ParentCallID *uuid.UUID `json:"parent_call_id,omitempty"`
	// DeletedAt is set when the call was soft-deleted. A deleted call keeps
	// its history and is readable by id on the call-history surface only.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`

	// CreatedAt is when the ledger recorded the call's first event.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the ledger recorded the call's latest event.
	UpdatedAt time.Time `json:"updated_at"`
}

// Deleted reports whether the call has been soft-deleted.
func (c *Call) Deleted() bool { return c.DeletedAt != nil }

// Direction says which way a call went.
type Direction string

// The directions. Surfaces map their own words onto these (incoming,
// INBOUND, inbound; outgoing, OUTBOUND, outbound-api, outbound-dial).
const (
	DirectionInbound  Direction = "inbound"
	DirectionOutbound Direction = "outbound"
)

// Role is a participant's part in a call.
type Role string

// The participant roles of the Moonbase surface.
const (
	RoleCaller Role = "caller"
	RoleCallee Role = "callee"
	RoleOther  Role = "other"
)

// Participant is a party of a call.
type Participant struct {
	// ID is stable: the same role and phone in the same call keep the same
	// id across upserts (see ParticipantID).
	ID uuid.UUID `json:"id"`
	// Role is caller, callee or other.
	Role Role `json:"role"`
	// Phone is the party's number in E.164.
	Phone string `json:"phone"`
	// PersonID identifies the person behind the phone within the account:
	// the same phone in the same account is always the same person (see PersonID).
	PersonID uuid.UUID `json:"person_id"`
}

// PriceIntDigitsMax and PricePlacesMax bound a price's rate and total, as
// written out: at most 15 digits before the point (under a quadrillion)
// and 18 after it, the most places billing totals are shown at. A price is
// exact whatever its digits, but the LaML surface writes it as a JSON
// number, which Twilio's clients read as a double, and a total of
// thousands of digits, or a hundred thousand places, would be no price a
// client could read back or a billing table could print. Decide refuses a
// price outside them (checkPrice); a price stored before the bound reads
// and bills as stored.
const (
	PriceIntDigitsMax = 15
	PricePlacesMax    = 18
)

// Price is what a call cost: exact decimals, one currency.
type Price struct {
	// Rate is the price per minute; zero value if not known.
	Rate Decimal `json:"rate"`
	// Total is the amount charged for the call.
	Total Decimal `json:"total"`
	// Currency is an ISO 4217 code in upper case ("USD").
	Currency string `json:"currency"`
}

// Recording is an audio recording of a call.
type Recording struct {
	// ContentType is the MIME type of the audio ("audio/mpeg").
	ContentType string `json:"content_type"`
	// ProviderID is the provider's id of the recording.
	ProviderID string `json:"provider_id"`
	// URL is where the audio can be fetched.
	URL string `json:"url"`
}

// Identity is what tells r apart from the other recordings of its call: its
// provider id, or its URL when it has none. Two recordings are one
// (sameRecording) exactly when their identities are equal; a surface that
// names recordings derives their names from it.
func (r Recording) Identity() string {
	kind, value := r.identityParts()
	return kind + "\x00" + value
}

// identityParts is r's Identity in its two parts: which field tells r
// apart ("provider_id", or "url" when it has no provider id) and its value.
// Identity, SID and sameRecording read it, rather than building the
// identity's string.
func (r Recording) identityParts() (kind, value string) {
	if r.ProviderID != "" {
		return "provider_id", r.ProviderID
	}
	return "url", r.URL
}

// SID is the id of recording r of call callID: a UUID (version 5) derived
// from the call id and r's Identity, so stable across reads and different
// for every recording the call can hold. The LaML surface names recordings
// by it, and the read models index them by it (projections), so that both
// must derive it here alike.
//
// It is uuid.NewSHA1(callID, []byte(r.Identity())), computed by nameUUID
// from the identity's parts in one buffer: the identity's string, its
// bytes, the hash and its sum were four allocations of every recording a
// projection indexes.
func (r Recording) SID(callID uuid.UUID) uuid.UUID {
	kind, value := r.identityParts()
	return nameUUID(callID, kind, value)
}

// Transcript is the text of a call, as timed cues.
type Transcript struct {
	Cues []TranscriptCue `json:"cues"`
}

// TranscriptCue is one utterance: who spoke, what, and when, in seconds from
// the start of the call. Offsets are Decimals so that they read back exactly
// as written: the digits and places given, in plain notation (an offset
// sent with an exponent, see ParseNumber, is kept as the plain decimal it
// writes).
type TranscriptCue struct {
	From    Decimal `json:"from"`
	To      Decimal `json:"to"`
	Speaker string  `json:"speaker"`
	Text    string  `json:"text"`
}

// The bounds of a transcript cue's offsets: below 10^15 seconds (some 31
// million years, far past any call) and at most 30 places, which holds
// every number JavaScript writes from 1e-13 up, while an exponent cannot
// ask for absurd magnitudes. Decide refuses a cue outside them
// (checkTranscript), whatever surface or tool built the command; a surface
// that reads cue times with an exponent applies them as it parses
// (ParseNumber), before any digit is written out.
const (
	CueSecondsIntDigitsMax = 15
	CueSecondsPlacesMax    = 30
)

// Details are the descriptive facts about a call that surfaces record and
// edit, as opposed to its lifecycle (status, times) and money.
// Empty strings and nil pointers mean not set.
type Details struct {
	// Notes are free text about the call (call history notes).
	Notes string `json:"notes,omitempty"`
	// Summary is a text summary of the call content (VoiceCall summary).
	Summary string `json:"summary,omitempty"`
	// CallType is the call-history entry type: CALL_SESSION or DIRECT_CALL.
	CallType string `json:"call_type,omitempty"`
	// Contact is the external party as the CRM knows them.
	Contact *Contact `json:"contact,omitempty"`
	// Caller is the organization member who made or took the call.
	Caller *Member `json:"caller,omitempty"`
	// Transferred reports whether the call was transferred.
	Transferred *bool `json:"transferred,omitempty"`

	// StaffID, ClientID and HandledByStaffID are VoiceCall references.
	StaffID          string `json:"staff_id,omitempty"`
	ClientID         string `json:"client_id,omitempty"`
	HandledByStaffID string `json:"handled_by_staff_id,omitempty"`
	// ExternalID is the provider system's external id (VoiceCall externalId).
	ExternalID string `json:"external_id,omitempty"`
	// ExternalLink is a URL of an external page about the call.
	ExternalLink string `json:"external_link,omitempty"`
	// AppName is the external application that originated or manages the call.
	AppName string `json:"app_name,omitempty"`
	// RecordingID is the VoiceCall recording reference.
	RecordingID string `json:"recording_id,omitempty"`

	// Call-history references.
	PhoneNumberID            string     `json:"phone_number_id,omitempty"`
	UserProviderSID          string     `json:"user_provider_sid,omitempty"`
	AdminProviderSID         string     `json:"admin_provider_sid,omitempty"`
	ProviderConferenceID     string     `json:"provider_conference_id,omitempty"`
	SequenceRunID            string     `json:"sequence_run_id,omitempty"`
	SequenceID               string     `json:"sequence_id,omitempty"`
	OrganizationID           string     `json:"organization_id,omitempty"`
	OrganizationMembershipID string     `json:"organization_membership_id,omitempty"`
	ManagedPhoneNumberID     string     `json:"managed_phone_number_id,omitempty"`
	SyncedWithCRMAt          *time.Time `json:"synced_with_crm_at,omitempty"`
}

// Contact is the external party of a call as a CRM knows them.
type Contact struct {
	ID        string `json:"id,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	IsUnknown bool   `json:"is_unknown"`
}

// Member is an organization member who made or took a call.
type Member struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

// Routing holds the LaML call-control settings: where the provider fetches
// instructions (URL), or the instructions themselves (Twiml), or the
// application that holds them (ApplicationSID), and where it sends status
// webhooks. Methods are GET or POST.
//
// Each field is the latest value a client gave for it, and none is ever
// cleared: a later Url does not clear an earlier Twiml, since the ledger
// records what each request asked, and which of them the provider ran is
// the provider's to say.
type Routing struct {
	URL                  string `json:"url,omitempty"`
	Method               string `json:"method,omitempty"`
	FallbackURL          string `json:"fallback_url,omitempty"`
	FallbackMethod       string `json:"fallback_method,omitempty"`
	StatusCallback       string `json:"status_callback,omitempty"`
	StatusCallbackMethod string `json:"status_callback_method,omitempty"`
	// Twiml is the TwiML document given instead of a URL; "" if never.
	Twiml string `json:"twiml,omitempty"`
	// ApplicationSID is the provider application given to route the
	// call; "" if never.
	ApplicationSID string `json:"application_sid,omitempty"`
}

// Quality holds a call's audio quality figures as the provider reported them.
// Nil fields were not reported.
type Quality struct {
	// AudioInMOS is the inbound Mean Opinion Score, 1.0 to 5.0.
	AudioInMOS *Decimal `json:"audio_in_mos,omitempty"`
	// SIPResultCode is the final SIP response code ("200", "486").
	SIPResultCode       string `json:"sip_result_code,omitempty"`
	AudioRTTAvgMs       *int64 `json:"audio_rtt_avg_ms,omitempty"`
	AudioRTTMinMs       *int64 `json:"audio_rtt_min_ms,omitempty"`
	AudioRTTMaxMs       *int64 `json:"audio_rtt_max_ms,omitempty"`
	AudioOutJitterMinMs *int64 `json:"audio_out_jitter_min_ms,omitempty"`
	AudioOutJitterMaxMs *int64 `json:"audio_out_jitter_max_ms,omitempty"`
	AudioOutJitterAvgMs *int64 `json:"audio_out_jitter_avg_ms,omitempty"`
	// AudioOutLostPackets is the number of outbound audio packets lost.
	AudioOutLostPackets *int64 `json:"audio_out_lost_packets,omitempty"`
}

// Valid reports whether r is one of the participant roles.
func (r Role) Valid() bool { return r == RoleCaller || r == RoleCallee || r == RoleOther }
