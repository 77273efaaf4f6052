package main

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
)

// dirNames lists the names in dir, to tell whether a command left files
// there.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestSpoolExport(t *testing.T) {
	// Goal: spoolExport, which lets an import into KurrentDB check stdin
	// whole before appending anything, returns a copy of an intact archive
	// that reads back byte for byte from its start, with the check's
	// counts; an archive cut short, one with a broken chain, and an input
	// that fails to read are refused with the check's error, leaving no
	// copy behind in os.TempDir().
	ctx := context.Background()
	_, lines := exportArchive(t, 24, 10)
	end := len(lines) - 1
	whole := strings.Join(lines, "")
	errRead := errors.New("the pipe broke")

	for _, tc := range []struct {
		name  string
		input io.Reader
		want  error // nil: the archive is intact
	}{
		{"whole", strings.NewReader(whole), nil},
		{"cut short", strings.NewReader(strings.Join(lines[:end], "")), eventstore.ErrExportIncomplete},
		{"a line missing", strings.NewReader(strings.Join(lines[:3], "") + strings.Join(lines[4:], "")), eventstore.ErrChainBroken},
		{"a failing read", io.MultiReader(strings.NewReader(strings.Join(lines[:3], "")), iotest.ErrReader(errRead)), errRead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			f, stats, err := spoolExport(ctx, tc.input, nil)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				assert.Nil(t, f)
				assert.Empty(t, dirNames(t, tmp), "no copy is left")
				return
			}
			require.NoError(t, err)
			require.NotNil(t, f)
			if isUnnamed(f) {
				assert.Empty(t, dirNames(t, tmp), "an unnamed copy: not even a killed import leaves it")
			} else {
				assert.Len(t, dirNames(t, tmp), 1, "the copy is in os.TempDir()")
			}
			assert.Equal(t, uint64(end-1), stats.Events)
			assert.Equal(t, uint64(10), stats.Streams)
			assert.Equal(t, 2, stats.Version)
			copied, err := io.ReadAll(f)
			require.NoError(t, err)
			assert.Equal(t, whole, string(copied), "the copy reads back whole from its start")
			removeSpool(f)
			assert.Empty(t, dirNames(t, tmp), "removeSpool removes the copy")
		})
	}
}

func TestSpoolCopyFailureSaysSo(t *testing.T) {
	// Goal: when spoolExport cannot write its copy (a full disk, here
	// /dev/full), the check's error says the copy failed, not the input,
	// and keeps the cause for errors.Is.
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full to fill: %v", err)
	}
	t.Cleanup(func() { _ = full.Close() })
	_, lines := exportArchive(t, 25, 3)
	input := strings.NewReader(strings.Join(lines, ""))
	_, err = eventstore.CheckExport(context.Background(), io.TeeReader(input, spoolCopy{full}), nil)
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.Contains(t, err.Error(), "copy the input to a temporary file to check it whole before importing it: ")
}
