package domain_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// TestUpsertValidation refuses each malformed field with ErrInvalid naming it.
func TestUpsertValidation(t *testing.T) {
	with := func(f func(*domain.UpsertCall)) domain.UpsertCall {
		c := seed000()
		f(&c)
		return c
	}
	row := func(name, field string, f func(*domain.UpsertCall)) gwt {
		return gwt{name: name, when: with(f), code: domain.ErrInvalid, field: field}
	}
	runGWT(t, []gwt{
		row("no mode", "mode", func(c *domain.UpsertCall) { c.Mode = "" }),
		row("no call id", "call_id", func(c *domain.UpsertCall) { c.CallID = [16]byte{} }),
		row("no account", "account_id", func(c *domain.UpsertCall) { c.AccountID = "" }),
		row("no provider on creation", "provider", func(c *domain.UpsertCall) { c.Provider = " " }),
		row("no provider id on creation", "provider_id", func(c *domain.UpsertCall) { c.ProviderID = "" }),
		// CallIDFor("a", "open\x00phone", "x") is CallIDFor("a", "open", "phone\x00x").
		row("provider holding NUL", "provider", func(c *domain.UpsertCall) { c.Provider = "open\x00phone" }),
		row("no direction on creation", "direction", func(c *domain.UpsertCall) { c.Direction = nil }),
		row("unknown direction", "direction", func(c *domain.UpsertCall) { c.Direction = ptr(domain.Direction("incoming")) }),
		row("from without +", "from", func(c *domain.UpsertCall) { c.From = ptr("14155551212") }),
		row("to starting with 0", "to", func(c *domain.UpsertCall) { c.To = ptr("+04155551212") }),
		row("to too long", "to", func(c *domain.UpsertCall) { c.To = ptr("+1234567890123456") }),
		row("to too short", "to", func(c *domain.UpsertCall) { c.To = ptr("+1") }),
		row("participant phone", "participants[1].phone", func(c *domain.UpsertCall) { c.Participants[1].Phone = "+1 650 555" }),
		row("participant role", "participants[0].role", func(c *domain.UpsertCall) { c.Participants[0].Role = "host" }),
		row("participant twice", "participants[1]", func(c *domain.UpsertCall) { c.Participants[1] = c.Participants[0] }),
		row("participant twice in a long list", "participants[11]", func(c *domain.UpsertCall) {
			c.Participants = manyParticipants(12)
			c.Participants[11] = c.Participants[3]
		}),
		row("participant twice late in a short list", "participants[7]", func(c *domain.UpsertCall) {
			c.Participants = manyParticipants(8)
			c.Participants[7] = c.Participants[6]
		}),
		row("end before start", "ended_at", func(c *domain.UpsertCall) { c.AnsweredAt = nil; c.EndedAt = ptr(at(-1)) }),
		row("answer before start", "answered_at", func(c *domain.UpsertCall) { c.AnsweredAt = ptr(at(-1)) }),
		row("end before answer", "ended_at", func(c *domain.UpsertCall) { c.AnsweredAt = ptr(at(10)); c.EndedAt = ptr(at(5)) }),
		row("negative duration", "duration_seconds", func(c *domain.UpsertCall) { c.DurationSeconds = ptr(int64(-5)) }),
		row("unknown status", "status", func(c *domain.UpsertCall) { c.Status = ptr(domain.Status("done")) }),
		row("empty provider status", "provider_status", func(c *domain.UpsertCall) { c.ProviderStatus = ptr("") }),
		row("provider status with a NUL", "provider_status", func(c *domain.UpsertCall) { c.ProviderStatus = ptr("complete\x00d") }),
		row("provider status with a line break", "provider_status", func(c *domain.UpsertCall) { c.ProviderStatus = ptr("completed\nforged") }),
		row("provider status of a bidi override", "provider_status", func(c *domain.UpsertCall) { c.ProviderStatus = ptr("\u202edetelpmoc") }),
		row("provider status too long", "provider_status", func(c *domain.UpsertCall) {
			c.ProviderStatus = ptr(strings.Repeat("s", domain.ProviderStatusBytesMax+1))
		}),
		row("provider id with a line break on creation", "provider_id", func(c *domain.UpsertCall) { c.ProviderID = "op\n6" }),
		row("provider id with a NUL on creation", "provider_id", func(c *domain.UpsertCall) { c.ProviderID = "op\x006" }),
		row("lower-case VoiceCall status", "voice_call_status", func(c *domain.UpsertCall) { c.VoiceCallStatus = ptr("missed") }),
		row("negative rate", "price.rate", func(c *domain.UpsertCall) {
			c.Price = &domain.Price{Rate: dec("-0.01"), Total: dec("0"), Currency: "USD"}
		}),
		row("currency of four letters", "price.currency", func(c *domain.UpsertCall) {
			c.Price = &domain.Price{Total: dec("0"), Currency: "USDT"}
		}),
		row("currency ISO 4217 does not assign", "price.currency", func(c *domain.UpsertCall) {
			c.Price = &domain.Price{Total: dec("0"), Currency: "ZZZ"}
		}),
		row("crypto currency", "price.currency", func(c *domain.UpsertCall) {
			c.Price = &domain.Price{Total: dec("0"), Currency: "BTC"}
		}),
		row("currency code for no currency", "price.currency", func(c *domain.UpsertCall) {
			c.Price = &domain.Price{Total: dec("0"), Currency: "XXX"}
		}),
		row("withdrawn currency", "price.currency", func(c *domain.UpsertCall) {
			c.Price = &domain.Price{Total: dec("0"), Currency: "HRK"}
		}),
		row("relative recording URL", "recordings[0].url", func(c *domain.UpsertCall) {
			c.Recordings = []domain.Recording{{ContentType: "audio/mpeg", URL: "/rec.mp3"}}
		}),
		row("recording that is not audio or video", "recordings[0].content_type", func(c *domain.UpsertCall) {
			c.Recordings = []domain.Recording{{ContentType: "text/html", URL: "https://x.example.com/r.mp3"}}
		}),
		row("recording content type that is no media type", "recordings[0].content_type", func(c *domain.UpsertCall) {
			c.Recordings = []domain.Recording{{ContentType: "mp3", URL: "https://x.example.com/r.mp3"}}
		}),
		row("ftp routing URL", "routing.url", func(c *domain.UpsertCall) { c.Routing.URL = ptr("ftp://x.example.com/a") }),
		row("routing URL over URLBytesMax", "routing.url", func(c *domain.UpsertCall) {
			c.Routing.URL = ptr("https://x.example.com/" + strings.Repeat("a", domain.URLBytesMax))
		}),
		row("recording URL over URLBytesMax", "recordings[0].url", func(c *domain.UpsertCall) {
			c.Recordings = []domain.Recording{{ContentType: "audio/mpeg", URL: "https://x.example.com/" + strings.Repeat("a", domain.URLBytesMax)}}
		}),
		row("routing method", "routing.method", func(c *domain.UpsertCall) { c.Routing.Method = ptr("PUT") }),
		row("fallback method", "routing.fallback_method", func(c *domain.UpsertCall) { c.Routing.FallbackMethod = ptr("get") }),
		row("status callback URL", "routing.status_callback", func(c *domain.UpsertCall) { c.Routing.StatusCallback = ptr("callback") }),
		row("status callback method", "routing.status_callback_method", func(c *domain.UpsertCall) { c.Routing.StatusCallbackMethod = ptr("DELETE") }),
		row("MOS above 5", "quality.audio_in_mos", func(c *domain.UpsertCall) { c.Quality = &domain.Quality{AudioInMOS: ptr(dec("5.01"))} }),
		row("MOS below 1", "quality.audio_in_mos", func(c *domain.UpsertCall) { c.Quality = &domain.Quality{AudioInMOS: ptr(dec("0.9"))} }),
		row("negative packets lost", "quality.audio_out_lost_packets", func(c *domain.UpsertCall) {
			c.Quality = &domain.Quality{AudioOutLostPackets: ptr(int64(-1))}
		}),
		row("call type", "details.call_type", func(c *domain.UpsertCall) { c.Details.CallType = ptr("CONFERENCE") }),
		row("metadata not an object", "provider_metadata", func(c *domain.UpsertCall) { c.ProviderMetadata = []byte(`[1]`) }),
		row("metadata not JSON", "provider_metadata", func(c *domain.UpsertCall) { c.ProviderMetadata = []byte(`{`) }),
		row("cue ends before it starts", "transcript.cues[0].to", func(c *domain.UpsertCall) {
			c.Transcript = &domain.Transcript{Cues: []domain.TranscriptCue{{From: dec("2"), To: dec("1")}}}
		}),
		row("cue starts before zero", "transcript.cues[1].from", func(c *domain.UpsertCall) {
			c.Transcript = &domain.Transcript{Cues: []domain.TranscriptCue{{From: dec("0"), To: dec("1")}, {From: dec("-1"), To: dec("2")}}}
		}),
		row("parent is the call itself", "parent_call_id", func(c *domain.UpsertCall) { c.ParentCallID = ptr(callID) }),
	})
}

