package api

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
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
	Month                 string `json:"month"`
	Day                   string `json:"day"`
	Total                 string `json:"total"`
	Calls                 int64  `json:"calls"`
	BilledDurationSeconds int64  `json:"billed_duration_seconds"`
	DeletedCalls          int64  `json:"deleted_calls"`
}

type summaryBody struct {
	Account              string         `json:"account"`
	From                 string         `json:"from"`
	To                   string         `json:"to"`
	GroupBy              []string       `json:"group_by"`
	Groups               []summaryGroup `json:"groups"`
	DeletedCallsExcluded int64          `json:"deleted_calls_excluded"`
	ReadModelFailures    *uint64        `json:"read_model_failures"`
	Warning              string         `json:"warning"`
}

// summaryKey is a group of the summary grouped by provider, currency and day.
type summaryKey struct{ provider, currency, day string }

// summaryWant is what a group must hold.
type summaryWant struct {
	total                    decimal.Decimal
	calls, duration, deleted int64
}

// summaryOneByOne sums account's calls that start in [from, to) (nil:
// unbounded) one by one at their latest price, per provider, currency and
// day, and counts the deleted ones: what the summary grouped by
// provider,currency,day must say.
func summaryOneByOne(calls []billingCall, account string, from, to *time.Time) (map[summaryKey]summaryWant, int64) {
	want := map[summaryKey]summaryWant{}
	var deletedSum int64
	for _, c := range calls {
		if c.account != account || (from != nil && c.start.Before(*from)) || (to != nil && !c.start.Before(*to)) {
			continue
		}
		p := c.prices[len(c.prices)-1]
		k := summaryKey{domain.NormalizeProvider(c.provider), p.Currency, c.start.UTC().Format(time.DateOnly)}
		w := want[k]
		if c.deleted {
			w.deleted++
			deletedSum++
		} else {
			w.total = w.total.Add(p.Total.Decimal)
			w.calls++
			w.duration += c.duration
		}
		want[k] = w
	}
	return want, deletedSum
}

// assertSummary checks that a summary grouped by provider,currency,day has
// exactly the wanted groups, to the last digit.
func assertSummary(t *testing.T, want map[summaryKey]summaryWant, deleted int64, body summaryBody, msg string) {
	t.Helper()
	assert.Equal(t, deleted, body.DeletedCallsExcluded, msg)
	require.Len(t, body.Groups, len(want), msg)
	for _, g := range body.Groups {
		k := summaryKey{g.Provider, g.Currency, g.Day}
		w, ok := want[k]
		require.True(t, ok, "%s: unexpected group %v", msg, k)
		got, err := decimal.NewFromString(g.Total)
		require.NoError(t, err)
		assert.True(t, w.total.Equal(got), "%s: %v: want %s, got %s", msg, k, w.total, g.Total)
		assert.Equal(t, w.calls, g.Calls, "%s: %v", msg, k)
		assert.Equal(t, w.duration, g.BilledDurationSeconds, "%s: %v", msg, k)
		assert.Equal(t, w.deleted, g.DeletedCalls, "%s: %v", msg, k)
		assert.Empty(t, g.Account, "not grouped by account")
	}
}

// getSummary GETs the summary with query as token and decodes it.
func getSummary(t *testing.T, ts *testServer, query url.Values, token string) summaryBody {
	t.Helper()
	res := ts.do(t, "GET", "/v1/billing/summary?"+query.Encode(), token, "")
	require.Equal(t, http.StatusOK, res.Status, "%s: %s", query.Encode(), res.Body)
	var body summaryBody
	require.NoError(t, json.Unmarshal(res.Body, &body))
	return body
}

