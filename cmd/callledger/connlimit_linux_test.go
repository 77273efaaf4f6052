package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// fileLimitDirEnv names the data directory of the serve child of
// TestServeUnderAFileLimitKeepsRoomForTheStores.
const fileLimitDirEnv = "CALLLEDGER_TEST_FILE_LIMIT_DIR"

// fileLimit is the child's open-file limit: the default connection limit
// is then half of it.
const fileLimit = 256

func TestServeUnderAFileLimitKeepsRoomForTheStores(t *testing.T) {
	// Goal: through a real process whose open-file limit is low, more
	// connections than it can hold wait to be accepted rather than exhaust
	// its file descriptors: serve never fails to accept ("too many open
	// files"), says it reached its limit, and takes writes once the
	// connections close.
	if dir := os.Getenv(fileLimitDirEnv); dir != "" {
		serveUnderFileLimit(t, dir)
		return
	}
	child := embeddedtest.StartChild(t, "TestServeUnderAFileLimitKeepsRoomForTheStores", "serving ", fileLimitDirEnv+"="+t.TempDir())
	url := servingURL(t, child)
	defer func() { _, _ = child.Kill(nil, time.After(time.Minute)) }()

	addr := strings.TrimPrefix(url, "http://")
	var conns []net.Conn
	for range 2 * fileLimit {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		_, err = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")) // headers unfinished
		require.NoError(t, err)
		conns = append(conns, c)
	}
	time.Sleep(time.Second) // for the child to accept what it will
	for _, c := range conns {
		c.Close()
	}

	client := &http.Client{Timeout: 30 * time.Second}
	ctx := context.Background()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/calls/upsert", strings.NewReader(
		`{"direction":"incoming","provider":"openphone","provider_id":"op_limit","provider_status":"completed","start_at":"2025-02-17T15:00:00Z",`+
			`"participants":[{"phone":"+14155551212","role":"caller"},{"phone":"+16505551212","role":"callee"}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+serveKillToken)
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the upsert is answered")

	_, _ = child.Kill(nil, time.After(time.Minute))
	out := child.Output()
	assert.NotContains(t, out, "too many open files")
	assert.Contains(t, out, "open connections reached the limit")
	assert.Contains(t, out, fmt.Sprintf("max_connections=%d", defaultConnectionLimit(fileLimit)))
}

// serveUnderFileLimit is the child of
// TestServeUnderAFileLimitKeepsRoomForTheStores: serve on dir with an
// open-file limit of fileLimit and the default connection limit, logging
// to its standard error, until it is killed.
func serveUnderFileLimit(t *testing.T, dir string) {
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: fileLimit, Max: fileLimit}))
	env := Env{Stdin: strings.NewReader(""), Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: func(k string) string {
			if k == "CALLLEDGER_API_KEYS" {
				return "acme:" + serveKillToken
			}
			return ""
		}}
	serveAsChild(t, env, dir)
}
