package embedded_test

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
)

// verifyChains recomputes every stream chain and the $all chain of recs, a
// full ReadAll, and checks that positions are 1, 2, 3, ... It returns the
// $all head hash.
func verifyChains(t *testing.T, recs []eventstore.Record) eventstore.Hash {
	t.Helper()
	var allHash eventstore.Hash
	streams := map[string]eventstore.Record{}
	for i, r := range recs {
		require.Equal(t, eventstore.Position{Commit: uint64(i + 1), Prepare: uint64(i + 1)}, r.Position, "positions are consecutive")
		var prev eventstore.Hash
		last, ok := streams[r.StreamID]
		if ok {
			require.Equal(t, last.Revision+1, r.Revision, "stream %s revisions are consecutive", r.StreamID)
			prev = last.Hash
		} else {
			require.Zero(t, r.Revision, "stream %s starts at revision 0", r.StreamID)
		}
		require.Equal(t, eventstore.ChainHash(prev, r.StreamID, r.Revision, r.ID, r.Type, r.Data, r.Metadata), r.Hash,
			"stream hash at position %s", r.Position)
		allHash = eventstore.AllChainHash(allHash, r.Position, r.Hash)
		require.Equal(t, allHash, r.AllHash, "$all hash at position %s", r.Position)
		streams[r.StreamID] = r
	}
	return allHash
}

// TestReopen checks that what a store knows survives Close and Open: the
// events, the stream heads, the idempotency index and both hash chains.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	opts := testOptions()
	opts.Now = func() time.Time { return clock }

	s, err := embedded.Open(dir, opts)
	require.NoError(t, err)
	streamA, streamB := "call-"+uuid.NewString(), "call-"+uuid.NewString()
	batchA := events(3, "CallUpserted")
	resA, err := s.Append(ctx, streamA, eventstore.NoStream(), batchA)
	require.NoError(t, err)
	_, err = s.Append(ctx, streamB, eventstore.NoStream(), events(2, "CallUpserted"))
	require.NoError(t, err)
	resA2, err := s.Append(ctx, streamA, eventstore.Exact(2), events(1, "CallAnswered"))
	require.NoError(t, err)
	before, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	headPos, headHash, err := s.Head(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = openStore(t, dir, opts)
	after, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	assert.Equal(t, before, after, "events read back identically")
	assert.Equal(t, clock.UTC(), after[0].RecordedAt, "RecordedAt keeps its nanoseconds, in UTC")
	pos, hash, err := s.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, headPos, pos)
	assert.Equal(t, headHash, hash)
	assert.Equal(t, resA2.Position, pos)

	tests := []struct {
		name   string
		stream string
		exp    eventstore.ExpectedRevision
		evs    []eventstore.EventData
		want   eventstore.AppendResult
		errIs  error
	}{
		{"RetryIsIdempotent", streamA, eventstore.NoStream(), batchA, eventstore.AppendResult{Revision: resA.Revision, Position: resA.Position, Replayed: true}, nil},
		{"StaleExactRefused", streamA, eventstore.Exact(2), events(1, "E"), eventstore.AppendResult{}, eventstore.ErrVersionConflict},
		{"NoStreamRefused", streamB, eventstore.NoStream(), events(1, "E"), eventstore.AppendResult{}, eventstore.ErrVersionConflict},
		{"DuplicateElsewhereRefused", streamB, eventstore.Any(), batchA[:1], eventstore.AppendResult{}, eventstore.ErrDuplicateEventID},
		{"ExactHeadAccepted", streamA, eventstore.Exact(3), events(2, "E"), eventstore.AppendResult{Revision: 5, Position: eventstore.Position{Commit: 8, Prepare: 8}}, nil},
		{"NewStreamAccepted", "call-" + uuid.NewString(), eventstore.NoStream(), events(1, "E"), eventstore.AppendResult{Revision: 0, Position: eventstore.Position{Commit: 9, Prepare: 9}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.Append(ctx, tt.stream, tt.exp, tt.evs)
			if tt.errIs != nil {
				require.ErrorIs(t, err, tt.errIs)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, res)
		})
	}

	all, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.Len(t, all, 9)
	allHash := verifyChains(t, all)
	_, hash, err = s.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, allHash, hash, "Head returns the $all chain's head after reopening")
}

