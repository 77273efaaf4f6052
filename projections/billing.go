package projections

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// billingPlan is how Billing reads a period [from, to): the whole UTC days
// inside it from the day buckets, and the partial days at its edges (at most
// two) from the calls that start in them, since a bucket cannot be split.
type billingPlan struct {
	// wholeDays reports whether any whole day is read; lower and upper are
	// then the bucket key bounds of those days.
	wholeDays    bool
	lower, upper []byte
	// partialDays are the parts of days, each non-empty and within one UTC
	// day, summed call by call.
	partialDays []partialDay
}

// partialDay is the part [from, to) of one UTC day that a period covers.
type partialDay struct {
	day      int32
	from, to time.Time
}

// isMidnight reports whether t starts a UTC day.
func isMidnight(t time.Time) bool { return t.Equal(dayTime(dayNumber(t))) }

// planBilling splits [from, to) into whole UTC days and partial days. A nil
// from or to is unbounded; every instant, Go's zero time included, is a
// bound. to must not be before from.
func planBilling(from, to *time.Time) billingPlan {
	var plan billingPlan
	wholeFrom, wholeTo := from, to
	if from != nil && !isMidnight(*from) {
		day := dayNumber(*from)
		next := dayTime(day + 1)
		end := next
		if to != nil && to.Before(end) {
			end = *to
		}
		plan.addPartial(partialDay{day: day, from: *from, to: end})
		wholeFrom = &next
	}
	if to != nil && !isMidnight(*to) {
		day := dayNumber(*to)
		start := dayTime(day)
		// When from is later on the same day, the part above covers it.
		if from == nil || !from.After(start) {
			plan.addPartial(partialDay{day: day, from: start, to: *to})
		}
		wholeTo = &start
	}
	if wholeFrom != nil && wholeTo != nil && !wholeFrom.Before(*wholeTo) {
		return plan
	}
	plan.wholeDays = true
	plan.lower, plan.upper = []byte{prefixBilling}, []byte{prefixBilling + 1}
	if wholeFrom != nil {
		plan.lower = appendDay([]byte{prefixBilling}, dayNumber(*wholeFrom))
	}
	if wholeTo != nil {
		plan.upper = appendDay([]byte{prefixBilling}, dayNumber(*wholeTo))
	}
	return plan
}

// addPartial keeps a partial day unless it is empty.
func (plan *billingPlan) addPartial(d partialDay) {
	if d.from.Before(d.to) {
		plan.partialDays = append(plan.partialDays, d)
	}
}

// billingGrouping is what a BillingQuery groups by besides the currency,
// which always splits totals.
type billingGrouping struct{ account, provider, month, day bool }

// parseGrouping reads BillingQuery.GroupBy.
func parseGrouping(dims []string) (billingGrouping, error) {
	var g billingGrouping
	for _, dim := range dims {
		switch dim {
		case GroupAccount:
			g.account = true
		case GroupProvider:
			g.provider = true
		case GroupDay:
			g.day = true
		case GroupMonth:
			g.month = true
		case GroupCurrency:
		default:
			return g, fmt.Errorf("%w: cannot group by %q (use account, provider, currency, month, day)", ErrInvalidQuery, dim)
		}
	}
	return g, nil
}

// group returns the group a bucket's totals are added to: the bucket with
// the dimensions not grouped by cleared, and its day the month's first when
// grouped by month and not by day.
func (g billingGrouping) group(b bucket) bucket {
	out := bucket{currency: b.currency}
	if g.account {
		out.account = b.account
	}
	if g.provider {
		out.provider = b.provider
	}
	switch {
	case g.day:
		out.day = b.day
	case g.month:
		out.day = monthStart(b.day)
	}
	return out
}

// monthStart is the first day of the UTC month that day is in.
func monthStart(day int32) int32 {
	return day - int32(dayTime(day).Day()-1)
}

// billingSums accumulates totals by group, from day buckets and from single
// calls alike.
type billingSums struct {
	grouping billingGrouping
	groups   map[bucket]*totals
}

func newBillingSums(g billingGrouping) *billingSums {
	return &billingSums{grouping: g, groups: make(map[bucket]*totals)}
}