// TestCueTimeBoundsAreADecideInvariant: a cue time must be below 10^15
// seconds with at most 30 places (CueSecondsIntDigitsMax,
// CueSecondsPlacesMax) whatever built the command, not only when the
// Moonbase surface parsed it: Decide refuses any other, naming the cue's
// field, and without writing the number out (1e999999999 would be a
// gigabyte of digits).
func TestCueTimeBoundsAreADecideInvariant(t *testing.T) {
	cue := func(from, to domain.Decimal) domain.UpsertCall {
		c := upsert(domain.UpsertUpdate)
		c.Transcript = &domain.Transcript{Cues: []domain.TranscriptCue{{From: from, To: to, Speaker: "A", Text: "hi"}}}
		return c
	}
	exp := func(coefficient int64, exponent int32) domain.Decimal {
		return domain.NewDecimal(decimal.New(coefficient, exponent))
	}
	widest := dec("999999999999999")                                // 15 digits
	finest := dec("999999999999999.999999999999999999999999999999") // and 30 places
	runGWT(t, []gwt{
		{name: "the widest and finest times are taken", given: ringingCall(), when: cue(widest, finest), then: []domain.Event{
			domain.CallTranscriptChanged{Transcript: domain.Transcript{Cues: []domain.TranscriptCue{{From: widest, To: finest, Speaker: "A", Text: "hi"}}}},
		}},
		{name: "10^15 seconds is refused", given: ringingCall(), when: cue(dec("0"), exp(1, 15)),
			code: domain.ErrInvalid, field: "transcript.cues[0].to"},
		{name: "31 places are refused", given: ringingCall(), when: cue(exp(1, -31), dec("1")),
			code: domain.ErrInvalid, field: "transcript.cues[0].from"},
		{name: "1e999999999 is refused", given: ringingCall(), when: cue(dec("0"), exp(1, 999999999)),
			code: domain.ErrInvalid, field: "transcript.cues[0].to"},
		{name: "1e-999999999 is refused", given: ringingCall(), when: cue(exp(1, -999999999), dec("1")),
			code: domain.ErrInvalid, field: "transcript.cues[0].from"},
		{name: "a plain number past the bound is refused", given: ringingCall(), when: cue(dec("1000000000000000.5"), dec("1000000000000001")),
			code: domain.ErrInvalid, field: "transcript.cues[0].from"},
	})
}

