package api

import (
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/callledger/callledger/projections"
)

// GET /metrics serves the server's metrics in Prometheus' text format,
// without a key, as /healthz does: they name routes (chi's patterns, such
// as /calls/{id}), methods and status codes, never an account, a call or a
// client's value, so that they say nothing a key would guard and their
// label sets stay bounded whatever clients send. A request answered by a
// surface's middleware before its router routed it (a 401 of its
// authentication, a keyed retry's replayed answer, a reused key's 422)
// carries the pattern of the route its method and path lead to
// (routeLabel), as the routed ones do; one no route of that router serves
// (a 404 or 405 inside a surface), the pattern of the router (/calls/*);
// one that no router took, routeUnmatched. Every metric is in a
// registry of the Server's own (no package-level state: two servers in one
// process, as in the tests, count apart).
//
//	callledger_http_requests_total{route,method,code}   counter
//	callledger_http_request_duration_seconds{route,method}   histogram
//	callledger_events_appended_total           events the API's writes appended
//	callledger_write_conflicts_total           appends refused on a stale revision and retried
//	callledger_read_models_checkpoint_position the position of the last event in the read models
//	callledger_read_models_pending_events      events received and not yet applied
//	callledger_read_models_failures_total      events the read models could not apply
//	callledger_read_models_running             1 while the projector runs
//	callledger_store_head_position             where the log ends (storeCollector)
//	callledger_store_failed                    1 once the store refuses every write
//	callledger_ready                           1 while /readyz would answer 200
//
// with Go's runtime and the process's metrics (go_*, process_*).

// routeUnmatched is the route label of a request no route matched (a 404
// or 405 of the router), so that unknown paths share one label.
const routeUnmatched = "unmatched"

// metrics holds the Server's Prometheus metrics.
type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	appended  prometheus.Counter
	conflicts prometheus.Counter

	// series maps the labels of a request, as measure reads them without
	// building a string, to its counter and histogram: the vectors'
	// WithLabelValues, with chi's RoutePattern and the code's text,
	// cost a microsecond and eight allocations a request. The map is
	// never changed once published (a new label set copies it under
	// seriesMu), so that requests read it without a lock.
	series   atomic.Pointer[map[seriesKey]requestSeries]
	seriesMu sync.Mutex
}

// seriesKey identifies a request's series: the route patterns chi
// matched, one per router, as chi keeps them (RoutePatterns, at most
// seriesDepthMax deep: a deeper route, which no surface has, is measured
// without the map), the method and the status code.
type seriesKey struct {
	patterns [seriesDepthMax]string
	method   string
	code     int
}

// seriesDepthMax is the deepest nesting of routers seriesKey holds.
const seriesDepthMax = 4

// requestSeries is a request series' counter and histogram.
type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// statusReporter is what the read models' metrics, and the billing
// summary's count of failures (readModelFailures), are read from: the
// projector's Status (projectorReadModels has it).
type statusReporter interface {
	Status() projections.Status
}

// newMetrics builds the metrics and registers them, with the read models'
// when views reports a status.
func newMetrics(views ReadModels) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callledger_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "callledger_http_request_duration_seconds",
			Help:    "Time from a request's arrival at the router to its handler's return, by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		appended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "callledger_events_appended_total",
			Help: "Events the API's writes appended to the event store.",
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "callledger_write_conflicts_total",
			Help: "Appends refused because another write changed the call first; each was decided again and retried.",
		}),
	}
	m.registry.MustRegister(m.requests, m.durations, m.appended, m.conflicts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if sr, ok := views.(statusReporter); ok {
		m.registry.MustRegister(newReadModelsCollector(sr))
	}
	return m
}

// handler serves the registry.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// measure counts every request and times it, labelled once the router has
// matched it (chi's route pattern is known when the handler returns). A
// request whose handler panics counts as a 500, the recoverer's answer.
func (m *metrics) measure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		returned := false
		defer func() {
			code := sw.code
			switch {
			case !returned:
				code = http.StatusInternalServerError
			case code == 0:
				code = http.StatusOK
			}
			s := m.seriesOf(r, code)
			s.count.Inc()
			s.duration.Observe(time.Since(began).Seconds())
		}()
		next.ServeHTTP(sw, r)
		returned = true
	})
}

