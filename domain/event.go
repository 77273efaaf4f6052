package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain/jsonwrite"
)

// Event is a fact about a call, in the past tense. Each concrete type has a
// stored type name (the EventType constants) that never changes.
type Event interface {
	// EventType returns the stored type name of the event.
	EventType() string
}

// The stored event type names. Never rename one: old events keep their names.
const (
	TypeCallUpserted                = "CallUpserted"
	TypeCallParticipantsChanged     = "CallParticipantsChanged"
	TypeCallProviderMetadataChanged = "CallProviderMetadataChanged"
	TypeCallAnswered                = "CallAnswered"
	TypeCallStatusChanged           = "CallStatusChanged"
	TypeCallPriced                  = "CallPriced"
	TypeCallTerminated              = "CallTerminated"
	TypeCallCanceled                = "CallCanceled"
	TypeCallTimingChanged           = "CallTimingChanged"
	TypeCallDetailsChanged          = "CallDetailsChanged"
	TypeCallRecordingAdded          = "CallRecordingAdded"
	TypeCallRecordingChanged        = "CallRecordingChanged"
	TypeCallTranscriptChanged       = "CallTranscriptChanged"
	TypeCallRoutingChanged          = "CallRoutingChanged"
	TypeCallQualityReported         = "CallQualityReported"
	TypeCallDeleted                 = "CallDeleted"
)

