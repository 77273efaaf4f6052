package projections

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// TestPanickingFoldIsRefolded: Goal: an event whose fold panics halfway (a
// domain bug; Evolve is total, so the test injects one) is recorded as a
// failure that was not folded, and the call view is the fold of the
// stream's other events, not the state the panic left half-changed.
func TestPanickingFoldIsRefolded(t *testing.T) {
	store, quiet := quietStore(t)

	id := uuid.New()
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	out := domain.DirectionOutbound
	from, to := "+15550000001", "+15550000002"
	usd := func(total string) domain.Price {
		return domain.Price{Rate: domain.MustParseDecimal("0.0135"), Total: domain.MustParseDecimal(total), Currency: "USD"}
	}
	first := usd("1.50")
	events := []domain.Event{
		domain.CallUpserted{Created: true, CallID: id, AccountID: "acct", Provider: "openphone", ProviderID: "op-1",
			Direction: &out, From: &from, To: &to, StartedAt: &start},
		domain.CallPriced{Price: first},
		domain.CallPriced{Price: usd("2.25"), PreviousPrice: &first}, // its fold panics halfway
		domain.CallDetailsChanged{Changes: domain.DetailsChanges{Summary: new("asked about a refund")}},
	}
	data := appendEvents(t, store, id, events, func(i int) time.Time { return start.Add(time.Duration(i) * time.Minute) })
	bad := data[2].ID

	p := rebuiltPanicking(t, store, quiet, func(s *domain.State, env domain.Envelope) bool {
		ev, ok := env.Event.(domain.CallPriced)
		if ok && ev.Price.Total.String() == "2.25" {
			s.Call.Details.Notes = "half-folded"
			s.Call.Price = &ev.Price
			return true
		}
		return false
	})

	got, err := p.Call(context.Background(), id)
	require.NoError(t, err)
	assert.Empty(t, got.Call.Details.Notes, "nothing of the panicked fold is left")
	require.NotNil(t, got.Call.Price)
	assert.Equal(t, "1.50", got.Call.Price.Total.String(), "the price before the event left out")
	assert.Equal(t, "asked about a refund", got.Call.Details.Summary, "the event after it is folded")
	assert.Equal(t, uint64(4), got.Version, "the stream's last revision + 1")

	failures, err := p.Failures(context.Background(), 10)
	require.NoError(t, err)
	require.Len(t, failures, 1)
	assert.Equal(t, bad.String(), failures[0].EventID)
	assert.False(t, failures[0].Folded)
	assert.Contains(t, failures[0].Error, "a domain bug")
}

func TestRefoldedCallIsIndexedWithoutDates(t *testing.T) {
	// Goal: the recordings a call gained in a batch where its fold
	// panicked and it was refolded from the store are indexed (found by
	// their sid) but not dated: the refold keeps no event times, and a
	// date the index gave would be a guess. Readers date them from the
	// events instead (RecordingDates ok false).
	store, quiet := quietStore(t)
	id := uuid.New()
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	r1 := domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE1", URL: "https://rec.example.com/1.mp3"}
	r2 := domain.Recording{ContentType: "audio/mpeg", ProviderID: "RE2", URL: "https://rec.example.com/2.mp3"}
	usd := domain.Price{Rate: domain.MustParseDecimal("0.0135"), Total: domain.MustParseDecimal("1.50"), Currency: "USD"}
	events := []domain.Event{
		domain.CallUpserted{Created: true, CallID: id, AccountID: "acct", Provider: "openphone", ProviderID: "op-1",
			StartedAt: &start, Recordings: []domain.Recording{r1}},
		domain.CallPriced{Price: usd}, // its fold panics
		domain.CallRecordingAdded{Recording: r2},
	}
	appendEvents(t, store, id, events, func(i int) time.Time { return start.Add(time.Duration(i) * time.Minute) })

	p := rebuiltPanicking(t, store, quiet, func(_ *domain.State, env domain.Envelope) bool {
		_, ok := env.Event.(domain.CallPriced)
		return ok
	})

	got, err := p.Call(context.Background(), id)
	require.NoError(t, err)
	require.Len(t, got.Call.Recordings, 2)
	_, ok, err := p.RecordingDates(context.Background(), id, got.Call.Recordings)
	require.NoError(t, err)
	assert.False(t, ok)
	for _, r := range []domain.Recording{r1, r2} {
		call, err := p.RecordingCall(context.Background(), r.SID(id))
		require.NoError(t, err)
		assert.Equal(t, id, call)
	}
}

// rebuiltPanicking opens read models over store, quiet, whose fold panics
// on each event for which panics (which may change the state first, as a
// fold stopped halfway would) reports true, as a domain bug would, and
// rebuilds them.
func rebuiltPanicking(t *testing.T, store eventstore.Store, quiet *slog.Logger, panics func(s *domain.State, env domain.Envelope) bool) *Projector {
	t.Helper()
	popts := DefaultOptions()
	popts.Logger = quiet
	p, err := Open(t.TempDir(), store, popts)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	p.evolveInPlace = func(s *domain.State, env domain.Envelope) {
		if panics(s, env) {
			panic(errors.New("a domain bug"))
		}
		domain.EvolveInPlace(s, env)
	}
	_, err = p.Rebuild(context.Background())
	require.NoError(t, err)
	return p
}