// TestZeroTimeIsATime checks that Go's zero time (0001-01-01T00:00:00Z) is
// taken as the instant it is, like the year 0000 before it: nothing reads
// it as "no time", so no command is refused for it.
func TestZeroTimeIsATime(t *testing.T) {
	zero := zeroTime()
	for _, tc := range []struct {
		name string
		when func(*domain.UpsertCall)
	}{
		{"start, answer and end at the zero time", func(c *domain.UpsertCall) {
			c.StartedAt, c.AnsweredAt, c.EndedAt = ptr(zero), ptr(zero), ptr(zero)
		}},
		{"start in the year 0000, end at the zero time", func(c *domain.UpsertCall) {
			c.StartedAt, c.AnsweredAt, c.EndedAt = ptr(zero.Add(-time.Hour)), nil, ptr(zero)
		}},
		{"synced with the CRM at the zero time", func(c *domain.UpsertCall) { c.Details.SyncedWithCRMAt = ptr(zero) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := seed000()
			tc.when(&c)
			events, err := domain.Decide(domain.State{}, c)
			require.NoError(t, err)
			s := fold(t, events)
			if c.StartedAt != nil {
				require.NotNil(t, s.Call.StartedAt)
				assert.True(t, c.StartedAt.Equal(*s.Call.StartedAt))
			}
			if c.Details.SyncedWithCRMAt != nil {
				require.NotNil(t, s.Call.Details.SyncedWithCRMAt)
				assert.True(t, zero.Equal(*s.Call.Details.SyncedWithCRMAt))
			}
		})
	}
	t.Run("answer at the zero time", func(t *testing.T) {
		started := domain.CallUpserted{StartedAt: ptr(zero.Add(-time.Minute))}
		events, err := domain.Decide(fold(t, append(ringingCall(), started)),
			domain.AnswerCall{CallID: callID, AccountID: account, Now: now, AnsweredAt: ptr(zero)})
		require.NoError(t, err)
		require.Len(t, events, 1)
		assert.Equal(t, zero, events[0].(domain.CallAnswered).AnsweredAt)
	})
}

