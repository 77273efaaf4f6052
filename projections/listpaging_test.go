package projections_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

func TestListPagesForwardAndBack(t *testing.T) {
	// Goal: paging with Next visits every call once, in order; from any
	// page, Prev gives exactly the page before it, in the query's order,
	// with a Next that leads back; the first page's Prev is empty. In both
	// orders, and with a filter that skips calls between pages: an index
	// filter, a Match on the call view, or both.
	ctx := context.Background()
	store, p := runningProjector(t)
	clk := newClock()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	var last eventstore.AppendResult
	for i := range 23 {
		id := uuid.New()
		events := []domain.Event{created(id, "acct", "twilio", fmt.Sprintf("CA%d", i), start.Add(time.Duration(i%7)*time.Minute))}
		if i%3 == 0 {
			events = append(events, domain.CallStatusChanged{Status: domain.StatusRinging})
		}
		last = appendEvents(t, store, clk, "acct", id, events...)
	}
	waitFor(t, p, last.Position)

	// everyFourth keeps calls 1, 5, 9, 13, 17 and 21 (provider ids CA1,
	// CA5, ...), which the list index cannot tell apart.
	everyFourth := func(c *domain.Call) bool {
		var i int
		_, err := fmt.Sscanf(c.ProviderID, "CA%d", &i)
		return err == nil && i%4 == 1
	}
	ringing := []domain.Status{domain.StatusRinging}
	for _, tc := range []struct {
		name string
		q    projections.ListQuery
		want int // calls listed
	}{
		{"NewestFirst", projections.ListQuery{Account: "acct", Limit: 4}, 23},
		{"OldestFirst", projections.ListQuery{Account: "acct", Limit: 5, OldestFirst: true}, 23},
		{"Status", projections.ListQuery{Account: "acct", Limit: 2, Statuses: ringing}, 8},
		{"Match", projections.ListQuery{Account: "acct", Limit: 2, Match: everyFourth}, 6},
		{"MatchPagesEvenly", projections.ListQuery{Account: "acct", Limit: 3, Match: everyFourth}, 6},
		{"MatchOldestFirst", projections.ListQuery{Account: "acct", Limit: 4, OldestFirst: true, Match: everyFourth}, 6},
		{"StatusAndMatch", projections.ListQuery{Account: "acct", Limit: 1, Statuses: ringing, Match: everyFourth}, 2}, // 9 and 21
	} {
		q := tc.q
		t.Run(tc.name, func(t *testing.T) {
			var pages []projections.ListPage
			for {
				page, err := p.List(ctx, q)
				require.NoError(t, err)
				pages = append(pages, page)
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
				require.Less(t, len(pages), 30)
			}
			var all []projections.ListItem
			for _, pg := range pages {
				all = append(all, pg.Items...)
			}
			require.Len(t, all, tc.want, "every call once")
			seen := map[uuid.UUID]bool{}
			for _, it := range all {
				seen[it.CallID] = true
			}
			assert.Len(t, seen, tc.want, "no call twice")
			assert.Len(t, pages, max(1, (tc.want+q.Limit-1)/q.Limit), "no empty last page: Next only when a call follows")
			for _, it := range all {
				s, err := p.Call(ctx, it.CallID)
				require.NoError(t, err)
				assert.Equal(t, s, it.State, "each item comes with its call's view")
				if q.Match != nil {
					assert.True(t, q.Match(&it.State.Call), "only calls Match keeps")
				}
			}
			assert.True(t, slices.IsSortedFunc(all, func(a, b projections.ListItem) int {
				c := a.StartedAt.Compare(b.StartedAt)
				if !q.OldestFirst {
					c = -c
				}
				return c
			}))
			assert.Empty(t, pages[0].Prev, "nothing before the first page")

			for i := len(pages) - 1; i > 0; i-- {
				q.Cursor = pages[i].Prev
				require.NotEmpty(t, q.Cursor, "page %d has a page before it", i)
				back, err := p.List(ctx, q)
				require.NoError(t, err)
				assert.Equal(t, ids(pages[i-1].Items), ids(back.Items), "Prev of page %d is page %d", i, i-1)
				assert.Equal(t, i-1 > 0, back.Prev != "", "page %d knows whether a page is before it", i-1)
				if back.Next != "" {
					q.Cursor = back.Next
					fwd, err := p.List(ctx, q)
					require.NoError(t, err)
					assert.Equal(t, ids(pages[i].Items), ids(fwd.Items), "and its Next leads back to page %d", i)
				}
			}
		})
	}
}

