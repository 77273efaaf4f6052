package eventstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/google/uuid"
)

// Hash is a SHA-256 digest in the tamper-evidence chains.
type Hash [sha256.Size]byte

// String returns the hash in lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero hash, the "previous hash" of the
// first event of a stream and of the first event of the log.
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText encodes h as lower-case hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes h from hex.
func (h *Hash) UnmarshalText(text []byte) error {
	if hex.DecodedLen(len(text)) != len(h) {
		return fmt.Errorf("hash: want %d hex digits, got %d", 2*len(h), len(text))
	}
	_, err := hex.Decode(h[:], text)
	return err
}

// hashDomainStream and hashDomainAll separate the two chains, so that a hash
// of one can never be passed off as a hash of the other.
const (
	hashDomainStream = "callledger/stream/v1"
	hashDomainAll    = "callledger/all/v1"
)

// ChainHash computes the stream-chain hash of an event: SHA-256 over a
// canonical encoding of the previous event's hash (the zero Hash for revision
// 0), the stream id, the revision, the event id, the type, the data and the
// metadata. Each variable-length field is prefixed with its length as a
// big-endian uint64, so no two different events encode alike.
//
// This encoding is a stored format: hashes written with it must verify
// forever. Never change it; add a new domain string instead.
func ChainHash(prev Hash, stream string, revision uint64, id uuid.UUID, typ string, data, metadata []byte) Hash {
	var h Hasher
	return h.Chain(prev, stream, revision, id, typ, data, metadata)
}

// Hasher computes ChainHash reusing one buffer, for a writer that hashes
// every event it appends (a store's committer): it hashes the whole
// encoding at once, without allocating. The zero value is ready to use; a
// Hasher is not safe for concurrent use.
type Hasher struct{ buf []byte }

// Chain returns ChainHash of its arguments. It grows the buffer once, to
// hold the whole encoding, if it is too small: appending the fields to a
// short one (as ChainHash's, which starts empty) would grow it field by
// field, an allocation and a copy each. A reused buffer at least doubles,
// as append would grow it, so that slowly larger events do not reallocate
// it each time.
func (h *Hasher) Chain(prev Hash, stream string, revision uint64, id uuid.UUID, typ string, data, metadata []byte) Hash {
	// Five length-prefixed fields, the previous hash, the revision, the id.
	n := 5*8 + len(hashDomainStream) + len(stream) + len(typ) + len(data) + len(metadata) +
		len(prev) + 8 + len(id)
	if cap(h.buf) < n {
		h.buf = make([]byte, 0, max(n, 2*cap(h.buf)))
	}
	b := appendField(h.buf[:0], hashDomainStream)
	b = append(b, prev[:]...)
	b = appendField(b, stream)
	b = binary.BigEndian.AppendUint64(b, revision)
	b = append(b, id[:]...)
	b = appendField(b, typ)
	b = appendField(b, data)
	b = appendField(b, metadata)
	h.buf = b
	return sha256.Sum256(b)
}

// AllChainHash computes the $all-chain hash of an event: SHA-256 over the
// previous event's $all hash (the zero Hash for the first event of the log),
// the event's position and its stream-chain hash. Because the stream hash
// covers the event's content, the $all chain covers every byte of the log in
// global order. Backends that keep it store it with the event; verify tools
// recompute it by walking ReadAll.
func AllChainHash(prev Hash, pos Position, streamHash Hash) Hash {
	var in [8 + len(hashDomainAll) + 2*len(Hash{}) + 16]byte
	b := appendField(in[:0], hashDomainAll)
	b = append(b, prev[:]...)
	b = binary.BigEndian.AppendUint64(b, pos.Commit)
	b = binary.BigEndian.AppendUint64(b, pos.Prepare)
	b = append(b, streamHash[:]...)
	return sha256.Sum256(b)
}

// appendField appends b prefixed with its length as a big-endian uint64.
func appendField[T string | []byte](dst []byte, b T) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(len(b)))
	return append(dst, b...)
}
