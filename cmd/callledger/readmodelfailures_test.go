package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/api"
	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// appendUnreadablePrice appends to call c's stream, in the closed embedded
// store of dataDir, a re-pricing whose total is not a decimal ("abc"): an
// event the hash chains vouch for (the store hashes what it is given, as an
// import of a forged or older build's archive does) but that no build can
// decode. It returns the event's revision.
func appendUnreadablePrice(t *testing.T, dataDir string, c *genCall) uint64 {
	t.Helper()
	good := domain.Price{Rate: domain.MustParseDecimal("0.0135"), Total: domain.MustParseDecimal("777.77"), Currency: "USD"}
	ev := eventData(t, domain.CallPriced{Price: good}, domain.Metadata{SchemaVersion: domain.CurrentSchemaVersion,
		AccountID: c.account, Actor: "forger", RequestID: "req-forged", Surface: domain.SurfaceCLI, Time: c.start.Add(time.Hour)})
	bad := bytes.Replace(ev.Data, []byte(`"777.77"`), []byte(`"abc"`), 1)
	require.NotEqual(t, ev.Data, bad, "the total is in the event's data")
	ev.Data = bad
	store := openEmbeddedLedger(t, dataDir)
	res, err := store.Append(context.Background(), domain.StreamID(c.id), eventstore.Any(), []eventstore.EventData{ev})
	require.NoError(t, err)
	require.NoError(t, store.Close())
	return res.Revision
}

func TestToolsReportEventsTheReadModelsCannotApply(t *testing.T) {
	// Goal: an event the log verifies but the read models cannot apply is
	// no silent hole in the totals. verify prints the log's ok line, then
	// FAILED naming the event (stream, revision, type, what is wrong, that
	// billing leaves it out), and exits 1, on read models it brings up to
	// the log's end and again on read models already there; billing
	// writes its totals (the event left out: the call at its earlier
	// price), the failure count and warning in its JSON, and exits 1
	// naming the event; history shows it unfolded in the timeline and
	// exits 1. Before the event, verify and billing exit 0 with no warning.
	ctx := context.Background()
	dir := t.TempDir()
	day := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	usd := func(total string) domain.Price {
		return domain.Price{Rate: domain.MustParseDecimal("0.01"), Total: domain.MustParseDecimal(total), Currency: "USD"}
	}
	calls := []*genCall{
		{id: uuid.New(), account: "acme", provider: "twilio", start: day, duration: 60, prices: []domain.Price{usd("1.25")}},
		{id: uuid.New(), account: "acme", provider: "twilio", start: day.Add(time.Hour), duration: 30, prices: []domain.Price{usd("0.50")}},
	}
	seedLedgerWith(t, dir, calls, 1)

	res := runTool(ctx, t, dir, "", "verify")
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotContains(t, res.stdout, "FAILED")
	res = runTool(ctx, t, dir, "", "billing", "--format", "json")
	require.Equal(t, 0, res.code, res.stderr)
	var clean api.BillingSummary
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &clean))
	assert.Zero(t, clean.ReadModelFailures)
	assert.Empty(t, clean.Warning)

	rev := appendUnreadablePrice(t, dir, calls[0])
	stream := domain.StreamID(calls[0].id)
	named := fmt.Sprintf("%s revision %d, CallPriced at position ", stream, rev)

	for _, run := range []string{"catching the read models up", "read models already caught up"} {
		t.Run("verify "+run, func(t *testing.T) {
			res := runTool(ctx, t, dir, "", "verify")
			assert.Equal(t, 1, res.code, res.stdout)
			assert.Contains(t, res.stdout, "ok: 7 events in 2 streams, head position ")
			assert.Contains(t, res.stdout, "FAILED: 1 event of the log could not be applied to the read models, though the log verifies:\n  "+named)
			assert.Contains(t, res.stdout, "left out of billing and the call views")
			assert.Contains(t, res.stdout, `"abc" is not a decimal number`, "what is wrong with it")
			assert.Contains(t, res.stderr, "the read models do not reflect the whole log")
		})
	}

	res = runTool(ctx, t, dir, "", "billing", "--format", "json")
	assert.Equal(t, 1, res.code, res.stderr)
	assert.Contains(t, res.stderr, "the totals above may leave calls out")
	assert.Contains(t, res.stderr, named)
	var got api.BillingSummary
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &got))
	assert.Equal(t, uint64(1), got.ReadModelFailures)
	assert.Equal(t, api.BillingFailuresWarning(1), got.Warning)
	require.Len(t, got.Groups, 1)
	assert.Equal(t, "1.75", got.Groups[0].Total, "the call at the price before the unreadable one")
	assert.Equal(t, clean.Groups, got.Groups)

	// history shows the event, unfolded, after the rest of the timeline,
	// and exits 1.
	res = runTool(ctx, t, dir, "", "history", calls[0].id.String())
	assert.Equal(t, 1, res.code, res.stderr)
	assert.Contains(t, res.stdout, fmt.Sprintf("call %s: 4 events, account acme", calls[0].id))
	assert.Contains(t, res.stdout, "  #3  CallPriced  (by forger, via cli, request req-forged)\n")
	assert.Contains(t, res.stdout, `! cannot be read: `+stream+` revision 3: unmarshal CallPriced: "abc" is not a decimal number; the call is folded without it`)
	assert.Contains(t, res.stdout, "price.total: 1.25\n", "the price before it")
	assert.Contains(t, res.stderr, "1 of the call's events cannot be read")

	res = runTool(ctx, t, dir, "", "billing", "--format", "csv")
	assert.Equal(t, 1, res.code, res.stderr)
	assert.Contains(t, res.stdout, "USD,1.75,2,90,0", "the totals are written all the same")
	assert.Contains(t, res.stderr, named)
}

