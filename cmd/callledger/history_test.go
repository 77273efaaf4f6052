package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// historyEventsPage is the part of GET /v1/calls/{id}/events that history
// must agree with.
type historyEventsPage struct {
	Events []struct {
		Revision uint64                    `json:"revision"`
		Position eventstore.ExportPosition `json:"position"`
		ID       uuid.UUID                 `json:"id"`
		Type     string                    `json:"type"`
		Metadata domain.Metadata           `json:"metadata"`
		Hash     string                    `json:"hash"`
	} `json:"events"`
}

func TestHistoryShowsWhereEachEventIs(t *testing.T) {
	// Goal: under each event, history prints its global position, its
	// event id, the idempotency key of the write when it had one (quoted)
	// and its stream-chain hash: the values GET /v1/calls/{id}/events
	// gives for the same event, so that an auditor can tie each line of the
	// timeline to the log and to an export.
	ctx := context.Background()
	dir := t.TempDir()
	const token = "token-a-0123456789abcdef"
	m, _, _ := startMain(t, dir, map[string]string{"CALLLEDGER_API_KEYS": "acct-a:" + token})

	send := func(method, path, key, body string) []byte {
		t.Helper()
		req, err := http.NewRequest(method, m.URL()+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		code, b, _ := roundTrip(t, req)
		require.Less(t, code, 300, "%s %s: %s", method, path, b)
		return b
	}
	var callID string
	events := func() historyEventsPage {
		t.Helper()
		var page historyEventsPage
		require.NoError(t, json.Unmarshal(send("GET", "/v1/calls/"+callID+"/events", "", ""), &page))
		return page
	}

	writes := []struct {
		name, method, path, key, body string
	}{
		{"KeyedCreate", "POST", "/calls/upsert", "order-42", seedUpsert},
		{"UnkeyedPatch", "PATCH", "/v1/calls/{id}", "", `{"notes": "called back"}`},
		{"KeyWithSpaces", "POST", "/calls/upsert", "retry 2 of order-42", strings.Replace(seedUpsert, `"completed"`, `"voicemail"`, 1)},
	}
	firstRevision := make([]int, len(writes)+1) // the revisions each write appended: [first[i], first[i+1])
	for i, w := range writes {
		b := send(w.method, strings.ReplaceAll(w.path, "{id}", callID), w.key, w.body)
		if callID == "" {
			var call struct {
				ID string `json:"id"`
			}
			require.NoError(t, json.Unmarshal(b, &call))
			callID = call.ID
		}
		firstRevision[i+1] = len(events().Events)
		require.Greater(t, firstRevision[i+1], firstRevision[i], "%s appended an event", w.name)
	}
	page := events()
	require.NoError(t, m.Close()) // history opens the store itself
	require.NoError(t, m.Close(), "a second Close returns the first's result")

	res := runTool(ctx, t, dir, "", "history", callID)
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotContains(t, res.stdout, "!", "an intact log: every hash recomputes")
	for i, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			for _, e := range page.Events[firstRevision[i]:firstRevision[i+1]] {
				assert.Equal(t, w.key, e.Metadata.IdempotencyKey, "the API's metadata carries the key")
				key := ""
				if w.key != "" {
					key = "  idempotency_key " + strconv.Quote(w.key)
				}
				want := fmt.Sprintf("  #%d  %s  (by %s, via %s, request %s)\n    position %d  id %s%s\n    hash %s\n",
					e.Revision, e.Type, e.Metadata.Actor, e.Metadata.Surface, e.Metadata.RequestID, e.Position.Commit, e.ID, key, e.Hash)
				assert.Contains(t, res.stdout, want)
			}
		})
	}
}

