package pebblelog

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackgroundErrorsAreThrottled(t *testing.T) {
	// Goal: a flush that fails again and again (a full disk: Pebble
	// retries at once, ~100 times a second) is logged at its first error
	// and then once an interval with the number of errors between, where
	// every error was a line (an 11 MB log in minutes); a lone error long
	// after the last line is logged at once, with the errors counted
	// since that line.
	var buf bytes.Buffer
	at := time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC)
	th := &errorThrottle{log: slog.New(slog.NewTextHandler(&buf, nil)), interval: BackgroundErrorInterval, now: func() time.Time { return at }}
	full := func(i int) error { return fmt.Errorf("write 0%d.sst: %w", i, errors.New("no space left on device")) }

	// 30 seconds of errors, one every 10 ms.
	for i := range 3000 {
		th.report(full(i))
		at = at.Add(10 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 3, buf.String())
	assert.Contains(t, lines[0], `err="write 00.sst: no space left on device" unlogged=0`)
	assert.Contains(t, lines[1], `err="write 01000.sst: no space left on device" unlogged=999`)
	assert.Contains(t, lines[2], `err="write 02000.sst: no space left on device" unlogged=999`)
	for _, l := range lines {
		assert.Contains(t, l, `level=ERROR msg="pebble background error"`)
	}

	buf.Reset()
	at = at.Add(time.Hour)
	th.report(errors.New("compaction failed"))
	assert.Contains(t, buf.String(), `err="compaction failed" unlogged=999`, "the errors counted since the last line")
	buf.Reset()
	at = at.Add(time.Hour)
	th.report(errors.New("compaction failed again"))
	assert.Contains(t, buf.String(), `err="compaction failed again" unlogged=0`)
}
