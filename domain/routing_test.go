package domain_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// twimlHi is a TwiML document as a LaML client sends it.
const twimlHi = "<Response><Say>hi</Say></Response>"

// routingUpdate is an update of the fixture call that sets routing r.
func routingUpdate(r domain.RoutingChanges) domain.UpsertCall {
	c := upsert(domain.UpsertUpdate)
	c.Routing = r
	return c
}

// TestRoutingInstructionsValidation: a Twiml is not empty, valid UTF-8 and
// at most TwimlCharsMax characters (counted as characters, not bytes), and
// not read as XML; an ApplicationSID is 1 to ApplicationSIDBytesMax bytes
// of printable characters without spaces, in any provider's format.
func TestRoutingInstructionsValidation(t *testing.T) {
	refused := func(name, field string, r domain.RoutingChanges) gwt {
		return gwt{name: name, given: ringingCall(), when: routingUpdate(r), code: domain.ErrInvalid, field: field}
	}
	accepted := func(name string, r domain.RoutingChanges, then domain.CallRoutingChanged) gwt {
		return gwt{name: name, given: ringingCall(), when: routingUpdate(r), then: []domain.Event{then}}
	}
	longest := strings.Repeat("é", domain.TwimlCharsMax) // twice as many bytes
	notXML := "<Response><Say>unclosed"
	twilioSID := "AP" + strings.Repeat("0123456789abcdef", 2)
	signalWireSID := "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	widest := strings.Repeat("a", domain.ApplicationSIDBytesMax)
	runGWT(t, []gwt{
		refused("empty twiml", "routing.twiml", domain.RoutingChanges{Twiml: ptr("")}),
		refused("twiml over the bound", "routing.twiml", domain.RoutingChanges{Twiml: ptr(longest + "x")}),
		refused("twiml not UTF-8", "routing.twiml", domain.RoutingChanges{Twiml: ptr("<Response>\xff</Response>")}),
		refused("empty application sid", "routing.application_sid", domain.RoutingChanges{ApplicationSID: ptr("")}),
		refused("application sid over the bound", "routing.application_sid", domain.RoutingChanges{ApplicationSID: ptr(widest + "a")}),
		refused("application sid with a space", "routing.application_sid", domain.RoutingChanges{ApplicationSID: ptr("AP 1")}),
		refused("application sid with a control character", "routing.application_sid", domain.RoutingChanges{ApplicationSID: ptr("AP\n1")}),
		refused("application sid not UTF-8", "routing.application_sid", domain.RoutingChanges{ApplicationSID: ptr("AP\xff")}),
		accepted("twiml at the bound, in characters", domain.RoutingChanges{Twiml: &longest}, domain.CallRoutingChanged{Twiml: &longest}),
		accepted("twiml that is not XML", domain.RoutingChanges{Twiml: &notXML}, domain.CallRoutingChanged{Twiml: &notXML}),
		accepted("a Twilio application sid", domain.RoutingChanges{ApplicationSID: &twilioSID}, domain.CallRoutingChanged{ApplicationSID: &twilioSID}),
		accepted("a SignalWire application sid", domain.RoutingChanges{ApplicationSID: &signalWireSID}, domain.CallRoutingChanged{ApplicationSID: &signalWireSID}),
		accepted("application sid at the bound", domain.RoutingChanges{ApplicationSID: &widest}, domain.CallRoutingChanged{ApplicationSID: &widest}),
	})
}