// billedSeconds is the billed duration of the one group of acctA's
// summary from one day to another (getSummary); msgAndArgs explain a
// summary without exactly one group.
func billedSeconds(t *testing.T, ts *testServer, from, to string, msgAndArgs ...any) int64 {
	t.Helper()
	body := getSummary(t, ts, url.Values{"from": {from}, "to": {to}}, tokenA)
	require.Len(t, body.Groups, 1, msgAndArgs...)
	return body.Groups[0].BilledDurationSeconds
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
	want, deleted := summaryOneByOne(calls, acctA, &from, &to)
	body := getSummary(t, ts, url.Values{"from": {"2025-04-02"}, "to": {"2025-04-06"}, "group_by": {"provider,currency,day"}}, tokenA)
	assert.Equal(t, acctA, body.Account)
	assertSummary(t, want, deleted, body, "days")

	// Grouped by account, only the caller's own account appears.
	body = getSummary(t, ts, url.Values{"group_by": {"account,currency"}}, tokenB)
	for _, g := range body.Groups {
		assert.Equal(t, acctB, g.Account)
	}
}

func TestBillingSummaryExactBounds(t *testing.T) {
	// Goal: from and to bound the period to the nanosecond, in any offset: a
	// call counts when its start time is in [from, to), so two periods that
	// split a day count each call once and add up to the day, each equal to
	// summing its calls one by one (latest price, deleted calls counted
	// apart); from equal to to is empty; the bounds are echoed in UTC.
	ts := newTestServer(t)
	calls := generateBillingCalls(12, 1500)
	day := time.Date(2025, 4, 3, 0, 0, 0, 0, time.UTC)
	usd := func(s string) domain.Price { return domain.Price{Total: domain.MustParseDecimal(s), Currency: "USD"} }
	// Calls on the bounds themselves, re-priced and deleted ones among them.
	calls = append(calls,
		billingCall{id: uuid.New(), account: acctA, provider: "twilio", start: day.Add(12 * time.Hour), duration: 7, prices: []domain.Price{usd("5"), usd("0.0135")}},
		billingCall{id: uuid.New(), account: acctA, provider: "twilio", start: day.Add(12*time.Hour - time.Nanosecond), duration: 9, prices: []domain.Price{usd("0.0001")}},
		billingCall{id: uuid.New(), account: acctA, provider: "twilio", start: day.Add(19 * time.Hour), prices: []domain.Price{usd("3.00")}, deleted: true},
	)
	appendBillingCalls(t, ts, calls)

	plus5 := time.FixedZone("+05:00", 5*3600)
	minus8 := time.FixedZone("-08:00", -8*3600)
	for _, tc := range []struct {
		name     string
		from, to time.Time
		// lower sends the bounds with a lower-case "t" and "z", as RFC 3339
		// allows; they are echoed in upper case all the same.
		lower bool
	}{
		{"WholeDay", day, day.AddDate(0, 0, 1), false},
		{"FirstHalf", day, day.Add(12 * time.Hour), false},
		{"SecondHalf", day.Add(12 * time.Hour), day.AddDate(0, 0, 1), false},
		{"InsideOneDay", day.Add(3*time.Hour + 15*time.Minute), day.Add(12*time.Hour - time.Nanosecond), false},
		{"Plus5", time.Date(2025, 4, 4, 0, 0, 0, 0, plus5), time.Date(2025, 4, 5, 0, 0, 0, 0, plus5), false},
		{"Minus8", time.Date(2025, 4, 3, 0, 0, 0, 0, minus8), time.Date(2025, 4, 4, 0, 0, 0, 0, minus8), false},
		{"SeveralDaysPartialEdges", day.Add(-30 * time.Hour), day.Add(50*time.Hour + 123*time.Nanosecond), false},
		{"Empty", time.Date(2025, 4, 4, 0, 0, 0, 0, plus5), time.Date(2025, 4, 4, 0, 0, 0, 0, plus5), false},
		{"FirstHalfLowercase", day, day.Add(12 * time.Hour), true},
		{"Minus8Lowercase", time.Date(2025, 4, 3, 0, 0, 0, 0, minus8), time.Date(2025, 4, 4, 0, 0, 0, 0, minus8), true},
		{"InsideOneDayLowercase", day.Add(3*time.Hour + 15*time.Minute), day.Add(12*time.Hour - time.Nanosecond), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, deleted := summaryOneByOne(calls, acctA, &tc.from, &tc.to)
			from, to := tc.from.Format(time.RFC3339Nano), tc.to.Format(time.RFC3339Nano)
			if tc.lower {
				from, to = strings.ToLower(from), strings.ToLower(to)
			}
			body := getSummary(t, ts, url.Values{"from": {from}, "to": {to},
				"group_by": {"provider,currency,day"}}, tokenA)
			assertSummary(t, want, deleted, body, tc.name)
			assert.Equal(t, tc.from.UTC().Format(time.RFC3339Nano), body.From)
			assert.Equal(t, tc.to.UTC().Format(time.RFC3339Nano), body.To)
		})
	}

	// The halves of the day add up to the day, per currency.
	perCurrency := func(from, to string) map[string]summaryWant {
		out := map[string]summaryWant{}
		for _, g := range getSummary(t, ts, url.Values{"from": {from}, "to": {to}}, tokenA).Groups {
			out[g.Currency] = summaryWant{total: decimal.RequireFromString(g.Total), calls: g.Calls, duration: g.BilledDurationSeconds, deleted: g.DeletedCalls}
		}
		return out
	}
	first := perCurrency("2025-04-03T00:00:00Z", "2025-04-03T12:00:00Z")
	second := perCurrency("2025-04-03T12:00:00Z", "2025-04-04T00:00:00Z")
	whole := perCurrency("2025-04-03", "2025-04-04")
	require.NotEmpty(t, whole)
	for cur, w := range whole {
		a, b := first[cur], second[cur]
		assert.True(t, w.total.Equal(a.total.Add(b.total)), "%s: %s + %s != %s", cur, a.total, b.total, w.total)
		assert.Equal(t, w.calls, a.calls+b.calls, cur)
		assert.Equal(t, w.duration, a.duration+b.duration, cur)
		assert.Equal(t, w.deleted, a.deleted+b.deleted, cur)
		assert.Positive(t, a.calls, "%s: the first half has calls", cur)
		assert.Positive(t, b.calls, "%s: the second half has calls", cur)
	}
}

