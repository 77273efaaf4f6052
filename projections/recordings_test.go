package projections_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

// recordingCalls writes two calls with recordings, of two accounts: a
// created with one recording, which a later event adds a second to, then
// deleted; b created with one. It returns the calls, each recording's sid
// mapped to its call, a (whose id is no recording's sid) and the position
// of the last append.
func recordingCalls(t *testing.T, store eventstore.Store) (map[uuid.UUID]uuid.UUID, uuid.UUID, eventstore.Position) {
	t.Helper()
	clk := newClock()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	a, b := uuid.New(), uuid.New()
	r1 := domain.Recording{ContentType: "audio/mpeg", URL: "https://rec.example.com/a1.mp3"}
	r2 := domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE2", URL: "https://rec.example.com/a2.mp3"}
	r3 := domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE3", URL: "https://rec.example.com/b.mp3"}
	ca := created(a, "AC-one", "openphone", "rec-a", start)
	ca.Recordings = []domain.Recording{r1}
	appendEvents(t, store, clk, "AC-one", a, ca)
	appendEvents(t, store, clk, "AC-one", a, domain.CallRecordingAdded{Recording: r2})
	cb := created(b, "AC-two", "openphone", "rec-b", start)
	cb.Recordings = []domain.Recording{r3}
	appendEvents(t, store, clk, "AC-two", b, cb)
	last := appendEvents(t, store, clk, "AC-one", a, domain.CallDeleted{DeletedAt: start.Add(time.Hour)})
	return map[uuid.UUID]uuid.UUID{r1.SID(a): a, r2.SID(a): a, r3.SID(b): b}, a, last.Position
}

// requireRecordingIndex checks that p finds every recording of want, and
// none that is no recording's.
func requireRecordingIndex(t *testing.T, p *projections.Projector, want map[uuid.UUID]uuid.UUID, notRecording uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	for sid, call := range want {
		got, err := p.RecordingCall(ctx, sid)
		require.NoError(t, err, "recording %s", sid)
		assert.Equal(t, call, got, "recording %s", sid)
	}
	for _, sid := range []uuid.UUID{uuid.New(), notRecording} {
		_, err := p.RecordingCall(ctx, sid)
		assert.ErrorIs(t, err, projections.ErrNotFound)
	}
}

func TestRecordingIndex(t *testing.T) {
	// Goal: the recording index finds the call of every recording by its
	// sid (domain.Recording.SID), whether a creation or a later event added
	// it, a deleted call's too (the caller checks the call), and a rebuild
	// writes the same entries as the live runner.
	store, p := runningProjector(t)
	want, a, last := recordingCalls(t, store)
	waitFor(t, p, last)
	requireRecordingIndex(t, p, want, a)
	live, err := p.Digest(context.Background())
	require.NoError(t, err)

	_, err = p.Rebuild(context.Background())
	require.NoError(t, err)
	requireRecordingIndex(t, p, want, a)
	rebuilt, err := p.Digest(context.Background())
	require.NoError(t, err)
	assert.Equal(t, live, rebuilt)
	need, err := p.NeedsRebuild()
	require.NoError(t, err)
	assert.False(t, need)
}

func TestRecordingIndexOfEarlierBuild(t *testing.T) {
	// Goal: read models written by a build before the recording index
	// (format 1: no 'r' keys) still open, say that they need a rebuild, and
	// find their recordings once rebuilt, which stamps the current format.
	store := openStore(t)
	dir := t.TempDir()
	want, a, last := recordingCalls(t, store)
	p, err := projections.Open(dir, store, testOptions())
	require.NoError(t, err)
	stop := startRun(t, p)
	waitFor(t, p, last)
	stop()
	require.NoError(t, p.Close())

	// What an earlier build left: its format stamp, and no recording index.
	db, err := pebble.Open(dir, &pebble.Options{})
	require.NoError(t, err)
	require.NoError(t, db.Set([]byte("m/format"), []byte("callledger-projections/1"), pebble.Sync))
	require.NoError(t, db.DeleteRange([]byte("r"), []byte("s"), pebble.Sync))
	require.NoError(t, db.Close())

	p = openProjector(t, dir, store, testOptions())
	need, err := p.NeedsRebuild()
	require.NoError(t, err)
	assert.True(t, need)
	for sid := range want {
		_, err := p.RecordingCall(context.Background(), sid)
		require.ErrorIs(t, err, projections.ErrNotFound, "not indexed before the rebuild")
	}
	_, err = p.Rebuild(context.Background())
	require.NoError(t, err)
	need, err = p.NeedsRebuild()
	require.NoError(t, err)
	assert.False(t, need)
	requireRecordingIndex(t, p, want, a)
}