// seriesOf returns the series of r answered with code: from the map when
// it holds them, else from the vectors, added to the map.
func (m *metrics) seriesOf(r *http.Request, code int) requestSeries {
	key := seriesKey{method: methodLabel(r.Method), code: code}
	rc := chi.RouteContext(r.Context())
	if rc == nil || len(rc.RoutePatterns) > seriesDepthMax {
		return m.newSeries(r, key)
	}
	if unrouted(rc) {
		// Requests with these patterns may be for different routes
		// (routeLabel): the map keyed by the patterns cannot tell them.
		return m.newSeries(r, key)
	}
	copy(key.patterns[:], rc.RoutePatterns)
	if known := m.series.Load(); known != nil {
		if s, ok := (*known)[key]; ok {
			return s
		}
	}
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	next := map[seriesKey]requestSeries{}
	if known := m.series.Load(); known != nil {
		maps.Copy(next, *known)
	}
	s := m.newSeries(r, key)
	next[key] = s
	m.series.Store(&next)
	return s
}

// newSeries looks the series of key, r's, up in the vectors.
func (m *metrics) newSeries(r *http.Request, key seriesKey) requestSeries {
	route := routeLabel(r)
	return requestSeries{
		count:    m.requests.WithLabelValues(route, key.method, strconv.Itoa(key.code)),
		duration: m.durations.WithLabelValues(route, key.method),
	}
}

// routeLabel is the pattern of the route that served r, routeUnmatched
// when none did. A request a surface's middleware answered before the
// surface's router routed it (unrouted) is labelled with the pattern of
// the route its method and path lead to, found in the routing tree: a
// keyed retry replayed by Idempotent was counted under the router's
// /calls/*, as no request a route served is (a README probe saw 200s
// there). Where its method and path lead to no route, the router's
// pattern stays.
func routeLabel(r *http.Request) string {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return routeUnmatched
	}
	if unrouted(rc) && rc.Routes != nil {
		if p := findRoute(rc.Routes, r); p != "" {
			return p
		}
	}
	if p := rc.RoutePattern(); p != "" && p != "/*" {
		return p
	}
	return routeUnmatched
}

// findRoute returns the pattern of the route of routes that r's method
// and path lead to, "" for none: chi's Find, with a fresh route context,
// on the path as chi routes it (its escaped form when it has one).
func findRoute(routes chi.Routes, r *http.Request) string {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	return routes.Find(chi.NewRouteContext(), r.Method, path)
}

// unrouted reports whether the last router rc went through had not
// routed the request when it was answered: its patterns end with a
// mount point's wildcard.
func unrouted(rc *chi.Context) bool {
	n := len(rc.RoutePatterns)
	return n > 0 && strings.HasSuffix(rc.RoutePatterns[n-1], "/*")
}

// methodLabel is m when it is a method some route serves, and "other" for
// any other, which a client can make up at will.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// statusWriter remembers the status code a handler wrote (for measure, and
// under captureWriter for the idempotency record). Unwrap gives
// http.ResponseController the writer beneath (Flush, deadlines).
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// readModelsCollector reads the projector's Status at each scrape.
type readModelsCollector struct {
	views                                  statusReporter
	checkpoint, pending, failures, running *prometheus.Desc
}

func newReadModelsCollector(views statusReporter) *readModelsCollector {
	return &readModelsCollector{
		views: views,
		checkpoint: prometheus.NewDesc("callledger_read_models_checkpoint_position",
			"Position in the log (its commit position) of the last event applied to the read models.", nil, nil),
		pending: prometheus.NewDesc("callledger_read_models_pending_events",
			"Events the read models have received and not yet applied: their lag.", nil, nil),
		failures: prometheus.NewDesc("callledger_read_models_failures_total",
			"Events the read models could not decode or fold since their last rebuild.", nil, nil),
		running: prometheus.NewDesc("callledger_read_models_running",
			"1 while the projector feeds the read models, 0 otherwise.", nil, nil),
	}
}

func (c *readModelsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.checkpoint
	ch <- c.pending
	ch <- c.failures
	ch <- c.running
}

func (c *readModelsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.views.Status()
	running := 0.0
	if st.Running {
		running = 1
	}
	ch <- prometheus.MustNewConstMetric(c.checkpoint, prometheus.GaugeValue, float64(st.Checkpoint.Commit))
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(st.PendingEvents))
	ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(st.Failures))
	ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, running)
}
