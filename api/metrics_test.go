package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scrapeMetrics GETs /metrics without a key and parses the text format.
func scrapeMetrics(t *testing.T, ts *testServer) map[string]*dto.MetricFamily {
	t.Helper()
	res := ts.do(t, "GET", "/metrics", "", "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain"), res.Header.Get("Content-Type"))
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(res.Body)))
	require.NoError(t, err)
	return families
}

// metricWith returns the metric of family name whose labels include
// labels, nil when there is none.
func metricWith(families map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func TestMetrics(t *testing.T) {
	// Goal: GET /metrics answers without a key, in Prometheus' text
	// format: every request counted by route pattern (never a call id),
	// method and status code (a request answered before its router routed
	// it, a 401 or a keyed retry's replay, under the route it leads to; one
	// no route of a surface serves under the router's pattern, /calls/*), a path no router serves under
	// one "unmatched" route and a made-up method under "other"; each request
	// timed; the events the writes appended counted; the read models'
	// checkpoint and running state, and Go's runtime metrics, shown.
	ts := newTestServer(t)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := res.JSON(t)["id"].(string)
	// A keyed upsert, its retry (replayed by the middleware before the
	// router routes it) and the key with another body (a 422 the same
	// way): counted under the route, as the first is.
	keyed := strings.Replace(seedUpsert, "openphone_id_000000000006", "metrics-keyed", 1)
	for range 2 {
		require.Equal(t, http.StatusOK, ts.do(t, "POST", "/calls/upsert", tokenA, keyed, "Idempotency-Key", "m-1").Status)
	}
	require.Equal(t, http.StatusUnprocessableEntity, ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert, "Idempotency-Key", "m-1").Status)
	for range 2 {
		require.Equal(t, http.StatusOK, ts.do(t, "GET", "/calls/"+id, tokenA, "").Status)
	}
	require.Equal(t, http.StatusUnauthorized, ts.do(t, "GET", "/calls/"+id, "", "").Status)
	require.Equal(t, http.StatusNotFound, ts.do(t, "GET", "/calls/"+id+"/nope", tokenA, "").Status)
	require.Equal(t, http.StatusNotFound, ts.do(t, "GET", "/no/such/route/"+id, tokenA, "").Status)
	require.Equal(t, http.StatusMethodNotAllowed, ts.do(t, "BREW", "/calls/"+id, tokenA, "").Status)

	families := scrapeMetrics(t, ts)
	requests := func(route, method, code string) float64 {
		m := metricWith(families, "callledger_http_requests_total", map[string]string{"route": route, "method": method, "code": code})
		require.NotNil(t, m, "no count of %s %s %s", method, route, code)
		return m.GetCounter().GetValue()
	}
	assert.Equal(t, 3.0, requests("/calls/upsert", "POST", "200"))
	assert.Equal(t, 1.0, requests("/calls/upsert", "POST", "422"))
	assert.Equal(t, 2.0, requests("/calls/{id}", "GET", "200"))
	// Refused by the surface's authentication before its router routed
	// it: the route its method and path lead to.
	assert.Equal(t, 1.0, requests("/calls/{id}", "GET", "401"))
	// No route of the surface serves it: the pattern of its router.
	assert.Equal(t, 1.0, requests("/calls/*", "GET", "404"))
	assert.Equal(t, 1.0, requests("/calls/*", "other", "405"))
	assert.Equal(t, 1.0, requests(routeUnmatched, "GET", "404"))
	timed := metricWith(families, "callledger_http_request_duration_seconds", map[string]string{"route": "/calls/{id}", "method": "GET"})
	require.NotNil(t, timed)
	assert.Equal(t, uint64(3), timed.GetHistogram().GetSampleCount(), "the two GETs and the 401")
	assert.Positive(t, timed.GetHistogram().GetSampleSum())

	assert.Equal(t, 6.0, families["callledger_events_appended_total"].GetMetric()[0].GetCounter().GetValue(), "the two upserts that ran append three events each")
	assert.Equal(t, 0.0, families["callledger_write_conflicts_total"].GetMetric()[0].GetCounter().GetValue())
	// The GETs waited for the upserts: the read models hold their events.
	assert.Equal(t, 6.0, families["callledger_read_models_checkpoint_position"].GetMetric()[0].GetGauge().GetValue())
	assert.Equal(t, 1.0, families["callledger_read_models_running"].GetMetric()[0].GetGauge().GetValue())
	assert.Equal(t, 6.0, families["callledger_store_head_position"].GetMetric()[0].GetGauge().GetValue(), "the log ends at the upserts' last event")
	assert.Equal(t, 0.0, families["callledger_store_failed"].GetMetric()[0].GetGauge().GetValue())
	assert.Equal(t, 1.0, families["callledger_ready"].GetMetric()[0].GetGauge().GetValue())
	assert.Contains(t, families, "go_goroutines")

	// No label holds a call id or a made-up method: the label sets stay
	// bounded whatever clients send.
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				assert.NotContains(t, l.GetValue(), id, "%s", name)
				assert.NotEqual(t, "BREW", l.GetValue(), "%s", name)
			}
		}
	}
}

func TestMetricsCountPanicAs500(t *testing.T) {
	// Goal: a handler's panic, which the recoverer answers with a 500,
	// counts as a 500; a handler that writes no status counts as a 200.
	ts := newTestServer(t)
	m := newMetrics(nil)
	panicking := ts.api.recoverer(ts.api.plainError)(m.measure(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("a bug")
	})))
	rec := httptest.NewRecorder()
	panicking.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	silent := m.measure(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	silent.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("DELETE", "/y", nil))

	assert.Equal(t, 1.0, testutil.ToFloat64(m.requests.WithLabelValues(routeUnmatched, "GET", "500")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.requests.WithLabelValues(routeUnmatched, "DELETE", "200")))
}
