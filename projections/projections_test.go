package projections_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

var day1 = time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)

// TestReadModels checks each read model and its query over a small known
// history: the call view with its version, the list
// index with its filters, order and paging, and billing totals through
// re-pricing, a start moving to another day and a deletion.
func TestReadModels(t *testing.T) {
	store := openStore(t)
	p := openProjector(t, t.TempDir(), store, testOptions())
	startRun(t, p)
	clk := newClock()
	ctx := context.Background()

	const acct = "AC-read"
	idA := domain.CallIDFor(acct, "Vonage", "A")
	idB := domain.CallIDFor(acct, "vonage", "B")
	idC := domain.CallIDFor(acct, "openphone", "C")
	idOther := domain.CallIDFor("AC-other", "vonage", "A")

	appendEvents(t, store, clk, acct, idA, created(idA, acct, "Vonage", "A", day1),
		domain.CallStatusChanged{Status: domain.StatusRinging},
		domain.CallPriced{Price: price("0.0135", "USD")})
	appendEvents(t, store, clk, acct, idA, domain.CallPriced{Price: price("1.50", "USD")}) // re-priced
	appendEvents(t, store, clk, acct, idB, created(idB, acct, "vonage", "B", day1.Add(time.Hour)),
		domain.CallStatusChanged{Status: domain.StatusRinging},
		domain.CallAnswered{AnsweredAt: day1.Add(time.Hour), PreviousStatus: domain.StatusRinging},
		domain.CallTerminated{EndedAt: day1.Add(2 * time.Hour), DurationSeconds: ptr(int64(60)), Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress},
		domain.CallPriced{Price: price("0.25", "USD")})
	appendEvents(t, store, clk, acct, idC, created(idC, acct, "openphone", "C", day1.Add(2*time.Hour)),
		domain.CallPriced{Price: price("2", "EUR")})
	appendEvents(t, store, clk, "AC-other", idOther, created(idOther, "AC-other", "vonage", "A", day1),
		domain.CallPriced{Price: price("9.99", "USD")})
	// C moves to the next day, then is deleted.
	appendEvents(t, store, clk, acct, idC, domain.CallUpserted{StartedAt: ptr(day1.Add(24 * time.Hour))})
	last := appendEvents(t, store, clk, acct, idC, domain.CallDeleted{DeletedAt: day1.Add(25 * time.Hour)})
	waitFor(t, p, last.Position)

	t.Run("CallView", func(t *testing.T) {
		s, err := p.Call(ctx, idA)
		require.NoError(t, err)
		assert.Equal(t, uint64(4), s.Version, "version is the last revision + 1")
		assert.Equal(t, acct, s.Call.AccountID)
		assert.Equal(t, "vonage", s.Call.Provider)
		require.NotNil(t, s.Call.Price)
		assert.Equal(t, "1.50", s.Call.Price.Total.String(), "decimals keep their scale")

		_, err = p.Call(ctx, uuid.New())
		assert.ErrorIs(t, err, projections.ErrNotFound)

		s, err = p.Call(ctx, idC)
		require.NoError(t, err)
		assert.True(t, s.Call.Deleted(), "deleted calls stay readable by id")
	})

	t.Run("List", func(t *testing.T) {
		tests := []struct {
			name string
			q    projections.ListQuery
			want []uuid.UUID
		}{
			{"NewestFirstDeletedExcluded", projections.ListQuery{Account: acct}, []uuid.UUID{idB, idA}},
			{"IncludeDeleted", projections.ListQuery{Account: acct, IncludeDeleted: true}, []uuid.UUID{idC, idB, idA}},
			{"OldestFirst", projections.ListQuery{Account: acct, OldestFirst: true, IncludeDeleted: true}, []uuid.UUID{idA, idB, idC}},
			{"Status", projections.ListQuery{Account: acct, Statuses: []domain.Status{domain.StatusCompleted}}, []uuid.UUID{idB}},
			{"StartRange", projections.ListQuery{Account: acct, IncludeDeleted: true, StartedAtMin: ptr(day1.Add(time.Minute)), StartedAtMax: ptr(day1.Add(48 * time.Hour))}, []uuid.UUID{idC, idB}},
			{"ToFilter", projections.ListQuery{Account: acct, To: "+15550000002"}, []uuid.UUID{idB, idA}},
			{"FromFilterNoMatch", projections.ListQuery{Account: acct, From: "+19999999999"}, nil},
			{"OtherAccount", projections.ListQuery{Account: "AC-other"}, []uuid.UUID{idOther}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				page, err := p.List(ctx, tt.q)
				require.NoError(t, err)
				assert.Equal(t, tt.want, ids(page.Items))
				assert.Empty(t, page.Next)
			})
		}
	})

	t.Run("ListStartMoveLeavesNoOldEntry", func(t *testing.T) {
		page, err := p.List(ctx, projections.ListQuery{Account: acct, IncludeDeleted: true, StartedAtMax: ptr(day1.Add(12 * time.Hour))})
		require.NoError(t, err)
		for _, it := range page.Items {
			assert.NotEqual(t, idC, it.CallID, "C moved to the next day: its old entry must be gone")
		}
	})

	t.Run("ListPaging", func(t *testing.T) {
		var got []uuid.UUID
		q := projections.ListQuery{Account: acct, IncludeDeleted: true, Limit: 1}
		for range 10 {
			page, err := p.List(ctx, q)
			require.NoError(t, err)
			got = append(got, ids(page.Items)...)
			if page.Next == "" {
				break
			}
			q.Cursor = page.Next
		}
		assert.Equal(t, []uuid.UUID{idC, idB, idA}, got)
	})

	t.Run("ListInvalid", func(t *testing.T) {
		tests := []struct {
			name string
			q    projections.ListQuery
		}{
			{"NoAccount", projections.ListQuery{}},
			{"LimitTooLarge", projections.ListQuery{Account: acct, Limit: projections.ListLimitMax + 1}},
			{"BadCursor", projections.ListQuery{Account: acct, Cursor: "!!"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := p.List(ctx, tt.q)
				assert.ErrorIs(t, err, projections.ErrInvalidQuery)
			})
		}
	})

	t.Run("Billing", func(t *testing.T) {
		tests := []struct {
			name string
			q    projections.BillingQuery
			want []projections.BillingRow
		}{
			{
				name: "ByAccountProviderCurrencyDay",
				q:    projections.BillingQuery{GroupBy: []string{"account", "provider", "currency", "day"}},
				want: []projections.BillingRow{
					{Account: "AC-other", Provider: "vonage", Currency: "USD", Day: day1.Truncate(24 * time.Hour), Total: domain.MustParseDecimal("9.99"), Calls: 1},
					{Account: acct, Provider: "openphone", Currency: "EUR", Day: day1.Truncate(24 * time.Hour).Add(24 * time.Hour), DeletedCalls: 1, Total: domain.MustParseDecimal("0")},
					{Account: acct, Provider: "vonage", Currency: "USD", Day: day1.Truncate(24 * time.Hour), Total: domain.MustParseDecimal("1.75"), Calls: 2, DurationSeconds: 60},
				},
			},
			{
				name: "CurrencyAlwaysSeparate",
				q:    projections.BillingQuery{Account: acct},
				want: []projections.BillingRow{
					{Currency: "EUR", DeletedCalls: 1, Total: domain.MustParseDecimal("0")},
					{Currency: "USD", Total: domain.MustParseDecimal("1.75"), Calls: 2, DurationSeconds: 60},
				},
			},
			{
				name: "DayRangeExcludes",
				q:    projections.BillingQuery{From: ptr(day1.Add(24 * time.Hour)), To: ptr(day1.Add(72 * time.Hour)), GroupBy: []string{"account"}},
				want: []projections.BillingRow{
					{Account: acct, Currency: "EUR", DeletedCalls: 1, Total: domain.MustParseDecimal("0")},
				},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, err := p.Billing(ctx, tt.q)
				require.NoError(t, err)
				require.Len(t, rows, len(tt.want))
				for i := range rows {
					assert.Equal(t, tt.want[i].Total.String(), rows[i].Total.String(), "row %d total", i)
					rows[i].Total, tt.want[i].Total = domain.Decimal{}, domain.Decimal{}
				}
				assert.Equal(t, tt.want, rows)
			})
		}
		_, err := p.Billing(ctx, projections.BillingQuery{GroupBy: []string{"planet"}})
		assert.ErrorIs(t, err, projections.ErrInvalidQuery)
	})
}

