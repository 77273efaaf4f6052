package projections_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

// BenchmarkListWalkByEnd measures a client walking every page of a list
// whose end and parent filters match no call (LaML's EndTime and
// ParentCallSid) over an account of 20,000 ended calls: "entries", where
// the list index holds each call's end and parent, and "earlier-entries",
// list entries of layout 1 as the builds before session 44 wrote them,
// for which each page reads call views (at most ListViewScanMax a page).
// pages/walk is the requests such a walk takes. Run it with:
//
//	go test ./projections/ -run '^$' -bench BenchmarkListWalkByEnd -benchtime 20x
func BenchmarkListWalkByEnd(b *testing.B) {
	const calls = 20_000
	store, dir := openStore(b), b.TempDir()
	p := openProjector(b, dir, store, benchOptions())
	stop := startRun(b, p)
	clk := newClock()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	last := appendFromWriters(calls, 32, func(i int) eventstore.AppendResult {
		id := uuid.New()
		at := start.Add(time.Duration(i) * time.Minute)
		return appendEvents(b, store, clk, "acct", id,
			created(id, "acct", "twilio", fmt.Sprintf("CA%d", i), at),
			domain.CallTimingChanged{EndedAt: ptr(at.Add(3 * time.Minute))})
	})
	waitFor(b, p, last)
	stop()
	require.NoError(b, p.Close())

	walk := func(b *testing.B, p *projections.Projector) {
		q := projections.ListQuery{Account: "acct", ParentCallID: uuid.New(), EndedAtMin: &start}
		pages := 0
		for b.Loop() {
			pages = 0
			for cursor := ""; pages == 0 || cursor != ""; pages++ {
				q.Cursor = cursor
				page, err := p.List(context.Background(), q)
				require.NoError(b, err)
				require.Empty(b, page.Items)
				cursor = page.Next
			}
		}
		b.ReportMetric(float64(pages), "pages/walk")
	}
	b.Run("entries", func(b *testing.B) {
		walk(b, openProjector(b, dir, store, benchOptions()))
	})
	b.Run("earlier-entries", func(b *testing.B) {
		// The entries of layout 1, rewritten in this directory: after
		// "entries".
		require.Equal(b, calls, rewriteListEntriesInLayout1(b, dir))
		walk(b, openProjector(b, dir, store, benchOptions()))
	})
}