// CallUpserted records a call's creation (Created true: the first event of
// every call stream, carrying its identity) or a later change to its core
// facts. On a change, nil fields did not change; a From or To of "" clears
// it (written "from":"", which every build folds to the empty address): the
// participants a Moonbase upsert gave have no caller or callee any more, and
// a surface must not show the number they dropped (see reconcileAddresses).
type CallUpserted struct {
	Created bool `json:"created,omitempty"`
	// CallID, AccountID, Provider and ProviderID are set on creation only.
	CallID     uuid.UUID `json:"call_id"`
	AccountID  string    `json:"account_id,omitempty"`
	Provider   string    `json:"provider,omitempty"`
	ProviderID string    `json:"provider_id,omitempty"`

	Direction    *Direction `json:"direction,omitempty"`
	From         *string    `json:"from,omitempty"`
	To           *string    `json:"to,omitempty"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	ParentCallID *uuid.UUID `json:"parent_call_id,omitempty"`

	// The creation facts (schema version 2), set on creation only: the
	// descriptive facts a new call arrives with, which later changes record
	// as their own events (CallParticipantsChanged, CallDetailsChanged, ...).
	// A new call is one event plus its lifecycle and price, not one event
	// per kind of fact: its history reads "created with these facts", and
	// every layer (hash, store, projector) handles a third of the events.
	// Each field folds exactly as the event it stands for.
	Participants     []Participant       `json:"participants,omitempty"`
	ProviderMetadata json.RawMessage     `json:"provider_metadata,omitempty"`
	Details          *DetailsChanges     `json:"details,omitempty"`
	Routing          *CallRoutingChanged `json:"routing,omitempty"`
	Recordings       []Recording         `json:"recordings,omitempty"`
	Transcript       *Transcript         `json:"transcript,omitempty"`
	Quality          *Quality            `json:"quality,omitempty"`
}

// CallParticipantsChanged records the call's new participant list, whole.
type CallParticipantsChanged struct {
	Participants []Participant `json:"participants"`
}

// CallProviderMetadataChanged records the provider's new metadata, whole.
type CallProviderMetadataChanged struct {
	ProviderMetadata json.RawMessage `json:"provider_metadata"`
}

// CallAnswered records that the call was answered, when, and by whom or what.
type CallAnswered struct {
	AnsweredAt time.Time `json:"answered_at"`
	AnsweredBy string    `json:"answered_by,omitempty"`
	// PreviousStatus is the canonical status before; the call is in-progress after.
	PreviousStatus Status `json:"previous_status,omitempty"`
	// ProviderStatus and VoiceCallStatus are the surface's verbatim status
	// words that came with the answer; nil if they did not change.
	ProviderStatus  *string `json:"provider_status,omitempty"`
	VoiceCallStatus *string `json:"voice_call_status,omitempty"`
}

// CallStatusChanged records a move of the canonical status, or a change of a
// surface's verbatim status word without a canonical move (then Status equals
// PreviousStatus). Nil verbatim fields did not change.
//
// So an event whose Status equals its PreviousStatus is no status change:
// it says only that the provider's (or VoiceCall's) own word, or
// AnsweredBy, changed while the canonical status stayed; for example a
// provider confirming "completed" after a LaML hang-up had completed the
// call. Status still names the status the call stays in, and
// PreviousStatus is still written: an empty PreviousStatus means the call
// had no status before (a creation), and builds that check histories
// (CheckEvolve, verify) require PreviousStatus to be the call's status, so
// dropping it for this case would make older builds report sound
// histories as broken. Readers tell the two cases apart by the equality.
type CallStatusChanged struct {
	Status          Status  `json:"status"`
	PreviousStatus  Status  `json:"previous_status,omitempty"`
	ProviderStatus  *string `json:"provider_status,omitempty"`
	VoiceCallStatus *string `json:"voice_call_status,omitempty"`
	// AnsweredBy is who or what answered, when learnt after the answer
	// (LaML answered_by); nil if it did not change.
	AnsweredBy *string `json:"answered_by,omitempty"`
}

// CallPriced records the call's price. A call re-priced later has several
// CallPriced events; the latest counts.
type CallPriced struct {
	Price Price `json:"price"`
	// PreviousPrice is the price this one replaces; nil on the first pricing.
	PreviousPrice *Price `json:"previous_price,omitempty"`
}

// CallTerminated records that an in-progress call ended normally: its status
// becomes completed, with its end time and duration.
//
// EndDerived (end_derived, written only when true) says the ledger derived
// EndedAt from the duration: the answer (or start) plus it, as an upsert
// that completes a call without giving its end does (timing.go). Without
// it the end was reported: given by a client or provider, or the ledger's
// clock at a hang-up. Evolve sets Call.EndFromDuration from it; events
// written before it existed carry none and fold as reported ends, as they
// always did.
type CallTerminated struct {
	EndedAt         time.Time `json:"ended_at"`
	DurationSeconds *int64    `json:"duration_seconds,omitempty"`
	EndDerived      bool      `json:"end_derived,omitempty"`
	Status          Status    `json:"status"`
	PreviousStatus  Status    `json:"previous_status,omitempty"`
	// ProviderStatus and VoiceCallStatus are the surface's verbatim status
	// words that came with the end; nil if they did not change.
	ProviderStatus  *string `json:"provider_status,omitempty"`
	VoiceCallStatus *string `json:"voice_call_status,omitempty"`
}

// CallCanceled records that a queued or ringing call (or a new call reported
// already canceled) was canceled before it was answered.
type CallCanceled struct {
	CanceledAt     time.Time `json:"canceled_at"`
	PreviousStatus Status    `json:"previous_status,omitempty"`
	// ProviderStatus and VoiceCallStatus are the surface's verbatim status
	// words that came with the cancel; nil if they did not change.
	ProviderStatus  *string `json:"provider_status,omitempty"`
	VoiceCallStatus *string `json:"voice_call_status,omitempty"`
}

// CallTimingChanged records corrected or newly learnt times of a call that
// no lifecycle event carried (an end time reported after the status, a
// provider's billed duration). Nil fields did not change.
//
// DurationSeconds is also the duration the ledger derived again when a
// command moved the times a derived duration came from and gave none
// itself (timing.go): it is written here, in the write that moved the
// times (beside them, or alone when the start moved in a CallUpserted),
// rather than recomputed by Evolve, so that history shows the change and
// a fold of any prefix of the log agrees with what was served then.
//
// EndedAt is likewise also an end the ledger derived from the duration:
// the end of a call completed without one, or an end that followed a
// moved start, answer or duration (timing.go). EndDerived (end_derived,
// written only when true, and only beside an EndedAt) says so; an EndedAt
// without it is a reported end, and clears what an earlier end_derived
// said, even when it is the same instant (a provider confirming an end the
// ledger had derived). Evolve sets Call.EndFromDuration from it whenever
// EndedAt is set, and ignores it otherwise. Events written before it
// existed carry none and fold as reported ends, as they always did.
type CallTimingChanged struct {
	AnsweredAt      *time.Time `json:"answered_at,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	DurationSeconds *int64     `json:"duration_seconds,omitempty"`
	EndDerived      bool       `json:"end_derived,omitempty"`
}

