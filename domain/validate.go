package domain

import (
	"bytes"
	"encoding/json"
	"math"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain/jsonscan"
)

// The leaf checks Decide runs on a command's fields. Each returns nil or an
// *Error with Code ErrInvalid naming the field, in the Call's JSON words.

// ValidE164 reports whether s is an E.164 number: "+", then 2 to 15 digits,
// the first not 0.
func ValidE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidCurrency reports whether s is a currency code ISO 4217 assigns,
// written as the ledger writes it: three upper-case letters. A code of the
// right shape that names no currency ("ZZZ", "BTC") is not one: billing
// sums totals per currency, and would report it as one.
func ValidCurrency(s string) bool {
	return currencyShaped(s) && currencyAssigned(s)
}

// currencyShaped reports whether s is three upper-case ASCII letters.
func currencyShaped(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// currencyAssigned reports whether s is an alphabetic code of ISO 4217's
// List One, the codes in use, as published on 2025-05-12, and the codes of
// the currencies replaced since 2024, which late prices of older calls
// still name. The list is kept
// here by hand, as the ISO 4217 maintenance agency publishes it, rather
// than taken from a library's tables: those lag the agency by years (VES,
// SLE, XCG) and keep codes it withdrew (DEM, HRK, SLL, MRO, ANG, CUC) or
// never assigned (CNH). A code it withdraws is removed here, so that a new
// price names a currency still in use; a price stored before stays as
// stored. A switch of constants holds no state a caller could change.
//
// List One's funds (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) and units
// (the precious metals XAU, XAG, XPD, XPT; the units of account XDR, XAD,
// XSU, XUA; the bond market units XBA to XBD) are taken: ISO 4217 assigns
// them as currencies, and some price real contracts (Chile's CLF,
// Colombia's COU, Uruguay's UYI). Its two codes that name no currency are
// refused: XXX ("no currency"), which no price is in, and XTS, reserved for
// testing, which would put test prices among the totals billing sums.
func currencyAssigned(s string) bool {
	switch s {
	// The currencies in circulation, national and shared (XAF, XCD, XCG,
	// XOF, XPF).
	case
		"AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BHD", "BIF", "BMD", "BND",
		"BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE",
		"CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD",
		"GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY",
		"KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD",
		"MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO",
		"NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF",
		"SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
		"TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED", "VES", "VND",
		"VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG":
		return true
	// The funds: units of account tied to a currency.
	case
		"BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW":
		return true
	// The precious metals and the supranational units of account.
	case
		"XAD", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XUA":
		return true
	// Currencies replaced since 2024 (ZWL by ZWG in 2024, ANG by XCG in
	// 2025, BGN by EUR in 2026): calls made before the switch are still
	// priced late, by providers and billing corrections, in the currency
	// they were made in.
	case
		"ANG", "BGN", "ZWL":
		return true
	}
	return false
}

// The call-history entry types (Details.CallType).
const (
	CallTypeCallSession = "CALL_SESSION"
	CallTypeDirectCall  = "DIRECT_CALL"
)

// The MOS bounds of Quality.AudioInMOS.
var (
	mosMin = MustParseDecimal("1.0")
	mosMax = MustParseDecimal("5.0")
)

func invalid(field, format string, args ...any) *Error {
	return Errorf(ErrInvalid, field, format, args...)
}

func checkPhone(field, s string) *Error {
	if !ValidE164(s) {
		return invalid(field, "%q is not an E.164 number (+ then 2 to 15 digits, the first not 0)", s)
	}
	return nil
}

// checkAddress accepts an E.164 number, or a LaML SIP or client address
// of at most AddressBytesMax bytes: valid UTF-8 of printable characters
// and no space (printableWord), so that no control character (a NUL, a
// terminal's escape) reaches the call's events and every surface's views.
func checkAddress(field, s string) *Error {
	for _, scheme := range []string{"sip:", "client:"} {
		if rest, ok := strings.CutPrefix(s, scheme); ok {
			if len(s) > AddressBytesMax {
				return invalid(field, "must be at most %d bytes, got %d", AddressBytesMax, len(s))
			}
			if rest == "" || !printableWord(rest) {
				return invalid(field, "%q is not a valid %s address: it must be printable characters without spaces", s, strings.TrimSuffix(scheme, ":"))
			}
			return nil
		}
	}
	return checkPhone(field, s)
}

// printableWord reports whether s is valid UTF-8 of printable characters
// (unicode.IsPrint) and no space of any kind: printable text, whose only
// space is the ASCII one, without it.
func printableWord(s string) bool {
	return printableText(s) && strings.IndexByte(s, ' ') < 0
}

// printableText reports whether s is valid UTF-8 of printable characters
// (unicode.IsPrint: the ASCII space is the only space it takes).
func printableText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func checkNotNegative(field string, d Decimal) *Error {
	if d.IsNegative() {
		return invalid(field, "must not be negative, got %s", d)
	}
	return nil
}

// checkPriceAmount accepts a price's rate or total that is not negative
// and within PriceIntDigitsMax digits before the point and PricePlacesMax
// after it. The message does not repeat an amount out of range: it may be
// thousands of digits.
func checkPriceAmount(field string, d Decimal) *Error {
	if err := checkNotNegative(field, d); err != nil {
		return err
	}
	if !withinDigits(d.Decimal, PriceIntDigitsMax, PricePlacesMax) {
		return invalid(field, "is out of range: at most %d digits before the point and %d after it", PriceIntDigitsMax, PricePlacesMax)
	}
	return nil
}

// checkPrice checks the price of a command, the field "price". Its
// members' names are constants: built from a field name passed in, they
// were three strings allocated for every priced command, valid or not.
func checkPrice(p Price) *Error {
	if err := checkPriceAmount("price.rate", p.Rate); err != nil {
		return err
	}
	if err := checkPriceAmount("price.total", p.Total); err != nil {
		return err
	}
	return checkCurrency("price.currency", p.Currency)
}

// checkCurrency accepts a currency code ISO 4217 assigns, in upper case.
// Only commands are checked: a price stored before the ISO 4217 check
// existed is not judged again when a call is folded, but a command that
// resends it (a VoiceCall PUT replaces every fact) must name a real one.
func checkCurrency(field, code string) *Error {
	if !currencyShaped(code) {
		return invalid(field, "%q is not an ISO 4217 currency code: three upper-case letters, such as \"USD\"", code)
	}
	if !currencyAssigned(code) {
		return invalid(field, "%q is not a currency code ISO 4217 assigns", code)
	}
	return nil
}

// checkNotNegativeInt accepts an optional whole number that is not
// negative (nil: not given): a duration in seconds (checkDurationSeconds
// adds its upper bound), a quality figure in milliseconds or packets. It is
// checkNotNegative for the int64 fields.
func checkNotNegativeInt(field string, n *int64) *Error {
	if n != nil && *n < 0 {
		return invalid(field, "must not be negative, got %d", *n)
	}
	return nil
}

// checkDurationSeconds accepts a call's duration in whole seconds: not
// negative, and at most secondsSpanMax, longer than any span between two
// times the ledger stores, so that the ledger can always add it to a time
// (addSeconds). A longer duration is no call's, and accepting it would let
// a completion leave the call without an end. checkDurationEnd checks the
// duration against the call's own times.
func checkDurationSeconds(field string, d *int64) *Error {
	if err := checkNotNegativeInt(field, d); err != nil {
		return err
	}
	if d != nil && *d > secondsSpanMax {
		return invalid(field, "must be at most %d seconds (longer than any span of times the ledger stores), got %d", int64(secondsSpanMax), *d)
	}
	return nil
}

// URLBytesMax bounds every URL a command carries (recordings, routing),
// in bytes: beyond any real one (a presigned storage URL runs to about
// 2 KiB), so that a URL cannot carry a body's worth of bytes into every
// event and view of its call.
const URLBytesMax = 4096

// AddressBytesMax bounds a LaML sip: or client: address, in bytes, for the
// same reason; a SIP URI with its parameters and headers stays far below.
const AddressBytesMax = 1024

// checkURL accepts an absolute http or https URL with a host, of at most
// URLBytesMax bytes, written as RFC 3986 writes one (strictURL).
func checkURL(field, s string) *Error {
	if len(s) > URLBytesMax {
		return invalid(field, "must be at most %d bytes, got %d", URLBytesMax, len(s))
	}
	if !strictURL(s) {
		return invalid(field, "%q is not an absolute http(s) URL (no spaces, control characters or %s unescaped; a port up to 65535)", s, uriExcluded)
	}
	return nil
}

// validURL reports whether s parses as an absolute http(s) URL with a
// host. url.Parse is lenient: it takes a space in the path, a '"' or a
// port of 99999, which strictURL refuses. A recording a call holds already
// is checked only so (checkRecording), so that one recorded before the
// stricter check may be sent again as it is; a new one is checked whole
// (checkNewRecordings). A URL of the plainest form (plainHTTPURL), as
// recordings' mostly are, is one without url.Parse, which allocated a URL
// and took a quarter of a microsecond of every upsert with a recording.
func validURL(s string) bool {
	if plainHTTPURL(s) {
		return true
	}
	_, ok := parseHTTPURL(s)
	return ok
}

// parseHTTPURL parses s with url.Parse and reports whether it is an
// absolute http(s) URL with a host.
func parseHTTPURL(s string) (*url.URL, bool) {
	u, err := url.Parse(s)
	return u, err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// uriExcluded are the printable ASCII characters RFC 3986 allows nowhere
// in a URI unescaped.
const uriExcluded = "\"<>\\^`{|}"

// strictURL reports whether s is an absolute http(s) URL with a host that
// holds no byte RFC 3986 excludes (a space, an ASCII control character or
// one of uriExcluded; bytes of UTF-8 beyond ASCII are taken, as browsers
// take IRIs) and whose port, if any, is at most 65535: a URL the ledger
// can hand on as it is, in a redirect's Location (a LaML recording's
// media) or to a client that calls it.
func strictURL(s string) bool {
	if plainHTTPURL(s) {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || strings.IndexByte(uriExcluded, c) >= 0 {
			return false
		}
	}
	u, ok := parseHTTPURL(s)
	if !ok {
		return false
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n > 65535 {
			return false
		}
	}
	return true
}

// plainHTTPURL reports whether s is "http://" or "https://", a host of
// unreserved characters (letters, digits, '-', '.', '_', '~': no port, no
// user, no IP literal), and a path of those and '/', with no query, no
// fragment and no escape: a URL url.Parse always takes, with that scheme
// and that host. Any other is left to url.Parse.
func plainHTTPURL(s string) bool {
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "http://"); !ok {
			return false
		}
	}
	host, path, _ := strings.Cut(rest, "/")
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		if !unreservedURLByte(host[i]) {
			return false
		}
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; c != '/' && !unreservedURLByte(c) {
			return false
		}
	}
	return true
}

