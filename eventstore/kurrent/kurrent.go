package kurrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/callledger/callledger/eventstore"
)

// Type is the backend's name, as selected in configuration.
const Type = "kurrent"

var _ eventstore.Store = (*Store)(nil)

// Options tunes a Store. The zero value of each field means the default
// named in its comment; DefaultOptions spells them out.
type Options struct {
	// Logger receives the store's and the client's log lines. Nil means
	// slog.Default().
	Logger *slog.Logger
	// AppendAttemptsMax bounds how many times Append reads and tries again
	// when another writer moves the stream between its read and its write,
	// for Any and StreamExists expectations. Zero means 32.
	AppendAttemptsMax int
	// IdempotencyWindowEvents is how many of a stream's newest events Append
	// reads to recognise retries and duplicate ids. Zero means 256.
	IdempotencyWindowEvents int
	// ReadPageEvents is how many events one read request asks the server
	// for. Zero means 512.
	ReadPageEvents int
	// ReconnectDelayMin is the first wait of a subscription before it
	// subscribes again after it dropped; each failed attempt doubles it.
	// Zero means 50ms.
	ReconnectDelayMin time.Duration
	// ReconnectDelayMax caps that wait, so that a subscription notices a
	// server's return soon: the read models wait for it, and only it tells
	// a database replaced meanwhile (writes taken before are answered and
	// never read; a probe under load saw it 6.5 s after the return at
	// 5 s). Zero (or less than ReconnectDelayMin) means 1s.
	ReconnectDelayMax time.Duration
	// MaxAppendSize is the server's MaxAppendSize (KurrentDB's
	// --max-append-size), in bytes as the server counts an append (see
	// appendSize): Append refuses a larger one before sending it, with
	// eventstore.ErrAppendTooLarge, as it does the server's own refusal.
	// Zero means 1 MiB, KurrentDB's default.
	MaxAppendSize int
	// CallTimeout bounds how long a call (an append, one page of a read,
	// the start of a subscription) waits for the server: past it the call
	// fails with eventstore.ErrUnavailable, so that a request fails, and
	// lets go of what it holds (a call's write lock), rather than wait for
	// a node that does not answer (an operator probe saw requests wait
	// minutes past the node's return). Zero means 10s.
	CallTimeout time.Duration
}

// DefaultOptions returns the options a Store uses when given zero values.
func DefaultOptions() Options {
	return Options{
		AppendAttemptsMax:       32,
		IdempotencyWindowEvents: 256,
		ReadPageEvents:          512,
		ReconnectDelayMin:       50 * time.Millisecond,
		ReconnectDelayMax:       time.Second,
		MaxAppendSize:           1 << 20,
		CallTimeout:             10 * time.Second,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.AppendAttemptsMax <= 0 {
		o.AppendAttemptsMax = d.AppendAttemptsMax
	}
	if o.IdempotencyWindowEvents <= 0 {
		o.IdempotencyWindowEvents = d.IdempotencyWindowEvents
	}
	if o.ReadPageEvents <= 0 {
		o.ReadPageEvents = d.ReadPageEvents
	}
	if o.ReconnectDelayMin <= 0 {
		o.ReconnectDelayMin = d.ReconnectDelayMin
	}
	if o.MaxAppendSize <= 0 {
		o.MaxAppendSize = d.MaxAppendSize
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = d.CallTimeout
	}
	if o.ReconnectDelayMax < o.ReconnectDelayMin {
		o.ReconnectDelayMax = max(d.ReconnectDelayMax, o.ReconnectDelayMin)
	}
	return o
}

// Store is an eventstore.Store on a KurrentDB node or cluster. It is safe
// for concurrent use.
//
// The official client gives up for good when it cannot rediscover a node
// (after its maxDiscoverAttempts), so Store replaces a client that reports
// itself closed with a new one from the same configuration: a store
// outlives a server restart.
type Store struct {
	config  esdb.Configuration
	options Options
	logger  *slog.Logger

	closed   atomic.Bool     // set under mu; read without it
	closeCtx context.Context // cancelled by Close, ending every call
	cancel   context.CancelFunc

	mu     sync.Mutex // guards client and closed's transition
	client *clientRef

	heads freshReads // LastPosition's reads, shared by concurrent calls
	tails readTails  // where ReadAll's latest reads ended, for SubscribeAll
}

// clientRef is one client and the calls running on it.
type clientRef struct {
	client     *esdb.Client
	generation uint64 // counts client replacements
	// calls counts the goroutines using client. The client's Close closes a
	// channel its calls send to, so Close must wait for them: closing under
	// a send is a data race, and a panic once the send blocks.
	calls sync.WaitGroup
}

// CheckConnectionString returns the error Open would return for
// connectionString's syntax (wrapping ErrConnectionString), or nil,
// without connecting: so that a command refuses a malformed one before it
// does anything else.
func CheckConnectionString(connectionString string) error {
	_, err := parseConnectionString(connectionString)
	return err
}

// parseConnectionString parses connectionString as the official client
// does. The parser's error quotes the string, password and all: it goes
// to a terminal or a log, so the password is masked in it.
func parseConnectionString(connectionString string) (*esdb.Configuration, error) {
	if err := checkSettings(connectionString); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConnectionString, err)
	}
	config, err := esdb.ParseConnectionString(connectionString)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrConnectionString, refusal(connectionString, err))
	}
	if err := checkPorts(connectionString); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConnectionString, err)
	}
	return config, nil
}

