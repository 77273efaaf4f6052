package projections_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
	"github.com/callledger/callledger/projections"
)

// crashChildDirEnv names the data directory of a crash child; when it is
// set, TestReadModelsCrashChild runs as the child that TestReadModelsCrash
// kills.
const crashChildDirEnv = "PROJECTIONS_CRASH_CHILD_DIR"

// Bounds of the crash test.
const (
	crashAppliedMin = 3000             // events the child's read models hold before the kill
	crashWaitMax    = 60 * time.Second // the child must get there within this
	crashChildLife  = 90 * time.Second // a child nobody kills stops on its own
)

// TestReadModelsCrashChild is the child process of TestReadModelsCrash: it
// writes calls while a Projector runs, and prints how many events the read
// models hold after each round, until it is killed.
func TestReadModelsCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildDirEnv)
	if dir == "" {
		t.Skip("runs only as the child process of TestReadModelsCrash")
	}
	store := openStoreAt(t, filepath.Join(dir, "events"))
	// Small memtables, flushed while the child runs, so that the kill
	// finds read models in sstables, memtables and the WAL.
	opts := testOptions()
	opts.MemTableBytes = 1 << 20
	p := openProjector(t, filepath.Join(dir, "readmodels"), store, opts)
	startRun(t, p)
	g := newGenerator(11, 4000, 6)
	clk := newClock()
	deadline := time.Now().Add(crashChildLife)
	for more := true; more && time.Now().Before(deadline); {
		var last eventstore.Position
		last, more = g.writeSome(t, store, clk, 300, 50, 4)
		waitFor(t, p, last)
		fmt.Printf("APPLIED %d\n", p.Status().Events)
	}
	time.Sleep(time.Until(deadline)) // written out: wait for the kill
}

// TestReadModelsCrash kills a process with SIGKILL while its projector
// applies events (see doc.go, "What is synced"), and checks what it leaves:
// read models that reopen, a checkpoint that accounts for exactly the
// events before it, and read models that, caught up from it, are exactly
// those a rebuild makes, so that no batch the kill interrupted is lost or
// counted twice.
func TestReadModelsCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	applied := runReadModelsCrashChild(t, dir)
	t.Logf("the child's read models held %d events before SIGKILL", applied)

	ctx := context.Background()
	store := openStoreAt(t, filepath.Join(dir, "events"))
	end, err := eventstore.LogEnd(ctx, store)
	require.NoError(t, err)
	p := openProjector(t, filepath.Join(dir, "readmodels"), store, testOptions())
	st := p.Status()
	t.Logf("reopened at %d events of %d", st.Events, end.Commit)
	// The embedded store's positions count its events from 1, and every
	// event of the log is a call's: a checkpoint's count is its position.
	assert.Equal(t, st.Checkpoint.Commit, st.Events, "the checkpoint counts the events up to it")
	assert.False(t, end.Less(st.Checkpoint), "the checkpoint is within the log")

	startRun(t, p)
	waitFor(t, p, end)
	caughtUp, err := p.Digest(ctx)
	require.NoError(t, err)
	billed, err := p.Billing(ctx, projections.BillingQuery{GroupBy: []string{"account", "provider", "currency", "day"}})
	require.NoError(t, err)

	stats, err := p.Rebuild(ctx)
	require.NoError(t, err)
	require.Equal(t, end, stats.Checkpoint)
	rebuilt, err := p.Digest(ctx)
	require.NoError(t, err)
	assert.Equal(t, rebuilt, caughtUp, "read models caught up after the kill are those a rebuild makes")
	rebilled, err := p.Billing(ctx, projections.BillingQuery{GroupBy: []string{"account", "provider", "currency", "day"}})
	require.NoError(t, err)
	assert.Equal(t, rebilled, billed, "billing totals caught up after the kill are those a rebuild sums")
}

// runReadModelsCrashChild starts the child on dir, kills it with SIGKILL
// once its read models hold crashAppliedMin events, and returns the last
// count it printed.
func runReadModelsCrashChild(t *testing.T, dir string) uint64 {
	t.Helper()
	child := embeddedtest.StartChild(t, "TestReadModelsCrashChild", "APPLIED ", crashChildDirEnv+"="+dir)
	// On a failure, the child is killed first: its other output is read
	// once it is done.
	kill := func() error {
		serr, werr := child.Kill(nil, nil)
		switch {
		case serr != nil:
			return serr
		case werr == nil:
			return errors.New("the child exited by itself")
		}
		return nil
	}

	var applied uint64
	giveUp := time.After(crashWaitMax)
	for applied < crashAppliedMin {
		select {
		case line, ok := <-child.Lines:
			if !ok {
				_ = kill()
				t.Fatalf("the child ended before its read models held %d events (it printed %d):\n%s",
					crashAppliedMin, applied, child.Output())
			}
			if n, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "APPLIED ")), 10, 64); err == nil {
				applied = n
			}
		case <-giveUp:
			_ = kill()
			t.Fatalf("the child's read models held %d events after %s, want %d:\n%s",
				applied, crashWaitMax, crashAppliedMin, child.Output())
		}
	}
	require.NoError(t, kill(), "the child was killed")
	return applied
}
