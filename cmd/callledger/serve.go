package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/callledger/callledger/api"
	"github.com/callledger/callledger/projections"
)

func addServe(table map[string]command) {
	table["serve"] = command{
		summary: "run the HTTP API over the ledger",
		run: func(ctx context.Context, args []string, env Env) error {
			m := NewMain(env)
			if err := m.ParseFlags(args); err != nil {
				return err
			}
			if err := m.Run(ctx); err != nil {
				m.Close()
				return err
			}
			<-ctx.Done()
			m.log.Info("stopping: requests in flight may finish", "within", m.shutdownTimeout.String(),
				"then", "they are cut off; a second signal stops at once")
			return m.Close()
		},
	}
}

// generatedKeysFile is the file in the data directory that holds the API
// key serve creates when none is configured (one "account:token" line).
const generatedKeysFile = "api-keys"

// shutdownTimeout bounds how long serve waits for requests in flight when
// it is told to stop.
const shutdownTimeout = 15 * time.Second

// Main is the serve command: its configuration and, once Run has started
// it, the running ledger and HTTP server. Tests build one on a temp
// directory and port :0.
type Main struct {
	// Store selects and locates the event log and read models.
	Store storeConfig
	// Addr is the TCP address the HTTP API listens on.
	Addr string
	// APIKeys is the CALLLEDGER_API_KEYS value ("account:token,...").
	APIKeys string
	// APIKeysFile is a file of "account:token" lines.
	APIKeysFile string
	// MaxConnections is how many connections the HTTP server holds open
	// at once (see connlimit.go); 0 is defaultConnectionLimit of the
	// process's open-file limit.
	MaxConnections int

	env Env
	log *slog.Logger
	// shutdownTimeout bounds Close's wait for requests in flight
	// (shutdownTimeout by default; tests shorten it).
	shutdownTimeout time.Duration
	// inFlight counts the requests the HTTP server is running, for the
	// error of a shutdown that had to cut some off.
	inFlight atomic.Int64
	// runProjector runs the projections until ctx ends; nil means
	// Projector.Run. Tests hold the projector back with it, to see reads
	// wait for the read models.
	runProjector func(ctx context.Context, p *projections.Projector) error

	ledger *ledger
	api    *api.Server
	http   *http.Server
	// control serves the data directory's control socket (control.go);
	// nil when there is none. dataDirAbs is the data directory's absolute
	// path, in which it answers the copies it makes.
	control    *http.Server
	dataDirAbs string
	// controlDone ends the control socket's sweep of copies; closed by
	// Close.
	controlDone chan struct{}
	listener    net.Listener
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	// started is set once Run has started serving, so that only a server
	// that served logs that it stopped.
	started bool
	// closeOnce makes Close safe to call again (on a signal and on the way
	// out of Run, say); closeErr is what the first Close returned.
	closeOnce sync.Once
	closeErr  error
}

// NewMain returns a Main that logs to env.Stderr.
func NewMain(env Env) *Main {
	return &Main{env: env, log: newLogger(env.Stderr, slog.LevelInfo), shutdownTimeout: shutdownTimeout}
}

// ParseFlags reads the serve flags, with defaults from the environment.
func (m *Main) ParseFlags(args []string) error {
	fs := newFlagSet("serve", m.env)
	m.Store.register(fs, m.env.Getenv)
	nonEmptyStringVar(fs, &m.Addr, "addr", envOr(m.env.Getenv, "CALLLEDGER_ADDR", defaultAddr),
		"give host:port (\":8080\" for every interface), or leave the flag out for "+defaultAddr+" or $CALLLEDGER_ADDR",
		"HTTP listen `address` (env CALLLEDGER_ADDR)")
	nonEmptyStringVar(fs, &m.APIKeysFile, "api-keys-file", m.env.Getenv("CALLLEDGER_API_KEYS_FILE"),
		"name a file of account:token lines, or leave the flag out",
		"`file` of account:token lines (env CALLLEDGER_API_KEYS_FILE)")
	m.APIKeys = m.env.Getenv("CALLLEDGER_API_KEYS")
	maxConns, err := envInt(m.env.Getenv, "CALLLEDGER_MAX_CONNECTIONS")
	if err != nil {
		return usageError{err}
	}
	fs.IntVar(&m.MaxConnections, "max-connections", maxConns,
		"most HTTP connections held open at once; more wait until one closes (env CALLLEDGER_MAX_CONNECTIONS); 0: the open-file limit less a reserve for the stores' files")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if m.MaxConnections < 0 {
		return usageError{fmt.Errorf("--max-connections %d: give a number of connections, or 0 for the default", m.MaxConnections)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	if err := checkListenAddr(m.Addr); err != nil {
		return usageError{fmt.Errorf("--addr %q: %w", m.Addr, err)}
	}
	return nil
}

// checkListenAddr refuses an address net.Listen would refuse for its
// form (no port, a port out of range or not a known service name), so
// that serve says so as a usage error before it creates or opens
// anything. An address in use is known only when it is bound.
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		var addrErr *net.AddrError
		if errors.As(err, &addrErr) {
			return errors.New(addrErr.Err)
		}
		return err
	}
	if n, err := strconv.ParseUint(port, 10, 64); err == nil {
		if n > 65535 {
			return fmt.Errorf("port %s is not a TCP port (0 to 65535)", port)
		}
		return nil
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("port %q is neither a number nor a known service name", port)
	}
	return nil
}