func TestBillingSummaryZeroTimeBounds(t *testing.T) {
	// Goal: a bound at or near Go's zero time (0001-01-01T00:00:00Z) is a
	// bound like any other: calls may start in the year 0000, so a period
	// ending a second after it counts only the calls before that second,
	// a period ending at it is echoed and counts only the year 0000, and
	// one starting in the year 0000 does not reach 2026.
	ts := newTestServer(t)
	var zero time.Time
	usd := func(s string) []domain.Price {
		return []domain.Price{{Total: domain.MustParseDecimal(s), Currency: "USD"}}
	}
	calls := []billingCall{
		{id: uuid.New(), account: acctA, provider: "twilio", start: zero.Add(-13 * time.Hour), prices: usd("0.01")},
		{id: uuid.New(), account: acctA, provider: "twilio", start: zero.Add(-6 * time.Hour), prices: usd("0.02")},
		{id: uuid.New(), account: acctA, provider: "twilio", start: zero, prices: usd("0.04")},
		{id: uuid.New(), account: acctA, provider: "twilio", start: zero.Add(time.Second), prices: usd("0.08")},
		{id: uuid.New(), account: acctA, provider: "twilio", start: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), prices: usd("0.16")},
	}
	appendBillingCalls(t, ts, calls)
	bound := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return &v
	}
	for _, tc := range []struct {
		name, from, to          string
		wantFrom, wantTo        *time.Time
		echoFrom, echoTo, total string
	}{
		{name: "ToJustPastZeroTime", to: "0001-01-01T00:00:01Z", wantTo: bound("0001-01-01T00:00:01Z"),
			echoTo: "0001-01-01T00:00:01Z", total: "0.07"},
		{name: "ToZeroTimeDay", to: "0001-01-01", wantTo: &zero, echoTo: "0001-01-01T00:00:00Z", total: "0.03"},
		{name: "ToZeroTimeInstant", to: "0001-01-01T00:00:00Z", wantTo: &zero, echoTo: "0001-01-01T00:00:00Z", total: "0.03"},
		{name: "AcrossZeroTime", from: "0000-12-31T12:00:00Z", to: "0001-01-01T00:00:01Z",
			wantFrom: bound("0000-12-31T12:00:00Z"), wantTo: bound("0001-01-01T00:00:01Z"),
			echoFrom: "0000-12-31T12:00:00Z", echoTo: "0001-01-01T00:00:01Z", total: "0.06"},
		{name: "FromZeroTimeDay", from: "0001-01-01", wantFrom: &zero, echoFrom: "0001-01-01T00:00:00Z", total: "0.28"},
		{name: "EmptyAtZeroTime", from: "0001-01-01", to: "0001-01-01T00:00:00Z", wantFrom: &zero, wantTo: &zero,
			echoFrom: "0001-01-01T00:00:00Z", echoTo: "0001-01-01T00:00:00Z"},
		{name: "Unbounded", total: "0.31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"group_by": {"provider,currency,day"}}
			if tc.from != "" {
				q.Set("from", tc.from)
			}
			if tc.to != "" {
				q.Set("to", tc.to)
			}
			body := getSummary(t, ts, q, tokenA)
			want, deleted := summaryOneByOne(calls, acctA, tc.wantFrom, tc.wantTo)
			assertSummary(t, want, deleted, body, tc.name)
			assert.Equal(t, tc.echoFrom, body.From, "from is echoed, or left out when unbounded")
			assert.Equal(t, tc.echoTo, body.To, "to is echoed, or left out when unbounded")

			q.Set("group_by", "currency")
			groups := getSummary(t, ts, q, tokenA).Groups
			if tc.total == "" {
				assert.Empty(t, groups)
				return
			}
			require.Len(t, groups, 1)
			assert.Equal(t, tc.total, groups[0].Total)
		})
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
	res = ts.do(t, "GET", "/v1/billing/summary?scale=18", tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Contains(t, string(res.Body), `"total":"0.027100000000000000"`)

	// group_by is echoed normalised: trimmed, each dimension once; empty is
	// currency.
	for query, want := range map[string][]string{
		"group_by=day,%20day,currency,day": {"day", "currency"},
		"group_by=":                        {"currency"},
		"":                                 {"currency"},
	} {
		res := ts.do(t, "GET", "/v1/billing/summary?"+query, tokenA, "")
		require.Equal(t, http.StatusOK, res.Status, "%s: %s", query, res.Body)
		var body summaryBody
		require.NoError(t, json.Unmarshal(res.Body, &body))
		assert.Equal(t, want, body.GroupBy, query)
	}

	for _, tc := range []struct {
		query, field string
		status       int
	}{
		{"from=yesterday", "from", http.StatusBadRequest},
		{"from=2025-04-01t12:00:00", "from", http.StatusBadRequest},
		{"to=2025-04-01x12:00:00z", "to", http.StatusBadRequest},
		{"to=2025-13-01", "to", http.StatusBadRequest},
		{"from=2025-05-01&to=2025-04-01", "to", http.StatusUnprocessableEntity},
		{"from=2025-04-01T12:00:00.000000001Z&to=2025-04-01T12:00:00Z", "to", http.StatusUnprocessableEntity},
		{"group_by=planet", "group_by", http.StatusUnprocessableEntity},
		{"group_by=,,", "group_by", http.StatusUnprocessableEntity},
		{"group_by=day,,currency", "group_by", http.StatusUnprocessableEntity},
		{"scale=-1", "scale", http.StatusBadRequest},
		{"scale=19", "scale", http.StatusBadRequest},
		{"scale=x", "scale", http.StatusBadRequest},
		// Only decimal digits: strconv.Atoi alone would read these.
		{"scale=%2B2", "scale: must be an integer", http.StatusBadRequest},
		{"scale=-0", "scale: must be an integer", http.StatusBadRequest},
		{"scale=%202", "scale: must be an integer", http.StatusBadRequest},
		// Given empty, it is not read as exact totals: an invoice template
		// meant to round would get amounts of more places.
		{"scale=", "scale: is empty", http.StatusBadRequest},
		{"scale", "scale: is empty", http.StatusBadRequest},
		// A repeated parameter is not read as its first value.
		{"from=2025-04-01&from=2025-05-01", "from", http.StatusBadRequest},
		{"to=2025-05-01&to=2025-05-01", "to", http.StatusBadRequest},
		{"group_by=day&group_by=currency", "group_by", http.StatusBadRequest},
		{"scale=2&scale=4", "scale", http.StatusBadRequest},
		// A bound given empty (a template's variable that expanded to
		// nothing) is not read as none, which would bill the whole ledger.
		{"from=&to=", "from: is empty", http.StatusBadRequest},
		{"from=2025-04-01&to=", "to: is empty", http.StatusBadRequest},
		{"from", "from: is empty", http.StatusBadRequest},
		// Billing sums the prices as they stand: a point in the past would
		// be answered with the present.
		{"as_of=2025-04-01T00:00:00Z", "as_of", http.StatusBadRequest},
		{"revision=3", "revision", http.StatusBadRequest},
		// Filters the summary does not take are not ignored: another
		// account's name got the caller's own totals (an auditor probe).
		{"account=" + acctB, "account: the summary is the account of the API key that asks", http.StatusBadRequest},
		{"account=" + acctA + "&account=" + acctA, "account: is given 2 times", http.StatusBadRequest},
		{"provider=twilio", "provider: the summary takes no provider filter: group_by=provider", http.StatusBadRequest},
		{"currency=USD", "currency", http.StatusBadRequest},
	} {
		res := ts.do(t, "GET", "/v1/billing/summary?"+tc.query, tokenA, "")
		assert.Equal(t, tc.status, res.Status, "%s: %s", tc.query, res.Body)
		assert.Contains(t, string(res.Body), tc.field, tc.query)
	}
	assert.Equal(t, http.StatusUnauthorized, ts.do(t, "GET", "/v1/billing/summary", "", "").Status)
	res = ts.do(t, "GET", "/v1/billing/summary?account="+acctA, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "the caller's own account: %s", res.Body)
	assert.Contains(t, string(res.Body), `"total":"0.0271"`)
}