// TestRoutingInstructionsDecide: Twiml and ApplicationSID are routing facts
// like Url: a creation carries them in its CallUpserted, a change is a
// CallRoutingChanged with only what changed, and the same values again
// emit nothing.
func TestRoutingInstructionsDecide(t *testing.T) {
	create := upsert(domain.UpsertCreate)
	create.Direction = ptr(domain.DirectionOutbound)
	create.From, create.To = ptr(caller), ptr(callee)
	create.Status = ptr(domain.StatusQueued)
	create.Routing = domain.RoutingChanges{Twiml: ptr(twimlHi), ApplicationSID: ptr("AP1")}
	createdRouted := domain.CallUpserted{Created: true, CallID: callID, AccountID: account, Provider: provider, ProviderID: providerID,
		Direction: ptr(domain.DirectionOutbound), From: ptr(caller), To: ptr(callee), StartedAt: ptr(now),
		Participants: participants(), Routing: &domain.CallRoutingChanged{Twiml: ptr(twimlHi), ApplicationSID: ptr("AP1")}}
	routed := append(ringingCall(), domain.CallRoutingChanged{URL: ptr("https://x.example.com/laml"), Twiml: ptr(twimlHi), ApplicationSID: ptr("AP1")})
	runGWT(t, []gwt{
		{name: "a creation carries them", when: create, then: []domain.Event{createdRouted, moved("", domain.StatusQueued)}},
		{name: "the same creation again is an update that changes nothing", given: []domain.Event{createdRouted, moved("", domain.StatusQueued)},
			when: func() domain.UpsertCall { c := create; c.Mode = domain.UpsertCreateOrUpdate; return c }(), then: nil},
		{name: "the same values again change nothing", given: routed,
			when: routingUpdate(domain.RoutingChanges{URL: ptr("https://x.example.com/laml"), Twiml: ptr(twimlHi), ApplicationSID: ptr("AP1")}), then: nil},
		{name: "a new twiml is the only change", given: routed,
			when: routingUpdate(domain.RoutingChanges{Twiml: ptr("<Response><Hangup/></Response>"), ApplicationSID: ptr("AP1")}),
			then: []domain.Event{domain.CallRoutingChanged{Twiml: ptr("<Response><Hangup/></Response>")}}},
		{name: "a new application sid is the only change", given: routed,
			when: routingUpdate(domain.RoutingChanges{Twiml: ptr(twimlHi), ApplicationSID: ptr("AP2")}),
			then: []domain.Event{domain.CallRoutingChanged{ApplicationSID: ptr("AP2")}}},
		{name: "a twiml differing only in spacing is a change", given: routed,
			when: routingUpdate(domain.RoutingChanges{Twiml: ptr(twimlHi + "\n")}),
			then: []domain.Event{domain.CallRoutingChanged{Twiml: ptr(twimlHi + "\n")}}},
	})
}

// TestRoutingInstructionsFold: the latest of each is the call's; a Url
// given later does not clear a Twiml, nor the other way round; and a
// routing event stored before them (no twiml, no application_sid) reads
// back and folds exactly as it always did.
func TestRoutingInstructionsFold(t *testing.T) {
	s := fold(t, append(ringingCall(),
		domain.CallRoutingChanged{Twiml: ptr(twimlHi), ApplicationSID: ptr("AP1")},
		domain.CallRoutingChanged{URL: ptr("https://x.example.com/laml")},
		domain.CallRoutingChanged{Twiml: ptr("<Response/>")},
	))
	assert.Equal(t, domain.Routing{URL: "https://x.example.com/laml", Twiml: "<Response/>", ApplicationSID: "AP1"}, s.Call.Routing)

	const storedV2 = `{"url":"https://x.example.com/laml","method":"POST"}`
	got, err := domain.UnmarshalEvent(domain.TypeCallRoutingChanged, 2, []byte(storedV2))
	require.NoError(t, err)
	assert.Equal(t, domain.CallRoutingChanged{URL: ptr("https://x.example.com/laml"), Method: ptr("POST")}, got)
	s = fold(t, append(ringingCall(), got))
	assert.Equal(t, domain.Routing{URL: "https://x.example.com/laml", Method: "POST"}, s.Call.Routing)
	createdV2 := `{"created":true,"call_id":"` + callID.String() + `","routing":{"url":"https://x.example.com/laml"}}`
	got, err = domain.UnmarshalEvent(domain.TypeCallUpserted, 2, []byte(createdV2))
	require.NoError(t, err)
	assert.Equal(t, &domain.CallRoutingChanged{URL: ptr("https://x.example.com/laml")}, got.(domain.CallUpserted).Routing)
}

