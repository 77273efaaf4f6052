package embedded

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyFilter(t *testing.T) {
	key := func(tag byte, i int) []byte { return binary.BigEndian.AppendUint64([]byte{tag}, uint64(i)) }
	rows := []struct {
		name string
		keys int
	}{
		{"empty", 0},
		{"one set", 1000},
		{"grown past the first set", 3*bloomFirstCapacity + 17},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			f := newKeyFilter(0)
			for i := range row.keys {
				f.add(key('I', i))
			}
			assert.True(t, f.mayContain(key('X', 1)), "not ready: everything may be there")
			f.ready.Store(true)
			for i := range row.keys {
				require.True(t, f.mayContain(key('I', i)), "key %d was added", i)
			}
			const probes = 100_000
			falses := 0
			for i := range probes {
				if f.mayContain(key('X', i)) {
					falses++
				}
			}
			sets := len(*f.sets.Load())
			assert.LessOrEqual(t, float64(falses)/probes, 0.02*float64(sets), "false positives over %d sets", sets)
			if row.keys > bloomFirstCapacity {
				assert.Greater(t, sets, 1, "the filter grew")
			}
		})
	}
}
