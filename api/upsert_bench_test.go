package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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
		body := strings.Replace(seedUpsert, "openphone_id_000000000006", fmt.Sprintf("bench-%d", i), 1)
		req := httptest.NewRequest(http.MethodPost, "/calls/upsert", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokenA)
		reqs[i] = req
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