// clientSettings are the connection-string settings the client reads
// (esdb/configuration.go's parseSetting, v4.2.0), lower case: it reads
// their names in any case.
var clientSettings = []string{"discoveryInterval", "gossipTimeout", "maxDiscoverAttempts", "nodePreference",
	"keepAliveInterval", "keepAliveTimeout", "tls", "tlsCAFile", "userCertFile", "userKeyFile", "tlsVerifyCert", "defaultDeadline"}

// checkSettings returns an error naming the first setting of
// connectionString the client does not read: it only printed "Unknown
// setting" to stderr, in its own format, and went on without it, so that
// a misspelt one (tsl=false) connected with TLS and failed on a
// handshake, and another client's (connectionName, operationTimeout) was
// silently not applied. A string the URL parser refuses is left to the
// client's parse, whose error says why.
func checkSettings(connectionString string) error {
	u, err := url.Parse(connectionString)
	if err != nil {
		return nil
	}
	at := strings.LastIndexByte(u.RawQuery, '@')
	if strings.ContainsRune(u.Fragment, '@') || at >= 0 && hostsAfterPassword.MatchString(u.RawQuery[at+1:]) {
		// "user:12?x@host:2113?tls=false" or "user:12#x@host:2113": the
		// user info's password holds a '?' or '#', so what reads as
		// settings or a fragment is part of it, named nowhere (the client
		// would print it as an unknown setting, or take the user name for
		// a host and log the password as its port). A setting's value
		// holding an '@' (tlsCAFile=/etc/a@b.pem) is no host and port.
		return errors.New("it does not parse as esdb://user:password@host:port?settings: " + passwordEncoding)
	}
	names := slices.Sorted(maps.Keys(u.Query()))
	for _, name := range names {
		if !slices.ContainsFunc(clientSettings, func(known string) bool { return strings.EqualFold(known, name) }) {
			return fmt.Errorf("unknown setting %q: the client reads %s", truncateSetting(name), strings.Join(clientSettings, ", "))
		}
	}
	return nil
}

// hostsAfterPassword matches what follows the '@' of user info read as
// settings: hosts with their ports, as the client lists them, and the
// string's own settings after them.
var hostsAfterPassword = regexp.MustCompile(`^[A-Za-z0-9.\-]+:[0-9]+(,[A-Za-z0-9.\-]+:[0-9]+)*/?([?#&].*)?$`)

// passwordEncoding says how to write a password the parser stumbles on.
const passwordEncoding = "percent-encode a password's '/', '?', '#', '%' and spaces (%2F, %3F, %23, %25, %20)"

// truncateSetting cuts a setting's name to 64 bytes for an error.
func truncateSetting(name string) string {
	if len(name) > 64 {
		return name[:64] + "..."
	}
	return name
}

// checkPorts returns an error naming the first host of connectionString
// (one the client parsed) whose port is not 1-65535. The client takes any
// integer and keeps it modulo 65536 (esdb://127.0.0.1:99999 connected to
// port 34463), or 0, which no server listens on.
func checkPorts(connectionString string) error {
	_, rest, _ := strings.Cut(connectionString, "://")
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	for host := range strings.SplitSeq(rest, ",") {
		_, port, ok := strings.Cut(host, ":")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("the port of host %q is %s, not a port number (1-65535)", host, port)
		}
	}
	return nil
}

// closeWaitMax bounds how long Close waits for calls to end after cancelling
// them. Only a call stuck in the client's own reconnection takes long.
const closeWaitMax = 10 * time.Second

// Open connects to KurrentDB with a connection string as the official
// client parses it: esdb://host:port for one node, esdb+discover://host or
// esdb://host1,host2,host3 for a cluster found by gossip, with user
// credentials (esdb://user:password@host) and TLS settings (tls=false,
// tlsCAFile, tlsVerifyCert). esdb:// uses TLS unless tls=false.
//
// Open checks that a node answers, within ctx, so that a wrong address fails
// at start rather than at the first append.
func Open(ctx context.Context, connectionString string, options Options) (*Store, error) {
	config, err := parseConnectionString(connectionString)
	if err != nil {
		return nil, err
	}
	options = options.withDefaults()
	config.Logger = clientLogger(options.Logger)
	closeCtx, cancel := context.WithCancel(context.Background())
	s := &Store{config: *config, options: options, logger: options.Logger, closeCtx: closeCtx, cancel: cancel}
	client, err := esdb.NewClient(&s.config)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("kurrent: client: %w", err)
	}
	s.client = &clientRef{client: client}
	if _, err := call(ctx, s, func(c *esdb.Client) (*esdb.ServerVersion, error) {
		return c.GetServerVersion()
	}); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("kurrent: connect: %w", err)
	}
	return s, nil
}