// TestHeadCacheEviction checks that revision checks stay right when the
// bounded head cache evicts most streams and the committer reads heads back
// from Pebble.
func TestHeadCacheEviction(t *testing.T) {
	ctx := context.Background()
	opts := testOptions()
	opts.HeadCacheStreams = 4
	s := openStore(t, t.TempDir(), opts)

	const streamCount, rounds = 40, 3
	streams := make([]string, streamCount)
	for i := range streams {
		streams[i] = "evict-" + uuid.NewString()
	}
	for round := range rounds {
		for _, stream := range streams {
			exp := eventstore.NoStream()
			if round > 0 {
				exp = eventstore.Exact(uint64(round - 1))
				_, err := s.Append(ctx, stream, eventstore.Exact(uint64(round)), events(1, "E"))
				require.ErrorIs(t, err, eventstore.ErrVersionConflict, "an evicted head is read back")
			}
			res, err := s.Append(ctx, stream, exp, events(1, "E"))
			require.NoError(t, err)
			require.Equal(t, uint64(round), res.Revision)
		}
	}
	all, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.Len(t, all, streamCount*rounds)
	verifyChains(t, all)
}

// TestHeadEmptyStore checks Head on a new store: Start and the zero hash.
func TestHeadEmptyStore(t *testing.T) {
	s := openStore(t, t.TempDir(), testOptions())
	pos, hash, err := s.Head(context.Background())
	require.NoError(t, err)
	assert.Equal(t, eventstore.Start, pos)
	assert.True(t, hash.IsZero())
	require.NoError(t, s.Close())
	_, _, err = s.Head(context.Background())
	assert.ErrorIs(t, err, eventstore.ErrClosed)
}

func TestReopenKeyFilterKnowsOldKeys(t *testing.T) {
	// Goal: once a reopened store's key filter is ready (so lookups trust
	// it), the ids and streams written before the reopen are still found:
	// a retry is idempotent, a reused id is a duplicate, a stream exists.
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(dir, embedded.Options{})
	require.NoError(t, err)
	events := []eventstore.EventData{
		{ID: uuid.New(), Type: "T", Data: []byte(`{}`)},
		{ID: uuid.New(), Type: "T", Data: []byte(`{}`)},
	}
	first, err := s.Append(ctx, "old", eventstore.NoStream(), events)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, err = embedded.Open(dir, embedded.Options{})
	require.NoError(t, err)
	defer s.Close()
	require.Eventually(t, func() bool { return embedded.KeyFilterReady(s) }, 10*time.Second, time.Millisecond)

	retry, err := s.Append(ctx, "old", eventstore.NoStream(), events)
	require.NoError(t, err, "a retry of acknowledged ids")
	assert.Equal(t, eventstore.AppendResult{Revision: first.Revision, Position: first.Position, Replayed: true}, retry)
	_, err = s.Append(ctx, "other", eventstore.NoStream(), events[1:])
	require.ErrorIs(t, err, eventstore.ErrDuplicateEventID)
	_, err = s.Append(ctx, "old", eventstore.NoStream(), []eventstore.EventData{{ID: uuid.New(), Type: "T", Data: []byte(`{}`)}})
	require.ErrorIs(t, err, eventstore.ErrVersionConflict, "the stream exists")
	recs, err := s.ReadStream(ctx, "old", 0, 0)
	require.NoError(t, err)
	assert.Len(t, recs, 2)
	_, err = s.ReadStream(ctx, "never-written", 0, 0)
	require.ErrorIs(t, err, eventstore.ErrStreamNotFound)

	// New keys after the scan are found too.
	id := uuid.New()
	_, err = s.Append(ctx, "new", eventstore.NoStream(), []eventstore.EventData{{ID: id, Type: "T", Data: []byte(`{}`)}})
	require.NoError(t, err)
	_, err = s.Append(ctx, "old", eventstore.Any(), []eventstore.EventData{{ID: id, Type: "T", Data: []byte(`{}`)}})
	require.ErrorIs(t, err, eventstore.ErrDuplicateEventID)
	recs, err = s.ReadStream(ctx, "new", 0, 0)
	require.NoError(t, err)
	assert.Len(t, recs, 1)
}

