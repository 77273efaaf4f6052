package embedded

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/callledger/callledger/eventstore"
)

// ErrCorrupt is returned, wrapped with the key or position it concerns, when
// a stored value does not decode, or when Pebble finds the file that holds
// it damaged (a block whose checksum fails, see pebbleError): the store was
// damaged or altered. Test for it with errors.Is. It wraps
// eventstore.ErrCorrupt, which callers that know no backend test for.
var ErrCorrupt = fmt.Errorf("embedded: corrupt stored value: %w", eventstore.ErrCorrupt)

// Key prefixes and versions of the stored format; see the package doc.
const (
	formatVersion = 1
	recordVersion = 1

	prefixEvent  = 'E'
	prefixStream = 'S'
	prefixHead   = 'H'
	prefixID     = 'I'

	keyFormat = "Mformat"
	keyHead   = "Mhead"

	eventKeyLen = 1 + 8
	idKeyLen    = 1 + 16
	hashLen     = len(eventstore.Hash{})

	// recordFixedLen is the size of a record value without its variable fields.
	recordFixedLen = 1 + 8 + 8 + 16 + hashLen + hashLen + 2 + 2 + 4 + 4 + 4
	headValueLen   = 8 + hashLen
	metaHeadLen    = 8 + hashLen

	// The offsets of a record value's fixed fields (see the package doc),
	// after its version byte at 0: 1, 9, 17, 33 and 65. Each field ends
	// where the next begins, and the variable fields begin at
	// offsetStream (97) with len(stream).
	offsetRecordedAt = 1
	offsetRevision   = offsetRecordedAt + 8
	offsetID         = offsetRevision + 8
	offsetHash       = offsetID + 16
	offsetAllHash    = offsetHash + hashLen
	offsetStream     = offsetAllHash + hashLen
)

// eventKey returns the key of the event at position pos.
func eventKey(dst []byte, pos uint64) []byte {
	dst = append(dst, prefixEvent)
	return binary.BigEndian.AppendUint64(dst, pos)
}

// parseEventKey returns the position named by an event key.
func parseEventKey(key []byte) (uint64, error) {
	if len(key) != eventKeyLen || key[0] != prefixEvent {
		return 0, fmt.Errorf("event key %x: %w", key, ErrCorrupt)
	}
	return binary.BigEndian.Uint64(key[1:]), nil
}

// streamPrefix returns prefix ++ len(stream) ++ stream: the start of the
// stream's index keys ('S') or its head key ('H'). The stream is a string,
// or the bytes of one in a stored value (which the index check reads
// without copying).
func streamPrefix[S string | []byte](dst []byte, prefix byte, stream S) []byte {
	dst = append(dst, prefix)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(stream)))
	return append(dst, stream...)
}

// streamIndexKey returns the key of revision rev in the stream index.
func streamIndexKey[S string | []byte](dst []byte, stream S, rev uint64) []byte {
	dst = streamPrefix(dst, prefixStream, stream)
	return binary.BigEndian.AppendUint64(dst, rev)
}

// parseStreamIndexKey returns the stream and revision a stream index key
// names (the stream as a slice of key). A key that is not one, not 'S' ++
// len ++ a non-empty stream of that length ++ revision, is an error
// wrapping ErrCorrupt.
func parseStreamIndexKey(key []byte) (stream []byte, rev uint64, err error) {
	if len(key) >= 3+8 && key[0] == prefixStream {
		if n := int(binary.BigEndian.Uint16(key[1:])); n != 0 && len(key) == 3+n+8 {
			return key[3 : 3+n], binary.BigEndian.Uint64(key[3+n:]), nil
		}
	}
	return nil, 0, fmt.Errorf("stream index key %x: %w", key, ErrCorrupt)
}

// decodeIndexValue returns the position that v, the value of the stream
// index key key, names. A value that is not 8 bytes is an error wrapping
// ErrCorrupt naming key.
func decodeIndexValue(key, v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("stream index key %x: %d bytes: %w", key, len(v), ErrCorrupt)
	}
	return binary.BigEndian.Uint64(v), nil
}

// parseHeadKey returns the stream a stream head key names (as a slice of
// key). A key that is not one, not 'H' ++ len ++ a non-empty stream of
// that length, is an error wrapping ErrCorrupt.
func parseHeadKey(key []byte) (stream []byte, err error) {
	if len(key) >= 3 && key[0] == prefixHead {
		if n := int(binary.BigEndian.Uint16(key[1:])); n != 0 && len(key) == 3+n {
			return key[3:], nil
		}
	}
	return nil, fmt.Errorf("stream head key %x: %w", key, ErrCorrupt)
}

// idKey returns the key of id in the idempotency index.
func idKey(dst []byte, id uuid.UUID) []byte {
	dst = append(dst, prefixID)
	return append(dst, id[:]...)
}