// Close cancels the calls in progress, which end with ErrClosed, waits for
// them (at most closeWaitMax) and closes the client. Later calls return
// ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil
	}
	s.closed.Store(true)
	ref := s.client
	s.mu.Unlock()
	s.cancel()

	drained := make(chan struct{})
	go func() {
		ref.calls.Wait()
		close(drained)
	}()
	select {
	case <-drained:
		return ref.client.Close()
	case <-time.After(closeWaitMax):
		// Closing now could panic a call still sending to the client: leave
		// the client to end with them.
		s.logger.Warn("kurrent: calls still running after close; leaving the client open for them")
		go func() {
			<-drained
			_ = ref.client.Close()
		}()
		return nil
	}
}

// clientLogger sends the client's log lines to logger. The client logs every
// discovery attempt at info level, so info becomes debug. It logs an error
// whenever a subscription's stream ends, a subscription the store closed
// itself (every tool that reads the log, as it exits) included: that line
// becomes debug too, as SubscribeAll warns of every drop it did not cause,
// saying what it does next; and so does its "unexpected exception" of a
// call cancelled (gRPC's Canceled: the store's own context ended it, as a
// tool's reads end when it exits), which every billing over KurrentDB
// logged twice.
func clientLogger(logger *slog.Logger) esdb.LoggingFunc {
	return func(level esdb.LogLevel, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if (level == esdb.LogError || level == esdb.LogWarn) && !strings.HasPrefix(format, clientSubscriptionDropped) && !cancelledCall(args) {
			logger.Warn("kurrentdb client", "level", level, "msg", msg)
			return
		}
		logger.Debug("kurrentdb client", "level", level, "msg", msg)
	}
}

// cancelledCall reports whether a client log line's arguments hold an
// error of a call cancelled by its context (gRPC's Canceled).
func cancelledCall(args []any) bool {
	for _, a := range args {
		if err, ok := a.(error); ok && (status.Code(err) == codes.Canceled || errors.Is(err, context.Canceled)) {
			return true
		}
	}
	return false
}

// clientSubscriptionDropped begins the format of the line the client logs
// when a subscription's stream ends (esdb/subscriptions.go, v4.2.0).
const clientSubscriptionDropped = "subscription has dropped"

// opContext returns ctx, also cancelled when the store closes.
func (s *Store) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.closeCtx, cancel)
	return ctx, func() { stop(); cancel() }
}

// acquire returns the client in use with one more call counted on it, or
// false once the store is closed.
func (s *Store) acquire() (*clientRef, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, false
	}
	s.client.calls.Add(1)
	return s.client, true
}

// renew replaces the client of the given generation, if it is still the
// current one, after it reported itself closed. The old client is left to
// the garbage collector rather than closed: a client that gave up can have
// calls blocked sending to its internal channel, and closing that channel
// would make them panic.
func (s *Store) renew(generation uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() || s.client.generation != generation {
		return
	}
	client, err := esdb.NewClient(&s.config)
	if err != nil {
		s.logger.Error("kurrent: new client", "err", err)
		return
	}
	s.client = &clientRef{client: client, generation: generation + 1}
	s.logger.Info("kurrent: replaced a client that gave up reconnecting", "generation", generation+1)
}

// call runs fn with the current client in its own goroutine, and returns
// when fn does, when ctx is done, or after Options.CallTimeout. The client
// waits for a connection without looking at any context (and, once it gave
// up reconnecting, can wait forever); the goroutine keeps the store's calls
// bounded all the same. A client that reports itself closed is renewed.
// The client's errors of a node it cannot reach (unavailable, a deadline
// passed, a connection closed, not the leader, aborted, credentials
// refused) and the call's own
// time limit wrap eventstore.ErrUnavailable, which the API answers with a
// 503 to retry rather than a 500.
func call[T any](ctx context.Context, s *Store, fn func(*esdb.Client) (T, error)) (T, error) {
	var zero T
	ref, ok := s.acquire()
	if !ok {
		return zero, eventstore.ErrClosed
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer ref.calls.Done()
		v, err := fn(ref.client)
		done <- result{v, err}
	}()
	limit := time.NewTimer(s.options.CallTimeout)
	defer limit.Stop()
	select {
	case r := <-done:
		if isCode(r.err, esdb.ErrorCodeConnectionClosed) {
			s.renew(ref.generation)
		}
		if unreachable(r.err) && ctx.Err() == nil {
			return r.v, fmt.Errorf("%w: %w", eventstore.ErrUnavailable, r.err)
		}
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-limit.C:
		return zero, fmt.Errorf("%w: the KurrentDB node did not answer within %s", eventstore.ErrUnavailable, s.options.CallTimeout)
	}
}

