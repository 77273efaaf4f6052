package api

import (
	"net/http"
)

// The Account resource of the LaML surface, at .../Accounts/{AccountSid}
// with or without ".json": a Twilio client checks its credentials by
// fetching it (client.api.v2010.accounts(sid).fetch() in twilio-node), so
// it answers the caller's own account, and another account's sid is a 401
// (20003) as for Calls (lamlOwnAccount). A ledger account is an account id
// that API keys act for, and holds nothing else, so the resource says what
// the ledger knows:
//
//	sid, owner_account_sid  the account id (the ledger has no subaccounts)
//	friendly_name           the account id (the ledger keeps no names)
//	status, type            "active" (its key just opened it), "Full"
//	auth_token              null: the ledger never returns a secret, and the
//	                        caller sent its token to get here
//	date_created,           null: accounts come from the configured API keys,
//	date_updated            and the ledger records no time for them; a time
//	                        made up (the server's start, the first call's)
//	                        would change between servers or after an import
//	uri, subresource_uris   under the prefix the request used; calls is the
//	                        one subresource the surface serves

// lamlAccountStatus and lamlAccountType are what every ledger account shows
// as Twilio's status and type: an account whose key opened it is active,
// and the ledger has no trial accounts.
const (
	lamlAccountStatus = "active"
	lamlAccountType   = "Full"
)

// lamlAccount is Twilio's Account resource as the LaML surface renders a
// ledger account (see the comment above).
type lamlAccount struct {
	SID             string            `json:"sid"`
	FriendlyName    string            `json:"friendly_name"`
	Status          string            `json:"status"`
	Type            string            `json:"type"`
	OwnerAccountSID string            `json:"owner_account_sid"`
	AuthToken       *string           `json:"auth_token"`
	DateCreated     *string           `json:"date_created"`
	DateUpdated     *string           `json:"date_updated"`
	URI             string            `json:"uri"`
	SubresourceURIs map[string]string `json:"subresource_uris"`
}

// getLAMLAccount handles GET .../Accounts/{AccountSid}[.json]: the caller's
// own account, which lamlOwnAccount has checked the path names.
func (s *Server) getLAMLAccount(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, renderLAMLAccount(AccountFrom(r.Context()), lamlRequestPrefix(r)))
}

// renderLAMLAccount builds the Account resource of account, its URIs under
// prefix.
func renderLAMLAccount(account, prefix string) lamlAccount {
	base := lamlAccountPath(prefix, account)
	return lamlAccount{
		SID:             account,
		FriendlyName:    account,
		Status:          lamlAccountStatus,
		Type:            lamlAccountType,
		OwnerAccountSID: account,
		URI:             base + ".json",
		SubresourceURIs: map[string]string{"calls": base + "/Calls.json"},
	}
}
