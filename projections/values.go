package projections

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// valueVersion is the first byte of every read-model value: the version of
// its layout, so that a later layout can be told apart.
const valueVersion = 1

// errBadValue reports a value that does not follow its layout: a corrupt
// database or a bug.
var errBadValue = errors.New("malformed read-model value")

// storedCall is the JSON of a layout-1 call view after its version byte,
// still read (see callViewVersion). Version is the State's Version: the
// call's last stream revision + 1.
type storedCall struct {
	Version uint64      `json:"version"`
	Call    domain.Call `json:"call"`
}

// callEncoder encodes call view values into one reused buffer, so that a
// commit of thousands of calls does not allocate a buffer per call. Values
// are only valid until the next encode.
type callEncoder struct {
	buf []byte
}

// encode returns the call view value of s, written by appendCallView.
func (e *callEncoder) encode(s *domain.State) ([]byte, error) {
	b, err := appendCallView(e.buf[:0], s)
	if err != nil {
		return nil, err
	}
	if cap(b) <= 1<<20 {
		e.buf = b // keep the buffer unless one huge call grew it
	}
	return b, nil
}

// decodeCall decodes a call view value of any layout: layout 1 (JSON after
// valueVersion) here, any other version byte in decodeCallView, the one
// place that knows which binary layouts there are and refuses the rest, so
// that a new layout is added there alone.
func decodeCall(v []byte) (domain.State, error) {
	if len(v) == 0 || v[0] != valueVersion {
		return decodeCallView(v)
	}
	var sc storedCall
	if err := json.Unmarshal(v[1:], &sc); err != nil {
		return domain.State{}, fmt.Errorf("%w: call view: %w", errBadValue, err)
	}
	return domain.State{Call: sc.Call, Version: sc.Version}, nil
}

// listEntry is what the list index keeps beside its key, so that a list can
// be filtered without loading calls.
type listEntry struct {
	Status  domain.Status
	From    string
	To      string
	Deleted bool
	// Ended says whether the call has an end (domain.Call.EndedAt), which
	// EndedAt then holds, and Parent is the call that created it
	// (domain.Call.ParentCallID; uuid.Nil for none): what ListQuery's end
	// and parent filters read, so that they need no call view.
	Ended   bool
	EndedAt time.Time
	Parent  uuid.UUID
	// HasEnd says whether the entry holds Ended, EndedAt and Parent: false
	// for an entry of layout 1, written by a build before them, whose call
	// view List reads for those filters instead.
	HasEnd bool
}

// The layouts of a list entry, its first byte. Layout 1 (0x01, deleted,
// status, from, to) is still read, and stays on disk until its call
// changes or the read models are rebuilt; every entry written is of
// layout 2, which adds the end and the parent (see encodeListEntry).
const (
	listEntryLayoutNoEnd = 1
	listEntryLayout      = 2
)

// List entry flags: the byte after the addresses in layout 2.
const (
	listEntryEnded  = 1 << 0 // the end time follows (12 bytes, appendTime)
	listEntryParent = 1 << 1 // the parent's call id follows (16 bytes)
)

