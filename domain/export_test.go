package domain

// Unexported names the external tests (package domain_test) use.
var (
	// TiedTimes is tiedTimes: whether a call's duration is what its times
	// give, which the rule on times (timing.go) keeps so through upserts
	// that give no duration, or no end.
	TiedTimes = tiedTimes

	// FillLeaf is fillLeaf, the leaf filler of the schema version test.
	FillLeaf = fillLeaf
)

// HeldRecordingIndexes returns, for each recording of sent, its index in
// held as heldRecordings finds it, and as recordingIndex does.
func HeldRecordingIndexes(held, sent []Recording) (found, scanned []int) {
	h := findHeldRecordings(held, sent)
	for _, r := range sent {
		found = append(found, h.index(r))
		scanned = append(scanned, recordingIndex(held, r))
	}
	return found, scanned
}