// CallDetailsChanged records new values of some of the call's Details. Only
// the fields that changed are set; a pointer to "" clears a text field, a
// contact or caller whose members are all empty clears that object, and
// SyncedWithCRMAtCleared clears the sync date, which has no empty value.
type CallDetailsChanged struct {
	Changes DetailsChanges `json:"changes"`
}

// DetailsChanges is a partial Details: each non-nil field is a new value.
// In a command it says what to set; in an event, what was set.
type DetailsChanges struct {
	Notes                    *string    `json:"notes,omitempty"`
	Summary                  *string    `json:"summary,omitempty"`
	CallType                 *string    `json:"call_type,omitempty"`
	Contact                  *Contact   `json:"contact,omitempty"`
	Caller                   *Member    `json:"caller,omitempty"`
	Transferred              *bool      `json:"transferred,omitempty"`
	StaffID                  *string    `json:"staff_id,omitempty"`
	ClientID                 *string    `json:"client_id,omitempty"`
	HandledByStaffID         *string    `json:"handled_by_staff_id,omitempty"`
	ExternalID               *string    `json:"external_id,omitempty"`
	ExternalLink             *string    `json:"external_link,omitempty"`
	AppName                  *string    `json:"app_name,omitempty"`
	RecordingID              *string    `json:"recording_id,omitempty"`
	PhoneNumberID            *string    `json:"phone_number_id,omitempty"`
	UserProviderSID          *string    `json:"user_provider_sid,omitempty"`
	AdminProviderSID         *string    `json:"admin_provider_sid,omitempty"`
	ProviderConferenceID     *string    `json:"provider_conference_id,omitempty"`
	SequenceRunID            *string    `json:"sequence_run_id,omitempty"`
	SequenceID               *string    `json:"sequence_id,omitempty"`
	OrganizationID           *string    `json:"organization_id,omitempty"`
	OrganizationMembershipID *string    `json:"organization_membership_id,omitempty"`
	ManagedPhoneNumberID     *string    `json:"managed_phone_number_id,omitempty"`
	SyncedWithCRMAt          *time.Time `json:"synced_with_crm_at,omitempty"`
	// SyncedWithCRMAtCleared clears SyncedWithCRMAt (the call reads as never
	// synced), which no time can say: every instant is a sync date. It is
	// written only when true, never beside SyncedWithCRMAt; events written
	// before it existed carry none, and clear nothing. It is a field of
	// schema version 3: an event that carries it is written with version 3
	// (SchemaVersionOf), so that builds that do not know it refuse the
	// event rather than skip it and keep the date.
	SyncedWithCRMAtCleared bool `json:"synced_with_crm_at_cleared,omitempty"`
}

// setsAndClearsSync reports whether d (nil: none) both sets and clears the
// sync date, two things at once, which neither a command nor an event may
// say.
func (d *DetailsChanges) setsAndClearsSync() bool {
	return d != nil && d.SyncedWithCRMAt != nil && d.SyncedWithCRMAtCleared
}

// CallRecordingAdded records a new recording of the call.
type CallRecordingAdded struct {
	Recording Recording `json:"recording"`
}

// CallRecordingChanged records a new URL or content type of a recording the
// call holds, known by its Identity (its provider id, or its URL when it
// has none): providers re-issue signed URLs that expire, and a client
// sending the recording again with its new URL must not be ignored.
// Recording is the recording whole, as it now is; the recording keeps its
// place among the call's recordings and its SID.
//
// It is schema version 3 (SchemaVersionOf): a version-2 reader refuses it
// (it does not know the type either) rather than keep the old URL.
type CallRecordingChanged struct {
	Recording Recording `json:"recording"`
}

// CallTranscriptChanged records the call's new transcript, whole.
type CallTranscriptChanged struct {
	Transcript Transcript `json:"transcript"`
}

