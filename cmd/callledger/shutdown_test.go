package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// stalledRequest opens a connection to the server at addr and sends a
// write whose body never comes: the server runs it until the connection
// ends.
func stalledRequest(t *testing.T, addr, token string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "POST /calls/upsert HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", addr, token)
	require.NoError(t, err)
	return conn
}

func TestShutdownCutsOffRequestsStillRunning(t *testing.T) {
	// Goal: a request outliving the shutdown's wait (a client that never
	// sends its body) is cut off at the end of it, and Close's error says
	// how many requests were, where it said only "context deadline
	// exceeded" and left their connections open.
	const token = "token-shutdown-0123456789abcdef"
	m, _, _ := startMain(t, t.TempDir(), map[string]string{"CALLLEDGER_API_KEYS": "acme:" + token})
	m.shutdownTimeout = 300 * time.Millisecond
	conn := stalledRequest(t, m.listener.Addr().String(), token)
	require.Eventually(t, func() bool { return m.inFlight.Load() == 1 }, 5*time.Second, 5*time.Millisecond)

	started := time.Now()
	err := m.Close()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 request still running after 300ms cut off")
	assert.Less(t, time.Since(started), 10*time.Second)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = conn.Read(make([]byte, 1))
	assert.NotErrorIs(t, err, os.ErrDeadlineExceeded, "the stalled request's connection is closed")
}

// signalChildEnv names the data directory of TestSecondSignalStopsAtOnce's
// child; its address is in signalChildAddrEnv.
const (
	signalChildEnv     = "CALLLEDGER_TEST_SIGNAL_DIR"
	signalChildAddrEnv = "CALLLEDGER_TEST_SIGNAL_ADDR"
	signalChildToken   = "token-signal-0123456789abcdef"
)

func TestSecondSignalStopsAtOnce(t *testing.T) {
	// Goal: the operator's second Ctrl-C stops a serve that waits for a
	// request in flight, at once, where it was ignored for the whole
	// shutdown window (15 s), also when serve started with SIGINT ignored
	// (a background job of a script), where restoring the signal's action
	// ignored it again. The child is the real process: main's work
	// (runProcess) with its signal handling, serve on a loopback port.
	if dir := os.Getenv(signalChildEnv); dir != "" {
		fmt.Println("started")
		os.Exit(runProcess([]string{"serve", "--data", dir, "--addr", os.Getenv(signalChildAddrEnv)}))
	}
	for _, tc := range []struct {
		name  string
		start func(tb testing.TB, testName, prefix string, env ...string) *embeddedtest.Child
		// signaled: the child dies of the signal; otherwise it exits 130.
		signaled bool
	}{
		{"SIGINT handled", embeddedtest.StartChild, true},
		{"SIGINT ignored at start", embeddedtest.StartChildIgnoringInterrupts, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			addr := ln.Addr().String()
			require.NoError(t, ln.Close())
			child := tc.start(t, "TestSecondSignalStopsAtOnce", "started",
				signalChildEnv+"="+filepath.Join(t.TempDir(), "data"), signalChildAddrEnv+"="+addr,
				"CALLLEDGER_API_KEYS=acme:"+signalChildToken)
			require.Eventually(t, func() bool {
				resp, err := http.Get("http://" + addr + "/healthz")
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			}, time.Minute, 20*time.Millisecond, "the child serves")
			stalledRequest(t, addr, signalChildToken)
			time.Sleep(100 * time.Millisecond) // the server reads the request's head

			require.NoError(t, child.Signal(syscall.SIGINT))
			time.Sleep(300 * time.Millisecond)
			require.True(t, child.Running(), "the first signal waits for the request in flight: %s", child.Output())
			require.NoError(t, child.Signal(syscall.SIGINT))
			err = child.Wait(nil, time.After(5*time.Second))
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			status, ok := exit.Sys().(syscall.WaitStatus)
			require.True(t, ok)
			if tc.signaled {
				assert.True(t, status.Signaled(), "ended by the second signal: %v", err)
				assert.Equal(t, syscall.SIGINT, status.Signal())
			} else {
				assert.Equal(t, 128+int(syscall.SIGINT), exit.ExitCode(), "exits as if ended by the second signal: %v", err)
			}
			out := child.Output()
			assert.Contains(t, out, "a second signal stops at once")
			assert.True(t, strings.Contains(out, "stopping"), out)
		})
	}
}
