package eventstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// exportFormatName names the format in the header (its format field) and in
// the end marker (its end field) of an export from version 2 on, so that a
// reader of either end of a file can tell what it holds.
const exportFormatName = "callledger-export"

// ErrExportIncomplete is returned (wrapped, naming the line) by Import and
// CheckExport for a version-2 export that is not the whole export it claims
// to be: it has no end marker (the file was cut short: a partial copy, a
// full disk), or its end marker disagrees with the events read before it
// (events missing, or the marker altered). It is also returned, naming no
// line, for a file with no export in it at all, empty or blank lines only:
// every export since version 2, an empty log's too, has a header and an end
// marker, so such a file is most likely a copy cut to nothing, and
// importing it as an empty ledger would hide the loss. (A version-1 export
// of the empty log was an empty file; refusing it loses nothing, there is
// nothing in it to import.) Version 1 has no end marker: a version-1 file
// cut short after its first event cannot be told from a shorter log.
var ErrExportIncomplete = errors.New("eventstore: export incomplete")

// exportMark is a line of an export that is no event (it has no stream): the
// header, which names the format and its version, or the end marker, which
// says what the events before it add up to (see ExportFormatVersion). One
// type serves both, with pointers, so that a reader can tell a field that is
// missing from one that is zero and refuse a marker that proves nothing.
type exportMark struct {
	Format       string          `json:"format,omitempty"`
	Version      *int            `json:"version,omitempty"`
	End          string          `json:"end,omitempty"`
	Events       *uint64         `json:"events,omitempty"`
	Streams      *uint64         `json:"streams,omitempty"`
	LastPosition *ExportPosition `json:"last_position,omitempty"`
	AllHash      *Hash           `json:"all_hash,omitempty"`
}

// exportHeader is the first line Export writes.
func exportHeader() exportMark {
	version := ExportFormatVersion
	return exportMark{Format: exportFormatName, Version: &version}
}

// exportEnd is the end marker of an export whose events add up to s.
func exportEnd(s ExportStats) exportMark {
	return exportMark{
		End:          exportFormatName,
		Events:       &s.Events,
		Streams:      &s.Streams,
		LastPosition: &ExportPosition{Commit: s.Last.Commit, Prepare: s.Last.Prepare},
		AllHash:      &s.LastAllHash,
	}
}

// exportStats is what the events c checked add up to, in an export of the
// given format version.
func exportStats(c *chainChecker, version int) ExportStats {
	return ExportStats{Version: version, Events: c.events, Streams: uint64(len(c.streams)), Last: c.last, LastAllHash: c.allHash}
}

// exportReader reads an export of any version line by line: it checks every
// event against the chains and, from version 2 on, that the file starts with
// its header and ends with an end marker that agrees with the events read.
// It is the one reader of the format, under Import and CheckExport, so that
// both accept and refuse the same files.
type exportReader struct {
	sc *bufio.Scanner
	c  *chainChecker
	// line counts the lines read so far; endLine is the end marker's line
	// (0 until it is read).
	line, endLine uint64
	// version is the file's format version: 0 until its first line tells
	// (a header names it; an event first is version 1).
	version int
}

func newExportReader(r io.Reader) *exportReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), ExportLineBytesMax)
	return &exportReader{sc: sc, c: newChainChecker()}
}

// stats is what the events read so far add up to.
func (x *exportReader) stats() ExportStats { return exportStats(x.c, x.version) }

