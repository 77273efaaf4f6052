package api

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdempotencySweepDeletesEveryExpiredRecord(t *testing.T) {
	// Goal: one sweep deletes every record older than the TTL, however
	// many, batch after batch, and none younger; one batch a tick (10,000
	// every ten minutes) fell behind any steadier rate of keyed writes.
	var now atomic.Int64
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now.Store(start.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	table, err := openIdempotencyTable(t.TempDir(), 25*time.Hour, clock, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = table.Close() })

	const old, young = 2*sweepBatchMax + 123, 50
	put := func(name string, n int) {
		for i := range n {
			rec := idempotencyRecord{Fingerprint: []byte("fp"), Status: 200, Body: []byte("{}"), CreatedNs: now.Load()}
			require.NoError(t, table.put(acctA, fmt.Sprintf("%s-%d", name, i), rec))
		}
	}
	put("old", old)
	now.Store(start.Add(24 * time.Hour).UnixNano())
	put("young", young)
	now.Store(start.Add(26 * time.Hour).UnixNano()) // the old ones past the TTL, the young not

	require.NoError(t, table.sweepExpired())
	for _, tc := range []struct {
		name string
		n    int
		kept bool
	}{{"old", old, false}, {"young", young, true}} {
		for _, i := range []int{0, tc.n / 2, tc.n - 1} {
			rec, err := table.get(acctA, fmt.Sprintf("%s-%d", tc.name, i))
			require.NoError(t, err)
			assert.Equal(t, tc.kept, rec != nil, "%s-%d", tc.name, i)
		}
	}
	n, err := table.sweep()
	require.NoError(t, err)
	assert.Zero(t, n, "nothing expired is left")
}