// Run opens the ledger, starts the projections and the HTTP server, and
// returns once the server is listening. Close stops everything, and must
// be called after a Run that failed too: it releases what Run opened
// before it failed (the ledger, the address, the projections).
//
// What can refuse a start comes before anything is shown or created: the
// configured keys are checked first (as the server will check them), then
// the ledger is opened (its data directory may be held by another
// process), the address bound (it may be taken) and the API server built
// (its idempotency table may not open; over KurrentDB, the log's end may
// not be found), and only then is a generated key stored and printed, so
// that a start that fails leaves no key behind and shows none. The key is
// made in memory first, for the server to be built with it.
func (m *Main) Run(ctx context.Context) error {
	keys, err := m.configuredKeys()
	if err != nil {
		return err
	}
	if err := checkUnfinishedImports(m.Store, m.log); err != nil {
		return err
	}
	l, err := openLedger(ctx, m.Store, m.log)
	if err != nil {
		return err
	}
	m.ledger = l
	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Addr, err)
	}
	m.listener = ln
	maxConns, openFiles := m.MaxConnections, openFilesLimit()
	if maxConns == 0 {
		maxConns = defaultConnectionLimit(openFiles)
	}
	if connectionLimitTooHigh(maxConns, openFiles) {
		m.log.Warn("--max-connections leaves the stores fewer files than they may need: at the limit, connections could take every file descriptor the process may open",
			slog.Int("max_connections", maxConns), slog.Uint64("open_files_limit", openFiles),
			slog.Int("default", defaultConnectionLimit(openFiles)))
	}
	// newKey is the generated key made now, to store once the server is
	// built; "" when keys were configured or stored by an earlier start.
	var newKey string
	if len(keys) == 0 {
		if keys, newKey, err = m.generatedKeys(); err != nil {
			return err
		}
	}

	runCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	runProjector := m.runProjector
	if runProjector == nil {
		runProjector = func(ctx context.Context, p *projections.Projector) error { return p.Run(ctx) }
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := runProjector(runCtx, l.Projector); err != nil {
			m.log.Error("projections stopped", "err", err)
		}
	}()

	m.api, err = api.NewServer(api.Config{
		Store:          l.Store,
		ReadModels:     api.NewReadModels(l.Projector),
		Keys:           keys,
		IdempotencyDir: filepath.Join(m.Store.DataDir, "idempotency"),
		Logger:         m.log,
	})
	if err != nil {
		return err
	}
	if newKey != "" {
		if err := m.storeGeneratedKey(newKey); err != nil {
			// Nothing is served with a key that is not stored: the next
			// start would make another.
			err = errors.Join(err, m.api.Close())
			m.api = nil
			return err
		}
	}
	m.http = &http.Server{
		Handler:           countInFlight(m.api.Handler(), &m.inFlight),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		// A client that does not read its answer is cut off: it would
		// hold the answer's memory (megabytes for a call of thousands of
		// recordings) and its connection for ever.
		WriteTimeout: 120 * time.Second,
		IdleTimeout:  120 * time.Second,
		ErrorLog:     slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ConnState:    newConnWatch(maxConns, m.log).state,
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.http.Serve(limitConnections(ln, maxConns)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("http server stopped", "err", err)
		}
	}()
	m.startControl()
	m.started = true
	m.log.Info("callledger serving", "addr", ln.Addr().String(), "data", m.Store.DataDir, "store", storeName(m.Store),
		"max_connections", maxConns)
	return nil
}

