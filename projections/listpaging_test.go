package projections_test

import (
	"context"
	"fmt"
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

func TestListPagesForwardAndBack(t *testing.T) {
	// Goal: paging with Next visits every call once, in order; from any
	// page, Prev gives exactly the page before it, in the query's order,
	// with a Next that leads back; the first page's Prev is empty. In both
	// orders, and with a filter that skips calls between pages.
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

	for _, q := range []projections.ListQuery{
		{Account: "acct", Limit: 4},
		{Account: "acct", Limit: 5, OldestFirst: true},
		{Account: "acct", Limit: 2, Statuses: []domain.Status{domain.StatusRinging}},
	} {
		t.Run(fmt.Sprintf("oldestFirst=%v/limit=%d/statuses=%v", q.OldestFirst, q.Limit, q.Statuses), func(t *testing.T) {
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
			want := 23
			if q.Statuses != nil {
				want = 8
			}
			require.Len(t, all, want, "every call once")
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

func ids(items []projections.ListItem) []uuid.UUID {
	out := make([]uuid.UUID, len(items))
	for i, it := range items {
		out[i] = it.CallID
	}
	return out
}
