package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/callledger/callledger/eventstore"
)

// keptHeadFlag is verify's --kept-head: a point of the log kept from an
// earlier verify or export, as "position:hash" (the position as verify
// prints it, a number, or commit/prepare on KurrentDB; the $all hash in
// hex), which the log must still hold (eventstore.KeptHead). Auditors keep
// the head verify prints elsewhere; this is how they hold the log to it
// once it has grown, when its own head has moved on.
type keptHeadFlag struct {
	head *eventstore.KeptHead
}

// String returns the flag's value as given ("" when not).
func (f *keptHeadFlag) String() string {
	if f == nil || f.head == nil {
		return ""
	}
	return f.head.Position.String() + ":" + f.head.AllHash.String()
}

// Set reads "position:hash". The flag given twice is refused: one kept
// head a run, where the last would be checked and the first silently not.
func (f *keptHeadFlag) Set(v string) error {
	if f.head != nil {
		return fmt.Errorf("is given twice: give one kept head a run (run verify again for another)")
	}
	pos, hash, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("want position:hash (from verify's ok line: head position, head hash), not %q", truncateFlag(v))
	}
	p, err := parseKeptPosition(pos)
	if err != nil {
		return err
	}
	k := eventstore.KeptHead{Position: p}
	if k.AllHash.UnmarshalText([]byte(hash)) != nil {
		return fmt.Errorf("hash %q: want the 64 hex digits of a $all hash", truncateFlag(hash))
	}
	if p.IsStart() && !k.AllHash.IsZero() {
		return fmt.Errorf("position 0 is an empty log's head, whose hash is 64 zeros, not %s", hash)
	}
	f.head = &k
	return nil
}

// parseKeptPosition reads a position as eventstore.Position.String writes
// it: "N" (commit and prepare N), or "C/P".
func parseKeptPosition(s string) (eventstore.Position, error) {
	commit, prepare, two := strings.Cut(s, "/")
	c, err := strconv.ParseUint(commit, 10, 64)
	p := c
	if err == nil && two {
		p, err = strconv.ParseUint(prepare, 10, 64)
	}
	if err != nil || s == "" || strings.HasPrefix(s, "+") || (c == 0 && p != 0) {
		return eventstore.Position{}, fmt.Errorf("position %q: want a number as verify prints it (or commit/prepare on KurrentDB)", truncateFlag(s))
	}
	return eventstore.Position{Commit: c, Prepare: p}, nil
}

// truncateFlag cuts a flag value quoted in an error to 80 bytes.
func truncateFlag(v string) string {
	if len(v) > 80 {
		return v[:80] + "..."
	}
	return v
}

// printHeld says under verify's ok line that the log holds the kept head,
// when one was given: the line an auditor's script looks for.
func (f *keptHeadFlag) printHeld(w io.Writer) {
	if f.head == nil {
		return
	}
	fmt.Fprintf(w, "ok: the log holds the kept head (position %s, hash %s): its events up to it hash as they did then (their recorded_at, which no hash covers, aside)\n", f.head.Position, f.head.AllHash)
}

// suggest says on w, under an ok line given no kept head, how to hold the
// log to the head just verified once it has grown: the command to keep
// with that head, for an auditor's records. A log with no event has no
// head worth keeping. It goes to stderr, so that the ok lines of a store
// and of its export still compare by diff.
func (f *keptHeadFlag) suggest(w io.Writer, pos eventstore.Position, hash eventstore.Hash) {
	if f.head != nil || pos.IsStart() {
		return
	}
	fmt.Fprintf(w, "note: keep this head elsewhere; to check later that the log still holds it: callledger verify --kept-head %s:%s\n", pos, hash)
}
