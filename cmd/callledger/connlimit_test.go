package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConnectionLimit(t *testing.T) {
	// Goal: the default connection limit leaves the stores their reserve
	// of file descriptors, half of them when the open-file limit is small,
	// and is bounded when it is unlimited.
	for _, tc := range []struct {
		openFiles uint64
		want      int
	}{
		{0, connectionsUnknownLimit}, // the limit could not be read
		{1, 1},
		{256, 128},
		{1024, 512},
		{8192, 8192 - storeFilesReserve},
		{20000, 20000 - storeFilesReserve},
		{1 << 62, connectionsMax}, // RLIM_INFINITY, or near it
	} {
		assert.Equal(t, tc.want, defaultConnectionLimit(tc.openFiles), "open files %d", tc.openFiles)
	}
}

func TestConnectionLimitTooHigh(t *testing.T) {
	// Goal: a limit above the default for the open-file limit is too high
	// (serve warns of it); an unknown open-file limit judges none.
	assert.False(t, connectionLimitTooHigh(20000-storeFilesReserve, 20000))
	assert.True(t, connectionLimitTooHigh(20000-storeFilesReserve+1, 20000))
	assert.True(t, connectionLimitTooHigh(1_000_000, 20000))
	assert.False(t, connectionLimitTooHigh(1_000_000, 0))
}

func TestServeMaxConnectionsFlag(t *testing.T) {
	// Goal: --max-connections and CALLLEDGER_MAX_CONNECTIONS set the
	// limit; a negative or malformed one is a usage error naming it.
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    int
		wantErr string
	}{
		{"Default", nil, nil, 0, ""},
		{"Flag", []string{"--max-connections", "50"}, nil, 50, ""},
		{"Env", nil, map[string]string{"CALLLEDGER_MAX_CONNECTIONS": "70"}, 70, ""},
		{"FlagOverEnv", []string{"--max-connections", "50"}, map[string]string{"CALLLEDGER_MAX_CONNECTIONS": "70"}, 50, ""},
		{"Negative", []string{"--max-connections", "-1"}, nil, 0, "--max-connections -1"},
		{"EnvNotANumber", nil, map[string]string{"CALLLEDGER_MAX_CONNECTIONS": "many"}, 0, `CALLLEDGER_MAX_CONNECTIONS="many"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _, _ := newTestEnv(tc.env)
			m := NewMain(env)
			err := m.ParseFlags(append([]string{"--data", t.TempDir()}, tc.args...))
			if tc.wantErr != "" {
				var usage usageError
				require.True(t, errors.As(err, &usage), "a usage error: %v", err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, m.MaxConnections)
		})
	}
}

func TestServeHoldsAtMostMaxConnections(t *testing.T) {
	// Goal: serve holds at most --max-connections connections open: with
	// that many held by clients that never finish their headers, another
	// client is not answered (its connection waits to be accepted), and is
	// once one of them closes; serve warns that it reached the limit.
	const limit = 3
	env, _, stderr := newTestEnv(map[string]string{"CALLLEDGER_API_KEYS": "acme:" + serveKillToken})
	m := NewMain(env)
	require.NoError(t, m.ParseFlags([]string{"--data", t.TempDir(), "--addr", "127.0.0.1:0", "--max-connections", "3"}))
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() { m.Close() })
	addr := m.listener.Addr().String()

	var held []net.Conn
	for range limit {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")) // no blank line: headers unfinished
		require.NoError(t, err)
		held = append(held, c)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(timeout time.Duration) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL()+"/healthz", nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	_, err := get(500 * time.Millisecond)
	require.ErrorIs(t, err, context.DeadlineExceeded, "not answered while %d connections are held", limit)

	require.NoError(t, held[0].Close())
	code, err := get(10 * time.Second)
	require.NoError(t, err, "answered once a held connection closed")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, stderr.String(), "open connections reached the limit")
	assert.Contains(t, stderr.String(), "max_connections=3")
}