// unreachable reports whether err is the client's word, or gRPC's (some
// of the client's calls return gRPC's status errors as they are), that the
// node could not be reached, did not answer, or refused the credentials.
func unreachable(err error) bool {
	var e *esdb.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case esdb.ErrorUnavailable, esdb.ErrorCodeDeadlineExceeded, esdb.ErrorCodeConnectionClosed, esdb.ErrorCodeNotLeader, esdb.ErrorAborted,
			// Credentials the node refuses (changed or revoked while
			// callledger runs): the store is out of reach all the same,
			// and nothing is wrong with the log or the request.
			esdb.ErrorCodeUnauthenticated, esdb.ErrorCodeAccessDenied:
			return true
		}
		return false
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
			return true
		}
	}
	return false
}

// isCode reports whether err is a client error with the given code.
func isCode(err error, code esdb.ErrorCode) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == code
}

// fail turns an error of a call into the error the store returns: ErrClosed
// once the store is closed, the context's error when ctx is done, and the
// error wrapped with what the store was doing otherwise.
func (s *Store) fail(ctx context.Context, what string, err error) error {
	switch {
	case s.closed.Load():
		return fmt.Errorf("kurrent: %s: %w", what, eventstore.ErrClosed)
	case ctx.Err() != nil:
		return fmt.Errorf("kurrent: %s: %w", what, ctx.Err())
	default:
		return fmt.Errorf("kurrent: %s: %w", what, err)
	}
}

// begin checks the store and ctx before a call starts.
func (s *Store) begin(ctx context.Context, what string) error {
	if s.closed.Load() {
		return fmt.Errorf("kurrent: %s: %w", what, eventstore.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kurrent: %s: %w", what, err)
	}
	return nil
}

// Revision arithmetic, in one place. Our revisions and KurrentDB's are the
// same numbers: both count a stream's events from 0, and both name "no
// events yet" separately rather than as a revision (KurrentDB's -1 stays
// inside the server; the wire has a no_stream case). So an append after
// last writes at last+1, the first append at 0, and the expectation that
// pins a stream to what was read is the exact last revision, or "no stream".
func nextRevision(last uint64, exists bool) uint64 {
	if !exists {
		return 0
	}
	return last + 1
}

// expectedAt is the KurrentDB expectation that the stream is still where it
// was read: at revision last, or without events.
func expectedAt(last uint64, exists bool) esdb.ExpectedRevision {
	if !exists {
		return esdb.NoStream{}
	}
	return esdb.Revision(last)
}

// Append writes events to stream; see eventstore.Store and the package
// comment for how it keeps hashes and recognises retries.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	what := "append to " + stream
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.begin(ctx, what); err != nil {
		return eventstore.AppendResult{}, err
	}
	ctx, done := s.opContext(ctx)
	defer done()
	for attempt := 1; ; attempt++ {
		res, again, err := s.appendOnce(ctx, stream, expected, events)
		if !again || attempt >= s.options.AppendAttemptsMax {
			return res, err
		}
		// Another writer moved the stream between our read and our write:
		// wait a little, at random, so that contending writers spread out.
		delay := time.Duration(rand.Int64N(int64(time.Millisecond) * int64(min(attempt, 10))))
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return eventstore.AppendResult{}, s.fail(ctx, what, ctx.Err())
		}
	}
}

// appendOnce reads the stream, recognises a retry or checks the
// expectation, and appends at the exact revision read. again reports that
// the server refused the append because the stream moved since the read: the
// caller reads and tries again, and err is then the conflict to report if it
// runs out of attempts.
func (s *Store) appendOnce(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (res eventstore.AppendResult, again bool, err error) {
	what := "append to " + stream
	recent, err := s.readNewest(ctx, stream, s.options.IdempotencyWindowEvents)
	if err != nil {
		return eventstore.AppendResult{}, false, err
	}
	if res, found, err := s.findRetry(ctx, stream, expected, recent, events); err != nil || found {
		return res, false, err
	}
	exists := len(recent) > 0
	var last eventstore.Record
	if exists {
		last = recent[len(recent)-1]
	}
	if !expected.Matches(last.Revision, exists) {
		return eventstore.AppendResult{}, false, &eventstore.VersionConflictError{Stream: stream, Expected: expected, Actual: last.Revision, Exists: exists}
	}

	first := nextRevision(last.Revision, exists)
	proposed := make([]esdb.EventData, len(events))
	prev := last.Hash
	var hasher eventstore.Hasher // one buffer for the append's events
	for i, e := range events {
		hash := hasher.Chain(prev, stream, first+uint64(i), e.ID, e.Type, e.Data, e.Metadata)
		proposed[i] = esdb.EventData{
			EventID:     e.ID,
			EventType:   e.Type,
			ContentType: esdb.ContentTypeJson,
			Data:        e.Data,
			Metadata:    wrapMetadata(hash, e.Metadata),
		}
		prev = hash
	}
	if size := appendSize(proposed); size > s.options.MaxAppendSize {
		return eventstore.AppendResult{}, false, fmt.Errorf("kurrent: %s: %w: %d bytes as KurrentDB counts them (data, metadata in the hash envelope, the type twice), over its MaxAppendSize of %d",
			what, eventstore.ErrAppendTooLarge, size, s.options.MaxAppendSize)
	}
	result, err := call(ctx, s, func(c *esdb.Client) (*esdb.WriteResult, error) {
		return c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: expectedAt(last.Revision, exists)}, proposed...)
	})
	if isCode(err, esdb.ErrorCodeWrongExpectedVersion) {
		return eventstore.AppendResult{}, true, &eventstore.VersionConflictError{Stream: stream, Expected: expected, Actual: last.Revision, Exists: exists}
	}
	if isAppendSizeExceeded(err) {
		// A server whose MaxAppendSize is below Options.MaxAppendSize.
		return eventstore.AppendResult{}, false, fmt.Errorf("kurrent: %s: %w: %w (set the store's MaxAppendSize to the server's)", what, eventstore.ErrAppendTooLarge, err)
	}
	if err != nil {
		return eventstore.AppendResult{}, false, s.fail(ctx, what, err)
	}
	lastRevision := first + uint64(len(events)) - 1
	if result.NextExpectedVersion != lastRevision {
		// The server wrote at the exact revision we named, so it must answer
		// with the revision we computed: anything else is a broken invariant.
		return eventstore.AppendResult{}, false, fmt.Errorf("kurrent: %s: server answered revision %d, want %d", what, result.NextExpectedVersion, lastRevision)
	}
	pos := eventstore.Position{Commit: result.CommitPosition, Prepare: result.PreparePosition}
	if pos.IsStart() {
		// The server answered without a position (no_position): read it.
		recs, err := s.readForward(ctx, stream, lastRevision, 1)
		if err != nil {
			return eventstore.AppendResult{}, false, err
		}
		if len(recs) != 1 || recs[0].ID != events[len(events)-1].ID {
			return eventstore.AppendResult{}, false, fmt.Errorf("kurrent: %s: the last event written is not at revision %d", what, lastRevision)
		}
		pos = recs[0].Position
	}
	return eventstore.AppendResult{Revision: lastRevision, Position: pos}, false, nil
}