// URL is the base URL of the running server (valid after Run).
func (m *Main) URL() string { return "http://" + m.listener.Addr().String() }

// Close shuts the HTTP server down gracefully (requests in flight finish),
// stops the projections and closes the ledger.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

// close is Close's one run.
func (m *Main) close() error {
	var errs []error
	if m.control != nil {
		// No copy is made once the server stops: a tool then opens the
		// directory itself.
		close(m.controlDone)
		errs = append(errs, m.control.Close())
		os.Remove(filepath.Join(m.Store.DataDir, controlSocketName))
		// The copies' directory goes too when no copy is left in it (a
		// tool still reading one removes its copy when it ends).
		os.Remove(filepath.Join(m.Store.DataDir, copiesDirName))
	}
	switch {
	case m.http != nil:
		errs = append(errs, m.shutdown())
	case m.listener != nil: // bound by a Run that failed before serving on it
		errs = append(errs, m.listener.Close())
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if m.api != nil {
		errs = append(errs, m.api.Close())
	}
	if m.ledger != nil {
		errs = append(errs, m.ledger.Close())
	}
	if m.started {
		m.log.Info("callledger stopped")
	}
	return errors.Join(errs...)
}

// shutdown stops the HTTP server: it stops listening and waits, up to
// shutdownTimeout, for the requests in flight to finish; then it closes
// the connections of those still running (their clients see the
// connection end, and retry), and says how many there were.
func (m *Main) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.shutdownTimeout)
	defer cancel()
	err := m.http.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	running := m.inFlight.Load()
	if err := m.http.Close(); err != nil {
		return fmt.Errorf("shutdown: close the connections of requests still running after %s: %w", m.shutdownTimeout, err)
	}
	return fmt.Errorf("shutdown: %d %s still running after %s cut off", running,
		plural(uint64(running), "request", "requests"), m.shutdownTimeout)
}