func TestBillingSummaryByMonth(t *testing.T) {
	// Goal: group_by=month sums each UTC calendar month of the calls'
	// starts, a call at the month's last nanosecond in that month and one at
	// the next midnight in the next, the latest price counting (in its
	// currency), deleted calls counted apart, rows ordered by currency,
	// then month; with day, each day under its month; with a period, only
	// the calls that start in it.
	ts := newTestServer(t)
	usd := func(total string) domain.Price {
		return domain.Price{Rate: domain.MustParseDecimal("0.01"), Total: domain.MustParseDecimal(total), Currency: "USD"}
	}
	eur := usd("0.2500")
	eur.Currency = "EUR"
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	appendBillingCalls(t, ts, []billingCall{
		{id: uuid.New(), account: acctA, provider: "twilio", start: at("2025-03-31T23:59:59.999999999Z"), duration: 60, prices: []domain.Price{usd("0.0135")}},
		{id: uuid.New(), account: acctA, provider: "twilio", start: at("2025-04-01T02:00:00+02:00"), duration: 30, prices: []domain.Price{usd("1.50")}},
		{id: uuid.New(), account: acctA, provider: "Vonage", start: at("2025-04-30T23:00:00Z"), duration: 10, prices: []domain.Price{usd("0.10"), eur}},
		{id: uuid.New(), account: acctA, provider: "twilio", start: at("2025-05-01T00:00:00Z"), duration: 5, prices: []domain.Price{usd("2.00")}},
		{id: uuid.New(), account: acctA, provider: "twilio", start: at("2025-04-15T12:00:00Z"), duration: 7, prices: []domain.Price{usd("9.99")}, deleted: true},
		{id: uuid.New(), account: acctB, provider: "twilio", start: at("2025-04-10T12:00:00Z"), duration: 9, prices: []domain.Price{usd("5.00")}},
	})
	group := func(currency, month, day, total string, calls, seconds, deleted int64) summaryGroup {
		return summaryGroup{Currency: currency, Month: month, Day: day, Total: total, Calls: calls, BilledDurationSeconds: seconds, DeletedCalls: deleted}
	}

	body := getSummary(t, ts, url.Values{"group_by": {"month"}}, tokenA)
	assert.Equal(t, []string{"month"}, body.GroupBy)
	assert.Equal(t, []summaryGroup{
		group("EUR", "2025-04", "", "0.25", 1, 10, 0),
		group("USD", "2025-03", "", "0.0135", 1, 60, 0),
		group("USD", "2025-04", "", "1.5", 1, 30, 1),
		group("USD", "2025-05", "", "2", 1, 5, 0),
	}, body.Groups)
	assert.Equal(t, int64(1), body.DeletedCallsExcluded)

	body = getSummary(t, ts, url.Values{"group_by": {"day,month"}, "from": {"2025-04-01"}, "to": {"2025-05-01"}}, tokenA)
	assert.Equal(t, []summaryGroup{
		group("EUR", "2025-04", "2025-04-30", "0.25", 1, 10, 0),
		group("USD", "2025-04", "2025-04-01", "1.5", 1, 30, 0),
		group("USD", "2025-04", "2025-04-15", "0", 0, 0, 1),
	}, body.Groups)
}

