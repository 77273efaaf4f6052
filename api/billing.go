package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callledger/callledger/projections"
)

// GET /v1/billing/summary?from=&to=&group_by=account,provider,currency,day&scale=
//
// Exact billing totals of the caller's account from the billing read model:
// per group, the sum of the current price of every priced call that is not
// deleted, how many calls that is and their billed duration, and how many
// priced calls were deleted (excluded from the figures). Calls count on the
// UTC day of their start time; a re-priced call counts at its latest price.
// Totals are always per currency, whatever group_by says: amounts in two
// currencies are never added.
//
// from and to are UTC days (2025-01-31) or RFC 3339 instants; to is
// exclusive; a day is included when it overlaps [from, to). group_by
// defaults to "currency". Totals are decimal strings, exact (trailing
// fractional zeros dropped) unless scale=N asks for N places, rounded half
// away from zero.

// BillingReadModel is the billing part of the read models, an optional
// extension of ReadModels detected at runtime: without it the summary route
// answers 501.
type BillingReadModel interface {
	// Billing sums the billing totals; see projections.Projector.Billing.
	// It returns an error wrapping projections.ErrInvalidQuery for a bad query.
	Billing(ctx context.Context, q projections.BillingQuery) ([]projections.BillingRow, error)
}

// Billing serves the billing totals from the Projector.
func (m projectorReadModels) Billing(ctx context.Context, q projections.BillingQuery) ([]projections.BillingRow, error) {
	return m.p.Billing(ctx, q)
}

var _ BillingReadModel = projectorReadModels{}

// billingScaleMax bounds scale: more places than any currency has.
const billingScaleMax = 18

// BillingGroup is one group of the billing summary, as GET
// /v1/billing/summary and the `callledger billing` command both write it,
// so that a billing job reads either alike.
type BillingGroup struct {
	Account  string `json:"account,omitempty"`
	Provider string `json:"provider,omitempty"`
	Currency string `json:"currency"`
	// Day is the UTC day, when grouped by day.
	Day string `json:"day,omitempty"`
	// Total is an exact decimal string, or rounded to the scale asked.
	Total string `json:"total"`
	// Calls counts the priced calls that are not deleted.
	Calls int64 `json:"calls"`
	// BilledDurationSeconds sums their billed durations.
	BilledDurationSeconds int64 `json:"billed_duration_seconds"`
	// DeletedCalls counts the priced calls left out because they were deleted.
	DeletedCalls int64 `json:"deleted_calls"`
}

// NewBillingGroup renders a row of the billing read model: its total exact
// (trailing fractional zeros dropped) when scale < 0, else rounded half away
// from zero to scale places; its day only when the rows are grouped by day.
func NewBillingGroup(row *projections.BillingRow, scale int, byDay bool) BillingGroup {
	g := BillingGroup{
		Account:               row.Account,
		Provider:              row.Provider,
		Currency:              row.Currency,
		Calls:                 row.Calls,
		BilledDurationSeconds: row.DurationSeconds,
		DeletedCalls:          row.DeletedCalls,
	}
	if scale < 0 {
		g.Total = row.Total.String()
	} else {
		g.Total = row.Total.Decimal.StringFixed(int32(scale))
	}
	if byDay {
		g.Day = row.Day.Format(time.DateOnly)
	}
	return g
}

// BillingSummary is the body of GET /v1/billing/summary, which the billing
// command writes too (without account and scale) for --format json.
type BillingSummary struct {
	Account string         `json:"account,omitempty"`
	From    string         `json:"from,omitempty"`
	To      string         `json:"to,omitempty"`
	GroupBy []string       `json:"group_by"`
	Scale   *int           `json:"scale,omitempty"`
	Groups  []BillingGroup `json:"groups"`
	// DeletedCallsExcluded sums deleted_calls over the groups.
	DeletedCallsExcluded int64 `json:"deleted_calls_excluded"`
}

// parseBillingInstant reads a from/to parameter: a UTC day or an RFC 3339
// instant; "" is unbounded.
func parseBillingInstant(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, Malformed(name, "must be a day (2025-01-31) or an RFC 3339 time")
	}
	return t.UTC(), nil
}

// parseBillingQuery reads the summary's parameters for account.
func parseBillingQuery(r *http.Request, account string) (projections.BillingQuery, int, error) {
	q := r.URL.Query()
	bq := projections.BillingQuery{Account: account}
	var err error
	if bq.From, err = parseBillingInstant("from", q.Get("from")); err != nil {
		return bq, 0, err
	}
	if bq.To, err = parseBillingInstant("to", q.Get("to")); err != nil {
		return bq, 0, err
	}
	if !bq.From.IsZero() && !bq.To.IsZero() && bq.To.Before(bq.From) {
		return bq, 0, Invalid("to", "is before from")
	}
	groupBy := q.Get("group_by")
	if groupBy == "" {
		groupBy = projections.GroupCurrency
	}
	seen := map[string]bool{}
	for _, g := range strings.Split(groupBy, ",") {
		g = strings.TrimSpace(g)
		switch g {
		case projections.GroupAccount, projections.GroupProvider, projections.GroupCurrency, projections.GroupDay:
			if !seen[g] {
				bq.GroupBy = append(bq.GroupBy, g)
				seen[g] = true
			}
		default:
			return bq, 0, Invalid("group_by", "unknown dimension %q: use account, provider, currency, day", g)
		}
	}
	scale := -1
	if v := q.Get("scale"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > billingScaleMax {
			return bq, 0, Malformed("scale", "must be an integer in 0..%d", billingScaleMax)
		}
		scale = n
	}
	return bq, scale, nil
}

// billingSummary serves GET /v1/billing/summary for the caller's account.
func (s *Server) billingSummary(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	account := AccountFrom(ctx)
	bq, scale, err := parseBillingQuery(r, account)
	if err != nil {
		s.writeError(w, r, s.plainError, err)
		return
	}
	billing, ok := s.views.(BillingReadModel)
	if !ok {
		s.writeJSON(w, r, http.StatusNotImplemented, map[string]any{"error": map[string]string{
			"code": "not_implemented", "message": "these read models keep no billing totals"}})
		return
	}
	if err := s.awaitWrites(ctx); err != nil {
		s.writeError(w, r, s.plainError, err)
		return
	}
	rows, err := billing.Billing(ctx, bq)
	if err != nil {
		s.writeError(w, r, s.plainError, fmt.Errorf("billing summary: %w", err))
		return
	}
	body := BillingSummary{Account: account, GroupBy: bq.GroupBy}
	if !bq.From.IsZero() {
		body.From = bq.From.Format(time.RFC3339Nano)
	}
	if !bq.To.IsZero() {
		body.To = bq.To.Format(time.RFC3339Nano)
	}
	if scale >= 0 {
		body.Scale = &scale
	}
	body.Groups, body.DeletedCallsExcluded = BillingGroups(rows, bq.GroupBy, scale)
	s.writeJSON(w, r, http.StatusOK, body)
}

// BillingGroups turns billing rows grouped by groupBy into their groups
// (NewBillingGroup), and sums their deleted calls, which the totals leave
// out.
func BillingGroups(rows []projections.BillingRow, groupBy []string, scale int) (groups []BillingGroup, deletedCalls int64) {
	byDay := slices.Contains(groupBy, projections.GroupDay)
	groups = make([]BillingGroup, 0, len(rows))
	for i := range rows {
		deletedCalls += rows[i].DeletedCalls
		groups = append(groups, NewBillingGroup(&rows[i], scale, byDay))
	}
	return groups, deletedCalls
}