// streamHead is where a stream ends: the revision and hash of its last event.
type streamHead struct {
	exists   bool
	revision uint64
	hash     eventstore.Hash
}

func encodeHead(dst []byte, h streamHead) []byte {
	dst = binary.BigEndian.AppendUint64(dst, h.revision)
	return append(dst, h.hash[:]...)
}

// decodeHead decodes v, the value of stream's head key. The stream is a
// string, or the bytes of one in a stored key or value (which the index
// check reads without copying); it only names the stream in an error.
func decodeHead[S string | []byte](stream S, v []byte) (streamHead, error) {
	if len(v) != headValueLen {
		return streamHead{}, fmt.Errorf("head of stream %q: %d bytes, want %d: %w", stream, len(v), headValueLen, ErrCorrupt)
	}
	h := streamHead{exists: true, revision: binary.BigEndian.Uint64(v)}
	copy(h.hash[:], v[8:])
	return h, nil
}

// idLocation is where the idempotency index says an event id was recorded.
type idLocation struct {
	stream   string
	revision uint64
	position uint64
}

// appendIDValue appends the id index value of an event at pos, revision
// rev of stream. The stream is a string (an append), or the bytes of one
// in a stored record, which the index check writes it from without making
// a string of them.
func appendIDValue[S string | []byte](dst []byte, pos, rev uint64, stream S) []byte {
	dst = binary.BigEndian.AppendUint64(dst, pos)
	dst = binary.BigEndian.AppendUint64(dst, rev)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(stream)))
	return append(dst, stream...)
}

func decodeIDValue(id uuid.UUID, v []byte) (idLocation, error) {
	if len(v) < 18 || len(v) != 18+int(binary.BigEndian.Uint16(v[16:])) {
		return idLocation{}, fmt.Errorf("id index of %s: %d bytes: %w", id, len(v), ErrCorrupt)
	}
	return idLocation{
		position: binary.BigEndian.Uint64(v),
		revision: binary.BigEndian.Uint64(v[8:]),
		stream:   string(v[18:]),
	}, nil
}

func encodeMetaHead(pos uint64, allHash eventstore.Hash) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, metaHeadLen), pos)
	return append(v, allHash[:]...)
}

func decodeMetaHead(v []byte) (uint64, eventstore.Hash, error) {
	var h eventstore.Hash
	if len(v) != metaHeadLen {
		return 0, h, fmt.Errorf("key %s: %d bytes, want %d: %w", keyHead, len(v), metaHeadLen, ErrCorrupt)
	}
	copy(h[:], v[8:])
	return binary.BigEndian.Uint64(v), h, nil
}

// recordLen is the size of the encoded record value of an event.
func recordLen(stream string, ev *eventstore.EventData) int {
	return recordFixedLen + len(stream) + len(ev.Type) + len(ev.Data) + len(ev.Metadata)
}

// storedEvent is what the committer knows of an event it writes.
type storedEvent struct {
	stream     string
	revision   uint64
	recordedAt int64 // Unix nanoseconds
	hash       eventstore.Hash
	allHash    eventstore.Hash
}

// encodeRecord writes the record value of ev into dst, which must be exactly
// recordLen bytes long. The lengths were bounded by ValidateAppend.
func encodeRecord(dst []byte, se *storedEvent, ev *eventstore.EventData) {
	dst[0] = recordVersion
	binary.BigEndian.PutUint64(dst[offsetRecordedAt:], uint64(se.recordedAt))
	binary.BigEndian.PutUint64(dst[offsetRevision:], se.revision)
	copy(dst[offsetID:offsetHash], ev.ID[:])
	copy(dst[offsetHash:offsetAllHash], se.hash[:])
	copy(dst[offsetAllHash:offsetStream], se.allHash[:])
	n := offsetStream
	binary.BigEndian.PutUint16(dst[n:], uint16(len(se.stream)))
	n += 2 + copy(dst[n+2:], se.stream)
	binary.BigEndian.PutUint16(dst[n:], uint16(len(ev.Type)))
	n += 2 + copy(dst[n+2:], ev.Type)
	binary.BigEndian.PutUint32(dst[n:], uint32(len(ev.Data)))
	n += 4 + copy(dst[n+4:], ev.Data)
	binary.BigEndian.PutUint32(dst[n:], uint32(len(ev.Metadata)))
	n += 4 + copy(dst[n+4:], ev.Metadata)
	binary.BigEndian.PutUint32(dst[n:], checksum(dst[:n]))
	n += 4
	if n != len(dst) {
		panic(fmt.Sprintf("embedded: encoded %d bytes of a %d-byte record", n, len(dst)))
	}
}

// checksum is the record checksum: CRC-32C, which has hardware support on
// amd64 and arm64. MakeTable returns the package's shared Castagnoli table.
func checksum(b []byte) uint32 {
	return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
}