func TestListMatchIsBoundedByScanMax(t *testing.T) {
	// Goal: a Match that rarely holds cannot make one List read without
	// end: it is asked about at most ListScanMax calls, and a page that
	// reaches the bound ends with a Next cursor after the last call read,
	// from which paging goes on to the match, skipping and repeating
	// nothing. Match is never asked about a call the index filters leave
	// out.
	ctx := context.Background()
	store, p := runningProjector(t)
	clk := newClock()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	n := projections.ListScanMax + 3
	callIDs := make([]uuid.UUID, n)
	for i := range callIDs {
		callIDs[i] = uuid.New()
	}
	oldest := callIDs[0]
	// Written by concurrent writers, as writeSome does, so that the store
	// commits them in groups.
	const writers = 32
	var mu sync.Mutex
	var last eventstore.Position
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				id := callIDs[i]
				events := []domain.Event{created(id, "acct", "twilio", fmt.Sprintf("CA%d", i), start.Add(time.Duration(i)*time.Second))}
				if i%2 == 1 {
					events = append(events, domain.CallStatusChanged{Status: domain.StatusRinging})
				}
				res := appendEvents(t, store, clk, "acct", id, events...)
				mu.Lock()
				if last.Less(res.Position) {
					last = res.Position
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	waitFor(t, p, last)

	asked := 0
	q := projections.ListQuery{Account: "acct", Limit: 10, Match: func(c *domain.Call) bool {
		asked++
		return c.ID == oldest
	}}
	page, err := p.List(ctx, q)
	require.NoError(t, err)
	assert.Empty(t, page.Items)
	assert.Equal(t, projections.ListScanMax, asked, "at most ListScanMax calls read")
	require.NotEmpty(t, page.Next, "a page cut short by the bound says where to go on")
	q.Cursor = page.Next
	page, err = p.List(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, []uuid.UUID{oldest}, ids(page.Items))
	assert.Empty(t, page.Next)
	assert.Equal(t, n, asked, "every call asked about once")

	// With an index filter too, Match is asked only about the calls the
	// index keeps, and every entry read counts against the bound.
	var statuses []domain.Status
	q = projections.ListQuery{Account: "acct", Limit: 10, Statuses: []domain.Status{domain.StatusRinging}, Match: func(c *domain.Call) bool {
		statuses = append(statuses, c.Status)
		return false
	}}
	page, err = p.List(ctx, q)
	require.NoError(t, err)
	assert.Empty(t, page.Items)
	assert.NotEmpty(t, page.Next)
	assert.Len(t, statuses, projections.ListScanMax/2, "half the calls read are ringing")
	for _, st := range statuses {
		require.Equal(t, domain.StatusRinging, st)
	}
}

func TestListLeavesOffACallWithoutAView(t *testing.T) {
	// Goal: an index entry whose call has no view, which only a damaged
	// database holds (the runner writes both in one batch), is left off
	// the page and logged, with or without a filter on the call view, and
	// the rest of the list is still served with each call's view.
	store := openStore(t)
	dir := t.TempDir()
	clk := newClock()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	p, err := projections.Open(dir, store, testOptions())
	require.NoError(t, err)
	stop := startRun(t, p)
	callIDs := make([]uuid.UUID, 3) // oldest first
	var last eventstore.AppendResult
	for i := range callIDs {
		callIDs[i] = uuid.New()
		last = appendEvents(t, store, clk, "acct", callIDs[i], created(callIDs[i], "acct", "twilio", fmt.Sprintf("CA%d", i), start.Add(time.Duration(i)*time.Minute)))
	}
	waitFor(t, p, last.Position)
	stop()
	require.NoError(t, p.Close())

	// Damage the read models: the middle call loses its view.
	db, err := pebble.Open(dir, &pebble.Options{})
	require.NoError(t, err)
	require.NoError(t, db.Delete(append([]byte{'c'}, callIDs[1][:]...), pebble.Sync))
	require.NoError(t, db.Close())

	var logs bytes.Buffer
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	p = openProjector(t, dir, store, opts)
	for _, tc := range []struct {
		name string
		q    projections.ListQuery
	}{
		{"IndexFiltersOnly", projections.ListQuery{Account: "acct"}},
		{"Match", projections.ListQuery{Account: "acct", Match: func(*domain.Call) bool { return true }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			page, err := p.List(context.Background(), tc.q)
			require.NoError(t, err)
			assert.Equal(t, []uuid.UUID{callIDs[2], callIDs[0]}, ids(page.Items))
			for _, it := range page.Items {
				assert.Equal(t, it.CallID, it.State.Call.ID, "each item comes with its view")
			}
			assert.Contains(t, logs.String(), callIDs[1].String(), "the damaged entry is logged")
		})
	}
}

func ids(items []projections.ListItem) []uuid.UUID {
	out := make([]uuid.UUID, len(items))
	for i, it := range items {
		out[i] = it.CallID
	}
	return out
}