func TestBillingSummaryReportsReadModelFailures(t *testing.T) {
	// Goal: a summary over read models that could not apply an event of
	// the log (a re-pricing whose total is not a decimal: the hash chains
	// vouch for it, no build decodes it) says so, read_model_failures 1
	// and a warning, with the call at its earlier price, where it was a
	// plain 200 that looked whole; before it, read_model_failures is there
	// and 0, with no warning. The count is the ledger's: another
	// account's summary carries it too.
	ts := newTestServer(t)
	start := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	call := billingCall{id: uuid.New(), account: acctA, provider: "twilio", start: start, duration: 60,
		prices: []domain.Price{{Rate: domain.MustParseDecimal("0.01"), Total: domain.MustParseDecimal("1.25"), Currency: "USD"}}}
	appendBillingCalls(t, ts, []billingCall{call})

	body := getSummary(t, ts, url.Values{}, tokenA)
	require.NotNil(t, body.ReadModelFailures, "read_model_failures is always there")
	assert.Zero(t, *body.ReadModelFailures)
	assert.Empty(t, body.Warning)

	appendUnreadable(t, ts, call.id, acctA, domain.CallPriced{Price: domain.Price{Total: domain.MustParseDecimal("777.77"), Currency: "USD"}},
		`"777.77"`, `"abc"`, start.Add(time.Hour))

	for _, token := range []string{tokenA, tokenB} {
		body = getSummary(t, ts, url.Values{}, token)
		require.NotNil(t, body.ReadModelFailures)
		assert.Equal(t, uint64(1), *body.ReadModelFailures, token)
		assert.Equal(t, BillingFailuresWarning(1), body.Warning, token)
	}
	body = getSummary(t, ts, url.Values{}, tokenA)
	assert.Equal(t, []summaryGroup{{Currency: "USD", Total: "1.25", Calls: 1, BilledDurationSeconds: 60}}, body.Groups, "the call at its earlier price")
}