// TestRoutingInstructionsStoredForm holds twiml and application_sid to
// additive optional fields of schema version 3: written after the fields
// before them, only when set, and read back as written.
func TestRoutingInstructionsStoredForm(t *testing.T) {
	for _, tc := range []struct {
		name   string
		event  domain.Event
		stored string
	}{
		{"routing with both", domain.CallRoutingChanged{URL: ptr("https://x.example.com/a"), Twiml: ptr(twimlHi), ApplicationSID: ptr("AP1")},
			`{"url":"https://x.example.com/a","twiml":"\u003cResponse\u003e\u003cSay\u003ehi\u003c/Say\u003e\u003c/Response\u003e","application_sid":"AP1"}`},
		{"routing without them, as before", domain.CallRoutingChanged{URL: ptr("https://x.example.com/a")},
			`{"url":"https://x.example.com/a"}`},
		{"a creation's routing", domain.CallUpserted{Created: true, CallID: callID, Routing: &domain.CallRoutingChanged{ApplicationSID: ptr("AP1")}},
			`{"created":true,"call_id":"` + callID.String() + `","routing":{"application_sid":"AP1"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := domain.MarshalEvent(tc.event)
			require.NoError(t, err)
			assert.Equal(t, tc.stored, string(b))
			got, err := domain.UnmarshalEvent(tc.event.EventType(), domain.SchemaVersionOf([]domain.Event{tc.event}), b)
			require.NoError(t, err)
			assert.Equal(t, tc.event, got)
		})
	}
	_, err := domain.UnmarshalEvent(domain.TypeCallRoutingChanged, domain.CurrentSchemaVersion+1, []byte(`{}`))
	assert.Error(t, err, "a version newer than the build is refused")
}

// TestSchemaVersionOf: a write is version 3 exactly when one of its events
// carries a Twiml or ApplicationSID, or clears the CRM sync date (a change,
// or a creation's routing or details), whether given as a value or by
// pointer, so that the builds before version 3 read every other write.
func TestSchemaVersionOf(t *testing.T) {
	withRouting := func(r domain.CallRoutingChanged) domain.CallUpserted {
		c := created()
		c.Routing = &r
		return c
	}
	withDetails := func(d domain.DetailsChanges) domain.CallUpserted {
		c := created()
		c.Details = &d
		return c
	}
	for _, tc := range []struct {
		name   string
		events []domain.Event
		want   int
	}{
		{"no events", nil, 2},
		{"lifecycle and a url", []domain.Event{moved("", domain.StatusRinging), domain.CallRoutingChanged{URL: ptr("https://x.example.com")}}, 2},
		{"a creation routed by url", []domain.Event{withRouting(domain.CallRoutingChanged{URL: ptr("https://x.example.com")})}, 2},
		{"a twiml change", []domain.Event{moved("", domain.StatusRinging), domain.CallRoutingChanged{Twiml: ptr(twimlHi)}}, 3},
		{"an application sid change, by pointer", []domain.Event{&domain.CallRoutingChanged{ApplicationSID: ptr("AP1")}}, 3},
		{"a creation routed by twiml", []domain.Event{withRouting(domain.CallRoutingChanged{Twiml: ptr(twimlHi)}), moved("", domain.StatusQueued)}, 3},
		{"a creation routed by an application, by pointer", []domain.Event{ptr(withRouting(domain.CallRoutingChanged{ApplicationSID: ptr("AP1")}))}, 3},
		{"nil pointers", []domain.Event{(*domain.CallUpserted)(nil), (*domain.CallRoutingChanged)(nil), (*domain.CallDetailsChanged)(nil)}, 2},
		{"a details change", []domain.Event{domain.CallDetailsChanged{Changes: domain.DetailsChanges{Notes: ptr("n")}}}, 2},
		{"a sync date cleared", []domain.Event{moved("", domain.StatusRinging), domain.CallDetailsChanged{Changes: domain.DetailsChanges{SyncedWithCRMAtCleared: true}}}, 3},
		{"a sync date cleared, by pointer", []domain.Event{&domain.CallDetailsChanged{Changes: domain.DetailsChanges{SyncedWithCRMAtCleared: true}}}, 3},
		{"a creation's details", []domain.Event{withDetails(domain.DetailsChanges{Notes: ptr("n")})}, 2},
		{"a creation's details clearing the sync date", []domain.Event{withDetails(domain.DetailsChanges{SyncedWithCRMAtCleared: true})}, 3},
		{"a creation's details clearing the sync date, by pointer", []domain.Event{ptr(withDetails(domain.DetailsChanges{SyncedWithCRMAtCleared: true}))}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, domain.SchemaVersionOf(tc.events))
		})
	}
}
