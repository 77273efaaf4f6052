package domain_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/callledger/callledger/domain"
	"github.com/stretchr/testify/require"
)

// TestRandomCommandsKeepInvariants drives Decide with random command
// sequences. Its goals: every event Decide accepts applies (CheckEvolve finds
// no broken invariant), Decide refuses only with an *Error, and Evolve never
// changes a state it was given or that an earlier fold returned.
func TestRandomCommandsKeepInvariants(t *testing.T) {
	const sequences, commandsMax = 400, 40
	for seed := uint64(0); seed < sequences; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		var (
			s         domain.State
			history   []domain.State
			snapshots []string
		)
		for i := 0; i < commandsMax; i++ {
			cmd := randomCommand(r, i)
			events, err := domain.Decide(s, cmd)
			checkDecideFold(t, s, cmd, events, err)
			if err != nil {
				var de *domain.Error
				require.ErrorAs(t, err, &de, "seed %d step %d: %T refused without an *Error: %v", seed, i, cmd, err)
				require.Empty(t, events)
				continue
			}
			before := s
			for _, e := range events {
				env := domain.Envelope{Event: e, Metadata: domain.Metadata{Time: now.Add(time.Duration(s.Version) * time.Second)}}
				require.NoError(t, domain.CheckEvolve(s, env), "seed %d step %d: %T emitted %#v", seed, i, cmd, e)
				history = append(history, s)
				snapshots = append(snapshots, snapshot(t, s))
				s = domain.Evolve(s, env)
			}
			if c, ok := cmd.(domain.UpsertCall); ok && (c.DurationSeconds == nil || c.EndedAt == nil) && domain.TiedTimes(&before.Call) {
				require.True(t, domain.TiedTimes(&s.Call), "seed %d step %d: the duration no longer follows the times after %#v: %s",
					seed, i, events, snapshot(t, s))
			}
		}
		for j, old := range history {
			require.Equal(t, snapshots[j], snapshot(t, old), "seed %d: state %d was changed by a later fold", seed, j)
		}
	}
}

// checkDecideFold checks that DecideFold decides what Decide decided
// (events, err) and returns the state that folding those events with
// EvolveInPlace at one instant gives, which is what a writer folds.
func checkDecideFold(t *testing.T, s domain.State, cmd domain.Command, events []domain.Event, err error) {
	t.Helper()
	when := now.Add(time.Duration(s.Version+1) * time.Hour)
	before := snapshot(t, s)
	gotEvents, got, gotErr := domain.DecideFold(s, cmd, when)
	require.Equal(t, err, gotErr, "%T: DecideFold's error", cmd)
	require.Equal(t, events, gotEvents, "%T: DecideFold's events", cmd)
	require.Equal(t, before, snapshot(t, s), "%T: DecideFold changed the state it was given", cmd)
	if err != nil {
		require.Equal(t, domain.State{}, got)
		return
	}
	want := s
	for _, e := range events {
		domain.EvolveInPlace(&want, domain.Envelope{Event: e, Metadata: domain.Metadata{Time: when}})
	}
	require.Equal(t, snapshot(t, want), snapshot(t, got), "%T: DecideFold's state is not its events folded", cmd)
}

func snapshot(tb testing.TB, s domain.State) string {
	tb.Helper()
	b, err := json.Marshal(s)
	require.NoError(tb, err)
	return string(b)
}

