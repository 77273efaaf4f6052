package projections

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/callledger/callledger/eventstore"
)

// Key prefixes: the first byte of every key names its read model. They are a
// stored format (see doc.go); a new read model takes a new byte.
const (
	prefixBilling = 'b' // billing totals by day, account, provider, currency
	prefixCall    = 'c' // call view by call id
	prefixList    = 'l' // list index by account, start time, call id
	prefixMeta    = 'm' // checkpoint, format version, failures: not a read model
	prefixLookup  = 'p' // provider lookup, no longer written: see doc.go; excluded from Digest
	prefixRecord  = 'r' // recording index by recording sid
)

// Meta keys. The 'm' range is excluded from Digest: it describes the runner's
// progress, not the read models.
var (
	keyCheckpoint  = []byte("m/checkpoint")
	keyFormat      = []byte("m/format")
	keyFailurePref = []byte("m/failure/")
)

// formatVersion is the version of the key and value layouts in doc.go. A
// database written with another version must be rebuilt. A build that
// writes a layout the builds before it cannot read stamps a new version,
// so that they refuse the database (ErrFormat) rather than serve errors
// from it.
const formatVersion = "callledger-projections/3"

// formatVersionNoEnds is the format of the builds before session 44: list
// entries without the call's end and parent, recording index entries
// without the recording's time, and the invariants of that build judged
// (a price's currency was not). Open opens such a database, whose read
// models this build reads, and NeedsRebuild reports it, so that
// callledger rebuilds it before serving: every entry is then written in
// this build's layouts and every event judged by its invariants. A
// rebuild stamps formatVersion.
const formatVersionNoEnds = "callledger-projections/2"

// formatVersionNoRecordings is the format of the builds before the
// recording index ('r'): format 2 without it. Open opens such a database,
// whose read models are sound but do not index the recordings they hold,
// and NeedsRebuild reports it, so that callledger rebuilds it before
// serving; a rebuild stamps formatVersion.
const formatVersionNoRecordings = "callledger-projections/1"

// errBadKey reports a key that does not follow its read model's layout: a
// corrupt database or a bug, never a user error.
var errBadKey = errors.New("malformed read-model key")

// appendString appends s in an order-preserving, self-delimiting form: each
// 0x00 byte becomes 0x00 0xFF, and 0x00 0x01 ends the string. Keys built of
// such strings sort as the tuple of their strings does, and no string can
// run into the next field, whatever bytes account ids or provider ids hold.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0x00 {
			dst = append(dst, 0x00, 0xFF)
			continue
		}
		dst = append(dst, c)
	}
	return append(dst, 0x00, 0x01)
}

// readString reads a string written by appendString from the front of b and
// returns it with the rest of b.
func readString(b []byte) (string, []byte, error) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != 0x00 {
			out = append(out, c)
			continue
		}
		if i+1 >= len(b) {
			return "", nil, fmt.Errorf("%w: unterminated string", errBadKey)
		}
		switch b[i+1] {
		case 0x01:
			return string(out), b[i+2:], nil
		case 0xFF:
			out = append(out, 0x00)
			i++
		default:
			return "", nil, fmt.Errorf("%w: bad escape 0x00 0x%02x", errBadKey, b[i+1])
		}
	}
	return "", nil, fmt.Errorf("%w: unterminated string", errBadKey)
}

// timeKeyBytes is the length of an encoded instant in a key.
const timeKeyBytes = 12

// appendTime appends t as 12 bytes that sort as instants do: the Unix
// seconds as a big-endian int64 with the sign bit flipped, then the
// nanoseconds as a big-endian uint32. It covers every time.Time, including
// the zero one, unlike UnixNano.
func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(dst, uint32(t.Nanosecond()))
}

// readTime reads an instant written by appendTime, in UTC.
func readTime(b []byte) (time.Time, []byte, error) {
	if len(b) < timeKeyBytes {
		return time.Time{}, nil, fmt.Errorf("%w: short time", errBadKey)
	}
	sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
	nsec := int64(binary.BigEndian.Uint32(b[8:]))
	return time.Unix(sec, nsec).UTC(), b[timeKeyBytes:], nil
}

