package domain

import "slices"

// reconcileAddresses makes an upsert keep a call's From and To and its
// caller and callee participants saying the same thing, whichever of the two
// the command gives. The surfaces split them: Moonbase renders the
// participants; LaML, VoiceCall, call history and the list index (with its
// From and To filters) render From and To. A change to one side that left
// the other as it was would show two different calls.
//
// From is the caller's phone and To the callee's, whatever the direction:
// on an outbound call the caller is the account's own number (the
// call-history view reads it so). Only a surface's own words say which way
// a call went; the roles are not swapped with it.
//
//   - Participants given (Moonbase): From and To not given are the first
//     caller's and callee's phones. A given phone number that is not that
//     phone contradicts it (ErrInvalid); a given sip: or client: address
//     (LaML), which no participant can hold, stands beside it. A list
//     without a caller (callee) clears From (To) in the same write when it
//     is a phone number, so that no surface shows a number no participant
//     holds (a call moved from a caller and a callee to two callers, or to
//     an "other" alone, kept its old numbers before); see partyAddress.
//   - From or To given without participants (VoiceCall, LaML create,
//     LaML and VoiceCall updates): the call's participant list, the other
//     participants kept, gets each side's phone (see sideAddress) on its
//     caller and callee, through withParty. The list is given to the
//     decider only if that changed it.
//
// So the decider records a change of either side as the events of both, in
// one decision: CallUpserted with the new from/to beside the
// CallParticipantsChanged. A creation without participants gets a caller
// and a callee from From and To, as it always has. Evolve is unchanged: old
// histories fold to the same calls, and one whose From and To drifted from
// its participants is mended by the next upsert that gives either, even
// unchanged.
//
// A call may list several callers or callees: seed 000 and Moonbase's SDK
// bound the participants' roles (caller, callee, other), not how many hold
// each, and a provider may report a forwarded or transferred call so. Such
// a list is taken as sent, and the first caller (callee) is the call's
// From (To). Refusing a second would refuse bodies Moonbase accepts, and
// every later write of a call stored with one.
func reconcileAddresses(call *Call, c *UpsertCall) *Error {
	if c.Participants != nil {
		var err *Error
		if c.From, err = partyAddress(c.Participants, RoleCaller, c.From, call.From, "from"); err != nil {
			return err
		}
		c.To, err = partyAddress(c.Participants, RoleCallee, c.To, call.To, "to")
		return err
	}
	if c.From == nil && c.To == nil {
		return nil
	}
	ps := make([]ParticipantSpec, len(call.Participants), len(call.Participants)+2)
	for i, p := range call.Participants {
		ps[i] = ParticipantSpec{Role: p.Role, Phone: p.Phone}
	}
	ps = withParty(ps, RoleCaller, sideAddress(c.From, call.From))
	ps = withParty(ps, RoleCallee, sideAddress(c.To, call.To))
	if !slices.EqualFunc(ps, call.Participants, func(s ParticipantSpec, p Participant) bool {
		return s.Role == p.Role && s.Phone == p.Phone
	}) {
		c.Participants = ps
	}
	return nil
}

// sideAddress returns the address that one side of a call (its caller or
// callee) is reconciled to, given the command's address for it (nil: not
// given) and the call's: the given one, else the call's when it is a phone
// number, so that an upsert that gives one side mends a drift of the other
// and keeps a number calling itself one participant (withParty). A sip: or
// client: address that the command resends unchanged gives nil: it stood
// beside the participant the call has (see reconcileAddresses), which
// stays.
func sideAddress(given *string, have string) *string {
	switch {
	case given == nil && ValidE164(have):
		// A copy of have, not have itself: only this branch moves it to
		// the heap, rather than every call.
		h := have
		return &h
	case given != nil && *given == have && !ValidE164(have):
		return nil
	}
	return given
}

// partyAddress returns the address of role r's side of a call whose
// participants ps the command gives, given the command's address for it
// (nil: not given) and the call's, have; nil leaves the side as the call
// has it. field names the address in an error.
//
//   - A given sip: or client: address is returned: no participant can hold
//     one, so it stands beside the participants.
//   - With a participant of role r, the side is the first one's phone,
//     which a given phone number must equal.
//   - Without one, the side has no number but, for the callee's side, the
//     caller's own (a number calling itself is one participant, as
//     withParty makes it; isCallerPhone). A given phone number must be
//     that one, and a phone number the call has is cleared (a pointer to
//     ""), so that a surface showing From and To never shows a number the
//     participants dropped. A sip: or client: address the call has is kept.
func partyAddress(ps []ParticipantSpec, r Role, given *string, have, field string) (*string, *Error) {
	if given != nil && !ValidE164(*given) {
		return given, nil
	}
	if i := firstOfRole(ps, r); i >= 0 {
		if given != nil && *given != ps[i].Phone {
			return nil, invalid(field, "%q is not the phone of the %s participant (%q)", *given, r, ps[i].Phone)
		}
		// The command's own slice: core clones what its event keeps.
		return &ps[i].Phone, nil
	}
	switch {
	case given != nil && r == RoleCallee && isCallerPhone(ps, *given):
		return given, nil
	case given != nil:
		return nil, invalid(field, "%q is the phone of no %s participant: the participants have no %s", *given, r, r)
	case !ValidE164(have) || r == RoleCallee && isCallerPhone(ps, have):
		return nil, nil
	}
	cleared := ""
	return &cleared, nil
}

// changesAddress reports whether given (nil: not given) changes the
// address have.
func changesAddress(given *string, have string) bool {
	return given != nil && *given != have
}

// withParty returns ps (which it may change) with role r's side of the call
// at address: the first participant of role r takes it as its phone, or one
// is added for it. A nil address leaves ps as it is. An address that is no
// phone number (a sip: or client: address), or a callee's that is the
// caller's own phone (a number calling itself is one participant, as a
// creation has always made it), takes that participant away instead, so
// that no participant keeps the number the call no longer has.
func withParty(ps []ParticipantSpec, r Role, address *string) []ParticipantSpec {
	if address == nil {
		return ps
	}
	want := ParticipantSpec{Role: r, Phone: *address}
	keep := ValidE164(*address) && (r != RoleCallee || !isCallerPhone(ps, *address))
	if i := firstOfRole(ps, r); keep && i >= 0 && ps[i] == want {
		return ps // already there: a From or To that had drifted from it changes alone
	}
	// The list holds each role and phone once: a participant that already
	// has the address moves to where the old number was.
	ps = slices.DeleteFunc(ps, func(p ParticipantSpec) bool { return p == want })
	i := firstOfRole(ps, r)
	switch {
	case i >= 0 && keep:
		ps[i] = want
	case i >= 0:
		ps = slices.Delete(ps, i, i+1)
	case keep:
		ps = append(ps, want)
	}
	return ps
}

// isCallerPhone reports whether phone is the phone of the call's caller
// (the first participant of role caller).
func isCallerPhone(ps []ParticipantSpec, phone string) bool {
	i := firstOfRole(ps, RoleCaller)
	return i >= 0 && ps[i].Phone == phone
}

// firstOfRole returns the index of the first participant of role r in ps,
// or -1: that participant is the call's caller (callee).
func firstOfRole(ps []ParticipantSpec, r Role) int {
	return slices.IndexFunc(ps, func(p ParticipantSpec) bool { return p.Role == r })
}
