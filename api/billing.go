package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callledger/callledger/projections"
)

// GET /v1/billing/summary?from=&to=&group_by=account,provider,currency,month,day&scale=
//
// Exact billing totals of the caller's account from the billing read model:
// per group, the sum of the current price of every priced call that is not
// deleted, how many calls that is and their billed duration, and how many
// priced calls were deleted (excluded from the figures). Calls count on the
// UTC day of their start time; a re-priced call counts at its latest price.
// Totals are always per currency, whatever group_by says: amounts in two
// currencies are never added.
//
// from and to are UTC days (2025-01-31, its midnight) or RFC 3339 instants
// in any offset, to the nanosecond; a call counts when its start time is in
// [from, to), so two adjacent periods never count a call twice; from equal
// to to is an empty period (no groups), to before from a 422. group_by
// defaults to "currency"; an empty dimension in it is a 422. Totals are
// decimal strings, exact (trailing fractional zeros dropped) unless scale=N
// (0..BillingScaleMax) asks for N places, rounded half away from zero. The
// `callledger billing` command parses its flags with the same code
// (ParseBillingParams).

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

// readModelFailures counts the events of the log that views could not
// apply, which billing totals may leave out: from their Status, as the
// metrics read it (statusReporter); 0 for read models that report none.
func readModelFailures(views ReadModels) uint64 {
	if sr, ok := views.(statusReporter); ok {
		return sr.Status().Failures
	}
	return 0
}

var _ BillingReadModel = projectorReadModels{}