func TestListZeroTimeBounds(t *testing.T) {
	// Goal: a start-time bound at Go's zero time (0001-01-01T00:00:00Z) is
	// a bound like any other instant, never "unbounded": calls may start in
	// the year 0000, so each side of it lists only the calls on that side.
	store, p := runningProjector(t)
	clk := newClock()
	ctx := context.Background()
	const acct = "AC-zero"
	var zero time.Time
	early := domain.CallIDFor(acct, "vonage", "early")
	atZero := domain.CallIDFor(acct, "vonage", "zero")
	late := domain.CallIDFor(acct, "vonage", "late")
	appendEvents(t, store, clk, acct, early, created(early, acct, "vonage", "early", zero.Add(-6*time.Hour)))
	appendEvents(t, store, clk, acct, atZero, created(atZero, acct, "vonage", "zero", zero))
	last := appendEvents(t, store, clk, acct, late, created(late, acct, "vonage", "late", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)))
	waitFor(t, p, last.Position)

	for _, tc := range []struct {
		name     string
		min, max *time.Time
		want     []uuid.UUID
	}{
		{"Unbounded", nil, nil, []uuid.UUID{late, atZero, early}},
		{"BeforeZeroTime", nil, ptr(zero), []uuid.UUID{early}},
		{"FromZeroTime", ptr(zero), nil, []uuid.UUID{late, atZero}},
		{"JustPastZeroTime", nil, ptr(zero.Add(time.Second)), []uuid.UUID{atZero, early}},
		{"ZeroTimeOnly", ptr(zero), ptr(zero.Add(time.Nanosecond)), []uuid.UUID{atZero}},
		{"EmptyAtZeroTime", ptr(zero), ptr(zero), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := p.List(ctx, projections.ListQuery{Account: acct, StartedAtMin: tc.min, StartedAtMax: tc.max})
			require.NoError(t, err)
			assert.Equal(t, tc.want, ids(page.Items))
		})
	}
}

