package domain

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"time"

	"github.com/callledger/callledger/domain/jsonscan"
)

// decideUpsert decides an UpsertCall. It emits one event per kind of change,
// in the order a history reads best:
//
//  1. CallUpserted: the creation (Created), or changed core facts
//     (direction, from, to, start, parent call);
//  2. on an existing call: CallParticipantsChanged (a change of from or to
//     changes the caller or callee too, and the other way round: see
//     reconcileAddresses), CallProviderMetadataChanged,
//     CallDetailsChanged, CallRoutingChanged, CallRecordingAdded (one per
//     new recording) and CallRecordingChanged (one per recording sent
//     with a new URL or content type), CallTranscriptChanged,
//     CallQualityReported;
//  3. the lifecycle: CallAnswered before CallTerminated, or CallCanceled, or
//     CallStatusChanged (see decideLifecycle);
//  4. CallTimingChanged for times no lifecycle event carried, for the
//     duration or end that follows what the command moves (see
//     followTimes and the rule on times in timing.go), and for the end
//     of a call completed without one;
//  5. CallPriced.
//
// A creation carries the facts of step 2 inside its CallUpserted (see
// withCreationFacts): a new call is its creation, its lifecycle and its
// price.
//
// Each change is found by comparing with the call as the events so far
// leave it (Decimals with Identical, times with Equal), so a command that
// changes nothing emits nothing.
//
// It decides into p, a zero plan: p.events are the events, and p.s is s
// with them folded in (by the plan, as it decides, with no metadata: see
// DecideFold). It only reads s; c is the decision's own copy of the
// command, which it normalizes and fills in. The state, the command and
// the plan are passed by pointer, and the plan's methods read the command
// and the call through pointers: copying them by value (848, 552 and over
// a thousand bytes) into each call and out of it was some twenty copies
// of every upsert.
func decideUpsert(p *plan, s *State, c *UpsertCall) *Error {
	if err := checkIdentity(c.CallID, c.AccountID, c.Now); err != nil {
		return err
	}
	if err := checkUpsertFields(c); err != nil {
		return err
	}
	metadataCopied := normalizeUpsert(c)
	// Which times the client sent, before checkCreation and followTimes
	// fill in others: an order error names one of these (checkOrder).
	sent := givenTimes(c)
	// s.Exists(), written out: Exists has a value receiver (it is
	// exported so, and State's other methods too), and calling it on *s
	// copied the whole State, over 800 bytes, into its receiver, even
	// inlined.
	exists := s.Version > 0
	switch {
	case exists && s.Call.AccountID != c.AccountID:
		return Errorf(ErrNotFound, "call_id", "call %s not found", c.CallID)
	case exists && s.Call.ID != c.CallID:
		return invalid("call_id", "command for call %s decided on call %s", c.CallID, s.Call.ID)
	case exists && s.Call.Deleted():
		return Errorf(ErrConflict, "call_id", "call %s is deleted", c.CallID)
	case exists && c.Mode == UpsertCreate:
		return Errorf(ErrConflict, "provider_id", "a call with this provider id already exists (%s)", s.Call.ID)
	case !exists && c.Mode == UpsertUpdate:
		return Errorf(ErrNotFound, "call_id", "call %s not found", c.CallID)
	case exists && c.Provider != "" && c.Provider != s.Call.Provider:
		return Errorf(ErrConflict, "provider", "the call's provider is %q, not %q", s.Call.Provider, c.Provider)
	case exists && c.ProviderID != "" && c.ProviderID != s.Call.ProviderID:
		return Errorf(ErrConflict, "provider_id", "the call's provider id is %q, not %q", s.Call.ProviderID, c.ProviderID)
	}
	if !exists {
		if err := checkCreation(c); err != nil {
			return err
		}
	} else {
		adoptEchoedTimes(&s.Call, c)
	}
	// The write's recordings are found among the call's once, for the
	// check and the plan (the call's recordings do not change between).
	held := findHeldRecordings(s.Call.Recordings, c.Recordings)
	if err := checkNewRecordings(held, c); err != nil {
		return err
	}
	if err := reconcileAddresses(&s.Call, c); err != nil {
		return err
	}
	// endFollowed says that c.EndedAt is an end followTimes derived from
	// the duration, not one the client gave: the events that write it
	// say so (end_derived). Filled in before the order check, which
	// judges the times as they will stand (a followed end included), and
	// before the plan, so that the lifecycle and timing events carry what
	// follows as if the command gave it. A new call has no times to follow.
	endFollowed := followTimes(&s.Call, c)
	if err := checkUpsertOrder(&s.Call, c, sent); err != nil {
		return err
	}
	if err := checkDurationEnd(&s.Call, c, sent); err != nil {
		return err
	}
	// Whether the metadata changes is decided once: the bounds and the
	// event both follow it.
	metadataChanged := c.ProviderMetadata != nil && !sameJSON(c.ProviderMetadata, s.Call.ProviderMetadata)
	if metadataChanged {
		if err := checkMetadataBounds(c.ProviderMetadata); err != nil {
			return err
		}
	}

	// A provider status is shown by every surface and listed: a control
	// character, a line break or a bidi override, or a body's worth of
	// text, took. Only a status that changes is checked, as below.
	if ps := c.ProviderStatus; ps != nil && *ps != s.Call.ProviderStatus {
		if len(*ps) > ProviderStatusBytesMax {
			return invalid("provider_status", "must be at most %d bytes, got %d", ProviderStatusBytesMax, len(*ps))
		}
		if !printableText(*ps) {
			return invalid("provider_status", "%q must be printable text (no control characters, tabs or line breaks)", *ps)
		}
	}
	// An external link is a page about the call that a UI shows as a
	// link: "javascript:..." or a bare word took. Only a link that changes
	// is checked: one stored before the check is resent as it is by
	// clients that send whole bodies. "" clears it.
	if l := c.Details.ExternalLink; l != nil && *l != "" && *l != s.Call.Details.ExternalLink {
		if err := checkURL("details.external_link", *l); err != nil {
			return err
		}
	}

	p.s, p.endFollowed = *s, endFollowed
	p.core(c, exists)
	p.participants(c)
	p.metadata(c, metadataChanged, metadataCopied)
	p.details(c)
	p.routing(c)
	p.recordings(c, held)
	p.transcript(c)
	p.quality(c)
	p.lifecycle(c)
	p.timing(c, s.Call.Status)
	if err := checkLiveEnd(&s.Call, &p.s.Call); err != nil {
		return err
	}
	if c.Price != nil {
		if e, ok := priceChange(&p.s.Call, *c.Price); ok {
			p.emit(e)
		}
	}
	if p.creating {
		p.events[0] = p.created
	}
	return nil
}