func TestBillingSummaryReportsANegativePriceInTheLog(t *testing.T) {
	// Goal: a negative price in the log, which no surface writes (an
	// archive edited by hand, and imported), is billed as it reads but
	// counted as a read-model failure with a warning, where the summary
	// was a plain 200 that looked whole.
	ts := newTestServer(t)
	start := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	usd := func(total string) domain.Price {
		return domain.Price{Rate: domain.MustParseDecimal("0.01"), Total: domain.MustParseDecimal(total), Currency: "USD"}
	}
	call := billingCall{id: uuid.New(), account: acctA, provider: "twilio", start: start, duration: 60, prices: []domain.Price{usd("1.25")}}
	appendBillingCalls(t, ts, []billingCall{call})
	st, err := ts.api.LoadCall(context.Background(), call.id)
	require.NoError(t, err)
	last, _ := st.Revision()
	ts.appendDirect(t, call.id, eventstore.Exact(last), domain.Metadata{AccountID: acctA, Surface: domain.SurfaceCLI, Time: start.Add(time.Hour)},
		domain.CallPriced{Price: usd("-5.00"), PreviousPrice: st.Call.Price})

	body := getSummary(t, ts, url.Values{}, tokenA)
	require.NotNil(t, body.ReadModelFailures)
	assert.Equal(t, uint64(1), *body.ReadModelFailures)
	assert.Equal(t, BillingFailuresWarning(1), body.Warning)
	assert.Equal(t, []summaryGroup{{Currency: "USD", Total: "-5", Calls: 1, BilledDurationSeconds: 60}}, body.Groups, "billed as it reads")
}