// randomCommand picks a command for the fixture call with random, mostly
// valid, fields.
func randomCommand(r *rand.Rand, step int) domain.Command {
	tm := func() *time.Time {
		if r.IntN(3) == 0 {
			return nil
		}
		return ptr(at(r.IntN(60) - 5))
	}
	n := at(step)
	switch r.IntN(10) {
	case 0:
		return domain.AnswerCall{CallID: callID, AccountID: account, Now: n, AnsweredAt: tm()}
	case 1:
		return domain.TerminateCall{CallID: callID, AccountID: account, Now: n, EndedAt: tm()}
	case 2:
		if r.IntN(2) == 0 {
			return domain.HangUpCall{CallID: callID, AccountID: account, Now: n}
		}
		return domain.CancelCall{CallID: callID, AccountID: account, Now: n}
	case 3:
		return domain.PriceCall{CallID: callID, AccountID: account, Now: n,
			Price: domain.Price{Rate: dec(fmt.Sprintf("0.%d", r.IntN(100))), Total: dec(fmt.Sprintf("%d.%02d", r.IntN(3), r.IntN(100))), Currency: "USD"}}
	case 4:
		if r.IntN(4) == 0 {
			return domain.DeleteCall{CallID: callID, AccountID: account, Now: n}
		}
	}
	modes := []domain.UpsertMode{domain.UpsertCreate, domain.UpsertCreateOrUpdate, domain.UpsertUpdate}
	c := upsert(modes[r.IntN(len(modes))])
	c.Now = n
	c.Direction = ptr(domain.DirectionInbound)
	if r.IntN(2) == 0 {
		statuses := domain.Statuses()
		c.Status = ptr(statuses[r.IntN(len(statuses))])
	}
	words := []string{"completed", "ringing", "answered", "missed", "weird", "voicemail", "in_progress"}
	if r.IntN(2) == 0 {
		c.ProviderStatus = ptr(words[r.IntN(len(words))])
	}
	vc := []string{domain.VoiceCallIncomingCall, domain.VoiceCallAnsweredByStaff, domain.VoiceCallMissed, domain.VoiceCallVoicemailReceived}
	if r.IntN(4) == 0 {
		c.VoiceCallStatus = ptr(vc[r.IntN(len(vc))])
	}
	c.StartedAt = ptr(at(-10 - r.IntN(3)))
	c.AnsweredAt, c.EndedAt = tm(), tm()
	if r.IntN(4) == 0 {
		c.DurationSeconds = ptr(int64(r.IntN(4000)))
	}
	if c.AnsweredAt != nil && c.EndedAt != nil && c.EndedAt.Before(*c.AnsweredAt) {
		c.AnsweredAt, c.EndedAt = c.EndedAt, c.AnsweredAt
	}
	if r.IntN(3) == 0 {
		c.AnsweredBy = ptr([]string{"human", "machine_start"}[r.IntN(2)])
	}
	if r.IntN(3) == 0 {
		c.Participants = []domain.ParticipantSpec{{Role: domain.RoleCaller, Phone: caller}}
		if r.IntN(2) == 0 {
			c.Participants = append(c.Participants, domain.ParticipantSpec{Role: domain.RoleCallee, Phone: callee})
		}
	}
	if r.IntN(3) == 0 {
		c.Recordings = []domain.Recording{{ProviderID: fmt.Sprint("RE", r.IntN(3)), URL: "https://r.example.com/x"}}
	}
	if r.IntN(3) == 0 {
		c.Details.Notes = ptr(fmt.Sprint("note ", r.IntN(3)))
	}
	if r.IntN(4) == 0 {
		c.Transcript = &domain.Transcript{Cues: []domain.TranscriptCue{{From: dec("0"), To: dec(fmt.Sprint(r.IntN(3))), Text: "x"}}}
	}
	if r.IntN(4) == 0 {
		c.Quality = &domain.Quality{AudioInMOS: ptr(dec(fmt.Sprintf("%d.5", 1+r.IntN(4)))), AudioRTTAvgMs: ptr(int64(r.IntN(3)))}
	}
	if r.IntN(4) == 0 {
		c.ProviderMetadata = []byte(fmt.Sprintf(`{"k":%d}`, r.IntN(3)))
	}
	if r.IntN(4) == 0 {
		c.Price = &domain.Price{Rate: dec("0.01"), Total: dec([]string{"1.5", "1.50"}[r.IntN(2)]), Currency: "USD"}
	}
	return c
}