func TestReopenAfterGroupsWithManyAppendsToOneStream(t *testing.T) {
	// Goal: when one group commits several appends to the same stream, the
	// stream head stored for it is the last one's (a group writes each
	// head once), so that after a reopen, with no cached heads, the stream
	// continues at the right revision with the right hash chain.
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(dir, testOptions())
	require.NoError(t, err)
	// The writers start together and append once each: all but the first
	// few wait in the queue for the committer and form its last group.
	const writers, appends = 64, 1
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			<-start
			_, err := s.Append(ctx, "hot", eventstore.Any(), events(1, "T"))
			assert.NoError(t, err)
		})
	}
	close(start)
	wg.Wait()
	require.NoError(t, s.Close())

	s = openStore(t, dir, testOptions())
	res, err := s.Append(ctx, "hot", eventstore.Exact(writers*appends-1), events(1, "T"))
	require.NoError(t, err, "the stored head is the stream's last revision")
	assert.Equal(t, uint64(writers*appends), res.Revision)
	recs, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.Len(t, recs, writers*appends+1)
	verifyChains(t, recs)
}

// TestOpenOnADiskWithoutRoomIsAnError checks that a store stopped
// cleanly does not open on a disk with less free space than Pebble takes
// at open (its MANIFEST, a write-ahead log reserved up front), with an
// error naming the directory and what to do, and opens with every event
// once the disk has room.
func TestOpenOnADiskWithoutRoomIsAnError(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var free atomic.Uint64
	free.Store(math.MaxUint64)
	opts := embedded.WithFS(testOptions(), embeddedtest.DiskWithFree(&free))
	s, err := embedded.Open(dir, opts)
	require.NoError(t, err)
	_, err = s.Append(ctx, "call-"+uuid.NewString(), eventstore.NoStream(), events(3, "CallUpserted"))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	free.Store(1 << 20)
	_, err = embedded.Open(dir, opts)
	require.ErrorIs(t, err, pebblelog.ErrNoRoomToOpen)
	assert.Contains(t, err.Error(), "free space on the disk, then start again")
	assert.Contains(t, err.Error(), dir)

	free.Store(math.MaxUint64)
	s, err = embedded.Open(dir, opts)
	require.NoError(t, err, "the refused open released the directory")
	defer s.Close()
	recs, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	assert.Len(t, recs, 3)
}

// TestOpenOnAFullDiskIsAnError checks that a store whose write-ahead log
// cannot be flushed at Open (no table can be created: a full disk) fails
// to open with an error naming the disk, where Pebble would retry the
// flush forever and Open never return (a server restarted on a full disk
// spun at 100% CPU and never bound its port); and that with room again
// the store opens with every event.
func TestOpenOnAFullDiskIsAnError(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var full atomic.Bool
	fs := embeddedtest.NoRoomForTables(&full)
	opts := embedded.WithFS(testOptions(), fs)
	s, err := embedded.Open(dir, opts)
	require.NoError(t, err)
	stream := "call-" + uuid.NewString()
	_, err = s.Append(ctx, stream, eventstore.NoStream(), events(3, "CallUpserted"))
	require.NoError(t, err)
	require.NoError(t, s.Close()) // the events stay in the write-ahead log

	full.Store(true)
	_, err = embedded.Open(dir, opts)
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.ErrorIs(t, err, pebblelog.ErrOpenGivenUp)
	assert.Contains(t, err.Error(), "free space on the disk, then start again")
	assert.Contains(t, err.Error(), dir)

	full.Store(false)
	require.Eventually(t, func() bool {
		s, err = embedded.Open(dir, opts)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "the store stays locked: %v", err)
	defer s.Close()
	recs, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	assert.Len(t, recs, 3)
}
