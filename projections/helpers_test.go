package projections_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/projections"
)

// waitMax bounds every wait of the tests: long enough for a slow CI machine,
// short enough to fail rather than hang.
const waitMax = 30 * time.Second

// quietLogger discards logs; tests that look at failures read Status.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openStore opens a real embedded store in a temp dir.
func openStore(tb testing.TB) eventstore.Store {
	tb.Helper()
	return openStoreAt(tb, tb.TempDir())
}

// openStoreAt opens the embedded store in dir, closed when tb ends.
func openStoreAt(tb testing.TB, dir string) *embedded.Store {
	tb.Helper()
	opts := embedded.DefaultOptions()
	opts.BlockCacheSize = 64 << 20
	return openStoreWith(tb, dir, opts)
}

// openStoreWith opens the embedded store in dir with opts and a quiet
// logger, closed when tb ends.
func openStoreWith(tb testing.TB, dir string, opts embedded.Options) *embedded.Store {
	tb.Helper()
	opts.Logger = quietLogger()
	s, err := embedded.Open(dir, opts)
	require.NoError(tb, err)
	tb.Cleanup(func() { s.Close() })
	return s
}

// testOptions are DefaultOptions with small batches, so that tests cross
// many batch boundaries, and a quiet logger.
func testOptions() projections.Options {
	o := projections.DefaultOptions()
	o.CacheBytes = 16 << 20
	o.MemTableBytes = 8 << 20
	o.BatchEventsMax = 300
	o.BatchCallsMax = 100
	o.CallCacheMax = 200
	o.LiveCallCacheMax = 16 // live commits evict often: see Options.LiveCallCacheMax
	o.ChunkEventsMax = 32
	o.ChunksInFlightMax = 8
	o.ReadPageEvents = 500
	o.RetryDelayMin = 10 * time.Millisecond
	o.RetryDelayMax = 100 * time.Millisecond
	o.Logger = quietLogger()
	return o
}

// openProjector opens a Projector over store in dir and closes it at cleanup.
func openProjector(tb testing.TB, dir string, store eventstore.Store, opts projections.Options) *projections.Projector {
	tb.Helper()
	p, err := projections.Open(dir, store, opts)
	require.NoError(tb, err)
	tb.Cleanup(func() { p.Close() })
	return p
}

// startRun runs p.Run in the background and returns a stop function that
// ends it and waits for it.
func startRun(tb testing.TB, p *projections.Projector) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(tb, err)
			case <-time.After(waitMax):
				tb.Fatal("Run did not return after its context ended")
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

// runningProjector is a store and a Projector with testOptions running
// over it, all stopped and closed when the test ends.
func runningProjector(tb testing.TB) (eventstore.Store, *projections.Projector) {
	tb.Helper()
	store := openStore(tb)
	p := openProjector(tb, tb.TempDir(), store, testOptions())
	startRun(tb, p)
	return store, p
}

// runningProjectorIn is runningProjector, also returning the read models'
// directory and a function that stops Run, for a test that closes and
// reopens them.
func runningProjectorIn(tb testing.TB) (store eventstore.Store, dir string, p *projections.Projector, stop func()) {
	tb.Helper()
	store, dir = openStore(tb), tb.TempDir()
	p = openProjector(tb, dir, store, testOptions())
	return store, dir, p, startRun(tb, p)
}

// waitFor waits until p has applied pos.
func waitFor(tb testing.TB, p *projections.Projector, pos eventstore.Position) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitMax)
	defer cancel()
	require.NoError(tb, p.WaitFor(ctx, pos))
}