// next returns the next event of the file, checked against the chains, or
// io.EOF once the file has ended as its version requires: in version 2,
// with an end marker that agrees with every event before it and nothing but
// blank lines after it. Blank lines are skipped anywhere; a file of nothing
// else (or nothing at all) is refused (ErrExportIncomplete). A line longer
// than ExportLineBytesMax is refused as ErrBadExport. Errors name the line,
// but for a file with no export in it, where no line is to blame.
func (x *exportReader) next(ctx context.Context) (Record, error) {
	for x.sc.Scan() {
		x.line++
		if err := ctx.Err(); err != nil {
			return Record{}, fmt.Errorf("line %d: %w", x.line, err)
		}
		raw := x.sc.Bytes()
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		if x.endLine != 0 {
			return Record{}, fmt.Errorf("line %d: %w: a line after the end marker of line %d", x.line, ErrBadExport, x.endLine)
		}
		var l ExportLine
		if err := json.Unmarshal(raw, &l); err != nil {
			return Record{}, fmt.Errorf("line %d: %w: %v", x.line, ErrBadExport, err)
		}
		if l.Stream == "" {
			if err := x.mark(raw); err != nil {
				return Record{}, err
			}
			continue
		}
		if x.version == 0 {
			x.version = 1 // an event first: version 1 has no header
		}
		rec, err := l.toRecord()
		if err != nil {
			return Record{}, fmt.Errorf("line %d: %w: %v", x.line, ErrBadExport, err)
		}
		before := x.c.last
		if reason := x.c.check(&rec); reason != "" {
			return Record{}, fmt.Errorf("line %d (position %s, stream %s, revision %d): %s: %w", x.line, rec.Position, rec.StreamID, rec.Revision, reason, ErrChainBroken)
		}
		if p := x.c.passKept(before); p != nil {
			return Record{}, fmt.Errorf("line %d: %s: %w", x.line, p.Reason, ErrNotKept)
		}
		return rec, nil
	}
	if err := x.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			// The file is wrong, not unreadable: callers tell the two apart
			// by ErrBadExport. bufio.ErrTooLong stays in the chain.
			return Record{}, fmt.Errorf("line %d: %w: longer than %d bytes (ExportLineBytesMax): %w", x.line+1, ErrBadExport, ExportLineBytesMax, err)
		}
		return Record{}, fmt.Errorf("read line %d: %w", x.line+1, err)
	}
	switch {
	case x.version == 0:
		// No header and no event: nothing says this was ever an export.
		what := "the file is empty"
		if x.line > 0 {
			what = fmt.Sprintf("the file holds only blank lines (%d)", x.line)
		}
		return Record{}, fmt.Errorf("%w: %s: it holds no export, no header and no event, "+
			"where every export, even of an empty log, has a header and an end marker: it was most likely cut short", ErrExportIncomplete, what)
	case x.version >= 2 && x.endLine == 0:
		return Record{}, fmt.Errorf("%w: the file ends at line %d with no end marker: it was cut short (%d events read)", ErrExportIncomplete, x.line, x.c.events)
	}
	if p := x.c.keptMissing(); p != nil {
		return Record{}, fmt.Errorf("%s: %w", p.Reason, ErrNotKept)
	}
	return Record{}, io.EOF
}

// mark reads raw, a line with no stream, as the header or the end marker.
func (x *exportReader) mark(raw []byte) error {
	var m exportMark
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("line %d: %w: %v", x.line, ErrBadExport, err)
	}
	switch {
	case m.Format != "":
		return x.header(&m)
	case m.End != "":
		return x.end(&m)
	}
	return fmt.Errorf("line %d: %w: no stream, and neither a header nor an end marker", x.line, ErrBadExport)
}

// header takes m, a header, for the file's version.
func (x *exportReader) header(m *exportMark) error {
	switch {
	case x.version != 0:
		return fmt.Errorf("line %d: %w: a header after the first line", x.line, ErrBadExport)
	case m.Format != exportFormatName:
		return fmt.Errorf("line %d: %w: format %q, not %q", x.line, ErrBadExport, m.Format, exportFormatName)
	case m.Version == nil:
		return fmt.Errorf("line %d: %w: the header names no version", x.line, ErrBadExport)
	case *m.Version > ExportFormatVersion:
		return fmt.Errorf("line %d: %w: export format version %d is newer than this callledger reads (%d at most)", x.line, ErrBadExport, *m.Version, ExportFormatVersion)
	case *m.Version < 2:
		return fmt.Errorf("line %d: %w: a header naming version %d (version 1 has no header)", x.line, ErrBadExport, *m.Version)
	}
	x.version = *m.Version
	return nil
}

