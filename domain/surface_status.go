package domain

import "strings"

// Each surface speaks its own status words. The functions below map them
// onto the canonical Status (Parse...) and back (...Word; for Moonbase,
// MoonbaseProviderStatus), one pair per surface vocabulary, so that the API
// never holds a mapping of its own. The surface's word is kept verbatim
// beside the canonical status on the Call (ProviderStatus,
// VoiceCallStatus); MoonbaseProviderStatus and VoiceCallStatusWord show it
// while it is current and fall back to the nearest word for the call's
// status once another surface has moved the call past it.

// ParseMoonbaseStatus maps a Moonbase provider_status (free text from the
// provider) onto a canonical status. Case, surrounding space and the
// separators "_", " " and "-" do not matter. It returns false for a word it
// does not know: the upsert then keeps the word verbatim and derives the
// canonical status from the times when it can.
func ParseMoonbaseStatus(word string) (Status, bool) {
	w := strings.Map(hyphenate, strings.ToLower(strings.TrimSpace(word)))
	switch w {
	case "queued", "initiated", "created", "pending":
		return StatusQueued, true
	case "ringing":
		return StatusRinging, true
	case "in-progress", "inprogress", "answered", "active", "ongoing", "connected":
		return StatusInProgress, true
	case "completed", "complete", "ended", "finished", "voicemail":
		return StatusCompleted, true
	case "busy":
		return StatusBusy, true
	case "failed":
		return StatusFailed, true
	case "no-answer", "noanswer", "missed", "unanswered", "abandoned":
		return StatusNoAnswer, true
	case "canceled", "cancelled":
		return StatusCanceled, true
	}
	return "", false
}

// hyphenate maps the separators of a status word to "-". strings.Map with it
// allocates only when the word has one to change.
func hyphenate(r rune) rune {
	if r == '_' || r == ' ' {
		return '-'
	}
	return r
}

// moonbaseStatusWord is the provider_status the Moonbase surface shows for
// a call whose verbatim provider status is not current (or absent): the
// canonical word. Only MoonbaseProviderStatus, which decides that, uses it.
func moonbaseStatusWord(s Status) string { return string(shownStatus(s)) }

// MoonbaseProviderStatus is the provider_status the Moonbase surface shows
// for c, which its contract calls "the current status of the call": the
// provider's own word, verbatim, while it says what the call's status is;
// the canonical word once the call has moved past it. The provider's word
// stops being current when another surface changes the status (a LaML
// hang-up ends a call the provider last reported in progress) or when the
// provider's late update was not applied because it would have moved the
// call backwards (a "ringing" after "completed"). A word the ledger does not
// know (ParseMoonbaseStatus) cannot be compared and is shown as it came;
// the word itself is kept on the call and in its history either way.
func MoonbaseProviderStatus(c *Call) string {
	if c.ProviderStatus != "" {
		if st, ok := ParseMoonbaseStatus(c.ProviderStatus); !ok || st == shownStatus(c.Status) {
			return c.ProviderStatus
		}
	}
	return moonbaseStatusWord(c.Status)
}

// shownStatus is the status a surface shows: s, or queued for a call that
// has none yet. Every call is queued once its creation is appended (the
// decider gives it a status in the same append), but a read of the call as
// it was at an earlier revision can stop between the creation's events,
// before its status was set; "" is no word of any surface.
func shownStatus(s Status) Status {
	if s == "" {
		return StatusQueued
	}
	return s
}

// ParseCallHistoryStatus maps a call-history status (lower-case words such
// as "completed") onto a canonical status. It knows the canonical words and
// the usual synonyms Moonbase knows, in lower case only; false otherwise.
func ParseCallHistoryStatus(word string) (Status, bool) {
	if word != strings.ToLower(word) {
		return "", false
	}
	return ParseMoonbaseStatus(word)
}

// CallHistoryStatusWord is the status the call-history surface shows: the
// canonical word, lower case.
func CallHistoryStatusWord(s Status) string { return string(shownStatus(s)) }

// The VoiceCall statuses, exact and upper case as that surface requires.
const (
	VoiceCallIncomingCall            = "INCOMING_CALL"
	VoiceCallAnsweredByStaff         = "ANSWERED_BY_STAFF"
	VoiceCallMissed                  = "MISSED"
	VoiceCallAnsweredByCallsProvider = "ANSWERED_BY_CALLS_PROVIDER"
	VoiceCallMissedCallHandled       = "MISSED_CALL_HANDLED"
	VoiceCallVoicemailReceived       = "VOICEMAIL_RECEIVED"
)

// ParseVoiceCallStatus maps a VoiceCall status onto a canonical status:
// INCOMING_CALL → ringing, ANSWERED_BY_STAFF and ANSWERED_BY_CALLS_PROVIDER
// → in-progress, MISSED and MISSED_CALL_HANDLED → no-answer,
// VOICEMAIL_RECEIVED → completed. The surface's enums are case-sensitive:
// anything else, "missed" included, is false (an invalid value).
func ParseVoiceCallStatus(word string) (Status, bool) {
	switch word {
	case VoiceCallIncomingCall:
		return StatusRinging, true
	case VoiceCallAnsweredByStaff, VoiceCallAnsweredByCallsProvider:
		return StatusInProgress, true
	case VoiceCallMissed, VoiceCallMissedCallHandled:
		return StatusNoAnswer, true
	case VoiceCallVoicemailReceived:
		return StatusCompleted, true
	}
	return "", false
}

