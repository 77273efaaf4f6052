package embedded

// reusedMap is a map that the committer empties and reuses from group to
// group instead of making a new one for each: the maps of a group (its
// staged stream heads and event ids) were ~0.45 KB per upsert under load,
// most of what the committer allocated.
//
// A map never shrinks: clearing it (which tests each group of 8 slots, and
// zeroes those that hold entries) and ranging over it cost as much as the
// most entries it held, not as its entries now. Group sizes swing (under
// load, groups of one append alternate with groups of dozens), so a map is
// kept for any group up to reusedMapHeld entries, and beyond that only for
// a group at least a quarter of the most it held; otherwise it is dropped
// for a new one, and what a group pays stays in proportion to its size.
type reusedMap[K comparable, V any] struct {
	m    map[K]V
	held int // the most entries m has held since it was made
}

// reusedMapHeld is how many entries a reusedMap may have held and still be
// reused for a group of any size: clearing a map of 1024 entries of our
// sizes tests 256 groups of slots, a fraction of a microsecond.
const reusedMapHeld = 1024

// empty returns the map emptied, for a group of about n entries. The map
// it returned before is the caller's no more.
func (r *reusedMap[K, V]) empty(n int) map[K]V {
	r.held = max(r.held, len(r.m))
	if r.m == nil || r.held > max(4*n, reusedMapHeld) {
		r.m, r.held = make(map[K]V, n), 0
		return r.m
	}
	clear(r.m)
	return r.m
}
