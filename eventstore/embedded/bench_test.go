package embedded_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
)

// Shape of the benchmark workload, after NOTES.md: 2-event appends of
// ~500-byte JSON events to a random stream among many, revision checked.
const (
	benchStreams        = 100_000
	benchEventsPerWrite = 2
	benchPayloads       = 64 // distinct payloads, reused so setup does not dominate
	// benchBaselineFor is how long the fsync baseline is measured, right
	// before each timed append run, so both see the same disk weather.
	benchBaselineFor = 500 * time.Millisecond
	// benchBaselineMax bounds the baseline's writes on a very fast disk.
	benchBaselineMax = 200_000
	// benchReadEvents is the size of the log the read benchmarks scan.
	benchReadEvents = 20_000
	// benchReadBatch is how many events one ReadAll of the read benchmark returns.
	benchReadBatch = 512
)

// benchCall is the small struct read benchmarks decode each event into.
type benchCall struct {
	CallID          string `json:"callId"`
	From            string `json:"from"`
	To              string `json:"to"`
	StartedAt       string `json:"startedAt"`
	DurationSeconds int    `json:"durationSeconds"`
	Status          string `json:"status"`
	Price           string `json:"price"`
	Currency        string `json:"currency"`
	Note            string `json:"note"`
}

// benchPayload returns a ~500-byte JSON call event.
func benchPayload(i int) []byte {
	c := benchCall{
		CallID:          uuid.NewString(),
		From:            fmt.Sprintf("+3361234%04d", i%10000),
		To:              fmt.Sprintf("+3319876%04d", (i*7)%10000),
		StartedAt:       time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC).Format(time.RFC3339Nano),
		DurationSeconds: 30 + i%600,
		Status:          "answered",
		Price:           fmt.Sprintf("%d.%02d", i%10, i%100),
		Currency:        "EUR",
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	c.Note = strings.Repeat("n", max(0, 500-len(b)))
	b, err = json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return b
}

func benchOptions() embedded.Options {
	opts := embedded.DefaultOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	return opts
}