// plan collects the events of one decision and folds each into a working
// state, so that every later comparison sees the call as it will stand.
//
// A creation carries the facts that follow it (participants, provider
// metadata, details, routing, recordings, transcript, quality) inside its
// CallUpserted, where schema version 2 puts them; the lifecycle, timing
// and price events stay their own. The plan folds each fact as the event
// it stands for and merges it into the creation as it finds it (fact),
// which folds to the same call: it used to emit the fact events and merge
// them afterwards, boxing each into an Event only to unbox it again, and
// the creation twice (four to six allocations of every new call).
type plan struct {
	s      State
	events []Event
	// endFollowed says that the command's EndedAt was derived from the
	// duration by followTimes rather than given (see decideUpsert).
	endFollowed bool
	// creating says that the plan decides a new call: created is the
	// creation with the facts found so far, and events[0] its slot,
	// filled once the plan is done.
	creating bool
	created  CallUpserted
}

// planEventsCap is the capacity of a plan's events, allocated at the first
// event: the events of a new call answered and completed in one upsert
// and then priced (its creation, CallAnswered, CallTerminated,
// CallTimingChanged, CallPriced) fit without growing the slice, which
// appending from nil grew three times for them.
const planEventsCap = 6

func (p *plan) emit(e Event) {
	if p.events == nil {
		p.events = make([]Event, 0, planEventsCap)
	}
	p.events = append(p.events, e)
	EvolveInPlace(&p.s, Envelope{Event: e})
}

