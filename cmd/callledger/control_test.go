package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded"
)

func TestToolsRunWhileServeDoes(t *testing.T) {
	// Goal: verify, export, history and billing run while serve holds the
	// data directory, against a copy of its data that serve makes as each
	// starts (they were refused: "in use by another process"), with the
	// output they give once serve has stopped, and leave no copy behind.
	ctx := context.Background()
	dir := t.TempDir()
	m, _, _ := startMain(t, dir, map[string]string{"CALLLEDGER_API_KEYS": "acme:" + serveKillToken})
	var id string
	for i := range 5 {
		body := strings.Replace(seedUpsert, `"openphone_id_000000000006"`, `"served-`+string(rune('a'+i))+`"`, 1)
		code, answer := do(t, "POST", m.URL()+"/calls/upsert", serveKillToken, body)
		require.Equal(t, http.StatusOK, code, string(answer))
		id = callID(t, string(answer))
	}
	out := filepath.Join(t.TempDir(), "while.jsonl")
	tools := [][]string{
		{"verify"},
		{"history", id},
		{"billing", "--format", "json"},
	}
	running := map[string]result{}
	for _, args := range tools {
		res := runTool(ctx, t, dir, "", args...)
		require.Equal(t, 0, res.code, "%v: %s", args, res.stderr)
		assert.Contains(t, res.stderr, "serve is running on "+dir, "%v", args)
		running[args[0]] = res
	}
	// A malformed --store is refused before serve is asked for a copy.
	for _, args := range [][]string{{"history", id, "--store", "x"}, {"billing", "--store", "notaurl"}, {"verify", "--store", "esdb://"}} {
		res := runTool(ctx, t, dir, "", args...)
		assert.Equal(t, 2, res.code, "%v: %s", args, res.stderr)
		assert.Contains(t, res.stderr, "--store: kurrent: connection string", "%v", args)
		assert.NotContains(t, res.stderr, "serve is running", "%v", args)
	}
	res := runTool(ctx, t, dir, "", "export", "--out", out)
	require.Equal(t, 0, res.code, res.stderr)
	// The directory named otherwise than serve names it: through a
	// symbolic link, and relative to the working directory.
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(dir, link))
	res = runTool(ctx, t, link, "", "history", id)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, running["history"].stdout, res.stdout)
	t.Chdir(filepath.Dir(dir))
	res = runTool(ctx, t, filepath.Base(dir), "", "history", id)
	require.Equal(t, 0, res.code, res.stderr)
	entries, err := os.ReadDir(filepath.Join(dir, copiesDirName))
	require.NoError(t, err)
	assert.Empty(t, entries, "every copy removed")
	require.NoError(t, m.Close())
	_, err = os.Stat(filepath.Join(dir, controlSocketName))
	assert.ErrorIs(t, err, os.ErrNotExist, "the socket is gone with serve")
	_, err = os.Stat(filepath.Join(dir, copiesDirName))
	assert.ErrorIs(t, err, os.ErrNotExist, "so is the copies' directory, empty")
	for _, args := range tools {
		res := runTool(ctx, t, dir, "", args...)
		require.Equal(t, 0, res.code, "%v: %s", args, res.stderr)
		assert.Equal(t, res.stdout, running[args[0]].stdout, "%v", args)
	}
	stopped := filepath.Join(t.TempDir(), "stopped.jsonl")
	res = runTool(ctx, t, dir, "", "export", "--out", stopped)
	require.Equal(t, 0, res.code, res.stderr)
	want, err := os.ReadFile(stopped)
	require.NoError(t, err)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}