// countInFlight counts in n the requests h is running.
func countInFlight(h http.Handler, n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		defer n.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// configuredKeys gathers the API keys from CALLLEDGER_API_KEYS and
// --api-keys-file; none when neither is set, and serve then uses
// generatedKeys.
//
// A source that is configured but holds no key (a file of comments, a
// variable of commas and blanks) is refused: the generated key is for a
// ledger nobody configured, and falling back to it would re-enable a key
// the operator meant to revoke by emptying the file.
func (m *Main) configuredKeys() ([]api.APIKey, error) {
	var keys []api.APIKey
	generated := filepath.Join(m.Store.DataDir, generatedKeysFile)
	if m.APIKeys != "" {
		k, err := api.ParseAPIKeys(m.APIKeys)
		if err != nil {
			return nil, fmt.Errorf("CALLLEDGER_API_KEYS: %w", err)
		}
		if len(k) == 0 {
			return nil, fmt.Errorf("CALLLEDGER_API_KEYS is set but holds no key (want account:token,...): "+
				"give it a key, or unset it to use the generated key in %s", generated)
		}
		keys = append(keys, k...)
	}
	if m.APIKeysFile != "" {
		k, err := api.LoadAPIKeysFile(m.APIKeysFile)
		if err != nil {
			return nil, fmt.Errorf("--api-keys-file: %w", err)
		}
		if len(k) == 0 {
			return nil, fmt.Errorf("--api-keys-file %s holds no key, only blank lines or comments (want account:token lines): "+
				"add a key, or leave the flag and CALLLEDGER_API_KEYS_FILE unset to use the generated key in %s", m.APIKeysFile, generated)
		}
		m.warnLooseKeyFile(m.APIKeysFile)
		keys = append(keys, k...)
	}
	// Each source is checked alone as it is read; together they may hold
	// more keys than a server takes, or one token twice.
	if err := api.CheckKeys(keys); err != nil {
		return nil, fmt.Errorf("CALLLEDGER_API_KEYS and --api-keys-file together: %w", err)
	}
	m.warnShortTokens(keys)
	return keys, nil
}

// shortTokenBytes is the length below which serve warns of a token: a
// guessable one. Every event names the key that wrote it by a prefix of
// its token's SHA-256 (api.APIKey.Name), so that an auditor can tell keys
// apart without the log revealing them; a short token could be found from
// that prefix by trying guesses offline, which a long random one (serve
// generates 48 hex digits) rules out.
const shortTokenBytes = 16

// warnShortTokens logs one warning naming the accounts (never the tokens)
// of keys whose tokens are shorter than shortTokenBytes. They are used all
// the same: the tokens are the operator's, and refusing them would stop a
// server at an upgrade.
func (m *Main) warnShortTokens(keys []api.APIKey) {
	var accounts []string
	for _, k := range keys {
		if len(k.Token) < shortTokenBytes {
			accounts = append(accounts, k.Account)
		}
	}
	if len(accounts) == 0 {
		return
	}
	const shown = 10
	m.log.Warn(fmt.Sprintf("API key tokens shorter than %d characters: the events' actor (a hash prefix of the token) lets anyone holding the log test guesses of them offline; use long random tokens", shortTokenBytes),
		"keys", len(accounts), "accounts", strings.Join(accounts[:min(len(accounts), shown)], ","))
}

// warnLooseKeyFile logs a warning when the keys file at path can be read
// or written by users other than its owner, as ssh does of a private key:
// its tokens are the accounts' passwords. The file is used all the same
// (its mode is the operator's); a serve that generated it wrote it 0600.
// Windows has no such mode bits.
func (m *Main) warnLooseKeyFile(path string) {
	if runtime.GOOS == "windows" {
		return
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm()&0o077 == 0 {
		return
	}
	m.log.Warn("the API keys file can be read or written by other users: its tokens are the accounts' passwords; chmod 600 it",
		"file", path, "mode", fmt.Sprintf("%#o", info.Mode().Perm()))
}

// generatedKeys is the key of a ledger with no key configured: the key file
// in the data directory, or, on first start, a fresh account and token,
// returned as entry too ("account:token") for Run to store and print with
// storeGeneratedKey once the server is built with it.
func (m *Main) generatedKeys() (keys []api.APIKey, entry string, err error) {
	path := filepath.Join(m.Store.DataDir, generatedKeysFile)
	k, err := api.LoadAPIKeysFile(path)
	switch {
	case err == nil && len(k) == 0:
		return nil, "", fmt.Errorf("%s holds no key: configure keys (CALLLEDGER_API_KEYS, --api-keys-file), "+
			"or remove the file for serve to create a new key", path)
	case err == nil:
		m.warnLooseKeyFile(path)
		return k, "", nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("load generated API key: %w", err)
	}
	// A link whose target is gone is no key file, but a new key could not
	// be stored in its place either (storeGeneratedKey's O_EXCL said "file
	// exists", once the server was built): say what it is.
	if target, err := os.Readlink(path); err == nil {
		return nil, "", fmt.Errorf("%s is a symbolic link to %s, which does not exist: restore the key file it points to, "+
			"or remove the link for serve to create a new key", path, target)
	}
	entry, err = generateKey()
	if err != nil {
		return nil, "", err
	}
	keys, err = api.ParseAPIKeys(entry)
	if err != nil {
		return nil, "", fmt.Errorf("generated API key: %w", err)
	}
	return keys, entry, nil
}

// storeGeneratedKey stores entry, the key generatedKeys made, in the key
// file of the data directory, and prints it, once.
func (m *Main) storeGeneratedKey(entry string) error {
	path := filepath.Join(m.Store.DataDir, generatedKeysFile)
	if err := writeKeyFile(path, entry); err != nil {
		return err
	}
	fmt.Fprintf(m.env.Stdout, "No API key was configured, so callledger created one and stored it in %s.\n"+
		"It is shown this once (account:token):\n\n    %s\n\n", path, entry)
	return nil
}

// generateKey returns a new "account:token" line. The account is a UUID,
// usable as a LaML AccountSid.
func generateKey() (string, error) {
	secret := make([]byte, 24)
	if _, err := io.ReadFull(rand.Reader, secret); err != nil {
		return "", fmt.Errorf("generate API key: %w", err)
	}
	return uuid.NewString() + ":" + hex.EncodeToString(secret), nil
}

// writeKeyFile writes entry as the one line of a new file at path (mode
// 0600, synced). A file already there is an error: it is not replaced.
func writeKeyFile(path, entry string) error {
	if err := os.MkdirAll(filepath.Dir(path), dataDirPerm); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("store generated API key: %w", err)
	}
	_, werr := f.WriteString(entry + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("store generated API key: %w", err)
	}
	return nil
}

func storeName(c storeConfig) string {
	if c.StoreURL != "" {
		return "kurrentdb"
	}
	return "embedded"
}
