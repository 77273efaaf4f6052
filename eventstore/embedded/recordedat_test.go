package embedded_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// TestRecordedAtNeverGoesBackwards steps the store's clock back, forward,
// and back again across a reopen, and checks that RecordedAt along $all
// never decreases: an event is recorded at the clock's time, or at the last
// event's when the clock reads earlier; a clock more than a second behind
// is logged once until it catches up.
func TestRecordedAtNeverGoesBackwards(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 500, time.UTC)
	var clock atomic.Int64
	logs := &embeddedtest.LogBuffer{}
	opts := testOptions()
	opts.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))

	steps := []struct {
		name     string
		clock    time.Time
		reopen   bool
		recorded time.Time
		warns    int // clock warnings logged so far
	}{
		{"OnTime", t0, false, t0, 0},
		{"ClockStepsBackAnHour", t0.Add(-time.Hour), false, t0, 1},
		{"StillBehindIsNotLoggedAgain", t0.Add(-time.Hour + time.Minute), false, t0, 1},
		{"CaughtUp", t0.Add(time.Second), false, t0.Add(time.Second), 1},
		{"BehindByLessThanASecondIsNotLogged", t0.Add(500 * time.Millisecond), false, t0.Add(time.Second), 1},
		{"ReopenedOnAMachineBehind", t0.Add(-24 * time.Hour), true, t0.Add(time.Second), 2},
		{"AfterReopenCaughtUp", t0.Add(time.Minute), false, t0.Add(time.Minute), 2},
	}
	s, err := embedded.Open(dir, opts)
	require.NoError(t, err)
	defer func() { assert.NoError(t, s.Close()) }()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clock.Store(st.clock.UnixNano())
			if st.reopen {
				require.NoError(t, s.Close())
				s, err = embedded.Open(dir, opts)
				require.NoError(t, err)
			}
			stream := "call-" + uuid.NewString()
			_, err := s.Append(ctx, stream, eventstore.NoStream(), events(1, "CallUpserted"))
			require.NoError(t, err)
			recs, err := s.ReadStream(ctx, stream, 0, 1)
			require.NoError(t, err)
			require.Len(t, recs, 1)
			assert.Equal(t, st.recorded, recs[0].RecordedAt)
			assert.Equal(t, st.warns, strings.Count(logs.String(), "the clock is behind"), "logs:\n%s", logs.String())
		})
	}

	all, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.Len(t, all, len(steps))
	for i := 1; i < len(all); i++ {
		assert.False(t, all[i].RecordedAt.Before(all[i-1].RecordedAt), "RecordedAt at %s before the one at %s", all[i].Position, all[i-1].Position)
	}
}
