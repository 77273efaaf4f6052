package api

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// APIKey maps a secret token to the account it acts for. Keys are configured
// as "account:token" pairs (CALLLEDGER_API_KEYS, or a keys file).
type APIKey struct {
	// Account is the tenant the key acts for; every call it writes or reads
	// belongs to this account. Also the LaML AccountSid.
	Account string
	// Token is the secret the client sends (Bearer, or Basic password).
	Token string
}

// Name identifies the key in event metadata (the actor) without revealing
// the token: the account and the first 12 hex digits of the token's SHA-256.
func (k APIKey) Name() string {
	sum := sha256.Sum256([]byte(k.Token))
	return k.Account + "/" + hex.EncodeToString(sum[:6])
}

// Limits on configured keys, so that a malformed file fails fast.
const (
	// keysMax is the largest number of keys a configuration may hold.
	keysMax = 10000
	// keyPartBytesMax bounds an account or a token, in bytes.
	keyPartBytesMax = 256
)

// ParseAPIKeys parses "account:token,account:token" (the CALLLEDGER_API_KEYS
// format). Blanks around entries are ignored; an empty string is no keys.
// An entry without a colon, with an empty account or token, or with a
// duplicate token is an error, so that a typo never silently locks a client
// out or lets two accounts share a secret.
func ParseAPIKeys(s string) ([]APIKey, error) {
	var keys []APIKey
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		k, err := parseKey(entry)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, CheckKeys(keys)
}

// LoadAPIKeysFile reads a keys file: one "account:token" a line; blank lines
// and lines starting with '#' are ignored.
func LoadAPIKeysFile(path string) ([]APIKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open api keys file: %w", err)
	}
	defer f.Close()
	keys, err := ReadAPIKeys(f)
	if err != nil {
		return nil, fmt.Errorf("api keys file %s: %w", path, err)
	}
	return keys, nil
}

// ReadAPIKeys reads keys in the keys-file format from r (see LoadAPIKeysFile).
func ReadAPIKeys(r io.Reader) ([]APIKey, error) {
	var keys []APIKey
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			// A byte order mark, as Windows editors start a UTF-8 file
			// with, is not part of the first account's id.
			text = strings.TrimPrefix(text, "\ufeff")
		}
		text = strings.TrimSpace(text)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, err := parseKey(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read api keys: %w", err)
	}
	return keys, CheckKeys(keys)
}

func parseKey(entry string) (APIKey, error) {
	account, token, ok := strings.Cut(entry, ":")
	account, token = strings.TrimSpace(account), strings.TrimSpace(token)
	switch {
	case !ok:
		return APIKey{}, fmt.Errorf("api key entry without ':' (want account:token)")
	case account == "" || token == "":
		return APIKey{}, fmt.Errorf("api key entry with an empty account or token")
	case len(account) > keyPartBytesMax || len(token) > keyPartBytesMax:
		return APIKey{}, fmt.Errorf("api key entry longer than %d bytes", keyPartBytesMax)
	case strings.ContainsAny(account, "\x00/"):
		return APIKey{}, fmt.Errorf("api key account %q contains a NUL or '/'", account)
	case strings.IndexFunc(account, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 || !utf8.ValidString(account):
		// A byte order mark, a control character: an id no client would
		// send, which would lock the account's own clients out.
		return APIKey{}, fmt.Errorf("api key account %q contains a character that is not printable", account)
	}
	return APIKey{Account: account, Token: token}, nil
}

// CheckKeys returns an error for keys that NewServer would refuse as
// Config.Keys: more keys than a server takes, or one token given twice.
// ParseAPIKeys and ReadAPIKeys check the keys of one source; a caller that
// gathers keys from several checks them together with CheckKeys before it
// opens anything that a refused start would have to undo.
func CheckKeys(keys []APIKey) error {
	if len(keys) > keysMax {
		return fmt.Errorf("%d api keys, at most %d", len(keys), keysMax)
	}
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if seen[k.Token] {
			return fmt.Errorf("api key token of account %q is used twice", k.Account)
		}
		seen[k.Token] = true
	}
	return nil
}

// keyring finds the key of a token. Tokens are looked up by their SHA-256,
// never by their bytes, so the time a lookup takes says nothing about how
// much of a guessed token was right (a hash comparison that stops early only
// tells how many leading bytes of an unpredictable hash matched). It also
// knows the accounts the keys act for (hasAccount).
type keyring struct {
	byHash   map[[32]byte]Principal
	accounts map[string]bool
}

