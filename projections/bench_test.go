package projections_test

import (
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

// benchEvents is the size of the benchmark log: CALLLEDGER_BENCH_EVENTS, or
// about 100k events over about 20k calls.
func benchEvents(b *testing.B) int {
	if v := os.Getenv("CALLLEDGER_BENCH_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		return n
	}
	return 100_000
}

// BenchmarkProjection measures, in one run on the same cores and over the
// same log of generated call histories (about 5 events a call):
//
//   - decode-memory: decoding every record held in memory with the domain's
//     codec (UnmarshalMetadata, UnmarshalEvent) on GOMAXPROCS goroutines: the
//     ceiling a rebuild is measured against;
//   - rebuild: a full Rebuild from the embedded store into Pebble, with
//     DefaultOptions; the target is at least 0.7× decode-memory. peak-heap-MiB
//     is the largest live heap seen during the rebuilds;
//   - rebuild-vs-decode: both alternately, iteration by iteration, so that
//     both see the same load on a shared machine; ratio is rebuild's rate
//     over decode-memory's;
//   - billing: a billing report grouped by account, provider, currency and
//     day over every call.
//
// Run it with:
//
//	go test -run '^$' -bench BenchmarkProjection -benchtime 3x ./projections/
func BenchmarkProjection(b *testing.B) {
	n := benchEvents(b)
	store := openStore(b)
	clk := newClock()
	g := newGenerator(1, n/5, 8)
	var last eventstore.Position
	for more := true; more && last.Commit < uint64(n); {
		var pos eventstore.Position
		pos, more = g.writeSome(b, store, clk, 20000, 500, 64)
		if last.Less(pos) {
			last = pos
		}
	}
	recs := readAllRecords(b, store)
	b.Logf("log: %d events, %d calls", len(recs), n/5)

	p := openProjector(b, b.TempDir(), store, benchOptions())
	b.Run("decode-memory", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			decodeParallel(recs, runtime.GOMAXPROCS(0))
		}
		b.ReportMetric(float64(len(recs)*b.N)/time.Since(start).Seconds(), "events/s")
	})
	b.Run("rebuild", func(b *testing.B) {
		peak := watchHeap()
		start := time.Now()
		for b.Loop() {
			rebuild(b, p, len(recs))
		}
		b.ReportMetric(float64(len(recs)*b.N)/time.Since(start).Seconds(), "events/s")
		b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
	})
	// The machines are shared and noisy: the ratio is measured by
	// alternating the two in each iteration, so that both see the same load.
	b.Run("rebuild-vs-decode", func(b *testing.B) {
		var decoding, rebuilding time.Duration
		for b.Loop() {
			t0 := time.Now()
			decodeParallel(recs, runtime.GOMAXPROCS(0))
			t1 := time.Now()
			rebuild(b, p, len(recs))
			decoding += t1.Sub(t0)
			rebuilding += time.Since(t1)
		}
		decodeRate := float64(len(recs)*b.N) / decoding.Seconds()
		rebuildRate := float64(len(recs)*b.N) / rebuilding.Seconds()
		b.ReportMetric(decodeRate, "decode-events/s")
		b.ReportMetric(rebuildRate, "rebuild-events/s")
		b.ReportMetric(rebuildRate/decodeRate, "ratio")
	})

	b.Run("billing", func(b *testing.B) {
		q := projections.BillingQuery{GroupBy: []string{"account", "provider", "currency", "day"}}
		var calls int64
		start := time.Now()
		for b.Loop() {
			rows, err := p.Billing(context.Background(), q)
			require.NoError(b, err)
			calls = 0
			for _, r := range rows {
				calls += r.Calls + r.DeletedCalls
			}
		}
		b.ReportMetric(float64(calls*int64(b.N))/time.Since(start).Seconds(), "calls/s")
		b.ReportMetric(float64(calls), "calls")
	})
}

// rebuild runs a Rebuild that must pass every one of n events.
func rebuild(b *testing.B, p *projections.Projector, n int) {
	stats, err := p.Rebuild(context.Background())
	require.NoError(b, err)
	require.Equal(b, uint64(n), stats.Events)
}

// benchOptions are DefaultOptions with a quiet logger.
func benchOptions() projections.Options {
	o := projections.DefaultOptions()
	o.Logger = quietLogger()
	return o
}

// readAllRecords reads the whole (benchmark-sized) log into memory.
func readAllRecords(tb testing.TB, s eventstore.Store) []eventstore.Record {
	tb.Helper()
	var out []eventstore.Record
	after := eventstore.Start
	for {
		page, err := s.ReadAll(context.Background(), after, 4096)
		require.NoError(tb, err)
		out = append(out, page...)
		if len(page) < 4096 {
			return out
		}
		after = page[len(page)-1].Position
	}
}

// decodeParallel decodes recs with the domain codec on `workers`
// goroutines, chunk by chunk, as the runner's decode stage does.
func decodeParallel(recs []eventstore.Record, workers int) {
	const chunk = 256
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(chunk)) - chunk
				if i >= len(recs) {
					return
				}
				for j := i; j < min(i+chunk, len(recs)); j++ {
					md, err := domain.UnmarshalMetadata(recs[j].Metadata)
					if err != nil {
						panic(err)
					}
					if _, err := domain.UnmarshalEvent(recs[j].Type, md.SchemaVersion, recs[j].Data); err != nil {
						panic(err)
					}
				}
			}
		})
	}
	wg.Wait()
}

// watchHeap samples the live heap every 5 ms until the returned function is
// called, which returns the largest sample.
func watchHeap() func() uint64 {
	stop := make(chan struct{})
	var peak atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-t.C:
			case <-stop:
				return
			}
		}
	})
	return func() uint64 {
		close(stop)
		wg.Wait()
		return peak.Load()
	}
}
