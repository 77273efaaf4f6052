package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdStoreChildEnv names the data directory whose embedded store the
// child process of TestStoreHeldByAnotherProcess holds open.
const holdStoreChildEnv = "CALLLEDGER_TEST_HOLD_STORE_DIR"

// TestHoldStoreChild is the child process of TestStoreHeldByAnotherProcess:
// it holds the embedded store of its data directory open, as a running
// serve does, says HELD, and lets go once its stdin closes.
func TestHoldStoreChild(t *testing.T) {
	dir := os.Getenv(holdStoreChildEnv)
	if dir == "" {
		t.Skip("runs only as the child process of TestStoreHeldByAnotherProcess")
	}
	store := openEmbeddedLedger(t, dir)
	os.Stdout.WriteString("HELD\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
	require.NoError(t, store.Close())
}

func TestStoreHeldByAnotherProcess(t *testing.T) {
	// Goal: every command run on a data directory whose store another
	// process holds (a running serve) says so in the same words, import
	// included, rather than the lock's "resource temporarily unavailable".
	// The lock is per process: only another process shows what users see.
	ctx := context.Background()
	src, held := t.TempDir(), t.TempDir()
	seedLedger(t, src, genCalls(12, 5))
	seedLedger(t, held, genCalls(13, 5))
	archive := filepath.Join(t.TempDir(), "export.jsonl")
	res := runTool(ctx, t, src, "", "export", "--out", archive)
	require.Equal(t, 0, res.code, res.stderr)

	child := exec.Command(os.Args[0], "-test.run=^TestHoldStoreChild$", "-test.count=1")
	child.Env = append(os.Environ(), holdStoreChildEnv+"="+held)
	release, err := child.StdinPipe()
	require.NoError(t, err)
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	defer func() {
		release.Close()
		assert.NoError(t, child.Wait(), "the child let go of the store")
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "the child holds the store")
	require.Equal(t, "HELD\n", line)
	go func() { _, _ = io.Copy(io.Discard, out) }() // the child's test output

	for _, args := range [][]string{
		{"import", "--in", archive},
		{"verify"},
		{"export"},
		{"replay"},
		{"billing"},
	} {
		t.Run(args[0], func(t *testing.T) {
			res := runTool(ctx, t, held, "", args...)
			assert.Equal(t, 1, res.code)
			assert.Contains(t, res.stderr, filepath.Join(held, "events")+" is in use by another process (a running callledger serve?)")
			// A serve opening its stores holds them before its control
			// socket answers: the read-only tools may run once it serves.
			assert.Contains(t, res.stderr, "a serve still starting (opening its stores, rebuilding its read models) lets verify, export, history and billing run once it serves")
		})
	}
}
