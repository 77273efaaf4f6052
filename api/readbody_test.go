package api

import (
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadAllWithAnnouncedLength(t *testing.T) {
	body := strings.Repeat("0123456789", 300)
	rows := []struct {
		name   string
		length int64
	}{
		{"unknown length", -1},
		{"exact length", int64(len(body))},
		{"announced shorter than the body", 10},
		{"announced longer than the body", int64(len(body)) * 2},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			// OneByteReader: every path through the read loop is taken.
			got, err := readAll(iotest.OneByteReader(strings.NewReader(body)), row.length)
			require.NoError(t, err)
			assert.Equal(t, body, string(got))
		})
	}
	_, err := readAll(iotest.ErrReader(iotest.ErrTimeout), 100)
	require.ErrorIs(t, err, iotest.ErrTimeout)
}