// TestCheckpointResume checks that a Projector reopened over the same
// directory resumes from its checkpoint: events applied before the restart
// are not applied again (billing does not double-count), and those written
// while it was closed are applied.
func TestCheckpointResume(t *testing.T) {
	store := openStore(t)
	dir := t.TempDir()
	clk := newClock()
	ctx := context.Background()
	const acct = "AC-resume"

	var last eventstore.Position
	for i := range 3 {
		p, err := projections.Open(dir, store, testOptions())
		require.NoError(t, err)
		stop := startRun(t, p)
		for range 20 {
			id := domain.CallIDFor(acct, "vonage", uuid.NewString())
			appendEvents(t, store, clk, acct, id, created(id, acct, "vonage", id.String(), day1))
			last = appendEvents(t, store, clk, acct, id, domain.CallPriced{Price: price("0.0135", "USD")}).Position
		}
		waitFor(t, p, last)
		st := p.Status()
		assert.Equal(t, last, st.Checkpoint)
		assert.Equal(t, uint64(40*(i+1)), st.Events, "restart %d replayed events it had applied", i)
		rows, err := p.Billing(ctx, projections.BillingQuery{})
		require.NoError(t, err)
		require.Len(t, rows, 1)
		assert.Equal(t, int64(20*(i+1)), rows[0].Calls)
		want := decimal.RequireFromString("0.27").Mul(decimal.NewFromInt(int64(i + 1))) // 20 calls at 0.0135 per round
		assert.True(t, rows[0].Total.Equal(want), "total %s after %d restarts, want %s", rows[0].Total, i, want)
		stop()
		require.NoError(t, p.Close())
	}

	// Events written while no Projector runs are applied on the next start.
	id := domain.CallIDFor(acct, "vonage", "late")
	last = appendEvents(t, store, clk, acct, id, created(id, acct, "vonage", "late", day1)).Position
	p := openProjector(t, dir, store, testOptions())
	assert.Equal(t, uint64(120), p.Status().Events, "the checkpoint survives Close")
	startRun(t, p)
	waitFor(t, p, last)
	_, err := p.Call(ctx, id)
	assert.NoError(t, err)
}

