package eventstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ExportFormatVersion is the version of the export format that Export
// writes; Import and CheckExport read it and every version before it. It is
// a stored format: archives written with any version must import forever; a
// new field may be added, no field may ever change meaning.
//
// Version 2, written since the end marker came in, is JSON Lines in three
// parts:
//
//	{"format":"callledger-export","version":2}       the header, first line
//	{"stream":"call-...","revision":0,...}           one line per event, in $all order
//	{"end":"callledger-export","events":n,...}       the end marker, last line
//
// The end marker says what the event lines before it add up to, so that a
// reader proves it read the whole file:
//
//	end             string   "callledger-export", what marks the line
//	events          number   how many event lines the file holds
//	streams         number   how many distinct streams they belong to
//	last_position   object   {"commit": n, "prepare": n}, the position of the
//	                         last event; {"commit": 0, "prepare": 0} when
//	                         there are none
//	all_hash        string   the $all-chain hash (AllChainHash) of the last
//	                         event, hex, recomputed over the file's events:
//	                         it covers every event of the file in order, and
//	                         equals the last event line's all_hash when the
//	                         source stores the $all chain; 64 zeros when there
//	                         are no events
//
// Readers tell the header and the end marker from events by their missing
// stream field, and skip blank lines anywhere. Import refuses a version-2
// file that ends without its end marker (it was cut short: a partial copy, a
// full disk) or whose end marker disagrees with the events read
// (ErrExportIncomplete), and one with any line after the end marker
// (ErrBadExport). The end marker guards against loss, not forgery: whoever
// can rewrite the file can write a matching marker, so keep the head hash
// that export and verify print somewhere else too.
//
// Version 1, written before, is the event lines alone: no header and no end
// marker. A version-1 file cut at a line boundary reads as a shorter log that
// verifies; Import still reads it (an event as the first line tells it) and
// reports ExportStats.Version 1 so that callers warn that its completeness
// is not proven. A file with no header and no event (empty, or blank lines
// only) is refused (ErrExportIncomplete): every export since version 2
// starts with a header, even of an empty log, so such a file is most likely
// a copy cut short, and restoring it as an empty ledger would lose the log.
// A version 1 reader refuses a version 2 file: its header names no stream.
//
// Each event line, the same in both versions, is a JSON object with these
// fields:
//
//	stream          string   the stream id
//	revision        number   the event's 0-based revision in its stream
//	position        object   {"commit": n, "prepare": n}, its place in $all
//	id              string   the event id (UUID)
//	type            string   the event type name
//	data            JSON     the event data, byte for byte as stored, when it is
//	                         compact valid UTF-8 JSON (what the ledger writes)
//	data_base64     string   otherwise: the data bytes in standard base64
//	metadata        JSON     the metadata, under the same rule as data
//	metadata_base64 string   otherwise: the metadata bytes in base64
//	recorded_at     string   when the source store committed it, RFC 3339 with
//	                         nanoseconds, UTC
//	hash            string   the stream-chain hash (ChainHash), hex
//	all_hash        string   the $all-chain hash (AllChainHash), hex; omitted
//	                         when the source stores no $all chain
//
// Exactly one of data and data_base64 is present, unless the data is empty
// (neither); the same for metadata (neither when there is none). The bytes
// written under data are the stored bytes themselves: the encoder neither
// escapes HTML nor re-indents, and only compact JSON is written raw, so that
// every hash recomputes from the file alone.
//
// A future version must keep the header's shape, naming itself in version;
// readers refuse a version newer than theirs.
const ExportFormatVersion = 2

// ExportLine is one event line of the export format: one event with where
// the log put it and its hashes. The events endpoint of the API renders
// events with it too, so that an auditor sees the same shape and bytes online
// and in an archive; the header and end marker frame a file and are not
// ExportLines.
type ExportLine struct {
	Stream         string          `json:"stream"`
	Revision       uint64          `json:"revision"`
	Position       ExportPosition  `json:"position"`
	ID             uuid.UUID       `json:"id"`
	Type           string          `json:"type"`
	Data           json.RawMessage `json:"data,omitempty"`
	DataBase64     []byte          `json:"data_base64,omitempty"`
	Metadata       json.RawMessage `json:"metadata,omitempty"`
	MetadataBase64 []byte          `json:"metadata_base64,omitempty"`
	RecordedAt     time.Time       `json:"recorded_at"`
	Hash           Hash            `json:"hash"`
	AllHash        *Hash           `json:"all_hash,omitempty"`
}

