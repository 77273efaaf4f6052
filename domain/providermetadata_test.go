package domain_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestUpsertProviderMetadataIsCompactAndOwned(t *testing.T) {
	// Goal: the metadata an upsert records is the command's, compacted (as
	// it is when already compact, by encoding/json when jsonscan declines
	// it), and is the event's own bytes: a caller that reuses the command's
	// buffer afterwards (the fast decoder's metadata is a slice of the
	// request body) cannot change what was decided.
	for _, tc := range []struct {
		name     string
		given    []domain.Event
		metadata string
		want     string
	}{
		{name: "compact, on a create", metadata: `{"a":"b c","d":[1,2]}`, want: `{"a":"b c","d":[1,2]}`},
		{name: "spaced, on a create", metadata: "{ \"a\" : \"b c\",\n\"d\": [1, 2] }", want: `{"a":"b c","d":[1,2]}`},
		{name: "compact, on an update", given: seed000History(), metadata: `{"n":1}`, want: `{"n":1}`},
		{name: "spaced, on an update", given: seed000History(), metadata: ` {"n": 1} `, want: `{"n":1}`},
		{name: "declined by jsonscan, on an update", given: seed000History(), metadata: `{"n": "\ud800"}`, want: `{"n":"\ud800"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := seed000()
			if tc.given != nil {
				c = upsert(domain.UpsertUpdate)
			}
			c.ProviderMetadata = json.RawMessage(tc.metadata)
			events, err := domain.Decide(fold(t, tc.given), c)
			require.NoError(t, err)
			var got json.RawMessage
			for _, e := range events {
				switch e := e.(type) {
				case domain.CallUpserted:
					got = e.ProviderMetadata
				case domain.CallProviderMetadataChanged:
					got = e.ProviderMetadata
				}
			}
			assert.Equal(t, tc.want, string(got))
			for i := range c.ProviderMetadata {
				c.ProviderMetadata[i] = 'x'
			}
			assert.Equal(t, tc.want, string(got), "the event shares the command's bytes")
		})
	}
}
