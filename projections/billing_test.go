package projections_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

// billingOneByOne is the reference Billing is checked against: it sums the
// contribution of each call of states whose start time falls in [q.From,
// q.To) one by one, with the rules of the README (latest price, per
// currency, deleted calls counted apart, billed duration).
func billingOneByOne(states map[uuid.UUID]domain.State, q projections.BillingQuery) []projections.BillingRow {
	type key struct {
		account, provider, currency string
		month, day                  time.Time
	}
	sums := map[key]*projections.BillingRow{}
	for _, s := range states {
		c := &s.Call
		start := c.CreatedAt
		if c.StartedAt != nil {
			start = *c.StartedAt
		}
		if c.Price == nil || (q.Account != "" && c.AccountID != q.Account) ||
			(q.From != nil && start.Before(*q.From)) || (q.To != nil && !start.Before(*q.To)) {
			continue
		}
		k := key{currency: c.Price.Currency}
		for _, g := range q.GroupBy {
			switch g {
			case projections.GroupAccount:
				k.account = c.AccountID
			case projections.GroupProvider:
				k.provider = domain.NormalizeProvider(c.Provider)
			case projections.GroupDay:
				k.day = start.UTC().Truncate(24 * time.Hour)
			case projections.GroupMonth:
				y, m, _ := start.UTC().Date()
				k.month = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
			}
		}
		r, ok := sums[k]
		if !ok {
			r = &projections.BillingRow{Account: k.account, Provider: k.provider, Currency: k.currency, Month: k.month, Day: k.day, Total: domain.MustParseDecimal("0")}
			sums[k] = r
		}
		if c.Deleted() {
			r.DeletedCalls++
			continue
		}
		r.Total = r.Total.Add(c.Price.Total)
		r.Calls++
		if c.DurationSeconds != nil {
			r.DurationSeconds += *c.DurationSeconds
		}
	}
	rows := make([]projections.BillingRow, 0, len(sums))
	for _, r := range sums {
		rows = append(rows, *r)
	}
	sortRows(rows)
	return rows
}

// sortRows sorts rows as Billing does: by account, provider, currency,
// month, day.
func sortRows(rows []projections.BillingRow) {
	slices.SortFunc(rows, func(a, b projections.BillingRow) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Provider, b.Provider),
			cmp.Compare(a.Currency, b.Currency), a.Month.Compare(b.Month), a.Day.Compare(b.Day))
	})
}

// assertSameRows checks that got has the rows of want, totals compared as
// numbers (the reference keeps trailing zeros).
func assertSameRows(t *testing.T, want, got []projections.BillingRow, msgAndArgs ...any) {
	t.Helper()
	require.Len(t, got, len(want), msgAndArgs...)
	want, got = slices.Clone(want), slices.Clone(got)
	for i := range got {
		assert.True(t, want[i].Total.Equal(got[i].Total.Decimal), "row %d: total %s, calls one by one sum to %s %v", i, got[i].Total, want[i].Total, msgAndArgs)
		want[i].Total, got[i].Total = domain.Decimal{}, domain.Decimal{}
	}
	assert.Equal(t, want, got, msgAndArgs...)
}

// billingGroupings are the groupings the bounds tests sum by.
var billingGroupings = [][]string{nil, {"account"}, {"provider", "day"}, {"account", "provider", "currency", "day"},
	{"account", "month"}, {"month", "provider", "day"}}