// appendSize is the size of an append as KurrentDB counts it against its
// MaxAppendSize: each event's data and custom metadata (here the hash
// envelope around ours), and its type twice (Event.SizeOnDisk counts the
// type's UTF-16 length).
func appendSize(events []esdb.EventData) int {
	size := 0
	for _, e := range events {
		size += len(e.Data) + len(e.Metadata) + 2*len(e.EventType)
	}
	return size
}

// isAppendSizeExceeded reports whether err is KurrentDB's refusal of an
// append over its MaxAppendSize: the client passes it on as an
// unclassified error holding the gRPC status (InvalidArgument, "Maximum
// Append Size of N Exceeded.").
func isAppendSizeExceeded(err error) bool {
	var e *esdb.Error
	if !errors.As(err, &e) || e.Err() == nil {
		return false
	}
	st, ok := status.FromError(e.Err())
	return ok && st.Code() == codes.InvalidArgument && strings.HasPrefix(st.Message(), "Maximum Append Size")
}

// findRetry recognises a batch already recorded in stream: all its ids, in
// order, at consecutive revisions. recent holds the stream's newest events in
// revision order. It looks in recent and, when the expectation names a
// revision older than recent, right after it. An id of the batch found in
// the stream but not as this batch is ErrDuplicateEventID.
func (s *Store) findRetry(ctx context.Context, stream string, expected eventstore.ExpectedRevision, recent []eventstore.Record, events []eventstore.EventData) (eventstore.AppendResult, bool, error) {
	if len(recent) == 0 {
		return eventstore.AppendResult{}, false, nil
	}
	candidates := recent
	// The place an Exact or NoStream expectation names is where an original
	// append wrote, whatever has been written since.
	after, named := expected.ExactRevision()
	start := after + 1
	if expected.IsNoStream() {
		named, start = true, 0
	}
	if named && start < recent[0].Revision {
		older, err := s.readForward(ctx, stream, start, min(len(events), int(recent[0].Revision-start)))
		if err != nil {
			return eventstore.AppendResult{}, false, err
		}
		candidates = append(older, recent...)
	}
	index := make(map[uuid.UUID]int, len(candidates))
	for i, r := range candidates {
		index[r.ID] = i
	}
	at, ok := index[events[0].ID]
	if ok && at+len(events) <= len(candidates) {
		batch := candidates[at : at+len(events)]
		match := true
		for i, e := range events {
			if batch[i].ID != e.ID || (i > 0 && batch[i].Revision != batch[i-1].Revision+1) {
				match = false
				break
			}
		}
		if match {
			last := batch[len(batch)-1]
			return eventstore.AppendResult{Revision: last.Revision, Position: last.Position, Replayed: true}, true, nil
		}
	}
	for _, e := range events {
		if _, dup := index[e.ID]; dup {
			return eventstore.AppendResult{}, false, fmt.Errorf("kurrent: append to %s: event %s is already recorded, not as this batch: %w", stream, e.ID, eventstore.ErrDuplicateEventID)
		}
	}
	return eventstore.AppendResult{}, false, nil
}

