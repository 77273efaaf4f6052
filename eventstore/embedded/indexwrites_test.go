package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
)

// TestIndexWritesInKeyOrder checks that a group's index keys reach the
// batch in key order, each with its own value.
func TestIndexWritesInKeyOrder(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), &pebble.Options{Logger: pebblelog.Logger{Log: slog.New(slog.DiscardHandler)}})
	require.NoError(t, err)
	defer db.Close()

	var w indexWrites
	want := map[string][]byte{}
	note := func(key, value []byte) { want[string(key)] = bytes.Clone(value) }
	for round := range 2 { // the second round reuses the memory of the first
		w.reset()
		clear(want)
		for i := range 50 {
			stream := fmt.Sprintf("call-%s", uuid.New())
			pos := uint64(1000*round + i)
			w.streamIndex(stream, 0, pos)
			note(streamIndexKey(nil, stream, 0), encodeUint64(pos))
			loc := idLocation{stream: stream, revision: 0, position: pos}
			id := uuid.New()
			require.Equal(t, idKey(nil, id), w.id(id, loc), "id returns the key it added")
			note(idKey(nil, id), appendIDValue(nil, loc.position, loc.revision, loc.stream))
			h := streamHead{exists: true, revision: uint64(i)}
			h.hash[0] = byte(i)
			w.head(stream, h)
			note(streamPrefix(nil, prefixHead, stream), encodeHead(nil, h))
		}
		b := db.NewBatch()
		w.writeTo(b)
		var prev []byte
		got := 0
		for r := b.Reader(); ; {
			kind, key, value, ok, err := r.Next()
			require.NoError(t, err)
			if !ok {
				break
			}
			require.Equal(t, pebble.InternalKeyKindSet, kind)
			require.Negative(t, bytes.Compare(prev, key), "key %x after %x", key, prev)
			require.Equal(t, want[string(key)], value, "value of key %x", key)
			prev = bytes.Clone(key)
			got++
		}
		require.Equal(t, len(want), got)
		require.NoError(t, b.Close())
	}
}

func encodeUint64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// BenchmarkIndexWrites measures gathering and writing the index keys of a
// group of 40 appends of 3 events (time-ordered ids, as the API makes)
// to new streams, as applyGroup does: one op is one group.
func BenchmarkIndexWrites(b *testing.B) {
	const appends, perAppend = 40, 3
	streams := make([]string, appends)
	ids := make([]uuid.UUID, appends*perAppend)
	for i := range streams {
		streams[i] = fmt.Sprintf("call-%s", uuid.New())
	}
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7())
	}
	db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: pebblelog.Logger{Log: slog.New(slog.DiscardHandler)}})
	require.NoError(b, err)
	defer db.Close()
	batch := db.NewBatch()
	defer batch.Close()
	var w indexWrites
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		batch.Reset()
		pos := uint64(1)
		for i, stream := range streams {
			for rev := range uint64(perAppend) {
				w.streamIndex(stream, rev, pos)
				w.id(ids[i*perAppend+int(rev)], idLocation{stream: stream, revision: rev, position: pos})
				pos++
			}
		}
		for _, stream := range streams {
			w.head(stream, streamHead{exists: true, revision: perAppend - 1})
		}
		w.writeTo(batch)
	}
}