// CallRoutingChanged records new call-control settings. Only the fields that
// changed are set.
//
// Twiml and ApplicationSID (twiml, application_sid) are schema version 3:
// events written before them carry neither and fold as they always did,
// and an event that carries one is written with version 3 (SchemaVersionOf),
// so that builds that do not know them refuse it rather than fold the call
// without them.
type CallRoutingChanged struct {
	URL                  *string `json:"url,omitempty"`
	Method               *string `json:"method,omitempty"`
	FallbackURL          *string `json:"fallback_url,omitempty"`
	FallbackMethod       *string `json:"fallback_method,omitempty"`
	StatusCallback       *string `json:"status_callback,omitempty"`
	StatusCallbackMethod *string `json:"status_callback_method,omitempty"`
	Twiml                *string `json:"twiml,omitempty"`
	ApplicationSID       *string `json:"application_sid,omitempty"`
}

// CallQualityReported records the provider's audio quality figures, whole.
type CallQualityReported struct {
	Quality Quality `json:"quality"`
}

// CallDeleted records a soft delete: the call leaves lists and most
// surfaces, and keeps its history.
type CallDeleted struct {
	DeletedAt time.Time `json:"deleted_at"`
}

// EventType implementations.
func (CallUpserted) EventType() string                { return TypeCallUpserted }
func (CallParticipantsChanged) EventType() string     { return TypeCallParticipantsChanged }
func (CallProviderMetadataChanged) EventType() string { return TypeCallProviderMetadataChanged }
func (CallAnswered) EventType() string                { return TypeCallAnswered }
func (CallStatusChanged) EventType() string           { return TypeCallStatusChanged }
func (CallPriced) EventType() string                  { return TypeCallPriced }
func (CallTerminated) EventType() string              { return TypeCallTerminated }
func (CallCanceled) EventType() string                { return TypeCallCanceled }
func (CallTimingChanged) EventType() string           { return TypeCallTimingChanged }
func (CallDetailsChanged) EventType() string          { return TypeCallDetailsChanged }
func (CallRecordingAdded) EventType() string          { return TypeCallRecordingAdded }
func (CallRecordingChanged) EventType() string        { return TypeCallRecordingChanged }
func (CallTranscriptChanged) EventType() string       { return TypeCallTranscriptChanged }
func (CallRoutingChanged) EventType() string          { return TypeCallRoutingChanged }
func (CallQualityReported) EventType() string         { return TypeCallQualityReported }
func (CallDeleted) EventType() string                 { return TypeCallDeleted }

// CurrentSchemaVersion is the newest schema version, the highest this
// build reads. When an event's data shape changes, its version rises and
// UnmarshalEvent upgrades the old shape. A write is stamped with the
// version its events need (SchemaVersionOf), not always this one.
//
//   - 1: the first shapes.
//   - 2: CallUpserted with Created may carry the creation facts
//     (participants, provider metadata, details, routing, recordings,
//     transcript, quality). Version 1 data is version 2 data without them,
//     so it needs no upgrade; a version-1 reader refuses version-2 events
//     instead of silently dropping those facts.
//   - 3: routing (CallRoutingChanged, and a creation's routing) may carry
//     twiml and application_sid, and details (CallDetailsChanged, and a
//     creation's details) may carry synced_with_crm_at_cleared. Version 2
//     data is version 3 data without them, so it needs no upgrade; a
//     version-2 reader refuses the events that carry them instead of
//     folding the call without them (the routing lost, the sync date kept
//     where it was cleared), and still reads every other event this build
//     writes (version 2). CallRecordingChanged, a later event type, is
//     version 3 too: no version-2 reader knows it.
const CurrentSchemaVersion = 3

// SchemaVersionOf returns the schema version of a write of events: 3 when
// one of them carries a Twiml or ApplicationSID (routingNeedsV3), or clears
// the CRM sync date (detailsNeedV3: a version-2 reader would skip the
// clearing and so keep the date), whether in its own event or in a
// creation's facts, or is a CallRecordingChanged; 2 otherwise (every write of this build may hold
// version-2 creation facts). A write shares one metadata, so its events
// share the version; an event whose own shape is older reads the same in
// the newer version, which only adds fields.
//
// Writing only what needs version 3 as version 3 keeps the log readable by
// the builds before it wherever it can be: a build rolled back refuses the
// calls routed by TwiML or an application, or whose sync date was cleared,
// not every event written since.
func SchemaVersionOf(events []Event) int {
	for _, e := range events {
		// derefEvent turns an event given by pointer into its value (a nil
		// pointer into nil, which needs nothing).
		switch ev := derefEvent(e).(type) {
		case CallRoutingChanged:
			if routingNeedsV3(&ev) {
				return 3
			}
		case CallDetailsChanged:
			if detailsNeedV3(&ev.Changes) {
				return 3
			}
		case CallUpserted:
			if routingNeedsV3(ev.Routing) || detailsNeedV3(ev.Details) {
				return 3
			}
		case CallRecordingChanged:
			return 3
		}
	}
	return 2
}

