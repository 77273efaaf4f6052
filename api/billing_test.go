package api

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// billingCall is a generated priced call: its prices in order (the last
// counts) and whether it was deleted.
type billingCall struct {
	id       uuid.UUID
	account  string
	provider string
	start    time.Time
	duration int64
	prices   []domain.Price
	deleted  bool
}

// appendBillingCalls writes the calls' histories to the store and waits
// until the read models have them.
func appendBillingCalls(t *testing.T, ts *testServer, calls []billingCall) {
	t.Helper()
	ctx := context.Background()
	var last eventstore.Position
	for _, c := range calls {
		at := c.start
		var events []eventstore.EventData
		add := func(e domain.Event) {
			at = at.Add(time.Second)
			data, err := domain.MarshalEvent(e)
			require.NoError(t, err)
			md, err := domain.MarshalMetadata(domain.Metadata{SchemaVersion: 1, AccountID: c.account, Surface: domain.SurfaceCLI, Time: at})
			require.NoError(t, err)
			events = append(events, eventstore.EventData{ID: uuid.New(), Type: e.EventType(), Data: data, Metadata: md})
		}
		start := c.start
		add(domain.CallUpserted{Created: true, CallID: c.id, AccountID: c.account, Provider: c.provider, ProviderID: "p-" + c.id.String(), StartedAt: &start})
		d := c.duration
		add(domain.CallTimingChanged{DurationSeconds: &d})
		for i, p := range c.prices {
			ev := domain.CallPriced{Price: p}
			if i > 0 {
				prev := c.prices[i-1]
				ev.PreviousPrice = &prev
			}
			add(ev)
		}
		if c.deleted {
			add(domain.CallDeleted{DeletedAt: at})
		}
		res, err := ts.store.Append(ctx, domain.StreamID(c.id), eventstore.NoStream(), events)
		require.NoError(t, err)
		last = res.Position
	}
	require.NoError(t, ts.proj.WaitFor(ctx, last))
}

// generateBillingCalls makes n calls over two accounts, three providers,
// three currencies and a week, with four-decimal prices re-priced up to
// four times (sometimes into another currency), some deleted.
func generateBillingCalls(seed uint64, n int) []billingCall {
	rng := rand.New(rand.NewPCG(seed, 7))
	currencies := []string{"USD", "USD", "EUR", "JPY"}
	base := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	calls := make([]billingCall, n)
	for i := range calls {
		c := billingCall{
			id:       uuid.New(),
			account:  []string{acctA, acctB}[rng.IntN(2)],
			provider: []string{"twilio", "Vonage", "signalwire"}[rng.IntN(3)],
			start:    base.Add(time.Duration(rng.Int64N(int64(7 * 24 * time.Hour)))),
			duration: rng.Int64N(1000),
			deleted:  rng.IntN(15) == 0,
		}
		for range 1 + rng.IntN(4) {
			c.prices = append(c.prices, domain.Price{
				Rate:     domain.MustParseDecimal("0.0135"),
				Total:    domain.NewDecimal(decimal.New(rng.Int64N(50000), -4)),
				Currency: currencies[rng.IntN(len(currencies))],
			})
		}
		calls[i] = c
	}
	return calls
}

type summaryGroup struct {
	Account               string `json:"account"`
	Provider              string `json:"provider"`
	Currency              string `json:"currency"`
	Day                   string `json:"day"`
	Total                 string `json:"total"`
	Calls                 int64  `json:"calls"`
	BilledDurationSeconds int64  `json:"billed_duration_seconds"`
	DeletedCalls          int64  `json:"deleted_calls"`
}

type summaryBody struct {
	Account              string         `json:"account"`
	GroupBy              []string       `json:"group_by"`
	Groups               []summaryGroup `json:"groups"`
	DeletedCallsExcluded int64          `json:"deleted_calls_excluded"`
}