// ExportPosition is a Position as an export line writes it.
type ExportPosition struct {
	Commit  uint64 `json:"commit"`
	Prepare uint64 `json:"prepare"`
}

// ExportLineBytesMax bounds one line of an export: the largest event (data
// and metadata up to BatchBytesMax, in base64 at worst) plus its other
// fields. Import and CheckExport refuse longer lines (ErrBadExport) rather
// than buffer without limit.
const ExportLineBytesMax = 2*BatchBytesMax + 64<<10

// ExportStats says what Export or Import moved.
type ExportStats struct {
	// Version is the export format version written (Export) or read
	// (Import, CheckExport). A version-1 file has no end marker, so its
	// reader cannot tell it whole from cut short: callers warn about it. It
	// is 0 only beside an error that came before any line told the version:
	// a file with neither header nor event is refused, not read as version 0.
	Version int
	// Events and Streams count the events and distinct streams.
	Events  uint64
	Streams uint64
	// Last is the position of the last event in the source (Export, Import's
	// file) ; Start when there were none.
	Last Position
	// LastAllHash is the $all hash at Last, recomputed over the events moved.
	LastAllHash Hash
}

// rawJSON reports whether b can be written into a line as raw JSON and read
// back byte for byte: valid, compact, UTF-8 JSON.
func rawJSON(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) || !json.Valid(b) {
		return false
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return false
	}
	return bytes.Equal(compact.Bytes(), b)
}

// NewExportLine renders a record as its export line: data and metadata as
// raw JSON when the stored bytes are compact valid JSON (so they read back
// byte for byte), otherwise in base64.
func NewExportLine(r *Record) ExportLine {
	l := ExportLine{
		Stream:     r.StreamID,
		Revision:   r.Revision,
		Position:   ExportPosition{Commit: r.Position.Commit, Prepare: r.Position.Prepare},
		ID:         r.ID,
		Type:       r.Type,
		RecordedAt: r.RecordedAt.UTC(),
		Hash:       r.Hash,
	}
	if rawJSON(r.Data) {
		l.Data = r.Data
	} else if len(r.Data) > 0 {
		l.DataBase64 = r.Data
	}
	if rawJSON(r.Metadata) {
		l.Metadata = r.Metadata
	} else if len(r.Metadata) > 0 {
		l.MetadataBase64 = r.Metadata
	}
	if !r.AllHash.IsZero() {
		h := r.AllHash
		l.AllHash = &h
	}
	return l
}

// toRecord turns an export line back into the record it describes. A
// field every event has, missing from the line, is named as missing,
// rather than read as its zero value and reported as a hash or chain that
// does not hold: a stored id, type, time or hash is never zero (a store
// refuses a nil id and an empty type, and a SHA-256 of zeros is not found).
func (l *ExportLine) toRecord() (Record, error) {
	r := Record{
		StreamID:   l.Stream,
		Revision:   l.Revision,
		Position:   Position{Commit: l.Position.Commit, Prepare: l.Position.Prepare},
		ID:         l.ID,
		Type:       l.Type,
		RecordedAt: l.RecordedAt,
		Hash:       l.Hash,
	}
	switch {
	case l.ID == uuid.Nil:
		return r, errors.New(`no event id: "id" is missing or the nil UUID`)
	case l.Type == "":
		return r, errors.New(`no event type: "type" is missing or empty`)
	case l.RecordedAt.IsZero():
		return r, errors.New(`no recording time: "recorded_at" is missing or zero`)
	case l.Hash.IsZero():
		return r, errors.New(`no hash: "hash" is missing or all zeros`)
	}
	if len(l.Data) > 0 && len(l.DataBase64) > 0 {
		return r, errors.New("both data and data_base64")
	}
	if len(l.Metadata) > 0 && len(l.MetadataBase64) > 0 {
		return r, errors.New("both metadata and metadata_base64")
	}
	r.Data = []byte(l.Data)
	if len(l.DataBase64) > 0 {
		r.Data = l.DataBase64
	}
	if len(l.Metadata) > 0 {
		r.Metadata = []byte(l.Metadata)
	}
	if len(l.MetadataBase64) > 0 {
		r.Metadata = l.MetadataBase64
	}
	if l.AllHash != nil {
		r.AllHash = *l.AllHash
	}
	return r, nil
}

