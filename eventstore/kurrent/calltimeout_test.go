package kurrent_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/kurrent"
	"github.com/callledger/callledger/eventstore/kurrent/kurrenttest"
)

// TestCallsOfANodeThatDoesNotAnswerAreBounded checks that a call to a node
// that takes connections and never answers (a node paused, a network that
// drops the replies) fails after Options.CallTimeout with an error wrapping
// eventstore.ErrUnavailable, where it waited as long as the caller's
// context allowed (minutes, for a request without a deadline).
func TestCallsOfANodeThatDoesNotAnswerAreBounded(t *testing.T) {
	srv := kurrenttest.Start(t)
	opts := testOptions()
	opts.CallTimeout = 300 * time.Millisecond
	ctx := context.Background()
	s, err := kurrent.Open(ctx, srv.URL(), opts)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Append(ctx, "call-a", eventstore.NoStream(), newEvents(1, "CallUpserted"))
	require.NoError(t, err)

	// The node's address now takes connections and answers nothing.
	srv.Stop()
	var lis net.Listener
	require.Eventually(t, func() bool {
		lis, err = net.Listen("tcp", srv.Addr())
		return err == nil
	}, waitMax, 20*time.Millisecond)
	defer lis.Close()
	var (
		held  sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	defer held.Wait()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			held.Add(1)
			go func() {
				defer held.Done()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()

	start := time.Now()
	_, err = s.ReadStream(ctx, "call-a", 0, 10)
	require.Error(t, err)
	assert.ErrorIs(t, err, eventstore.ErrUnavailable)
	assert.Less(t, time.Since(start), waitMax, "bounded by the call time limit, not the caller's context")
}
