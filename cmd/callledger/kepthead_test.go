package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verifyHead runs verify on dataDir and returns the head position and
// hash of its ok line.
func verifyHead(ctx context.Context, t *testing.T, dataDir string) (pos, hash string) {
	t.Helper()
	res := runTool(ctx, t, dataDir, "", "verify")
	require.Equal(t, 0, res.code, res.stderr)
	m := regexp.MustCompile(`head position (\d+), head hash ([0-9a-f]{64})`).FindStringSubmatch(res.stdout)
	require.NotNil(t, m, res.stdout)
	return m[1], m[2]
}

func TestVerifyKeptHead(t *testing.T) {
	// Goal: verify --kept-head holds a log, grown since, to the head an
	// earlier verify printed: ok when its $all chain gives that hash at
	// that position, FAILED (exit 1) when it gives another, or ends before
	// it; an export file the same way with --in; a malformed value is a
	// usage error (exit 2).
	ctx := context.Background()
	dir := t.TempDir()
	seedLedger(t, dir, genCalls(21, 40))
	pos, hash := verifyHead(ctx, t, dir)
	res := runTool(ctx, t, dir, "", "verify")
	assert.Contains(t, res.stderr, "callledger verify --kept-head "+pos+":"+hash, "the command to keep is suggested")
	seedLedger(t, dir, genCalls(22, 40)) // the log grows past the kept head
	newPos, _ := verifyHead(ctx, t, dir)
	require.NotEqual(t, pos, newPos)
	archive := filepath.Join(t.TempDir(), "log.jsonl")
	res = runTool(ctx, t, dir, "", "export", "--out", archive)
	require.Equal(t, 0, res.code, res.stderr)

	other := "0" + hash[1:]
	if other == hash {
		other = "1" + hash[1:]
	}
	n, err := strconv.ParseUint(newPos, 10, 64)
	require.NoError(t, err)
	beyond := strconv.FormatUint(n+5, 10)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"Held", []string{"--kept-head", pos + ":" + hash}, 0, "ok: the log holds the kept head (position " + pos + ", hash " + hash + ")"},
		{"HeldByTheArchive", []string{"--in", archive, "--kept-head", pos + ":" + hash}, 0, "ok: the log holds the kept head"},
		{"TheEmptyLogsHead", []string{"--kept-head", "0:" + strings.Repeat("0", 64)}, 0, "ok: the log holds the kept head (position 0"},
		{"AnotherHash", []string{"--kept-head", pos + ":" + other}, 1, "FAILED: the $all chain gives hash " + hash + " at position " + pos + ", where the kept head has " + other},
		{"AnotherHashInTheArchive", []string{"--in", archive, "--kept-head", pos + ":" + other}, 1, "FAILED: check export: line"},
		{"BeyondTheLog", []string{"--kept-head", beyond + ":" + hash}, 1, "FAILED: the log ends at position " + newPos + ", before the kept head at position " + beyond},
		{"BeyondTheArchive", []string{"--in", archive, "--kept-head", beyond + ":" + hash}, 1, "before the kept head at position " + beyond},
		{"NoColon", []string{"--kept-head", pos}, 2, "want position:hash"},
		{"BadPosition", []string{"--kept-head", "x:" + hash}, 2, `position "x"`},
		{"ShortHash", []string{"--kept-head", pos + ":abc"}, 2, "64 hex digits"},
		{"PositionZeroWithAHash", []string{"--kept-head", "0:" + hash}, 2, "position 0 is an empty log's head"},
		{"PositionZeroOfACommit", []string{"--kept-head", "0/5:" + strings.Repeat("0", 64)}, 2, `position "0/5"`},
		{"GivenTwice", []string{"--kept-head", pos + ":" + hash, "--kept-head", pos + ":" + hash}, 2, "is given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runTool(ctx, t, dir, "", append([]string{"verify"}, tc.args...)...)
			assert.Equal(t, tc.code, res.code, "stdout: %s\nstderr: %s", res.stdout, res.stderr)
			assert.Contains(t, res.stdout+res.stderr, tc.want)
			if tc.code == 0 {
				assert.NotContains(t, res.stderr, "note: keep this head", "no suggestion under a kept head")
			}
		})
	}
}
