package projections

// White-box: the list entry's layouts are unexported stored formats, whose
// decoder must refuse what its encoder never writes.

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestListEntryLayouts(t *testing.T) {
	// Goal: every list entry decodes as it was encoded, ended or not, with
	// a parent or not; an entry of layout 1 decodes without them
	// (HasEnd false); bytes the encoder never writes are errBadValue.
	end := time.Date(2025, 2, 17, 15, 4, 5, 123456789, time.UTC)
	parent := uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	base := listEntry{Status: domain.StatusCompleted, From: "+14155551212", To: "+1650\x00555", HasEnd: true}
	for _, tc := range []struct {
		name   string
		mutate func(*listEntry)
	}{
		{"Neither", func(*listEntry) {}},
		{"Ended", func(e *listEntry) { e.Ended, e.EndedAt = true, end }},
		{"EndedAtZeroTime", func(e *listEntry) { e.Ended = true }},
		{"Parent", func(e *listEntry) { e.Parent = parent }},
		{"EndedWithParentDeleted", func(e *listEntry) { e.Ended, e.EndedAt, e.Parent, e.Deleted = true, end, parent, true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			tc.mutate(&e)
			v := encodeListEntry(e)
			require.Equal(t, byte(listEntryLayout), v[0])
			got, err := decodeListEntry(v)
			require.NoError(t, err)
			assert.Equal(t, e, got)

			for cut := 1; cut < len(v); cut++ {
				_, err := decodeListEntry(v[:cut])
				assert.ErrorIs(t, err, errBadValue, "cut at %d of %d", cut, len(v))
			}
			_, err = decodeListEntry(append(v, 0))
			assert.ErrorIs(t, err, errBadValue, "a trailing byte")
		})
	}

	t.Run("Layout1", func(t *testing.T) {
		// 0x01, not deleted, "completed", "+1", "+2": as builds before
		// layout 2 wrote it.
		v := []byte{1, 0, 9, 'c', 'o', 'm', 'p', 'l', 'e', 't', 'e', 'd', 2, '+', '1', 2, '+', '2'}
		got, err := decodeListEntry(v)
		require.NoError(t, err)
		assert.Equal(t, listEntry{Status: domain.StatusCompleted, From: "+1", To: "+2"}, got)
		_, err = decodeListEntry(append(v, 0))
		assert.ErrorIs(t, err, errBadValue, "layout 1 has no flags")
	})

	t.Run("Refused", func(t *testing.T) {
		v := encodeListEntry(base)
		for name, bad := range map[string][]byte{
			"Layout3":         append([]byte{3}, v[1:]...),
			"UnknownFlag":     append(append([]byte{}, v[:len(v)-1]...), 4),
			"DeletedNotAByte": append([]byte{2, 2}, v[2:]...),
		} {
			_, err := decodeListEntry(bad)
			assert.ErrorIs(t, err, errBadValue, name)
		}
	})
}
