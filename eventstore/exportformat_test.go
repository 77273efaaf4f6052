package eventstore_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
)

// exportHeaderLine is the first line of every version-2 export.
const exportHeaderLine = `{"format":"callledger-export","version":2}`

// exportLog builds a log of streamsN streams and eventsN events in a new
// embedded store and returns its export, split into lines (no newlines),
// and what Export said it wrote.
func exportLog(t *testing.T, streamsN, eventsN int) ([]string, eventstore.ExportStats) {
	t.Helper()
	source := openStore(t, t.TempDir())
	buildLog(t, source, streamsN, eventsN)
	var out bytes.Buffer
	stats, err := eventstore.Export(context.Background(), source, &out, nil)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(out.String(), "\n"), "the export ends with a newline")
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"), stats
}

// editLine returns a copy of lines whose i-th line (a JSON object) change
// has edited; numbers keep their digits.
func editLine(t *testing.T, lines []string, i int, change func(m map[string]any)) []string {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(lines[i]))
	d.UseNumber()
	require.NoError(t, d.Decode(&m))
	change(m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	edited := append([]string(nil), lines...)
	edited[i] = string(b)
	return edited
}

// joinLines makes a file of lines, each ended by a newline.
func joinLines(lines ...[]string) string {
	var b strings.Builder
	for _, part := range lines {
		for _, l := range part {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// importAndCheck runs both readers of the export format over file, Import
// into a new embedded store and CheckExport, which must agree.
func importAndCheck(t *testing.T, file string) (eventstore.ExportStats, eventstore.Store, error) {
	t.Helper()
	ctx := context.Background()
	target := openStore(t, t.TempDir())
	imported, importErr := eventstore.Import(ctx, target, strings.NewReader(file), nil)
	checked, checkErr := eventstore.CheckExport(ctx, strings.NewReader(file), nil)
	if importErr == nil {
		assert.NoError(t, checkErr, "CheckExport refuses what Import accepts")
		assert.Equal(t, imported, checked, "CheckExport reads what Import reads")
	} else {
		assert.Error(t, checkErr, "CheckExport accepts what Import refuses (%v)", importErr)
		assert.Equal(t, strings.TrimPrefix(importErr.Error(), "import: "), strings.TrimPrefix(checkErr.Error(), "check export: "))
	}
	return imported, target, importErr
}

func TestExportFramesTheEvents(t *testing.T) {
	// Goal: a version-2 export is the header, the event lines and an end
	// marker that counts the events and streams and names the last
	// position and the $all head hash; it imports whole, even when the log
	// is empty.
	for _, tc := range []struct {
		name              string
		streams, events   int
		wantEvents, wantS uint64
	}{
		{"empty log", 1, 0, 0, 0},
		{"one event", 1, 1, 1, 1},
		{"several streams", 4, 40, 40, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, exported := exportLog(t, tc.streams, tc.events)
			require.Len(t, lines, tc.events+2)
			assert.Equal(t, eventstore.ExportFormatVersion, exported.Version)
			assert.Equal(t, exportHeaderLine, lines[0])

			var end struct {
				End          string                    `json:"end"`
				Events       uint64                    `json:"events"`
				Streams      uint64                    `json:"streams"`
				LastPosition eventstore.ExportPosition `json:"last_position"`
				AllHash      eventstore.Hash           `json:"all_hash"`
			}
			require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &end))
			assert.Equal(t, "callledger-export", end.End)
			assert.Equal(t, tc.wantEvents, end.Events)
			assert.Equal(t, tc.wantS, end.Streams)
			assert.Equal(t, exported.Last.Commit, end.LastPosition.Commit)
			assert.Equal(t, exported.Last.Prepare, end.LastPosition.Prepare)
			assert.Equal(t, exported.LastAllHash, end.AllHash)
			if tc.events > 0 {
				var last eventstore.ExportLine
				require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-2]), &last))
				require.NotNil(t, last.AllHash)
				assert.Equal(t, *last.AllHash, end.AllHash, "the stored $all hash of the last event")
			}

			imported, target, err := importAndCheck(t, joinLines(lines))
			require.NoError(t, err)
			assert.Equal(t, exported, imported)
			report, err := eventstore.Verify(context.Background(), target, nil)
			require.NoError(t, err)
			require.True(t, report.OK, "problem: %v", report.Problem)
			assert.Equal(t, tc.wantEvents, report.Events)
			assert.Equal(t, exported.LastAllHash, report.HeadAllHash)
		})
	}
}

