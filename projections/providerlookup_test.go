package projections_test

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
	"github.com/callledger/callledger/projections"
)

// lookupKeys returns the keys of the provider lookup ('p') in the read-model
// database in dir, which no projector may hold open.
func lookupKeys(t *testing.T, dir string) []string {
	t.Helper()
	return embeddedtest.Keys(t, dir, []byte("p"), []byte("q"))
}

func TestNoProviderLookup(t *testing.T) {
	// Goal: the read models write no provider lookup ('p'), which no route
	// read; the entries an earlier build wrote are left out of Digest, so
	// that its read models digest as they do without them, and as their
	// rebuild, which drops them, does.
	store := openStore(t)
	dir := t.TempDir()
	_, _, last := recordingCalls(t, store) // calls with provider ids
	p, err := projections.Open(dir, store, testOptions())
	require.NoError(t, err)
	stop := startRun(t, p)
	waitFor(t, p, last)
	stop()
	want, err := p.Digest(context.Background())
	require.NoError(t, err)
	require.NoError(t, p.Close())
	assert.Empty(t, lookupKeys(t, dir), "no provider lookup is written")

	// What an earlier build left beside the same read models: its lookup
	// entries, 'p' + account, provider, provider id -> call id.
	db, err := pebble.Open(dir, &pebble.Options{})
	require.NoError(t, err)
	for _, k := range []string{"pAC-one\x00\x01openphone\x00\x01rec-a\x00\x01", "pAC-two\x00\x01openphone\x00\x01rec-b\x00\x01"} {
		require.NoError(t, db.Set([]byte(k), make([]byte, 16), pebble.Sync))
	}
	require.NoError(t, db.Close())
	require.Len(t, lookupKeys(t, dir), 2)

	p = openProjector(t, dir, store, testOptions())
	got, err := p.Digest(context.Background())
	require.NoError(t, err)
	assert.Equal(t, want, got, "an earlier build's lookup entries are left out of the digest")
	_, err = p.Rebuild(context.Background())
	require.NoError(t, err)
	got, err = p.Digest(context.Background())
	require.NoError(t, err)
	assert.Equal(t, want, got)
	require.NoError(t, p.Close())
	assert.Empty(t, lookupKeys(t, dir), "a rebuild drops them")
}