// BillingGroup is one group of the billing summary, as GET
// /v1/billing/summary and the `callledger billing` command both write it,
// so that a billing job reads either alike.
type BillingGroup struct {
	Account  string `json:"account,omitempty"`
	Provider string `json:"provider,omitempty"`
	Currency string `json:"currency"`
	// Month is the UTC month (2025-03), when grouped by month.
	Month string `json:"month,omitempty"`
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

// newBillingGroup renders a row of the billing read model: its total exact
// (trailing fractional zeros dropped) when scale < 0, else rounded half away
// from zero to scale places; its month and day only when the rows are
// grouped by them.
func newBillingGroup(row *projections.BillingRow, scale int, byMonth, byDay bool) BillingGroup {
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
	if byMonth {
		g.Month = row.Month.Format(billingMonthLayout)
	}
	if byDay {
		g.Day = row.Day.Format(time.DateOnly)
	}
	return g
}

// billingMonthLayout writes a month as ISO 8601 does (2025-03).
const billingMonthLayout = "2006-01"

// BillingSummary is the body of GET /v1/billing/summary, which the billing
// command writes too for --format json (account only with --account: it
// may sum every account).
type BillingSummary struct {
	Account string         `json:"account,omitempty"`
	From    string         `json:"from,omitempty"`
	To      string         `json:"to,omitempty"`
	GroupBy []string       `json:"group_by"`
	Scale   *int           `json:"scale,omitempty"`
	Groups  []BillingGroup `json:"groups"`
	// DeletedCallsExcluded sums deleted_calls over the groups.
	DeletedCallsExcluded int64 `json:"deleted_calls_excluded"`
	// ReadModelFailures counts the events of the log that the read models
	// could not apply (an event this build cannot decode or fold, such as
	// a forged or older build's archive may hold with valid hashes): when
	// it is not 0, the groups may leave calls out or count them at an
	// older price, and Warning says so, so that a billing job never takes
	// such totals for whole ones. The count is the ledger's, over every
	// account: it says the ledger is incomplete, never whose calls are.
	// `callledger verify` lists the events.
	ReadModelFailures uint64 `json:"read_model_failures"`
	// Warning says what ReadModelFailures means; omitted when it is 0.
	Warning string `json:"warning,omitempty"`
}

// BillingScaleMax bounds the scale of billing totals (the scale parameter
// and the --scale flag): more places than any currency has.
const BillingScaleMax = 18

// BillingParams are the parameters of a billing summary as text: the query
// of GET /v1/billing/summary, or the flags of `callledger billing`. Both
// parse them with ParseBillingParams, so that they accept and refuse the
// same values.
type BillingParams struct {
	// From and To are UTC days (2025-01-31) or RFC 3339 instants; nil is
	// unbounded. One given empty is refused, not read as unbounded: it is
	// most often a shell variable or a template that expanded to nothing,
	// and would bill every call of the ledger rather than a period.
	From, To *string
	// GroupBy is a comma-separated list of dimensions; "" means currency.
	GroupBy string
	// Scale is a number of decimal places in 0..BillingScaleMax, in
	// decimal digits; nil means exact totals. One given empty is refused,
	// as an empty bound is: read as exact, a template meant to round to
	// cents would invoice amounts of more places than the currency has.
	Scale *string
}

// BillingParamNames are the names a caller knows the parameters by, which
// ParseBillingParams's errors give: the query's or the command's flags'.
type BillingParamNames struct {
	From, To, GroupBy, Scale string
}

// billingQueryNames are the names of GET /v1/billing/summary's parameters.
var billingQueryNames = BillingParamNames{From: "from", To: "to", GroupBy: "group_by", Scale: "scale"}

// ParseBillingParams reads billing parameters into a query (without its
// account) and a scale (-1 for exact totals). Bounds are normalised to UTC;
// group_by is normalised (trimmed, each dimension once, in the order given).
// It returns a Malformed error (400) for a bound that is not a time (or is
// given empty) or a scale out of range (or given empty), and an Invalid error (422) for an unknown or empty
// dimension or to before from; their field is the parameter's name in
// names.
func ParseBillingParams(p BillingParams, names BillingParamNames) (projections.BillingQuery, int, error) {
	var bq projections.BillingQuery
	var err error
	if bq.From, err = parseBillingInstant(names.From, p.From); err != nil {
		return bq, 0, err
	}
	if bq.To, err = parseBillingInstant(names.To, p.To); err != nil {
		return bq, 0, err
	}
	if bq.From != nil && bq.To != nil && bq.To.Before(*bq.From) {
		return bq, 0, Invalid(names.To, "is before %s", names.From)
	}
	if bq.GroupBy, err = parseBillingGroupBy(names.GroupBy, p.GroupBy); err != nil {
		return bq, 0, err
	}
	scale, err := parseBillingScale(names.Scale, p.Scale)
	return bq, scale, err
}

// parseBillingInstant reads a from/to parameter: a UTC day or an RFC 3339
// instant ("T" and "Z" in either case, see domain.ParseRFC3339), in UTC;
// nil (not given) is unbounded, and "" is refused (see BillingParams).
// Every time given is a bound, 0001-01-01 (Go's zero time) too.
func parseBillingInstant(name string, p *string) (*time.Time, error) {
	if p == nil {
		return nil, nil
	}
	v := *p
	if v == "" {
		return nil, Malformed(name, "is empty: give a day (2025-01-31) or an RFC 3339 time, or leave it out for no bound")
	}
	t, _, err := parseDayOrInstant(v)
	if err != nil {
		return nil, Malformed(name, "%s", queryTimeProblem(v, err, "must be a day (2025-01-31) or an RFC 3339 time"))
	}
	return &t, nil
}

// parseBillingGroupBy reads a group_by list: "" is currency; each dimension
// is kept once.
func parseBillingGroupBy(name, v string) ([]string, error) {
	if v == "" {
		v = projections.GroupCurrency
	}
	var dims []string
	for _, g := range strings.Split(v, ",") {
		g = strings.TrimSpace(g)
		switch g {
		case projections.GroupAccount, projections.GroupProvider, projections.GroupCurrency, projections.GroupMonth, projections.GroupDay:
			if !slices.Contains(dims, g) {
				dims = append(dims, g)
			}
		default:
			return nil, Invalid(name, "unknown dimension %q: use account, provider, currency, month, day", g)
		}
	}
	return dims, nil
}

// parseBillingScale reads a scale: nil is -1, exact totals; "" is refused
// (see BillingParams), as is anything but decimal digits ("+2", " 2",
// "2.0"), which strconv.Atoi would partly accept.
func parseBillingScale(name string, p *string) (int, error) {
	if p == nil {
		return -1, nil
	}
	v := *p
	if v == "" {
		return 0, Malformed(name, "is empty: give a number of decimal places in 0..%d, or leave it out for exact totals", BillingScaleMax)
	}
	if strings.TrimLeft(v, "0123456789") != "" {
		return 0, Malformed(name, "must be an integer in 0..%d", BillingScaleMax)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n > BillingScaleMax {
		return 0, Malformed(name, "must be an integer in 0..%d", BillingScaleMax)
	}
	return n, nil
}

// refuseBillingFilters refuses the filters a billing job may send that the
// summary does not take, which it would otherwise ignore and answer
// totals they did not ask for (an auditor probe's account=acctB got
// acctA's totals): account, unless it names the caller's own (the summary
// is always the key's account's), and provider or currency, whose totals
// group_by splits out.
func refuseBillingFilters(q url.Values, account string) error {
	if q.Has("account") && q.Get("account") != account {
		return Malformed("account", "the summary is the account of the API key that asks (%s): leave account out, or ask with the other account's key", account)
	}
	for _, name := range []string{"provider", "currency"} {
		if q.Has(name) {
			return Malformed(name, "the summary takes no %s filter: group_by=%s gives the totals of each %s", name, name, name)
		}
	}
	return nil
}

// parseBillingQuery reads the summary's parameters for account.
func parseBillingQuery(r *http.Request, account string) (projections.BillingQuery, int, error) {
	q := r.URL.Query()
	if name := timeTravelParam(q); name != "" {
		return projections.BillingQuery{}, 0, Malformed(name, "billing sums the calls' prices as they stand now; from and to choose the calls by start time")
	}
	n := billingQueryNames
	if err := givenOnce(q, "account", n.From, n.To, n.GroupBy, n.Scale); err != nil {
		return projections.BillingQuery{}, 0, err
	}
	if err := refuseBillingFilters(q, account); err != nil {
		return projections.BillingQuery{}, 0, err
	}
	bq, scale, err := ParseBillingParams(BillingParams{
		From: givenParam(q, "from"), To: givenParam(q, "to"), GroupBy: q.Get("group_by"), Scale: givenParam(q, "scale"),
	}, billingQueryNames)
	bq.Account = account
	return bq, scale, err
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
	s.writeJSON(w, r, http.StatusOK, NewBillingSummary(bq, rows, scale, readModelFailures(s.views)))
}

// NewBillingSummary renders the rows of q as the summary's body: q's
// account (omitted when it sums every account), bounds echoed in UTC to
// the nanosecond, or omitted when unbounded, the scale when one is given
// and the groups at it (-1: exact, no scale shown), and failures, the count of events the read models could not
// apply, with its warning. The billing command writes it for --format json.
func NewBillingSummary(q projections.BillingQuery, rows []projections.BillingRow, scale int, failures uint64) BillingSummary {
	body := BillingSummary{Account: q.Account, From: formatBillingInstant(q.From), To: formatBillingInstant(q.To), GroupBy: q.GroupBy, ReadModelFailures: failures}
	if scale >= 0 {
		body.Scale = &scale
	}
	body.Groups, body.DeletedCallsExcluded = billingGroups(rows, q.GroupBy, scale)
	if failures > 0 {
		body.Warning = BillingFailuresWarning(failures)
	}
	return body
}

// BillingFailuresWarning is the warning of a billing summary whose read
// models could not apply failures events, as the route and the billing
// command both give it.
func BillingFailuresWarning(failures uint64) string {
	events := "events"
	if failures == 1 {
		events = "event"
	}
	return fmt.Sprintf("these totals may leave calls out or count them at an older price: the read models could not apply %d %s of the log (`callledger verify` lists them)", failures, events)
}

// formatBillingInstant writes a bound in UTC to the nanosecond, or "" when
// it is unbounded.
func formatBillingInstant(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// billingGroups turns billing rows grouped by groupBy into their groups
// (newBillingGroup), and sums their deleted calls, which the totals leave
// out.
func billingGroups(rows []projections.BillingRow, groupBy []string, scale int) (groups []BillingGroup, deletedCalls int64) {
	byMonth, byDay := slices.Contains(groupBy, projections.GroupMonth), slices.Contains(groupBy, projections.GroupDay)
	groups = make([]BillingGroup, 0, len(rows))
	for i := range rows {
		deletedCalls += rows[i].DeletedCalls
		groups = append(groups, newBillingGroup(&rows[i], scale, byMonth, byDay))
	}
	return groups, deletedCalls
}