// TestValidCurrency pins the currency rule: a code of ISO 4217's List One,
// the codes in use, in upper case; its funds and units (XAU, CLF, XDR) too,
// and the codes assigned lately (VES, SLE, XCG, ZWG). Not XXX (no
// currency) or XTS (testing), not a code ISO never assigned (CNH, the
// offshore yuan's market name) and not a code it withdrew before 2024
// (DEM, HRK, SLL, MRO, CUC), all of which the table the ledger used before
// took; the codes replaced since 2024 (ZWL, ANG, BGN) stay, for late
// prices of calls made before the switch.
func TestValidCurrency(t *testing.T) {
	for s, want := range map[string]bool{
		"USD": true, "EUR": true, "JPY": true, "CHF": true, "KWD": true,
		"MRU": true, "SLE": true, "UYW": true, "VED": true, "VES": true, "XCG": true, "ZWG": true,
		"XAU": true, "XAG": true, "XDR": true, "CLF": true, "BOV": true, "USN": true, "XAF": true,
		"XXX": false, "XTS": false, "CNH": false, "CNX": false,
		"DEM": false, "FRF": false, "HRK": false, "SLL": false, "MRO": false, "VEF": false,
		"ZWL": true, "ANG": true, "BGN": true, "CUC": false,
		"ZZZ": false, "BTC": false, "AAA": false, "eur": false, "Eur": false, "EURO": false, "EU": false,
		"": false, "E1R": false, "ÉUR": false,
	} {
		assert.Equal(t, want, domain.ValidCurrency(s), s)
	}
}

