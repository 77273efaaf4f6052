package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/kurrent/kurrenttest"
)

func TestImportIntoKurrentDBRefusesIncompleteArchive(t *testing.T) {
	// Goal: an import into KurrentDB, which appends as it reads, refuses an
	// archive cut short. From a file, which it checks whole first, nothing
	// is appended; from stdin, the error says the store holds a partial
	// log, and a second import refuses it. A whole file imports.
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
	})

	t.Run("stdin", func(t *testing.T) {
		srv := kurrenttest.Start(t)
		res := runTool(ctx, t, t.TempDir(), truncated, "import", "--store", srv.URL())
		assert.Equal(t, 1, res.code, res.stdout)
		assert.Contains(t, res.stderr, "with no end marker")
		assert.Contains(t, res.stderr, "the store holds the events appended before the failure, a partial log")
		left := readAllEvents(t, srv.URL())
		assert.NotEmpty(t, left)
		assert.Less(t, len(left), len(want))

		res = runTool(ctx, t, t.TempDir(), strings.Join(lines, ""), "import", "--store", srv.URL())
		assert.Equal(t, 1, res.code)
		assert.Contains(t, res.stderr, "not empty")
	})
}
