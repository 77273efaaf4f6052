package api

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callledger/callledger/eventstore"
)

// storeCollector is the metrics of the event store and of the server's
// readiness, read at each scrape, for alerts that need no probe of their
// own:
//
//	callledger_store_head_position   where the log ends (eventstore.LogEnd)
//	callledger_store_failed          1 once the store refuses every write
//	callledger_ready                 1 while /readyz would answer 200
//
// The read models' lag behind the log is callledger_store_head_position
// minus callledger_read_models_checkpoint_position, in the log's position
// units (events for the embedded store; KurrentDB's commit positions, in
// bytes); callledger_read_models_pending_events counts only the events
// the projector has received, not those still in the log. A head the
// store cannot give within readyTimeout is left out of the scrape (a
// silent KurrentDB), rather than failing it: callledger_ready says 0.
type storeCollector struct {
	s                    *Server
	head, failed, readyD *prometheus.Desc
}

// newStoreCollector builds the store's collector of s.
func newStoreCollector(s *Server) *storeCollector {
	return &storeCollector{
		s: s,
		head: prometheus.NewDesc("callledger_store_head_position",
			"Position in the log (its commit position) of the last event appended, by any server.", nil, nil),
		failed: prometheus.NewDesc("callledger_store_failed",
			"1 once the event store has failed and refuses every write until callledger is restarted, 0 while it works.", nil, nil),
		readyD: prometheus.NewDesc("callledger_ready",
			"1 while GET /readyz would answer 200, 0 while it answers 503 (its log line says why).", nil, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.head
	ch <- c.failed
	ch <- c.readyD
}

// Collect reads the log's end and readiness at once, each within its own
// readyTimeout, as /readyz has: a scrape then waits at most one budget,
// and callledger_ready says what /readyz would, where the two shared one
// budget and a store slow by half of it made callledger_ready 0 while
// /readyz answered 200 (a KurrentDB probe, at 350 ms a read).
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	head := make(chan prometheus.Metric, 1)
	go func() {
		defer close(head)
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		if pos, err := eventstore.LogEnd(ctx, c.s.store); err == nil {
			head <- prometheus.MustNewConstMetric(c.head, prometheus.GaugeValue, float64(pos.Commit))
		}
	}()
	failed := 0.0
	if f, ok := c.s.store.(eventstore.FailureReporter); ok && f.Err() != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, failed)
	ready := 0.0
	if c.s.ready(context.Background()) == nil {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(c.readyD, prometheus.GaugeValue, ready)
	for m := range head {
		ch <- m
	}
}