func TestBillingSummaryAgreement(t *testing.T) {
	// Goal: the summary's totals, counts and durations equal summing each of
	// the caller's calls one by one at its current price, to the last digit,
	// per provider, currency and day; the other account's calls never
	// appear; deleted calls are excluded and counted; currencies never mix.
	ts := newTestServer(t)
	calls := generateBillingCalls(11, 1500)
	appendBillingCalls(t, ts, calls)

	from, to := time.Date(2025, 4, 2, 0, 0, 0, 0, time.UTC), time.Date(2025, 4, 6, 0, 0, 0, 0, time.UTC)
	type key struct{ provider, currency, day string }
	wantTotal := map[key]decimal.Decimal{}
	wantCalls := map[key]int64{}
	wantDuration := map[key]int64{}
	wantDeleted := map[key]int64{}
	var deletedSum int64
	for _, c := range calls {
		if c.account != acctA || c.start.Before(from) || !c.start.Before(to) {
			continue
		}
		p := c.prices[len(c.prices)-1]
		k := key{domain.NormalizeProvider(c.provider), p.Currency, c.start.Format(time.DateOnly)}
		if c.deleted {
			wantDeleted[k]++
			deletedSum++
			if _, ok := wantTotal[k]; !ok {
				wantTotal[k] = decimal.Zero
			}
			continue
		}
		wantTotal[k] = wantTotal[k].Add(p.Total.Decimal)
		wantCalls[k]++
		wantDuration[k] += c.duration
	}

	res := ts.do(t, "GET", "/v1/billing/summary?from=2025-04-02&to=2025-04-06&group_by=provider,currency,day", tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	var body summaryBody
	require.NoError(t, json.Unmarshal(res.Body, &body))
	assert.Equal(t, acctA, body.Account)
	assert.Equal(t, deletedSum, body.DeletedCallsExcluded)
	require.Len(t, body.Groups, len(wantTotal))
	for _, g := range body.Groups {
		k := key{g.Provider, g.Currency, g.Day}
		want, ok := wantTotal[k]
		require.True(t, ok, "unexpected group %v", k)
		got, err := decimal.NewFromString(g.Total)
		require.NoError(t, err)
		assert.True(t, want.Equal(got), "%v: want %s, got %s", k, want, g.Total)
		assert.Equal(t, wantCalls[k], g.Calls, "%v", k)
		assert.Equal(t, wantDuration[k], g.BilledDurationSeconds, "%v", k)
		assert.Equal(t, wantDeleted[k], g.DeletedCalls, "%v", k)
		assert.Empty(t, g.Account, "not grouped by account")
	}

	// Grouped by account, only the caller's own account appears.
	res = ts.do(t, "GET", "/v1/billing/summary?group_by=account,currency", tokenB, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.NoError(t, json.Unmarshal(res.Body, &body))
	for _, g := range body.Groups {
		assert.Equal(t, acctB, g.Account)
	}
}

func TestBillingSummaryScaleAndErrors(t *testing.T) {
	// Goal: totals are exact unless scale asks for rounding; bad parameters
	// are 4xx naming the parameter; the route needs a key.
	ts := newTestServer(t)
	usd := func(s string) domain.Price {
		return domain.Price{Total: domain.MustParseDecimal(s), Currency: "USD"}
	}
	day := time.Date(2025, 4, 1, 8, 0, 0, 0, time.UTC)
	appendBillingCalls(t, ts, []billingCall{
		{id: uuid.New(), account: acctA, provider: "twilio", start: day, prices: []domain.Price{usd("0.0135")}},
		{id: uuid.New(), account: acctA, provider: "twilio", start: day, prices: []domain.Price{usd("1.0000"), usd("0.0136")}},
	})
	res := ts.do(t, "GET", "/v1/billing/summary", tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Contains(t, string(res.Body), `"total":"0.0271"`)
	res = ts.do(t, "GET", "/v1/billing/summary?scale=2", tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Contains(t, string(res.Body), `"total":"0.03"`)

	for _, tc := range []struct {
		query, field string
		status       int
	}{
		{"from=yesterday", "from", http.StatusBadRequest},
		{"to=2025-13-01", "to", http.StatusBadRequest},
		{"from=2025-05-01&to=2025-04-01", "to", http.StatusUnprocessableEntity},
		{"group_by=planet", "group_by", http.StatusUnprocessableEntity},
		{"scale=-1", "scale", http.StatusBadRequest},
		{"scale=x", "scale", http.StatusBadRequest},
	} {
		res := ts.do(t, "GET", "/v1/billing/summary?"+tc.query, tokenA, "")
		assert.Equal(t, tc.status, res.Status, "%s: %s", tc.query, res.Body)
		assert.Contains(t, string(res.Body), tc.field, tc.query)
	}
	assert.Equal(t, http.StatusUnauthorized, ts.do(t, "GET", "/v1/billing/summary", "", "").Status)
}
