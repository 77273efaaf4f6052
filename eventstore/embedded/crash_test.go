package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// crashChildDirEnv names the store directory of a crash child; when it is
// set, TestCrashChild runs as the child that TestCrash kills.
const crashChildDirEnv = "EMBEDDED_CRASH_CHILD_DIR"

// Bounds of the crash test.
const (
	crashRounds        = 2
	crashAcksPerRound  = 400
	crashRoundMax      = 3 * time.Second  // kill the child after this even with fewer acks
	crashWaitMax       = 30 * time.Second // the child must start acking and die within this
	crashWriters       = 8
	crashChildLife     = 60 * time.Second // a child nobody kills stops on its own
	crashChildAppendsM = 1_000_000
)

// crashData is the data of event id in stream, so that the parent can check
// every acknowledged event's bytes without being told them.
func crashData(stream string, id uuid.UUID) []byte {
	return []byte(fmt.Sprintf(`{"stream":%q,"id":%q,"pad":"%s"}`, stream, id, strings.Repeat("p", 400)))
}

// TestCrashChild is the child process of TestCrash: it appends from several
// goroutines and prints each append only after Append returned nil, until it
// is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildDirEnv)
	if dir == "" {
		t.Skip("runs only as the child process of TestCrash")
	}
	s, err := embedded.Open(dir, testOptions())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), crashChildLife)
	defer cancel()

	run := uuid.NewString()[:8] // owned streams are new in every child
	var stdout sync.Mutex
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			// Each writer owns a few streams, whose revisions it checks, and
			// shares a few with every writer, appended with Any.
			heads := map[string]uint64{}
			for i := 0; i < crashChildAppendsM && ctx.Err() == nil; i++ {
				stream := fmt.Sprintf("shared-%d", rand.IntN(4))
				exp := eventstore.Any()
				if i%2 == 0 {
					stream = fmt.Sprintf("owned-%s-%d-%d", run, w, rand.IntN(4))
					exp = eventstore.NoStream()
					if rev, ok := heads[stream]; ok {
						exp = eventstore.Exact(rev)
					}
				}
				evs := make([]eventstore.EventData, 2)
				for j := range evs {
					id := uuid.New()
					evs[j] = eventstore.EventData{ID: id, Type: "CrashTest", Data: crashData(stream, id)}
				}
				res, err := s.Append(ctx, stream, exp, evs)
				if err != nil {
					if errors.Is(err, eventstore.ErrVersionConflict) {
						t.Errorf("writer %d: %v", w, err)
					}
					return
				}
				heads[stream] = res.Revision
				stdout.Lock()
				fmt.Fprintf(os.Stdout, "ACK %s %d %d %s %s\n", stream, res.Revision, res.Position.Commit, evs[0].ID, evs[1].ID)
				stdout.Unlock()
			}
		})
	}
	wg.Wait()
}

// crashAck is an append the child acknowledged.
type crashAck struct {
	stream   string
	revision uint64
	position uint64
	ids      [2]uuid.UUID
}

func parseAck(line string) (crashAck, error) {
	var a crashAck
	f := strings.Fields(line)
	if len(f) != 6 || f[0] != "ACK" {
		return a, fmt.Errorf("not an ack line: %q", line)
	}
	a.stream = f[1]
	var err error
	if a.revision, err = strconv.ParseUint(f[2], 10, 64); err != nil {
		return a, err
	}
	if a.position, err = strconv.ParseUint(f[3], 10, 64); err != nil {
		return a, err
	}
	for i := range a.ids {
		if a.ids[i], err = uuid.Parse(f[4+i]); err != nil {
			return a, err
		}
	}
	return a, nil
}