func TestServeClearsWhatAKilledServeAndToolLeft(t *testing.T) {
	// Goal: a socket a killed serve left, which nobody answers on, is no
	// server: the tools open the directory themselves, and the next serve
	// listens in its place; a copy a killed tool left is removed by the
	// next serve, and one a tool holds open is not.
	ctx := context.Background()
	dir := t.TempDir()
	m, _, _ := startMain(t, dir, map[string]string{"CALLLEDGER_API_KEYS": "acme:" + serveKillToken})
	code, answer := do(t, "POST", m.URL()+"/calls/upsert", serveKillToken, seedUpsert)
	require.Equal(t, http.StatusOK, code, string(answer))
	require.NoError(t, m.Close())

	// What a killed serve leaves: a socket file nobody listens on.
	path := filepath.Join(dir, controlSocketName)
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, ln.Close())
	res := runTool(ctx, t, dir, "", "verify")
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotContains(t, res.stderr, "serve is running")

	// What killed tools leave: copies, one of them still held open.
	copies := filepath.Join(dir, copiesDirName)
	left, held := filepath.Join(copies, "copy-left"), filepath.Join(copies, "copy-held")
	for _, d := range []string{left, held} {
		require.NoError(t, os.MkdirAll(d, dataDirPerm))
	}
	store, err := embedded.Open(filepath.Join(held, "events"), embedded.DefaultOptions())
	require.NoError(t, err)
	defer store.Close()
	leftStore, err := embedded.Open(filepath.Join(left, "events"), embedded.DefaultOptions())
	require.NoError(t, err)
	require.NoError(t, leftStore.Close())

	m2, _, _ := startMain(t, dir, map[string]string{"CALLLEDGER_API_KEYS": "acme:" + serveKillToken})
	defer m2.Close()
	_, err = os.Stat(left)
	assert.ErrorIs(t, err, os.ErrNotExist, "a copy no tool holds is removed")
	_, err = os.Stat(held)
	assert.NoError(t, err, "a copy a tool holds is kept")
	res = runTool(ctx, t, dir, "", "history", callID(t, string(answer)))
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "serve is running on "+dir, "the new serve answers on the socket")
}

// brokenPipeEnv names the data directory of the child of
// TestToolIntoAClosedPipeRemovesItsCopy.
const brokenPipeEnv = "CALLLEDGER_TEST_BROKEN_PIPE_DIR"

func TestToolIntoAClosedPipeRemovesItsCopy(t *testing.T) {
	// Goal: a tool whose reader goes away (`callledger export | head`)
	// while serve runs ends as a broken pipe does (exit 141, no message)
	// and removes the copy of the data it read, where SIGPIPE killed it
	// and left the copy to the next serve's start.
	if dir := os.Getenv(brokenPipeEnv); dir != "" {
		os.Exit(runProcess([]string{"export", "--data", dir}))
	}
	dir := t.TempDir()
	m, _, _ := startMain(t, dir, map[string]string{"CALLLEDGER_API_KEYS": "acme:" + serveKillToken})
	code, answer := do(t, "POST", m.URL()+"/calls/upsert", serveKillToken, seedUpsert)
	require.Equal(t, http.StatusOK, code, string(answer))

	r, w, err := os.Pipe()
	require.NoError(t, err)
	require.NoError(t, r.Close()) // the reader has gone before the first write
	var stderr strings.Builder
	cmd := exec.Command(os.Args[0], "-test.run=^TestToolIntoAClosedPipeRemovesItsCopy$", "-test.count=1")
	cmd.Env = append(os.Environ(), brokenPipeEnv+"="+dir)
	cmd.Stdout, cmd.Stderr = w, &stderr
	err = cmd.Run()
	w.Close()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "stderr: %s", stderr.String())
	assert.Equal(t, 141, exit.ExitCode(), "stderr: %s", stderr.String())
	assert.Contains(t, stderr.String(), "serve is running on "+dir, "it read a copy")
	assert.NotContains(t, stderr.String(), "broken pipe")
	entries, err := os.ReadDir(filepath.Join(dir, copiesDirName))
	require.NoError(t, err)
	assert.Empty(t, entries, "its copy removed")
}

func TestHeldStoreNamesTheServeHoldingIt(t *testing.T) {
	// Goal: a command refused a database another process holds says it is
	// the serve running on the data directory when that serve's control
	// socket answers (import and replay, which write, need it stopped),
	// and what it said before when none answers.
	dir := t.TempDir()
	held := fmt.Errorf("lock %s: %w", filepath.Join(dir, "events"), syscall.EAGAIN)
	err := openError("embedded store", filepath.Join(dir, "events"), held)
	assert.Contains(t, err.Error(), "is in use by another process (a running callledger serve?)")

	ln, lerr := net.Listen("unix", filepath.Join(dir, controlSocketName))
	require.NoError(t, lerr)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	err = openError("embedded store", filepath.Join(dir, "events"), held)
	assert.Contains(t, err.Error(), "is held by the callledger serve running on "+dir+": stop it first")
	assert.ErrorIs(t, err, syscall.EAGAIN)
}
