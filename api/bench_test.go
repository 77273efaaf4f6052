package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/projections"
)

// benchParallelism multiplies GOMAXPROCS into the number of concurrent
// clients of the loopback benchmarks (128 clients on 2 cores): enough that
// the wait for a group commit's fsync, which a durable upsert cannot skip,
// never leaves the cores idle, as the store's benchmark uses 128 writers.
const benchParallelism = 64

// BenchmarkLoopback measures end-to-end Moonbase upserts per second over a
// real HTTP server on 127.0.0.1 with concurrent keep-alive clients, each
// upsert creating a new call and durable (group-committed fsync) before
// its response, and, in the same run, the ceiling: a trivial chi handler
// that decodes the same JSON body and writes a response of the same size.
//
//	go test ./api/ -run '^$' -bench BenchmarkLoopback -benchtime 3s
//
// Compare the req/s of upsert with ceiling's, and upsert-minimal's with
// ceiling-minimal's; the target is upsert >= 0.5 × ceiling. upsert-warm is
// upsert on a server that has taken warmUpserts first: a server in use,
// which costs more than a fresh one (see the README).
func BenchmarkLoopback(b *testing.B) {
	// The GC target and memory limit callledger's main sets (cmd/callledger
	// gcPercent, memoryLimit), for the ceiling and the ledger alike.
	defer debug.SetGCPercent(debug.SetGCPercent(1000))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(2 << 30))
	minimal := moonbaseBody("openphone_id_000000000006", "completed")
	b.Run("ceiling", func(b *testing.B) {
		runLoopback(b, newCeilingServer(b, upsertAnswer(b, seedUpsert)).URL, "", seedUpsert, new(atomic.Int64))
	})
	// upsert sends the seed's upsert (with a recording and a transcript):
	// three events per new call (its creation with every fact, answered,
	// terminated).
	b.Run("upsert", func(b *testing.B) {
		runLoopback(b, newBenchServer(b).URL, tokenA, seedUpsert, new(atomic.Int64))
	})
	// upsert-warm sends the seed's upsert to a server that has taken
	// warmUpserts of them first, untimed: the throughput of a server in
	// use, whose store is larger (deeper memtables, flushes and
	// compactions under way) and whose heap has grown, where upsert's
	// fresh server pays the heap's first page faults instead. The server
	// and its warm-up are made once and kept for every round the
	// benchmark runs, so that a round does not warm up again.
	var warm *testServer
	var warmSeq atomic.Int64
	b.Run("upsert-warm", func(rb *testing.B) {
		if warm == nil {
			warm = newBenchServer(b)
			warmUp(rb, warm.URL, seedUpsert, warmUpserts)
		}
		runLoopback(rb, warm.URL, tokenA, seedUpsert, &warmSeq)
	})
	// upsert-minimal sends the smallest valid upsert: fewer events per call.
	b.Run("upsert-minimal", func(b *testing.B) {
		runLoopback(b, newBenchServer(b).URL, tokenA, minimal, new(atomic.Int64))
	})
	// ceiling-minimal is the ceiling for upsert-minimal: the same trivial
	// handler decoding the minimal body, which costs it less than the seed's.
	b.Run("ceiling-minimal", func(b *testing.B) {
		runLoopback(b, newCeilingServer(b, upsertAnswer(b, minimal)).URL, "", minimal, new(atomic.Int64))
	})
}

// newCeilingServer is the trivial chi handler the upserts are measured
// against: it decodes the body as a Moonbase upsert with encoding/json, as
// any JSON handler would, and writes answer, an upsert's response (see
// upsertAnswer), so that both sides move the same bytes.
func newCeilingServer(b *testing.B, answer []byte) *httptest.Server {
	r := chi.NewRouter()
	r.Post("/calls/upsert", func(w http.ResponseWriter, r *http.Request) {
		var v moonbaseCallParams
		body, err := io.ReadAll(r.Body)
		if err != nil || json.Unmarshal(body, &v) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})
	hs := httptest.NewServer(r)
	b.Cleanup(hs.Close)
	return hs
}