// Export writes every event of store's $all to w in the export format
// (version ExportFormatVersion): its header, the events in position order,
// read in batches of ReadBatchEvents, and the end marker that lets Import
// prove the file whole. It checks the chains as it reads (as Verify does)
// and fails on the first broken link rather than archive a log that would
// not import. w is buffered by Export and flushed before it returns; a
// cancelled ctx stops it with ctx.Err() (wrapped) and w may then hold a
// partial export, with no end marker, which Import refuses
// (ErrExportIncomplete): callers still write to a temporary file and rename
// it on success, so that no partial file stands where an archive should.
func Export(ctx context.Context, store Store, w io.Writer, progress Progress) (ExportStats, error) {
	head, err := readLogHead(ctx, store, "export")
	if err != nil {
		return ExportStats{}, err
	}
	total := head.position.Commit // 0 when the backend cannot say
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	c := newChainChecker()
	stats := func() ExportStats { return exportStats(c, ExportFormatVersion) }
	if err := enc.Encode(exportHeader()); err != nil {
		return stats(), fmt.Errorf("export: write the header: %w", err)
	}
	// One page serves the whole walk: each record is written out before the
	// next read, and c keeps of it only its hashes, position and stream id
	// (a string, which outlives the page).
	var page Page
	for batches := uint64(0); batches < batchesMax; batches++ {
		if err := ctx.Err(); err != nil {
			return stats(), fmt.Errorf("export: %w", err)
		}
		records, err := readBatch(ctx, store, c.last, ReadBatchEvents, &page)
		if err != nil {
			return stats(), fmt.Errorf("export: read $all after %s: %w", c.last, err)
		}
		for i := range records {
			r := &records[i]
			if reason := c.check(r); reason != "" {
				return stats(), fmt.Errorf("export: position %s, stream %s, revision %d: %s: %w", r.Position, r.StreamID, r.Revision, reason, ErrChainBroken)
			}
			if err := enc.Encode(NewExportLine(r)); err != nil {
				return stats(), fmt.Errorf("export: write position %s: %w", r.Position, err)
			}
		}
		progress.report(c.events, total)
		if len(records) < ReadBatchEvents {
			if err := enc.Encode(exportEnd(stats())); err != nil {
				return stats(), fmt.Errorf("export: write the end marker: %w", err)
			}
			if err := bw.Flush(); err != nil {
				return stats(), fmt.Errorf("export: flush: %w", err)
			}
			return stats(), nil
		}
	}
	return stats(), fmt.Errorf("export: more than %d batches of $all: %w", batchesMax, errTooLong)
}

// ErrChainBroken is returned (wrapped, naming the event) by Export when the
// log it reads does not verify, and by Import when the file it reads does
// not: a hash that does not recompute, a revision out of sequence, a
// position that does not rise.
var ErrChainBroken = errors.New("eventstore: hash chain broken")

// ErrNotKept is returned by CheckExportKept when the file's log, sound on
// its own, does not hold the KeptHead it was checked against.
var ErrNotKept = errors.New("eventstore: the log does not hold the kept head")

// ErrNotEmpty is returned by Import when the target store already holds
// events: an import recreates a log whole, it never merges into one.
var ErrNotEmpty = errors.New("eventstore: store is not empty")

