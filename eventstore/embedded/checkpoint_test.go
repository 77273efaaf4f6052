package embedded_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

func TestCheckpointWhileAppending(t *testing.T) {
	// Goal: a checkpoint taken while appends go on opens as a store of its
	// own that holds a whole prefix of the log (what the store held then)
	// and verifies (both hash chains); the store goes on unchanged; a
	// checkpoint into a directory that exists, or of a closed store, is an
	// error; LockHeld tells a held database from a free one.
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, filepath.Join(dir, "events"), testOptions())
	for i := range 100 {
		_, err := s.Append(ctx, fmt.Sprintf("call-%d", i%7), eventstore.Any(), events(2, "E"))
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, err := s.Append(ctx, fmt.Sprintf("call-%d", i%11), eventstore.Any(), events(1, "F"))
			if !assert.NoError(t, err) {
				return
			}
		}
	})
	copyDir := filepath.Join(dir, "copy")
	require.NoError(t, s.Checkpoint(ctx, copyDir))
	close(stop)
	wg.Wait()
	acked, _, err := s.Head(ctx)
	require.NoError(t, err)

	assert.True(t, embedded.LockHeld(filepath.Join(dir, "events")))
	assert.False(t, embedded.LockHeld(copyDir))
	c := openStore(t, copyDir, testOptions())
	assert.True(t, embedded.LockHeld(copyDir))
	report, err := eventstore.Verify(ctx, c, nil)
	require.NoError(t, err)
	require.True(t, report.OK, "%v", report.Problem)
	assert.GreaterOrEqual(t, report.HeadPosition.Commit, uint64(200), "the appends before the checkpoint")
	assert.LessOrEqual(t, report.HeadPosition.Commit, acked.Commit, "no more than the store holds")
	copied, err := c.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	original, err := s.ReadAll(ctx, eventstore.Start, len(copied))
	require.NoError(t, err)
	assert.Equal(t, original, copied, "a prefix of the log")

	assert.Error(t, s.Checkpoint(ctx, copyDir), "into a directory that exists")
	require.NoError(t, s.Close())
	assert.ErrorIs(t, s.Checkpoint(ctx, filepath.Join(dir, "late")), eventstore.ErrClosed)
}

// TestCheckpointCopiesAShortLog checks that a checkpoint flushes the
// memtable before it copies, and cuts the copied log where its records
// end: the copy's write-ahead log holds what came after the flush, not
// every event since the last one (which its reader would replay), nor the
// tail of the past log whose file Pebble recycled for it (the second
// copy's: ~2.7 MB uncut), and the copy still holds every event.
func TestCheckpointCopiesAShortLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, filepath.Join(dir, "events"), testOptions())
	pad := strings.Repeat("x", 1000)
	for round := range 3 {
		for i := range 2000 {
			_, err := s.Append(ctx, fmt.Sprintf("call-%d", i%13), eventstore.Any(), []eventstore.EventData{{
				ID: uuid.New(), Type: "E", Data: []byte(fmt.Sprintf(`{"i":%d,"pad":%q}`, i, pad)),
			}})
			require.NoError(t, err)
		}
		copyDir := filepath.Join(dir, fmt.Sprintf("copy-%d", round))
		require.NoError(t, s.Checkpoint(ctx, copyDir))
		logBytes, logs := embeddedtest.LogBytes(t, copyDir)
		assert.Less(t, logBytes, int64(64<<10), "copy %d's log (%d files), after ~2 MB of events", round, logs)

		c := openStore(t, copyDir, testOptions())
		copied, err := c.ReadAll(ctx, eventstore.Start, 0)
		require.NoError(t, err)
		assert.Len(t, copied, 2000*(round+1), "copy %d", round)
		report, err := eventstore.Verify(ctx, c, nil)
		require.NoError(t, err)
		assert.True(t, report.OK, "copy %d: %v", round, report.Problem)
		require.NoError(t, c.Close())
	}
}