// VoiceCallStatusWord is the status the VoiceCall surface shows for c. Like
// MoonbaseProviderStatus, it shows the surface's own word, verbatim, while
// that word still says what the call's status is, and otherwise the
// nearest word of seed 002's enum for the status the call has now: other
// surfaces move a call (a LaML cancel, a Moonbase "no-answer") without
// touching its VoiceCall word, and the word must not go stale. The word
// itself is kept on the call and in its history either way.
//
// A VoiceCall word c.VoiceCallStatus is current while the call is in the
// canonical status it maps to (ParseVoiceCallStatus); INCOMING_CALL stops
// being current once the call is answered, canceled or otherwise over. It
// differs from MoonbaseProviderStatus in these ways:
//
//   - A word it does not know is treated as stale: the fallback is shown,
//     where Moonbase shows an unknown word as it came. Moonbase's
//     provider_status is the provider's free text, which the ledger cannot
//     compare with the status; VoiceCall's status is an enum the surface
//     refuses anything else for, so an unknown word (only a history written
//     otherwise holds one) is never a word to show.
//   - An answer word survives completion: ANSWERED_BY_STAFF or
//     ANSWERED_BY_CALLS_PROVIDER on a call since completed stays, where
//     Moonbase's "in-progress" gives way to "completed". The enum has no
//     word for a call completed after an answer, so its answer words stand
//     for one (the fallback below shows ANSWERED_BY_STAFF there), and the
//     word the client sent says who answered, which a hang-up does not
//     change. VoiceCall sends no answer time, so a call it reports answered
//     has none: without this, a LaML hang-up of it would read
//     VOICEMAIL_RECEIVED, a voicemail for a call staff picked up.
//   - Likewise a missed word survives a busy, failed or canceled end:
//     MISSED or MISSED_CALL_HANDLED on such a call stays. The enum has no
//     word for those statuses and shows MISSED for them, so
//     MISSED_CALL_HANDLED, which a client sends to say it followed the
//     missed call up, names what the call shows; the upsert records it
//     though its no-answer is a move the call cannot make (lifecycle).
//
// Otherwise, and for a call that never had a VoiceCall word (created on
// another surface), the word is voiceCallStatusFallback's for the call's
// status (queued for a call read between its creation's events).
func VoiceCallStatusWord(c *Call) string {
	now := shownStatus(c.Status)
	if c.VoiceCallStatus != "" {
		if st, ok := ParseVoiceCallStatus(c.VoiceCallStatus); ok && voiceCallWordStandsFor(st, now) {
			return c.VoiceCallStatus
		}
	}
	return voiceCallStatusFallback(now, c.AnsweredAt != nil)
}

// voiceCallWordStandsFor reports whether a VoiceCall word that maps to
// canonical status word still says what a call in status now is: the same
// status, an answer word for a completed call, or a missed word for a busy,
// failed or canceled one (see VoiceCallStatusWord).
func voiceCallWordStandsFor(word, now Status) bool {
	switch {
	case word == now:
		return true
	case word == StatusInProgress:
		return now == StatusCompleted
	case word == StatusNoAnswer:
		return now == StatusBusy || now == StatusFailed || now == StatusCanceled
	}
	return false
}

// voiceCallStatusFallback is the VoiceCall status shown for a call in
// canonical status s whose VoiceCall word, if any, is not current
// (VoiceCallStatusWord): the nearest word of seed 002's enum; answered says
// whether the call has an answer time. Where the enum has no word for a
// status that is over, the word is one whose status the call cannot move
// to, so a client that PUTs back the word it read never moves a call that
// is over (the PUT is a late update, applied but for its status; the word,
// or a synonym of it, is recorded: see lifecycle):
//
//   - queued or ringing: INCOMING_CALL (ringing; VoiceCall has no queued);
//   - in-progress: ANSWERED_BY_STAFF;
//   - completed after an answer: ANSWERED_BY_STAFF (in-progress: the enum
//     has no word for an answered call that is over);
//   - completed without an answer: VOICEMAIL_RECEIVED, seed 002's word for
//     a call that completed with nobody picking up (the caller left a
//     voicemail), the enum's only word for completed. ANSWERED_BY_STAFF
//     would say staff picked up a call nobody answered, and MISSED that a
//     completed call was not completed;
//   - no-answer: MISSED;
//   - busy, failed, canceled: MISSED (no-answer: the enum's only words for
//     a call that ended otherwise are MISSED and MISSED_CALL_HANDLED, and
//     nobody followed this one up). A failed call that had been answered
//     reads MISSED too: the call did not go through as a call.
//
// The ledger knows an answer by its time: a call a provider reported
// in-progress without one, then completed, reads VOICEMAIL_RECEIVED (one
// VoiceCall reported answered keeps its word: VoiceCallStatusWord).
func voiceCallStatusFallback(s Status, answered bool) string {
	switch s {
	case StatusCompleted:
		if !answered {
			return VoiceCallVoicemailReceived
		}
		return VoiceCallAnsweredByStaff
	case StatusInProgress:
		return VoiceCallAnsweredByStaff
	case StatusBusy, StatusFailed, StatusNoAnswer, StatusCanceled:
		return VoiceCallMissed
	}
	return VoiceCallIncomingCall
}

// ParseLaMLStatus maps a LaML (Twilio) status onto a canonical status: the
// eight canonical words, exactly. Writes use it.
func ParseLaMLStatus(word string) (Status, bool) {
	if s := Status(word); s.Valid() {
		return s, true
	}
	return "", false
}

// ParseLaMLStatusFilter is ParseLaMLStatus for reads (the Status filter of a
// call list): it also takes "initiated", Twilio's word for a call being
// placed, as queued.
func ParseLaMLStatusFilter(word string) (Status, bool) {
	if word == "initiated" {
		return StatusQueued, true
	}
	return ParseLaMLStatus(word)
}

// LaMLStatusWord is the status the LaML surface shows: the canonical word.
func LaMLStatusWord(s Status) string { return string(shownStatus(s)) }