// readNewest returns up to count of stream's newest events in revision
// order, or none when the stream does not exist.
func (s *Store) readNewest(ctx context.Context, stream string, count int) ([]eventstore.Record, error) {
	recs, err := s.readStreamPage(ctx, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, count)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
		recs[i], recs[j] = recs[j], recs[i]
	}
	return recs, nil
}

// readForward returns up to count events of stream from revision from.
func (s *Store) readForward(ctx context.Context, stream string, from uint64, count int) ([]eventstore.Record, error) {
	return s.readStreamPage(ctx, stream, esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Revision(from)}, count)
}

// readStreamPage runs one read of stream and decodes its events.
func (s *Store) readStreamPage(ctx context.Context, stream string, opts esdb.ReadStreamOptions, count int) ([]eventstore.Record, error) {
	what := "read " + stream
	recs, err := call(ctx, s, func(c *esdb.Client) ([]eventstore.Record, error) {
		rs, err := c.ReadStream(ctx, stream, opts, uint64(count))
		if err != nil {
			return nil, err
		}
		defer rs.Close()
		var recs []eventstore.Record
		if _, err := eachEvent(rs, count, func(ev *esdb.ResolvedEvent) (bool, error) {
			r, err := decode(ev)
			recs = append(recs, r)
			return true, err
		}); err != nil {
			return nil, err
		}
		return recs, nil
	})
	if isCode(err, esdb.ErrorCodeResourceNotFound) {
		return nil, fmt.Errorf("kurrent: %s: %w", what, eventstore.ErrStreamNotFound)
	}
	if err != nil {
		return nil, s.fail(ctx, what, err)
	}
	return recs, nil
}

// decode turns a client event into a Record, unwrapping the envelope.
func decode(ev *esdb.ResolvedEvent) (eventstore.Record, error) {
	e := ev.OriginalEvent()
	if e == nil {
		return eventstore.Record{}, errors.New("kurrent: read an event without a recorded event")
	}
	metadata, hash, err := unwrapMetadata(e.UserMetadata)
	if err != nil {
		return eventstore.Record{}, fmt.Errorf("kurrent: %s@%d: %w", e.StreamID, e.EventNumber, err)
	}
	return eventstore.Record{
		StreamID:   e.StreamID,
		Revision:   e.EventNumber,
		Position:   recordedPosition(e),
		ID:         e.EventID,
		Type:       e.EventType,
		Data:       e.Data,
		Metadata:   metadata,
		RecordedAt: e.CreatedDate.UTC(),
		Hash:       hash,
	}, nil
}

// isSystem reports whether an event is KurrentDB's own: its type or its
// stream starts with "$". Such events never come from callledger, whose
// stream ids and types cannot start with "$" (eventstore.ValidateAppend).
func isSystem(e *esdb.RecordedEvent) bool {
	return strings.HasPrefix(e.EventType, "$") || strings.HasPrefix(e.StreamID, "$")
}

// ReadStream returns events of stream from revision from; see
// eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Record, error) {
	if err := s.begin(ctx, "read "+stream); err != nil {
		return nil, err
	}
	ctx, done := s.opContext(ctx)
	defer done()
	var out []eventstore.Record
	for {
		count := s.options.ReadPageEvents
		if limit > 0 {
			count = min(count, limit-len(out))
		}
		recs, err := s.readForward(ctx, stream, from, count)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
		if len(recs) < count || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		from = recs[len(recs)-1].Revision + 1
	}
}

// recordedPosition is where KurrentDB says an event stands in $all, as an
// eventstore.Position: the other way round from allPosition.
func recordedPosition(e *esdb.RecordedEvent) eventstore.Position {
	return eventstore.Position{Commit: e.Position.Commit, Prepare: e.Position.Prepare}
}

// allPosition is where a read or subscription of $all starts.
func allPosition(p eventstore.Position) esdb.AllPosition {
	if p.IsStart() {
		return esdb.Start{}
	}
	return esdb.Position{Commit: p.Commit, Prepare: p.Prepare}
}

// ReadAll returns events of $all after a position, without system events;
// see eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Record, error) {
	what := "read $all"
	if err := s.begin(ctx, what); err != nil {
		return nil, err
	}
	ctx, done := s.opContext(ctx)
	defer done()
	var out []eventstore.Record
	cursor := after // the last position seen, system events included
	for {
		count := s.options.ReadPageEvents
		if limit > 0 {
			// One more than wanted: the server reads from cursor inclusive.
			count = min(count, limit-len(out)+1)
		}
		type page struct {
			recs []eventstore.Record
			read int
			last eventstore.Position
		}
		p, err := call(ctx, s, func(c *esdb.Client) (page, error) {
			var p page
			var err error
			p.read, err = eachOfAll(ctx, c, esdb.ReadAllOptions{Direction: esdb.Forwards, From: allPosition(cursor)}, count, func(ev *esdb.ResolvedEvent) (bool, error) {
				e := ev.OriginalEvent()
				pos := recordedPosition(e)
				if !cursor.Less(pos) {
					return true, nil // the event at cursor itself
				}
				p.last = pos
				if isSystem(e) {
					return true, nil
				}
				r, err := decode(ev)
				if err != nil {
					return false, err
				}
				p.recs = append(p.recs, r)
				return true, nil
			})
			return p, err
		})
		if err != nil {
			return nil, s.fail(ctx, what, err)
		}
		for _, r := range p.recs {
			if limit > 0 && len(out) >= limit {
				break
			}
			out = append(out, r)
		}
		if p.read < count || (limit > 0 && len(out) >= limit) || p.last.IsStart() {
			if len(out) > 0 {
				s.tails.note(out[len(out)-1]) // a subscription after it may follow
			}
			return out, nil
		}
		cursor = p.last
	}
}