func TestImportRefusesIncompleteExport(t *testing.T) {
	// Goal: a version-2 export cut short at a line boundary (after the
	// header, in the middle, just before the end marker, before the header:
	// a file empty or of blank lines only, no export at all), one whose end
	// marker disagrees with its events, and one with a line after its end
	// marker are refused by Import and CheckExport alike, naming the line;
	// blank lines and a source without a stored $all chain are no reason to.
	lines, _ := exportLog(t, 3, 30) // header, 30 events, end marker: 32 lines
	require.Len(t, lines, 32)
	end := len(lines) - 1
	editEnd := func(change func(m map[string]any)) string { return joinLines(editLine(t, lines, end, change)) }

	// A source with no stored $all chain (KurrentDB): the end marker's
	// all_hash, recomputed, is all that covers the order of $all.
	// (Edited as text: a JSON round trip would re-encode the data.)
	storedAllHash := regexp.MustCompile(`,"all_hash":"[0-9a-f]{64}"`)
	noAllChain := append([]string(nil), lines...)
	for i := 1; i < end; i++ {
		noAllChain[i] = storedAllHash.ReplaceAllString(noAllChain[i], "")
		require.NotEqual(t, lines[i], noAllChain[i])
	}

	cases := []struct {
		name string
		file string
		err  error // nil: the file imports
		says string
	}{
		{"truncated after the header", joinLines(lines[:1]), eventstore.ErrExportIncomplete, "ends at line 1 with no end marker"},
		{"truncated in the middle", joinLines(lines[:16]), eventstore.ErrExportIncomplete, "ends at line 16 with no end marker"},
		{"truncated just before the end marker", joinLines(lines[:end]), eventstore.ErrExportIncomplete, "ends at line 31 with no end marker"},
		{"truncated without the last newline", strings.TrimSuffix(joinLines(lines[:end]), "\n"), eventstore.ErrExportIncomplete, "no end marker"},
		{"truncated inside a line", joinLines(lines[:16]) + lines[16][:40], eventstore.ErrBadExport, "line 17:"},
		{"empty file of version 2 cut to nothing but the header", exportHeaderLine, eventstore.ErrExportIncomplete, "no end marker"},
		{"cut to nothing: an empty file", "", eventstore.ErrExportIncomplete, "export incomplete: the file is empty: it holds no export"},
		{"cut to nothing: a newline", "\n", eventstore.ErrExportIncomplete, "the file holds only blank lines (1): it holds no export"},
		{"cut to nothing: blank lines", "\n  \n\t\r\n\n", eventstore.ErrExportIncomplete, "the file holds only blank lines (4): it holds no export"},
		{"end marker counts more events", editEnd(func(m map[string]any) { m["events"] = 31 }), eventstore.ErrExportIncomplete, "line 32: eventstore: export incomplete: the end marker disagrees with the events before it: it counts 31 events, the file holds 30"},
		{"end marker counts fewer streams", editEnd(func(m map[string]any) { m["streams"] = 2 }), eventstore.ErrExportIncomplete, "it counts 2 streams"},
		{"end marker names another last position", editEnd(func(m map[string]any) { m["last_position"] = map[string]any{"commit": 29, "prepare": 29} }), eventstore.ErrExportIncomplete, "last position 29"},
		{"end marker has another head hash", editEnd(func(m map[string]any) { m["all_hash"] = strings.Repeat("1", 64) }), eventstore.ErrExportIncomplete, "its $all head hash is 1111"},
		{"end marker without its head hash", editEnd(func(m map[string]any) { delete(m, "all_hash") }), eventstore.ErrBadExport, "line 32: eventstore: malformed export line: the end marker lacks"},
		{"last event dropped, no stored $all chain", joinLines(noAllChain[:end-1], noAllChain[end:]), eventstore.ErrExportIncomplete, "line 31: eventstore: export incomplete: the end marker disagrees with the events before it: it counts 30 events, the file holds 29"},
		{"an event after the end marker", joinLines(lines, lines[5:6]), eventstore.ErrBadExport, "line 33: eventstore: malformed export line: a line after the end marker of line 32"},
		{"a second end marker", joinLines(lines, lines[end:]), eventstore.ErrBadExport, "line 33:"},
		{"an end marker with no header", joinLines(lines[1:]), eventstore.ErrBadExport, "line 31: eventstore: malformed export line: an end marker in an export with no header"},
		{"a header after the first line", joinLines(lines[:3], lines[:1], lines[3:]), eventstore.ErrBadExport, "line 4: eventstore: malformed export line: a header after the first line"},
		{"a newer version", joinLines([]string{`{"format":"callledger-export","version":3}`}, lines[1:]), eventstore.ErrBadExport, "version 3 is newer"},
		{"an event without its hash", joinLines(editLine(t, lines, 7, func(m map[string]any) { delete(m, "hash") })), eventstore.ErrBadExport, `line 8: eventstore: malformed export line: no hash: "hash" is missing or all zeros`},
		{"an event without its id", joinLines(editLine(t, lines, 7, func(m map[string]any) { delete(m, "id") })), eventstore.ErrBadExport, `line 8: eventstore: malformed export line: no event id`},
		{"an event without its type", joinLines(editLine(t, lines, 7, func(m map[string]any) { delete(m, "type") })), eventstore.ErrBadExport, `line 8: eventstore: malformed export line: no event type`},
		{"an event without its recording time", joinLines(editLine(t, lines, 7, func(m map[string]any) { delete(m, "recorded_at") })), eventstore.ErrBadExport, `line 8: eventstore: malformed export line: no recording time`},
		{"a line with no stream that marks nothing", joinLines(lines[:3], []string{`{"revision":4}`}, lines[3:]), eventstore.ErrBadExport, "line 4:"},
		{"whole", joinLines(lines), nil, ""},
		{"blank lines, also after the end marker", joinLines(lines[:4], []string{"", "  "}, lines[4:], []string{""}), nil, ""},
		{"whole, no stored $all chain", joinLines(noAllChain), nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stats, _, err := importAndCheck(t, tc.file)
			if tc.err == nil {
				require.NoError(t, err)
				assert.Equal(t, 2, stats.Version)
				assert.Equal(t, uint64(30), stats.Events)
				return
			}
			require.ErrorIs(t, err, tc.err)
			assert.Contains(t, err.Error(), tc.says)
		})
	}
}

