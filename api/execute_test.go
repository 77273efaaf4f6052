package api

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestParseIfMatchTagsBound(t *testing.T) {
	// Goal: If-Match takes at most ifMatchTagsMax entity tags; one more is
	// a 400 about the bound, whatever that piece holds, and an earlier
	// malformed tag is still answered as malformed.
	tags := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strconv.Quote(strconv.Itoa(i))
		}
		return out
	}
	m, err := parseIfMatch(strings.Join(tags(ifMatchTagsMax), ", "))
	require.NoError(t, err)
	assert.Len(t, m.revisions, ifMatchTagsMax)

	for name, h := range map[string]string{
		"OneTooMany":        strings.Join(tags(ifMatchTagsMax+1), ", "),
		"ManyTooMany":       strings.Join(tags(10*ifMatchTagsMax), ", "),
		"MalformedPastMax":  strings.Join(append(tags(ifMatchTagsMax), "garbage", `"1"`), ", "),
		"OnlyCommasPastMax": strings.Join(tags(ifMatchTagsMax), ", ") + strings.Repeat(",", 100),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseIfMatch(h)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.ErrorIs(t, err, ErrMalformed)
			assert.Equal(t, "If-Match", fe.Field)
			assert.Equal(t, "more than 16 entity tags", fe.Message)
		})
	}

	_, err = parseIfMatch(strings.Join(append([]string{"garbage"}, tags(10*ifMatchTagsMax)...), ", "))
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, fe.Message, `"garbage" is not an ETag`)
}

func TestEncodeEventsFreshIDs(t *testing.T) {
	// Goal: the ids of a write without a key, whose random bits come from
	// randomBlocks, are valid UUIDv7s, distinct, and in the order of the
	// events, after the ids of the write before.
	at := time.Date(2025, 2, 17, 15, 0, 0, 0, time.UTC)
	meta := domain.Metadata{SchemaVersion: domain.CurrentSchemaVersion, AccountID: acctA, Surface: domain.SurfaceMoonbase, Time: at}
	var last uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, n := range []int{1, 3, 4, 5, 9, 40, 3} {
		events := make([]domain.Event, n)
		for i := range events {
			events[i] = domain.CallAnswered{AnsweredAt: at.Add(time.Duration(i) * time.Second)}
		}
		data, err := encodeEvents(events, meta, keyedIDs{})
		require.NoError(t, err)
		require.Len(t, data, n)
		for _, d := range data {
			assert.Equal(t, uuid.Version(7), d.ID.Version())
			assert.Equal(t, uuid.RFC4122, d.ID.Variant())
			assert.False(t, seen[d.ID], "id %s given twice", d.ID)
			seen[d.ID] = true
			assert.Negative(t, bytes.Compare(last[:], d.ID[:]), "id %s not after %s", d.ID, last)
			last = d.ID
		}
	}
}

func TestEncodeEventsSharedBuffer(t *testing.T) {
	// Goal: the metadata and the events written into one buffer are each
	// byte for byte what MarshalMetadata and MarshalEvent write, and none
	// can grow into the next (a full slice: its capacity is its length),
	// including when an event outgrows its size hint (a long transcript)
	// and the buffer moves.
	at := time.Date(2025, 2, 17, 15, 0, 0, 0, time.UTC)
	meta := domain.Metadata{SchemaVersion: domain.CurrentSchemaVersion, AccountID: acctA, Surface: domain.SurfaceMoonbase, RequestID: "req-1", Time: at}
	longNotes := strings.Repeat("n", 5000)
	tests := []struct {
		name   string
		events []domain.Event
	}{
		{name: "lifecycle", events: []domain.Event{
			domain.CallAnswered{AnsweredAt: at},
			domain.CallTerminated{EndedAt: at.Add(time.Minute), Status: domain.StatusCompleted},
		}},
		{name: "an event without a hand-written encoder", events: []domain.Event{
			domain.CallDetailsChanged{Changes: domain.DetailsChanges{Notes: &longNotes}},
			domain.CallAnswered{AnsweredAt: at},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := encodeEvents(tt.events, meta, keyedIDs{})
			require.NoError(t, err)
			wantMeta, err := domain.MarshalMetadata(meta)
			require.NoError(t, err)
			for i, e := range tt.events {
				want, err := domain.MarshalEvent(e)
				require.NoError(t, err)
				assert.Equal(t, string(want), string(data[i].Data), "event %d", i)
				assert.Equal(t, len(data[i].Data), cap(data[i].Data), "event %d can grow into the next", i)
				assert.Equal(t, string(wantMeta), string(data[i].Metadata))
				assert.Equal(t, len(data[i].Metadata), cap(data[i].Metadata))
			}
		})
	}
}