// ErrBadExport is returned (wrapped, naming the line) by Import and
// CheckExport for a line that is not in the export format, or that is longer
// than ExportLineBytesMax (the error then wraps bufio.ErrTooLong too).
var ErrBadExport = errors.New("eventstore: malformed export line")

// Import reads an export (see ExportFormatVersion; every version) from r
// and appends every event to store, which must be empty (ErrNotEmpty
// otherwise). It verifies the file as it goes, before appending each batch:
// every hash is recomputed and compared, every revision must follow the last
// of its stream, positions must rise (ErrChainBroken, naming the line). In a
// version-2 file the end marker must be there and agree with the events
// read, and nothing may follow it (ErrExportIncomplete, ErrBadExport); the
// last batch is appended only once that has been checked. Events keep their
// ids and order; each stream's consecutive events are appended together,
// with the Exact (or NoStream) expectation of where the stream must be, so
// the imported store has the same stream hashes, and the same $all hashes
// too when the source's positions were 1..N, as the embedded store's are.
// The stats' Version is the file's: with version 1 (no end marker) a file
// cut short imports as a shorter log, and the caller should warn.
//
// Import appends as it reads, so an import stopped half way (ctx cancelled,
// a broken line, a truncated file whose missing end marker shows only at the
// end) leaves the batches appended so far in store and returns an error:
// callers import into a fresh temporary store and keep it only when Import
// returns nil, or, when they must import into the store itself (a shared
// KurrentDB), check a file they can read twice with CheckExport first.
func Import(ctx context.Context, store Store, r io.Reader, progress Progress) (ExportStats, error) {
	existing, err := store.ReadAll(ctx, Start, 1)
	if err != nil {
		return ExportStats{}, fmt.Errorf("import: check the store is empty: %w", err)
	}
	if len(existing) > 0 {
		return ExportStats{}, fmt.Errorf("import: %w: it holds position %s", ErrNotEmpty, existing[0].Position)
	}

	x := newExportReader(r)
	var batch pendingAppend
	flush := func() error {
		if len(batch.events) == 0 {
			return nil
		}
		res, err := store.Append(ctx, batch.stream, batch.expected, batch.events)
		if err != nil {
			return fmt.Errorf("import: append %d events to %s: %w", len(batch.events), batch.stream, err)
		}
		if res.Revision != batch.lastRevision {
			return fmt.Errorf("import: append to %s ended at revision %d, the file says %d: %w", batch.stream, res.Revision, batch.lastRevision, ErrChainBroken)
		}
		batch = pendingAppend{}
		progress.report(x.c.events, 0)
		return nil
	}
	for {
		rec, err := x.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return x.stats(), fmt.Errorf("import: %w", err)
		}
		ev := EventData{ID: rec.ID, Type: rec.Type, Data: rec.Data, Metadata: rec.Metadata}
		if !batch.accepts(rec.StreamID, &ev) {
			if err := flush(); err != nil {
				return x.stats(), err
			}
		}
		batch.add(&rec, ev)
	}
	if err := flush(); err != nil {
		return x.stats(), err
	}
	return x.stats(), nil
}

// pendingAppend gathers consecutive events of one stream into one append.
type pendingAppend struct {
	stream       string
	expected     ExpectedRevision
	lastRevision uint64
	bytes        int
	events       []EventData
}

// accepts reports whether ev of stream can join the batch without breaking
// the order of $all or the shared append limits.
func (p *pendingAppend) accepts(stream string, ev *EventData) bool {
	if len(p.events) == 0 {
		return true
	}
	return p.stream == stream &&
		len(p.events) < BatchEventsMax &&
		p.bytes+len(ev.Data)+len(ev.Metadata) <= BatchBytesMax
}

// add appends ev (the event of rec) to the batch, which accepts it.
func (p *pendingAppend) add(rec *Record, ev EventData) {
	if len(p.events) == 0 {
		p.stream = rec.StreamID
		p.expected = NoStream()
		if rec.Revision > 0 {
			p.expected = Exact(rec.Revision - 1)
		}
	}
	p.lastRevision = rec.Revision
	p.bytes += len(ev.Data) + len(ev.Metadata)
	p.events = append(p.events, ev)
}
