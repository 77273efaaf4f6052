package main

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestToolsCollectAtGosDefaultTarget(t *testing.T) {
	// Goal: every command but serve runs at Go's GC target (100), serve at
	// gcPercent, unless GOGC is set: a tool's heap at 1000 grew to eleven
	// times its live one (verify of 3.7M events peaked at 3.3 GB).
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	// The commands' help goes nowhere.
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer devNull.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = devNull, devNull
	defer func() { os.Stdout, os.Stderr = stdout, stderr }()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"help"}, 100},
		{[]string{"verify", "--help"}, 100},
		{[]string{"billing", "--help"}, 100},
	} {
		debug.SetGCPercent(gcPercent)
		runProcess(tc.args)
		assert.Equal(t, tc.want, debug.SetGCPercent(gcPercent), "%v", tc.args)
	}
	assert.Equal(t, gcPercent, gcPercentFor([]string{"serve", "--addr", "127.0.0.1:0"}))
	assert.Equal(t, 1000, gcPercent, "serve's target, as the README says")
}