// TestCrash kills a child process that appends with SIGKILL, then checks
// that every append it acknowledged is stored intact, with both hash chains,
// and that the store takes new appends. It runs several rounds on one
// directory, so a recovered store is crashed again.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	var acks []crashAck
	for round := range crashRounds {
		got := runCrashChild(t, dir)
		t.Logf("round %d: %d acknowledged appends before SIGKILL", round, len(got))
		require.NotEmpty(t, got, "the child acknowledged appends before it was killed")
		acks = append(acks, got...)
		verifyCrashStore(t, dir, acks)
	}
}

// runCrashChild starts the child on dir, reads its acks, kills it with
// SIGKILL after crashAcksPerRound acks or crashRoundMax, and returns every
// ack it printed in full.
func runCrashChild(t *testing.T, dir string) []crashAck {
	t.Helper()
	child := embeddedtest.StartChild(t, "TestCrashChild", "ACK ", crashChildDirEnv+"="+dir)
	var acks []crashAck
	collect := func(line string) {
		a, err := parseAck(line)
		require.NoError(t, err)
		acks = append(acks, a)
	}
	killAt := time.After(crashRoundMax)
	giveUp := time.After(crashWaitMax)
wait:
	for len(acks) < crashAcksPerRound {
		select {
		case line, ok := <-child.Lines:
			if !ok {
				break wait
			}
			collect(line)
		case <-killAt:
			if len(acks) > 0 {
				break wait
			}
		case <-giveUp:
			break wait
		}
	}
	signalErr, err := child.Kill(collect, giveUp)
	require.NoError(t, signalErr)
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "the child was killed, output: %s", child.Output())
	assert.False(t, exitErr.Exited(), "the child ended by the signal, not by itself; output: %s", child.Output())
	return acks
}

// verifyCrashStore reopens dir and checks every acknowledged append.
func verifyCrashStore(t *testing.T, dir string, acks []crashAck) {
	t.Helper()
	ctx := context.Background()
	s, err := embedded.Open(dir, testOptions())
	require.NoError(t, err, "the store reopens after SIGKILL")
	defer func() { require.NoError(t, s.Close()) }()

	all, err := s.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	allHash := verifyChains(t, all)
	pos, hash, err := s.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(len(all)), pos.Commit)
	assert.Equal(t, allHash, hash)

	byID := make(map[uuid.UUID]eventstore.Record, len(all))
	for _, r := range all {
		byID[r.ID] = r
	}
	for _, a := range acks {
		for i, id := range a.ids {
			r, ok := byID[id]
			require.True(t, ok, "acknowledged event %s of %s is stored", id, a.stream)
			assert.Equal(t, a.stream, r.StreamID)
			assert.Equal(t, a.revision-uint64(1-i), r.Revision)
			assert.Equal(t, a.position-uint64(1-i), r.Position.Commit)
			assert.Equal(t, crashData(a.stream, id), r.Data, "data of %s is intact", id)
		}
	}

	// The store takes new appends, checks revisions and still knows the
	// acknowledged ids.
	last := acks[len(acks)-1]
	recs, err := s.ReadStream(ctx, last.stream, 0, 0)
	require.NoError(t, err)
	head := recs[len(recs)-1].Revision
	_, err = s.Append(ctx, last.stream, eventstore.Exact(head), events(1, "AfterCrash"))
	require.NoError(t, err)
	_, err = s.Append(ctx, last.stream, eventstore.Exact(head), events(1, "AfterCrash"))
	require.ErrorIs(t, err, eventstore.ErrVersionConflict)
	retry := []eventstore.EventData{
		{ID: last.ids[0], Type: "CrashTest", Data: crashData(last.stream, last.ids[0])},
		{ID: last.ids[1], Type: "CrashTest", Data: crashData(last.stream, last.ids[1])},
	}
	res, err := s.Append(ctx, last.stream, eventstore.NoStream(), retry)
	require.NoError(t, err)
	assert.Equal(t, eventstore.AppendResult{Revision: last.revision, Position: eventstore.Position{Commit: last.position, Prepare: last.position}, Replayed: true}, res)
}