func TestBillingExactBounds(t *testing.T) {
	// Goal: Billing counts a call when its start time is in [From, To), to
	// the nanosecond and whatever the bounds' offset: a period that splits a
	// day counts each call in one half only, each half equals summing its
	// calls one by one (re-priced at their latest price, into another
	// currency too; deleted ones counted apart; unpriced ones not at all),
	// and From == To is empty.
	store, p := runningProjector(t)
	clk := newClock()
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(days int, d time.Duration) time.Time { return day.AddDate(0, 0, days).Add(d) }
	var last eventstore.Position
	call := func(account, provider string, start time.Time, events ...domain.Event) {
		id := domain.CallIDFor(account, provider, uuid.NewString())
		last = appendEvents(t, store, clk, account, id, append([]domain.Event{created(id, account, provider, id.String(), start)}, events...)...).Position
	}
	priced := func(total, currency string) domain.Event { return domain.CallPriced{Price: price(total, currency)} }
	timed := func(s int64) domain.Event { return domain.CallTimingChanged{DurationSeconds: ptr(s)} }
	deleted := domain.CallDeleted{DeletedAt: at(5, 0)}

	call("AC-a", "vonage", day, priced("0.0135", "USD"), timed(60))
	call("AC-a", "vonage", at(0, 12*time.Hour-time.Nanosecond), priced("1.00", "USD"), priced("0.0200", "USD"), timed(30))
	call("AC-a", "openphone", at(0, 12*time.Hour), priced("0.50", "EUR"), timed(10))
	call("AC-a", "vonage", at(0, 18*time.Hour+30*time.Minute), priced("9.99", "USD"), deleted)
	call("AC-a", "Vonage", at(1, -time.Nanosecond), priced("0.0300", "USD"), priced("0.0301", "EUR"), timed(5))
	call("AC-a", "vonage", at(0, 13*time.Hour)) // never priced
	call("AC-a", "vonage", at(1, 10*time.Hour), priced("0.40", "USD"), domain.CallUpserted{StartedAt: ptr(at(0, 7*time.Hour))})
	call("AC-a", "vonage", at(2, 12*time.Hour), priced("1.25", "USD"))
	call("AC-b", "signalwire", at(0, 6*time.Hour), priced("0.0135", "USD"), timed(120))
	call("AC-b", "signalwire", at(1, 3*time.Hour), priced("0.25", "USD"))
	call("AC-b", "vonage", at(-1, 20*time.Hour), priced("0.75", "USD"))
	call("AC-b", "vonage", at(0, 20*time.Hour), priced("2.00", "GBP"), deleted)
	// Calls around Go's zero time (0001-01-01T00:00:00Z), which is a bound
	// like any other instant.
	var zero time.Time
	call("AC-a", "vonage", zero.Add(-6*time.Hour), priced("0.10", "USD"))
	call("AC-a", "vonage", zero, priced("0.20", "USD"))
	call("AC-b", "vonage", zero.Add(time.Second), priced("0.40", "USD"))
	waitFor(t, p, last)
	states := foldAll(t, store)
	ctx := context.Background()

	plus5 := time.FixedZone("+05:00", 5*3600)
	minus8 := time.FixedZone("-08:00", -8*3600)
	for _, tc := range []struct {
		name     string
		from, to *time.Time
		account  string
		empty    bool
	}{
		{name: "WholeDay", from: ptr(day), to: ptr(at(1, 0))},
		{name: "FirstHalf", from: ptr(day), to: ptr(at(0, 12*time.Hour))},
		{name: "SecondHalf", from: ptr(at(0, 12*time.Hour)), to: ptr(at(1, 0))},
		{name: "InsideOneDay", from: ptr(at(0, 6*time.Hour)), to: ptr(at(0, 12*time.Hour))},
		{name: "OneNanosecond", from: ptr(at(0, 12*time.Hour-time.Nanosecond)), to: ptr(at(0, 12*time.Hour))},
		{name: "Plus5Day", from: ptr(time.Date(2025, 3, 2, 0, 0, 0, 0, plus5)), to: ptr(time.Date(2025, 3, 3, 0, 0, 0, 0, plus5))},
		{name: "Minus8Day", from: ptr(time.Date(2025, 3, 1, 0, 0, 0, 0, minus8)), to: ptr(time.Date(2025, 3, 2, 0, 0, 0, 0, minus8))},
		{name: "Plus5Empty", from: ptr(time.Date(2025, 3, 2, 0, 0, 0, 0, plus5)), to: ptr(time.Date(2025, 3, 2, 0, 0, 0, 0, plus5)), empty: true},
		{name: "MidnightEmpty", from: ptr(day), to: ptr(day), empty: true},
		{name: "SeveralDaysPartialEdges", from: ptr(at(-1, 21*time.Hour)), to: ptr(at(2, 12*time.Hour))},
		{name: "SeveralDaysEdgesInclusive", from: ptr(at(-1, 20*time.Hour)), to: ptr(at(2, 12*time.Hour+time.Nanosecond))},
		{name: "OpenStart", to: ptr(at(0, 12*time.Hour))},
		{name: "OpenEnd", from: ptr(at(0, 12*time.Hour))},
		{name: "Unbounded"},
		{name: "OneAccount", from: ptr(at(0, 3*time.Hour)), to: ptr(at(1, 4*time.Hour)), account: "AC-b"},
		{name: "OneAccountNoCalls", from: ptr(at(0, 3*time.Hour)), to: ptr(at(1, 4*time.Hour)), account: "AC-none", empty: true},
		// Whole days of one account: its buckets are sought among the others'.
		{name: "OneAccountWholeDaysFirst", from: ptr(at(-1, 0)), to: ptr(at(3, 0)), account: "AC-a"},
		{name: "OneAccountWholeDaysLast", from: ptr(at(-1, 0)), to: ptr(at(3, 0)), account: "AC-b"},
		{name: "OneAccountWholeDaysBetween", account: "AC-aa", empty: true},
		{name: "OneAccountWholeDaysUnbounded", account: "AC-b"},
		{name: "EndsAtZeroTime", to: ptr(zero)},
		{name: "EndsJustPastZeroTime", to: ptr(zero.Add(time.Second))},
		{name: "AcrossZeroTime", from: ptr(zero.Add(-12 * time.Hour)), to: ptr(zero.Add(time.Second))},
		{name: "FromZeroTime", from: ptr(zero)},
		{name: "ZeroTimeEmpty", from: ptr(zero), to: ptr(zero), empty: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, g := range billingGroupings {
				q := projections.BillingQuery{From: tc.from, To: tc.to, GroupBy: g, Account: tc.account}
				rows, err := p.Billing(ctx, q)
				require.NoError(t, err)
				assertSameRows(t, billingOneByOne(states, q), rows, "group by %v", g)
				if tc.empty {
					assert.Empty(t, rows, "group by %v", g)
				}
			}
		})
	}

	// The QA case worked by hand: the first half of the day, by account and
	// currency, holds the calls at 00:00, 06:00, 07:00 (moved there) and
	// 11:59:59.999999999 (re-priced); the second half the rest of the day.
	byAccount := []string{"account", "currency"}
	first, err := p.Billing(ctx, projections.BillingQuery{From: ptr(day), To: ptr(at(0, 12*time.Hour)), GroupBy: byAccount})
	require.NoError(t, err)
	assertSameRows(t, []projections.BillingRow{
		{Account: "AC-a", Currency: "USD", Total: domain.MustParseDecimal("0.4335"), Calls: 3, DurationSeconds: 90},
		{Account: "AC-b", Currency: "USD", Total: domain.MustParseDecimal("0.0135"), Calls: 1, DurationSeconds: 120},
	}, first)
	second, err := p.Billing(ctx, projections.BillingQuery{From: ptr(at(0, 12*time.Hour)), To: ptr(at(1, 0)), GroupBy: byAccount})
	require.NoError(t, err)
	assertSameRows(t, []projections.BillingRow{
		{Account: "AC-a", Currency: "EUR", Total: domain.MustParseDecimal("0.5301"), Calls: 2, DurationSeconds: 15},
		{Account: "AC-a", Currency: "USD", Total: domain.MustParseDecimal("0"), DeletedCalls: 1},
		{Account: "AC-b", Currency: "GBP", Total: domain.MustParseDecimal("0"), DeletedCalls: 1},
	}, second)
	whole, err := p.Billing(ctx, projections.BillingQuery{From: ptr(day), To: ptr(at(1, 0)), GroupBy: byAccount})
	require.NoError(t, err)
	assertSameRows(t, sumRows(append(first, second...)), whole, "the halves add up to the day")
}