// TestWaitFor checks read-your-writes: after WaitFor with an append's
// position the write is visible, and WaitFor for a position not yet written
// ends with the context.
func TestWaitFor(t *testing.T) {
	store := openStore(t)
	p := openProjector(t, t.TempDir(), store, testOptions())
	startRun(t, p)
	clk := newClock()
	ctx := context.Background()
	const acct = "AC-wait"

	for i := range 50 {
		id := domain.CallIDFor(acct, "vonage", uuid.NewString())
		res := appendEvents(t, store, clk, acct, id, created(id, acct, "vonage", id.String(), day1))
		waitFor(t, p, res.Position)
		s, err := p.Call(ctx, id)
		require.NoError(t, err, "write %d not visible after WaitFor", i)
		assert.Equal(t, uint64(1), s.Version)
	}

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err := p.WaitFor(short, eventstore.Position{Commit: 1 << 40, Prepare: 1 << 40})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestFailuresDoNotWedge checks that an event the runner cannot decode is
// recorded (count, last error, failure list) and skipped, that streams that
// are not calls are skipped, and that later events are still applied.
func TestFailuresDoNotWedge(t *testing.T) {
	store := openStore(t)
	p := openProjector(t, t.TempDir(), store, testOptions())
	startRun(t, p)
	clk := newClock()
	ctx := context.Background()
	const acct = "AC-fail"

	id := domain.CallIDFor(acct, "vonage", "x")
	appendEvents(t, store, clk, acct, id, created(id, acct, "vonage", "x", day1))
	_, err := store.Append(ctx, "idempotency-keys", eventstore.Any(), []eventstore.EventData{{ID: uuid.New(), Type: "KeyRecorded", Data: []byte(`{}`)}})
	require.NoError(t, err)
	bad, err := store.Append(ctx, domain.StreamID(id), eventstore.Any(), []eventstore.EventData{{ID: uuid.New(), Type: "CallTeleported", Data: []byte(`{}`), Metadata: []byte(`{"schema_version":1}`)}})
	require.NoError(t, err)
	last := appendEvents(t, store, clk, acct, id, domain.CallPriced{Price: price("0.50", "USD")})
	waitFor(t, p, last.Position)

	st := p.Status()
	assert.Equal(t, uint64(1), st.Failures)
	require.NotNil(t, st.LastFailure)
	assert.Equal(t, bad.Position, st.LastFailure.Position)
	assert.Equal(t, "CallTeleported", st.LastFailure.Type)
	assert.False(t, st.LastFailure.Folded)
	assert.Equal(t, uint64(1), st.EventsSkipped, "the non-call stream")

	failures, err := p.Failures(ctx, 10)
	require.NoError(t, err)
	require.Len(t, failures, 1)
	assert.Equal(t, *st.LastFailure, failures[0])

	s, err := p.Call(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), s.Version, "revision 2 applied after the failure at revision 1")
	require.NotNil(t, s.Call.Price)
	assert.Equal(t, "0.50", s.Call.Price.Total.String())
}

