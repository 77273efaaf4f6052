package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkUpsertHandler serves the seed's Moonbase upsert, each creating
// a new call, through the server's handler in-process (no HTTP server, no
// client): the CPU and, with -benchmem, the allocations of the request
// path alone, store and read models included (the projector's work on the
// appended events counts too, since -benchmem counts the whole process).
//
//	go test ./api/ -run '^$' -bench BenchmarkUpsertHandler -benchmem -benchtime 2000x
func BenchmarkUpsertHandler(b *testing.B) {
	ts := newBenchServer(b)
	h := ts.api.Handler()
	// The requests are built before the timer starts: what is measured is
	// the server's work, not the client's.
	reqs := make([]*http.Request, b.N)
	recs := make([]*httptest.ResponseRecorder, b.N)
	for i := range reqs {
		reqs[i] = newSeedUpsertRequest(i)
		recs[i] = httptest.NewRecorder()
	}
	b.ResetTimer()
	for i := range b.N {
		h.ServeHTTP(recs[i], reqs[i])
		if recs[i].Code != http.StatusOK {
			b.Fatalf("upsert %d: %d %s", i, recs[i].Code, recs[i].Body)
		}
	}
}

// BenchmarkUpsertInProcess serves the seed's upsert, each creating a new
// call, through the server's handler from as many concurrent goroutines as
// BenchmarkLoopback has clients, with no HTTP server or client: the
// server's own CPU per upsert (cpu-µs/req: handler, store and read models,
// group commit included), which BenchmarkLoopback's upsert measures
// together with net/http and its client. BenchmarkUpsertHandler's serial
// requests each wait for a sync of their own instead.
//
//	go test ./api/ -run '^$' -bench BenchmarkUpsertInProcess -benchtime 40000x
func BenchmarkUpsertInProcess(b *testing.B) {
	h := newBenchServer(b).api.Handler()
	var seq atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	cpu0 := processCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, newSeedUpsertRequest(int(seq.Add(1))))
			if rec.Code != http.StatusOK {
				b.Errorf("upsert: %d %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.StopTimer()
	reportPerRequest(b, processCPU(b)-cpu0)
}

// newSeedUpsertRequest is the seed's upsert for a new call, its provider
// id bench-i, as tenant A.
func newSeedUpsertRequest(i int) *http.Request {
	body := strings.Replace(seedUpsert, "openphone_id_000000000006", fmt.Sprintf("bench-%d", i), 1)
	req := httptest.NewRequest(http.MethodPost, "/calls/upsert", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tokenA)
	return req
}