func newKeyring(keys []APIKey) keyring {
	kr := keyring{byHash: make(map[[32]byte]Principal, len(keys)), accounts: make(map[string]bool, len(keys))}
	for _, k := range keys {
		kr.byHash[sha256.Sum256([]byte(k.Token))] = Principal{Account: k.Account, Actor: k.Name()}
		kr.accounts[k.Account] = true
	}
	return kr
}

// hasAccount reports whether some key acts for account.
func (kr keyring) hasAccount(account string) bool { return kr.accounts[account] }

func (kr keyring) lookup(token string) (Principal, bool) {
	if token == "" {
		return Principal{}, false
	}
	p, ok := kr.byHash[sha256.Sum256([]byte(token))]
	return p, ok
}

// Principal is who a request acts for: the account its key belongs to and
// the key's name, recorded as the actor of every event it writes.
type Principal struct {
	Account string
	Actor   string
}

type principalKey struct{}

// PrincipalFrom returns the authenticated principal of a request's context,
// set by the auth middleware of every surface (in the request's scope) or
// by WithPrincipal. ok is false outside them.
func PrincipalFrom(ctx context.Context) (p Principal, ok bool) {
	if sc := scopeFrom(ctx); sc != nil && sc.authenticated {
		return sc.principal, true
	}
	p, ok = ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// AccountFrom returns the authenticated account of a request's context, or ""
// outside the auth middleware.
func AccountFrom(ctx context.Context) string {
	p, _ := PrincipalFrom(ctx)
	return p.Account
}

// WithPrincipal returns ctx carrying p (for tests and tools that call
// handlers without going through auth).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// bearerUnauthorized is the message of every JSON surface's 401, about the
// field Authorization, which every renderer puts before it (withField).
const bearerUnauthorized = "missing or unknown API key (send Authorization: Bearer <token>)"

// bearerAuth authenticates the JSON surfaces: "Authorization: Bearer token".
// Failures are answered by render in the surface's own style.
func (s *Server) bearerAuth(render ErrorRenderer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h, err := authorization(r)
			if err != nil {
				s.writeError(w, r, render, err)
				return
			}
			scheme, token, _ := strings.Cut(h, " ")
			p, ok := Principal{}, false
			if strings.EqualFold(scheme, "Bearer") {
				p, ok = s.keys.lookup(strings.TrimSpace(token))
			}
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="callledger"`)
				s.writeError(w, r, render, &FieldError{Err: ErrUnauthorized, Field: "Authorization", Message: bearerUnauthorized})
				return
			}
			next.ServeHTTP(w, withPrincipal(r, p))
		})
	}
}

// BasicAuth authenticates the LaML surface: HTTP Basic with the account (the
// AccountSid, project id) as user name and the token as password. The user
// name must be the token's own account. Failures are answered by render.
func (s *Server) BasicAuth(render ErrorRenderer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h, err := authorization(r)
			if err != nil {
				s.writeError(w, r, render, err)
				return
			}
			user, token, ok := basicCredentials(h)
			p := Principal{}
			if ok {
				p, ok = s.keys.lookup(token)
			}
			if ok && subtle.ConstantTimeCompare([]byte(user), []byte(p.Account)) != 1 {
				ok = false
			}
			if !ok {
				w.Header().Set("WWW-Authenticate", `Basic realm="callledger"`)
				s.writeError(w, r, render, &FieldError{Err: ErrUnauthorized, Field: "Authorization", Message: "missing or unknown credentials (HTTP Basic: AccountSid and API token)"})
				return
			}
			next.ServeHTTP(w, withPrincipal(r, p))
		})
	}
}

// authorization returns r's Authorization header, and a 400 naming it
// when it was sent more than once with different values: which
// credentials the request is made with cannot be told (the first was
// used, whatever a proxy before the ledger had checked).
func authorization(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	for _, v := range values[min(1, len(values)):] {
		if v != values[0] {
			return "", Malformed("Authorization", "sent %d times with different values: send one", len(values))
		}
	}
	if len(values) == 0 {
		return "", nil
	}
	return values[0], nil
}

// basicCredentials is r.BasicAuth, of the Authorization header h, that
// also reads credentials whose base64 has lost its "=" padding: RFC 7617
// asks for it, but some clients' encoders (base64url-minded ones,
// hand-built headers) leave it off, and a missing pad says nothing about
// who is asking. Anything else that is not base64 of user:password is no
// credentials.
func basicCredentials(h string) (user, password string, ok bool) {
	scheme, encoded, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	decoded, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		decoded, err = base64.RawStdEncoding.DecodeString(encoded)
	}
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(decoded), ":")
}

// BearerAuth is bearerAuth for the other surfaces' routes (VoiceCall).
func (s *Server) BearerAuth(render ErrorRenderer) func(http.Handler) http.Handler {
	return s.bearerAuth(render)
}
