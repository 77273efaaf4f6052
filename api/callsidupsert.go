package api

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// A call's id is derived from its account, provider and provider id
// (domain.CallIDFor), so an upsert finds its call without a lookup. A call
// created on the LaML surface has no provider id its client knows: the
// ledger plays SignalWire there, mints the call a provider id of its own
// (lamlNewProviderID) and shows the client the derived call id as its
// CallSid. A client that then syncs the call to the Moonbase surface as
// SignalWire's, provider "signalwire" and provider_id its CallSid (the only
// id of it that client has), would derive another id and make a second
// call. resolveCallSid points such an upsert at the call instead.

// resolveCallSid makes cmd, a Moonbase create or upsert, address the call
// whose CallSid (call id) its provider_id is, when cmd's provider is
// signalwire (lamlProvider) and that call is one of cmd's account's
// signalwire calls: cmd.CallID becomes that call's id and cmd.ProviderID
// the provider id the call was created with, which the domain requires of
// a write to it (the answer shows that one). It costs one read of a call's
// first event, and only for signalwire upserts whose provider_id is a UUID
// not already the call id (SignalWire's own CallSids are UUIDs, so an
// ingest of real SignalWire calls pays the read of a stream that is not
// there). A provider_id that names no call, another account's call, a call
// of another provider, or a call whose first event this build cannot read
// leaves cmd as derived: a UUID SignalWire minted is no call id of the
// ledger's but by a collision of random UUIDs.
func (s *Server) resolveCallSid(ctx context.Context, cmd *domain.UpsertCall) error {
	if domain.NormalizeProvider(cmd.Provider) != lamlProvider || len(cmd.ProviderID) != 36 {
		return nil
	}
	sid, err := uuid.Parse(cmd.ProviderID)
	if err != nil || sid == cmd.CallID || sid == uuid.Nil || !strings.EqualFold(sid.String(), cmd.ProviderID) {
		return nil
	}
	first, err := s.firstRecord(ctx, sid)
	if err != nil || first == nil {
		return err
	}
	env, err := decodeRecord(first)
	if err != nil {
		return nil
	}
	var created domain.State
	domain.EvolveInPlace(&created, env)
	call := created.Call
	if call.AccountID != cmd.AccountID || call.Provider != lamlProvider || call.ID != sid {
		return nil
	}
	cmd.CallID, cmd.ProviderID = sid, call.ProviderID
	return nil
}
