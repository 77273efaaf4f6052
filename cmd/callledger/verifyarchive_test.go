package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
)

// verifyArchiveArgs is verify --in of archive, through a file or stdin
// ("--in -"): it returns the arguments and the stdin to run them with.
func verifyArchiveArgs(t *testing.T, via, archive string) (args []string, stdin string) {
	t.Helper()
	if via == "stdin" {
		return []string{"verify", "--in", "-"}, archive
	}
	return []string{"verify", "--in", writeArchive(t, archive)}, ""
}

func TestVerifyArchive(t *testing.T) {
	// Goal: verify --in proves an intact archive, from a file and from
	// stdin, without a store: it prints the very line verify prints on the
	// store it was exported from (the same counts, head position and head
	// hash), and a version-1 archive verifies with a warning that a cut
	// cannot be detected. No store is opened or created.
	ctx := context.Background()
	const calls = 40
	src, lines := exportArchive(t, 21, calls)
	storeVerify := runTool(ctx, t, src, "", "verify")
	require.Equal(t, 0, storeVerify.code, storeVerify.stderr)
	events := lines[1 : len(lines)-1]
	require.Contains(t, storeVerify.stdout, fmt.Sprintf("ok: %d events in %d streams, head position ", len(events), calls))

	for _, tc := range []struct {
		name    string
		archive string
		warns   bool
	}{
		{"version 2", strings.Join(lines, ""), false},
		{"version 1", strings.Join(events, ""), true},
	} {
		for _, via := range []string{"file", "stdin"} {
			t.Run(tc.name+" via "+via, func(t *testing.T) {
				// CALLLEDGER_DATA names a directory that does not exist:
				// the environment's defaults are no store flags, and
				// nothing is created there.
				nowhere := filepath.Join(t.TempDir(), "nowhere")
				args, stdin := verifyArchiveArgs(t, via, tc.archive)
				res := runTool(ctx, t, nowhere, stdin, args...)
				require.Equal(t, 0, res.code, res.stderr)
				assert.Equal(t, storeVerify.stdout, res.stdout, "the line verify prints on the store")
				if tc.warns {
					source := "stdin"
					if via == "file" {
						source = args[2]
					}
					assert.Contains(t, res.stderr, "warning: "+source+" is in export format version 1, which has no end marker")
				} else {
					assert.NotContains(t, res.stderr, "warning")
				}
				assert.NoDirExists(t, nowhere)
			})
		}
	}
}

func TestVerifyArchiveTampered(t *testing.T) {
	// Goal: verify --in fails (exit 1, FAILED on stdout naming the line)
	// on an archive with a byte of an event's data changed, a line deleted
	// from its middle, its end marker cut off, a line after its end marker,
	// or a line longer than eventstore.ExportLineBytesMax, and on a file
	// with no export in it (empty, or blank lines only), whether read from a
	// file or from stdin.
	ctx := context.Background()
	_, lines := exportArchive(t, 22, 40)
	end := len(lines) - 1
	mid := end / 2

	// A changed byte in the data of the event on line mid+1 (lines[mid]):
	// the first letter of its data's first key, so that the line is still
	// valid JSON and only the hash can tell.
	dataKey := `"data":{"`
	at := strings.Index(lines[mid], dataKey) + len(dataKey)
	require.Greater(t, at, len(dataKey))
	changed := lines[mid][:at] + "X" + lines[mid][at+1:]
	require.NotEqual(t, lines[mid], changed)

	cases := []struct {
		name    string
		archive string
		says    []string
	}{
		{"a changed byte in an event's data",
			strings.Join(lines[:mid], "") + changed + strings.Join(lines[mid+1:], ""),
			[]string{fmt.Sprintf("line %d ", mid+1), "the event's content hashes to"}},
		{"a deleted middle line",
			strings.Join(lines[:mid], "") + strings.Join(lines[mid+1:], ""),
			[]string{fmt.Sprintf("line %d ", mid+1)}},
		{"truncated: no end marker",
			strings.Join(lines[:end], ""),
			[]string{fmt.Sprintf("the file ends at line %d with no end marker", end)}},
		{"a line after the end marker",
			strings.Join(lines, "") + "\n" + lines[3],
			[]string{fmt.Sprintf("line %d: ", end+2), "a line after the end marker"}},
		{"an overlong line",
			strings.Join(lines[:3], "") + strings.Repeat("x", eventstore.ExportLineBytesMax+1) + "\n" + strings.Join(lines[3:], ""),
			[]string{"line 4: ", fmt.Sprintf("longer than %d bytes", eventstore.ExportLineBytesMax)}},
		{"cut to nothing: an empty file", "", []string{"export incomplete: the file is empty: it holds no export"}},
		{"cut to nothing: blank lines only", "\n \n", []string{"the file holds only blank lines (2): it holds no export"}},
	}
	for _, tc := range cases {
		for _, via := range []string{"file", "stdin"} {
			t.Run(tc.name+" via "+via, func(t *testing.T) {
				args, stdin := verifyArchiveArgs(t, via, tc.archive)
				res := runTool(ctx, t, t.TempDir(), stdin, args...)
				assert.Equal(t, 1, res.code, res.stderr)
				assert.True(t, strings.HasPrefix(res.stdout, "FAILED: "), res.stdout)
				for _, s := range tc.says {
					assert.Contains(t, res.stdout, s)
				}
				assert.NotContains(t, res.stdout, "ok: ")
				assert.Contains(t, res.stderr, "does not verify")
			})
		}
	}
}

func TestVerifyArchiveUsage(t *testing.T) {
	// Goal: --in opens no store, so a store flag given with it is a usage
	// error (exit 2) rather than silently ignored; a file that cannot be
	// read is an error (exit 1) but no FAILED: it says nothing about an
	// archive.
	ctx := context.Background()
	_, lines := exportArchive(t, 23, 3)
	file := writeArchive(t, strings.Join(lines, ""))

	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"--in with --store", []string{"verify", "--in", file, "--store", "esdb://localhost:2113?tls=false"}, 2, "drop --store"},
		{"--in with --data", []string{"verify", "--data", t.TempDir(), "--in", file}, 2, "drop --data"},
		{"--in with both", []string{"verify", "--data", t.TempDir(), "--store", "esdb://localhost:2113", "--in", "-"}, 2, "drop --data and --store"},
		{"a missing file", []string{"verify", "--in", filepath.Join(t.TempDir(), "missing.jsonl")}, 1, "could not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runTool(ctx, t, t.TempDir(), "", tc.args...)
			assert.Equal(t, tc.code, res.code, res.stderr)
			assert.Contains(t, res.stderr, tc.says)
			assert.Empty(t, res.stdout)
		})
	}
}
