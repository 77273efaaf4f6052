package embedded_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/storetest"
)

// testOptions are small enough for many stores in one test run.
func testOptions() embedded.Options {
	return embedded.Options{
		MemTableSize:     4 << 20,
		BlockCacheSize:   8 << 20,
		HeadCacheStreams: 64,
	}
}

// openStore opens a store in dir and closes it when the test ends.
func openStore(tb testing.TB, dir string, opts embedded.Options) *embedded.Store {
	tb.Helper()
	s, err := embedded.Open(dir, opts)
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) eventstore.Store {
		return openStore(t, t.TempDir(), testOptions())
	})
}

// TestConformanceWithoutHeadCache runs the suite with every revision check
// reading Pebble, so both paths of the check are exercised.
func TestConformanceWithoutHeadCache(t *testing.T) {
	if testing.Short() {
		t.Skip("the cached path runs in TestConformance")
	}
	storetest.Run(t, func(t testing.TB) eventstore.Store {
		opts := testOptions()
		opts.HeadCacheStreams = -1
		return openStore(t, t.TempDir(), opts)
	})
}

// TestConformanceUnsynced runs the suite on a store that acknowledges
// appends before their sync (Options.Unsynced, for import): it keeps every
// other promise of the contract.
func TestConformanceUnsynced(t *testing.T) {
	storetest.Run(t, func(t testing.TB) eventstore.Store {
		opts := testOptions()
		opts.Unsynced = true
		return openStore(t, t.TempDir(), opts)
	})
}

// TestUnsyncedAppendsAreKeptByClose checks that the appends an Unsynced
// store acknowledged are all there, hash chains whole, once it is closed
// and opened again: Close syncs what was applied.
func TestUnsyncedAppendsAreKeptByClose(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := testOptions()
	opts.Unsynced = true
	s, err := embedded.Open(dir, opts)
	require.NoError(t, err)
	var last eventstore.AppendResult
	for i := range 200 {
		last, err = s.Append(ctx, fmt.Sprintf("call-%d", i%17), eventstore.Any(), events(3, "E"))
		require.NoError(t, err)
		assert.False(t, last.Replayed)
	}
	before, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.Len(t, before, 600)
	require.NoError(t, s.Close())

	s = openStore(t, dir, testOptions())
	after, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	report, err := eventstore.Verify(ctx, s, nil)
	require.NoError(t, err)
	assert.True(t, report.OK, "%v", report.Problem)
	assert.Equal(t, last.Position, report.HeadPosition)
}

func events(n int, typ string) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		id := uuid.New()
		out[i] = eventstore.EventData{
			ID:       id,
			Type:     typ,
			Data:     []byte(fmt.Sprintf(`{"id":%q,"i":%d}`, id, i)),
			Metadata: []byte(`{"by":"test"}`),
		}
	}
	return out
}

// TestReadMissingStreamError checks that the error of a read of a stream
// that does not exist names the stream and wraps ErrStreamNotFound.
func TestReadMissingStreamError(t *testing.T) {
	s := openStore(t, t.TempDir(), testOptions())
	_, err := s.ReadStream(t.Context(), "call-missing", 0, 10)
	require.ErrorIs(t, err, eventstore.ErrStreamNotFound)
	assert.Equal(t, "read stream call-missing: "+eventstore.ErrStreamNotFound.Error(), err.Error())
}