// fold folds e into the working state as emit does, EvolveInPlace with
// no metadata, but keeps no reference to e: EvolveInPlace's Envelope
// escapes, so an event passed to it is boxed on the heap, and an event
// that is not emitted (a creation's fact, the creation until it is done)
// need not be. It takes the step EvolveInPlace takes (foldStep), without
// derefEvent: the plan's events are values.
func (p *plan) fold(e Event) {
	foldStep(&p.s, e, time.Time{}, nil)
}

// addFact adds e, one of the fact events a creation carries: on a
// creation it folds e and merges it into the creation (fact), otherwise it
// emits it. It takes e as its own type, not as an Event, so that e is
// boxed into an Event on the heap only in the branch that emits it: fact's
// Event does not escape, and stays on the stack.
func addFact[E Event](p *plan, e E) {
	if p.creating {
		p.fact(e)
	} else {
		p.emit(e)
	}
}

// fact folds e, one of the fact events a creation carries, and merges it
// into the creation (see addFact).
func (p *plan) fact(e Event) {
	p.fold(e)
	switch ev := e.(type) {
	case CallParticipantsChanged:
		p.created.Participants = ev.Participants
	case CallProviderMetadataChanged:
		p.created.ProviderMetadata = ev.ProviderMetadata
	case CallDetailsChanged:
		d := ev.Changes
		p.created.Details = &d
	case CallRoutingChanged:
		r := ev
		p.created.Routing = &r
	case CallRecordingAdded:
		p.created.Recordings = append(p.created.Recordings, ev.Recording)
	case CallTranscriptChanged:
		t := ev.Transcript
		p.created.Transcript = &t
	case CallQualityReported:
		q := ev.Quality
		p.created.Quality = &q
	}
}

// normalizeUpsert puts times in UTC, the provider in its canonical
// spelling and the provider metadata in compact JSON, and reports whether
// compacting the metadata copied it (compactJSON). c must have passed
// checkUpsertFields: compactJSON relies on checkMetadata.
func normalizeUpsert(c *UpsertCall) (metadataCopied bool) {
	for _, t := range []**time.Time{&c.StartedAt, &c.AnsweredAt, &c.EndedAt, &c.Details.SyncedWithCRMAt} {
		// A time already in UTC (as decoders give them) is kept, not
		// copied: the command is not changed through it, and the state
		// takes its own copy when it folds the events.
		if *t != nil && (**t).Location() != time.UTC {
			*t = utcPtr(**t)
		}
	}
	c.Provider = NormalizeProvider(c.Provider)
	c.ProviderMetadata, metadataCopied = compactJSON(c.ProviderMetadata)
	return metadataCopied
}

// compactJSON returns m without insignificant space: the form the event
// codec stores it in (encoding/json compacts a RawMessage), so that an
// event reads back exactly as it was decided. Metadata already compact,
// as clients send it, is returned as it is, not copied: plan.metadata
// clones what the events keep, and nothing else keeps m. copied says that
// the result is a copy, compacted (m held insignificant space), which
// only the decision holds: plan.metadata keeps it without cloning it.
//
// m must have passed checkMetadata, as decideUpsert's checkUpsertFields
// makes sure before it normalizes: it is valid JSON, which
// jsonscan.CompactValidated compacts without validating it again (a scan
// of it as long as the validation's, on every upsert that carries
// metadata).
func compactJSON(m json.RawMessage) (compact json.RawMessage, copied bool) {
	if m == nil {
		return m, false
	}
	// CompactValidated returns m itself unless it drops a byte.
	compact = jsonscan.CompactValidated(m)
	return compact, len(compact) != len(m)
}

