package projections_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
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
	// Goal: paging with Next visits every call the filters keep once, in
	// order; from any page, Prev gives exactly the page before it, in the
	// query's order, with a Next that leads back; the first page's Prev is
	// empty. In both orders, and with filters that skip calls between
	// pages: an index filter, a view filter (parent call, end time), or
	// both. Each item comes with its call's view.
	ctx := context.Background()
	store, p := runningProjector(t)
	clk := newClock()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	parent := uuid.New()
	endOf := func(i int) time.Time { return start.Add(time.Duration(i) * time.Hour) }
	callIDs := make([]uuid.UUID, 23)
	var last eventstore.AppendResult
	for i := range callIDs {
		callIDs[i] = uuid.New()
		c := created(callIDs[i], "acct", "twilio", fmt.Sprintf("CA%d", i), start.Add(time.Duration(i%7)*time.Minute))
		if i%4 == 1 {
			c.ParentCallID = &parent // calls 1, 5, 9, 13, 17 and 21
		}
		events := []domain.Event{c}
		if i%3 == 0 {
			events = append(events, domain.CallStatusChanged{Status: domain.StatusRinging})
		}
		if i%5 == 2 {
			events = append(events, domain.CallTimingChanged{EndedAt: ptr(endOf(i))}) // calls 2, 7, 12, 17 and 22
		}
		last = appendEvents(t, store, clk, "acct", callIDs[i], events...)
	}
	waitFor(t, p, last.Position)

	ringing := []domain.Status{domain.StatusRinging}
	for _, tc := range []struct {
		name string
		q    projections.ListQuery
		want func(i int) bool // whether call i is listed
	}{
		{"NewestFirst", projections.ListQuery{Account: "acct", Limit: 4}, func(int) bool { return true }},
		{"OldestFirst", projections.ListQuery{Account: "acct", Limit: 5, OldestFirst: true}, func(int) bool { return true }},
		{"Status", projections.ListQuery{Account: "acct", Limit: 2, Statuses: ringing}, func(i int) bool { return i%3 == 0 }},
		{"Parent", projections.ListQuery{Account: "acct", Limit: 2, ParentCallID: parent}, func(i int) bool { return i%4 == 1 }},
		{"ParentPagesEvenly", projections.ListQuery{Account: "acct", Limit: 3, ParentCallID: parent}, func(i int) bool { return i%4 == 1 }},
		{"ParentOldestFirst", projections.ListQuery{Account: "acct", Limit: 4, OldestFirst: true, ParentCallID: parent}, func(i int) bool { return i%4 == 1 }},
		{"StatusAndParent", projections.ListQuery{Account: "acct", Limit: 1, Statuses: ringing, ParentCallID: parent}, func(i int) bool { return i%12 == 9 }},
		{"Ended", projections.ListQuery{Account: "acct", Limit: 2, EndedAtMin: ptr(endOf(0))}, func(i int) bool { return i%5 == 2 }},
		{"EndedRange", projections.ListQuery{Account: "acct", Limit: 2, EndedAtMin: ptr(endOf(7)), EndedAtMax: ptr(endOf(22))}, func(i int) bool { return i%5 == 2 && i >= 7 && i < 22 }},
		{"EndedAndParent", projections.ListQuery{Account: "acct", Limit: 1, EndedAtMax: ptr(endOf(23)), ParentCallID: parent, OldestFirst: true}, func(i int) bool { return i == 17 }},
	} {
		q := tc.q
		t.Run(tc.name, func(t *testing.T) {
			var want []uuid.UUID
			for i, id := range callIDs {
				if tc.want(i) {
					want = append(want, id)
				}
			}
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
			assert.ElementsMatch(t, want, ids(all), "every call the filters keep, once")
			assert.Len(t, pages, max(1, (len(want)+q.Limit-1)/q.Limit), "no empty last page: Next only when a call follows")
			for _, it := range all {
				s, err := p.Call(ctx, it.CallID)
				require.NoError(t, err)
				assert.Equal(t, s, it.State, "each item comes with its call's view")
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

func TestListCursorSides(t *testing.T) {
	// Goal: a cursor is a position, and a page can be read on either side
	// of it, in the query's order. With CursorSideBefore, a page's Prev
	// gives exactly the page before it, as with the side it was made for,
	// and its Next the Limit calls before its last one; with
	// CursorSideAfter, a page's Next gives the page after it and its Prev
	// the Limit calls after its first one. In both orders, and with a
	// filter that skips calls. Nothing is before the first call: that
	// page is empty, without Prev, and with a Next only when the filter
	// left out calls before the first, past which it leads back to the
	// first page. A side out of range is refused.
	ctx := context.Background()
	store, p := runningProjector(t)
	clk := newClock()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	callIDs := make([]uuid.UUID, 11)
	var last eventstore.AppendResult
	for i := range callIDs {
		callIDs[i] = uuid.New()
		// Starts repeat, so that ties on start time are ordered by id;
		// the newest call is not ringing.
		at := start.Add(time.Duration(i%4) * time.Minute)
		if i == 0 {
			at = start.Add(time.Hour)
		}
		events := []domain.Event{created(callIDs[i], "acct", "twilio", fmt.Sprintf("CA%d", i), at)}
		if i%3 != 0 {
			events = append(events, domain.CallStatusChanged{Status: domain.StatusRinging})
		}
		last = appendEvents(t, store, clk, "acct", callIDs[i], events...)
	}
	waitFor(t, p, last.Position)

	for _, tc := range []struct {
		name string
		q    projections.ListQuery
	}{
		{"NewestFirst", projections.ListQuery{Account: "acct", Limit: 3}},
		{"OldestFirst", projections.ListQuery{Account: "acct", Limit: 4, OldestFirst: true}},
		{"Status", projections.ListQuery{Account: "acct", Limit: 2, Statuses: []domain.Status{domain.StatusRinging}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list := func(limit int, cursor string, side projections.CursorSide) projections.ListPage {
				t.Helper()
				q := tc.q
				q.Limit, q.Cursor, q.Side = limit, cursor, side
				page, err := p.List(ctx, q)
				require.NoError(t, err)
				return page
			}
			limit := tc.q.Limit
			all := ids(list(projections.ListLimitMax, "", projections.CursorSideMade).Items)
			require.Greater(t, len(all), 2*limit, "at least three pages")
			// span is all[from:to] within all, nil when empty (as ids).
			span := func(from, to int) []uuid.UUID {
				from, to = max(0, from), min(to, len(all))
				if from >= to {
					return nil
				}
				return all[from:to]
			}
			var pages []projections.ListPage
			for cursor := ""; len(pages) == 0 || cursor != ""; cursor = pages[len(pages)-1].Next {
				pages = append(pages, list(limit, cursor, projections.CursorSideMade))
				require.Less(t, len(pages), len(all))
			}

			for i, pg := range pages {
				first := i * limit // the index in all of the page's first call
				end := first + len(pg.Items)
				require.Equal(t, span(first, end), ids(pg.Items))
				if i > 0 {
					back := list(limit, pg.Prev, projections.CursorSideBefore)
					assert.Equal(t, ids(pages[i-1].Items), ids(back.Items), "before page %d's Prev is page %d", i, i-1)
					assert.Equal(t, i-1 > 0, back.Prev != "", "page %d knows whether a page is before it", i-1)
					assert.Equal(t, span(first+1, first+1+limit), ids(list(limit, pg.Prev, projections.CursorSideAfter).Items),
						"after page %d's Prev are the calls after its first", i)
				}
				if pg.Next != "" {
					assert.Equal(t, ids(pages[i+1].Items), ids(list(limit, pg.Next, projections.CursorSideAfter).Items),
						"after page %d's Next is page %d", i, i+1)
					assert.Equal(t, span(end-1-limit, end-1), ids(list(limit, pg.Next, projections.CursorSideBefore).Items),
						"before page %d's Next are the calls before its last", i)
				}
			}

			// The Next of a page of one names the first call.
			top := list(1, "", projections.CursorSideMade)
			require.NotEmpty(t, top.Next)
			none := list(limit, top.Next, projections.CursorSideBefore)
			assert.Empty(t, none.Items, "nothing is before the first call")
			assert.Empty(t, none.Prev)
			// Newest first, the status filter leaves out a call before
			// the first: the empty page leads back past it.
			require.Equal(t, tc.q.Statuses != nil, none.Next != "", "a Next only past a call left out")
			if none.Next != "" {
				assert.Equal(t, span(0, limit), ids(list(limit, none.Next, projections.CursorSideMade).Items))
			}
		})
	}

	_, err := p.List(ctx, projections.ListQuery{Account: "acct", Side: projections.CursorSideBefore + 1})
	assert.ErrorIs(t, err, projections.ErrInvalidQuery)
}

func TestListViewFiltersAreBoundedByScanMax(t *testing.T) {
	// Goal: a filter that rarely holds cannot make one List read without
	// end: a List reads at most ListScanMax index entries, which hold the
	// calls' ends and parents, and, on entries written by an earlier build
	// without them (layout 1), at most ListViewScanMax call views for a
	// view filter; a page that reaches a bound ends with a Next cursor
	// after the last entry read, from which paging goes on to the match,
	// skipping and repeating nothing. A page left empty keeps its way
	// back: an empty page reached by Next has a Prev to the page before it,
	// and an empty page reached by Prev a Next to the page it came from.
	// Entries an index filter leaves out count against ListScanMax, not
	// against ListViewScanMax: no view is read for them.
	for _, tc := range []struct {
		name    string
		layout1 bool
	}{
		{"EntriesHoldEndAndParent", false},
		{"EntriesOfAnEarlierBuild", true},
	} {
		t.Run(tc.name, func(t *testing.T) { testListViewFiltersBounded(t, tc.layout1) })
	}
}

// testListViewFiltersBounded is TestListViewFiltersAreBoundedByScanMax over
// list entries of layout 2, or of layout 1 when layout1 is set (see
// rewriteListEntriesInLayout1).
func testListViewFiltersBounded(t *testing.T, layout1 bool) {
	ctx := context.Background()
	store, dir, p, stop := runningProjectorIn(t)
	clk := newClock()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	// bound is the entries a page reads for a view filter that holds for
	// no call: ListScanMax, or ListViewScanMax views of layout-1 entries.
	bound := projections.ListScanMax
	if layout1 {
		bound = projections.ListViewScanMax
	}
	n := projections.ListScanMax + 3
	// parentOfNewest created the newest call, parentOfOldest the oldest;
	// nobody created none.
	parentOfNewest, parentOfOldest, nobody := uuid.New(), uuid.New(), uuid.New()
	callIDs := make([]uuid.UUID, n) // oldest first
	for i := range callIDs {
		callIDs[i] = uuid.New()
	}
	oldest, newest := callIDs[0], callIDs[n-1]
	last := appendFromWriters(n, 32, func(i int) eventstore.AppendResult {
		id := callIDs[i]
		c := created(id, "acct", "twilio", fmt.Sprintf("CA%d", i), start.Add(time.Duration(i)*time.Second))
		switch id {
		case oldest:
			c.ParentCallID = &parentOfOldest
		case newest:
			c.ParentCallID = &parentOfNewest
		}
		events := []domain.Event{c}
		if i%2 == 1 {
			events = append(events, domain.CallStatusChanged{Status: domain.StatusRinging})
		}
		return appendEvents(t, store, clk, "acct", id, events...)
	})
	waitFor(t, p, last)
	if layout1 {
		stop()
		require.NoError(t, p.Close())
		require.Equal(t, n, rewriteListEntriesInLayout1(t, dir))
		p = openProjector(t, dir, store, testOptions())
	}
	list := func(q projections.ListQuery, cursor string) projections.ListPage {
		t.Helper()
		q.Cursor = cursor
		page, err := p.List(ctx, q)
		require.NoError(t, err)
		return page
	}

	t.Run("MatchPastTheBound", func(t *testing.T) {
		// Every page but the last reads bound views and finds nothing.
		q := projections.ListQuery{Account: "acct", Limit: 10, ParentCallID: parentOfOldest}
		var pages []projections.ListPage
		for cursor := ""; len(pages) == 0 || cursor != ""; cursor = pages[len(pages)-1].Next {
			pages = append(pages, list(q, cursor))
			require.LessOrEqual(t, len(pages), n/bound+1)
		}
		require.Len(t, pages, (n+bound-1)/bound, "a page per bound entries")
		for _, pg := range pages[:len(pages)-1] {
			assert.Empty(t, pg.Items)
		}
		lastPage := pages[len(pages)-1]
		assert.Equal(t, []uuid.UUID{oldest}, ids(lastPage.Items))

		// Back from the match, the page is cut short by the bound: empty,
		// it goes on back with Prev, and leads back with Next.
		back := list(q, lastPage.Prev)
		assert.Empty(t, back.Items)
		assert.NotEmpty(t, back.Prev, "more to read back")
		require.NotEmpty(t, back.Next, "an empty page reached by Prev leads back")
		assert.Equal(t, []uuid.UUID{oldest}, ids(list(q, back.Next).Items))
	})

	t.Run("MatchBeforeAnEmptyPage", func(t *testing.T) {
		// The first page holds the newest call and is cut short by the
		// bound; the second finds nothing, and its Prev leads to the first.
		q := projections.ListQuery{Account: "acct", Limit: 10, ParentCallID: parentOfNewest}
		first := list(q, "")
		assert.Equal(t, []uuid.UUID{newest}, ids(first.Items))
		require.NotEmpty(t, first.Next)
		second := list(q, first.Next)
		assert.Empty(t, second.Items)
		require.NotEmpty(t, second.Prev, "an empty page reached by Next leads back")
		back := list(q, second.Prev)
		assert.Equal(t, ids(first.Items), ids(back.Items), "Prev of the second page is the first")
		assert.Empty(t, back.Prev, "nothing before the first page")
	})

	t.Run("IndexFilterOnly", func(t *testing.T) {
		// No call is busy: the first page stops after ListScanMax entries.
		q := projections.ListQuery{Account: "acct", Limit: 10, Statuses: []domain.Status{domain.StatusBusy}}
		page := list(q, "")
		assert.Empty(t, page.Items)
		require.NotEmpty(t, page.Next)
		page = list(q, page.Next)
		assert.Empty(t, page.Items)
		assert.Empty(t, page.Next, "the rest of the list")
	})

	t.Run("IndexAndViewFilters", func(t *testing.T) {
		// Half the calls are ringing: of layout 1, only their views are
		// read, so each page but the last reads about 2*bound entries.
		q := projections.ListQuery{Account: "acct", Limit: 10, Statuses: []domain.Status{domain.StatusRinging}, ParentCallID: nobody}
		want := (n + bound - 1) / bound
		if layout1 {
			ringing := n / 2
			want = (ringing + bound - 1) / bound
		}
		var pages int
		for cursor := ""; pages == 0 || cursor != ""; pages++ {
			require.Less(t, pages, n/bound+1)
			page := list(q, cursor)
			assert.Empty(t, page.Items)
			cursor = page.Next
		}
		assert.Equal(t, want, pages, "a page per bound entries read")
	})
}

// rewriteListEntriesInLayout1 rewrites every list entry of the read models
// in dir, closed, as the builds before session 44 wrote them (layout 1:
// 0x01, deleted, then status, from and to, each a uvarint length and the
// bytes; no end, no parent), and returns how many it rewrote.
func rewriteListEntriesInLayout1(t testing.TB, dir string) int {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte("l"), UpperBound: []byte("m")})
	require.NoError(t, err)
	b := db.NewBatch()
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		v := it.Value()
		require.Equal(t, byte(2), v[0], "a list entry of layout 2")
		end := 2
		for range 3 { // status, from, to
			l, k := binary.Uvarint(v[end:])
			require.Positive(t, k)
			end += k + int(l)
		}
		require.NoError(t, b.Set(bytes.Clone(it.Key()), append([]byte{1}, v[1:end]...), nil))
		n++
	}
	require.NoError(t, it.Close())
	require.NoError(t, b.Commit(pebble.Sync))
	return n
}

func TestListEmptyRangeReadsNothing(t *testing.T) {
	// Goal: a start or end range whose minimum is not before its maximum
	// holds no call, so List answers an empty page without Next or Prev at
	// once: it reads nothing, not even its context, which a canceled one
	// shows.
	store, p := runningProjector(t)
	clk := newClock()
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	id := uuid.New()
	res := appendEvents(t, store, clk, "acct", id, created(id, "acct", "twilio", "CA1", at), domain.CallTimingChanged{EndedAt: ptr(at.Add(time.Minute))})
	waitFor(t, p, res.Position)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	before, after := ptr(at.Add(-time.Hour)), ptr(at.Add(time.Hour))

	for _, tc := range []struct {
		name string
		q    projections.ListQuery
	}{
		{"StartMinEqualsMax", projections.ListQuery{StartedAtMin: before, StartedAtMax: before}},
		{"StartMinAfterMax", projections.ListQuery{StartedAtMin: after, StartedAtMax: before}},
		{"EndMinEqualsMax", projections.ListQuery{EndedAtMin: after, EndedAtMax: after}},
		{"EndMinAfterMax", projections.ListQuery{EndedAtMin: after, EndedAtMax: before}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Account = "acct"
			page, err := p.List(canceled, q)
			require.NoError(t, err)
			assert.Equal(t, projections.ListPage{}, page)
		})
	}
	_, err := p.List(canceled, projections.ListQuery{Account: "acct", EndedAtMin: before, EndedAtMax: after})
	assert.ErrorIs(t, err, context.Canceled, "a range that is not empty is read")
	page, err := p.List(context.Background(), projections.ListQuery{Account: "acct", EndedAtMin: before, EndedAtMax: after})
	require.NoError(t, err)
	assert.Equal(t, []uuid.UUID{id}, ids(page.Items))
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
	parent := uuid.New()
	callIDs := make([]uuid.UUID, 3) // oldest first
	var last eventstore.AppendResult
	for i := range callIDs {
		callIDs[i] = uuid.New()
		c := created(callIDs[i], "acct", "twilio", fmt.Sprintf("CA%d", i), start.Add(time.Duration(i)*time.Minute))
		c.ParentCallID = &parent
		last = appendEvents(t, store, clk, "acct", callIDs[i], c)
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
		{"ViewFilter", projections.ListQuery{Account: "acct", ParentCallID: parent}},
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

// ids returns the CallIDs of items in order, nil when there are none.
func ids(items []projections.ListItem) []uuid.UUID {
	var out []uuid.UUID
	for _, it := range items {
		out = append(out, it.CallID)
	}
	return out
}

// TestListRefusesAlteredCursors checks that a cursor List gave out, with
// any one of its characters changed, is refused as an invalid query, where
// any bytes of the right length named some place in the list and its page
// began there without a word; the cursor as given out still pages on.
func TestListRefusesAlteredCursors(t *testing.T) {
	ctx := context.Background()
	store, p := runningProjector(t)
	clk := newClock()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	var last eventstore.AppendResult
	for i := range 3 {
		c := created(uuid.New(), "acct", "twilio", fmt.Sprintf("CA%d", i), start.Add(time.Duration(i)*time.Minute))
		last = appendEvents(t, store, clk, "acct", c.CallID, c)
	}
	waitFor(t, p, last.Position)
	first, err := p.List(ctx, projections.ListQuery{Account: "acct", Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, first.Next)
	_, err = p.List(ctx, projections.ListQuery{Account: "acct", Limit: 1, Cursor: first.Next})
	require.NoError(t, err, "the cursor as given out")

	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(first.Next) {
		for _, c := range []byte(alphabet) {
			if c == first.Next[i] {
				continue
			}
			altered := first.Next[:i] + string(c) + first.Next[i+1:]
			_, err := p.List(ctx, projections.ListQuery{Account: "acct", Limit: 1, Cursor: altered})
			if !assert.ErrorIs(t, err, projections.ErrInvalidQuery, "character %d changed to %q: %s", i, c, altered) {
				return
			}
		}
	}
}

func TestListFiltersEntriesOfBothLayouts(t *testing.T) {
	// Goal: read models of an earlier build, whose list entries hold no end
	// nor parent (layout 1), list by end and parent as they did, reading
	// the views; an entry whose call's end changes is rewritten with them
	// (layout 2) and listed by them, and one whose call changed nothing
	// the entry holds stays as it was, listed alike.
	ctx := context.Background()
	store, dir, p, stop := runningProjectorIn(t)
	clk := newClock()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	parent := uuid.New()
	endOf := func(i int) time.Time { return start.Add(time.Duration(i)*time.Hour + 5*time.Minute) }
	var calls []uuid.UUID
	var last eventstore.Position
	for i := range 6 {
		id := uuid.New()
		calls = append(calls, id)
		c := created(id, "acct", "twilio", fmt.Sprintf("CA%d", i), start.Add(time.Duration(i)*time.Hour))
		if i%2 == 0 {
			c.ParentCallID = &parent
		}
		events := []domain.Event{c}
		if i < 4 { // calls 4 and 5 have not ended
			events = append(events, domain.CallTimingChanged{EndedAt: ptr(endOf(i))})
		}
		last = appendEvents(t, store, clk, "acct", id, events...).Position
	}
	waitFor(t, p, last)
	stop()
	require.NoError(t, p.Close())
	require.Equal(t, 6, rewriteListEntriesInLayout1(t, dir))

	p = openProjector(t, dir, store, testOptions())
	stop = startRun(t, p)
	// Call 1 ends later, call 5 ends now (both rewritten in layout 2); call
	// 3 is priced, which its list entry does not hold (left in layout 1).
	appendEvents(t, store, clk, "acct", calls[1], domain.CallTimingChanged{EndedAt: ptr(endOf(1).Add(150 * time.Minute))})
	appendEvents(t, store, clk, "acct", calls[5], domain.CallTimingChanged{EndedAt: ptr(endOf(5))})
	last = appendEvents(t, store, clk, "acct", calls[3], domain.CallPriced{Price: price("0.12", "USD")}).Position
	waitFor(t, p, last)

	for _, tc := range []struct {
		name string
		q    projections.ListQuery
		want []int // oldest first
	}{
		{"EndedFrom", projections.ListQuery{EndedAtMin: ptr(endOf(2))}, []int{1, 2, 3, 5}},
		{"EndedBefore", projections.ListQuery{EndedAtMax: ptr(endOf(3))}, []int{0, 2}},
		{"EndedBetween", projections.ListQuery{EndedAtMin: ptr(endOf(1)), EndedAtMax: ptr(endOf(4))}, []int{2, 3, 1}},
		{"Parent", projections.ListQuery{ParentCallID: parent}, []int{0, 2, 4}},
		{"ParentAndEnded", projections.ListQuery{ParentCallID: parent, EndedAtMin: ptr(start)}, []int{0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Account, q.OldestFirst = "acct", true
			page, err := p.List(ctx, q)
			require.NoError(t, err)
			var want []uuid.UUID
			for _, i := range tc.want {
				want = append(want, calls[i])
			}
			slices.SortStableFunc(want, func(a, b uuid.UUID) int { return slices.Index(calls, a) - slices.Index(calls, b) })
			assert.Equal(t, want, ids(page.Items))
		})
	}

	stop()
	require.NoError(t, p.Close())
	assert.Equal(t, map[byte]int{1: 4, 2: 2}, listEntryLayouts(t, dir), "calls 1 and 5 rewritten")
}

// listEntryLayouts counts the list entries of the read models in dir,
// closed, by layout (their first byte).
func listEntryLayouts(t *testing.T, dir string) map[byte]int {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: true})
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte("l"), UpperBound: []byte("m")})
	require.NoError(t, err)
	defer func() { require.NoError(t, it.Close()) }()
	layouts := map[byte]int{}
	for valid := it.First(); valid; valid = it.Next() {
		layouts[it.Value()[0]]++
	}
	return layouts
}