// appendFromWriters appends for each i in [0, n) with write(i), from writers
// goroutines that each take every writers-th i, so that the store commits the
// appends in groups, as under load. It returns the highest position
// appended.
func appendFromWriters(n, writers int, write func(i int) eventstore.AppendResult) eventstore.Position {
	var mu sync.Mutex
	var last eventstore.Position
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				res := write(i)
				mu.Lock()
				if last.Less(res.Position) {
					last = res.Position
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return last
}

// clock hands out strictly increasing event times.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) next() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

// appendEvents appends domain events to the call's stream, the way the API
// will: one metadata per event, random event ids.
func appendEvents(tb testing.TB, s eventstore.Store, clk *clock, account string, id uuid.UUID, events ...domain.Event) eventstore.AppendResult {
	tb.Helper()
	data := make([]eventstore.EventData, 0, len(events))
	requestID := uuid.NewString()
	for _, e := range events {
		d, err := domain.MarshalEvent(e)
		require.NoError(tb, err)
		md, err := domain.MarshalMetadata(domain.Metadata{
			SchemaVersion:  domain.CurrentSchemaVersion,
			AccountID:      account,
			Actor:          "key-moonbase-production",
			RequestID:      requestID,
			IdempotencyKey: "idem-" + requestID,
			Surface:        domain.SurfaceMoonbase,
			Time:           clk.next(),
		})
		require.NoError(tb, err)
		data = append(data, eventstore.EventData{ID: uuid.New(), Type: e.EventType(), Data: d, Metadata: md})
	}
	res, err := s.Append(context.Background(), domain.StreamID(id), eventstore.Any(), data)
	require.NoError(tb, err)
	return res
}

func ptr[T any](v T) *T { return &v }

func price(total, currency string) domain.Price {
	return domain.Price{Rate: domain.MustParseDecimal("0.0135"), Total: domain.MustParseDecimal(total), Currency: currency}
}

// created is the creation event of a call.
func created(id uuid.UUID, account, provider, providerID string, start time.Time) domain.CallUpserted {
	return domain.CallUpserted{
		Created:    true,
		CallID:     id,
		AccountID:  account,
		Provider:   provider,
		ProviderID: providerID,
		Direction:  ptr(domain.DirectionOutbound),
		From:       ptr("+15550000001"),
		To:         ptr("+15550000002"),
		StartedAt:  ptr(start),
	}
}

// simCall is the generator's idea of one call, enough to write a valid next
// event.
type simCall struct {
	id         uuid.UUID
	account    string
	provider   string
	providerID string
	status     domain.Status
	currency   string
	steps      int // steps left to write
	created    bool
	deleted    bool
}

// generator writes random but valid call histories: creations, re-pricings
// with prices like "0.0135", status moves, start-time moves, details,
// timing changes and deletes.
type generator struct {
	rng   *rand.Rand
	base  time.Time
	calls []*simCall
}

var (
	genAccounts  = []string{"AC-one", "AC-two", "AC-three"}
	genProviders = []string{"openphone", "Vonage", "signalwire"}
)

func newGenerator(seed uint64, calls, stepsMax int) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), base: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i := range calls {
		sc := &simCall{
			account:    genAccounts[g.rng.IntN(len(genAccounts))],
			provider:   genProviders[g.rng.IntN(len(genProviders))],
			providerID: fmt.Sprintf("prov-%d-%d", seed, i),
			currency:   "USD",
			steps:      1 + g.rng.IntN(stepsMax),
		}
		if g.rng.IntN(10) == 0 {
			sc.currency = "EUR"
		}
		sc.id = domain.CallIDFor(sc.account, sc.provider, sc.providerID)
		g.calls = append(g.calls, sc)
	}
	return g
}

func (g *generator) randomStart() time.Time {
	return g.base.Add(time.Duration(g.rng.IntN(40*24*3600)) * time.Second).Add(time.Duration(g.rng.IntN(1000)) * time.Millisecond)
}

func (g *generator) randomPrice(c *simCall) domain.Price {
	cur := c.currency
	if g.rng.IntN(20) == 0 {
		cur = "GBP" // re-priced into another currency: moves bucket
	}
	total := fmt.Sprintf("%d.%04d", g.rng.IntN(3), g.rng.IntN(10000))
	if g.rng.IntN(4) == 0 {
		total = fmt.Sprintf("%d.%02d", g.rng.IntN(3), g.rng.IntN(100)) // "1.50" scale
	}
	return domain.Price{Rate: domain.MustParseDecimal("0.0135"), Total: domain.MustParseDecimal(total), Currency: cur}
}