// fsyncBaseline measures one writer appending 512 bytes to a plain file in
// dir and calling fdatasync after each, and returns writes per second.
func fsyncBaseline(tb testing.TB, dir string) float64 {
	tb.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "baseline"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(tb, err)
	defer f.Close()
	buf := make([]byte, 512)
	start := time.Now()
	n := 0
	for ; n < benchBaselineMax && time.Since(start) < benchBaselineFor; n++ {
		if _, err := f.Write(buf); err != nil {
			tb.Fatal(err)
		}
		if err := datasync(f); err != nil {
			tb.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkFsyncBaseline is the yardstick of durable appends: one writer,
// 512-byte append and fdatasync on a plain file.
func BenchmarkFsyncBaseline(b *testing.B) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "baseline"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(b, err)
	defer f.Close()
	buf := make([]byte, 512)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := datasync(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkAppend measures durable group-committed appends of 2-event
// batches to random streams among 100k, revision checked, with 1, 16 and
// 128 concurrent writers. Each sub-benchmark reports events/s and its ratio
// to the fsync baseline measured just before and just after it, in the same
// directory.
func BenchmarkAppend(b *testing.B) {
	root := b.TempDir()
	payloads := make([][]byte, benchPayloads)
	for i := range payloads {
		payloads[i] = benchPayload(i)
	}
	streams := make([]string, benchStreams)
	for i := range streams {
		streams[i] = fmt.Sprintf("call-%06d", i)
	}

	for _, writers := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			dir, err := os.MkdirTemp(root, "store")
			require.NoError(b, err)
			s, err := embedded.Open(dir, benchOptions())
			require.NoError(b, err)
			defer s.Close()

			before := fsyncBaseline(b, dir)
			var tickets atomic.Int64
			var failures atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range writers {
				wg.Go(func() {
					// Writer w owns the streams w, w+writers, ...: it knows
					// their revisions, so every append checks one.
					owned := (benchStreams - w + writers - 1) / writers
					heads := make(map[int]uint64)
					rng := rand.New(rand.NewPCG(uint64(w), 42))
					ctx := context.Background()
					evs := make([]eventstore.EventData, benchEventsPerWrite)
					for tickets.Add(1) <= int64(b.N) {
						k := w + writers*rng.IntN(owned)
						exp := eventstore.NoStream()
						if rev, ok := heads[k]; ok {
							exp = eventstore.Exact(rev)
						}
						for i := range evs {
							evs[i] = eventstore.EventData{ID: uuid.New(), Type: "CallUpserted", Data: payloads[rng.IntN(benchPayloads)]}
						}
						res, err := s.Append(ctx, streams[k], exp, evs)
						if err != nil {
							failures.Add(1)
							continue
						}
						heads[k] = res.Revision
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			require.Zero(b, failures.Load(), "appends failed")
			// The disk's speed drifts (other jobs share it): compare with
			// the mean of the baselines taken just before and just after.
			baseline := (before + fsyncBaseline(b, dir)) / 2
			rate := float64(benchEventsPerWrite*b.N) / elapsed.Seconds()
			b.ReportMetric(rate, "events/s")
			b.ReportMetric(baseline, "baseline-events/s")
			b.ReportMetric(rate/baseline, "x-baseline")
		})
	}
}

// BenchmarkReadAllDecode measures replay: reading $all in batches and
// decoding each event's JSON data with encoding/json, against decoding the
// same bytes from memory. The store sub-benchmark reports its ratio to the
// from-memory rate measured just before and just after it.
func BenchmarkReadAllDecode(b *testing.B) {
	ctx := context.Background()
	s, err := embedded.Open(b.TempDir(), benchOptions())
	require.NoError(b, err)
	defer s.Close()
	const batch = 100
	var payloads [][]byte
	for i := 0; i < benchReadEvents; i += batch {
		evs := make([]eventstore.EventData, batch)
		for j := range evs {
			evs[j] = eventstore.EventData{ID: uuid.New(), Type: "CallUpserted", Data: benchPayload(i + j)}
			payloads = append(payloads, evs[j].Data)
		}
		_, err := s.Append(ctx, fmt.Sprintf("call-%d", i), eventstore.NoStream(), evs)
		require.NoError(b, err)
	}

	decodeMemory := func(n int) time.Duration {
		start := time.Now()
		for i := range n {
			var c benchCall
			if err := json.Unmarshal(payloads[i%len(payloads)], &c); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	// memoryRate decodes n events from memory, at least a log's worth, and
	// returns events per second.
	memoryRate := func(n int) float64 {
		n = max(n, benchReadEvents)
		return float64(n) / decodeMemory(n).Seconds()
	}
	decodeMemory(benchReadEvents) // warm up

	b.Run("memory", func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		elapsed := decodeMemory(b.N)
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	})
	b.Run("store", func(b *testing.B) {
		// Half of b.N before and half after: as long as the timed run, so
		// the garbage collector weighs on both alike.
		before := memoryRate(b.N / 2)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		after := eventstore.Start
		for n := 0; n < b.N; {
			recs, err := s.ReadAll(ctx, after, min(benchReadBatch, b.N-n))
			if err != nil {
				b.Fatal(err)
			}
			if len(recs) == 0 {
				after = eventstore.Start // wrap around the log
				continue
			}
			for i := range recs {
				var c benchCall
				if err := json.Unmarshal(recs[i].Data, &c); err != nil {
					b.Fatal(err)
				}
			}
			n += len(recs)
			after = recs[len(recs)-1].Position
		}
		rate := float64(b.N) / time.Since(start).Seconds()
		b.StopTimer()
		// The machine's speed drifts (other jobs share it): compare with the
		// mean of from-memory rates taken just before and just after.
		memory := (before + memoryRate(b.N/2)) / 2
		b.ReportMetric(rate, "events/s")
		b.ReportMetric(memory, "memory-events/s")
		b.ReportMetric(rate/memory, "x-memory")
	})
}

// BenchmarkAppendAllocs measures the heap allocations of an append of 3
// ~500-byte events to a new stream (the shape of a seed upsert), in every
// goroutine of the store: run it with -benchmem and a fixed count
// (-benchtime 2000x); its time is one fsync per append (serial) or per
// group (writers=64) and means little. Serial, every group holds one
// append (serial-request-ctx: each in a context that can be cancelled, as
// a server's request's, which costs that context's allocations and any the
// store makes for it); with 64 writers, groups of many, as under load. Each first runs
// as many appends untimed, so that what the store keeps and reuses (its
// batches, pools and maps) has grown as it would under a long load.
func BenchmarkAppendAllocs(b *testing.B) {
	payloads := make([][]byte, benchPayloads)
	for i := range payloads {
		payloads[i] = benchPayload(i)
	}
	appendCtx := func(ctx context.Context, s *embedded.Store, n int64) error {
		evs := make([]eventstore.EventData, 3)
		for i := range evs {
			evs[i] = eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "CallUpserted", Data: payloads[(int(n)+i)%benchPayloads], Metadata: []byte(`{"by":"bench"}`)}
		}
		_, err := s.Append(ctx, fmt.Sprintf("call-%08d", n), eventstore.NoStream(), evs)
		return err
	}
	appendOne := func(s *embedded.Store, n int64) error {
		return appendCtx(context.Background(), s, n)
	}
	// appendRequest appends in a context of its own that can be cancelled,
	// as a server's request's is.
	appendRequest := func(s *embedded.Store, n int64) error {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		return appendCtx(ctx, s, n)
	}
	for _, serial := range []struct {
		name   string
		append func(*embedded.Store, int64) error
	}{{"serial", appendOne}, {"serial-request-ctx", appendRequest}} {
		b.Run(serial.name, func(b *testing.B) {
			s, err := embedded.Open(b.TempDir(), benchOptions())
			require.NoError(b, err)
			defer s.Close()
			var n int64
			for range b.N {
				n++
				require.NoError(b, serial.append(s, n))
			}
			b.ReportAllocs()
			for b.Loop() {
				n++
				if err := serial.append(s, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("writers=64", func(b *testing.B) {
		s, err := embedded.Open(b.TempDir(), benchOptions())
		require.NoError(b, err)
		defer s.Close()
		var n atomic.Int64
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for k := n.Add(1); k <= int64(b.N); k = n.Add(1) {
					if err := appendOne(s, k); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		b.ReportAllocs()
		b.ResetTimer()
		b.SetParallelism(32) // 64 goroutines on 2 CPUs
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := appendOne(s, n.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkReadAllPageTail measures a projection runner's live read: a
// ReadAllPage (limit 2048, as projections reads) of the last 128 events of
// 1024 one-event upserts, a group's worth under load. "ring" reads them as
// written, from the store's tail ring; "pebble" reads them after a reopen,
// which empties the ring, through a Pebble iterator. Run it with -benchmem
// and a fixed count (-benchtime 2000x): allocs/op is what it proves.
func BenchmarkReadAllPageTail(b *testing.B) {
	const events, tail, limit = 1024, 128, 2048
	ctx := context.Background()
	write := func(s *embedded.Store) {
		var n atomic.Int64
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for k := n.Add(1); k <= events; k = n.Add(1) {
					ev := []eventstore.EventData{{ID: uuid.New(), Type: "CallUpserted", Data: benchPayload(int(k)), Metadata: []byte(`{"by":"bench"}`)}}
					if _, err := s.Append(ctx, fmt.Sprintf("call-%d", k), eventstore.NoStream(), ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	read := func(b *testing.B, s *embedded.Store) {
		after := eventstore.Position{Commit: events - tail, Prepare: events - tail}
		var page eventstore.Page
		require.NoError(b, s.ReadAllPage(ctx, after, limit, &page)) // warm the page
		require.Len(b, page.Records, tail)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.ReadAllPage(ctx, after, limit, &page); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("ring", func(b *testing.B) {
		s, err := embedded.Open(b.TempDir(), benchOptions())
		require.NoError(b, err)
		defer s.Close()
		write(s)
		read(b, s)
	})
	b.Run("pebble", func(b *testing.B) {
		dir := b.TempDir()
		s, err := embedded.Open(dir, benchOptions())
		require.NoError(b, err)
		write(s)
		require.NoError(b, s.Close())
		s, err = embedded.Open(dir, benchOptions())
		require.NoError(b, err)
		defer s.Close()
		read(b, s)
	})
}