// routingNeedsV3 reports whether routing r (nil: none) carries a field of
// schema version 3: Twiml or ApplicationSID.
func routingNeedsV3(r *CallRoutingChanged) bool {
	return r != nil && (r.Twiml != nil || r.ApplicationSID != nil)
}

// detailsNeedV3 reports whether details d (nil: none) carry a field of
// schema version 3: SyncedWithCRMAtCleared.
func detailsNeedV3(d *DetailsChanges) bool {
	return d != nil && d.SyncedWithCRMAtCleared
}

// ErrUnknownEventType is returned by UnmarshalEvent for a type name the
// domain does not know: a newer writer, or a corrupt log.
var ErrUnknownEventType = errors.New("unknown event type")

// MarshalEvent encodes an event's data as stored: by hand for the events
// every upsert writes (see appendEvent), by json.Marshal otherwise, the
// bytes alike. It is AppendEvent to nil, kept for callers that encode one
// value at a time (tests, tools); a writer appends a write's metadata and
// events into one buffer (AppendMetadata, AppendEvent).
func MarshalEvent(e Event) ([]byte, error) {
	return AppendEvent(nil, e) // nil on an error
}

// AppendEvent appends an event's data as stored, the bytes MarshalEvent
// returns, to dst and returns the extended buffer; on an error it returns
// dst as it was (its length: the bytes past it may have been written).
// A writer that encodes the several events of one write can append them
// all into one buffer, presized with EventSizeHint, rather than allocate
// one per event; each event's data is then its own subslice of it.
func AppendEvent(dst []byte, e Event) ([]byte, error) {
	if b, ok := appendEvent(dst, e); ok {
		return b, nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return dst, fmt.Errorf("marshal %s: %w", e.EventType(), err)
	}
	return append(dst, b...), nil
}

// UnmarshalEvent decodes stored event data of the given type and schema
// version (0 is read as 1).
func UnmarshalEvent(typ string, schemaVersion int, data []byte) (Event, error) {
	if schemaVersion > CurrentSchemaVersion {
		return nil, fmt.Errorf("%s: schema version %d is newer than this build knows (%d)", typ, schemaVersion, CurrentSchemaVersion)
	}
	var err error
	var e Event
	switch typ {
	case TypeCallUpserted:
		e, err = decode[CallUpserted](data)
	case TypeCallParticipantsChanged:
		e, err = decode[CallParticipantsChanged](data)
	case TypeCallProviderMetadataChanged:
		e, err = decode[CallProviderMetadataChanged](data)
	case TypeCallAnswered:
		e, err = decode[CallAnswered](data)
	case TypeCallStatusChanged:
		e, err = decode[CallStatusChanged](data)
	case TypeCallPriced:
		e, err = decode[CallPriced](data)
	case TypeCallTerminated:
		e, err = decode[CallTerminated](data)
	case TypeCallCanceled:
		e, err = decode[CallCanceled](data)
	case TypeCallTimingChanged:
		e, err = decode[CallTimingChanged](data)
	case TypeCallDetailsChanged:
		e, err = decode[CallDetailsChanged](data)
	case TypeCallRecordingAdded:
		e, err = decode[CallRecordingAdded](data)
	case TypeCallRecordingChanged:
		e, err = decode[CallRecordingChanged](data)
	case TypeCallTranscriptChanged:
		e, err = decode[CallTranscriptChanged](data)
	case TypeCallRoutingChanged:
		e, err = decode[CallRoutingChanged](data)
	case TypeCallQualityReported:
		e, err = decode[CallQualityReported](data)
	case TypeCallDeleted:
		e, err = decode[CallDeleted](data)
	default:
		return nil, fmt.Errorf("%q: %w", typ, ErrUnknownEventType)
	}
	if err != nil {
		return nil, fmt.Errorf("unmarshal %s: %w", typ, err)
	}
	return e, nil
}