// ProviderBytesMax and ProviderIDBytesMax bound a new call's provider name
// and provider id, in bytes: far beyond any provider's (a Twilio sid is 34
// characters, a UUID 36), so that the key every write of the call repeats
// cannot carry a body's worth of bytes into its events, views and lists.
// They are checked when a call is created (checkCreation), and a new
// recording's provider id when it is added (checkNewRecordings): a call or
// recording the ledger holds already names itself as it was created.
const (
	ProviderBytesMax   = 64
	ProviderIDBytesMax = 256
)

// ProviderStatusBytesMax bounds a provider status word in bytes: far
// beyond any provider's ("no-answer", "CALL_COMPLETED"), so that a write
// cannot carry a body's worth of text into a field every view shows.
const ProviderStatusBytesMax = 64

// checkCreation checks what a creation requires and fills the default
// start: Now, or the earliest time given if earlier. (From, To and the
// participants are filled from each other by reconcileAddresses, on a
// creation as on an update.)
func checkCreation(c *UpsertCall) *Error {
	switch {
	case c.Provider == "":
		return invalid("provider", "is required to create a call")
	case c.ProviderID == "":
		return invalid("provider_id", "is required to create a call")
	case len(c.Provider) > ProviderBytesMax:
		return invalid("provider", "must be at most %d bytes, got %d", ProviderBytesMax, len(c.Provider))
	case len(c.ProviderID) > ProviderIDBytesMax:
		return invalid("provider_id", "must be at most %d bytes, got %d", ProviderIDBytesMax, len(c.ProviderID))
	case !printableText(c.Provider):
		// A provider is a name shown in lists, tables and billing's
		// groups: a line break or an escape sequence in it would forge
		// rows of an operator's report or drive the terminal showing it.
		return invalid("provider", "%q must be printable text (no control characters, tabs or line breaks)", c.Provider)
	case !printableText(c.ProviderID):
		// So is a provider id, which names the call in lists and CSVs
		// (a NUL, a line break or a bidi override took, where no
		// provider's id holds one). A call that holds one already, made
		// before this check, is still found by it.
		return invalid("provider_id", "%q must be printable text (no control characters, tabs or line breaks)", c.ProviderID)
	case c.Direction == nil:
		return invalid("direction", "is required to create a call")
	}
	if c.StartedAt == nil {
		start := c.Now.UTC()
		for _, t := range []*time.Time{c.AnsweredAt, c.EndedAt} {
			if t != nil && t.Before(start) {
				start = *t
			}
		}
		c.StartedAt = &start
	}
	return nil
}

// checkUpsertOrder checks the order of the times as they will stand. sent
// (givenTimes of the command as the client sent it) says which times the
// client sent, so that a start or answer moved past a stored time is
// refused naming the field sent. It only reads call and c.
func checkUpsertOrder(call *Call, c *UpsertCall, sent timeSet) *Error {
	return checkOrder(pick(c.StartedAt, call.StartedAt), pick(c.AnsweredAt, call.AnsweredAt), pick(c.EndedAt, call.EndedAt), givenTimes(c), sent)
}

// checkLiveEnd refuses an upsert that leaves call, as the plan made it
// (was: as it stood), live (queued, ringing or in progress) with an end it
// did not have: the status the write gives (provider_status "in-progress",
// a word the ledger knows, which wins over the times) says the call goes
// on, and the end it gives says it is over. Which is true is the client's
// to say: taking the end would record a status nobody sent, and keeping
// both showed a call in progress with an end time (on LaML, a duration of
// 0) that billing and the auditors would read as still going. A call
// already so, written before this check, may be written again as it is.
func checkLiveEnd(was, call *Call) *Error {
	if call.EndedAt == nil || call.Status.Terminal() {
		return nil
	}
	if was.Status == call.Status && sameTime(was.EndedAt, call.EndedAt) {
		return nil
	}
	return invalid("ended_at", "a call that has ended is completed, busy, failed, no-answer or canceled, and this one would be %s: send the status it ended with, or no end", call.Status)
}

