package embeddedtest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
)

// The keys and values of the embedded store's stored format (see the
// embedded package doc), written by hand from that doc, as a tamperer
// with the files would write them: a test that edits a store through them
// checks the documented format, not the store's own encoders.

// EventKey is the key of the event at pos: 'E' ++ position.
func EventKey(pos uint64) []byte { return binary.BigEndian.AppendUint64([]byte{'E'}, pos) }

// StreamIndexKey is the key of stream's revision rev in the stream index:
// 'S' ++ len ++ stream ++ revision. Its value is the event's position (see
// PositionValue).
func StreamIndexKey(stream string, rev uint64) []byte {
	k := binary.BigEndian.AppendUint16([]byte{'S'}, uint16(len(stream)))
	return binary.BigEndian.AppendUint64(append(k, stream...), rev)
}

// HeadKey is the key of stream's head: 'H' ++ len ++ stream. Its value is
// the stream's last revision and hash (see HeadValue).
func HeadKey(stream string) []byte {
	return append(binary.BigEndian.AppendUint16([]byte{'H'}, uint16(len(stream))), stream...)
}

// IDKey is the key of event id in the id index: 'I' ++ id. Its value is
// where the event is (see IDValue).
func IDKey(id uuid.UUID) []byte { return append([]byte{'I'}, id[:]...) }

// PositionValue is a stream index value: the position.
func PositionValue(pos uint64) []byte { return binary.BigEndian.AppendUint64(nil, pos) }

// HeadValue is a stream head value: last revision ++ last hash.
func HeadValue(rev uint64, hash eventstore.Hash) []byte {
	return append(binary.BigEndian.AppendUint64(nil, rev), hash[:]...)
}

// IDValue is the id index value that says where r is: position ++
// revision ++ len ++ stream.
func IDValue(r eventstore.Record) []byte {
	v := binary.BigEndian.AppendUint64(nil, r.Position.Commit)
	v = binary.BigEndian.AppendUint64(v, r.Revision)
	v = binary.BigEndian.AppendUint16(v, uint16(len(r.StreamID)))
	return append(v, r.StreamID...)
}

// Edit opens the Pebble database of the closed embedded store in dir as
// plain Pebble, as a tamperer with the files would, lets edit change its
// keys, and closes it.
func Edit(tb testing.TB, dir string, edit func(db *pebble.DB)) {
	tb.Helper()
	db, err := pebble.Open(dir, &pebble.Options{
		FormatMajorVersion: pebble.FormatValueSeparation,
		Logger:             quietLogger{tb},
	})
	require.NoError(tb, err)
	defer func() { require.NoError(tb, db.Close()) }()
	edit(db)
}

// Rewrite replaces the value stored under key, in the closed embedded store
// of dir, with change's result, through Edit. change gets a copy of the
// stored value, which it may change in place. It fails the test if nothing
// is stored under key.
func Rewrite(tb testing.TB, dir string, key []byte, change func(v []byte) []byte) {
	tb.Helper()
	Edit(tb, dir, func(db *pebble.DB) {
		v, closer, err := db.Get(key)
		require.NoError(tb, err, "a value is stored under %q", key)
		value := bytes.Clone(v)
		require.NoError(tb, closer.Close())
		require.NoError(tb, db.Set(key, change(value), pebble.Sync))
	})
}

// Reseal rewrites, in place, the checksum that ends the record value v (its
// last 4 bytes: the CRC-32C, Castagnoli, of every byte before them), as a
// deliberate tamperer would after changing the record, so that it decodes
// and only the hash chains can catch the change. It returns v.
func Reseal(v []byte) []byte {
	n := len(v) - 4
	binary.BigEndian.PutUint32(v[n:], crc32.Checksum(v[:n], crc32.MakeTable(crc32.Castagnoli)))
	return v
}