// encodeListEntry encodes e in layout 2: layout byte, deleted byte (0 or
// 1), then status, from and to, each a uvarint length and the bytes, then
// a flags byte, then the end time (appendTime) when the call ended and the
// parent's 16 bytes when it has one.
func encodeListEntry(e listEntry) []byte {
	out := make([]byte, 0, 6+len(e.Status)+len(e.From)+len(e.To)+timeKeyBytes+16)
	out = append(out, listEntryLayout)
	if e.Deleted {
		out = append(out, 1)
	} else {
		out = append(out, 0)
	}
	for _, s := range []string{string(e.Status), e.From, e.To} {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	var flags byte
	if e.Ended {
		flags |= listEntryEnded
	}
	if e.Parent != uuid.Nil {
		flags |= listEntryParent
	}
	out = append(out, flags)
	if e.Ended {
		out = appendTime(out, e.EndedAt)
	}
	if e.Parent != uuid.Nil {
		out = append(out, e.Parent[:]...)
	}
	return out
}

// decodeListEntry decodes a value written by encodeListEntry, or by the
// builds before layout 2 (HasEnd false).
func decodeListEntry(v []byte) (listEntry, error) {
	if len(v) < 2 || (v[0] != listEntryLayout && v[0] != listEntryLayoutNoEnd) || v[1] > 1 {
		return listEntry{}, fmt.Errorf("%w: list entry header", errBadValue)
	}
	e := listEntry{Deleted: v[1] == 1, HasEnd: v[0] == listEntryLayout}
	rest := v[2:]
	var fields [3]string
	for i := range fields {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return listEntry{}, fmt.Errorf("%w: list entry field %d", errBadValue, i)
		}
		fields[i] = string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	e.Status, e.From, e.To = domain.Status(fields[0]), fields[1], fields[2]
	if e.HasEnd {
		var err error
		if rest, err = e.decodeEnd(rest); err != nil {
			return listEntry{}, err
		}
	}
	if len(rest) != 0 {
		return listEntry{}, fmt.Errorf("%w: list entry has %d trailing bytes", errBadValue, len(rest))
	}
	return e, nil
}

// decodeEnd reads layout 2's flags, end and parent from the front of b
// into e, and returns the rest of b.
func (e *listEntry) decodeEnd(b []byte) ([]byte, error) {
	if len(b) == 0 || b[0]&^(listEntryEnded|listEntryParent) != 0 {
		return nil, fmt.Errorf("%w: list entry flags", errBadValue)
	}
	flags, rest := b[0], b[1:]
	if flags&listEntryEnded != 0 {
		t, r, err := readTime(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: list entry end: %w", errBadValue, err)
		}
		e.Ended, e.EndedAt, rest = true, t, r
	}
	if flags&listEntryParent != 0 {
		if len(rest) < 16 {
			return nil, fmt.Errorf("%w: list entry parent", errBadValue)
		}
		e.Parent, rest = uuid.UUID(rest[:16]), rest[16:]
	}
	return rest, nil
}

// bucket names one billing total: an account's priced calls with one
// provider in one currency that started on one UTC day.
type bucket struct {
	day      int32 // days since 1970-01-01, UTC
	account  string
	provider string // normalized (domain.NormalizeProvider)
	currency string
}

// totals is a billing value, and also a call's contribution to one: adding
// and subtracting contributions keeps it exact.
type totals struct {
	// total is the sum of the prices of the bucket's calls that are not deleted.
	total decimal.Decimal
	// calls counts the bucket's priced calls that are not deleted.
	calls int64
	// durationSeconds sums the billed durations of those calls (0 when unknown).
	durationSeconds int64
	// deletedCalls counts the bucket's priced calls that were soft-deleted;
	// their prices and durations are not in total and durationSeconds.
	deletedCalls int64
}

func (t totals) add(u totals) totals {
	return totals{
		total:           t.total.Add(u.total),
		calls:           t.calls + u.calls,
		durationSeconds: t.durationSeconds + u.durationSeconds,
		deletedCalls:    t.deletedCalls + u.deletedCalls,
	}
}

func (t totals) sub(u totals) totals {
	return totals{
		total:           t.total.Sub(u.total),
		calls:           t.calls - u.calls,
		durationSeconds: t.durationSeconds - u.durationSeconds,
		deletedCalls:    t.deletedCalls - u.deletedCalls,
	}
}

// empty reports whether t holds no call at all: such a bucket is deleted, so
// that a database kept incrementally and one rebuilt hold the same keys.
func (t totals) empty() bool {
	return t.calls == 0 && t.deletedCalls == 0 && t.durationSeconds == 0 && t.total.IsZero()
}

// normalize returns d without trailing fractional zeros ("1.5000" → "1.5").
// Sums are stored normalized because the scale of a running sum depends on
// the order of the additions and subtractions that built it, and the stored
// bytes must not: Digest compares them across rebuilds.
func normalize(d decimal.Decimal) decimal.Decimal {
	if d.Exponent() >= 0 {
		return d
	}
	// String drops trailing zeros; parsing it back cannot fail.
	n, err := decimal.NewFromString(d.String())
	if err != nil {
		panic(fmt.Sprintf("projections: normalize %s: %v", d.String(), err))
	}
	return n
}

// storedTotals is the JSON of a billing value after its version byte.
type storedTotals struct {
	Total           string `json:"total"`
	Calls           int64  `json:"calls"`
	DurationSeconds int64  `json:"duration_seconds"`
	DeletedCalls    int64  `json:"deleted_calls"`
}

// encodeTotals encodes a billing value; the total is written normalized.
func encodeTotals(t totals) []byte {
	b, err := json.Marshal(storedTotals{
		Total:           normalize(t.total).String(),
		Calls:           t.calls,
		DurationSeconds: t.durationSeconds,
		DeletedCalls:    t.deletedCalls,
	})
	if err != nil {
		panic(fmt.Sprintf("projections: encode totals: %v", err)) // plain struct of strings and ints
	}
	out := make([]byte, 0, len(b)+1)
	out = append(out, valueVersion)
	return append(out, b...)
}

// decodeTotals decodes a billing value.
func decodeTotals(v []byte) (totals, error) {
	if len(v) == 0 || v[0] != valueVersion {
		return totals{}, fmt.Errorf("%w: billing version", errBadValue)
	}
	var st storedTotals
	if err := json.Unmarshal(v[1:], &st); err != nil {
		return totals{}, fmt.Errorf("%w: billing: %w", errBadValue, err)
	}
	d, err := decimal.NewFromString(st.Total)
	if err != nil {
		return totals{}, fmt.Errorf("%w: billing total %q: %w", errBadValue, st.Total, err)
	}
	return totals{total: d, calls: st.Calls, durationSeconds: st.DurationSeconds, deletedCalls: st.DeletedCalls}, nil
}

// Failure is an event the runner could not decode or fold. The runner
// records it, logs it and goes on; see doc.go for why.
type Failure struct {
	// Position is the event's place in $all.
	Position eventstore.Position `json:"position"`
	// StreamID and Revision locate the event in its stream.
	StreamID string `json:"stream_id"`
	Revision uint64 `json:"revision"`
	// EventID is the id the appender gave the event.
	EventID string `json:"event_id"`
	// Type is the event's type name.
	Type string `json:"type"`
	// Error says what went wrong.
	Error string `json:"error"`
	// Folded reports whether the event was folded into the call view all the
	// same: true for a broken domain invariant (domain.CheckEvolve), which
	// Evolve folds as best it can; false for an event that could not be
	// decoded, or whose fold panicked (a domain bug), which is left out:
	// after such a panic the call is folded again from the store without
	// it.
	Folded bool `json:"folded,omitempty"`
}

// checkpoint is the runner's progress, stored at keyCheckpoint in the same
// Pebble batch as the read-model changes it accounts for.
type checkpoint struct {
	// Position is the last event applied (or skipped, or recorded as failed).
	Position eventstore.Position `json:"position"`
	// Events counts every event passed since the last rebuild: applied,
	// skipped or failed.
	Events uint64 `json:"events"`
	// EventsApplied counts the events folded into the call view since the
	// last rebuild.
	EventsApplied uint64 `json:"events_applied"`
	// EventsSkipped counts events of streams that are not calls, and
	// repeated revisions already folded.
	EventsSkipped uint64 `json:"events_skipped"`
	// Failures counts the events recorded as failures.
	Failures uint64 `json:"failures"`
	// LastFailure is the latest failure; nil if none.
	LastFailure *Failure `json:"last_failure,omitempty"`
	// UpdatedAt is when the batch was written.
	UpdatedAt time.Time `json:"updated_at"`
	// Last names the event at Position, so that CheckLog can tell whether
	// the store still holds it: zero in checkpoints written before it was
	// recorded, and before any event.
	Last eventRef `json:"last,omitzero"`
}

// eventRef names one event of the log by what every backend keeps of it,
// and by its $all hash where the backend keeps one (the embedded store):
// the hash chains every event before it, so that CheckLog tells a log
// rewritten before the checkpoint, its events re-chained (which verifies
// on its own), from the log the read models applied. Zero where the
// backend keeps none (KurrentDB), and in checkpoints of builds before
// session 46.
type eventRef struct {
	Stream   string          `json:"stream"`
	Revision uint64          `json:"revision"`
	ID       uuid.UUID       `json:"id"`
	AllHash  eventstore.Hash `json:"all_hash,omitzero"`
}

func encodeCheckpoint(c checkpoint) []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("projections: encode checkpoint: %v", err)) // plain struct
	}
	return b
}

func decodeCheckpoint(v []byte) (checkpoint, error) {
	var c checkpoint
	if err := json.Unmarshal(v, &c); err != nil {
		return checkpoint{}, fmt.Errorf("%w: checkpoint: %w", errBadValue, err)
	}
	return c, nil
}
