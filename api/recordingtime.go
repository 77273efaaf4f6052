package api

import (
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
)

// clockSkewLogged is how far behind a call's last event the server's clock
// must be for recordingTime to log it: servers sharing a log a few
// milliseconds apart are normal, a clock seconds behind is worth fixing.
const clockSkewLogged = time.Second

// clockSkewLogEvery is how often, at most, recordingTime logs a clock
// behind calls' last events. A clock that stays behind another server's
// sharing the log is behind for every write to the calls that server wrote
// last: a line per write would bury the rest of the log.
const clockSkewLogEvery = time.Minute

// recordingTime is the time a write to call id, whose last event was
// recorded at last (the zero time for a new call), is recorded at (its
// events' metadata Time, and "now" for what the write decides): the
// server's clock, unless last is later, and then last. A clock behind
// another server's that shares the log, or one stepped back, would
// otherwise record a call's events out of order in time, and ?as_of, which
// folds a call's events up to the first recorded after the instant asked
// for, would then show an auditor a call without changes that were
// recorded before that instant. So a call's event times never go
// backwards; a clock more than clockSkewLogged behind is logged (see
// clockSkewLog).
//
// It takes the call's id and last time, not its State, which Execute would
// copy whole (over 800 bytes) into the call on every write.
func (s *Server) recordingTime(id uuid.UUID, last time.Time) time.Time {
	now := s.now().UTC()
	if now.Before(last) {
		if behind := last.Sub(now); behind > clockSkewLogged {
			s.skew.clamped(s.log, now, id, behind)
		}
		return last
	}
	return now
}

// clockSkewLog logs the writes recordingTime records at a call's last time
// because the clock is more than clockSkewLogged behind it: the first at
// once, then at most one line every clockSkewLogEvery, which counts the
// writes since the line before (logThrottle). The zero value is ready to
// use.
type clockSkewLog struct {
	mu       sync.Mutex
	throttle logThrottle
}

// clamped notes a write to call id recorded at its last event's time, which
// the clock, reading now, is behind: it logs it to log, with the writes
// clamped since the last line, when none was logged in the last
// clockSkewLogEvery (or the clock has been stepped back since).
func (l *clockSkewLog) clamped(log *slog.Logger, now time.Time, id uuid.UUID, behind time.Duration) {
	l.mu.Lock()
	unlogged, due := l.throttle.due(now, clockSkewLogEvery, false)
	l.mu.Unlock()
	if !due {
		return
	}
	log.Warn("clock behind a call's last event: its time is recorded instead",
		"call_id", id, "behind", behind.String(), "clamped_writes", unlogged+1)
}
