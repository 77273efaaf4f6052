package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callledger/callledger/api"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

// billingCatchUpMax bounds how long billing waits for the read models to
// reach the end of the log before it sums them.
const billingCatchUpMax = 10 * time.Minute

func addBilling(table map[string]command) {
	table["billing"] = command{
		summary: "exact billing totals per currency: --from --to --group-by --format table|csv|json; exit 1 after the totals when the read models could not apply an event of the log",
		run:     runBilling,
	}
}

// billingOptions are billing's flags, parsed.
type billingOptions struct {
	// query is what to sum, its account the --account flag.
	query  projections.BillingQuery
	format string
	// scale is the number of decimal places to round totals to (half away
	// from zero); -1 means no rounding: totals are exact.
	scale int
}

// billingFlagNames are the flags api.ParseBillingParams's errors name.
var billingFlagNames = api.BillingParamNames{From: "--from", To: "--to", GroupBy: "--group-by", Scale: "--scale"}

// parseBillingFlags checks --from, --to, --group-by and --scale exactly as
// GET /v1/billing/summary checks its parameters (api.ParseBillingParams),
// and returns a usage error naming the flag at fault.
func parseBillingFlags(p api.BillingParams) (projections.BillingQuery, int, error) {
	q, scale, err := api.ParseBillingParams(p, billingFlagNames)
	if err != nil {
		if problem, ok := api.ProblemOf(err); ok {
			err = fmt.Errorf("%s: %s", problem.Field, problem.Message)
		}
		return q, 0, usageError{err}
	}
	return q, scale, nil
}

// runBilling catches the read models up with the log, sums the billing
// totals and prints them; then, when the read models could not apply some
// event of the log, it says so and exits 1 (readModelFailures).
func runBilling(ctx context.Context, args []string, env Env) (err error) {
	fs := newFlagSet("billing", env)
	var cfg storeConfig
	cfg.register(fs, env.Getenv)
	from := fs.String("from", "", "start, inclusive: a UTC day (its midnight) or an RFC 3339 instant; calls count on their start time; left out: from the beginning (given empty, it is refused)")
	to := fs.String("to", "", "end, exclusive: a UTC day (its midnight) or an RFC 3339 instant; left out: to the end (given empty, it is refused)")
	groupBy := fs.String("group-by", "account,provider,currency", "comma-separated dimensions among account, provider, currency, month, day (totals are always per currency); empty: currency")
	format := fs.String("format", "table", "output format: table, csv or json")
	scale := fs.String("scale", "", fmt.Sprintf("round totals to this many decimal places, 0..%d (half away from zero); left out: exact, no rounding (given empty, it is refused)", api.BillingScaleMax))
	// An empty --account ("$ACCOUNT" unset) is refused, as an empty bound
	// is: read as none, it would bill every account.
	var account string
	nonEmptyStringVar(fs, &account, "account", "", "name an account, or leave the flag out for every account",
		"only this `account`'s calls; left out: every account")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	opts := billingOptions{format: *format}
	params := api.BillingParams{GroupBy: *groupBy}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "from":
			params.From = from
		case "to":
			params.To = to
		case "scale":
			params.Scale = scale
		}
	})
	if opts.query, opts.scale, err = parseBillingFlags(params); err != nil {
		return err
	}
	opts.query.Account = account
	switch opts.format {
	case "table", "csv", "json":
	default:
		return usageError{fmt.Errorf("--format %q: want table, csv or json", opts.format)}
	}

	cfg, release, err := servedCopy(ctx, cfg, env)
	if err != nil {
		return err
	}
	defer release()
	store, err := openToolStore(ctx, cfg, env, true)
	if err != nil {
		return err
	}
	defer closeInto(&err, store)
	proj, err := openReadModels(ctx, cfg, store, toolLogger(env))
	if err != nil {
		return err
	}
	defer closeInto(&err, proj)
	if err := catchUp(ctx, proj, store); err != nil {
		return err
	}
	rows, err := proj.Billing(ctx, opts.query)
	if err != nil {
		if errors.Is(err, projections.ErrInvalidQuery) {
			return usageError{err}
		}
		return err
	}
	failures, err := failuresOf(ctx, proj)
	if err != nil {
		return err
	}
	if err := writeBilling(env.Stdout, opts, rows, failures.count); err != nil {
		return err
	}
	if len(rows) == 0 && account != "" {
		if err := warnAccountUnknown(ctx, env.Stderr, proj, account); err != nil {
			return err
		}
	}
	if failures.count > 0 {
		// The totals are written (a job may want them all the same), and
		// the exit status is 1, so that no script takes them for whole.
		return fmt.Errorf("%w: the totals above may leave calls out or count them at an older price: %s; `callledger verify` lists them",
			errReadModelsIncomplete, failures.summary())
	}
	return nil
}

