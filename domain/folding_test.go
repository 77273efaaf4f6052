package domain_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// recordingsHistory is the fixture call's creation followed by n recordings
// added one event each, every changeEvery-th one changed again right after
// (none when changeEvery is 0).
func recordingsHistory(n, changeEvery int) []domain.Event {
	events := []domain.Event{created()}
	for i := range n {
		r := domain.Recording{ContentType: "audio/mpeg", ProviderID: fmt.Sprintf("RE%d", i), URL: fmt.Sprintf("https://rec.example.com/%d.mp3", i)}
		events = append(events, domain.CallRecordingAdded{Recording: r})
		if changeEvery > 0 && i%changeEvery == 0 {
			r.URL += "?v=2"
			events = append(events, domain.CallRecordingChanged{Recording: r})
		}
	}
	return events
}

func TestFoldingFoldsAsEvolveAndKeepsEarlierStates(t *testing.T) {
	// Goal: a Folding's fold is Evolve's, event by event, while it appends
	// a call's recordings into an array it owns rather than copying them
	// for each one; states copied along the way keep their recordings
	// however the fold goes on, including when one of them is folded on
	// (by Evolve, or by the same Folding, which must then copy).
	for _, changeEvery := range []int{0, 7} {
		t.Run(fmt.Sprintf("a change every %d", changeEvery), func(t *testing.T) {
			history := envelopes(recordingsHistory(200, changeEvery), 0)
			var (
				f      domain.Folding
				folded domain.State
				byHand domain.State
				kept   []domain.State
				want   [][]domain.Recording
			)
			for i, e := range history {
				f.EvolveInPlace(&folded, e)
				byHand = domain.Evolve(byHand, e)
				require.Equal(t, byHand, folded, "after event %d", i)
				if i%5 == 0 {
					kept = append(kept, folded)
					want = append(want, append([]domain.Recording(nil), folded.Call.Recordings...))
				}
			}
			extra := domain.Envelope{Event: domain.CallRecordingAdded{Recording: domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE-extra"}}}
			for i, s := range kept {
				assert.Equal(t, want[i], s.Call.Recordings, "kept state %d keeps its recordings", i)
				branch := s
				f.EvolveInPlace(&branch, extra)
				other := domain.Evolve(s, extra)
				assert.Equal(t, other, branch, "kept state %d folded on by the same Folding", i)
			}
			for i, s := range kept {
				assert.Equal(t, want[i], s.Call.Recordings, "kept state %d, after the branches", i)
			}
			assert.Equal(t, byHand, folded, "the last state, after the branches")
			require.Len(t, folded.Call.Recordings, 200)

			// Fold, which keeps no state but its last, changes recordings
			// in place.
			whole, err := domain.Fold(history)
			require.NoError(t, err)
			assert.Equal(t, byHand, whole)
		})
	}
}

// BenchmarkFoldManyRecordings measures loading a call that holds many
// recordings, each added by an event of its own: domain.Fold, which goes
// through a Folding (linear), against Evolve one event at a time, which
// copies the recordings for each (quadratic).
//
//	go test ./domain/ -run '^$' -bench '^BenchmarkFoldManyRecordings$' -benchmem
func BenchmarkFoldManyRecordings(b *testing.B) {
	for _, n := range []int{500, 5000} {
		history := envelopes(recordingsHistory(n, 7), 0)
		b.Run(fmt.Sprintf("Fold/%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := domain.Fold(history); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Evolve/%d", n), func(b *testing.B) {
			for b.Loop() {
				var s domain.State
				for _, e := range history {
					domain.EvolveInPlace(&s, e)
				}
			}
		})
	}
}
