package kurrent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/callledger/callledger/eventstore"
)

// envelopePrefix starts every envelope this package writes; custom metadata
// without it was not written by callledger (see doc.go).
const envelopePrefix = `{"callledger":1,"hash":"`

// envelopeFields is the envelope as decoded. Metadata and MetadataBase64 are
// never both present.
type envelopeFields struct {
	Version        int             `json:"callledger"`
	Hash           eventstore.Hash `json:"hash"`
	Metadata       json.RawMessage `json:"metadata"`
	MetadataBase64 *string         `json:"metadataBase64"`
}

// errEnvelope marks custom metadata that claims to be an envelope but is
// not a valid one: a stored event was damaged or forged.
var errEnvelope = errors.New("kurrent: invalid metadata envelope")

// wrapMetadata builds the custom-metadata bytes stored with an event: the
// caller's metadata, verbatim, and the event's stream-chain hash.
func wrapMetadata(hash eventstore.Hash, metadata []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(envelopePrefix) + 2*len(hash) + 24 + base64.StdEncoding.EncodedLen(len(metadata)))
	b.WriteString(envelopePrefix)
	b.WriteString(hash.String())
	b.WriteByte('"')
	switch {
	case metadata == nil:
	case embeddable(metadata):
		b.WriteString(`,"metadata":`)
		b.Write(metadata)
	default:
		b.WriteString(`,"metadataBase64":"`)
		b.WriteString(base64.StdEncoding.EncodeToString(metadata))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.Bytes()
}

// embeddable reports whether metadata can sit in the envelope as a JSON value
// and be cut out again byte for byte: a valid JSON object or array with no
// whitespace around it (a decoder keeps the bytes inside a value, not the
// whitespace around it).
func embeddable(metadata []byte) bool {
	if len(metadata) < 2 {
		return false
	}
	first, last := metadata[0], metadata[len(metadata)-1]
	if !(first == '{' && last == '}') && !(first == '[' && last == ']') {
		return false
	}
	return json.Valid(metadata)
}

// unwrapMetadata returns the caller's metadata and the hash stored in custom
// metadata. Custom metadata that is not an envelope (events written by other
// tools) comes back verbatim with the zero hash, so a verify tool reports it
// rather than the read failing; an envelope that does not decode is an error.
func unwrapMetadata(custom []byte) (metadata []byte, hash eventstore.Hash, err error) {
	if !bytes.HasPrefix(custom, []byte(envelopePrefix)) {
		if len(custom) == 0 {
			return nil, eventstore.Hash{}, nil
		}
		return custom, eventstore.Hash{}, nil
	}
	var f envelopeFields
	if err := json.Unmarshal(custom, &f); err != nil {
		return nil, eventstore.Hash{}, fmt.Errorf("%w: %w", errEnvelope, err)
	}
	if f.Version != 1 {
		return nil, eventstore.Hash{}, fmt.Errorf("%w: version %d", errEnvelope, f.Version)
	}
	switch {
	case f.Metadata != nil && f.MetadataBase64 != nil:
		return nil, eventstore.Hash{}, fmt.Errorf("%w: both metadata and metadataBase64", errEnvelope)
	case f.Metadata != nil:
		return []byte(f.Metadata), f.Hash, nil
	case f.MetadataBase64 != nil:
		m, err := base64.StdEncoding.DecodeString(*f.MetadataBase64)
		if err != nil {
			return nil, eventstore.Hash{}, fmt.Errorf("%w: metadataBase64: %w", errEnvelope, err)
		}
		return m, f.Hash, nil
	default:
		return nil, f.Hash, nil
	}
}