func TestHistoryFlagsAlteredEvents(t *testing.T) {
	// Goal: history recomputes each event's stream-chain hash from the
	// event as stored and the hash before it, as verify does, and flags
	// the events whose stored hash does not recompute: an event whose
	// metadata was altered (and the record checksum recomputed, as a
	// tamperer would), or whose stored hash was; the one after an altered
	// hash no longer chains to it and is flagged too. Intact events are not.
	ctx := context.Background()
	c := &genCall{id: uuid.New(), account: "acme", provider: "twilio", start: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC),
		prices:   []domain.Price{{Rate: domain.MustParseDecimal("0.0135"), Total: domain.MustParseDecimal("0.0135"), Currency: "USD"}},
		duration: 61}
	const altered = 2 // the position of revision 1: one writer appends one call at positions 1..N
	for _, tc := range []struct {
		name    string
		offset  int // of the stored byte flipped (see flipStoredByte); 0: none
		flagged []uint64
	}{
		{"Intact", 0, nil},
		{"TamperedMetadata", -8, []uint64{1}}, // the seconds of the metadata time: still decodes
		{"TamperedStreamHash", 40, []uint64{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			seedLedgerWith(t, dir, []*genCall{c}, 1)
			if tc.offset != 0 {
				flipStoredByte(t, dir, altered, tc.offset, true)
			}
			res := runTool(ctx, t, dir, "", "history", c.id.String())
			require.Equal(t, 0, res.code, res.stderr)
			blocks := historyBlocks(res.stdout)
			require.Len(t, blocks, 3)
			for rev, block := range blocks {
				flagged := strings.Contains(block, "    ! the stored hash does not recompute")
				assert.Equal(t, slices.Contains(tc.flagged, uint64(rev)), flagged, "revision %d:\n%s", rev, block)
				assert.Regexp(t, `\n    hash [0-9a-f]{64}\n`, block)
			}
		})
	}
}

// historyBlocks splits history's output into its events' blocks, by
// revision: each from its "<time>  #<revision>" line to the next.
func historyBlocks(out string) []string {
	starts := regexp.MustCompile(`(?m)^\S+  #\d+  `).FindAllStringIndex(out, -1)
	blocks := make([]string, len(starts))
	for i, s := range starts {
		end := len(out)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		blocks[i] = out[s[0]:end]
	}
	return blocks
}

// forgedTimeline is a notes value that, printed raw, would add a fake event
// line and a fake change to history's output, colour the terminal red and
// reverse what follows it on screen.
const forgedTimeline = "ok\n2026-11-21T23:00:00Z  #99  CallPriced  (by acct-a/admin, via voice-call, request x)\n    price.total: 0.00\u001b[31mRED\u202egnp.exe"

// hostileCall is one call whose client-supplied strings are those given:
// created with providerID and a provider_metadata of {metaKey: metaValue,
// "a.b": metaValue}, then its notes set, both written with actor, request
// id and idempotency key.
type hostileCall struct {
	providerID, metaKey, metaValue, notes string
	actor, requestID, idempotencyKey      string
}

// seed appends the call's two events to the embedded store of dataDir, as
// the API would have written them, and returns the call's id.
func (h hostileCall) seed(t *testing.T, dataDir string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	at := time.Date(2026, 11, 21, 22, 0, 0, 0, time.UTC)
	metadata, err := json.Marshal(map[string]string{h.metaKey: h.metaValue, "a.b": h.metaValue})
	require.NoError(t, err)
	dir := domain.DirectionInbound
	events := []domain.Event{
		domain.CallUpserted{Created: true, CallID: id, AccountID: "acct-a", Provider: "moonbase", ProviderID: h.providerID,
			Direction: &dir, StartedAt: &at, ProviderMetadata: metadata},
		domain.CallDetailsChanged{Changes: domain.DetailsChanges{Notes: &h.notes}},
	}
	appendCallEvents(t, dataDir, id, events, func(i int, _ domain.Event) domain.Metadata {
		return domain.Metadata{SchemaVersion: domain.CurrentSchemaVersion, AccountID: "acct-a",
			Actor: h.actor, RequestID: h.requestID, IdempotencyKey: h.idempotencyKey, Surface: domain.SurfaceCallHistory,
			Time: at.Add(time.Duration(i) * time.Minute)}
	})
	return id
}

