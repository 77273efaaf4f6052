package api

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLAMLAccountFetch(t *testing.T) {
	// Goal: GET .../Accounts/{AccountSid}[.json], which Twilio clients call to
	// check their credentials (client.api.v2010.accounts(sid).fetch()),
	// answers the caller's own account as Twilio's Account resource under
	// both prefixes, never echoing a secret; another account's sid is a 401
	// (20003) as for Calls, and a ".json" suffix on the AccountSid never
	// makes the own-account check misreport the credentials.
	ts := newTestServer(t)
	for _, prefix := range lamlPrefixes {
		for _, suffix := range []string{"", ".json"} {
			t.Run("prefix="+prefix+"/suffix="+suffix, func(t *testing.T) {
				res := ts.lamlDo(t, "GET", lamlAccountPath(prefix, acctA)+suffix, acctA, tokenA, "")
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
				assert.Equal(t, map[string]any{
					"sid":               acctA,
					"friendly_name":     acctA,
					"status":            "active",
					"type":              "Full",
					"owner_account_sid": acctA,
					"auth_token":        nil,
					"date_created":      nil,
					"date_updated":      nil,
					"uri":               lamlAccountPath(prefix, acctA) + ".json",
					"subresource_uris":  map[string]any{"calls": lamlCallsPath(prefix, acctA) + ".json"},
				}, res.JSON(t))
				assert.NotContains(t, string(res.Body), tokenA, "the API token is never echoed")

				// The calls link it gives leads to the Calls list.
				calls := ts.lamlDo(t, "GET", lamlCallsPath(prefix, acctA)+".json", acctA, tokenA, "")
				assert.Equal(t, http.StatusOK, calls.Status, "body: %s", calls.Body)
			})
		}
	}

	for _, tc := range []struct {
		name, method, path, user, password string
		status, code                       int
	}{
		{"OtherAccount", "GET", lamlAccountPath("", acctB), acctA, tokenA, 401, 20003},
		{"OtherAccountJSON", "GET", lamlAccountPath("", acctB) + ".json", acctA, tokenA, 401, 20003},
		{"OtherAccountJSONLaML", "GET", lamlAccountPath(lamlPrefix, acctB) + ".json", acctA, tokenA, 401, 20003},
		{"OtherAccountJSONUnderIt", "GET", lamlAccountPath("", acctB) + ".json/Calls", acctA, tokenA, 401, 20003},
		{"NoCredentials", "GET", lamlAccountPath("", acctA) + ".json", "", "", 401, 20003},
		{"WrongToken", "GET", lamlAccountPath("", acctA) + ".json", acctA, tokenB, 401, 20003},
		// ".json" ends the path only: under it no route serves, a 404 once
		// the credentials and the account check out.
		{"OwnAccountJSONUnderIt", "GET", lamlAccountPath("", acctA) + ".json/Calls", acctA, tokenA, 404, 20404},
		{"OwnAccountJSONUnderItLaML", "GET", lamlAccountPath(lamlPrefix, acctA) + ".json/Calls.json", acctA, tokenA, 404, 20404},
		{"Post", "POST", lamlAccountPath("", acctA) + ".json", acctA, tokenA, 405, 20004},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.lamlDo(t, tc.method, tc.path, tc.user, tc.password, "")
			assertLAMLError(t, res, tc.status, tc.code)
			assert.NotContains(t, string(res.Body), tokenA)
		})
	}
}

func TestLAMLAccountSidEndingInJSONIsThatAccount(t *testing.T) {
	// Goal: the ".json" of .../Accounts/{AccountSid}.json never makes a
	// path name another account than the one it spells. With accounts
	// "acme" and "acme.json" both configured, .../Accounts/acme.json is
	// acme.json's: acme's credentials get Twilio's 401 (20003) there, not
	// acme's Account, and acme.json's open it; .../Accounts/acme.json.json
	// is acme.json's Account resource with the suffix.
	const (
		acme, acmeToken         = "acme", "acme-token"
		acmeJSON, acmeJSONToken = "acme.json", "acme-json-token"
	)
	ts := newTestServer(t, withKeys(APIKey{Account: acme, Token: acmeToken}, APIKey{Account: acmeJSON, Token: acmeJSONToken}))
	for _, prefix := range lamlPrefixes {
		for _, tc := range []struct {
			name, path, user, password string
			status                     int
			sid                        string // the Account resource's sid, when status is 200
		}{
			{"AcmeOnItsOwn", lamlAccountPath(prefix, acme), acme, acmeToken, 200, acme},
			{"AcmeWithSuffix", lamlAccountPath(prefix, acme) + ".json", acme, acmeToken, 401, ""},
			{"AcmeUnderAcmeJSON", lamlCallsPath(prefix, acmeJSON) + ".json", acme, acmeToken, 401, ""},
			{"AcmeJSONOnItsOwn", lamlAccountPath(prefix, acmeJSON), acmeJSON, acmeJSONToken, 200, acmeJSON},
			{"AcmeJSONWithSuffix", lamlAccountPath(prefix, acmeJSON) + ".json", acmeJSON, acmeJSONToken, 200, acmeJSON},
			{"AcmeJSONCalls", lamlCallsPath(prefix, acmeJSON) + ".json", acmeJSON, acmeJSONToken, 200, ""},
			{"AcmeJSONOnAcme", lamlAccountPath(prefix, acme), acmeJSON, acmeJSONToken, 401, ""},
		} {
			t.Run("prefix="+prefix+"/"+tc.name, func(t *testing.T) {
				res := ts.lamlDo(t, "GET", tc.path, tc.user, tc.password, "")
				if tc.status != http.StatusOK {
					assertLAMLError(t, res, tc.status, lamlCodeAuthenticate)
					return
				}
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				if tc.sid != "" {
					assert.Equal(t, tc.sid, res.JSON(t)["sid"])
				}
			})
		}
	}
}

func TestLAMLBasicCredentialsWithoutPadding(t *testing.T) {
	// Goal: HTTP Basic credentials whose base64 lost its "=" padding open
	// the LaML surface as padded ones do (a probe found them a 401); what
	// is not base64 of account:token, or names the wrong token, stays a
	// 401 (20003).
	const account, token = "acct-pad", "token-pad-1" // 20 bytes: base64 pads with one "="
	ts := newTestServer(t, withKeys(APIKey{Account: account, Token: token}))
	padded := base64.StdEncoding.EncodeToString([]byte(account + ":" + token))
	require.True(t, strings.HasSuffix(padded, "="), padded)
	path := lamlCallsPath(lamlPrefix, account) + ".json"
	for _, tc := range []struct {
		name, header string
		status       int
	}{
		{"Padded", "Basic " + padded, http.StatusOK},
		{"Unpadded", "Basic " + strings.TrimRight(padded, "="), http.StatusOK},
		{"SchemeInLowerCase", "basic " + strings.TrimRight(padded, "="), http.StatusOK},
		{"WrongToken", "Basic " + base64.RawStdEncoding.EncodeToString([]byte(account+":token-pad-2")), http.StatusUnauthorized},
		{"NotBase64", "Basic " + account + ":" + token, http.StatusUnauthorized},
		{"NoColon", "Basic " + base64.RawStdEncoding.EncodeToString([]byte(account+token)), http.StatusUnauthorized},
		{"Bearer", "Bearer " + token, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.lamlDo(t, "GET", path, "", "", "", "Authorization", tc.header)
			if tc.status == http.StatusOK {
				assert.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				return
			}
			assertLAMLError(t, res, tc.status, 20003)
		})
	}
}
