package domain

import (
	"bytes"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Evolve folds one event into a state and returns the new state: the right
// half of the decider pattern. It is pure and total: it never fails and never
// panics, because the events it folds are facts already written, and a
// projection or a handler loading a stream must always get a state back.
//
// Each event adds one to Version (so Version-1 is always the stream revision
// of the last event folded, broken or not). The first event sets CreatedAt
// and every event sets UpdatedAt, both from the event's Metadata.Time in UTC.
//
// An event that cannot apply to s (anything before the CallUpserted with
// Created, a second creation, an answer of a terminal call, a move the state
// machine forbids, anything after the CallDeleted) means the history is
// corrupt or a writer has a bug: a broken invariant, never a user error.
// Evolve still folds such an event as best it can (described per event
// below) so that reading keeps working; CheckEvolve, called with the same
// arguments, reports why it is broken, and Fold does both over a history.
// That keeps Evolve's signature simple for projections and lets verify tools
// name the first broken event.
//
// Evolve never writes through a pointer or into a slice that s holds: a new
// state shares nothing mutable that the fold changed with an earlier one,
// and nothing mutable with the event.
func Evolve(s State, e Envelope) State {
	EvolveInPlace(&s, e)
	return s
}

// EvolveInPlace folds one event into *s: *s becomes Evolve(*s, e), without
// copying the State (over 800 bytes) in and out, which was most of what
// folding cost a projection rebuild, which folds every event of the log
// into states it owns. Like Evolve, it writes only the fields of *s itself,
// never through a pointer or into a slice that *s holds, so a state copied
// from *s before keeps its values.
func EvolveInPlace(s *State, e Envelope) {
	foldStep(s, derefEvent(e.Event), e.Metadata.Time, nil)
}

// foldStep folds one event e, a value (derefEvent's), appended at `at`,
// into *s: the step EvolveInPlace takes (f nil), a Folding's (f), and a
// decision's plan with no metadata (plan.fold). It keeps no reference to e
// itself, only to what e's fields hold: an event passed to it need not be
// boxed on the heap.
func foldStep(s *State, e Event, at time.Time, f *Folding) {
	stamp(s, s.Version, 1, at)
	apply(&s.Call, e, f)
}

// stamp counts n events appended at `at` onto a state that stood at
// version from: the bookkeeping of every fold, which DecideFold also does
// for a whole decision at once.
func stamp(s *State, from, n uint64, at time.Time) {
	at = at.UTC()
	if from == 0 {
		s.Call.CreatedAt = at
	}
	s.Version = from + n
	s.Call.UpdatedAt = at
}

// derefEvent turns a pointer to an event into the event value, so that
// Evolve folds &CallAnswered{...} as it folds CallAnswered{...}. A nil
// pointer becomes nil, which apply ignores.
func derefEvent(e Event) Event {
	switch ev := e.(type) {
	case *CallUpserted:
		return derefOrNil(ev)
	case *CallParticipantsChanged:
		return derefOrNil(ev)
	case *CallProviderMetadataChanged:
		return derefOrNil(ev)
	case *CallAnswered:
		return derefOrNil(ev)
	case *CallStatusChanged:
		return derefOrNil(ev)
	case *CallPriced:
		return derefOrNil(ev)
	case *CallTerminated:
		return derefOrNil(ev)
	case *CallCanceled:
		return derefOrNil(ev)
	case *CallTimingChanged:
		return derefOrNil(ev)
	case *CallDetailsChanged:
		return derefOrNil(ev)
	case *CallRecordingAdded:
		return derefOrNil(ev)
	case *CallRecordingChanged:
		return derefOrNil(ev)
	case *CallTranscriptChanged:
		return derefOrNil(ev)
	case *CallRoutingChanged:
		return derefOrNil(ev)
	case *CallQualityReported:
		return derefOrNil(ev)
	case *CallDeleted:
		return derefOrNil(ev)
	}
	return e
}

func derefOrNil[E Event](p *E) Event {
	if p == nil {
		return nil
	}
	return *p
}

// apply changes *c (which the caller owns) by one event, assigning its
// fields, never writing through the pointers or into the slices it holds,
// but for the recordings array a Folding f owns (f nil: none). Fields that
// the event leaves nil are kept. Unknown or nil events change nothing.
func apply(c *Call, e Event, f *Folding) {
	switch ev := e.(type) {
	case CallUpserted:
		// The identity is written once: a second creation (a broken
		// invariant) keeps the first identity and applies the rest.
		if c.ID == uuid.Nil {
			c.ID = ev.CallID
			c.AccountID = ev.AccountID
			c.Provider = NormalizeProvider(ev.Provider)
			c.ProviderID = ev.ProviderID
		}
		if ev.Direction != nil {
			c.Direction = *ev.Direction
		}
		if ev.From != nil {
			c.From = *ev.From
		}
		if ev.To != nil {
			c.To = *ev.To
		}
		if ev.StartedAt != nil {
			c.StartedAt = utcPtr(*ev.StartedAt)
		}
		if ev.ParentCallID != nil {
			id := *ev.ParentCallID
			c.ParentCallID = &id
		}
		applyCreationFacts(c, ev, f)

	case CallParticipantsChanged:
		c.Participants = slices.Clone(ev.Participants)

	case CallProviderMetadataChanged:
		c.ProviderMetadata = bytes.Clone(ev.ProviderMetadata)

	case CallAnswered:
		c.AnsweredAt = utcPtr(ev.AnsweredAt)
		if ev.AnsweredBy != "" {
			c.AnsweredBy = ev.AnsweredBy
		}
		c.Status = StatusInProgress
		setString(&c.ProviderStatus, ev.ProviderStatus)
		setString(&c.VoiceCallStatus, ev.VoiceCallStatus)

	case CallStatusChanged:
		if ev.Status != "" {
			c.Status = ev.Status
		}
		if ev.ProviderStatus != nil {
			c.ProviderStatus = *ev.ProviderStatus
		}
		if ev.VoiceCallStatus != nil {
			c.VoiceCallStatus = *ev.VoiceCallStatus
		}
		setString(&c.AnsweredBy, ev.AnsweredBy)

	case CallPriced:
		p := ev.Price
		c.Price = &p

	case CallTerminated:
		c.EndedAt = utcPtr(ev.EndedAt)
		c.EndFromDuration = ev.EndDerived
		if ev.DurationSeconds != nil {
			c.DurationSeconds = int64Ptr(*ev.DurationSeconds)
		}
		if ev.Status != "" {
			c.Status = ev.Status
		} else {
			c.Status = StatusCompleted
		}
		setString(&c.ProviderStatus, ev.ProviderStatus)
		setString(&c.VoiceCallStatus, ev.VoiceCallStatus)

	case CallCanceled:
		c.Status = StatusCanceled
		setString(&c.ProviderStatus, ev.ProviderStatus)
		setString(&c.VoiceCallStatus, ev.VoiceCallStatus)

	case CallTimingChanged:
		if ev.AnsweredAt != nil {
			c.AnsweredAt = utcPtr(*ev.AnsweredAt)
		}
		if ev.EndedAt != nil {
			c.EndedAt = utcPtr(*ev.EndedAt)
			c.EndFromDuration = ev.EndDerived
		}
		if ev.DurationSeconds != nil {
			c.DurationSeconds = int64Ptr(*ev.DurationSeconds)
		}

	case CallDetailsChanged:
		c.Details = applyDetails(c.Details, ev.Changes)

	case CallRecordingAdded:
		c.Recordings = f.addRecording(c.Recordings, ev.Recording)

	case CallRecordingChanged:
		c.Recordings = f.changeRecording(c.Recordings, ev.Recording)

	case CallTranscriptChanged:
		t := Transcript{Cues: slices.Clone(ev.Transcript.Cues)}
		c.Transcript = &t

	case CallRoutingChanged:
		c.Routing = applyRouting(c.Routing, ev)

	case CallQualityReported:
		c.Quality = cloneQuality(ev.Quality)

	case CallDeleted:
		// A second delete (a broken invariant) keeps the first time.
		if c.DeletedAt == nil {
			c.DeletedAt = utcPtr(ev.DeletedAt)
		}
	}
}

// applyDetails returns d with every non-nil change applied.
func applyDetails(d Details, ch DetailsChanges) Details {
	setString(&d.Notes, ch.Notes)
	setString(&d.Summary, ch.Summary)
	setString(&d.CallType, ch.CallType)
	if ch.Contact != nil {
		v := *ch.Contact
		d.Contact = &v
	}
	if ch.Caller != nil {
		v := *ch.Caller
		d.Caller = &v
	}
	if ch.Transferred != nil {
		v := *ch.Transferred
		d.Transferred = &v
	}
	setString(&d.StaffID, ch.StaffID)
	setString(&d.ClientID, ch.ClientID)
	setString(&d.HandledByStaffID, ch.HandledByStaffID)
	setString(&d.ExternalID, ch.ExternalID)
	setString(&d.ExternalLink, ch.ExternalLink)
	setString(&d.AppName, ch.AppName)
	setString(&d.RecordingID, ch.RecordingID)
	setString(&d.PhoneNumberID, ch.PhoneNumberID)
	setString(&d.UserProviderSID, ch.UserProviderSID)
	setString(&d.AdminProviderSID, ch.AdminProviderSID)
	setString(&d.ProviderConferenceID, ch.ProviderConferenceID)
	setString(&d.SequenceRunID, ch.SequenceRunID)
	setString(&d.SequenceID, ch.SequenceID)
	setString(&d.OrganizationID, ch.OrganizationID)
	setString(&d.OrganizationMembershipID, ch.OrganizationMembershipID)
	setString(&d.ManagedPhoneNumberID, ch.ManagedPhoneNumberID)
	if ch.SyncedWithCRMAtCleared {
		d.SyncedWithCRMAt = nil
	}
	if ch.SyncedWithCRMAt != nil {
		d.SyncedWithCRMAt = utcPtr(*ch.SyncedWithCRMAt)
	}
	return d
}

// applyRouting returns r with every non-nil change applied.
func applyRouting(r Routing, ch CallRoutingChanged) Routing {
	setString(&r.URL, ch.URL)
	setString(&r.Method, ch.Method)
	setString(&r.FallbackURL, ch.FallbackURL)
	setString(&r.FallbackMethod, ch.FallbackMethod)
	setString(&r.StatusCallback, ch.StatusCallback)
	setString(&r.StatusCallbackMethod, ch.StatusCallbackMethod)
	setString(&r.Twiml, ch.Twiml)
	setString(&r.ApplicationSID, ch.ApplicationSID)
	return r
}

// cloneQuality returns a deep copy of q, sharing no pointer with it.
func cloneQuality(q Quality) *Quality {
	out := Quality{SIPResultCode: q.SIPResultCode}
	out.AudioInMOS = clonePtr(q.AudioInMOS)
	out.AudioRTTAvgMs = clonePtr(q.AudioRTTAvgMs)
	out.AudioRTTMinMs = clonePtr(q.AudioRTTMinMs)
	out.AudioRTTMaxMs = clonePtr(q.AudioRTTMaxMs)
	out.AudioOutJitterMinMs = clonePtr(q.AudioOutJitterMinMs)
	out.AudioOutJitterMaxMs = clonePtr(q.AudioOutJitterMaxMs)
	out.AudioOutJitterAvgMs = clonePtr(q.AudioOutJitterAvgMs)
	out.AudioOutLostPackets = clonePtr(q.AudioOutLostPackets)
	return &out
}

func setString(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func utcPtr(t time.Time) *time.Time {
	u := t.UTC()
	return &u
}

func int64Ptr(v int64) *int64 { return &v }

// applyCreationFacts folds the creation facts a CallUpserted carries, each
// exactly as the event it stands for would.
func applyCreationFacts(c *Call, ev CallUpserted, f *Folding) {
	if ev.Participants != nil {
		apply(c, CallParticipantsChanged{Participants: ev.Participants}, f)
	}
	if ev.ProviderMetadata != nil {
		apply(c, CallProviderMetadataChanged{ProviderMetadata: ev.ProviderMetadata}, f)
	}
	if ev.Details != nil {
		apply(c, CallDetailsChanged{Changes: *ev.Details}, f)
	}
	if ev.Routing != nil {
		apply(c, *ev.Routing, f)
	}
	if ev.Recordings != nil {
		c.Recordings = slices.Concat(c.Recordings, ev.Recordings)
	}
	if ev.Transcript != nil {
		apply(c, CallTranscriptChanged{Transcript: *ev.Transcript}, f)
	}
	if ev.Quality != nil {
		apply(c, CallQualityReported{Quality: *ev.Quality}, f)
	}
}