func TestRecordingIndexDatesRecordings(t *testing.T) {
	// Goal: the recording index dates each recording with the time of the
	// event that added it (a creation's, a CallRecordingAdded's, in one
	// batch or in later ones; a CallRecordingChanged moves none), as a fold
	// of the call's events dates them, live and rebuilt alike (the same
	// digest); entries of the builds before, which hold the call's id
	// alone, date nothing (ok false) and still find their call.
	ctx := context.Background()
	store, dir, p, stop := runningProjectorIn(t)
	clk := newClock()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	rec := func(n string) domain.Recording {
		return domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE" + n, URL: "https://rec.example.com/" + n + ".mp3"}
	}
	a := uuid.New()
	ca := created(a, "acct", "openphone", "dated-a", start)
	ca.Recordings = []domain.Recording{rec("1"), rec("2")}
	appendEvents(t, store, clk, "acct", a, ca, domain.CallRecordingAdded{Recording: rec("3")})
	appendEvents(t, store, clk, "acct", a, domain.CallRecordingAdded{Recording: rec("4")})
	changed := rec("1")
	changed.URL = "https://rec.example.com/1-reissued.mp3"
	last := appendEvents(t, store, clk, "acct", a, domain.CallRecordingChanged{Recording: changed}).Position
	waitFor(t, p, last)

	// What a fold of the call's events dates each recording with.
	recs, err := store.ReadStream(ctx, domain.StreamID(a), 0, 100)
	require.NoError(t, err)
	var s domain.State
	var want []time.Time
	for _, r := range recs {
		env, err := domain.UnmarshalEnvelope(r.Type, r.Data, r.Metadata)
		require.NoError(t, err)
		s = domain.Evolve(s, env)
		for len(want) < len(s.Call.Recordings) {
			want = append(want, env.Metadata.Time.UTC())
		}
	}
	require.Len(t, want, 4)
	require.NotEqual(t, want[1], want[2], "added by two events of one append")

	dated := func(p *projections.Projector) ([]time.Time, bool) {
		t.Helper()
		st, err := p.Call(ctx, a)
		require.NoError(t, err)
		dates, ok, err := p.RecordingDates(ctx, a, st.Call.Recordings)
		require.NoError(t, err)
		return dates, ok
	}
	dates, ok := dated(p)
	require.True(t, ok)
	assert.Equal(t, want, dates)
	live, err := p.Digest(ctx)
	require.NoError(t, err)

	stop()
	_, err = p.Rebuild(ctx)
	require.NoError(t, err)
	dates, ok = dated(p)
	require.True(t, ok)
	assert.Equal(t, want, dates, "rebuilt")
	rebuilt, err := p.Digest(ctx)
	require.NoError(t, err)
	assert.Equal(t, live, rebuilt)

	_, ok, err = p.RecordingDates(ctx, a, []domain.Recording{rec("unknown")})
	require.NoError(t, err)
	assert.False(t, ok, "a recording the index does not hold")

	// The entries of an earlier build: the call's id alone.
	require.NoError(t, p.Close())
	db, err := pebble.Open(dir, &pebble.Options{})
	require.NoError(t, err)
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte("r"), UpperBound: []byte("s")})
	require.NoError(t, err)
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		require.Len(t, it.Value(), 28, "the call's id and a time")
		require.NoError(t, db.Set(bytes.Clone(it.Key()), bytes.Clone(it.Value()[:16]), pebble.Sync))
		n++
	}
	require.NoError(t, it.Close())
	require.NoError(t, db.Close())
	require.Equal(t, 4, n)
	p = openProjector(t, dir, store, testOptions())
	_, ok = dated(p)
	assert.False(t, ok, "entries without times date nothing")
	got, err := p.RecordingCall(ctx, rec("3").SID(a))
	require.NoError(t, err)
	assert.Equal(t, a, got)
}