// newBenchServer is a test server with the production store and
// projection options.
func newBenchServer(b *testing.B) *testServer {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sopts := embedded.DefaultOptions()
	sopts.Logger = quiet
	popts := projections.DefaultOptions()
	popts.Logger = quiet
	return newTestServerWith(b, sopts, popts)
}

// upsertAnswer returns the body a ledger answers to the upsert template,
// for a new call: the ceiling writes it, so that its responses are as long
// as the upserts' whatever the Moonbase shape comes to hold (a constant of
// 900 bytes had fallen ~200 short of the seed's). The ledger that answers
// is closed before it returns, so that none of its memory stays live
// through the ceiling's run.
func upsertAnswer(b *testing.B, template string) []byte {
	dir := b.TempDir()
	sopts := embedded.DefaultOptions()
	sopts.Logger = slog.New(slog.DiscardHandler)
	store, err := embedded.Open(filepath.Join(dir, "events"), sopts)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	popts := projections.DefaultOptions()
	popts.Logger = sopts.Logger
	proj, err := projections.Open(filepath.Join(dir, "readmodels"), store, popts)
	if err != nil {
		b.Fatal(err)
	}
	defer proj.Close()
	srv, err := NewServer(Config{
		Store:          store,
		ReadModels:     NewReadModels(proj),
		Keys:           []APIKey{{Account: acctA, Token: tokenA}},
		IdempotencyDir: filepath.Join(dir, "idempotency"),
		Logger:         sopts.Logger,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	body := strings.Replace(template, "openphone_id_000000000006", "bench-answer", 1)
	req := httptest.NewRequest(http.MethodPost, "/calls/upsert", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tokenA)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("upsert for the ceiling's answer: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// warmUpserts is how many upserts upsert-warm's server takes before it
// is measured: a store past its first compactions (~200 MB of WAL written).
const warmUpserts = 80_000

// warmUp sends n upserts of template to the ledger at url, each creating a
// call (provider ids warm-0, warm-1, ... which no measured upsert uses),
// from as many concurrent clients as runLoopback.
func warmUp(b *testing.B, url, template string, n int) {
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var next, failures atomic.Int64
	var wg sync.WaitGroup
	for range benchParallelism * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				if !postUpsert(client, url, tokenA, template, fmt.Sprintf("warm-%d", i)) {
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if f := failures.Load(); f > 0 {
		b.Fatalf("warm-up: %d of %d upserts failed", f, n)
	}
}

// postUpsert sends template, its provider id replaced by providerID, to
// url's upsert route with token (none when empty) and reports whether it
// was answered 200.
func postUpsert(client *http.Client, url, token, template, providerID string) bool {
	body := strings.Replace(template, "openphone_id_000000000006", providerID, 1)
	req, err := http.NewRequest("POST", url+"/calls/upsert", strings.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// runLoopback measures b.N upserts of template sent to url by concurrent
// clients; seq numbers their provider ids, so that a server measured over
// several rounds (upsert-warm) creates a new call with each upsert, as a
// fresh server does.
func runLoopback(b *testing.B, url, token, template string, seq *atomic.Int64) {
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var failures atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	cpu0 := processCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !postUpsert(client, url, token, template, fmt.Sprintf("bench-%d", seq.Add(1))) {
				failures.Add(1)
			}
		}
	})
	b.StopTimer()
	cpu := processCPU(b) - cpu0
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	reportPerRequest(b, cpu)
}

// reportPerRequest reports the requests a second of a benchmark's b.N
// requests, and cpu, the process's CPU over them, per request: CPU per
// request (client and server, user and system, background work included)
// is what bounds req/s on a 2-core machine, and what other processes on a
// shared machine disturb least.
func reportPerRequest(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/req")
}