// TestRebuildEqualsIncremental is the acceptance test of the read models:
// over a few thousand generated calls with random histories, read models
// kept incrementally (events applied as they are appended, with restarts in
// between) and those of a full Rebuild are identical, by Digest and by
// query; a second rebuild and a rebuild into a fresh directory give the same
// digest; and billing totals equal the prices of every call, folded one by
// one, summed.
func TestRebuildEqualsIncremental(t *testing.T) {
	calls := 3000
	if testing.Short() {
		calls = 600
	}
	store := openStore(t)
	dir := t.TempDir()
	clk := newClock()
	ctx := context.Background()
	g := newGenerator(42, calls, 8)

	// Incremental, with a restart (close and reopen) after each round.
	var last eventstore.Position
	more := true
	for round := 0; more && round < 50; round++ {
		p, err := projections.Open(dir, store, testOptions())
		require.NoError(t, err)
		stop := startRun(t, p)
		var pos eventstore.Position
		pos, more = g.writeSome(t, store, clk, 1500, 200, 16)
		if last.Less(pos) {
			last = pos
		}
		if round%2 == 0 {
			waitFor(t, p, last) // else stop mid-stream, wherever the runner got to
		}
		stop()
		require.NoError(t, p.Close())
	}
	require.False(t, more, "the generator did not finish in 50 rounds")

	p := openProjector(t, dir, store, testOptions())
	startRun(t, p)
	waitFor(t, p, last)
	assert.Zero(t, p.Status().Failures, "the generator writes only valid histories")
	incremental, err := p.Digest(ctx)
	require.NoError(t, err)
	incRows := allBillingViews(t, p)
	incLists := allLists(t, p)

	stats, err := p.Rebuild(ctx)
	require.NoError(t, err)
	assert.Equal(t, last, stats.Checkpoint)
	rebuilt, err := p.Digest(ctx)
	require.NoError(t, err)
	assert.Equal(t, incremental, rebuilt, "rebuild differs from the incremental read models")
	assert.Equal(t, incRows, allBillingViews(t, p))
	assert.Equal(t, incLists, allLists(t, p))

	_, err = p.Rebuild(ctx)
	require.NoError(t, err)
	again, err := p.Digest(ctx)
	require.NoError(t, err)
	assert.Equal(t, rebuilt, again, "a second rebuild gives another digest")

	// Default options (large batches) into a fresh directory agree too.
	o := testOptions()
	d := projections.DefaultOptions()
	o.BatchEventsMax, o.BatchCallsMax, o.CallCacheMax = d.BatchEventsMax, d.BatchCallsMax, d.CallCacheMax
	fresh := openProjector(t, t.TempDir(), store, o)
	_, err = fresh.Rebuild(ctx)
	require.NoError(t, err)
	freshDigest, err := fresh.Digest(ctx)
	require.NoError(t, err)
	assert.Equal(t, rebuilt, freshDigest)

	// Every call view equals its stream folded one by one, and billing equals
	// the sum of each call's current price.
	states := foldAll(t, store)
	require.Len(t, states, calls)
	type key struct{ account, provider, currency string }
	type sum struct {
		total              domain.Decimal
		calls, deleted, ds int64
	}
	want := map[key]sum{}
	for id, s := range states {
		got, err := p.Call(ctx, id)
		require.NoError(t, err)
		require.Equal(t, s, got, "call %s", id)
		if s.Call.Price == nil {
			continue
		}
		k := key{s.Call.AccountID, s.Call.Provider, s.Call.Price.Currency}
		w := want[k]
		if s.Call.Deleted() {
			w.deleted++
		} else {
			w.total = w.total.Add(s.Call.Price.Total)
			w.calls++
			if s.Call.DurationSeconds != nil {
				w.ds += *s.Call.DurationSeconds
			}
		}
		want[k] = w
	}
	rows, err := p.Billing(ctx, projections.BillingQuery{GroupBy: []string{"account", "provider", "currency"}})
	require.NoError(t, err)
	require.Len(t, rows, len(want))
	for _, r := range rows {
		w := want[key{r.Account, r.Provider, r.Currency}]
		assert.True(t, w.total.Equal(r.Total.Decimal), "%s/%s/%s: total %s, calls one by one sum to %s", r.Account, r.Provider, r.Currency, r.Total, w.total)
		assert.Equal(t, w.calls, r.Calls)
		assert.Equal(t, w.deleted, r.DeletedCalls)
		assert.Equal(t, w.ds, r.DurationSeconds)
	}
}