// step returns the next events of c (nil when c is finished).
func (g *generator) step(c *simCall) []domain.Event {
	if c.steps <= 0 || c.deleted {
		return nil
	}
	c.steps--
	if !c.created {
		c.created = true
		c.status = domain.StatusRinging
		// As a Moonbase upsert writes it (seed 000): identity, participants,
		// provider metadata, status.
		caller, callee := fmt.Sprintf("+1415555%04d", g.rng.IntN(10000)), fmt.Sprintf("+1650555%04d", g.rng.IntN(10000))
		return []domain.Event{
			created(c.id, c.account, c.provider, c.providerID, g.randomStart()),
			domain.CallParticipantsChanged{Participants: []domain.Participant{
				{ID: domain.ParticipantID(c.id, domain.RoleCaller, caller), Role: domain.RoleCaller, Phone: caller, PersonID: domain.PersonID(c.account, caller)},
				{ID: domain.ParticipantID(c.id, domain.RoleCallee, callee), Role: domain.RoleCallee, Phone: callee, PersonID: domain.PersonID(c.account, callee)},
			}},
			domain.CallProviderMetadataChanged{ProviderMetadata: []byte(fmt.Sprintf(
				`{"answered_by":"US%08d","user_id":"US%08d","phone_number_id":"PN%08d","conversation_id":"CN%032d"}`,
				g.rng.IntN(1e8), g.rng.IntN(1e8), g.rng.IntN(1e8), g.rng.IntN(1e9)))},
			domain.CallStatusChanged{Status: domain.StatusRinging, PreviousStatus: "", ProviderStatus: ptr("ringing")},
		}
	}
	at := g.base.Add(time.Duration(g.rng.IntN(40*24*3600)) * time.Second)
	for range 8 { // a few tries to find an event that fits the status
		switch r := g.rng.IntN(100); {
		case r < 30:
			return []domain.Event{domain.CallPriced{Price: g.randomPrice(c)}}
		case r < 45:
			switch c.status {
			case domain.StatusRinging:
				if g.rng.IntN(3) == 0 {
					c.status = domain.StatusNoAnswer
					return []domain.Event{domain.CallStatusChanged{Status: domain.StatusNoAnswer, PreviousStatus: domain.StatusRinging}}
				}
				c.status = domain.StatusInProgress
				return []domain.Event{domain.CallAnswered{AnsweredAt: at, AnsweredBy: "human", PreviousStatus: domain.StatusRinging, ProviderStatus: ptr("in-progress")}}
			case domain.StatusInProgress:
				c.status = domain.StatusCompleted
				return []domain.Event{domain.CallTerminated{EndedAt: at, DurationSeconds: ptr(int64(g.rng.IntN(3600))),
					Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress, ProviderStatus: ptr("completed")}}
			}
		case r < 60:
			return []domain.Event{domain.CallUpserted{StartedAt: ptr(g.randomStart())}}
		case r < 70:
			return []domain.Event{domain.CallTimingChanged{DurationSeconds: ptr(int64(g.rng.IntN(3600)))}}
		case r < 75:
			return []domain.Event{domain.CallDetailsChanged{Changes: domain.DetailsChanges{
				Notes:   ptr(fmt.Sprintf("Customer asked about invoice %d; follow up next week.", g.rng.IntN(100000))),
				Contact: &domain.Contact{ID: fmt.Sprintf("ct_%d", g.rng.IntN(1e6)), FirstName: "Ada", LastName: "Lovelace"},
			}}}
		case r < 80:
			return []domain.Event{domain.CallRecordingAdded{Recording: domain.Recording{
				ContentType: "audio/mpeg",
				ProviderID:  fmt.Sprintf("RE%032d", g.rng.IntN(1e9)),
				URL:         fmt.Sprintf("https://recordings.example.com/%s/%d.mp3", c.providerID, g.rng.IntN(1e6)),
			}}}
		case r < 86:
			c.deleted = true
			return []domain.Event{domain.CallDeleted{DeletedAt: at}}
		default:
			return []domain.Event{domain.CallUpserted{To: ptr(fmt.Sprintf("+1555%07d", g.rng.IntN(10)))}}
		}
	}
	return []domain.Event{domain.CallDetailsChanged{Changes: domain.DetailsChanges{Summary: ptr("fallback")}}}
}

// writeSome appends up to n steps, picking random live calls among the
// first `window` unfinished ones (a call's events cluster in time, as in
// life), with `writers` concurrent appenders. It returns the position of
// the last append and whether any call is left.
func (g *generator) writeSome(tb testing.TB, s eventstore.Store, clk *clock, n, window, writers int) (eventstore.Position, bool) {
	tb.Helper()
	type job struct {
		c      *simCall
		events []domain.Event
	}
	// The steps are chosen up front (the rng is not shared), then written
	// by writers that each own a subset of calls, so that a call's events
	// keep their order.
	perWriter := make([][]job, writers)
	active := g.calls
	for i := 0; i < n && len(active) > 0; i++ {
		k := g.rng.IntN(min(window, len(active)))
		c := active[k]
		ev := g.step(c)
		if ev == nil {
			active[k] = active[len(active)-1]
			active = active[:len(active)-1]
			i--
			continue
		}
		w := int(c.id[0]) % writers
		perWriter[w] = append(perWriter[w], job{c, ev})
	}
	g.calls = active

	// One index per writer: each appends its own jobs in order, and its
	// last append is its highest.
	last := appendFromWriters(writers, writers, func(w int) eventstore.AppendResult {
		var res eventstore.AppendResult
		for _, j := range perWriter[w] {
			res = appendEvents(tb, s, clk, j.c.account, j.c.id, j.events...)
		}
		return res
	})
	return last, len(g.calls) > 0
}

// writeAll writes every call to the end with writeSome's rounds of n steps
// and returns the position of the last append.
func (g *generator) writeAll(tb testing.TB, s eventstore.Store, clk *clock, n, window, writers int) eventstore.Position {
	tb.Helper()
	var last eventstore.Position
	for more := true; more; {
		var pos eventstore.Position
		pos, more = g.writeSome(tb, s, clk, n, window, writers)
		if last.Less(pos) {
			last = pos
		}
	}
	return last
}

// foldAll folds every call stream of the store one by one, the reference
// the read models are checked against.
func foldAll(tb testing.TB, s eventstore.Store) map[uuid.UUID]domain.State {
	tb.Helper()
	ctx := context.Background()
	states := make(map[uuid.UUID]domain.State)
	after := eventstore.Start
	for {
		page, err := s.ReadAll(ctx, after, 1000)
		require.NoError(tb, err)
		for _, rec := range page {
			id, ok := domain.CallIDFromStream(rec.StreamID)
			if !ok {
				continue
			}
			md, err := domain.UnmarshalMetadata(rec.Metadata)
			require.NoError(tb, err)
			ev, err := domain.UnmarshalEvent(rec.Type, md.SchemaVersion, rec.Data)
			if err != nil {
				continue // the runner records it as a failure and leaves it out
			}
			states[id] = domain.Evolve(states[id], domain.Envelope{Event: ev, Metadata: md})
		}
		if len(page) < 1000 {
			return states
		}
		after = page[len(page)-1].Position
	}
}
