package projections

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
)

// TestReadModelsOnAFullDiskStopTheRunner: Goal: a commit of the read
// models whose write-ahead log cannot be written (a full disk: Pebble's
// fatal error, whose Logger.Fatalf panicked inside the runner's commit and
// took the server down with a stack trace, exit 2) stops the runner with
// an error wrapping pebblelog.ErrFatal that says to restart, shown in its
// status for readiness, and no panic; the runner does not retry against a
// database Pebble says must be reopened.
func TestReadModelsOnAFullDiskStopTheRunner(t *testing.T) {
	store, quiet := quietStore(t)

	var full atomic.Bool
	popts := DefaultOptions()
	popts.Logger = quiet
	popts.fs = embeddedtest.NoRoomForLogs(&full)
	p, err := Open(t.TempDir(), store, popts)
	require.NoError(t, err)
	ran := make(chan error, 1)
	go func() { ran <- p.Run(context.Background()) }()

	appendCall := func(pid string) {
		t.Helper()
		id := uuid.New()
		appendEvents(t, store, id, []domain.Event{
			domain.CallUpserted{Created: true, CallID: id, AccountID: "acct", Provider: "openphone", ProviderID: pid},
		}, func(int) time.Time { return time.Now() })
	}
	appendCall("before")
	require.Eventually(t, func() bool { return p.Status().EventsApplied > 0 }, 10*time.Second, 5*time.Millisecond)

	// A reader waiting for what the read models will never reach.
	beyond := eventstore.Position{Commit: 1 << 40, Prepare: 1 << 40}
	waited := make(chan error, 1)
	go func() { waited <- p.WaitFor(context.Background(), beyond) }()

	// The runner commits without syncing: the log's writer meets the full
	// disk in the background, and a later commit reports it.
	full.Store(true)
	var runErr error
	for i := 0; i < 200 && runErr == nil; i++ {
		appendCall(fmt.Sprintf("meets-full-%d", i))
		select {
		case runErr = <-ran:
		case <-time.After(20 * time.Millisecond):
		}
	}
	require.Error(t, runErr, "the runner went on past commits that could not be written")
	require.ErrorIs(t, runErr, pebblelog.ErrFatal)
	assert.ErrorIs(t, runErr, syscall.ENOSPC)
	st := p.Status()
	assert.False(t, st.Running)
	assert.Contains(t, st.LastRunError, "cannot be written until callledger is restarted")
	select {
	case err := <-waited:
		assert.ErrorIs(t, err, ErrFailed, "the waiting reader is told")
		assert.ErrorIs(t, err, syscall.ENOSPC)
	case <-time.After(10 * time.Second):
		t.Fatal("a reader waits for read models that no longer advance")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.ErrorIs(t, p.WaitFor(ctx, beyond), ErrFailed, "a later reader is told at once")
	assert.NoError(t, ctx.Err())
	assert.ErrorIs(t, p.Close(), pebblelog.ErrFatal, "Close leaves the failed database alone, and says so")
}
