package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// exportKillDirEnv tells the child of TestExportKilledLeavesNothing where
// to write.
const exportKillDirEnv = "CALLLEDGER_TEST_EXPORT_KILL_DIR"

func TestExportKilledLeavesNothing(t *testing.T) {
	// Goal: an export killed with SIGKILL while it writes its file leaves
	// nothing in the file's directory, not even a hidden temporary file
	// (which a named temporary file would, as large as the log), and the
	// file it was to replace is as it was.
	if dir := os.Getenv(exportKillDirEnv); dir != "" {
		_, _ = writeFileAtomically(filepath.Join(dir, "x.jsonl"), func(w io.Writer) (eventstore.ExportStats, error) {
			if _, err := io.WriteString(w, "part of an export\n"); err != nil {
				return eventstore.ExportStats{}, err
			}
			fmt.Println("written")
			time.Sleep(time.Minute) // until killed
			return eventstore.ExportStats{}, nil
		})
		return
	}
	dir := t.TempDir()
	if f, ok := createUnnamed(dir, "x"); !ok {
		t.Skip("this file system has no unnamed files (O_TMPFILE)")
	} else {
		f.Close()
	}
	out := filepath.Join(dir, "x.jsonl")
	require.NoError(t, os.WriteFile(out, []byte("an earlier export\n"), 0o600))

	child := embeddedtest.StartChild(t, "TestExportKilledLeavesNothing", "written", exportKillDirEnv+"="+dir)
	select {
	case <-child.Lines:
	case <-time.After(time.Minute):
		t.Fatal("the child did not start writing")
	}
	_, waitErr := child.Kill(nil, time.After(time.Minute))
	require.Error(t, waitErr, "the child was killed")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"x.jsonl"}, names)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "an earlier export\n", string(got))

	// The next export replaces the file, and leaves only it.
	_, err = writeFileAtomically(out, func(w io.Writer) (eventstore.ExportStats, error) {
		_, err := io.WriteString(w, "a whole export\n")
		return eventstore.ExportStats{}, err
	})
	require.NoError(t, err)
	got, err = os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "a whole export\n", string(got))
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1)
}
