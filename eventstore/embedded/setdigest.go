package embedded

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// setDigest is an order-independent digest of a multiset of byte strings:
// their count, and the sum, modulo 2^256, of the SHA-256 of each string
// under a key. The index check compares two sets of keys built in
// different orders with it (those the events make, in position order, and
// those stored, in key order), which no bounded memory can sort into one
// order. Two digests under the same key are equal only if the multisets
// are, but for a chance of about 2^-256; with a key drawn at random for
// each check, nobody can choose strings whose hashes cancel out (an
// unkeyed sum of hashes can be forged: see Wagner's generalized birthday
// problem), since nobody knows the hashes before the check runs.
type setDigest struct {
	key [32]byte
	n   uint64
	sum [4]uint64 // little-endian limbs
	buf []byte    // scratch: the key, then the string hashed
}

// newSetDigest returns the digest of the empty set under key.
func newSetDigest(key [32]byte) *setDigest { return &setDigest{key: key} }

// equal reports whether d and o, under the same key, digest the same set.
func (d *setDigest) equal(o *setDigest) bool { return d.key == o.key && d.n == o.n && d.sum == o.sum }

// randomDigestKey returns a key for setDigest from crypto/rand, which never
// fails (it panics, on a system without randomness).
func randomDigestKey() [32]byte {
	var key [32]byte
	rand.Read(key[:])
	return key
}

// add adds b to the set.
func (d *setDigest) add(b []byte) {
	d.buf = append(append(d.buf[:0], d.key[:]...), b...)
	sum := sha256.Sum256(d.buf)
	var carry uint64
	for i := range d.sum {
		d.sum[i], carry = bits.Add64(d.sum[i], binary.LittleEndian.Uint64(sum[8*i:]), carry)
	}
	d.n++
}
