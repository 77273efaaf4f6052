package domain

// RecordingChangesMax is the most recordings one write may add to a call,
// or change in it. On a call that exists each is an event of its own
// (CallRecordingAdded, CallRecordingChanged), and one write is one append
// of at most a thousand events (the event store's batch limit); a call's
// state is copied as each is folded in, so the work of a write grows with
// the square of their number. A body that sends more (a 512 KiB one holds
// ~7,000) is refused as the client's to split, naming recordings, rather
// than failing in the store or holding a core for a second. The limit is
// the same for a write that creates the call, which holds its recordings
// in its CallUpserted event, so that one rule holds for every write.
const RecordingChangesMax = 500

// heldRecordings finds the recordings of a write among those a call holds:
// the same matching as recordingIndex, by sameRecording. A call holding
// few, or a write sending few, is searched element by element; both long
// through a map of the held recordings' identities, built once, so that a
// write of thousands against a call of thousands stays linear rather than
// comparing every pair (twice: the check and the plan each look every
// recording up).
type heldRecordings struct {
	held []Recording
	// at maps Identity to the index in held; nil when held is searched
	// element by element.
	at map[string]int
}

// findHeldRecordings prepares the lookups of sent's recordings in held.
func findHeldRecordings(held, sent []Recording) heldRecordings {
	h := heldRecordings{held: held}
	if len(held) <= participantsScanMax || len(sent) <= participantsScanMax {
		return h
	}
	h.at = make(map[string]int, len(held))
	for i, r := range held {
		id := r.Identity()
		if _, ok := h.at[id]; !ok {
			h.at[id] = i
		}
	}
	return h
}

// index is the index in the held recordings of the one that is r, or -1.
func (h heldRecordings) index(r Recording) int {
	if h.at == nil {
		return recordingIndex(h.held, r)
	}
	if i, ok := h.at[r.Identity()]; ok {
		return i
	}
	return -1
}
