package domain

import (
	"crypto/sha1"
	"strings"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain/jsonwrite"
)

// StreamPrefix starts the id of every call's event stream. The stream of call
// id is StreamPrefix + id.String(). A stored format: never change it.
const StreamPrefix = "call-"

// StreamID names the event stream of call id. It is built in one buffer:
// every write and read of a call names its stream.
func StreamID(id uuid.UUID) string {
	var b [len(StreamPrefix) + 36]byte
	return string(jsonwrite.AppendUUID(append(b[:0], StreamPrefix...), id))
}

// CallIDFromStream returns the call id of a call stream, and false for a
// stream that is not a call's.
func CallIDFromStream(stream string) (uuid.UUID, bool) {
	rest, ok := strings.CutPrefix(stream, StreamPrefix)
	if !ok {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(rest)
	return id, err == nil
}

// Namespaces of the name-based (version 5) UUIDs the ledger derives. Stored
// formats: changing one would give existing calls, people and participants
// new ids.
var (
	namespaceCall        = uuid.MustParse("5b0c7c3e-6f55-4c8e-9a7e-0c2f1d1f5a01")
	namespacePerson      = uuid.MustParse("5b0c7c3e-6f55-4c8e-9a7e-0c2f1d1f5a02")
	namespaceParticipant = uuid.MustParse("5b0c7c3e-6f55-4c8e-9a7e-0c2f1d1f5a03")
)

// CallIDFor derives the ledger id of the call that provider knows as
// providerID in account. Deriving it, instead of looking it up, makes upserts
// race-free: two concurrent first upserts of one provider call address the
// same stream, and the store's expected-revision check lets exactly one
// create it. Providers compare case-insensitively.
func CallIDFor(account, provider, providerID string) uuid.UUID {
	return nameUUID(namespaceCall, account, NormalizeProvider(provider), providerID)
}

// PersonID derives the person behind a phone number in an account: the same
// phone in the same account is always the same person, and the same phone in
// two accounts is two people.
func PersonID(account, phone string) uuid.UUID {
	return nameUUID(namespacePerson, account, phone)
}

// ParticipantID derives a participant's id from its call, role and phone, so
// that it stays the same across upserts that resend the participant list.
func ParticipantID(call uuid.UUID, role Role, phone string) uuid.UUID {
	// nameUUID(namespaceParticipant, call.String(), string(role), phone),
	// with the call id's text written into the buffer, not allocated.
	var scratch [256]byte
	return sha1Name(jsonwrite.AppendUUID(append(scratch[:0], namespaceParticipant[:]...), call), string(role), phone)
}

// nameUUID is uuid.NewSHA1(space, parts joined by NUL bytes), the name-based
// (version 5) UUID, computed in one buffer rather than through a hash.Hash:
// upserts derive several ids each.
func nameUUID(space uuid.UUID, first string, rest ...string) uuid.UUID {
	var scratch [256]byte
	return sha1Name(append(append(scratch[:0], space[:]...), first...), rest...)
}

// sha1Name appends each part to name after a NUL byte and returns the
// version 5 UUID of the whole; name starts with its namespace.
func sha1Name(name []byte, parts ...string) uuid.UUID {
	for _, p := range parts {
		name = append(append(name, 0), p...)
	}
	sum := sha1.Sum(name)
	var id uuid.UUID
	copy(id[:], sum[:])
	id[6] = (id[6] & 0x0f) | 0x50 // version 5
	id[8] = (id[8] & 0x3f) | 0x80 // RFC 4122 variant
	return id
}

// NormalizeProvider returns the canonical spelling of a provider name:
// trimmed and lower case ("VONAGE" and "vonage" are one provider).
func NormalizeProvider(p string) string { return strings.ToLower(strings.TrimSpace(p)) }