// dayKeyBytes is the length of an encoded UTC day in a key.
const dayKeyBytes = 4

// dayNumber returns the UTC day of t as days since 1970-01-01.
func dayNumber(t time.Time) int32 {
	sec := t.Unix()
	day := sec / 86400
	if sec%86400 < 0 {
		day-- // floor, for instants before 1970
	}
	return int32(day)
}

// dayTime returns the UTC midnight that starts day.
func dayTime(day int32) time.Time { return time.Unix(int64(day)*86400, 0).UTC() }

// appendDay appends a day number as a big-endian int32 with the sign bit
// flipped, so that days sort in calendar order.
func appendDay(dst []byte, day int32) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(day)^(1<<31))
}

// readDay reads a day written by appendDay.
func readDay(b []byte) (int32, []byte, error) {
	if len(b) < dayKeyBytes {
		return 0, nil, fmt.Errorf("%w: short day", errBadKey)
	}
	return int32(binary.BigEndian.Uint32(b) ^ (1 << 31)), b[dayKeyBytes:], nil
}

// callKey is the call view key of id: 'c' + the 16 bytes of the uuid.
func callKey(id uuid.UUID) []byte {
	k := make([]byte, 0, 1+len(id))
	k = append(k, prefixCall)
	return append(k, id[:]...)
}

// recordingKey is the recording index key of the recording whose sid
// (domain.Recording.SID) is sid: 'r' + the 16 bytes of the sid.
func recordingKey(sid uuid.UUID) []byte {
	k := make([]byte, 0, 1+len(sid))
	k = append(k, prefixRecord)
	return append(k, sid[:]...)
}

// listAccountPrefix is the start of every list key of account.
func listAccountPrefix(account string) []byte {
	k := make([]byte, 0, 3+len(account)+timeKeyBytes+16)
	k = append(k, prefixList)
	return appendString(k, account)
}

// listKey is the list index key: 'l' + account + start time (appendTime) +
// the 16 bytes of the call id.
func listKey(account string, start time.Time, id uuid.UUID) []byte {
	k := listAccountPrefix(account)
	k = appendTime(k, start)
	return append(k, id[:]...)
}

// billingKey is the billing key: 'b' + day (appendDay) + account + provider +
// currency, each an appendString. Days come first so that a date range is
// one contiguous scan.
func billingKey(b bucket) []byte {
	k := make([]byte, 0, 1+dayKeyBytes+6+len(b.account)+len(b.provider)+len(b.currency))
	k = append(k, prefixBilling)
	k = appendDay(k, b.day)
	k = appendString(k, b.account)
	k = appendString(k, b.provider)
	return appendString(k, b.currency)
}

// parseBillingKey reads a key written by billingKey.
func parseBillingKey(k []byte) (bucket, error) {
	if len(k) == 0 || k[0] != prefixBilling {
		return bucket{}, fmt.Errorf("%w: not a billing key", errBadKey)
	}
	var b bucket
	var err error
	rest := k[1:]
	if b.day, rest, err = readDay(rest); err != nil {
		return bucket{}, err
	}
	if b.account, rest, err = readString(rest); err != nil {
		return bucket{}, err
	}
	if b.provider, rest, err = readString(rest); err != nil {
		return bucket{}, err
	}
	if b.currency, rest, err = readString(rest); err != nil {
		return bucket{}, err
	}
	if len(rest) != 0 {
		return bucket{}, fmt.Errorf("%w: %d trailing bytes in billing key", errBadKey, len(rest))
	}
	return b, nil
}

// failureKey is the key of the failure recorded for the event at pos:
// "m/failure/" + commit + prepare, big-endian.
func failureKey(pos eventstore.Position) []byte {
	k := append([]byte(nil), keyFailurePref...)
	k = binary.BigEndian.AppendUint64(k, pos.Commit)
	return binary.BigEndian.AppendUint64(k, pos.Prepare)
}

// prefixEnd returns the smallest key after every key that starts with
// prefix, the exclusive upper bound of a prefix scan.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // prefix is all 0xFF: no upper bound
}