// eachOfAll runs one read of $all with opts, for up to count events, and
// calls visit with each in turn until visit returns false or an error. It
// returns how many events it read.
func eachOfAll(ctx context.Context, c *esdb.Client, opts esdb.ReadAllOptions, count int, visit func(*esdb.ResolvedEvent) (bool, error)) (int, error) {
	rs, err := c.ReadAll(ctx, opts, uint64(count))
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	return eachEvent(rs, count, visit)
}

// eachEvent receives up to count events from rs, and calls visit with each
// in turn until visit returns false or an error. It returns how many events
// it received.
func eachEvent(rs *esdb.ReadStream, count int, visit func(*esdb.ResolvedEvent) (bool, error)) (int, error) {
	read := 0
	for range count {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return read, err
		}
		read++
		if more, err := visit(ev); err != nil || !more {
			return read, err
		}
	}
	return read, nil
}

// SubscribeAll yields the events of $all after a position, without system
// events, catching up then following live; see eventstore.Store. When the
// subscription drops it subscribes again after the last event it yielded,
// with a bounded backoff, until ctx is done. It yields an error and ends when
// the store closes or the server refuses the subscription for good (access
// denied, bad credentials, unsupported), and one wrapping
// eventstore.ErrLogChanged when $all no longer holds the event it resumes
// after (the last one it yielded, or the one at the position it was given,
// which must be an event's or Start) with that event's id: the database
// was replaced at the same address, or lost events, while the
// subscription was down, and following its events from there would splice
// two logs together (the next event read would be another log's). Each
// subscription checks so once it is open and before it yields anything
// (resumeCheck), on the node it subscribed to.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Record, error] {
	return func(yield func(eventstore.Record, error) bool) {
		what := "subscribe to $all"
		if err := s.begin(ctx, what); err != nil {
			if s.closed.Load() {
				yield(eventstore.Record{}, err)
			}
			return
		}
		ctx, done := s.opContext(ctx)
		defer done()
		cursor := after
		var mark resumeMark // the event at cursor, once known
		if id, ok := s.tails.idAt(after); ok && !after.IsStart() {
			mark = resumeMark{id: id, known: true}
		}
		delay := s.options.ReconnectDelayMin
		for {
			progressed, stopped, err := s.subscribeOnce(ctx, &cursor, &mark, yield)
			if stopped {
				return
			}
			switch {
			case s.closed.Load():
				yield(eventstore.Record{}, fmt.Errorf("kurrent: %s: %w", what, eventstore.ErrClosed))
				return
			case ctx.Err() != nil:
				return
			case errors.Is(err, eventstore.ErrLogChanged):
				yield(eventstore.Record{}, err)
				return
			case isPermanent(err):
				yield(eventstore.Record{}, s.fail(ctx, what, err))
				return
			}
			if progressed {
				delay = s.options.ReconnectDelayMin
			}
			s.logger.Warn("kurrent: subscription to $all dropped; subscribing again", "after", cursor.String(), "delay", delay, "err", err)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				if s.closed.Load() {
					yield(eventstore.Record{}, fmt.Errorf("kurrent: %s: %w", what, eventstore.ErrClosed))
				}
				return
			}
			delay = min(2*delay, s.options.ReconnectDelayMax)
		}
	}
}

// resumeMark is the id of the event a subscription resumes after, once
// known: a log that no longer holds it there is another log.
type resumeMark struct {
	id    uuid.UUID
	known bool
}

// eventAt returns the id of the event at pos in $all; ok is false when no
// event stands there.
func (s *Store) eventAt(ctx context.Context, pos eventstore.Position) (id uuid.UUID, ok bool, err error) {
	type found struct {
		id uuid.UUID
		ok bool
	}
	f, err := call(ctx, s, func(c *esdb.Client) (found, error) {
		var f found
		// The server reads from pos inclusive.
		_, err := eachOfAll(ctx, c, esdb.ReadAllOptions{Direction: esdb.Forwards, From: allPosition(pos)}, 1, func(ev *esdb.ResolvedEvent) (bool, error) {
			if e := ev.OriginalEvent(); e != nil && recordedPosition(e) == pos {
				f = found{id: e.EventID, ok: true}
			}
			return false, nil
		})
		return f, err
	})
	return f.id, f.ok, err
}