func TestHistoryEscapesClientText(t *testing.T) {
	// Goal: no string a client wrote can forge a line of history's
	// timeline or reach the auditor's terminal as a control or bidi
	// character: a call whose notes, provider id, metadata keys and values,
	// actor, request id and idempotency key hold line breaks, an ANSI
	// escape and a right-to-left override prints exactly as many lines as
	// the same call with plain values, and each value appears Go-quoted.
	ctx := context.Background()
	plain := hostileCall{providerID: "p-1", metaKey: "k", metaValue: "v", notes: "n",
		actor: "acct-a/admin", requestID: "req-1", idempotencyKey: "key-1"}
	hostile := hostileCall{
		providerID:     "inj\n    hash 00",
		metaKey:        "k\ney\u2066",
		metaValue:      "v\r\nal\u200f",
		notes:          forgedTimeline,
		actor:          "acct-a/admin)\n2026-11-21T23:00:00Z  #98  CallDeleted  (by x",
		requestID:      "req\u001b]0;pwned\u0007",
		idempotencyKey: "key\n    hash 00\u202e",
	}
	run := func(h hostileCall) string {
		t.Helper()
		dir := t.TempDir()
		id := h.seed(t, dir)
		res := runTool(ctx, t, dir, "", "history", id.String())
		require.Equal(t, 0, res.code, res.stderr)
		return res.stdout
	}
	want, got := run(plain), run(hostile)

	assert.Equal(t, strings.Count(want, "\n"), strings.Count(got, "\n"), "as many lines as with plain values:\n%s", got)
	assert.Len(t, historyBlocks(got), 2, "two events, no forged one:\n%s", got)
	for _, r := range got {
		if r == '\n' {
			continue
		}
		assert.True(t, strconv.IsPrint(r), "history printed %U raw:\n%s", r, got)
	}
	for _, s := range []string{
		`details.notes: "ok\n2026-11-21T23:00:00Z  #99  CallPriced  (by acct-a/admin, via voice-call, request x)\n    price.total: 0.00\x1b[31mRED\u202egnp.exe"` + "\n",
		`provider_id: "inj\n    hash 00"` + "\n",
		`provider_metadata."k\ney\u2066": "v\r\nal\u200f"` + "\n",
		`provider_metadata."a.b": "v\r\nal\u200f"` + "\n",
		`(by "acct-a/admin)\n2026-11-21T23:00:00Z  #98  CallDeleted  (by x", via call-history, request "req\x1b]0;pwned\a")` + "\n",
		`idempotency_key "key\n    hash 00\u202e"` + "\n",
	} {
		assert.Contains(t, got, s)
	}
	// Plain values stay bare, except the idempotency key, always quoted.
	assert.Contains(t, want, "(by acct-a/admin, via call-history, request req-1)\n")
	assert.Contains(t, want, "    provider_id: p-1\n")
	assert.Contains(t, want, "    provider_metadata.k: v\n")
	assert.Contains(t, want, "    details.notes: n\n")
	assert.Contains(t, want, `idempotency_key "key-1"`)
}

func TestQuoteValue(t *testing.T) {
	// Goal: quoteValue leaves ids, statuses, amounts, phone numbers and
	// times bare and quotes anything else; no control, format (bidi),
	// separator or private-use rune ever comes out raw.
	for _, tc := range []struct{ in, want string }{
		{"completed", "completed"},
		{"0.0135", "0.0135"},
		{"+14155551212", "+14155551212"},
		{"2025-02-17T15:00:00Z", "2025-02-17T15:00:00Z"},
		{"acct-a/f6315c90543e", "acct-a/f6315c90543e"},
		{"user@example.com", "user@example.com"},
		{"", `""`},
		{"called back", `"called back"`},
		{"a, b", `"a, b"`},
		{"(none)", `"(none)"`},
		{`say "hi"`, `"say \"hi\""`},
		{"José", `"José"`},
		{"a\nb", `"a\nb"`},
		{"a\rb", `"a\rb"`},
		{"\x1b[31mred", `"\x1b[31mred"`},
		{"abc\u202egnp.exe", `"abc\u202egnp.exe"`},
		{"\u200e\u200f\u2066\u2067\u2068\u2069", `"\u200e\u200f\u2066\u2067\u2068\u2069"`},
		{"a\u2028b", `"a\u2028b"`},
		{"a\u0085b", `"a\u0085b"`},
		{"\xff", `"\xff"`},
	} {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			assert.Equal(t, tc.want, quoteValue(tc.in))
		})
	}
	assert.Equal(t, "answered_by", quoteKey("answered_by"))
	assert.Equal(t, `"a.b"`, quoteKey("a.b"), "a key with a dot cannot pass for two")

	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co) {
			continue
		}
		q := quoteValue("x" + string(r))
		if strings.ContainsRune(q, r) {
			t.Errorf("quoteValue left %U raw: %s", r, q)
		}
	}
}

