package domain_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestRecordingChangesPerWrite(t *testing.T) {
	// Goal: one write adds or changes at most RecordingChangesMax of a
	// call's recordings, on a call it creates and on one that exists; one
	// more is a 422 naming recordings, where a write to a call that
	// exists made an event each and the store refused more than a
	// thousand with a 500. Recordings the call holds, sent again as they
	// are, do not count, so a client that sends the whole call every time
	// is not refused for what the call already holds; a changed one does.
	recording := func(i int) domain.Recording {
		return domain.Recording{ContentType: "audio/mpeg", ProviderID: fmt.Sprintf("RE-%d", i), URL: fmt.Sprintf("https://rec.example.com/%d.mp3", i)}
	}
	recordings := func(from, to int) []domain.Recording {
		var out []domain.Recording
		for i := from; i < to; i++ {
			out = append(out, recording(i))
		}
		return out
	}
	const held = 600
	holding := seed000History()
	for _, r := range recordings(0, held) {
		holding = append(holding, domain.CallRecordingAdded{Recording: r})
	}
	resigned := recording(7)
	resigned.URL += "?sig=new"
	max := domain.RecordingChangesMax

	for _, tc := range []struct {
		name    string
		given   []domain.Event
		sent    []domain.Recording
		creates bool
		events  int // recording events appended, when accepted
		refused bool
	}{
		{name: "a creation of the most", sent: recordings(0, max), creates: true},
		{name: "a creation of one more", sent: recordings(0, max+1), creates: true, refused: true},
		{name: "the most added", given: holding, sent: recordings(held, held+max), events: max},
		{name: "one more added", given: holding, sent: recordings(held, held+max+1), refused: true},
		{name: "all it holds again and the most added", given: holding, sent: recordings(0, held+max), events: max},
		{name: "all it holds again, one changed, and the most added", given: holding,
			sent: append(append(recordings(0, 7), resigned), recordings(8, held+max)...), refused: true},
		{name: "all it holds again, one changed, and one less added", given: holding,
			sent: append(append(recordings(0, 7), resigned), recordings(8, held+max-1)...), events: max},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := upsert(domain.UpsertUpdate)
			if tc.creates {
				c = seed000()
			}
			c.Recordings = tc.sent
			events, err := domain.Decide(fold(t, tc.given), c)
			if tc.refused {
				var de *domain.Error
				require.ErrorAs(t, err, &de)
				assert.Equal(t, domain.ErrInvalid, de.Code)
				assert.Equal(t, "recordings", de.Field)
				assert.Contains(t, de.Error(), fmt.Sprintf("at most %d", max))
				assert.Empty(t, events)
				return
			}
			require.NoError(t, err)
			if tc.creates {
				require.IsType(t, domain.CallUpserted{}, events[0])
				assert.Len(t, events[0].(domain.CallUpserted).Recordings, len(tc.sent))
				return
			}
			changes := 0
			for _, e := range events {
				switch e.(type) {
				case domain.CallRecordingAdded, domain.CallRecordingChanged:
					changes++
				}
			}
			assert.Equal(t, tc.events, changes)
			_, err = domain.Fold(envelopes(append(append([]domain.Event{}, tc.given...), events...), 0))
			assert.NoError(t, err, "the decided events must apply")
		})
	}
}

func TestHeldRecordingsFoundAsByIndex(t *testing.T) {
	// Goal: a write's recordings are found among a call's through a map
	// once both are long (heldRecordings), at the index recordingIndex
	// finds by comparing each: by provider id, or by URL without one,
	// whatever else differs, and -1 for one the call does not hold.
	var held []domain.Recording
	for i := range 40 {
		r := domain.Recording{ContentType: "audio/mpeg", URL: fmt.Sprintf("https://rec.example.com/%d.mp3", i)}
		if i%2 == 0 {
			r.ProviderID = fmt.Sprintf("RE-%d", i)
		}
		held = append(held, r)
	}
	var sent []domain.Recording
	for i := range 60 {
		r := domain.Recording{ContentType: "audio/wav", URL: fmt.Sprintf("https://rec.example.com/%d.mp3", i)}
		if i%2 == 0 {
			r.ProviderID = fmt.Sprintf("RE-%d", i)
			r.URL += "?sig=new"
		}
		sent = append(sent, r)
	}
	// A URL that is a held recording's, sent with a provider id: another
	// recording (held's 1 has none).
	sent = append(sent, domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE-x", URL: held[1].URL})
	for _, tc := range []struct {
		name       string
		held, sent []domain.Recording
	}{
		{"both long", held, sent},
		{"few held", held[:5], sent},
		{"few sent", held, []domain.Recording{sent[45], sent[0], sent[60], sent[7]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, want := domain.HeldRecordingIndexes(tc.held, tc.sent)
			assert.Equal(t, want, got)
			assert.Contains(t, got, -1)
			assert.Contains(t, got, 0)
		})
	}
}