// resumeCheck checks that $all holds, at pos, the event *mark names (see
// SubscribeAll), and sets *mark to the event there when it names none yet
// (the position the subscription was given). It returns an error wrapping
// eventstore.ErrLogChanged when no event stands there or another does, the
// read's error when it cannot tell.
func (s *Store) resumeCheck(ctx context.Context, pos eventstore.Position, mark *resumeMark) error {
	held, ok, err := s.eventAt(ctx, pos)
	switch {
	case err != nil:
		return fmt.Errorf("kurrent: subscribe to $all after position %s: check the event there: %w", pos, err)
	case !ok:
		return fmt.Errorf("kurrent: subscribe to $all after position %s: %w: no event stands there now (the database was replaced or lost events)", pos, eventstore.ErrLogChanged)
	case !mark.known:
		*mark = resumeMark{id: held, known: true}
	case held != mark.id:
		return fmt.Errorf("kurrent: subscribe to $all after position %s: %w: event %s stands there now, where event %s was (the database was replaced while the subscription was down)", pos, eventstore.ErrLogChanged, held, mark.id)
	}
	return nil
}

// subscribeOnce subscribes after *cursor and yields events until the
// subscription drops (err says why) or the consumer stops ranging (stopped).
// Once the subscription is open, and before it yields anything, it checks
// that $all still holds the event at *cursor (resumeCheck; not at Start):
// checked before subscribing, the check's reads met a node still down and
// slowed the client's recovery for seconds (a KurrentDB probe: writes 503
// for 13 s after a 30 s outage, against 45 ms without), and a node that
// answers the subscription answers the check. It advances *cursor past
// every event it yields, and *mark to it, so that the next subscription
// resumes without gaps or repeats; progressed reports that it yielded at
// least one event or caught up.
func (s *Store) subscribeOnce(ctx context.Context, cursor *eventstore.Position, mark *resumeMark, yield func(eventstore.Record, error) bool) (progressed, stopped bool, err error) {
	sub, err := call(ctx, s, func(c *esdb.Client) (*esdb.Subscription, error) {
		return c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{
			From:   allPosition(*cursor),
			Filter: esdb.ExcludeSystemEventsFilter(),
		})
	})
	if err != nil {
		return false, false, err
	}
	defer sub.Close()
	if !cursor.IsStart() {
		if err := s.resumeCheck(ctx, *cursor, mark); err != nil {
			return false, false, err
		}
	}
	for {
		ev := sub.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			return progressed, false, ev.SubscriptionDropped.Error
		case ev.CaughtUp != nil:
			progressed = true
		case ev.EventAppeared != nil:
			e := ev.EventAppeared.OriginalEvent()
			if e == nil {
				continue
			}
			pos := recordedPosition(e)
			// The server starts after the position on its own; this also
			// holds the line should a server start at it, or resend.
			if !cursor.Less(pos) || isSystem(e) {
				continue
			}
			r, err := decode(ev.EventAppeared)
			if err != nil {
				yield(eventstore.Record{}, err)
				return progressed, true, nil
			}
			if !yield(r, nil) {
				return progressed, true, nil
			}
			*cursor = pos
			*mark = resumeMark{id: r.ID, known: true}
			progressed = true
		}
	}
}

// isPermanent reports whether a subscription error will not go away by
// subscribing again.
func isPermanent(err error) bool {
	for _, code := range []esdb.ErrorCode{esdb.ErrorCodeUnauthenticated, esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnsupportedFeature} {
		if isCode(err, code) {
			return true
		}
	}
	return false
}

// ErrConnectionString is wrapped by the error of Open when the client
// cannot parse the connection string (checked before anything connects),
// so that a command can refuse a bad --store as a usage error.
var ErrConnectionString = errors.New("kurrent: connection string")

// refusal is the client's reason for refusing connectionString, with no
// part of its password in it: the parser quotes the string, or the part
// of it before a '#', in its errors, and a password holding '/', '?' or
// '#' unencoded is what it stumbles on, read as the end of the host (a
// KurrentDB probe saw "invalid port \":pa?ss3cr3tX\"" and the like). The
// user info is read by hand (the last '@' after the scheme), as the
// string is one the parser refused; the string with its password replaced
// by "****" is parsed again, and its reason given: the same reason when
// the fault lies elsewhere, none when the password was the fault, which
// is then said.
func refusal(connectionString string, err error) string {
	if u, perr := url.Parse(connectionString); perr == nil && u.User == nil && !strings.ContainsRune(u.Path, '@') {
		// A string the URL parser reads has no user info: an '@' it
		// holds is a setting's (tlsCAFile=/etc/a@b.pem), and the
		// client's reason quotes no password. (User info whose password
		// holds a '?' reads as settings: checkSettings refused it.)
		return err.Error()
	}
	scheme, rest, ok := strings.Cut(connectionString, "://")
	if !ok {
		return err.Error()
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return err.Error()
	}
	user, password, ok := strings.Cut(rest[:at], ":")
	if !ok || password == "" {
		return err.Error()
	}
	masked := scheme + "://" + user + ":****" + rest[at:]
	if _, err := esdb.ParseConnectionString(masked); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%q does not parse with its password: %s", masked, passwordEncoding)
}
