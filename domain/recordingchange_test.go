package domain_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestRecordingSentAgain(t *testing.T) {
	// Goal: a recording sent again with its provider id and a new URL (a
	// provider's signed URL re-issued) or content type is a
	// CallRecordingChanged, where it was ignored whole; the same recording
	// sent as it is changes nothing; a changed content type is checked as
	// a new recording's is; two entries of one write that are one
	// recording (the same provider id, or the same URL without one) are a
	// 422 naming the second, on a creation too, where the first was kept
	// silently (or, on a creation, both, under one SID).
	rec := domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE1", URL: "https://rec.example.com/1.mp3?sig=old"}
	held := append(seed000History(), domain.CallRecordingAdded{Recording: rec})
	with := func(mode domain.UpsertMode, recs ...domain.Recording) domain.UpsertCall {
		c := upsert(mode)
		c.Recordings = recs
		return c
	}
	newURL, wav, html := rec, rec, rec
	newURL.URL = "https://rec.example.com/1.mp3?sig=new"
	wav.ContentType = "audio/wav"
	html.ContentType = "text/html"
	byURL := domain.Recording{ContentType: "audio/mpeg", URL: "https://rec.example.com/2.mp3"}
	creation := seed000()
	creation.Recordings = []domain.Recording{rec, newURL}
	var many []domain.Recording // past the pairwise scan: found through a map
	for i := range 20 {
		many = append(many, domain.Recording{ContentType: "audio/mpeg", ProviderID: fmt.Sprintf("RE-%d", i), URL: "https://rec.example.com/x.mp3"})
	}
	many[14].ProviderID = many[3].ProviderID

	runGWT(t, []gwt{
		{name: "a new URL", given: held, when: with(domain.UpsertUpdate, newURL), then: []domain.Event{
			domain.CallRecordingChanged{Recording: newURL},
		}},
		{name: "a new content type", given: held, when: with(domain.UpsertUpdate, wav), then: []domain.Event{
			domain.CallRecordingChanged{Recording: wav},
		}},
		{name: "the same recording", given: held, when: with(domain.UpsertUpdate, rec), then: nil},
		{name: "a content type that is no recording's", given: held, when: with(domain.UpsertUpdate, html),
			code: domain.ErrInvalid, field: "recordings[0].content_type"},
		{name: "one provider id twice", given: held, when: with(domain.UpsertUpdate, rec, newURL),
			code: domain.ErrInvalid, field: "recordings[1].provider_id"},
		{name: "one URL twice without provider ids", given: held, when: with(domain.UpsertUpdate, byURL, rec, byURL),
			code: domain.ErrInvalid, field: "recordings[2].url"},
		{name: "one provider id twice in a long list", given: held, when: with(domain.UpsertUpdate, many...),
			code: domain.ErrInvalid, field: "recordings[14].provider_id"},
		{name: "one provider id twice in a creation", when: creation,
			code: domain.ErrInvalid, field: "recordings[1].provider_id"},
	})

	// Folded: the recording keeps its place and SID, with the new URL; the
	// state before is not written.
	before := fold(t, append(held, domain.CallRecordingAdded{Recording: byURL}))
	after := domain.Evolve(before, domain.Envelope{Event: domain.CallRecordingChanged{Recording: newURL}})
	assert.Equal(t, []domain.Recording{newURL, byURL}, after.Call.Recordings)
	assert.Equal(t, rec, before.Call.Recordings[0], "the earlier state is not written")
	assert.Equal(t, rec.SID(callID), newURL.SID(callID), "the SID is the provider id's")
	require.NoError(t, domain.CheckEvolve(before, domain.Envelope{Event: domain.CallRecordingChanged{Recording: newURL}}))

	// A change of a recording the call does not hold breaks an invariant,
	// and is folded as an addition.
	other := domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE9", URL: "https://rec.example.com/9.mp3"}
	err := domain.CheckEvolve(before, domain.Envelope{Event: domain.CallRecordingChanged{Recording: other}})
	require.ErrorIs(t, err, domain.ErrBrokenInvariant)
	assert.Contains(t, err.Error(), "change of a recording the call does not hold")
	assert.Equal(t, []domain.Recording{rec, byURL, other},
		domain.Evolve(before, domain.Envelope{Event: domain.CallRecordingChanged{Recording: other}}).Call.Recordings)
}
