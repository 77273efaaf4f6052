package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// stackError formats as Pebble's errors (cockroachdb/errors) do: its text
// with %v, and a stack trace after it with %+v.
type stackError struct{}

func (stackError) Error() string { return "pebble: file 000007: checksum mismatch" }

func (e stackError) Format(s fmt.State, verb rune) {
	fmt.Fprint(s, e.Error())
	if verb == 'v' && s.Flag('+') {
		fmt.Fprint(s, "\n(1) attached stack trace\n  -- stack trace:\n  | github.com/cockroachdb/pebble/v2/sstable.(*Reader).readBlock")
	}
}

func TestLoggerWritesErrorsAsTheirText(t *testing.T) {
	// Goal: the commands' logger writes an error attribute as its text, not
	// as slog's %+v of it, which Pebble's errors fill with a stack trace;
	// other values are written as slog writes them.
	var buf bytes.Buffer
	log := newLogger(&buf, slog.LevelInfo)
	log.Error("read failed", "err", stackError{}, "wrapped", fmt.Errorf("read $all: %w", stackError{}), "n", 3)
	log.Debug("not at this level")
	_, line, ok := strings.Cut(buf.String(), " level=")
	assert.True(t, ok, buf.String())
	assert.Equal(t, `ERROR msg="read failed" err="pebble: file 000007: checksum mismatch" wrapped="read $all: pebble: file 000007: checksum mismatch" n=3`+"\n", line)
}
