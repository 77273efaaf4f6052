// Package kurrenttest is a protocol test server: an in-process gRPC server
// that speaks the parts of the KurrentDB (EventStoreDB) client protocol that
// github.com/EventStore/EventStore-Client-Go/v4 uses, backed by an in-memory
// log. It lets the kurrent backend be tested through the real client over
// real loopback TCP on machines that cannot run KurrentDB.
//
// It is test-only code: import it from _test files alone.
//
// What it implements, and how faithfully:
//
//   - ServerFeatures.GetSupportedMethods, which the client calls on connect.
//   - Gossip.Read, which the client calls for esdb+discover:// and seed
//     lists; the server reports itself as the single, alive leader.
//   - Streams.Append: KurrentDB's expected-version check (any, no stream,
//     stream exists, exact revision) answered with WrongExpectedVersion; its
//     idempotency by event id (the same ids at the same place, or found in
//     the stream under "any"/"stream exists", succeed with the original
//     revision and positions; a partial match is a wrong expected version);
//     the default 1 MiB maximum append size; commit/prepare positions that
//     are byte offsets of the log, one commit position per append.
//   - Streams.Read of a stream (forwards and backwards, from start, end or a
//     revision; StreamNotFound for a stream with no events), of $all
//     (forwards from a position inclusive, backwards from a position
//     exclusive), and subscriptions to $all (confirmation first, catch-up
//     after the position exclusive, checkpoint, caught-up, then live) with
//     event-type or stream-id filters by prefix or regex.
//   - System events: the log starts with some, as a node's does, and
//     AppendSystemEvent adds more, so clients must filter $all.
//
// Not implemented: BatchAppend, Delete, Tombstone, stream subscriptions,
// persistent subscriptions, projections, links, TLS and authentication.
package kurrenttest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
)

// Server is a running protocol test server. Its log survives Stop and
// Restart, like a node's disk survives a node restart.
type Server struct {
	log  *memLog
	addr string // host:port, fixed for the server's life

	mu   sync.Mutex // guards grpc
	grpc *grpc.Server
}

// Start starts a protocol test server on 127.0.0.1 and a free port, and
// stops it when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("kurrenttest: listen: %v", err)
	}
	s := &Server{log: newMemLog(time.Now), addr: lis.Addr().String()}
	s.serve(lis)
	tb.Cleanup(s.Stop)
	return s
}

// URL returns the connection string of the server for the client:
// insecure, because esdb:// defaults to TLS.
func (s *Server) URL() string { return "esdb://" + s.addr + "?tls=false" }

// DiscoverURL returns a cluster connection string (esdb+discover://) that
// makes the client read gossip from the server before connecting.
func (s *Server) DiscoverURL() string {
	return "esdb+discover://" + s.addr + "?tls=false&maxDiscoverAttempts=3&discoveryInterval=50"
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// Stop stops the server abruptly, as a crashed node: listeners close and
// every open call ends, so clients see the connection drop. The log is kept
// for Restart. Stop is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	g := s.grpc
	s.grpc = nil
	s.mu.Unlock()
	if g != nil {
		g.Stop()
	}
}

// Restart starts the server again on the same address with the same log.
// It fails the test if the server is running or the port cannot be bound.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	running := s.grpc != nil
	s.mu.Unlock()
	if running {
		tb.Fatalf("kurrenttest: Restart of a running server")
	}
	// The port was just released; binding it again can race with the
	// kernel's cleanup, so try a bounded number of times.
	const attemptsMax = 50
	var lastErr error
	for range attemptsMax {
		lis, err := net.Listen("tcp", s.addr)
		if err == nil {
			s.serve(lis)
			return
		}
		lastErr = err
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("kurrenttest: listen again on %s: %v", s.addr, lastErr)
}

// AppendSystemEvent writes an event of type typ to stream without any
// check, as the node itself writes its system events ($-prefixed streams
// and types).
func (s *Server) AppendSystemEvent(stream, typ string) {
	s.log.writeSystem(stream, typ, []byte(`{}`))
}

func (s *Server) serve(lis net.Listener) {
	g := grpc.NewServer(grpc.MaxRecvMsgSize(appendBytesMax + 1<<20))
	api.RegisterStreamsServer(g, &streamsService{log: s.log})
	serverfeatures.RegisterServerFeaturesServer(g, featuresService{})
	gossip.RegisterGossipServer(g, gossipService{addr: s.addr})
	s.mu.Lock()
	s.grpc = g
	s.mu.Unlock()
	go func() { _ = g.Serve(lis) }()
}

// featuresService answers the client's connect-time feature probe. It lists
// no BatchAppend and no persistent subscriptions, so the client uses only
// what the server implements.
type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

// serverVersion is the KurrentDB version the server claims to be.
const serverVersion = "24.10.0"

func (featuresService) GetSupportedMethods(_ context.Context, _ *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const streams = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: serverVersion,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: streams, MethodName: "read"},
			{ServiceName: streams, MethodName: "append"},
		},
	}, nil
}

// gossipService reports a one-node cluster whose leader is this server.
type gossipService struct {
	gossip.UnimplementedGossipServer
	addr string
}

func (g gossipService) Read(_ context.Context, _ *shared.Empty) (*gossip.ClusterInfo, error) {
	host, portText, err := net.SplitHostPort(g.addr)
	if err != nil {
		return nil, fmt.Errorf("kurrenttest: address %q: %w", g.addr, err)
	}
	var port uint32
	if _, err := fmt.Sscan(portText, &port); err != nil {
		return nil, fmt.Errorf("kurrenttest: port %q: %w", portText, err)
	}
	return &gossip.ClusterInfo{Members: []*gossip.MemberInfo{{
		InstanceId:   uuidProto(uuid.MustParse(nodeIDText), false),
		TimeStamp:    time.Now().UnixNano() / 100,
		State:        gossip.MemberInfo_Leader,
		IsAlive:      true,
		HttpEndPoint: &gossip.EndPoint{Address: host, Port: port},
	}}}, nil
}
