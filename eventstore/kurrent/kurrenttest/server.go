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
//   - TLS with a self-signed certificate and basic-auth credentials on
//     Streams calls (StartSecure); no ACLs, one user.
//
// Not implemented: BatchAppend, Delete, Tombstone, stream subscriptions,
// persistent subscriptions, projections, links, ACLs and client certificates.
package kurrenttest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Server is a running protocol test server. Its log survives Stop and
// Restart, like a node's disk survives a node restart.
type Server struct {
	log  *memLog
	addr string // host:port, fixed for the server's life
	// tls is nil for an insecure server (KurrentDB's --insecure).
	tls *tls.Config
	// login and password are the credentials Streams calls must carry, as
	// HTTP basic authorization; empty for no authentication.
	login, password string

	// reads counts and slows the reads of $all, for tests of how a client
	// reads it under concurrency (see AllReads, SetAllReadDelay).
	reads allReads

	mu   sync.Mutex // guards grpc
	grpc *grpc.Server
}

// allReads is what a Server counts of, and does to, its reads of $all.
type allReads struct {
	count atomic.Int64
	delay atomic.Int64 // nanoseconds
}

// AllReads returns how many reads of $all (subscriptions aside) the server
// has answered or is answering.
func (s *Server) AllReads() int64 { return s.reads.count.Load() }

// SetAllReadDelay makes each read of $all wait d after it has taken its
// snapshot of the log, before it answers: a read in flight then misses the
// appends acknowledged meanwhile, as a slow read of a real node does.
func (s *Server) SetAllReadDelay(d time.Duration) { s.reads.delay.Store(int64(d)) }

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

// StartSecure starts a protocol test server like Start, but serving TLS
// with a self-signed certificate for 127.0.0.1 and requiring the given
// credentials on every Streams call, as a secure KurrentDB node does.
func StartSecure(tb testing.TB, login, password string) *Server {
	tb.Helper()
	cert, err := selfSignedCertificate()
	if err != nil {
		tb.Fatalf("kurrenttest: certificate: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("kurrenttest: listen: %v", err)
	}
	s := &Server{
		log:      newMemLog(time.Now),
		addr:     lis.Addr().String(),
		tls:      &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		login:    login,
		password: password,
	}
	s.serve(lis)
	tb.Cleanup(s.Stop)
	return s
}

// URL returns the connection string of the server for the client. For an
// insecure server it says tls=false, because esdb:// defaults to TLS; for a
// secure one it carries the credentials and skips verifying the
// self-signed certificate.
func (s *Server) URL() string {
	if s.tls == nil {
		return "esdb://" + s.addr + "?tls=false"
	}
	return "esdb://" + url.UserPassword(s.login, s.password).String() + "@" + s.addr + "?tls=true&tlsVerifyCert=false"
}

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
	if s.running() {
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

// running reports whether the server serves (it was not stopped, or was
// restarted).
func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grpc != nil
}

// RestartEmpty starts the server again on the same address with a new,
// empty log: another database answering at the address clients know, as
// when a node is replaced or its data lost. Like Restart, it fails the test
// if the server is running.
func (s *Server) RestartEmpty(tb testing.TB) {
	tb.Helper()
	if s.running() {
		tb.Fatalf("kurrenttest: RestartEmpty of a running server")
	}
	s.log = newMemLog(time.Now)
	s.Restart(tb)
}

// AppendSystemEvent writes an event of type typ to stream without any
// check, as the node itself writes its system events ($-prefixed streams
// and types).
func (s *Server) AppendSystemEvent(stream, typ string) {
	s.log.writeSystem(stream, typ, []byte(`{}`))
}

func (s *Server) serve(lis net.Listener) {
	opts := []grpc.ServerOption{grpc.MaxRecvMsgSize(appendBytesMax + 1<<20)}
	if s.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.tls)))
	}
	if s.login != "" {
		opts = append(opts, grpc.StreamInterceptor(s.authenticate))
	}
	g := grpc.NewServer(opts...)
	api.RegisterStreamsServer(g, &streamsService{log: s.log, reads: &s.reads})
	serverfeatures.RegisterServerFeaturesServer(g, featuresService{})
	gossip.RegisterGossipServer(g, gossipService{addr: s.addr})
	s.mu.Lock()
	s.grpc = g
	s.mu.Unlock()
	go func() { _ = g.Serve(lis) }()
}

// authenticate refuses Streams calls without the server's credentials, as
// KurrentDB does for a user stream write or a read of $all by an anonymous
// user. The feature probe and gossip stay open, as on a real node.
func (s *Server) authenticate(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(s.login+":"+s.password))
	md, _ := metadata.FromIncomingContext(ss.Context())
	if got := md.Get("authorization"); len(got) != 1 || got[0] != want {
		return status.Error(codes.Unauthenticated, "Bad credentials")
	}
	return handler(srv, ss)
}

// selfSignedCertificate makes a short-lived certificate for 127.0.0.1.
func selfSignedCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kurrenttest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
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
