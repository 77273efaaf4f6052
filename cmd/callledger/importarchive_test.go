package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exportArchive seeds a ledger of n calls in a new data directory, exports
// it to a file and returns the data directory and the export's lines, each
// with its newline.
func exportArchive(t *testing.T, seed uint64, n int) (dataDir string, lines []string) {
	t.Helper()
	dataDir = t.TempDir()
	seedLedger(t, dataDir, genCalls(seed, n))
	file := filepath.Join(t.TempDir(), "ledger.jsonl")
	res := runTool(context.Background(), t, dataDir, "", "export", "--out", file)
	require.Equal(t, 0, res.code, res.stderr)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return dataDir, strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
}

// writeArchive writes the parts, concatenated, to a new file and returns
// its path.
func writeArchive(t *testing.T, parts ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "archive.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(parts, "")), 0o644))
	return file
}

// snapshotDir maps every file and directory under dir to its content's
// SHA-256 ("dir" for a directory), to tell whether anything changed.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			snap[rel] = "dir"
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		snap[rel] = hex.EncodeToString(sum[:])
		return nil
	}))
	return snap
}

func TestImportRefusesIncompleteArchive(t *testing.T) {
	// Goal: an archive cut short at a line boundary (after the header, in
	// the middle, just before the end marker, before the header: an empty
	// file or blank lines only), one whose end marker
	// disagrees with its events, and one with a line after its end marker
	// are refused, from a file and from stdin, and the data directory is
	// left exactly as it was: its empty events directory and the read
	// models of another ledger, which a successful import would remove.
	ctx := context.Background()
	src, lines := exportArchive(t, 11, 60)
	require.Equal(t, 0, runTool(ctx, t, src, "", "replay").code)
	end := len(lines) - 1
	require.Greater(t, end, 60, "the calls' events, between a header and an end marker")
	mid := end / 2

	trailer := lines[end]
	eventsField := regexp.MustCompile(`"events":\d+`)
	allHashField := regexp.MustCompile(`"all_hash":"[0-9a-f]{64}"`)
	wrongCount := eventsField.ReplaceAllString(trailer, `"events":1`)
	wrongHash := allHashField.ReplaceAllString(trailer, `"all_hash":"`+strings.Repeat("1", 64)+`"`)
	require.NotEqual(t, trailer, wrongCount)
	require.NotEqual(t, trailer, wrongHash)
	whole := strings.Join(lines, "")

	cases := []struct {
		name    string
		archive string
		says    string
	}{
		{"truncated after the header", lines[0], "the file ends at line 1 with no end marker"},
		{"truncated in the middle", strings.Join(lines[:mid], ""), "with no end marker"},
		{"truncated just before the end marker", strings.Join(lines[:end], ""), "with no end marker"},
		{"end marker with a wrong count", strings.Join(lines[:end], "") + wrongCount, "the end marker disagrees with the events before it: it counts 1 events"},
		{"end marker with a wrong head hash", strings.Join(lines[:end], "") + wrongHash, "the end marker disagrees with the events before it: its $all head hash"},
		{"a line after the end marker", whole + "\n" + lines[3], "a line after the end marker"},
		{"cut to nothing: an empty file", "", "the file is empty: it holds no export"},
		{"cut to nothing: blank lines only", "\n\n  \n", "the file holds only blank lines (3): it holds no export"},
	}
	for _, tc := range cases {
		for _, via := range []string{"file", "stdin"} {
			t.Run(tc.name+" via "+via, func(t *testing.T) {
				dst := t.TempDir()
				require.NoError(t, os.CopyFS(filepath.Join(dst, "readmodels"), os.DirFS(filepath.Join(src, "readmodels"))))
				require.NoError(t, os.Mkdir(filepath.Join(dst, "events"), 0o755))
				before := snapshotDir(t, dst)

				args, stdin := []string{"import"}, tc.archive
				if via == "file" {
					args, stdin = append(args, "--in", writeArchive(t, tc.archive)), ""
				}
				res := runTool(ctx, t, dst, stdin, args...)
				assert.Equal(t, 1, res.code, "stdout: %s", res.stdout)
				assert.Contains(t, res.stderr, tc.says)
				assert.Contains(t, res.stderr, "nothing was imported")
				assert.NotContains(t, res.stdout, "imported ")
				assert.Equal(t, before, snapshotDir(t, dst), "the data directory is as it was")
			})
		}
	}

	t.Run("the whole archive imports into the same directory", func(t *testing.T) {
		dst := t.TempDir()
		require.NoError(t, os.CopyFS(filepath.Join(dst, "readmodels"), os.DirFS(filepath.Join(src, "readmodels"))))
		res := runTool(ctx, t, dst, "", "import", "--in", writeArchive(t, whole))
		require.Equal(t, 0, res.code, res.stderr)
		assert.NotContains(t, res.stderr, "warning")
		assert.NoDirExists(t, filepath.Join(dst, "readmodels"))
		assert.Len(t, readLedger(t, dst), len(readLedger(t, src)))
	})
}