// checkDurationEnd refuses a duration the ledger could not turn into an
// end: the call's answer (or, never answered, its start), as they will
// stand, plus the duration as it will stand (the one c gives, else the
// call's), past the last time a stored event can hold (year 9999). Whether
// the call is over yet or not: a completion reported without an end (a
// VoiceCall status, a Moonbase "completed" without end_at) ends the call at
// that sum (completionEnd), and would otherwise silently leave it without
// an end.
//
// It checks when c gives a duration, and when c moves the time the
// duration counts from (the answer, or the start of a call never
// answered): a Moonbase upsert that moves start_at from the year 1 to 2025
// on a call with a duration of 3e11 seconds makes a stored duration that
// ended in the year 9507 end past 9999. The error names duration_seconds
// when c gives a duration, and otherwise the time the client sent (sent:
// givenTimes of the command as sent), so that a surface without a duration
// field (Moonbase) points at a field of its own body; the message names
// both. checkDurationSeconds has bounded a duration given already; a call
// with no start or answer known (none is created without a start) has
// nothing to add it to. It only reads call and c.
func checkDurationEnd(call *Call, c *UpsertCall, sent timeSet) *Error {
	answered := pick(c.AnsweredAt, call.AnsweredAt)
	from := durationFrom(answered, pick(c.StartedAt, call.StartedAt))
	moved := !sameTime(from, durationFrom(call.AnsweredAt, call.StartedAt))
	if c.DurationSeconds == nil && !moved {
		return nil
	}
	duration := pick(c.DurationSeconds, call.DurationSeconds)
	if from == nil || duration == nil {
		return nil
	}
	if _, ok := addSeconds(*from, *duration); ok {
		return nil
	}
	noun, field, fromTime := "start", "started_at", timeStarted
	if answered != nil {
		noun, field, fromTime = "answer", "answered_at", timeAnswered
	}
	if c.DurationSeconds == nil && sent&fromTime != 0 {
		return movedPastDuration(field, noun, *from, *duration)
	}
	return invalid("duration_seconds", "%d seconds from the call's %s %s end past the year 9999, the last the ledger stores",
		*duration, noun, from.Format(time.RFC3339Nano))
}

// movedPastDuration is the error for a time a command moves (field, the
// noun of the time) to where the call's stored duration from it ends past
// the year 9999: checkDurationEnd's, and decideAnswer's for an answer.
func movedPastDuration(field, noun string, from time.Time, duration int64) *Error {
	return invalid(field, "the call's %s %s plus its duration of %d seconds ends past the year 9999, the last the ledger stores",
		noun, from.Format(time.RFC3339Nano), duration)
}

// givenTimes returns the set of times (start, answer, end) c gives.
func givenTimes(c *UpsertCall) timeSet {
	var given timeSet
	if c.StartedAt != nil {
		given |= timeStarted
	}
	if c.AnsweredAt != nil {
		given |= timeAnswered
	}
	if c.EndedAt != nil {
		given |= timeEnded
	}
	return given
}

