package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/callledger/callledger/eventstore"
)

// Progress display of the long tools (verify, export, import, replay).
const (
	// progressTTYEvery is how often the line on a terminal is redrawn.
	progressTTYEvery = 200 * time.Millisecond
	// progressPlainEvery is how often a plain line is written when stderr
	// is a file or a pipe: often enough to see a job is alive, rarely
	// enough not to flood a log.
	progressPlainEvery = 5 * time.Second
)

// progressMeter shows how far long work has come on stderr: on a terminal
// one line redrawn in place (events done, rate, percentage and ETA when the
// total is known); otherwise a plain line every progressPlainEvery. It is
// used by one goroutine at a time.
type progressMeter struct {
	w     io.Writer
	label string
	// unit names what done and total count, "events" unless the tool says
	// otherwise: verify reads each event once in each of its passes.
	unit  string
	tty   bool
	now   func() time.Time
	start time.Time
	// shown is when the last line was written; drawn whether the terminal
	// line needs ending.
	shown time.Time
	drawn bool
}

// newProgressMeter starts a meter for the work named label, writing to
// env.Stderr.
func newProgressMeter(env Env, label string) *progressMeter {
	now := time.Now
	t := now()
	return &progressMeter{w: env.Stderr, label: label, unit: "events", tty: isTerminal(env.Stderr), now: now, start: t, shown: t}
}

// isTerminal reports whether w is a terminal (golang.org/x/term asks the
// operating system, on Linux, macOS and Windows alike).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// update is an eventstore.Progress: done events of total (0: unknown).
func (m *progressMeter) update(done, total uint64) {
	t := m.now()
	every := progressPlainEvery
	if m.tty {
		every = progressTTYEvery
	}
	if t.Sub(m.shown) < every {
		return
	}
	m.shown = t
	line := m.line(done, total, t)
	if m.tty {
		fmt.Fprintf(m.w, "\r%s\x1b[K", line)
		m.drawn = true
		return
	}
	fmt.Fprintln(m.w, line)
}

// finish ends the terminal line, if one was drawn.
func (m *progressMeter) finish() {
	if m.drawn {
		fmt.Fprintln(m.w)
		m.drawn = false
	}
}

// line formats the progress at t.
func (m *progressMeter) line(done, total uint64, t time.Time) string {
	elapsed := t.Sub(m.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	s := fmt.Sprintf("%s: %d %s, %.0f %s/s, %s elapsed", m.label, done, m.unit, rate, m.unit, elapsed.Round(time.Second))
	if total > 0 && done <= total {
		s += fmt.Sprintf(", %.1f%% of %d", 100*float64(done)/float64(total), total)
		if rate > 0 {
			eta := time.Duration(float64(total-done) / rate * float64(time.Second))
			s += fmt.Sprintf(", ETA %s", eta.Round(time.Second))
		}
	}
	return s
}

// toolLogger is the logger of the tools: warnings and errors only, on
// stderr, so that Pebble's chatter does not bury the tool's own output.
func toolLogger(env Env) *slog.Logger {
	return newLogger(env.Stderr, slog.LevelWarn)
}

// openToolStore opens the event store cfg names for a tool, through the
// shared openStore of ledger.go, with the tool's quiet logger. mustExist
// refuses to create an embedded store where there is none (verify, export,
// history, replay and billing read an existing ledger; creating an empty
// one would hide a wrong --data).
func openToolStore(ctx context.Context, cfg storeConfig, env Env, mustExist bool) (eventstore.Store, error) {
	if mustExist && cfg.StoreURL == "" {
		if _, err := os.Stat(cfg.EventsDir()); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no event store in %s (wrong --data?)", cfg.EventsDir())
		}
	}
	return openStore(ctx, cfg, toolLogger(env))
}

// closeInto closes c and joins its error into *err, so that a deferred close
// of a store never loses a failure.
func closeInto(err *error, c io.Closer) {
	if cerr := c.Close(); cerr != nil {
		*err = errors.Join(*err, cerr)
	}
}