// allBillingViews returns the billing report in every grouping.
func allBillingViews(t *testing.T, p *projections.Projector) [][]projections.BillingRow {
	t.Helper()
	groupings := [][]string{nil, {"account"}, {"provider", "day"}, {"account", "provider", "currency", "day"}}
	out := make([][]projections.BillingRow, 0, len(groupings))
	for _, g := range groupings {
		rows, err := p.Billing(context.Background(), projections.BillingQuery{GroupBy: g})
		require.NoError(t, err)
		out = append(out, rows)
	}
	return out
}

// allLists returns every account's full list, deleted calls included, paged.
func allLists(t *testing.T, p *projections.Projector) map[string][]projections.ListItem {
	t.Helper()
	out := map[string][]projections.ListItem{}
	for _, acct := range genAccounts {
		q := projections.ListQuery{Account: acct, IncludeDeleted: true, Limit: 100}
		for range 1000 {
			page, err := p.List(context.Background(), q)
			require.NoError(t, err)
			out[acct] = append(out[acct], page.Items...)
			if page.Next == "" {
				break
			}
			q.Cursor = page.Next
		}
	}
	return out
}

// TestRebuildWhileRunning checks that Rebuild pauses a running Run, and
// that Run resumes afterwards and applies what comes next.
func TestRebuildWhileRunning(t *testing.T) {
	store := openStore(t)
	p := openProjector(t, t.TempDir(), store, testOptions())
	startRun(t, p)
	clk := newClock()
	ctx := context.Background()
	g := newGenerator(7, 200, 5)
	last, _ := g.writeSome(t, store, clk, 400, 50, 4)
	waitFor(t, p, last)
	before, err := p.Digest(ctx)
	require.NoError(t, err)

	_, err = p.Rebuild(ctx)
	require.NoError(t, err)
	after, err := p.Digest(ctx)
	require.NoError(t, err)
	assert.Equal(t, before, after)

	id := domain.CallIDFor("AC-x", "vonage", "after-rebuild")
	res := appendEvents(t, store, clk, "AC-x", id, created(id, "AC-x", "vonage", "after-rebuild", day1))
	waitFor(t, p, res.Position)
	_, err = p.Call(ctx, id)
	require.NoError(t, err)
	assert.True(t, p.Status().Running)
}

// TestClosed checks the calls on a closed Projector.
func TestClosed(t *testing.T) {
	store := openStore(t)
	p := openProjector(t, t.TempDir(), store, testOptions())
	require.NoError(t, p.Close())
	ctx := context.Background()
	_, err := p.Call(ctx, uuid.New())
	assert.ErrorIs(t, err, projections.ErrClosed)
	assert.True(t, errors.Is(p.Run(ctx), projections.ErrClosed))
	_, err = p.Rebuild(ctx)
	assert.ErrorIs(t, err, projections.ErrClosed)
}

