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
	h := sha256.New()
	writeField(h, []byte(hashDomainStream))
	h.Write(prev[:])
	writeField(h, []byte(stream))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], revision)
	h.Write(n[:])
	h.Write(id[:])
	writeField(h, []byte(typ))
	writeField(h, data)
	writeField(h, metadata)
	var out Hash
	h.Sum(out[:0])
	return out
}

// AllChainHash computes the $all-chain hash of an event: SHA-256 over the
// previous event's $all hash (the zero Hash for the first event of the log),
// the event's position and its stream-chain hash. Because the stream hash
// covers the event's content, the $all chain covers every byte of the log in
// global order. Backends that keep it store it with the event; verify tools
// recompute it by walking ReadAll.
func AllChainHash(prev Hash, pos Position, streamHash Hash) Hash {
	h := sha256.New()
	writeField(h, []byte(hashDomainAll))
	h.Write(prev[:])
	var n [16]byte
	binary.BigEndian.PutUint64(n[:8], pos.Commit)
	binary.BigEndian.PutUint64(n[8:], pos.Prepare)
	h.Write(n[:])
	h.Write(streamHash[:])
	var out Hash
	h.Sum(out[:0])
	return out
}

type byteWriter interface{ Write([]byte) (int, error) }

func writeField(w byteWriter, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	w.Write(n[:])
	w.Write(b)
}
