package projections_test

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
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

// benchStoreOptions are the options the benchmark opens the log with:
// embedded.DefaultOptions, as `callledger serve` and `replay` open it, whose
// block cache holds the benchmark's log (read once by the setup, as the
// decode baseline holds it in memory), unless CALLLEDGER_BENCH_BLOCK_CACHE_MIB
// sets a smaller cache, to measure a rebuild that reads a log larger than
// the cache through the operating system's page cache (with 64, each
// rebuild reads and decompresses every block again).
func benchStoreOptions(b *testing.B) embedded.Options {
	o := embedded.DefaultOptions()
	if v := os.Getenv("CALLLEDGER_BENCH_BLOCK_CACHE_MIB"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		o.BlockCacheSize = int64(n) << 20
	}
	return o
}

// BenchmarkProjection measures, in one run on the same cores and over the
// same log of generated call histories (about 5.5 events a call, shaped as
// the Moonbase upserts of seed 000 write them):
//
//   - decode-memory: decoding every record held in memory with the domain's
//     codec (UnmarshalMetadata, UnmarshalEvent) on GOMAXPROCS goroutines: the
//     ceiling a rebuild is measured against;
//   - rebuild: a full Rebuild from the embedded store (benchStoreOptions)
//     into Pebble, with DefaultOptions; the target is at least 0.7×
//     decode-memory;
//   - rebuild-heap: the same rebuild at a GC target of 10, untimed: its
//     peak-heap-MiB is the largest live heap (as marked by a GC) seen
//     during the rebuilds, above the live heap before them (which holds
//     the benchmark's in-memory copy of the log);
//   - rebuild-vs-decode: both alternately, iteration by iteration, so that
//     both see the same load on a shared machine; ratio is rebuild's rate
//     over decode-memory's (wall clock), cpu-ratio the same over the CPU time
//     the process used (user + system, every goroutine and Pebble's
//     background work included), which other processes on a loaded machine
//     disturb less. One decode and one rebuild run first, untimed: the
//     setup's garbage leaves freed heap pages that the first decode reuses,
//     while the first rebuild grows the heap into fresh ones, each a page
//     fault (a first timed pair measured ~1.5k faults for the decode
//     against ~39k for the rebuild, and a ratio ~0.1 below the pairs that
//     followed). decode-faults/op and rebuild-faults/op count the page
//     faults of each side: both take ~30-40k a pair while the heap grows
//     towards its first GC goal, few once it is reused;
//   - billing: a billing report grouped by account, provider, currency and
//     day over every call.
//
// Run it with:
//
//	go test -run '^$' -bench BenchmarkProjection -benchtime 8x ./projections/
//
// Every phase runs with the GC target and memory limit that callledger's
// main sets (cmd/callledger gcPercent 1000, memoryLimit 2 GiB), as
// `callledger replay` and `serve` run
// their rebuilds and as BenchmarkLoopback runs the API. At Go's default of
// 100 this benchmark collected every ~130 MB, each cycle marking the
// benchmark's own copy of the log (30-45 ms of CPU), and where cycles fell
// moved the ratio by several points from run to run.
func BenchmarkProjection(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(1000))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(2 << 30))
	n := benchEvents(b)
	dir := b.TempDir()
	var store eventstore.Store = openStoreWith(b, dir, benchStoreOptions(b))
	clk := newClock()
	g := newGenerator(1, n*2/11, 4) // about 5.5 events a call
	var last eventstore.Position
	for more := true; more && last.Commit < uint64(n); {
		var pos eventstore.Position
		pos, more = g.writeSome(b, store, clk, 20000, 500, 64)
		if last.Less(pos) {
			last = pos
		}
	}
	// Reopen the store, as a rebuild finds a log written earlier: Open
	// flushes what the writes left in memory, which would otherwise be
	// flushed in the background while one of the measured runs goes on.
	require.NoError(b, store.Close())
	store = openStoreWith(b, dir, benchStoreOptions(b))
	recs := readAllRecords(b, store)
	waitIdle(b)
	b.Logf("log: %d events, %d calls", len(recs), n*2/11)

	p := openProjector(b, b.TempDir(), store, benchOptions())
	b.Run("decode-memory", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			decodeParallel(recs, runtime.GOMAXPROCS(0))
		}
		b.ReportMetric(float64(len(recs)*b.N)/time.Since(start).Seconds(), "events/s")
	})
	b.Run("rebuild", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			rebuild(b, p, len(recs))
		}
		b.ReportMetric(float64(len(recs)*b.N)/time.Since(start).Seconds(), "events/s")
	})
	b.Run("rebuild-heap", func(b *testing.B) {
		// The live heap is known only as of the last collection, and at
		// the GC target of 1000, over a live heap that holds the log's
		// copy, no collection comes during a rebuild: the peak would read
		// 0. A target of 10 collects every ~10% of growth, a dozen times
		// a rebuild, so the samples see its working set.
		defer debug.SetGCPercent(debug.SetGCPercent(10))
		runtime.GC()
		base := liveHeap()
		_, cycles := heapAllocsAndGCs()
		peak := watchHeap()
		for b.Loop() {
			rebuild(b, p, len(recs))
		}
		top := peak()
		_, after := heapAllocsAndGCs()
		require.Greater(b, after-cycles, uint64(2*b.N), "collections during the rebuilds, for the samples to see")
		b.ReportMetric(float64(top-min(base, top))/(1<<20), "peak-heap-MiB")
	})
	// The machines are shared and noisy: the ratio is measured by
	// alternating the two in each iteration, so that both see the same load.
	b.Run("rebuild-vs-decode", func(b *testing.B) {
		// One pair first, untimed (see the benchmark's doc comment).
		decodeParallel(recs, runtime.GOMAXPROCS(0))
		rebuild(b, p, len(recs))
		var decodeWall, rebuildWall, decodeCPU, rebuildCPU time.Duration
		var decodeAlloc, rebuildAlloc, decodeGCs, rebuildGCs uint64
		var decodeFaults, rebuildFaults int64
		for b.Loop() {
			a0, g0 := heapAllocsAndGCs()
			c0, f0 := processUsage(b)
			t0 := time.Now()
			decodeParallel(recs, runtime.GOMAXPROCS(0))
			c1, f1 := processUsage(b)
			t1 := time.Now()
			a1, g1 := heapAllocsAndGCs()
			rebuild(b, p, len(recs))
			c2, f2 := processUsage(b)
			t2 := time.Now()
			a2, g2 := heapAllocsAndGCs()
			decodeFaults += f1 - f0
			rebuildFaults += f2 - f1
			decodeWall += t1.Sub(t0)
			rebuildWall += t2.Sub(t1)
			decodeCPU += c1 - c0
			rebuildCPU += c2 - c1
			decodeAlloc += a1 - a0
			rebuildAlloc += a2 - a1
			decodeGCs += g1 - g0
			rebuildGCs += g2 - g1
		}
		events := float64(len(recs) * b.N)
		b.ReportMetric(events/decodeWall.Seconds(), "decode-events/s")
		b.ReportMetric(events/rebuildWall.Seconds(), "rebuild-events/s")
		b.ReportMetric(decodeWall.Seconds()/rebuildWall.Seconds(), "ratio")
		b.ReportMetric(decodeCPU.Seconds()/rebuildCPU.Seconds(), "cpu-ratio")
		b.ReportMetric(float64(rebuildCPU.Nanoseconds())/events, "rebuild-cpu-ns/event")
		// Allocation and GC cycles do not depend on the machine's load:
		// they show what the rebuild costs the collector beyond decoding.
		b.ReportMetric(float64(decodeAlloc)/events, "decode-B/event")
		b.ReportMetric(float64(rebuildAlloc)/events, "rebuild-B/event")
		b.ReportMetric(float64(decodeGCs)/float64(b.N), "decode-GCs/op")
		b.ReportMetric(float64(rebuildGCs)/float64(b.N), "rebuild-GCs/op")
		// Page faults: first touches of memory the heap grows into. While
		// the heap grows towards its first goal every new page is one (2-4
		// µs each on these VMs); once the heap has been collected and is
		// reused, few.
		b.ReportMetric(float64(decodeFaults)/float64(b.N), "decode-faults/op")
		b.ReportMetric(float64(rebuildFaults)/float64(b.N), "rebuild-faults/op")
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

// waitIdle waits (up to 30 s) until this process has been idle for 100 ms:
// until the store's flushes and compactions of the log just written, which
// run in the background, are done, so that none of them lands in (and
// slows) a measured run.
func waitIdle(b *testing.B) {
	b.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		c0 := processCPU(b)
		time.Sleep(100 * time.Millisecond)
		if processCPU(b)-c0 < 5*time.Millisecond {
			return
		}
	}
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

// heapAllocsAndGCs returns the bytes allocated on the heap and the GC
// cycles completed since the process started.
func heapAllocsAndGCs() (allocated, cycles uint64) {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64(), sample[1].Value.Uint64()
}

// liveHeap is the heap the last GC found live.
func liveHeap() uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// watchHeap samples the live heap (as of the last GC) every 5 ms until the returned function is
// called, which returns the largest sample.
func watchHeap() func() uint64 {
	stop := make(chan struct{})
	var peak atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
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