// decoder turns stored record values into Records. It interns stream ids and
// type names, which repeat across a read, in strings (which saves
// allocations), and carves payloads from payloads when set (a
// ReadAllPage), or else gives each record its own; it is used by one read
// at a time.
type decoder struct {
	strings  *eventstore.Page
	payloads *eventstore.Page
}

// plainDecoder returns a decoder for a read whose records are the caller's
// to keep, each payload in an allocation of its own.
func plainDecoder() decoder { return decoder{strings: new(eventstore.Page)} }

// pageDecoder returns a decoder that reads into page's memory.
func pageDecoder(page *eventstore.Page) decoder { return decoder{strings: page, payloads: page} }

// payload returns n bytes for a record's payloads.
func (d *decoder) payload(n int) []byte {
	if d.payloads != nil {
		return d.payloads.Alloc(n)
	}
	return make([]byte, n)
}

// decode decodes the record value v stored at position pos. It copies what
// it keeps, so v may be reused afterwards. A value that does not decode is
// an error wrapping ErrCorrupt naming pos; it never panics.
func (d *decoder) decode(pos uint64, v []byte) (eventstore.Record, error) {
	var f recordFields
	if err := parseRecord(pos, v, &f); err != nil {
		return eventstore.Record{}, err
	}
	r := eventstore.Record{
		Revision:   f.revision,
		Position:   eventstore.Position{Commit: pos, Prepare: pos},
		RecordedAt: time.Unix(0, f.recordedAt).UTC(),
		ID:         f.id,
		Hash:       f.hash,
		AllHash:    f.allHash,
		StreamID:   d.strings.Intern(f.stream),
		Type:       d.strings.Intern(f.typ),
	}
	// One allocation holds both payloads; each slice is capped so that an
	// append by the caller to one cannot overwrite the other.
	buf := d.payload(len(f.data) + len(f.metadata))
	copy(buf, f.data)
	copy(buf[len(f.data):], f.metadata)
	r.Data = buf[:len(f.data):len(f.data)]
	if len(f.metadata) > 0 {
		r.Metadata = buf[len(f.data):]
	}
	return r, nil
}

// recordFields is a record value parsed in place: its fixed fields, and its
// variable ones as slices of the value. The index check reads events
// through it without copying their payloads.
type recordFields struct {
	recordedAt int64 // Unix nanoseconds
	revision   uint64
	id         uuid.UUID
	hash       eventstore.Hash
	allHash    eventstore.Hash

	stream, typ, data, metadata []byte
}

// parseRecord parses the record value v stored at position pos into f,
// whose slices point into v. A value that does not parse (see decode) is
// an error wrapping ErrCorrupt naming pos; it never panics.
func parseRecord(pos uint64, v []byte, f *recordFields) error {
	fail := func(what string) error {
		return &recordError{position: pos, reason: what}
	}
	if len(v) < recordFixedLen {
		return fail(fmt.Sprintf("%d bytes, shorter than the %d-byte minimum", len(v), recordFixedLen))
	}
	body, sum := v[:len(v)-4], binary.BigEndian.Uint32(v[len(v)-4:])
	if got := checksum(body); got != sum {
		return fail(fmt.Sprintf("checksum %08x, stored %08x", got, sum))
	}
	if v[0] != recordVersion {
		return fail(fmt.Sprintf("unknown record version %d", v[0]))
	}
	f.recordedAt = int64(binary.BigEndian.Uint64(v[offsetRecordedAt:]))
	f.revision = binary.BigEndian.Uint64(v[offsetRevision:])
	copy(f.id[:], v[offsetID:offsetHash])
	copy(f.hash[:], v[offsetHash:offsetAllHash])
	copy(f.allHash[:], v[offsetAllHash:offsetStream])
	rest := body[offsetStream:]

	field := func(lenBytes int) ([]byte, bool) {
		if len(rest) < lenBytes {
			return nil, false
		}
		var n uint64
		if lenBytes == 2 {
			n = uint64(binary.BigEndian.Uint16(rest))
		} else {
			n = uint64(binary.BigEndian.Uint32(rest))
		}
		rest = rest[lenBytes:]
		if n > uint64(len(rest)) {
			return nil, false
		}
		b := rest[:n]
		rest = rest[n:]
		return b, true
	}
	var ok bool
	if f.stream, ok = field(2); !ok || len(f.stream) == 0 {
		return fail("bad stream id length")
	}
	if f.typ, ok = field(2); !ok || len(f.typ) == 0 {
		return fail("bad type length")
	}
	if f.data, ok = field(4); !ok {
		return fail("bad data length")
	}
	if f.metadata, ok = field(4); !ok {
		return fail("bad metadata length")
	}
	if len(rest) != 0 {
		return fail(fmt.Sprintf("%d trailing bytes", len(rest)))
	}
	if len(f.data)+len(f.metadata) > math.MaxInt32 {
		return fail("oversized payload")
	}
	return nil
}
