package domain_test

import (
	"testing"

	"github.com/callledger/callledger/domain"
)

// TestUpsertKeepsFromToAndParticipantsTogether checks that an upsert that
// changes either a call's participants or its From and To records the
// change of the other side too, so that the surfaces rendering either agree.
func TestUpsertKeepsFromToAndParticipantsTogether(t *testing.T) {
	const other = "+16505550000"
	caller1, callee1 := participant(domain.RoleCaller, caller), participant(domain.RoleCallee, callee)
	swapped := []domain.Participant{participant(domain.RoleCaller, callee), participant(domain.RoleCallee, caller)}

	// withParticipants is a Moonbase upsert: the whole list, no From or To.
	withParticipants := func(ps ...domain.ParticipantSpec) domain.UpsertCall {
		c := upsert(domain.UpsertCreateOrUpdate)
		c.Participants = append([]domain.ParticipantSpec{}, ps...)
		return c
	}
	// withAddresses is a VoiceCall PUT: From and To, no participants.
	withAddresses := func(from, to string) domain.UpsertCall {
		c := upsert(domain.UpsertUpdate)
		c.From, c.To = ptr(from), ptr(to)
		return c
	}
	asCaller := func(phone string) domain.ParticipantSpec {
		return domain.ParticipantSpec{Role: domain.RoleCaller, Phone: phone}
	}
	asCallee := func(phone string) domain.ParticipantSpec {
		return domain.ParticipantSpec{Role: domain.RoleCallee, Phone: phone}
	}

	swap := withParticipants(asCaller(callee), asCallee(caller))
	swap.Direction = ptr(domain.DirectionOutbound)
	contradiction := withParticipants(asCaller(caller), asCallee(callee))
	contradiction.To = ptr(other)
	sipBeside := withParticipants(asCaller(caller), asCallee(callee))
	sipBeside.To = ptr("sip:alice@example.com")

	// drifted is a history written before the decider kept both sides
	// together: the roles swapped, From and To left as they were.
	drifted := append(seed000History(), domain.CallParticipantsChanged{Participants: swapped})
	// withFrom is a VoiceCall PUT that gives From alone.
	withFrom := func(from string) domain.UpsertCall {
		c := upsert(domain.UpsertUpdate)
		c.From = ptr(from)
		return c
	}
	// sipBesideHistory is a call whose To is a sip: address given beside
	// its callee's phone.
	sipBesideHistory := append(seed000History(), domain.CallUpserted{CallID: callID, To: ptr("sip:alice@example.com")})
	// twoCallers is a call with a second caller, as a Moonbase list may have.
	twoCallers := append(seed000History(), domain.CallParticipantsChanged{Participants: []domain.Participant{caller1, participant(domain.RoleCaller, other), callee1}})

	// sipCaller is a call whose caller is a sip: address (LaML), so that
	// only its callee is a participant.
	sipCaller := append(seed000History(), domain.CallUpserted{CallID: callID, From: ptr("sip:bob@example.com")},
		domain.CallParticipantsChanged{Participants: []domain.Participant{callee1}})
	// selfCall is a number calling itself: one caller, To its own phone.
	selfCall := append(seed000History(), domain.CallUpserted{CallID: callID, To: ptr(caller)},
		domain.CallParticipantsChanged{Participants: []domain.Participant{caller1}})
	fromBesideNoCaller := withParticipants(asCallee(callee))
	fromBesideNoCaller.From = ptr(other)
	selfBeside := withParticipants(asCaller(caller))
	selfBeside.To = ptr(caller)

	runGWT(t, []gwt{
		{name: "participants swapped with the direction: from and to follow the roles", given: seed000History(), when: swap, then: []domain.Event{
			domain.CallUpserted{CallID: callID, Direction: ptr(domain.DirectionOutbound), From: ptr(callee), To: ptr(caller)},
			domain.CallParticipantsChanged{Participants: swapped},
		}},
		{name: "a new callee phone is a new to", given: seed000History(), when: withParticipants(asCaller(caller), asCallee(other)), then: []domain.Event{
			domain.CallUpserted{CallID: callID, To: ptr(other)},
			domain.CallParticipantsChanged{Participants: []domain.Participant{caller1, participant(domain.RoleCallee, other)}},
		}},
		{name: "the same participants change nothing", given: seed000History(), when: withParticipants(asCaller(caller), asCallee(callee)), then: nil},
		{name: "participants without a caller clear from", given: seed000History(), when: withParticipants(asCallee(callee)), then: []domain.Event{
			domain.CallUpserted{CallID: callID, From: ptr("")},
			domain.CallParticipantsChanged{Participants: []domain.Participant{callee1}},
		}},
		{name: "two callers and no callee: from is the first caller, to is cleared", given: seed000History(),
			when: withParticipants(asCaller(caller), asCaller(other)), then: []domain.Event{
				domain.CallUpserted{CallID: callID, To: ptr("")},
				domain.CallParticipantsChanged{Participants: []domain.Participant{caller1, participant(domain.RoleCaller, other)}},
			}},
		{name: "an other alone clears from and to, though it holds the caller's number", given: seed000History(),
			when: withParticipants(domain.ParticipantSpec{Role: domain.RoleOther, Phone: caller}), then: []domain.Event{
				domain.CallUpserted{CallID: callID, From: ptr(""), To: ptr("")},
				domain.CallParticipantsChanged{Participants: []domain.Participant{participant(domain.RoleOther, caller)}},
			}},
		{name: "a sip from, which no participant holds, stays beside a list without a caller", given: sipCaller, when: withParticipants(asCallee(callee)), then: nil},
		{name: "a number calling itself keeps its to beside its one caller", given: selfCall, when: withParticipants(asCaller(caller)), then: nil},
		{name: "a phone in from beside a list without a caller is invalid", given: seed000History(), when: fromBesideNoCaller, code: domain.ErrInvalid, field: "from"},
		{name: "a to that is the caller's own phone stands beside a list without a callee", given: seed000History(), when: selfBeside, then: []domain.Event{
			domain.CallUpserted{CallID: callID, To: ptr(caller)},
			domain.CallParticipantsChanged{Participants: []domain.Participant{caller1}},
		}},
		{name: "a drifted call is mended by the participants resent", given: drifted, when: withParticipants(asCaller(callee), asCallee(caller)), then: []domain.Event{
			domain.CallUpserted{CallID: callID, From: ptr(callee), To: ptr(caller)},
		}},
		{name: "a phone in to that contradicts the callee is invalid", given: seed000History(), when: contradiction, code: domain.ErrInvalid, field: "to"},
		{name: "a sip address in to stands beside the callee's phone", given: seed000History(), when: sipBeside, then: []domain.Event{
			domain.CallUpserted{CallID: callID, To: ptr("sip:alice@example.com")},
		}},
		{name: "a new from is the caller's new phone, in its place", given: seed000History(), when: withAddresses(other, callee), then: []domain.Event{
			domain.CallUpserted{CallID: callID, From: ptr(other)},
			domain.CallParticipantsChanged{Participants: []domain.Participant{participant(domain.RoleCaller, other), callee1}},
		}},
		{name: "from and to swapped swap the participants' phones", given: seed000History(), when: withAddresses(callee, caller), then: []domain.Event{
			domain.CallUpserted{CallID: callID, From: ptr(callee), To: ptr(caller)},
			domain.CallParticipantsChanged{Participants: swapped},
		}},
		{name: "the same from and to change nothing", given: seed000History(), when: withAddresses(caller, callee), then: nil},
		{name: "a sip address in to takes the callee away", given: seed000History(), when: withAddresses(caller, "sip:alice@example.com"), then: []domain.Event{
			domain.CallUpserted{CallID: callID, To: ptr("sip:alice@example.com")},
			domain.CallParticipantsChanged{Participants: []domain.Participant{caller1}},
		}},
		{name: "a to that is the caller's own phone takes the callee away", given: seed000History(), when: withAddresses(caller, caller), then: []domain.Event{
			domain.CallUpserted{CallID: callID, To: ptr(caller)},
			domain.CallParticipantsChanged{Participants: []domain.Participant{caller1}},
		}},
		{name: "a new from on a call without participants adds the caller and the callee", given: ringingCall(), when: withAddresses(other, callee), then: []domain.Event{
			domain.CallUpserted{CallID: callID, From: ptr(other)},
			domain.CallParticipantsChanged{Participants: []domain.Participant{participant(domain.RoleCaller, other), callee1}},
		}},
		{name: "a drifted call is mended by the participants' own from", given: drifted, when: withAddresses(callee, caller), then: []domain.Event{
			domain.CallUpserted{CallID: callID, From: ptr(callee), To: ptr(caller)},
		}},
		{name: "a drifted call is mended by its own from and to resent", given: drifted, when: withAddresses(caller, callee), then: []domain.Event{
			domain.CallParticipantsChanged{Participants: []domain.Participant{caller1, callee1}},
		}},
		{name: "a drifted call is mended by one side given", given: drifted, when: withFrom(caller), then: []domain.Event{
			domain.CallParticipantsChanged{Participants: []domain.Participant{caller1, callee1}},
		}},
		{name: "from and to the callee's phone: one participant, as a creation makes it", given: seed000History(), when: withAddresses(callee, callee), then: []domain.Event{
			domain.CallUpserted{CallID: callID, From: ptr(callee)},
			domain.CallParticipantsChanged{Participants: []domain.Participant{participant(domain.RoleCaller, callee)}},
		}},
		{name: "a from that is the callee's phone makes the call one participant", given: seed000History(), when: withFrom(callee), then: []domain.Event{
			domain.CallUpserted{CallID: callID, From: ptr(callee)},
			domain.CallParticipantsChanged{Participants: []domain.Participant{participant(domain.RoleCaller, callee)}},
		}},
		{name: "a sip address resent in to keeps the callee's phone beside it", given: sipBesideHistory, when: withAddresses(other, "sip:alice@example.com"), then: []domain.Event{
			domain.CallUpserted{CallID: callID, From: ptr(other)},
			domain.CallParticipantsChanged{Participants: []domain.Participant{participant(domain.RoleCaller, other), callee1}},
		}},
		{name: "a to that is a second caller's phone is no number calling itself", given: twoCallers, when: withAddresses(caller, other), then: []domain.Event{
			domain.CallUpserted{CallID: callID, To: ptr(other)},
			domain.CallParticipantsChanged{Participants: []domain.Participant{caller1, participant(domain.RoleCaller, other), participant(domain.RoleCallee, other)}},
		}},
	})
}