// TestBrokenInvariantFoldedAndRecorded checks that an event that breaks a
// domain invariant (an answer of a completed call) is folded as Evolve
// folds it, like every reader of the stream, and recorded as a failure.
func TestBrokenInvariantFoldedAndRecorded(t *testing.T) {
	store := openStore(t)
	p := openProjector(t, t.TempDir(), store, testOptions())
	startRun(t, p)
	clk := newClock()
	const acct = "AC-broken"
	id := domain.CallIDFor(acct, "vonage", "b")
	appendEvents(t, store, clk, acct, id, created(id, acct, "vonage", "b", day1),
		domain.CallStatusChanged{Status: domain.StatusRinging},
		domain.CallAnswered{AnsweredAt: day1, PreviousStatus: domain.StatusRinging},
		domain.CallTerminated{EndedAt: day1.Add(time.Minute), Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress})
	res := appendEvents(t, store, clk, acct, id, domain.CallAnswered{AnsweredAt: day1.Add(time.Hour), PreviousStatus: domain.StatusCompleted})
	waitFor(t, p, res.Position)

	st := p.Status()
	assert.Equal(t, uint64(1), st.Failures)
	require.NotNil(t, st.LastFailure)
	assert.True(t, st.LastFailure.Folded)
	assert.Equal(t, res.Position, st.LastFailure.Position)
	s, err := p.Call(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, uint64(5), s.Version)
	var history []domain.Envelope
	recs, err := store.ReadStream(context.Background(), domain.StreamID(id), 0, 0)
	require.NoError(t, err)
	for _, r := range recs {
		md, err := domain.UnmarshalMetadata(r.Metadata)
		require.NoError(t, err)
		ev, err := domain.UnmarshalEvent(r.Type, md.SchemaVersion, r.Data)
		require.NoError(t, err)
		history = append(history, domain.Envelope{Event: ev, Metadata: md})
	}
	want, err := domain.Fold(history)
	require.Error(t, err, "the history is broken")
	assert.Equal(t, want, s, "the call view is the stream folded as Evolve folds it")
}

// TestInterruptedRebuild checks that a rebuild stopped part-way (Ctrl-C in
// callledger replay) leaves read models that match their checkpoint: Run
// continues from there and ends with the same digest as a full rebuild.
func TestInterruptedRebuild(t *testing.T) {
	store := openStore(t)
	clk := newClock()
	g := newGenerator(11, 800, 6)
	last := g.writeAll(t, store, clk, 2000, 100, 8)
	ctx := context.Background()
	full := openProjector(t, t.TempDir(), store, testOptions())
	_, err := full.Rebuild(ctx)
	require.NoError(t, err)
	want, err := full.Digest(ctx)
	require.NoError(t, err)

	p := openProjector(t, t.TempDir(), store, testOptions())
	stopAt := last.Commit / 3
	rctx, cancel := context.WithCancel(ctx)
	go func() {
		// While rebuilding, Status reports the rebuild's own checkpoint.
		deadline := time.Now().Add(waitMax)
		for time.Now().Before(deadline) && p.Status().Checkpoint.Commit < stopAt {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err = p.Rebuild(rctx)
	cancel()
	t.Logf("rebuild stopped at %s of %s: %v", p.Status().Checkpoint, last, err)
	if err != nil {
		assert.ErrorIs(t, err, context.Canceled)
		assert.True(t, p.Status().Checkpoint.Less(last), "the rebuild was to stop part-way")
	}
	startRun(t, p)
	waitFor(t, p, last)
	got, err := p.Digest(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// TestRunSurvivesStoreFailure checks that when the store fails under a
// running Run (here: it is closed), Run neither crashes nor returns: it
// reports the error in Status and keeps retrying until it is stopped.
func TestRunSurvivesStoreFailure(t *testing.T) {
	store := openStore(t)
	p := openProjector(t, t.TempDir(), store, testOptions())
	stop := startRun(t, p)
	clk := newClock()
	id := domain.CallIDFor("AC-f", "vonage", "f")
	res := appendEvents(t, store, clk, "AC-f", id, created(id, "AC-f", "vonage", "f", day1))
	waitFor(t, p, res.Position)

	require.NoError(t, store.Close())
	deadline := time.Now().Add(waitMax)
	for p.Status().LastRunError == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	st := p.Status()
	assert.NotEmpty(t, st.LastRunError)
	assert.True(t, st.Running, "Run keeps retrying")
	_, err := p.Call(context.Background(), id)
	assert.NoError(t, err, "the read models stay readable")
	stop()
}

// TestCloseStopsRun checks that Close ends a running Run, which returns nil.
func TestCloseStopsRun(t *testing.T) {
	store := openStore(t)
	p, err := projections.Open(t.TempDir(), store, testOptions())
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	deadline := time.Now().Add(waitMax)
	for !p.Status().Running && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, p.Close())
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(waitMax):
		t.Fatal("Run did not return after Close")
	}
}
