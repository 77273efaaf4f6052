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
// answered 503 since the line before. The zero value is ready to use.
type readinessLog struct {
	mu sync.Mutex
	// reason is the reason of the last 503 logged; "" while ready.
	reason string
	// logged is the clock's reading at the last line logged.
	logged time.Time
	// unlogged counts the 503s since that line, not logged.
	unlogged int
}

// notReady notes a 503 for nr, found at now, and logs it to log when
// readinessLog says so.
func (l *readinessLog) notReady(ctx context.Context, log *slog.Logger, now time.Time, nr *notReady) {
	l.mu.Lock()
	since := now.Sub(l.logged)
	if nr.reason == l.reason && since >= 0 && since < readyLogEvery {
		l.unlogged++
		l.mu.Unlock()
		return
	}
	unlogged := l.unlogged
	l.reason, l.logged, l.unlogged = nr.reason, now, 0
	l.mu.Unlock()
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
	reason, unlogged := l.reason, l.unlogged
	l.reason, l.logged, l.unlogged = "", now, 0
	l.mu.Unlock()
	log.InfoContext(ctx, "ready again", slog.String("was", reason), slog.Int("unlogged", unlogged))
}