func TestImportRefusesOverlongLine(t *testing.T) {
	// Goal: a line longer than ExportLineBytesMax is refused by Import and
	// CheckExport alike as a malformed line, naming it and the bound, so that
	// callers tell a wrong file from an unreadable one by ErrBadExport alone;
	// bufio.ErrTooLong stays in the chain.
	lines, _ := exportLog(t, 1, 2)
	overlong := `{"stream":"` + strings.Repeat("x", eventstore.ExportLineBytesMax) + `"}`
	file := joinLines(lines[:2], []string{overlong}, lines[2:])
	_, _, err := importAndCheck(t, file)
	require.ErrorIs(t, err, eventstore.ErrBadExport)
	assert.ErrorIs(t, err, bufio.ErrTooLong)
	assert.Contains(t, err.Error(), fmt.Sprintf("line 3: eventstore: malformed export line: longer than %d bytes", eventstore.ExportLineBytesMax))
}

func TestImportVersion1(t *testing.T) {
	// Goal: archives of version 1 (no header, no end marker), such as
	// testdata/export-v1.jsonl, written by the version-1 Export, import
	// forever, and report their version so that callers warn: a version-1
	// file cut short still imports, as a shorter log.
	v1, err := os.ReadFile("testdata/export-v1.jsonl")
	require.NoError(t, err)
	v1Lines := strings.Split(strings.TrimSuffix(string(v1), "\n"), "\n")
	require.Len(t, v1Lines, 12)
	for _, tc := range []struct {
		name            string
		file            string
		events, streams uint64
		headHash        string
	}{
		{"written by version 1", string(v1), 12, 3, "d74b6102c89e56862e6a06041b84c08dafe28e1b71bc2af9bb84c4ec759c2d91"},
		{"cut short: undetectable", joinLines(v1Lines[:7]), 7, 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stats, target, err := importAndCheck(t, tc.file)
			require.NoError(t, err)
			assert.Equal(t, 1, stats.Version)
			assert.Equal(t, tc.events, stats.Events)
			assert.Equal(t, tc.streams, stats.Streams)
			if tc.headHash != "" {
				assert.Equal(t, tc.headHash, stats.LastAllHash.String())
			}
			report, err := eventstore.Verify(context.Background(), target, nil)
			require.NoError(t, err)
			require.True(t, report.OK, "problem: %v", report.Problem)
			assert.Equal(t, stats.LastAllHash, report.HeadAllHash)

			// Its events export again as version 2, whole.
			var again bytes.Buffer
			reexported, err := eventstore.Export(context.Background(), target, &again, nil)
			require.NoError(t, err)
			assert.Equal(t, 2, reexported.Version)
			assert.True(t, strings.HasPrefix(again.String(), exportHeaderLine+"\n"))
			if tc.events > 0 {
				assert.Equal(t, stripRecordedAt(t, []byte(tc.file)), stripRecordedAt(t, again.Bytes())[1:tc.events+1])
			}
		})
	}
}
