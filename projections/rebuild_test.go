package projections_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/projections"
)

// TestCrashMidRebuild checks what a process that dies while a Rebuild
// builds aside leaves behind (see doc.go, "What is synced"): the read models
// and checkpoint from before the rebuild, untouched, and a build directory
// that the next Open deletes.
func TestCrashMidRebuild(t *testing.T) {
	store := openStore(t)
	dir := t.TempDir()
	ctx := context.Background()
	g := newGenerator(5, 150, 5)
	last, _ := g.writeSome(t, store, newClock(), 400, 50, 4)

	p, err := projections.Open(dir, store, testOptions())
	require.NoError(t, err)
	stats, err := p.Rebuild(ctx)
	require.NoError(t, err)
	require.Equal(t, last, stats.Checkpoint)
	want, err := p.Digest(ctx)
	require.NoError(t, err)
	require.NoError(t, p.Close())

	// A crash mid-rebuild leaves a build database with part of the read
	// models in it, never swapped in.
	build := filepath.Join(dir, "rebuild.tmp")
	bdb, err := pebble.Open(build, &pebble.Options{DisableWAL: true})
	require.NoError(t, err)
	require.NoError(t, bdb.Set([]byte("m/checkpoint"), []byte(`{"events":1}`), pebble.NoSync))
	require.NoError(t, bdb.Flush())
	require.NoError(t, bdb.Close())

	p = openProjector(t, dir, store, testOptions())
	_, err = os.Stat(build)
	assert.True(t, os.IsNotExist(err), "Open deletes the unfinished build: %v", err)
	got, err := p.Digest(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, got, "the read models from before the rebuild")
	assert.Equal(t, last, p.Status().Checkpoint)
	assert.False(t, p.Status().Rebuilding)
}

// TestQueriesDuringRebuildSeePreviousModels checks that a Rebuild builds
// aside: until it swaps its result in, Status reports its progress while
// queries and WaitFor keep seeing the previous read models and checkpoint.
func TestQueriesDuringRebuildSeePreviousModels(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	g := newGenerator(9, 400, 6)
	clk := newClock()
	first, _ := g.writeSome(t, store, clk, 600, 50, 4)
	p := openProjector(t, t.TempDir(), store, testOptions())
	_, err := p.Rebuild(ctx)
	require.NoError(t, err)
	before, err := p.Digest(ctx)
	require.NoError(t, err)
	last, _ := g.writeSome(t, store, clk, 1500, 50, 4)

	type seen struct {
		rebuilding bool
		checkpoint bool // the previous checkpoint still satisfies WaitFor, the next not
		digest     string
	}
	observed := make(chan seen, 1)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				observed <- seen{}
				return
			default:
			}
			st := p.Status()
			if !st.Rebuilding || st.Checkpoint.Commit <= first.Commit {
				continue // not started, or not past the old log yet
			}
			d, err := p.Digest(ctx)
			if err != nil {
				observed <- seen{}
				return
			}
			wctx, wcancel := context.WithCancel(ctx)
			wcancel()
			waitOld := p.WaitFor(wctx, first)
			waitNew := p.WaitFor(wctx, st.Checkpoint)
			observed <- seen{rebuilding: true, checkpoint: waitOld == nil && waitNew != nil, digest: d}
			return
		}
	}()
	stats, err := p.Rebuild(ctx)
	close(stop)
	require.NoError(t, err)
	assert.Equal(t, last, stats.Checkpoint)
	s := <-observed
	if !s.rebuilding {
		t.Skip("the rebuild ended before it could be observed")
	}
	assert.True(t, s.checkpoint, "WaitFor follows the previous checkpoint during a rebuild")
	assert.Equal(t, before, s.digest, "queries see the previous read models during a rebuild")
	assert.False(t, p.Status().Rebuilding)
	waitFor(t, p, last)
}

// TestRebuildOverReusedPages checks that reading the log into pages that are
// reused (the embedded store is an eventstore.PageReader) never lets a page
// be read into while records of it still wait to be decoded: with pages and
// chunks of sizes that do not divide each other and few chunks in flight,
// so that every page is cut into chunks across page boundaries and read into
// again and again, a Rebuild, and a Run that reads its backlog in pages and
// then live events one by one, give every call view as its stream folded
// one by one.
func TestRebuildOverReusedPages(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	g := newGenerator(13, 500, 6)
	clk := newClock()
	backlog, _ := g.writeSome(t, store, clk, 1200, 60, 4)
	o := testOptions()
	o.ReadPageEvents, o.ChunkEventsMax, o.ChunksInFlightMax, o.DecodeWorkers = 37, 5, 3, 3

	p := openProjector(t, t.TempDir(), store, o)
	stats, err := p.Rebuild(ctx)
	require.NoError(t, err)
	require.Equal(t, backlog, stats.Checkpoint)
	checkCallViews(t, p, foldAll(t, store))

	live := openProjector(t, t.TempDir(), store, o)
	startRun(t, live)
	last, _ := g.writeSome(t, store, clk, 600, 60, 4)
	waitFor(t, live, last)
	states := foldAll(t, store)
	checkCallViews(t, live, states)
	_, err = p.Rebuild(ctx)
	require.NoError(t, err)
	checkCallViews(t, p, states)
}

// checkCallViews checks that p's call view of every call in states is that state.
func checkCallViews(t *testing.T, p *projections.Projector, states map[uuid.UUID]domain.State) {
	t.Helper()
	require.NotEmpty(t, states)
	assert.Zero(t, p.Status().Failures)
	for id, s := range states {
		got, err := p.Call(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, s, got, "call %s", id)
	}
}
