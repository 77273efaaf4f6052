package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/kurrent/kurrenttest"
)

func TestImportIntoKurrentDBRefusesIncompleteArchive(t *testing.T) {
	// Goal: an import into KurrentDB, which appends as it reads, refuses an
	// archive cut short before appending anything, from a file (checked
	// whole first) and from stdin (copied to a temporary file and checked
	// whole first, the copy removed afterwards; "--in -" is stdin too), and
	// a file with no export in it (empty, or blank lines only). A whole
	// archive imports, from either.
	ctx := context.Background()
	src, lines := exportArchive(t, 13, 40)
	end := len(lines) - 1
	truncated := strings.Join(lines[:end], "")
	want := readLedger(t, src)

	t.Run("file", func(t *testing.T) {
		srv := kurrenttest.Start(t)
		res := runTool(ctx, t, t.TempDir(), "", "import", "--store", srv.URL(), "--in", writeArchive(t, truncated))
		assert.Equal(t, 1, res.code, res.stdout)
		assert.Contains(t, res.stderr, "with no end marker")
		assert.Contains(t, res.stderr, "nothing was appended to the store")
		assert.Empty(t, readAllEvents(t, srv.URL()), "nothing was appended")

		res = runTool(ctx, t, t.TempDir(), "", "import", "--store", srv.URL(), "--in", writeArchive(t, strings.Join(lines, "")))
		require.Equal(t, 0, res.code, res.stderr)
		assert.NotContains(t, res.stderr, "warning")
		assert.Len(t, readAllEvents(t, srv.URL()), len(want))
		// The archive's head is named as the archive's: KurrentDB gives
		// the events positions of its own.
		assert.Contains(t, res.stdout, "from an archive whose last position is ")
		assert.Contains(t, res.stdout, "KurrentDB gives them positions of its own")
	})

	t.Run("stdin", func(t *testing.T) {
		// The copy of stdin goes to os.TempDir(): a directory of the
		// test's own shows that it is removed.
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		srv := kurrenttest.Start(t)
		res := runTool(ctx, t, t.TempDir(), truncated, "import", "--store", srv.URL())
		assert.Equal(t, 1, res.code, res.stdout)
		assert.Contains(t, res.stderr, "with no end marker")
		assert.Contains(t, res.stderr, "nothing was appended to the store")
		assert.Empty(t, readAllEvents(t, srv.URL()), "nothing was appended")
		assert.Empty(t, dirNames(t, tmp), "the copy of stdin is removed")

		res = runTool(ctx, t, t.TempDir(), strings.Join(lines, ""), "import", "--store", srv.URL())
		require.Equal(t, 0, res.code, res.stderr)
		assert.NotContains(t, res.stderr, "warning")
		assert.Len(t, readAllEvents(t, srv.URL()), len(want))
		assert.Empty(t, dirNames(t, tmp), "the copy of stdin is removed")
	})

	t.Run("stdin named -", func(t *testing.T) {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		srv := kurrenttest.Start(t)
		res := runTool(ctx, t, t.TempDir(), truncated, "import", "--store", srv.URL(), "--in", "-")
		assert.Equal(t, 1, res.code, res.stdout)
		assert.Contains(t, res.stderr, "nothing was appended to the store")
		assert.Empty(t, readAllEvents(t, srv.URL()), "nothing was appended")

		res = runTool(ctx, t, t.TempDir(), strings.Join(lines, ""), "import", "--store", srv.URL(), "--in", "-")
		require.Equal(t, 0, res.code, res.stderr)
		assert.Len(t, readAllEvents(t, srv.URL()), len(want))
		assert.Empty(t, dirNames(t, tmp), "the copy of stdin is removed")
	})

	for _, empty := range []string{"", "\n\n"} {
		for _, via := range []string{"file", "stdin"} {
			t.Run(fmt.Sprintf("no export %q via %s", empty, via), func(t *testing.T) {
				t.Setenv("TMPDIR", t.TempDir())
				srv := kurrenttest.Start(t)
				args, stdin := []string{"import", "--store", srv.URL()}, empty
				if via == "file" {
					args, stdin = append(args, "--in", writeArchive(t, empty)), ""
				}
				res := runTool(ctx, t, t.TempDir(), stdin, args...)
				assert.Equal(t, 1, res.code, res.stdout)
				assert.Contains(t, res.stderr, "it holds no export")
				assert.Contains(t, res.stderr, "nothing was appended to the store")
				assert.NotContains(t, res.stdout, "imported ")
			})
		}
	}
}

func TestImportOfAKurrentDBArchiveNamesTheStoresHead(t *testing.T) {
	// Goal: an archive exported from KurrentDB (positions of its own)
	// imported into the embedded store prints the store's head, the one
	// verify prints, and names the archive's apart, where it printed the
	// archive's head as the store's (a KurrentDB probe).
	ctx := context.Background()
	_, lines := exportArchive(t, 17, 12)
	srv := kurrenttest.Start(t)
	res := runTool(ctx, t, t.TempDir(), "", "import", "--store", srv.URL(), "--in", writeArchive(t, strings.Join(lines, "")))
	require.Equal(t, 0, res.code, res.stderr)
	archive := filepath.Join(t.TempDir(), "kurrent.jsonl")
	res = runTool(ctx, t, t.TempDir(), "", "export", "--store", srv.URL(), "--out", archive)
	require.Equal(t, 0, res.code, res.stderr)

	dir := t.TempDir()
	res = runTool(ctx, t, dir, "", "import", "--in", archive)
	require.Equal(t, 0, res.code, res.stderr)
	verify := runTool(ctx, t, dir, "", "verify")
	require.Equal(t, 0, verify.code, verify.stderr)
	head := regexp.MustCompile(`head position (\d+), head hash ([0-9a-f]{64})`).FindStringSubmatch(verify.stdout)
	require.NotNil(t, head, verify.stdout)
	assert.Contains(t, res.stdout, fmt.Sprintf("last position %s, head hash %s (the store's", head[1], head[2]), "the store's head, as verify prints it")
	assert.Contains(t, res.stdout, "the archive, whose positions are another store's, ends at position ")
}
