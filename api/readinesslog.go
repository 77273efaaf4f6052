package api

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// readyLogEvery is how often, at most, /readyz logs that the server is
// still not ready for the reason it last logged.
const readyLogEvery = time.Minute

// readinessLog logs what /readyz finds, without a line for every probe: an
// orchestrator probes every few seconds, and a line for each 503 was
// ~170,000 lines a day of the same words while the read models caught up
// or the disk stayed full. It logs each change: the first 503, a 503 for
// another reason, and the first 200 after 503s ("ready again"); while the
// reason stays, one line at most every readyLogEvery, with the probes
// answered 503 since the line before (logThrottle). The zero value is
// ready to use.
type readinessLog struct {
	mu sync.Mutex
	// reason is the reason of the last 503 logged; "" while ready.
	reason   string
	throttle logThrottle
}

// notReady notes a 503 for nr, found at now, and logs it to log when
// readinessLog says so.
func (l *readinessLog) notReady(ctx context.Context, log *slog.Logger, now time.Time, nr *notReady) {
	l.mu.Lock()
	unlogged, due := l.throttle.due(now, readyLogEvery, nr.reason != l.reason)
	if due {
		l.reason = nr.reason
	}
	l.mu.Unlock()
	if !due {
		return
	}
	log.WarnContext(ctx, "not ready", slog.String("reason", nr.reason), slog.Any("err", nr.err),
		slog.Int("unlogged", unlogged))
}

// ready notes a 200, found at now, and logs "ready again" to log when it
// follows a 503.
func (l *readinessLog) ready(ctx context.Context, log *slog.Logger, now time.Time) {
	l.mu.Lock()
	if l.reason == "" {
		l.mu.Unlock()
		return
	}
	reason := l.reason
	unlogged, _ := l.throttle.due(now, readyLogEvery, true)
	l.reason = ""
	l.mu.Unlock()
	log.InfoContext(ctx, "ready again", slog.String("was", reason), slog.Int("unlogged", unlogged))
}