// sumRows adds rows of the same account, provider, currency and day.
func sumRows(rows []projections.BillingRow) []projections.BillingRow {
	var out []projections.BillingRow
	for _, r := range rows {
		i := slices.IndexFunc(out, func(o projections.BillingRow) bool {
			return o.Account == r.Account && o.Provider == r.Provider && o.Currency == r.Currency && o.Day.Equal(r.Day)
		})
		if i < 0 {
			out = append(out, r)
			continue
		}
		out[i].Total = out[i].Total.Add(r.Total)
		out[i].Calls += r.Calls
		out[i].DurationSeconds += r.DurationSeconds
		out[i].DeletedCalls += r.DeletedCalls
	}
	sortRows(out)
	return out
}

func TestBillingRandomPeriods(t *testing.T) {
	// Goal: over generated histories (re-pricings, moves of the start time,
	// deletions, three accounts and providers, three currencies, start
	// times to the millisecond over 40 days), Billing for random periods,
	// in random offsets, equals summing each call one by one, in every
	// grouping.
	store, p := runningProjector(t)
	clk := newClock()
	g := newGenerator(7, 1500, 8)
	waitFor(t, p, g.writeAll(t, store, clk, 2000, 200, 8))
	states := foldAll(t, store)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	instant := func() time.Time {
		t := base.Add(time.Duration(rng.Int64N(int64(42 * 24 * time.Hour))))
		zone := time.FixedZone("", (rng.IntN(27)-12)*3600)
		return t.In(zone)
	}
	for i := range 40 {
		from, to := instant(), instant()
		if to.Before(from) {
			from, to = to, from
		}
		if i%4 == 0 {
			to = from.Add(time.Duration(rng.Int64N(int64(30 * time.Hour)))) // often within a day or two
		}
		for _, grouping := range billingGroupings {
			q := projections.BillingQuery{From: &from, To: &to, GroupBy: grouping}
			rows, err := p.Billing(ctx, q)
			require.NoError(t, err)
			assertSameRows(t, billingOneByOne(states, q), rows, fmt.Sprintf("[%s, %s) by %v", from, to, grouping))
		}
	}
}

func TestBillingBoundsErrors(t *testing.T) {
	// Goal: To before From is refused, by a nanosecond too.
	_, p := runningProjector(t)
	from := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	_, err := p.Billing(context.Background(), projections.BillingQuery{From: &from, To: ptr(from.Add(-time.Nanosecond))})
	assert.ErrorIs(t, err, projections.ErrInvalidQuery)
}