// unreservedURLByte reports whether c is one of RFC 3986's unreserved
// characters, which a URL holds as they are anywhere.
func unreservedURLByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func checkMethod(field string, m *string) *Error {
	if m != nil && *m != "GET" && *m != "POST" {
		return invalid(field, "%q is not GET or POST", *m)
	}
	return nil
}

func checkOptionalURL(field string, s *string) *Error {
	if s != nil {
		return checkURL(field, *s)
	}
	return nil
}

func checkRouting(r *RoutingChanges) *Error {
	for _, err := range []*Error{
		checkOptionalURL("routing.url", r.URL),
		checkMethod("routing.method", r.Method),
		checkOptionalURL("routing.fallback_url", r.FallbackURL),
		checkMethod("routing.fallback_method", r.FallbackMethod),
		checkOptionalURL("routing.status_callback", r.StatusCallback),
		checkMethod("routing.status_callback_method", r.StatusCallbackMethod),
		checkTwiml("routing.twiml", r.Twiml),
		checkApplicationSID("routing.application_sid", r.ApplicationSID),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkRecording(f ListField, r Recording) *Error {
	if len(r.URL) <= URLBytesMax && validURL(r.URL) {
		return nil
	}
	return checkURL(f.Sub("url"), r.URL)
}

// checkRecordingContentType checks that a recording's content_type is an
// audio or video media type, in any letter case, with or without
// parameters: Moonbase documents audio/mpeg, other providers record
// audio/wav or video/mp4, and text/html is no recording (the LaML surface
// serves it as one). Only a recording being added, or whose content type
// changes, is checked (checkNewRecordings): one a call holds, recorded
// before this check, may be sent again as it is.
//
// f names the recording; its field name is formatted only for an error
// (ListField): every upsert that adds a recording checks one.
func checkRecordingContentType(f ListField, v string) *Error {
	if plainAVMediaType(v) {
		return nil
	}
	mt, _, err := mime.ParseMediaType(v)
	if err == nil && (strings.HasPrefix(mt, "audio/") || strings.HasPrefix(mt, "video/")) {
		return nil
	}
	return invalid(f.Sub("content_type"), "%q is not an audio or video media type (e.g. audio/mpeg)", v)
}

// plainAVMediaType reports whether v is "audio/" or "video/" and a subtype
// of MIME token characters, with no parameters and no space:
// mime.ParseMediaType takes it as that type (lower-cased) and no
// parameters, and checkRecordingContentType then accepts it, without the
// parameter map ParseMediaType makes for every type it parses.
func plainAVMediaType(v string) bool {
	subtype, ok := strings.CutPrefix(v, "audio/")
	if !ok {
		if subtype, ok = strings.CutPrefix(v, "video/"); !ok {
			return false
		}
	}
	if subtype == "" {
		return false
	}
	for i := 0; i < len(subtype); i++ {
		// A token character: printable ASCII but the tspecials.
		if c := subtype[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// checkNewRecordings checks the recordings of c against call: the content
// type of each recording call does not hold, or holds with another content
// type (a change); that no two of c's recordings are one (the same
// Identity), which would give the call two recordings of one SID, or
// change one twice in a write, the last silently winning; and that the
// write adds or changes at most RecordingChangesMax. held finds c's
// recordings among the call's (findHeldRecordings), as the plan finds them.
func checkNewRecordings(held heldRecordings, c *UpsertCall) *Error {
	if i, j := repeatedRecording(c.Recordings); i >= 0 {
		kind, value := c.Recordings[i].identityParts()
		return invalid(ListField{"recordings", i}.Sub(kind), "%q is recordings[%d]'s too: send each recording once", value, j)
	}
	changes := 0
	for i, r := range c.Recordings {
		h := held.index(r)
		if h >= 0 && held.held[h] == r {
			continue // held as it is, perhaps from before today's checks
		}
		changes++
		if h < 0 && len(r.ProviderID) > ProviderIDBytesMax {
			return invalid(ListField{"recordings", i}.Sub("provider_id"), "must be at most %d bytes, got %d", ProviderIDBytesMax, len(r.ProviderID))
		}
		if h < 0 && !printableText(r.ProviderID) {
			return invalid(ListField{"recordings", i}.Sub("provider_id"), "%q must be printable text (no control characters, tabs or line breaks)", r.ProviderID)
		}
		if h < 0 || held.held[h].URL != r.URL {
			if !strictURL(r.URL) {
				return checkURL(ListField{"recordings", i}.Sub("url"), r.URL)
			}
		}
		if h < 0 || held.held[h].ContentType != r.ContentType {
			if err := checkRecordingContentType(ListField{"recordings", i}, r.ContentType); err != nil {
				return err
			}
		}
	}
	if changes > RecordingChangesMax {
		return invalid("recordings", "this write adds or changes %d of the call's recordings, and one write may add or change at most %d: send them in several writes", changes, RecordingChangesMax)
	}
	return nil
}

// repeatedRecording returns the index i of the first recording of rs that
// is one (sameRecording) with an earlier one, and that one's index j; -1,
// -1 when there is none. A few are compared pairwise, as firstRepeat does;
// a long list (a body may hold thousands) through a map of identities, so
// that the check stays linear.
func repeatedRecording(rs []Recording) (i, j int) {
	if len(rs) <= participantsScanMax {
		for i := range rs {
			if j := recordingIndex(rs[:i], rs[i]); j >= 0 {
				return i, j
			}
		}
		return -1, -1
	}
	seen := make(map[string]int, len(rs))
	for i, r := range rs {
		id := r.Identity()
		if j, ok := seen[id]; ok {
			return i, j
		}
		seen[id] = i
	}
	return -1, -1
}

// checkTranscript checks each cue: its times within the cue bounds
// (checkCueSeconds), from not negative, to not before from.
func checkTranscript(t Transcript) *Error {
	for i, c := range t.Cues {
		f := ListField{"transcript.cues", i}
		if err := checkCueSeconds(f, "from", c.From); err != nil {
			return err
		}
		if err := checkCueSeconds(f, "to", c.To); err != nil {
			return err
		}
		if c.From.IsNegative() {
			return checkNotNegative(f.Sub("from"), c.From)
		}
		if decimalLess(c.To.Decimal, c.From.Decimal) {
			return invalid(f.Sub("to"), "%s is before from %s", c.To, c.From)
		}
	}
	return nil
}

// checkCueSeconds accepts a cue time within CueSecondsIntDigitsMax digits
// before the point and CueSecondsPlacesMax after it, so that the bound holds
// for every command, not only for the surfaces that parse cue times with
// ParseNumber. The message does not repeat the number: out of range, it may
// be one whose plain form is a gigabyte of digits. It formats the field
// name (f.Sub(name)) only for an error, as ListField asks.
func checkCueSeconds(f ListField, name string, d Decimal) *Error {
	if !withinDigits(d.Decimal, CueSecondsIntDigitsMax, CueSecondsPlacesMax) {
		return invalid(f.Sub(name), "is out of range: at most %d digits before the point and %d after it", CueSecondsIntDigitsMax, CueSecondsPlacesMax)
	}
	return nil
}

func checkQuality(q Quality) *Error {
	if q.AudioInMOS != nil && (q.AudioInMOS.LessThan(mosMin.Decimal) || q.AudioInMOS.GreaterThan(mosMax.Decimal)) {
		return invalid("quality.audio_in_mos", "%s is not within 1.0 to 5.0", q.AudioInMOS)
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{
		{"quality.audio_rtt_avg_ms", q.AudioRTTAvgMs},
		{"quality.audio_rtt_min_ms", q.AudioRTTMinMs},
		{"quality.audio_rtt_max_ms", q.AudioRTTMaxMs},
		{"quality.audio_out_jitter_min_ms", q.AudioOutJitterMinMs},
		{"quality.audio_out_jitter_max_ms", q.AudioOutJitterMaxMs},
		{"quality.audio_out_jitter_avg_ms", q.AudioOutJitterAvgMs},
		{"quality.audio_out_lost_packets", q.AudioOutLostPackets},
	} {
		if err := checkNotNegativeInt(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

func checkDetails(d *DetailsChanges) *Error {
	if d.CallType != nil && *d.CallType != CallTypeCallSession && *d.CallType != CallTypeDirectCall {
		return invalid("details.call_type", "%q is not CALL_SESSION or DIRECT_CALL", *d.CallType)
	}
	if d.setsAndClearsSync() {
		return invalid("details.synced_with_crm_at", "cannot be set and cleared in one write")
	}
	return nil
}

// checkMetadata accepts a JSON object. jsonscan.Valid says so for the
// metadata clients send, sparing most requests encoding/json's slower
// scan; json.Valid has the last word on what jsonscan declines.
func checkMetadata(m json.RawMessage) *Error {
	if m == nil {
		return nil
	}
	// Only JSON's own whitespace: bytes.TrimSpace also trims \v, \f and
	// Unicode spaces, which would let "\v{}" pass here and then fail the
	// event's encoding (json.Marshal refuses such a RawMessage).
	t := bytes.Trim(m, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || !jsonscan.Valid(t) && !json.Valid(t) {
		return invalid("provider_metadata", "must be a JSON object")
	}
	return nil
}

// metadataDepthMax bounds how deeply provider metadata nests arrays and
// objects. An export line wraps an event's data a few levels deeper than
// the API received it, and encoding/json refuses more than 10,000 levels,
// so metadata near that limit would be accepted, stored and verified, and
// then make every later export fail to import or verify. No provider's
// metadata comes near a hundred levels.
const metadataDepthMax = 1000

// checkMetadataBounds refuses provider metadata m (checked by
// checkMetadata) nesting deeper than metadataDepthMax, or holding a number
// no float64 holds. decideUpsert asks only of metadata that changes the
// call's: metadata stored before the checks existed is resent as it is by
// clients that send whole bodies, and must not make their every write fail.
func checkMetadataBounds(m json.RawMessage) *Error {
	n, depth := metadataBeyondBounds(m)
	if depth > metadataDepthMax {
		return invalid("provider_metadata", "nests arrays and objects more than %d levels deep: at most %d (an export of the log could not be read back)", metadataDepthMax, metadataDepthMax)
	}
	if n == "" {
		return nil
	}
	if len(n) > 40 {
		n = n[:40] + "…"
	}
	return invalid("provider_metadata", "the number %s is beyond a 64-bit float: clients that decode JSON numbers as doubles (Go, JavaScript) could not read the call back; send it as a string", n)
}

// metadataBeyondBounds walks the valid JSON b once and returns the first
// number whose magnitude no float64 holds (1e400), if any, or else "";
// and the depth of its nesting, or the first depth past metadataDepthMax,
// where it stops. The metadata is returned as given, and such a number in
// it would make every later read of the call fail in the vendor's SDKs.
// Only a number with an exponent or more than 300 digits can be that
// large, so the others are not parsed.
//
// It skips the strings to their closing quotes (jsonscan.ClosingQuote)
// rather than stepping through them: they are most of metadata's bytes.
func metadataBeyondBounds(b []byte) (number string, depth int) {
	level := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			i = jsonscan.ClosingQuote(b, i+1)
		case c == '{' || c == '[':
			level++
			if level > depth {
				depth = level
				if depth > metadataDepthMax {
					return number, depth
				}
			}
		case c == '}' || c == ']':
			level--
		case number == "" && (c == '-' || c >= '0' && c <= '9'):
			j := i
			for j < len(b) && strings.IndexByte("+-.0123456789eE", b[j]) >= 0 {
				j++
			}
			num := b[i:j]
			if bytes.IndexAny(num, "eE") >= 0 || len(num) > 300 {
				if f, err := strconv.ParseFloat(string(num), 64); err != nil && math.IsInf(f, 0) {
					number = string(num)
				}
			}
			i = j - 1
		}
	}
	return number, depth
}

// checkIdentity checks what every command carries.
func checkIdentity(call uuid.UUID, account string, now time.Time) *Error {
	if call == uuid.Nil {
		return invalid("call_id", "is required")
	}
	if strings.TrimSpace(account) == "" {
		return invalid("account_id", "is required")
	}
	if now.IsZero() {
		return invalid("now", "the ledger's time of the request is required")
	}
	return nil
}

// participantsScanMax is the longest participant list firstRepeat
// searches for a repeat element by element rather than with a map.
const participantsScanMax = 8

// firstRepeat returns the index of the first participant of ps listed
// earlier in ps too, or -1. A list as short as calls have is searched
// for it, not put in a map: making and filling one (hashing every role
// and phone) was the most of checking the seed's two participants.
func firstRepeat(ps []ParticipantSpec) int {
	if len(ps) <= participantsScanMax {
		for i := range ps {
			if slices.Contains(ps[:i], ps[i]) {
				return i
			}
		}
		return -1
	}
	seen := make(map[ParticipantSpec]bool, len(ps))
	for i, p := range ps {
		if seen[p] {
			return i
		}
		seen[p] = true
	}
	return -1
}

// checkUpsertFields runs every leaf check of an UpsertCall, in field order.
func checkUpsertFields(c *UpsertCall) *Error {
	switch c.Mode {
	case UpsertCreate, UpsertCreateOrUpdate, UpsertUpdate:
	default:
		return invalid("mode", "%q is not create, upsert or update", c.Mode)
	}
	// A call's id joins account, provider and provider id with NUL bytes
	// (CallIDFor): a provider holding one could address the call of
	// another provider whose provider id holds the rest. Accounts come from
	// the configured keys, which hold none, so refusing it in the provider
	// leaves every join one split.
	if strings.IndexByte(c.Provider, 0) >= 0 {
		return invalid("provider", "must not hold a NUL character (U+0000)")
	}
	if c.Direction != nil && !c.Direction.Valid() {
		return invalid("direction", "%q is not inbound or outbound", *c.Direction)
	}
	if c.From != nil {
		if err := checkAddress("from", *c.From); err != nil {
			return err
		}
	}
	if c.To != nil {
		if err := checkAddress("to", *c.To); err != nil {
			return err
		}
	}
	// The repeat is found first, and refused at its place in the list:
	// after what is wrong with the participants before it, or with it.
	repeat := firstRepeat(c.Participants)
	for i, p := range c.Participants {
		f := ListField{"participants", i}
		if !p.Role.Valid() {
			return invalid(f.Sub("role"), "%q is not caller, callee or other", p.Role)
		}
		if !ValidE164(p.Phone) {
			return checkPhone(f.Sub("phone"), p.Phone)
		}
		if i == repeat {
			return invalid(f.String(), "%s %s is listed twice", p.Role, p.Phone)
		}
	}
	// Every instant a client can send is a time, Go's zero time
	// (0001-01-01T00:00:00Z) too: an optional time is a nil pointer when
	// absent, and no reader takes the zero time for "none" (the bounds of
	// lists and billing are nil when unbounded), so refusing it would only
	// refuse one instant among the year 0000's and the year 0001's.
	if err := checkDurationSeconds("duration_seconds", c.DurationSeconds); err != nil {
		return err
	}
	if c.Status != nil && !c.Status.Valid() {
		return invalid("status", "%q is not a call status", *c.Status)
	}
	if c.ProviderStatus != nil && strings.TrimSpace(*c.ProviderStatus) == "" {
		return invalid("provider_status", "must not be empty")
	}
	if c.VoiceCallStatus != nil {
		if _, ok := ParseVoiceCallStatus(*c.VoiceCallStatus); !ok {
			return invalid("voice_call_status", "%q is not a VoiceCall status", *c.VoiceCallStatus)
		}
	}
	if c.Price != nil {
		if err := checkPrice(*c.Price); err != nil {
			return err
		}
	}
	for i, r := range c.Recordings {
		if err := checkRecording(ListField{"recordings", i}, r); err != nil {
			return err
		}
	}
	if c.Transcript != nil {
		if err := checkTranscript(*c.Transcript); err != nil {
			return err
		}
	}
	if err := checkDetails(&c.Details); err != nil {
		return err
	}
	if err := checkRouting(&c.Routing); err != nil {
		return err
	}
	if c.Quality != nil {
		if err := checkQuality(*c.Quality); err != nil {
			return err
		}
	}
	if err := checkMetadata(c.ProviderMetadata); err != nil {
		return err
	}
	if c.ParentCallID != nil && (*c.ParentCallID == uuid.Nil || *c.ParentCallID == c.CallID) {
		return invalid("parent_call_id", "must be another call's id")
	}
	return nil
}

// timeSet is a set of a call's times (start, answer, end): which of them a
// command gives, for checkOrder. It is a bit set rather than a predicate on
// the times' field names because every upsert builds two and checkOrder
// asks each up to six times: a closure and a string switch each time.
type timeSet uint8

const (
	timeStarted timeSet = 1 << iota
	timeAnswered
	timeEnded

	timesAll = timeStarted | timeAnswered | timeEnded
)

// checkOrder checks that the call's times, as they will stand, are in order:
// answer and end not before start, end not before answer. Only pairs the
// command touches are checked: a stored history is not re-judged. touched
// says which times the command gives, what the decider filled in for it
// included (a followed end); sent says which of them the client itself sent.
//
// The error names a field the client sent, so that a surface can point at
// a field of its own body: the later time of the pair, unless the client
// sent only the earlier one and the later is the call's (a start moved past
// the stored answer or end, an answer moved past the stored end). Then it
// names the earlier, and the message says that the time clashes with the
// stored one. Either way the message names both times, so that a surface
// that renders the error under another field (VoiceCall, which sends no
// answer or end, names startedAt) still says which times clash.
func checkOrder(started, answered, ended *time.Time, touched, sent timeSet) *Error {
	for _, p := range [...]struct {
		early, late           *time.Time
		earlyTime, lateTime   timeSet
		earlyField, lateField string
		earlyNoun, lateNoun   string
	}{
		{started, answered, timeStarted, timeAnswered, "started_at", "answered_at", "start", "answer"},
		{started, ended, timeStarted, timeEnded, "started_at", "ended_at", "start", "end"},
		{answered, ended, timeAnswered, timeEnded, "answered_at", "ended_at", "answer", "end"},
	} {
		if touched&(p.earlyTime|p.lateTime) == 0 || p.early == nil || p.late == nil || !p.late.Before(*p.early) {
			continue
		}
		early, late := p.early.Format(time.RFC3339Nano), p.late.Format(time.RFC3339Nano)
		if sent&p.earlyTime != 0 && sent&p.lateTime == 0 {
			return invalid(p.earlyField, "the %s %s is after the call's stored %s %s", p.earlyNoun, early, p.lateNoun, late)
		}
		return invalid(p.lateField, "the %s %s is before the %s %s", p.lateNoun, late, p.earlyNoun, early)
	}
	return nil
}