func TestHistoryShowsEveryMetadataValue(t *testing.T) {
	// Goal: history shows every value of provider_metadata as the stored
	// events hold it, null, "" and empty containers included, as added
	// and as removed: a probe found a null member, and a null element of
	// an array, left out of the timeline (history said every event with
	// its data, and showed less).
	ctx := context.Background()
	dir := t.TempDir()
	id := uuid.New()
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	dir0 := domain.DirectionInbound
	events := []domain.Event{
		domain.CallUpserted{Created: true, CallID: id, AccountID: "acct-a", Provider: "moonbase", ProviderID: "meta-1",
			Direction: &dir0, StartedAt: &at,
			ProviderMetadata: json.RawMessage(`{"k":"v","s":"","nested":{"x":null},"list":[1,null,""],"obj":{},"arr":[]}`)},
		domain.CallProviderMetadataChanged{ProviderMetadata: json.RawMessage(`{"k":"v","nested":{"x":"set"}}`)},
	}
	appendCallEvents(t, dir, id, events, func(i int, _ domain.Event) domain.Metadata {
		return domain.Metadata{SchemaVersion: domain.CurrentSchemaVersion, AccountID: "acct-a",
			Surface: domain.SurfaceMoonbase, Time: at.Add(time.Duration(i) * time.Minute)}
	})
	res := runTool(ctx, t, dir, "", "history", id.String())
	require.Equal(t, 0, res.code, res.stderr)
	blocks := historyBlocks(res.stdout)
	require.Len(t, blocks, 2, res.stdout)
	for _, line := range []string{
		"provider_metadata.k: v",
		`provider_metadata.s: ""`,
		"provider_metadata.nested.x: null",
		"provider_metadata.list[0]: 1",
		"provider_metadata.list[1]: null",
		`provider_metadata.list[2]: ""`,
		"provider_metadata.obj: {}",
		"provider_metadata.arr: []",
	} {
		assert.Contains(t, blocks[0], "    "+line+"\n", "the creation shows it")
	}
	for _, line := range []string{
		`provider_metadata.s: "" → (none)`,
		"provider_metadata.nested.x: null → set",
		"provider_metadata.list[0]: 1 → (none)",
		"provider_metadata.list[1]: null → (none)",
		`provider_metadata.list[2]: "" → (none)`,
		"provider_metadata.obj: {} → (none)",
		"provider_metadata.arr: [] → (none)",
	} {
		assert.Contains(t, blocks[1], "    "+line+"\n", "the change shows it")
	}
	assert.NotContains(t, blocks[1], "provider_metadata.k:", "an unchanged value is no change")
}

func TestTimelineTime(t *testing.T) {
	// Goal: the timeline's times line up: milliseconds always, nanoseconds
	// (fixed) only for a time that has them, never trailing zeros trimmed.
	base := time.Date(2026, 11, 22, 11, 38, 16, 0, time.UTC)
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"a whole second", base, "2026-11-22T11:38:16.000Z"},
		{"a tenth of a second", base.Add(100 * time.Millisecond), "2026-11-22T11:38:16.100Z"},
		{"milliseconds", base.Add(394 * time.Millisecond), "2026-11-22T11:38:16.394Z"},
		{"nanoseconds", base.Add(310*time.Millisecond + 5), "2026-11-22T11:38:16.310000005Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, timelineTime(tt.at))
		})
	}
}

