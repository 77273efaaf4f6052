package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
)

// Pebble checks every block of its tables against a checksum as it reads
// it. A damaged block (a flipped byte on disk) fails the read that needed
// it, and every read of the keys in that block, with an error that Pebble
// marks as corruption (pebble.IsCorruptionError); the events in that block
// cannot be read at all, so nothing in them (their streams included) can be
// named, only the position the read was at and the file. Reads turn that
// error into one wrapping ErrCorrupt with pebbleError, so that callers see
// damage exactly as they see a record that does not decode: verify reports
// it, a server's request fails, and nothing panics (see the DataCorruption
// listener in Open). Any other error of Pebble stays as it is: an I/O error
// or a closed store says nothing about the data. The read models and the
// idempotency table treat damage to their tables the same way, through
// the same package (eventstore/embedded/pebblelog).

// pebbleError returns err, which a read of Pebble returned, with Pebble's
// report of on-disk corruption turned into an error that wraps ErrCorrupt
// and names the damaged file and its keys (see pebblelog.Wrap); any other
// error, nil included, it returns unchanged. Callers wrap its result naming
// what they were reading.
func pebbleError(err error) error {
	return pebblelog.Wrap(err, ErrCorrupt, keyRange)
}

// keyRange names the keys from start to end, as keyName names each.
func keyRange(start, end []byte) string {
	return keyName(start) + " to " + keyName(end)
}

// keyName names a stored key by its documented layout (see the package
// doc), as the index check's problems do: "event key 'E' (position 42)",
// "stream index key 'S' (stream call-1, revision 3)", and so on; a key of
// no known layout by its bytes, quoted.
func keyName(key []byte) string {
	if pos, err := parseEventKey(key); err == nil {
		return eventKeyName(pos)
	}
	if stream, rev, err := parseStreamIndexKey(key); err == nil {
		return streamIndexKeyName(stream, rev)
	}
	if stream, err := parseHeadKey(key); err == nil {
		return headKeyName(stream)
	}
	if len(key) == idKeyLen && key[0] == prefixID {
		return idKeyName(uuid.UUID(key[1:]))
	}
	if string(key) == keyHead {
		return metaHeadKeyName
	}
	return fmt.Sprintf("key %q", key)
}

// recordError is the error of a record value that does not decode (see
// parseRecord). It wraps ErrCorrupt.
type recordError struct {
	position uint64
	reason   string
	// owner names the event's stream and revision, as an index key that
	// names this position confirms them (see eventOwner); empty when
	// nothing confirms them, or before anything was looked up.
	owner string
}

func (e *recordError) Error() string {
	owner := ""
	if e.owner != "" {
		owner = " (" + e.owner + ")"
	}
	return fmt.Sprintf("event at position %d: %s%s: %s", e.position, e.reason, owner, ErrCorrupt)
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *recordError) Unwrap() error { return ErrCorrupt }

// withOwner returns err, an error of decoding the record value v, naming
// the event's stream and revision when err is a recordError and an index
// key of db confirms them (see eventOwner). It is for the failing path of
// a read only: it costs up to two point reads.
func withOwner(db pebble.Reader, err error, v []byte) error {
	var re *recordError
	if errors.As(err, &re) && re.owner == "" {
		re.owner = eventOwner(db, re.position, v)
	}
	return err
}

// eventOwner names the stream and revision of the event at pos, whose
// record value v does not decode, or says why it cannot. A value that
// fails its checksum has one damaged byte or more, anywhere, so the stream
// and revision it holds are only candidates: a candidate is named when an
// index key confirms it by naming pos, the stream index key of the stream
// and revision the value holds, or else the id index key of the event id
// it holds (its fields are in different places, so damage to one still
// leaves the other to confirm). Errors of those reads only leave the
// candidate unconfirmed.
func eventOwner(db pebble.Reader, pos uint64, v []byte) string {
	if len(v) >= offsetStream+2 {
		n := int(binary.BigEndian.Uint16(v[offsetStream:]))
		if n > 0 && len(v) >= offsetStream+2+n {
			stream := v[offsetStream+2 : offsetStream+2+n]
			rev := binary.BigEndian.Uint64(v[offsetRevision:])
			key := streamIndexKey(nil, stream, rev)
			if named, ok := readPosition(db, key); ok && named == pos {
				return fmt.Sprintf("stream %s, revision %d, as its stream index key names it", stream, rev)
			}
		}
	}
	if len(v) >= offsetHash {
		id := uuid.UUID(v[offsetID:offsetHash])
		if loc, ok := readIDLocation(db, id); ok && loc.position == pos {
			return fmt.Sprintf("stream %s, revision %d, as its id index key names it", loc.stream, loc.revision)
		}
	}
	return "its stream is unknown: no stream index or id index key names this position with the stream, revision or id the damaged value holds"
}

// readPosition reads the stream index key key and returns the position it
// names; ok is false when it is missing, unreadable or not 8 bytes.
func readPosition(db pebble.Reader, key []byte) (pos uint64, ok bool) {
	v, closer, err := db.Get(key)
	if err != nil {
		return 0, false
	}
	defer closer.Close()
	pos, err = decodeIndexValue(key, v)
	return pos, err == nil
}

// readIDLocation reads the id index key of id; ok is false when it is
// missing, unreadable or does not decode.
func readIDLocation(db pebble.Reader, id uuid.UUID) (loc idLocation, ok bool) {
	v, closer, err := db.Get(idKey(nil, id))
	if err != nil {
		return loc, false
	}
	defer closer.Close()
	loc, err = decodeIDValue(id, v)
	return loc, err == nil
}