func TestImportRefusedLeavesNoDataDirectoryItCreated(t *testing.T) {
	// Goal: an import refused into a data directory that did not exist
	// removes the directories it created for it (parents included), so
	// that the directory is as it was, absent, as the error says; one that
	// existed, even empty, stays; and a successful import keeps the one it
	// created.
	ctx := context.Background()
	_, lines := exportArchive(t, 13, 10)
	cut := strings.Join(lines[:len(lines)/2], "")
	for _, via := range []string{"file", "stdin"} {
		t.Run("new directory via "+via, func(t *testing.T) {
			root := t.TempDir()
			dst := filepath.Join(root, "new", "data")
			args, stdin := []string{"import"}, cut
			if via == "file" {
				args, stdin = append(args, "--in", writeArchive(t, cut)), ""
			}
			res := runTool(ctx, t, dst, stdin, args...)
			assert.Equal(t, 1, res.code, "stdout: %s", res.stdout)
			assert.Contains(t, res.stderr, "with no end marker")
			assert.Contains(t, res.stderr, "is as it was")
			assert.NoDirExists(t, filepath.Join(root, "new"), "what import created is removed")
			assert.DirExists(t, root, "what was there stays")
		})
	}
	t.Run("existing empty directory", func(t *testing.T) {
		dst := t.TempDir()
		res := runTool(ctx, t, dst, cut, "import")
		assert.Equal(t, 1, res.code, "stdout: %s", res.stdout)
		entries, err := os.ReadDir(dst)
		require.NoError(t, err, "the directory stays")
		assert.Empty(t, entries, "with nothing left inside")
	})
	t.Run("a whole archive keeps the directory it created", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "new", "data")
		res := runTool(ctx, t, dst, strings.Join(lines, ""), "import")
		require.Equal(t, 0, res.code, res.stderr)
		assert.DirExists(t, filepath.Join(dst, "events"))
	})
}

func TestImportVersion1Warns(t *testing.T) {
	// Goal: an archive of version 1 (the event lines alone, no header and no
	// end marker, as export wrote before) still imports, whole or cut
	// short, with a warning that its completeness cannot be proven.
	ctx := context.Background()
	src, lines := exportArchive(t, 12, 30)
	events := lines[1 : len(lines)-1]
	srcVerify := runTool(ctx, t, src, "", "verify")
	require.Equal(t, 0, srcVerify.code, srcVerify.stderr)

	for _, tc := range []struct {
		name    string
		archive string
		events  int
	}{
		{"whole", strings.Join(events, ""), len(events)},
		{"cut short", strings.Join(events[:len(events)/2], ""), len(events) / 2},
	} {
		for _, via := range []string{"file", "stdin"} {
			t.Run(tc.name+" via "+via, func(t *testing.T) {
				dst := t.TempDir()
				args, stdin, source := []string{"import"}, tc.archive, "stdin"
				if via == "file" {
					source = writeArchive(t, tc.archive)
					args, stdin = append(args, "--in", source), ""
				}
				res := runTool(ctx, t, dst, stdin, args...)
				require.Equal(t, 0, res.code, res.stderr)
				assert.Contains(t, res.stdout, "imported ")
				assert.Contains(t, res.stderr, "warning: "+source+" is in export format version 1, which has no end marker")
				assert.Len(t, readLedger(t, dst), tc.events)
				if tc.events == len(events) {
					dstVerify := runTool(ctx, t, dst, "", "verify")
					require.Equal(t, 0, dstVerify.code, dstVerify.stderr)
					assert.Equal(t, srcVerify.stdout, dstVerify.stdout)
				}
			})
		}
	}
}

func TestEmptyLedgerExportsAndImports(t *testing.T) {
	// Goal: a ledger with no events still exports as a whole archive, a
	// header and an end marker (so that an empty archive file can be
	// refused as cut short), which verifies and imports, to a file, to
	// stdout and from stdin alike.
	ctx := context.Background()
	src := t.TempDir()
	require.NoError(t, openEmbeddedLedger(t, src).Close())
	srcVerify := runTool(ctx, t, src, "", "verify")
	require.Equal(t, 0, srcVerify.code, srcVerify.stderr)

	file := filepath.Join(t.TempDir(), "empty.jsonl")
	res := runTool(ctx, t, src, "", "export", "--out", file)
	require.Equal(t, 0, res.code, res.stderr)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	archive := string(b)
	assert.Equal(t, `{"format":"callledger-export","version":2}`+"\n"+
		`{"end":"callledger-export","events":0,"streams":0,"last_position":{"commit":0,"prepare":0},"all_hash":"`+strings.Repeat("0", 64)+`"}`+"\n",
		archive, "a header and an end marker")
	stdout := runTool(ctx, t, src, "", "export")
	require.Equal(t, 0, stdout.code, stdout.stderr)
	assert.Equal(t, archive, stdout.stdout)

	for _, via := range []string{"file", "stdin"} {
		t.Run(via, func(t *testing.T) {
			args, stdin := verifyArchiveArgs(t, via, archive)
			res := runTool(ctx, t, t.TempDir(), stdin, args...)
			require.Equal(t, 0, res.code, res.stderr)
			assert.Equal(t, srcVerify.stdout, res.stdout)
			assert.NotContains(t, res.stderr, "warning")

			dst := t.TempDir()
			args, stdin = []string{"import"}, archive
			if via == "file" {
				args, stdin = append(args, "--in", file), ""
			}
			res = runTool(ctx, t, dst, stdin, args...)
			require.Equal(t, 0, res.code, res.stderr)
			assert.Contains(t, res.stdout, "imported 0 events in 0 streams")
			assert.NotContains(t, res.stderr, "warning")
			dstVerify := runTool(ctx, t, dst, "", "verify")
			require.Equal(t, 0, dstVerify.code, dstVerify.stderr)
			assert.Equal(t, srcVerify.stdout, dstVerify.stdout)
		})
	}
}