// TestValidE164 pins the E.164 rule: "+", 2 to 15 digits, first not 0.
// TestOrderErrorsNameAFieldSent checks that an upsert whose times would
// stand out of order is refused naming a field the client sent: the later
// time of the pair, unless only the earlier was sent and the later is the
// call's stored one (a start or answer moved past it). Then the message
// says the time clashes with the stored one. Either way it gives both.
func TestOrderErrorsNameAFieldSent(t *testing.T) {
	times := func(started, answered, ended *time.Time) domain.UpsertCall {
		c := upsert(domain.UpsertUpdate)
		c.StartedAt, c.AnsweredAt, c.EndedAt = started, answered, ended
		return c
	}
	for _, tc := range []struct {
		name       string
		given      []domain.Event
		when       domain.UpsertCall
		field, msg string
	}{
		{"a start moved past the stored answer names the start", completedCall(), times(ptr(at(5)), nil, nil),
			"started_at", "the start 2025-02-17T15:05:00Z is after the call's stored answer 2025-02-17T15:01:00Z"},
		{"a start moved past the stored end names the start", endedUnanswered(), times(ptr(at(40)), nil, nil),
			"started_at", "the start 2025-02-17T15:40:00Z is after the call's stored end 2025-02-17T15:30:00Z"},
		{"an answer moved past the stored end names the answer", endedUnanswered(), times(nil, ptr(at(40)), nil),
			"answered_at", "the answer 2025-02-17T15:40:00Z is after the call's stored end 2025-02-17T15:30:00Z"},
		{"a start and an answer sent out of order name the answer", completedCall(), times(ptr(at(5)), ptr(at(2)), nil),
			"answered_at", "the answer 2025-02-17T15:02:00Z is before the start 2025-02-17T15:05:00Z"},
		{"an answer sent before the stored start names the answer", ringingCall(), times(nil, ptr(at(-1)), nil),
			"answered_at", "the answer 2025-02-17T14:59:00Z is before the start 2025-02-17T15:00:00Z"},
		{"an end sent before the stored answer names the end", answeredCall(), times(nil, nil, ptr(at(0))),
			"ended_at", "the end 2025-02-17T15:00:00Z is before the answer 2025-02-17T15:01:00Z"},
		{"a start and an end sent out of order name the end", endedUnanswered(), times(ptr(at(5)), nil, ptr(at(4))),
			"ended_at", "the end 2025-02-17T15:04:00Z is before the start 2025-02-17T15:05:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := domain.Decide(fold(t, tc.given), tc.when)
			var de *domain.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, domain.ErrInvalid, de.Code)
			assert.Equal(t, tc.field, de.Field)
			assert.Equal(t, tc.msg, de.Message)
		})
	}
}

func TestValidE164(t *testing.T) {
	for s, want := range map[string]bool{
		"+14155551212": true, "+12": true, "+123456789012345": true,
		"+1234567890123456": false, "+1": false, "14155551212": false, "+01": false,
		"+1 415": false, "": false, "+": false, "++1": false, "+1a": false,
	} {
		assert.Equal(t, want, domain.ValidE164(s), s)
	}
}

// TestSIPAddressesAreTaken checks LaML's non-phone addresses in From and To.
func TestSIPAddressesAreTaken(t *testing.T) {
	c := seed000()
	c.To = ptr("sip:alice@example.com")
	_, err := domain.Decide(domain.State{}, c)
	assert.NoError(t, err)
}

// TestProviderMetadataBounds: provider metadata is returned as given, so
// a number no float64 holds is refused (the vendors' SDKs decode JSON
// numbers as doubles and would fail on every read of the call); large
// numbers that fit, tiny ones and such text inside strings pass. And it
// may nest arrays and objects 1,000 levels deep (the object itself counts
// as one), not more: an export line wraps it deeper, and encoding/json,
// which reads exports back, stops at 10,000. Brackets inside strings do
// not count, and a number beyond a float64 after the depth is reached is
// still refused.
func TestProviderMetadataBounds(t *testing.T) {
	nest := func(levels int) string {
		return `{"a":` + strings.Repeat("[", levels-1) + strings.Repeat("]", levels-1) + `}`
	}
	const beyondFloat, tooDeep = "64-bit float", "more than 1000 levels"
	for _, tc := range []struct {
		name, metadata string
		message        string // "" for accepted
	}{
		{"an exponent beyond", `{"f":1.0e400}`, beyondFloat},
		{"a negative one beyond", `{"a":[1,{"g":-2E+309}]}`, beyondFloat},
		{"400 digits", `{"n":1` + strings.Repeat("0", 400) + `}`, beyondFloat},
		{"the largest double", `{"f":1.7976931348623157e308}`, ""},
		{"30 digits", `{"n":123456789012345678901234567890}`, ""},
		{"a tiny one, read as 0", `{"f":1e-400}`, ""},
		{"inside a string", `{"s":"1e400"}`, ""},
		{"after an escaped quote in a string", `{"k\"1e400":2}`, ""},
		{"as a key", `{"1e400":2}`, ""},
		{"after a key ending in an escaped backslash", `{"k\\":1e400}`, beyondFloat},
		{"a key of two escaped backslashes", `{"k\\\\":1}`, ""},
		{"1,000 levels", nest(1000), ""},
		{"1,001 levels", nest(1001), tooDeep},
		{"9,998 levels", nest(9998), tooDeep},
		{"objects in objects", `{"a":` + strings.Repeat(`{"b":`, 999) + "1" + strings.Repeat("}", 999) + `}`, ""},
		{"objects in objects past the bound", `{"a":` + strings.Repeat(`{"b":`, 1000) + "1" + strings.Repeat("}", 1000) + `}`, tooDeep},
		{"brackets in a string", `{"s":"` + strings.Repeat("[", 2000) + `"}`, ""},
		{"siblings, each shallow", `{"a":[` + strings.Repeat("[[]],", 2000) + `[]]}`, ""},
		{"a deep number beyond a float64", `{"a":` + strings.Repeat("[", 999) + "1e400" + strings.Repeat("]", 999) + `}`, beyondFloat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := seed000()
			c.ProviderMetadata = json.RawMessage(tc.metadata)
			_, err := domain.Decide(domain.State{}, c)
			if tc.message == "" {
				require.NoError(t, err)
				return
			}
			var de *domain.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, domain.ErrInvalid, de.Code)
			assert.Equal(t, "provider_metadata", de.Field)
			assert.Contains(t, de.Message, tc.message)
		})
	}
}

