package api

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// appendUnreadable appends to call id's stream an event whose data no build
// decodes (e's, with its from replaced by to), written by
// account at the time at, and waits for the read models to pass it. The
// store hashes what it is given, as an import of a forged or older build's
// archive does.
func appendUnreadable(t *testing.T, ts *testServer, id uuid.UUID, account string, e domain.Event, from, to string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	data, err := domain.MarshalEvent(e)
	require.NoError(t, err)
	bad := bytes.Replace(data, []byte(from), []byte(to), 1)
	require.NotEqual(t, data, bad, "the event holds %s", from)
	md, err := domain.MarshalMetadata(domain.Metadata{SchemaVersion: 1, AccountID: account, Surface: domain.SurfaceCLI, Time: at})
	require.NoError(t, err)
	res, err := ts.store.Append(ctx, domain.StreamID(id), eventstore.Any(), []eventstore.EventData{{ID: uuid.New(), Type: e.EventType(), Data: bad, Metadata: md}})
	require.NoError(t, err)
	require.NoError(t, ts.proj.WaitFor(ctx, res.Position))
}

func TestTimeTravelOverAnUnreadableEvent(t *testing.T) {
	// Goal: a call holding an event the ledger cannot decode (its hashes
	// check) is shown as it was before that event, by revision and by
	// as_of, on every surface; at or after it, the answer is a 500 coded
	// event_unreadable naming the revision and the type (was a bare
	// internal error), never the call folded as if the event were not
	// there; its events are listed as stored; another account gets 404s,
	// even for a call whose creation is the unreadable event; /readyz
	// stays ready. Writes to such a call are refused alike.
	ts := newTestServer(t)
	start := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	priced := billingCall{id: uuid.New(), account: acctA, provider: "twilio", start: start, duration: 60,
		prices: []domain.Price{{Rate: domain.MustParseDecimal("0.01"), Total: domain.MustParseDecimal("1.25"), Currency: "USD"}}}
	appendBillingCalls(t, ts, []billingCall{priced}) // revisions 0..2, at start+1s..3s
	appendUnreadable(t, ts, priced.id, acctA, domain.CallPriced{Price: domain.Price{Total: domain.MustParseDecimal("777.77"), Currency: "USD"}}, `"777.77"`, `"abc"`, start.Add(time.Hour))

	id := priced.id.String()
	asOf := func(at time.Time) string { return "?as_of=" + url.QueryEscape(at.Format(time.RFC3339)) }
	for name, path := range map[string]string{
		"Moonbase":    "/calls/" + id,
		"CallHistory": "/v1/calls/" + id,
		"LaML":        lamlCallsPath("/api/laml", acctA) + "/" + id + ".json",
	} {
		t.Run(name, func(t *testing.T) {
			for _, before := range []string{"?revision=2", asOf(start.Add(30 * time.Minute))} {
				res := ts.getAsA(t, path+before)
				require.Equal(t, http.StatusOK, res.Status, "%s: %s", before, res.Body)
				assert.Equal(t, ETag(2), res.Header.Get("ETag"), before)
			}
			for _, after := range []string{"?revision=3", asOf(start.Add(2 * time.Hour))} {
				res := ts.getAsA(t, path+after)
				require.Equal(t, http.StatusInternalServerError, res.Status, "%s: %s", after, res.Body)
				assert.Contains(t, string(res.Body), "revision 3 of the call is a CallPriced event the ledger cannot read", after)
				assert.Contains(t, string(res.Body), `\"abc\" is not a decimal number`, after)
				assert.NotContains(t, string(res.Body), "internal error", after)
			}
			now := ts.getAsA(t, path)
			require.Equal(t, http.StatusOK, now.Status, string(now.Body))
		})
	}
	res := ts.do(t, "GET", "/v1/calls/"+id+"?revision=3", tokenA, "")
	assert.Equal(t, codeEventUnreadable, res.JSON(t)["code"], string(res.Body))
	res = ts.do(t, "GET", "/v1/calls/"+id+"?revision=3", tokenB, "")
	assert.Equal(t, http.StatusNotFound, res.Status, string(res.Body))

	// A call whose creation is unreadable: its account (the metadata's)
	// sees the stored event and the error, another account 404s.
	born := uuid.New()
	appendUnreadable(t, ts, born, acctA, domain.CallUpserted{Created: true, CallID: born, AccountID: acctA, Provider: "twilio", ProviderID: "p-1"}, `"created":true`, `"created":"yes"`, start)
	res = ts.do(t, "GET", "/v1/calls/"+born.String()+"/events", tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	assert.Len(t, res.JSON(t)["events"], 1)
	res = ts.do(t, "GET", "/v1/calls/"+born.String()+"?revision=0", tokenA, "")
	assert.Equal(t, http.StatusInternalServerError, res.Status, string(res.Body))
	assert.Contains(t, string(res.Body), "revision 0 of the call is a CallUpserted event")
	for _, path := range []string{"/events", "?revision=0"} {
		res = ts.do(t, "GET", "/v1/calls/"+born.String()+path, tokenB, "")
		assert.Equal(t, http.StatusNotFound, res.Status, "%s: %s", path, res.Body)
	}

	// Writes neither: a decision without the event could undo it.
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes": "n"}`)
	assert.Equal(t, http.StatusInternalServerError, res.Status, string(res.Body))
	assert.Contains(t, string(res.Body), "revision 3 of the call is a CallPriced event")
	res = ts.do(t, "PATCH", "/v1/calls/"+born.String(), tokenB, `{"notes": "n"}`)
	assert.Equal(t, http.StatusNotFound, res.Status, string(res.Body))
	assert.Len(t, ts.eventTypes(t, id), 4, "nothing appended")

	res = ts.do(t, "GET", "/readyz", "", "")
	assert.Equal(t, http.StatusOK, res.Status, "an unreadable event is no damage on disk: %s", res.Body)
	for _, rev := range []int{0, 1, 2} {
		res = ts.do(t, "GET", "/calls/"+id+"?revision="+strconv.Itoa(rev), tokenA, "")
		assert.Equal(t, http.StatusOK, res.Status, string(res.Body))
	}
}