// add adds t, the totals of bucket b or one call's contribution to it.
func (s *billingSums) add(b bucket, t totals) {
	g := s.grouping.group(b)
	sum, ok := s.groups[g]
	if !ok {
		sum = &totals{}
		s.groups[g] = sum
	}
	*sum = sum.add(t)
}

// rows returns the groups as rows sorted by account, provider, currency,
// then month and day.
func (s *billingSums) rows() []BillingRow {
	rows := make([]BillingRow, 0, len(s.groups))
	for g, t := range s.groups {
		r := BillingRow{
			Account:         g.account,
			Provider:        g.provider,
			Currency:        g.currency,
			Total:           domain.NewDecimal(normalize(t.total)),
			Calls:           t.calls,
			DurationSeconds: t.durationSeconds,
			DeletedCalls:    t.deletedCalls,
		}
		if s.grouping.day {
			r.Day = dayTime(g.day)
		}
		if s.grouping.month {
			r.Month = dayTime(monthStart(g.day))
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b BillingRow) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Provider, b.Provider),
			cmp.Compare(a.Currency, b.Currency), a.Month.Compare(b.Month), a.Day.Compare(b.Day))
	})
	return rows
}

// billingView reads the day buckets, the list index and the call views of
// one consistent state of the read models: its iterators are clones of one,
// so a commit between two reads (or a Rebuild's swap) cannot make a call
// count twice or not at all.
type billingView struct {
	buckets *pebble.Iterator
	// list and calls are cloned from buckets by the first partial day
	// (openCalls): a query of whole days never reads them.
	list  *pebble.Iterator
	calls *pebble.Iterator
}

// openBillingView opens the bucket iterator of a billingView; close it.
func openBillingView(ctx context.Context, db *pebble.DB) (*billingView, error) {
	buckets, err := db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: []byte{prefixBilling}, UpperBound: []byte{prefixBilling + 1}})
	if err != nil {
		return nil, err
	}
	return &billingView{buckets: buckets}, nil
}

// openCalls clones the list and call-view iterators from the buckets', once.
func (v *billingView) openCalls(ctx context.Context) error {
	if v.calls != nil {
		return nil
	}
	list, err := v.buckets.CloneWithContext(ctx, pebble.CloneOptions{IterOptions: &pebble.IterOptions{}})
	if err != nil {
		return err
	}
	callOpts := &pebble.IterOptions{LowerBound: []byte{prefixCall}, UpperBound: []byte{prefixCall + 1}}
	calls, err := v.buckets.CloneWithContext(ctx, pebble.CloneOptions{IterOptions: callOpts})
	if err != nil {
		list.Close()
		return err
	}
	v.list, v.calls = list, calls
	return nil
}

// close closes the iterators that are open.
func (v *billingView) close() {
	for _, it := range []*pebble.Iterator{v.buckets, v.list, v.calls} {
		if it != nil {
			it.Close()
		}
	}
}

// sumWholeDays adds the buckets between lower and upper (of account, or of
// every account when it is ""). For one account it reads only that
// account's buckets: at each day it seeks to the account, and past it to
// the next day, rather than reading every account's buckets (the API asks
// for one account, among all those of the ledger).
func (v *billingView) sumWholeDays(ctx context.Context, sums *billingSums, lower, upper []byte, account string) error {
	add := func(b bucket, value []byte) error {
		t, err := decodeTotals(value)
		if err != nil {
			return err
		}
		sums.add(b, t)
		return nil
	}
	if account == "" {
		return scanRange(ctx, v.buckets, lower, upper, func(key, value []byte) error {
			b, err := parseBillingKey(key)
			if err != nil {
				return err
			}
			return add(b, value)
		})
	}
	it := v.buckets
	it.SetBounds(lower, upper)
	var seek []byte
	for n, valid := 0, it.First(); valid; n++ {
		if n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b, err := parseBillingKey(it.Key())
		if err != nil {
			return err
		}
		switch c := strings.Compare(b.account, account); {
		case c == 0:
			if err := add(b, it.Value()); err != nil {
				return err
			}
			valid = it.Next()
		case c < 0: // appendString keeps the order of strings
			seek = appendString(appendDay(append(seek[:0], prefixBilling), b.day), account)
			valid = it.SeekGE(seek)
		case b.day == math.MaxInt32:
			valid = false
		default:
			seek = appendDay(append(seek[:0], prefixBilling), b.day+1)
			valid = it.SeekGE(seek)
		}
	}
	return it.Error()
}

