package pebblelog

import (
	"log/slog"
	"sync"
	"time"
)

// BackgroundErrorInterval is the least time between two log lines of one
// database's background errors (BackgroundErrors).
const BackgroundErrorInterval = 10 * time.Second

// BackgroundErrors returns the EventListener.BackgroundError function of a
// database. Its background errors (a flush or compaction that failed)
// reach no caller, so they must be logged, or nobody learns the disk is
// failing. But Pebble retries a failed flush at once, again and again: on
// a full disk that was ~100 errors a second, an 11 MB log in seven minutes,
// perhaps on the disk that is full. So the first error is logged at once
// ("pebble background error"), and then one line at most every
// BackgroundErrorInterval, the error of the moment with how many came
// since the last line ("unlogged").
func BackgroundErrors(log *slog.Logger) func(error) {
	t := &errorThrottle{log: log, interval: BackgroundErrorInterval, now: time.Now}
	return t.report
}

// errorThrottle logs an error at most once an interval, counting the
// rest. Its zero value is not usable: log, interval and now are required.
type errorThrottle struct {
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time

	mu       sync.Mutex
	logged   time.Time // when the last line was written; zero: never
	unlogged int       // errors since that line
}

// report logs err, or counts it when the last line is younger than the
// interval.
func (t *errorThrottle) report(err error) {
	t.mu.Lock()
	now := t.now()
	if !t.logged.IsZero() && now.Sub(t.logged) < t.interval {
		t.unlogged++
		t.mu.Unlock()
		return
	}
	unlogged := t.unlogged
	t.logged, t.unlogged = now, 0
	t.mu.Unlock()
	t.log.Error("pebble background error", "err", err.Error(), "unlogged", unlogged)
}
