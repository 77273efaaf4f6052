package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// exportFsizeDirEnv tells the child of TestExportWriteFailureNamesTheFile
// where to write.
const exportFsizeDirEnv = "CALLLEDGER_TEST_EXPORT_FSIZE_DIR"

func TestExportWriteFailureNamesTheFile(t *testing.T) {
	// Goal: an export whose file cannot be written (here the file size
	// limit, as a full disk would) fails with an error that names the file
	// the user asked for, not the "(unnamed)" file it writes through, and
	// leaves the file it was to replace as it was.
	if dir := os.Getenv(exportFsizeDirEnv); dir != "" {
		// The child: a limit on the size of the files it writes, and
		// SIGXFSZ ignored so that a write past it fails with EFBIG rather
		// than killing the process.
		signal.Ignore(syscall.SIGXFSZ)
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: 64 << 10, Max: 64 << 10}); err != nil {
			fmt.Println("error: setrlimit:", err)
			return
		}
		_, err := writeFileAtomically(filepath.Join(dir, "x.jsonl"), func(w io.Writer) (eventstore.ExportStats, error) {
			_, err := w.Write(bytes.Repeat([]byte("e"), 1<<20))
			return eventstore.ExportStats{}, err
		})
		fmt.Println("error:", err)
		return
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "x.jsonl")
	require.NoError(t, os.WriteFile(out, []byte("an earlier export\n"), 0o600))

	child := embeddedtest.StartChild(t, "TestExportWriteFailureNamesTheFile", "error:", exportFsizeDirEnv+"="+dir)
	var lines []string
	require.NoError(t, child.Wait(func(line string) { lines = append(lines, line) }, time.After(time.Minute)), child.Output())
	require.Len(t, lines, 1, child.Output())
	msg := strings.TrimPrefix(lines[0], "error: ")
	assert.Contains(t, msg, out, "the error names the file asked for")
	assert.Contains(t, msg, "file too large")
	assert.NotContains(t, msg, "unnamed")

	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "an earlier export\n", string(got), "the file it was to replace is as it was")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "nothing else is left beside it")
}