// scanRange calls fn with every key and value of it in [lower, upper), in
// order, checking ctx every ctxCheckEvery keys; it stops at fn's first
// error. The key and value are valid only during the call.
func scanRange(ctx context.Context, it *pebble.Iterator, lower, upper []byte, fn func(key, value []byte) error) error {
	it.SetBounds(lower, upper)
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		if n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		n++
		if err := fn(it.Key(), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}

// sumPartialDay adds the contribution of every priced call that starts in
// the partial day (of account, or of every account when it is ""), by the
// rules of the buckets (derive): only the accounts with a bucket on that
// day can have one.
func (v *billingView) sumPartialDay(ctx context.Context, sums *billingSums, d partialDay, account string) error {
	accounts, err := v.accountsOn(d.day, account)
	if err != nil || len(accounts) == 0 {
		return err
	}
	if err := v.openCalls(ctx); err != nil {
		return err
	}
	for _, a := range accounts {
		if err := v.sumCallsOf(ctx, sums, a, d); err != nil {
			return err
		}
	}
	return nil
}

// accountsOn returns the accounts with a bucket on day, in order: only
// account when it is not "".
func (v *billingView) accountsOn(day int32, account string) ([]string, error) {
	it := v.buckets
	dayPrefix := appendDay([]byte{prefixBilling}, day)
	it.SetBounds(dayPrefix, prefixEnd(dayPrefix))
	if account != "" {
		if it.SeekGE(appendString(bytes.Clone(dayPrefix), account)) {
			b, err := parseBillingKey(it.Key())
			if err != nil || b.account != account {
				return nil, err
			}
			return []string{account}, nil
		}
		return nil, it.Error()
	}
	var accounts []string
	for valid := it.First(); valid; {
		b, err := parseBillingKey(it.Key())
		if err != nil {
			return nil, err
		}
		accounts = append(accounts, b.account)
		// Skip the account's other buckets of the day.
		valid = it.SeekGE(prefixEnd(appendString(bytes.Clone(dayPrefix), b.account)))
	}
	return accounts, it.Error()
}

// sumCallsOf adds the contributions of account's priced calls that start in
// the partial day, read from the list index and the call views.
func (v *billingView) sumCallsOf(ctx context.Context, sums *billingSums, account string, d partialDay) error {
	prefix := listAccountPrefix(account)
	lower, upper := appendTime(bytes.Clone(prefix), d.from), appendTime(bytes.Clone(prefix), d.to)
	return scanRange(ctx, v.list, lower, upper, func(key, _ []byte) error {
		if len(key) != len(prefix)+timeKeyBytes+16 {
			return fmt.Errorf("%w: list key of %d bytes", errBadKey, len(key))
		}
		id := uuid.UUID(key[len(prefix)+timeKeyBytes:])
		s, ok, err := readCallView(v.calls, id)
		if err != nil {
			return err
		}
		if !ok {
			// Unlike a list, which leaves the entry off its page, a total
			// that silently left the call out would be wrong money.
			return fmt.Errorf("%w: listed call %s has no call view", errBadValue, id)
		}
		c := &s.Call
		start := startTime(c)
		b, contrib, priced := billingOf(c, domain.NormalizeProvider(c.Provider), start)
		// The list key and the bucket are derived from the same state in
		// the same batch (derive): a mismatch is a corrupt database or a bug.
		var startKey [timeKeyBytes]byte
		if c.AccountID != account || c.ID != id || !bytes.Equal(key[len(prefix):len(prefix)+timeKeyBytes], appendTime(startKey[:0], start)) ||
			(priced && b.day != d.day) {
			return fmt.Errorf("%w: list entry of call %s does not match its call view", errBadValue, c.ID)
		}
		if priced {
			sums.add(b, contrib)
		}
		return nil
	})
}
