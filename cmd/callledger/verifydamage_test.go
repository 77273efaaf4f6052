package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

func TestVerifyCommandDamagedTable(t *testing.T) {
	// Goal: a byte flipped in a block of events of one of Pebble's tables
	// makes verify print its FAILED line naming the first event it cannot
	// read and the damaged file, and exit 1, and export fail with exit 1
	// leaving no file; neither panics (Pebble's report of the damage used
	// to reach a logger that panics).
	ctx := context.Background()
	dir := t.TempDir()
	seedLedgerWith(t, dir, genCalls(5, 400), 1)
	// The table holds the events ('E' keys) in its first blocks.
	table := embeddedtest.OneTable(t, filepath.Join(dir, "events"))
	require.Greater(t, len(embeddedtest.Layout(t, table).Data), 2+4, "enough blocks that block 2 holds events")
	embeddedtest.DamageDataBlock(t, table, 2)

	res := runTool(ctx, t, dir, "", "verify")
	assert.Equal(t, 1, res.code)
	assert.Regexp(t, `^FAILED: after position (\d+): cannot read the event: read \$all after \d+: event at position \d+: unreadable: Pebble found on-disk corruption in `, res.stdout)
	assert.Contains(t, res.stdout, table+" (a table of the keys from event key 'E' (position 1) to ")
	assert.Contains(t, res.stdout, "checksum mismatch")
	assert.Regexp(t, `\n\d+ events in \d+ streams verified before it\n$`, res.stdout)
	assert.NotContains(t, res.stdout+res.stderr, "panic")
	assert.NotContains(t, res.stderr, "stack trace", "Pebble's report of the damage is logged as its text")
	m := regexp.MustCompile(`^FAILED: after position (\d+): `).FindStringSubmatch(res.stdout)
	require.Len(t, m, 2)
	after, err := strconv.ParseUint(m[1], 10, 64)
	require.NoError(t, err)
	assert.Greater(t, after, uint64(0), "the events of the blocks before it verified")
	assert.Contains(t, res.stdout, "event at position "+strconv.FormatUint(after+1, 10)+": unreadable", "the first event it cannot read follows the last it verified")

	out := filepath.Join(t.TempDir(), "ledger.jsonl")
	res = runTool(ctx, t, dir, "", "export", "--out", out)
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "callledger export: ")
	assert.Contains(t, res.stderr, "unreadable: Pebble found on-disk corruption in "+table)
	assert.NotContains(t, res.stderr, "panic")
	assert.NoFileExists(t, out)
}

func TestVerifyCommandDamagedRecordNamesStream(t *testing.T) {
	// Goal: an event whose stored record fails its checksum is reported
	// with its position and its stream and revision, which its index keys
	// confirm (the damaged record's own copy of them is not trusted).
	ctx := context.Background()
	dir := t.TempDir()
	calls := genCalls(1, 40)
	seedLedgerWith(t, dir, calls, 1) // the same event at position 17 every run
	want := readLedger(t, dir)[16]
	require.Equal(t, uint64(17), want.Position.Commit)

	flipStoredByte(t, dir, 17, -300, false)
	res := runTool(ctx, t, dir, "", "verify")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stdout, "FAILED: after position 16: cannot read the event: ")
	assert.Contains(t, res.stdout, "event at position 17: checksum ")
	assert.Contains(t, res.stdout, " (stream "+want.StreamID+", revision "+strconv.FormatUint(want.Revision, 10)+", as its stream index key names it): ")
}

func TestVerifyCommandStoreWithoutManifest(t *testing.T) {
	// Goal: a store whose MANIFEST is gone (deleted with its marker) makes
	// verify print FAILED and exit 1, and export exit 1 writing nothing,
	// with the store's files left as they were, where Pebble took the
	// directory for a new database, deleted the table holding every event,
	// and verify reported an empty log as ok.
	ctx := context.Background()
	dir := t.TempDir()
	seedLedgerWith(t, dir, genCalls(6, 50), 1)
	events := filepath.Join(dir, "events")
	table := embeddedtest.OneTable(t, events) // opening the store flushed its log into it
	embeddedtest.RemoveManifest(t, events)

	res := runTool(ctx, t, dir, "", "verify")
	assert.Equal(t, 1, res.code, res.stdout+res.stderr)
	assert.Regexp(t, `^FAILED: cannot open the event store: .*no MANIFEST`, res.stdout)
	assert.Contains(t, res.stdout, "restore the data directory from a backup")
	out := filepath.Join(t.TempDir(), "ledger.jsonl")
	res = runTool(ctx, t, dir, "", "export", "--out", out)
	assert.Equal(t, 1, res.code, res.stdout+res.stderr)
	assert.Contains(t, res.stderr, "no MANIFEST")
	assert.NoFileExists(t, out)
	assert.FileExists(t, table, "the events' table is still there")
	names, err := filepath.Glob(filepath.Join(events, "MANIFEST-*"))
	require.NoError(t, err)
	assert.Empty(t, names, "no MANIFEST was written")
}
