package eventstore

import (
	"cmp"
	"fmt"
)

// Position is a place in the global order ($all).
//
// It has two parts because KurrentDB has two: the commit and prepare
// positions of its transaction log. The embedded store sets both to the same
// 1-based sequence number. Positions compare by Commit, then Prepare.
//
// The zero Position is Start: before the first event. No event is stored at
// Start.
type Position struct {
	Commit  uint64
	Prepare uint64
}

// Start is the position before the first event of the log.
var Start = Position{}

// Compare returns -1, 0 or +1 as p is before, equal to or after q.
func (p Position) Compare(q Position) int {
	if c := cmp.Compare(p.Commit, q.Commit); c != 0 {
		return c
	}
	return cmp.Compare(p.Prepare, q.Prepare)
}

// Less reports whether p is before q.
func (p Position) Less(q Position) bool { return p.Compare(q) < 0 }

// IsStart reports whether p is Start.
func (p Position) IsStart() bool { return p == Start }

// String formats p as "commit/prepare", or as "commit" alone when both parts
// are equal (always, with the embedded store).
func (p Position) String() string {
	if p.Commit == p.Prepare {
		return fmt.Sprintf("%d", p.Commit)
	}
	return fmt.Sprintf("%d/%d", p.Commit, p.Prepare)
}
