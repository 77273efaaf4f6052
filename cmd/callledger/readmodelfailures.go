package main

import (
	"context"
	"fmt"
	"io"

	"github.com/callledger/callledger/projections"
)

// failuresShown bounds how many of the read models' failures verify lists
// (their count is always given): enough to act on, and a log that is wrong
// everywhere does not print itself out again.
const failuresShown = 20

// readModelFailures is what the read models record of the events they could
// not apply (projections.Failure): how many since they were last rebuilt
// and the first failuresShown of them, oldest first.
type readModelFailures struct {
	count uint64
	shown []projections.Failure
}

// failuresOf reads proj's failures, for a tool that has caught it up with
// the log (catchUp): an event of the log the read models could not decode
// or fold is left out of billing and the call views (or folded as best they
// could), though the log itself verifies, so verify and billing must say so
// rather than report a clean ledger or totals that look whole.
func failuresOf(ctx context.Context, proj *projections.Projector) (readModelFailures, error) {
	st := proj.Status()
	if st.Failures == 0 {
		return readModelFailures{}, nil
	}
	shown, err := proj.Failures(ctx, failuresShown)
	if err != nil {
		return readModelFailures{}, fmt.Errorf("read the read models' failures: %w", err)
	}
	return readModelFailures{count: st.Failures, shown: shown}, nil
}

// summary words the failures in one sentence, for an error or a warning:
// the count and the first of them.
func (f readModelFailures) summary() string {
	return f.sentence(fmt.Sprintf("the read models could not apply %d %s of the log", f.count, plural(f.count, "event", "events")))
}

// sentence is lead, what the failures amount to, followed by the first of
// them.
func (f readModelFailures) sentence(lead string) string {
	if len(f.shown) > 0 {
		lead += " (the first: " + describeFailure(&f.shown[0]) + ")"
	}
	return lead
}

// write prints every failure shown, one a line, and how many more there
// are.
func (f readModelFailures) write(w io.Writer) {
	for i := range f.shown {
		fmt.Fprintf(w, "  %s\n", describeFailure(&f.shown[i]))
	}
	if more := f.count - uint64(len(f.shown)); more > 0 {
		fmt.Fprintf(w, "  and %d more (the server and `callledger replay` log each one as they meet it)\n", more)
	}
}

// describeFailure names the event f is about (stream, revision, type,
// position and id, so that `callledger history` and the events route find
// it), what was wrong with it and what the read models did with it.
func describeFailure(f *projections.Failure) string {
	fate := "left out of billing and the call views"
	if f.Folded {
		fate = "folded as best it could be"
	}
	return fmt.Sprintf("%s revision %d, %s at position %s (event %s): %s; %s", f.StreamID, f.Revision, f.Type, f.Position, f.EventID, f.Error, fate)
}

// plural is one or other as n is 1 or not.
func plural(n uint64, one, other string) string {
	if n == 1 {
		return one
	}
	return other
}