func decode[E Event](data []byte) (Event, error) {
	var e E
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, err
	}
	return e, nil
}

// UnmarshalEnvelope decodes a stored event: its metadata first, whose
// schema version says how to read the data, then the data of the given
// type. Every reader of the log (the write path, time travel, history, the
// projections) decodes through it, so all of them read an event alike.
func UnmarshalEnvelope(typ string, data, metadata []byte) (Envelope, error) {
	meta, err := UnmarshalMetadata(metadata)
	if err != nil {
		return Envelope{}, err
	}
	ev, err := UnmarshalEvent(typ, meta.SchemaVersion, data)
	if err != nil {
		return Envelope{}, err
	}
	return Envelope{Event: ev, Metadata: meta}, nil
}

// metadataSizeFixed is the size of a metadata's JSON besides its strings'
// contents and its optional fields: names, quotes, punctuation, the widest
// schema version and time.
const metadataSizeFixed = len(`{"schema_version":-9223372036854775808,"account_id":"","time":"2006-01-02T15:04:05.999999999+00:00"}`)

// MetadataSizeHint returns about the length of m's stored JSON, or a
// little more: the fields it writes, its strings as written when they need
// no escaping. AppendMetadata grows its buffer by it; a writer presizing
// one buffer for a write's metadata and events adds it to their
// EventSizeHint. It counts only the optional fields m has: counting them
// all made MarshalMetadata's buffer 240 bytes for about 150.
func MetadataSizeHint(m Metadata) int {
	return metadataSizeFixed + len(m.AccountID) +
		stringFieldHint(len(`,"actor":""`), m.Actor) +
		stringFieldHint(len(`,"request_id":""`), m.RequestID) +
		stringFieldHint(len(`,"idempotency_key":""`), m.IdempotencyKey) +
		stringFieldHint(len(`,"request_fingerprint":""`), m.RequestFingerprint) +
		stringFieldHint(len(`,"surface":""`), string(m.Surface))
}

// MarshalMetadata encodes metadata as stored. It is AppendMetadata to nil,
// kept, as MarshalEvent is, for callers that encode one value at a time.
//
// Every write encodes one, so it is written by hand rather than by
// reflection; the bytes are exactly those json.Marshal writes (a test
// compares them), which it falls back on for a time it cannot format.
func MarshalMetadata(m Metadata) ([]byte, error) {
	return AppendMetadata(nil, m) // nil on an error
}

// AppendMetadata appends m's stored JSON, the bytes MarshalMetadata
// returns, to dst and returns the extended buffer; on an error it returns
// dst as it was (its length). A writer can so put a write's metadata and
// its events (AppendEvent) in one buffer.
func AppendMetadata(dst []byte, m Metadata) ([]byte, error) {
	w := jsonwrite.Writer{B: slices.Grow(dst, MetadataSizeHint(m))}
	w.Open()
	w.Key("schema_version")
	w.B = strconv.AppendInt(w.B, int64(m.SchemaVersion), 10)
	w.String("account_id", m.AccountID)
	w.StringOmitEmpty("actor", m.Actor)
	w.StringOmitEmpty("request_id", m.RequestID)
	w.StringOmitEmpty("idempotency_key", m.IdempotencyKey)
	w.StringOmitEmpty("request_fingerprint", m.RequestFingerprint)
	w.StringOmitEmpty("surface", string(m.Surface))
	w.Time("time", m.Time)
	w.Close()
	if w.Failed() {
		b, err := json.Marshal(m) // fails as json.Marshal fails
		if err != nil {
			return dst, fmt.Errorf("marshal metadata: %w", err)
		}
		return append(dst, b...), nil
	}
	return w.B, nil
}

// UnmarshalMetadata decodes stored metadata.
func UnmarshalMetadata(b []byte) (Metadata, error) {
	var m Metadata
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("unmarshal metadata: %w", err)
	}
	return m, nil
}