// warnAccountUnknown says on w when the ledger holds no call of account,
// deleted or not, at any time: empty totals for an --account that names
// no account (a misspelt name, another case) read like a month without
// calls, and a billing job would invoice nothing. It is a warning, not an
// error: an account with no calls yet is one.
func warnAccountUnknown(ctx context.Context, w io.Writer, proj *projections.Projector, account string) error {
	page, err := proj.List(ctx, projections.ListQuery{Account: account, IncludeDeleted: true, Limit: 1})
	if err != nil {
		return err
	}
	if len(page.Items) == 0 {
		fmt.Fprintf(w, "callledger billing: warning: the ledger holds no call of account %q at any time: check the name (accounts are compared exactly)\n", account)
	}
	return nil
}

// catchUp runs the projector until its read models reflect every event the
// store held when catchUp began (a running server would do it; a tool run on
// its own must, or it would report stale totals).
func catchUp(ctx context.Context, proj *projections.Projector, store eventstore.Store) error {
	head, err := eventstore.LogEnd(ctx, store)
	if err != nil {
		return err
	}
	if head.IsStart() || proj.Status().Checkpoint.Compare(head) >= 0 {
		return nil
	}
	runCtx, cancel := context.WithTimeout(ctx, billingCatchUpMax)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- proj.Run(runCtx) }()
	waitErr := proj.WaitFor(runCtx, head)
	cancel()
	if runErr := <-done; runErr != nil && waitErr == nil {
		waitErr = runErr
	}
	if waitErr != nil {
		return fmt.Errorf("bring the read models up to position %s: %w", head, waitErr)
	}
	return nil
}

// writeBilling prints rows in the chosen format. Columns follow the group-by
// dimensions, currency always present. failures, the events the read models
// could not apply, is in the JSON (with its warning); the table and the CSV
// leave it to the command's error.
func writeBilling(w io.Writer, opts billingOptions, rows []projections.BillingRow, failures uint64) error {
	has := func(g string) bool { return slices.Contains(opts.query.GroupBy, g) }
	summary := api.NewBillingSummary(opts.query, rows, opts.scale, failures)
	out, deleted := summary.Groups, summary.DeletedCallsExcluded
	var header []string
	for _, g := range []string{projections.GroupAccount, projections.GroupProvider, projections.GroupMonth, projections.GroupDay} {
		if has(g) {
			header = append(header, g)
		}
	}
	header = append(header, "currency", "total", "calls", "billed_duration_seconds", "deleted_calls")
	record := func(j api.BillingGroup) []string {
		var rec []string
		if has(projections.GroupAccount) {
			rec = append(rec, j.Account)
		}
		if has(projections.GroupProvider) {
			rec = append(rec, j.Provider)
		}
		if has(projections.GroupMonth) {
			rec = append(rec, j.Month)
		}
		if has(projections.GroupDay) {
			rec = append(rec, j.Day)
		}
		return append(rec, j.Currency, j.Total, strconv.FormatInt(j.Calls, 10),
			strconv.FormatInt(j.BilledDurationSeconds, 10), strconv.FormatInt(j.DeletedCalls, 10))
	}

	switch opts.format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(summary)
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		for _, j := range out {
			j.Account, j.Provider, j.Currency = spreadsheetText(j.Account), spreadsheetText(j.Provider), spreadsheetText(j.Currency)
			if err := cw.Write(record(j)); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
		for _, j := range out {
			fmt.Fprintln(tw, strings.Join(record(j), "\t")+"\t")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "%d %s of the calls that start %s; %d deleted %s excluded\n", len(out), plural(uint64(len(out)), "group", "groups"),
			billingPeriod(summary.From, summary.To), deleted, plural(uint64(deleted), "call", "calls"))
		return nil
	}
}

// spreadsheetText is s as a CSV cell that a spreadsheet shows as text: an
// account (the operator's) or a provider (a client's) beginning with =, +,
// -, @, a tab or a carriage return gets a leading apostrophe, which
// spreadsheets read as "text follows" and hide, so that a provider named
// =HYPERLINK(...) is not run as a formula on the machine of whoever opens
// the billing export (OWASP's "CSV injection"). So does a currency, which
// the ledger writes as three letters but a log edited by hand may not
// (domain's invariants report such a price, and billing then fails, but
// still writes what it summed). Other cells are numbers and dates, which
// cannot begin so.
func spreadsheetText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// billingPeriod words the period of a summary whose bounds are from and to
// (as the summary echoes them, "" when unbounded), for the table's last
// line: the CSV has no room for it, and a table read later must say which
// calls it sums.
func billingPeriod(from, to string) string {
	switch {
	case from == "" && to == "":
		return "at any time"
	case to == "":
		return "at or after " + from
	case from == "":
		return "before " + to
	}
	return "in [" + from + ", " + to + ")"
}
