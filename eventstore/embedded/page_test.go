package embedded_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
)

// TestReadAllPage checks that reading $all into reused Pages gives, page by
// page, exactly what ReadAll gives; that a read into one Page leaves the
// records of every other Page, and those ReadAll returned, untouched; that
// an append to one record's payload cannot spill into another's; that a
// warm Page saves the per-record allocations; and that a failed read
// leaves its Page empty.
func TestReadAllPage(t *testing.T) {
	s := openStore(t, t.TempDir(), testOptions())
	ctx := context.Background()
	for i := range 30 {
		_, err := s.Append(ctx, fmt.Sprintf("stream-%d", i%7), eventstore.Any(), events(1+i%3, fmt.Sprintf("Type%d", i%4)))
		require.NoError(t, err)
	}
	all, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.Len(t, all, 60)

	// Three pages read in turn into two Pages: the third read reuses the
	// first Page while the second still holds its records.
	const limit = 20
	var a, b eventstore.Page
	pages := []*eventstore.Page{&a, &b, &a}
	after := eventstore.Start
	var second []eventstore.Record
	for i, page := range pages {
		require.NoError(t, s.ReadAllPage(ctx, after, limit, page))
		want := all[i*limit : (i+1)*limit]
		require.Equal(t, want, page.Records, "page %d", i)
		after = page.Records[len(page.Records)-1].Position
		if i == 1 {
			second = cloneRecords(page.Records)
		}
	}
	assert.Equal(t, second, b.Records, "reading into a Page changed another Page's records")
	fresh, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	assert.Equal(t, fresh, all, "reading into a Page changed records ReadAll returned")

	// A record's payloads are capped: appending to Data reallocates.
	r := &b.Records[0]
	next := cloneRecords(b.Records[1:2])
	_ = append(r.Data, "spill"...)
	_ = append(r.Metadata, "spill"...)
	assert.Equal(t, next, b.Records[1:2])

	// Once a Page has grown to fit a page, reading into it again allocates
	// no payload and no records slice.
	allocs := testing.AllocsPerRun(10, func() {
		require.NoError(t, s.ReadAllPage(ctx, eventstore.Start, 0, &a))
	})
	assert.Less(t, allocs, float64(len(all))/2, "allocations of a read of %d records into a warm Page", len(all))

	// A read past the end empties the Page; so does a failed one.
	require.NoError(t, s.ReadAllPage(ctx, all[len(all)-1].Position, limit, &a))
	assert.Empty(t, a.Records)
	require.NoError(t, s.ReadAllPage(ctx, eventstore.Start, limit, &a))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, s.ReadAllPage(cancelled, eventstore.Start, limit, &a), context.Canceled)
	assert.Empty(t, a.Records)
}

// cloneRecords copies records and their payloads.
func cloneRecords(recs []eventstore.Record) []eventstore.Record {
	out := make([]eventstore.Record, len(recs))
	for i, r := range recs {
		r.Data = append([]byte(nil), r.Data...)
		r.Metadata = append([]byte(nil), r.Metadata...)
		out[i] = r
	}
	return out
}