// core emits CallUpserted: the creation, or the core facts that changed.
func (p *plan) core(c *UpsertCall, exists bool) {
	call := &p.s.Call
	if !exists {
		// Boxed into its slot, events[0], once the facts are merged.
		p.creating = true
		p.created = CallUpserted{
			Created: true, CallID: c.CallID, AccountID: c.AccountID,
			Provider: c.Provider, ProviderID: c.ProviderID,
			Direction: clonePtr(c.Direction), From: clonePtr(c.From), To: clonePtr(c.To),
			StartedAt: clonePtr(c.StartedAt), ParentCallID: clonePtr(c.ParentCallID),
		}
		p.events = append(make([]Event, 0, planEventsCap), nil)
		p.fold(p.created)
		return
	}
	e := CallUpserted{CallID: call.ID}
	changed := false
	if c.Direction != nil && *c.Direction != call.Direction {
		e.Direction, changed = clonePtr(c.Direction), true
	}
	if changesAddress(c.From, call.From) {
		e.From, changed = clonePtr(c.From), true
	}
	if changesAddress(c.To, call.To) {
		e.To, changed = clonePtr(c.To), true
	}
	if c.StartedAt != nil && !sameTime(c.StartedAt, call.StartedAt) {
		e.StartedAt, changed = clonePtr(c.StartedAt), true
	}
	if c.ParentCallID != nil && (call.ParentCallID == nil || *call.ParentCallID != *c.ParentCallID) {
		e.ParentCallID, changed = clonePtr(c.ParentCallID), true
	}
	if changed {
		p.emit(e)
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func (p *plan) participants(c *UpsertCall) {
	if c.Participants == nil {
		return
	}
	call := &p.s.Call
	ps := make([]Participant, len(c.Participants))
	for i, sp := range c.Participants {
		ps[i] = Participant{
			ID:       ParticipantID(call.ID, sp.Role, sp.Phone),
			Role:     sp.Role,
			Phone:    sp.Phone,
			PersonID: PersonID(call.AccountID, sp.Phone),
		}
	}
	if slices.Equal(ps, call.Participants) {
		return
	}
	addFact(p, CallParticipantsChanged{Participants: ps})
}

// metadata emits the provider metadata if it changed (decideUpsert has
// compared it with the call's: sameJSON), as bytes of the event's own: the
// command's may be a slice of a request body, which compactJSON does not
// copy when it is already compact. copied says that compactJSON did copy
// it (the metadata was sent with spaces, as the seed's body has it): that
// copy is the decision's own, and cloning it again cost every such upsert
// an allocation of the metadata's size.
func (p *plan) metadata(c *UpsertCall, changed, copied bool) {
	if !changed {
		return
	}
	m := c.ProviderMetadata
	if !copied {
		m = bytes.Clone(m)
	}
	addFact(p, CallProviderMetadataChanged{ProviderMetadata: m})
}

// sameJSON reports whether a and b are the same JSON value: key order and
// spacing do not matter, numbers compare as written ("1.0" is not "1").
func sameJSON(a, b json.RawMessage) bool {
	if b == nil {
		return false
	}
	if bytes.Equal(a, b) {
		return true // the usual resend: both sides compact, byte for byte
	}
	va, okA := decodeJSON(a)
	vb, okB := decodeJSON(b)
	if !okA || !okB {
		return false // unequal bytes (above), and not both JSON to compare
	}
	return reflect.DeepEqual(va, vb)
}

func decodeJSON(m json.RawMessage) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(m))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

func (p *plan) details(c *UpsertCall) {
	d := &p.s.Call.Details
	ch := c.Details
	var out DetailsChanges
	changed := false
	str := func(dst **string, given *string, have string) {
		if given != nil && *given != have {
			*dst, changed = clonePtr(given), true
		}
	}
	str(&out.Notes, ch.Notes, d.Notes)
	str(&out.Summary, ch.Summary, d.Summary)
	str(&out.CallType, ch.CallType, d.CallType)
	if ch.Contact != nil && (d.Contact == nil || *d.Contact != *ch.Contact) {
		out.Contact, changed = clonePtr(ch.Contact), true
	}
	if ch.Caller != nil && (d.Caller == nil || *d.Caller != *ch.Caller) {
		out.Caller, changed = clonePtr(ch.Caller), true
	}
	if ch.Transferred != nil && (d.Transferred == nil || *d.Transferred != *ch.Transferred) {
		out.Transferred, changed = clonePtr(ch.Transferred), true
	}
	str(&out.StaffID, ch.StaffID, d.StaffID)
	str(&out.ClientID, ch.ClientID, d.ClientID)
	str(&out.HandledByStaffID, ch.HandledByStaffID, d.HandledByStaffID)
	str(&out.ExternalID, ch.ExternalID, d.ExternalID)
	str(&out.ExternalLink, ch.ExternalLink, d.ExternalLink)
	str(&out.AppName, ch.AppName, d.AppName)
	str(&out.RecordingID, ch.RecordingID, d.RecordingID)
	str(&out.PhoneNumberID, ch.PhoneNumberID, d.PhoneNumberID)
	str(&out.UserProviderSID, ch.UserProviderSID, d.UserProviderSID)
	str(&out.AdminProviderSID, ch.AdminProviderSID, d.AdminProviderSID)
	str(&out.ProviderConferenceID, ch.ProviderConferenceID, d.ProviderConferenceID)
	str(&out.SequenceRunID, ch.SequenceRunID, d.SequenceRunID)
	str(&out.SequenceID, ch.SequenceID, d.SequenceID)
	str(&out.OrganizationID, ch.OrganizationID, d.OrganizationID)
	str(&out.OrganizationMembershipID, ch.OrganizationMembershipID, d.OrganizationMembershipID)
	str(&out.ManagedPhoneNumberID, ch.ManagedPhoneNumberID, d.ManagedPhoneNumberID)
	if ch.SyncedWithCRMAt != nil && !sameTime(ch.SyncedWithCRMAt, d.SyncedWithCRMAt) {
		out.SyncedWithCRMAt, changed = clonePtr(ch.SyncedWithCRMAt), true
	}
	if ch.SyncedWithCRMAtCleared && d.SyncedWithCRMAt != nil {
		out.SyncedWithCRMAtCleared, changed = true, true
	}
	if changed {
		addFact(p, CallDetailsChanged{Changes: out})
	}
}

func (p *plan) routing(c *UpsertCall) {
	r := &p.s.Call.Routing
	ch := c.Routing
	var out CallRoutingChanged
	changed := false
	str := func(dst **string, given *string, have string) {
		if given != nil && *given != have {
			*dst, changed = clonePtr(given), true
		}
	}
	str(&out.URL, ch.URL, r.URL)
	str(&out.Method, ch.Method, r.Method)
	str(&out.FallbackURL, ch.FallbackURL, r.FallbackURL)
	str(&out.FallbackMethod, ch.FallbackMethod, r.FallbackMethod)
	str(&out.StatusCallback, ch.StatusCallback, r.StatusCallback)
	str(&out.StatusCallbackMethod, ch.StatusCallbackMethod, r.StatusCallbackMethod)
	str(&out.Twiml, ch.Twiml, r.Twiml)
	str(&out.ApplicationSID, ch.ApplicationSID, r.ApplicationSID)
	if changed {
		addFact(p, out)
	}
}

// recordings adds each recording the call does not have yet, and changes
// each one it has with another URL or content type (a provider's signed
// URL re-issued). A recording is known by its ProviderID, or by its URL
// when it has none; one sent again as it is changes nothing. held finds
// them among the call's recordings as the write found them
// (checkNewRecordings).
func (p *plan) recordings(c *UpsertCall, held heldRecordings) {
	for _, r := range c.Recordings {
		i := held.index(r)
		switch {
		case i < 0:
			addFact(p, CallRecordingAdded{Recording: r})
		case held.held[i] != r:
			addFact(p, CallRecordingChanged{Recording: r})
		}
	}
}

// sameRecording reports whether a and b are one recording: whether their
// Identity is equal, without building it.
func sameRecording(a, b Recording) bool {
	aKind, aValue := a.identityParts()
	bKind, bValue := b.identityParts()
	return aKind == bKind && aValue == bValue
}

// recordingIndex is the index in rs of the recording that is r
// (sameRecording), or -1 when rs does not hold it.
func recordingIndex(rs []Recording, r Recording) int {
	return slices.IndexFunc(rs, func(h Recording) bool { return sameRecording(h, r) })
}

func (p *plan) transcript(c *UpsertCall) {
	if c.Transcript == nil {
		return
	}
	have := p.s.Call.Transcript
	if have != nil && slices.EqualFunc(have.Cues, c.Transcript.Cues, sameCue) {
		return
	}
	addFact(p, CallTranscriptChanged{Transcript: Transcript{Cues: slices.Clone(c.Transcript.Cues)}})
}

func sameCue(a, b TranscriptCue) bool {
	return a.From.Identical(b.From) && a.To.Identical(b.To) && a.Speaker == b.Speaker && a.Text == b.Text
}

func (p *plan) quality(c *UpsertCall) {
	if c.Quality == nil {
		return
	}
	if have := p.s.Call.Quality; have != nil && sameQuality(*have, *c.Quality) {
		return
	}
	addFact(p, CallQualityReported{Quality: *cloneQuality(*c.Quality)})
}

func sameQuality(a, b Quality) bool {
	mos := (a.AudioInMOS == nil) == (b.AudioInMOS == nil) &&
		(a.AudioInMOS == nil || a.AudioInMOS.Identical(*b.AudioInMOS))
	eq := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return mos && a.SIPResultCode == b.SIPResultCode &&
		eq(a.AudioRTTAvgMs, b.AudioRTTAvgMs) && eq(a.AudioRTTMinMs, b.AudioRTTMinMs) &&
		eq(a.AudioRTTMaxMs, b.AudioRTTMaxMs) && eq(a.AudioOutJitterMinMs, b.AudioOutJitterMinMs) &&
		eq(a.AudioOutJitterMaxMs, b.AudioOutJitterMaxMs) && eq(a.AudioOutJitterAvgMs, b.AudioOutJitterAvgMs) &&
		eq(a.AudioOutLostPackets, b.AudioOutLostPackets)
}

// timing emits CallTimingChanged for the given times that differ from the
// call as the lifecycle events left it (the duration or end followTimes
// filled in among them, an end it filled in marked end_derived). An end
// given that equals an end the ledger derived is written again, without
// end_derived: it is reported now (timing.go). A call the lifecycle
// completed without an end (never answered: a CallStatusChanged, which
// carries no end) and without an end given gets completionEnd, as
// terminated would give it, marked end_derived: so a VoiceCall POST and
// PUT of the same status agree. A completed call that gets an end and
// has no duration, given or recorded, gets the duration its times give
// (its answer, or start, to the end) in the same event, as terminated
// derives one: a call completed without an answer (a voicemail) is as
// long on every surface and in billing as its times say. was is the
// call's status before the command.
func (p *plan) timing(c *UpsertCall, was Status) {
	call := &p.s.Call
	var e CallTimingChanged
	changed := false
	if c.AnsweredAt != nil && !sameTime(c.AnsweredAt, call.AnsweredAt) {
		e.AnsweredAt, changed = clonePtr(c.AnsweredAt), true
	}
	if c.EndedAt != nil && (!sameTime(c.EndedAt, call.EndedAt) || call.EndFromDuration != p.endFollowed) {
		e.EndedAt, e.EndDerived, changed = clonePtr(c.EndedAt), p.endFollowed, true
	}
	if c.EndedAt == nil && call.EndedAt == nil && call.Status == StatusCompleted && was != StatusCompleted {
		dur := pick(c.DurationSeconds, call.DurationSeconds)
		if end, ok := completionEnd(durationFrom(pick(c.AnsweredAt, call.AnsweredAt), call.StartedAt), dur); ok {
			e.EndedAt, e.EndDerived, changed = &end, true, true
		}
	}
	if c.DurationSeconds != nil && (call.DurationSeconds == nil || *call.DurationSeconds != *c.DurationSeconds) {
		e.DurationSeconds, changed = clonePtr(c.DurationSeconds), true
	}
	if e.EndedAt != nil && e.DurationSeconds == nil && call.DurationSeconds == nil && call.Status == StatusCompleted {
		// A completed call that gets its end with no duration known (one
		// completed before its answer, a voicemail, whose end comes with
		// the status or later) is as long as its times say: the duration
		// a call terminated in progress gets (endingDuration), none being
		// given or recorded.
		e.DurationSeconds = endingDuration(c.DurationSeconds, call.DurationSeconds,
			durationFrom(pick(c.AnsweredAt, call.AnsweredAt), call.StartedAt), *e.EndedAt)
	}
	if changed {
		p.emit(e)
	}
}
