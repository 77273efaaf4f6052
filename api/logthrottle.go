package api

import "time"

// logThrottle says when a line of a warning that repeats is due: the first
// at once, then at most one every interval (and at once again after the
// clock was stepped back), each counting the occurrences not logged since
// the line before. A clock behind calls' last events (clockSkewLog) and a
// server that stays not ready (readinessLog) repeat at every write or
// probe: a line for each would bury the rest of the log. It holds no lock:
// its owner's guards it. The zero value is ready to use.
type logThrottle struct {
	// logged is the clock's reading at the last line; zero before the first.
	logged time.Time
	// unlogged counts the occurrences since that line, not logged.
	unlogged int
}

// due notes one occurrence at now and reports whether its line is due,
// with every the least time between lines, or at once when force is set.
// When it is, it returns how many occurrences since the last line were
// not logged, and starts counting again; when not, it counts this one.
func (t *logThrottle) due(now time.Time, every time.Duration, force bool) (unlogged int, ok bool) {
	since := now.Sub(t.logged)
	if !force && !t.logged.IsZero() && since >= 0 && since < every {
		t.unlogged++
		return 0, false
	}
	unlogged = t.unlogged
	t.logged, t.unlogged = now, 0
	return unlogged, true
}