// flattenCall renders c whole as path → value; an empty call is no fields:
// what flatCall keeps field by field, and what history diffed at every
// event before it did (the reference of TestFlatCallDiffsAsTheWholeCall).
func flattenCall(c *domain.Call) map[string]string {
	out := map[string]string{}
	if c.ID != uuid.Nil || c.AccountID != "" {
		flattenValue(out, "", c, false)
	}
	return out
}

func TestFlatCallDiffsAsTheWholeCall(t *testing.T) {
	// Goal: the changes history shows for each event, from the call kept
	// field by field (flatCall, folded in place), are those of diffing the
	// whole call flattened before and after the event (flattenCall, folded
	// by domain.Evolve), for every kind of event and field: recordings
	// added past the array's capacity and in place, one changed, details,
	// metadata, transcript, prices, times, routing, quality, a deletion.
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	in := domain.DirectionInbound
	str := func(s string) *string { return &s }
	rec := func(i int) domain.Recording {
		return domain.Recording{ContentType: "audio/mpeg", ProviderID: fmt.Sprintf("R%d", i), URL: fmt.Sprintf("https://m.example.com/%d.mp3", i)}
	}
	events := []domain.Event{
		domain.CallUpserted{Created: true, CallID: uuid.New(), AccountID: "acme", Provider: "openphone", ProviderID: "p-1",
			Direction: &in, StartedAt: &at, ProviderMetadata: json.RawMessage(`{"a":{"b":[1,"",null,{}]},"c.d":"x"}`),
			Recordings: []domain.Recording{rec(0)}},
		domain.CallAnswered{AnsweredAt: at.Add(time.Minute), AnsweredBy: "human", ProviderStatus: str("in-progress")},
	}
	for i := 1; i <= 40; i++ {
		events = append(events, domain.CallRecordingAdded{Recording: rec(i)})
	}
	changed := rec(7)
	changed.URL = "https://m.example.com/7-again.mp3"
	events = append(events,
		domain.CallRecordingChanged{Recording: changed},
		domain.CallRecordingAdded{Recording: rec(41)},
		domain.CallDetailsChanged{Changes: domain.DetailsChanges{Notes: str("first"), Contact: &domain.Contact{ID: "c1", FirstName: "Ada"}}},
		domain.CallDetailsChanged{Changes: domain.DetailsChanges{Notes: str("second")}},
		domain.CallProviderMetadataChanged{ProviderMetadata: json.RawMessage(`{"a":{"b":[2]},"e":true}`)},
		domain.CallTranscriptChanged{Transcript: domain.Transcript{Cues: []domain.TranscriptCue{{From: domain.MustParseDecimal("0"), To: domain.MustParseDecimal("1.50"), Speaker: "a", Text: "hi"}}}},
		domain.CallPriced{Price: domain.Price{Rate: domain.MustParseDecimal("0.0135"), Total: domain.MustParseDecimal("0.27"), Currency: "USD"}},
		domain.CallRoutingChanged{URL: str("https://r.example.com/twiml"), Method: str("POST")},
		domain.CallQualityReported{Quality: domain.Quality{SIPResultCode: "200"}},
		domain.CallTerminated{EndedAt: at.Add(5 * time.Minute), Status: domain.StatusCompleted, ProviderStatus: str("completed")},
		domain.CallTimingChanged{DurationSeconds: new(int64)},
		domain.CallRecordingAdded{Recording: rec(42)},
		domain.CallDeleted{DeletedAt: at.Add(time.Hour)},
	)
	var (
		whole   domain.State
		inPlace domain.State
		folding domain.Folding
		flat    flatCall
	)
	fields := callFieldsOf()
	for i, e := range events {
		env := domain.Envelope{Event: e, Metadata: domain.Metadata{Time: at.Add(time.Duration(i) * time.Second)}}
		next := domain.Evolve(whole, env)
		want := diffFlat(flattenCall(&whole.Call), flattenCall(&next.Call))
		whole = next
		folding.EvolveInPlace(&inPlace, env)
		got := flat.update(fields, &inPlace.Call)
		require.Equal(t, want, got, "event %d (%s)", i, e.EventType())
		assert.NotEmpty(t, got, "event %d (%s) changes something", i, e.EventType())
	}
}