func TestVerifyArchiveOfEventsThatDoNotDecode(t *testing.T) {
	// Goal: an archive whose chains verify (the hashes recomputed over a
	// forged event) but that holds a call event this build cannot decode
	// is no clean archive: verify --in prints the chains' ok line, the
	// line verify prints on the store, then FAILED naming the event, as
	// verify on the store names it once imported, and exits 1, before
	// anything is imported. Its export from a clean store verifies with
	// no FAILED.
	ctx := context.Background()
	dir := t.TempDir()
	day := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	c := &genCall{id: uuid.New(), account: "acme", provider: "twilio", start: day, duration: 60,
		prices: []domain.Price{{Rate: domain.MustParseDecimal("0.01"), Total: domain.MustParseDecimal("1.25"), Currency: "USD"}}}
	seedLedgerWith(t, dir, []*genCall{c}, 1)

	verifyExport := func(t *testing.T) (storeOK string, res result) {
		t.Helper()
		exported := runTool(ctx, t, dir, "", "export")
		require.Equal(t, 0, exported.code, exported.stderr)
		storeOK, _, _ = strings.Cut(runTool(ctx, t, dir, "", "verify").stdout, "\n")
		require.True(t, strings.HasPrefix(storeOK, "ok: "), storeOK)
		return storeOK, runTool(ctx, t, t.TempDir(), exported.stdout, "verify", "--in", "-")
	}
	storeOK, res := verifyExport(t)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, storeOK+"\n", res.stdout)

	rev := appendUnreadablePrice(t, dir, c)
	storeOK, res = verifyExport(t)
	assert.Equal(t, 1, res.code, res.stderr)
	assert.True(t, strings.HasPrefix(res.stdout, storeOK+"\n"), "the chains' ok line first:\n%s", res.stdout)
	assert.Contains(t, res.stdout, "FAILED: 1 event of the archive cannot be decoded by this build, though its chains verify; imported, the read models would leave it out:\n  "+
		fmt.Sprintf("%s revision %d, CallPriced at position ", domain.StreamID(c.id), rev))
	assert.Contains(t, res.stdout, `"abc" is not a decimal number`, "what is wrong with it")
	assert.Contains(t, res.stderr, "the archive holds events this build cannot decode")
}