// TestStoredMetadataBeyondFloat64IsResendable: metadata stored before the
// float64 bound existed may hold such a number; a client resending it as
// it is (whole bodies, as Moonbase clients send) is not refused, a change
// to another such number is.
func TestStoredMetadataBeyondFloat64IsResendable(t *testing.T) {
	_, s, err := domain.DecideFold(domain.State{}, seed000(), now)
	require.NoError(t, err)
	s = domain.Evolve(s, domain.Envelope{Event: domain.CallProviderMetadataChanged{ProviderMetadata: json.RawMessage(`{"f":1e400}`)}})

	resend := seed000()
	resend.ProviderMetadata = json.RawMessage(`{"f":1e400}`)
	events, err := domain.Decide(s, resend)
	require.NoError(t, err)
	assert.Empty(t, events, "the same metadata again changes nothing")

	change := seed000()
	change.ProviderMetadata = json.RawMessage(`{"f":2e400}`)
	_, err = domain.Decide(s, change)
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "provider_metadata", de.Field)
}

// TestProviderMetadataValidation checks that provider metadata is accepted
// exactly when it is a JSON object (json.Valid, and an object once JSON's
// whitespace is trimmed), whether jsonscan reads it or declines it to
// encoding/json, and that what it accepts can be written in an event.
func TestProviderMetadataValidation(t *testing.T) {
	for _, tc := range []struct {
		name, metadata string
		ok             bool
	}{
		{"compact", `{"answered_by":"UShjUatqtF","n":[1,2.5,null,true]}`, true},
		{"spaced", " {\n\t\"a\" : [ 1 , 2 ] }\r\n", true},
		{"empty object", `{}`, true},
		{"a lone surrogate, which jsonscan declines", `{"a":"\ud800"}`, true},
		{"invalid UTF-8, which jsonscan declines", "{\"a\":\"\xff\"}", true},
		{"nested deeper than jsonscan reads", `{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, true},
		{"not an object", `[1]`, false},
		{"a string", `"{}"`, false},
		{"truncated", `{"a":`, false},
		{"a trailing comma", `{"a":1,}`, false},
		{"two objects", `{} {}`, false},
		{"trailing data", `{}x`, false},
		{"blank", ` `, false},
		{"single quotes", `{'a':1}`, false},
		{"a vertical tab before it, not JSON whitespace", "\v{}", false},
		{"a no-break space after it", "{}\u00a0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trimmed := bytes.Trim([]byte(tc.metadata), " \t\r\n")
			require.Equal(t, tc.ok, json.Valid([]byte(tc.metadata)) && trimmed[0] == '{', "the table agrees with encoding/json")
			c := seed000()
			c.ProviderMetadata = json.RawMessage(tc.metadata)
			events, err := domain.Decide(domain.State{}, c)
			if tc.ok {
				require.NoError(t, err)
				for _, e := range events {
					_, err := domain.MarshalEvent(e)
					require.NoError(t, err, "an accepted call's %s event must encode", e.EventType())
				}
				return
			}
			var de *domain.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, domain.ErrInvalid, de.Code)
			assert.Equal(t, "provider_metadata", de.Field)
		})
	}
}

func TestRecordingContentTypes(t *testing.T) {
	// Goal: a recording's content_type is any audio or video media type, in
	// any letter case and with parameters (Moonbase documents audio/mpeg;
	// other providers record audio/wav, video/mp4); anything else is refused
	// naming it (QA: text/html was served on LaML as a recording).
	for _, tc := range []struct {
		contentType string
		ok          bool
	}{
		{"audio/mpeg", true}, {"Audio/MPEG", true}, {"audio/wav", true}, {"video/mp4", true},
		{"audio/mp4; codecs=mp4a.40.2", true},
		{"text/html", false}, {"application/octet-stream", false}, {"mp3", false}, {"", false}, {"audio/", false},
	} {
		c := seed000()
		c.Recordings = []domain.Recording{{ContentType: tc.contentType, ProviderID: "r1", URL: "https://x.example.com/r.mp3"}}
		_, err := domain.Decide(domain.State{}, c)
		if tc.ok {
			assert.NoError(t, err, tc.contentType)
			continue
		}
		var de *domain.Error
		if assert.ErrorAs(t, err, &de, tc.contentType) {
			assert.Equal(t, "recordings[0].content_type", de.Field, tc.contentType)
		}
	}
}

func TestRecordingChecksOfAHeldRecording(t *testing.T) {
	// Goal: only a recording being added (or the part of it that changes)
	// has its content_type and its URL checked whole: a call holding one
	// recorded before a check (application/octet-stream; a URL with a
	// space, which url.Parse took; a provider id longer than
	// ProviderIDBytesMax) takes the same recording sent again,
	// while a new one like it is refused, naming the field.
	for _, tc := range []struct {
		name  string
		held  domain.Recording
		added domain.Recording
		field string
	}{
		{"content type", domain.Recording{ContentType: "application/octet-stream", ProviderID: "old", URL: "https://x.example.com/old"},
			domain.Recording{ContentType: "application/octet-stream", ProviderID: "new", URL: "https://x.example.com/new"}, "content_type"},
		{"url", domain.Recording{ContentType: "audio/mpeg", ProviderID: "old", URL: "https://x.example.com/a b.mp3"},
			domain.Recording{ContentType: "audio/mpeg", ProviderID: "new", URL: "https://x.example.com/c d.mp3"}, "url"},
		{"provider id", domain.Recording{ContentType: "audio/mpeg", ProviderID: strings.Repeat("o", domain.ProviderIDBytesMax+1), URL: "https://x.example.com/o.mp3"},
			domain.Recording{ContentType: "audio/mpeg", ProviderID: strings.Repeat("n", domain.ProviderIDBytesMax+1), URL: "https://x.example.com/n.mp3"}, "provider_id"},
		{"provider id not printable", domain.Recording{ContentType: "audio/mpeg", ProviderID: "o\x01ld", URL: "https://x.example.com/o.mp3"},
			domain.Recording{ContentType: "audio/mpeg", ProviderID: "n\nw", URL: "https://x.example.com/n.mp3"}, "provider_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s domain.State
			for _, e := range seed000History() {
				s = domain.Evolve(s, domain.Envelope{Event: e})
			}
			s = domain.Evolve(s, domain.Envelope{Event: domain.CallRecordingAdded{Recording: tc.held}})

			c := seed000()
			c.Recordings = append(slices.Clone(c.Recordings), tc.held)
			_, err := domain.Decide(s, c)
			require.NoError(t, err)

			c.Recordings = append(c.Recordings, tc.added)
			_, err = domain.Decide(s, c)
			var de *domain.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, fmt.Sprintf("recordings[%d].%s", len(c.Recordings)-1, tc.field), de.Field)
		})
	}
}

// manyParticipants returns n participants, a caller and a callee and then
// others, each with a phone of its own.
func manyParticipants(n int) []domain.ParticipantSpec {
	ps := []domain.ParticipantSpec{{Role: domain.RoleCaller, Phone: caller}, {Role: domain.RoleCallee, Phone: callee}}
	for i := len(ps); i < n; i++ {
		ps = append(ps, domain.ParticipantSpec{Role: domain.RoleOther, Phone: fmt.Sprintf("+1415555%04d", i)})
	}
	return ps[:n]
}

// TestLongParticipantListsAreTaken checks that participant lists longer
// and shorter than checkUpsertFields searches without a map, each
// participant in them once, are taken.
func TestLongParticipantListsAreTaken(t *testing.T) {
	for _, n := range []int{1, 8, 9, 30} {
		c := seed000()
		c.Participants = manyParticipants(n)
		_, err := domain.Decide(domain.State{}, c)
		require.NoError(t, err, "%d participants", n)
	}
}

// TestPriceBounds checks that a price's rate and total are refused beyond
// PriceIntDigitsMax digits before the point or PricePlacesMax after it,
// naming the field, where any number of digits was stored (and written by
// LaML as a JSON number of thousands of digits); the price at the bounds
// is taken as written.
func TestPriceBounds(t *testing.T) {
	atBound := "999999999999999.999999999999999999"
	require.Len(t, atBound, domain.PriceIntDigitsMax+1+domain.PricePlacesMax)
	for _, tc := range []struct {
		name, rate, total, field string
	}{
		{name: "both at the bounds", rate: atBound, total: atBound},
		{name: "a rate of 16 digits", rate: "1" + strings.Repeat("0", 15), total: "1", field: "price.rate"},
		{name: "a total of 19 places", rate: "1", total: "0." + strings.Repeat("0", 18) + "1", field: "price.total"},
		{name: "a total of 5,001 digits", rate: "1", total: "1" + strings.Repeat("0", 5000), field: "price.total"},
		{name: "trailing zeros past the places", rate: "1." + strings.Repeat("0", 19), total: "1", field: "price.rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := seed000()
			c.Price = &domain.Price{Rate: dec(tc.rate), Total: dec(tc.total), Currency: "USD"}
			events, err := domain.Decide(domain.State{}, c)
			if tc.field != "" {
				var de *domain.Error
				require.ErrorAs(t, err, &de)
				assert.Equal(t, tc.field, de.Field)
				assert.Contains(t, de.Error(), "at most 15 digits before the point and 18 after it")
				assert.Less(t, len(de.Error()), 200, "the message does not repeat the number")
				return
			}
			require.NoError(t, err)
			s := fold(t, events)
			require.NotNil(t, s.Call.Price)
			assert.Equal(t, atBound, s.Call.Price.Total.String())
			assert.Equal(t, atBound, s.Call.Price.Rate.String())
		})
	}
}

func TestHeldProviderStatusIsResentAsItIs(t *testing.T) {
	// Goal: a provider status stored before it had to be printable text of
	// at most ProviderStatusBytesMax bytes is taken sent again as it is
	// (clients send whole bodies), while a new one like it is refused.
	for _, held := range []string{"done\x01", strings.Repeat("s", domain.ProviderStatusBytesMax+1)} {
		var s domain.State
		for _, e := range seed000History() {
			s = domain.Evolve(s, domain.Envelope{Event: e})
		}
		s.Call.ProviderStatus = held
		c := seed000()
		c.ProviderStatus = ptr(held)
		_, err := domain.Decide(s, c)
		require.NoError(t, err, "%q", held)

		c.ProviderStatus = ptr(held + "x")
		_, err = domain.Decide(s, c)
		var de *domain.Error
		require.ErrorAs(t, err, &de, "%q", held)
		assert.Equal(t, "provider_status", de.Field)
	}
}