// end checks m, an end marker, against the events read before it.
func (x *exportReader) end(m *exportMark) error {
	switch {
	case x.version < 2:
		return fmt.Errorf("line %d: %w: an end marker in an export with no header", x.line, ErrBadExport)
	case m.End != exportFormatName:
		return fmt.Errorf("line %d: %w: end %q, not %q", x.line, ErrBadExport, m.End, exportFormatName)
	case m.Events == nil || m.Streams == nil || m.LastPosition == nil || m.AllHash == nil:
		return fmt.Errorf("line %d: %w: the end marker lacks events, streams, last_position or all_hash", x.line, ErrBadExport)
	}
	got := x.stats()
	last := Position{Commit: m.LastPosition.Commit, Prepare: m.LastPosition.Prepare}
	var disagreement string
	switch {
	case *m.Events != got.Events:
		disagreement = fmt.Sprintf("it counts %d events, the file holds %d", *m.Events, got.Events)
	case *m.Streams != got.Streams:
		disagreement = fmt.Sprintf("it counts %d streams, the file's events are in %d", *m.Streams, got.Streams)
	case last != got.Last:
		disagreement = fmt.Sprintf("it names last position %s, the file's last event is at %s", last, got.Last)
	case *m.AllHash != got.LastAllHash:
		disagreement = fmt.Sprintf("its $all head hash is %s, the file's events chain to %s", *m.AllHash, got.LastAllHash)
	}
	if disagreement != "" {
		return fmt.Errorf("line %d: %w: the end marker disagrees with the events before it: %s", x.line, ErrExportIncomplete, disagreement)
	}
	x.endLine = x.line
	return nil
}

// CheckExport reads an export (see ExportFormatVersion) from r and checks it
// as Import would, without a store: every hash, revision and position, and
// in version 2 the header and the end marker. It lets a caller that imports
// into a store Import appends to as it goes (a shared KurrentDB) refuse a
// truncated or broken file before anything is appended, when the file can
// be read twice. It returns what the file holds (its Version says whether
// its completeness was proven: version 1 has no end marker) or the first
// error, naming the line: ErrBadExport, ErrChainBroken, ErrExportIncomplete
// (naming none for a file with no export in it, empty or blank lines only,
// where no line is to blame), r's read error, or ctx's error. progress is
// told the events checked so far, with a total of 0.
func CheckExport(ctx context.Context, r io.Reader, progress Progress) (ExportStats, error) {
	return CheckExportEvents(ctx, r, progress, nil)
}

// CheckExportEvents is CheckExport that also hands each event, once the
// chains vouch for it, to each (when not nil), in the file's order: for a
// caller that checks what the chains cannot, such as that the events decode
// (verify --in), in the same single pass. each sees every event before the
// first problem, and none after it.
func CheckExportEvents(ctx context.Context, r io.Reader, progress Progress, each func(*Record)) (ExportStats, error) {
	return CheckExportKept(ctx, r, progress, each, nil)
}

// CheckExportKept is CheckExportEvents that also checks that the file's
// log holds kept, when it is not nil (see KeptHead and VerifyKept): an
// error wrapping ErrNotKept names the line where the log leaves the kept
// head, or says the file ends before it.
func CheckExportKept(ctx context.Context, r io.Reader, progress Progress, each func(*Record), kept *KeptHead) (ExportStats, error) {
	x := newExportReader(r)
	if kept != nil && !(kept.Position.IsStart() && kept.AllHash.IsZero()) {
		x.c.kept = kept // an empty log's head is every log's
	}
	for {
		rec, err := x.next(ctx)
		if errors.Is(err, io.EOF) {
			progress.report(x.c.events, 0)
			return x.stats(), nil
		}
		if err != nil {
			return x.stats(), fmt.Errorf("check export: %w", err)
		}
		if each != nil {
			each(&rec)
		}
		if x.c.events%ReadBatchEvents == 0 {
			progress.report(x.c.events, 0)
		}
	}
}
