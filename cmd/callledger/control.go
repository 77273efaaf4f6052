package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/kurrent"
)

// The control socket.
//
// Pebble locks each database's directory for the process that opens it,
// so the tools of a data directory (verify, export, history, billing)
// cannot open one that a running serve holds, and a copy of files that a
// running server writes is not consistent. So serve listens on a Unix
// socket in the data directory, <data>/serve.sock (created owner only, in
// a directory that is owner only), whose one request, POST /copy, asks it
// to copy its databases into a new directory under <data>/copies, laid
// out as a data directory: Pebble checkpoints (tables hard-linked, logs
// synced and copied), the read models first, then the embedded event
// store, so that the copy's read models hold no event its log lacks. A
// tool that finds the socket answering runs against such a copy, taken as
// it starts, and removes it when done (servedCopy); serve removes, as it
// starts, the copies that no tool holds open (a tool killed midway).

// Names in the data directory.
const (
	controlSocketName = "serve.sock"
	copiesDirName     = "copies"
)

// copyWaitMax bounds a tool's wait for serve's copy of its data: hard
// links and a copy of the write-ahead logs (tens of megabytes) take well
// under a second.
const copyWaitMax = time.Minute

// controlSocketPathMax is the longest socket path serve listens on: Unix
// socket addresses hold about 100 bytes (104 on macOS, 108 on Linux).
const controlSocketPathMax = 100

// checkpointer is a database that copies itself consistently while open
// (embedded.Store, projections.Projector).
type checkpointer interface {
	Checkpoint(ctx context.Context, dir string) error
}

// copyAnswer is the answer to POST /copy: the copy's data directory.
type copyAnswer struct {
	Dir string `json:"dir"`
}

// startControl listens on the data directory's control socket and serves
// it until Close. A socket it cannot create (a path too long, a file
// system without sockets) only means that the tools cannot run while
// serve does, as before: it is logged, not fatal.
func (m *Main) startControl() {
	// The copies' paths are answered whole: a tool may name the data
	// directory otherwise (absolute, relative to another directory,
	// through a symbolic link).
	abs, err := filepath.Abs(m.Store.DataDir)
	if err != nil {
		m.log.Warn("no control socket: verify, export, history and billing cannot run while serve does", slog.Any("err", err))
		return
	}
	m.dataDirAbs = abs
	removeUnheldCopies(filepath.Join(abs, copiesDirName), 0, m.log)
	path := filepath.Join(m.Store.DataDir, controlSocketName)
	if len(path) > controlSocketPathMax {
		m.log.Warn("no control socket: the data directory's path is too long for one, so verify, export, history and billing cannot run while serve does",
			slog.String("path", path))
		return
	}
	removeStaleSocket(path)
	ln, err := net.Listen("unix", path)
	if err == nil {
		// The directory is owner only already; so is the socket.
		err = os.Chmod(path, 0o600)
		if err != nil {
			ln.Close()
		}
	}
	if err != nil {
		m.log.Warn("no control socket: verify, export, history and billing cannot run while serve does",
			slog.String("path", path), slog.Any("err", err))
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /copy", m.serveCopy)
	m.control = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn)}
	m.controlDone = make(chan struct{})
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		if err := m.control.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("control socket stopped", "err", err)
		}
	}()
	go func() {
		// Copies that tools left (killed, or gone before the answer) go
		// while serve runs, not only at its next start.
		defer m.wg.Done()
		tick := time.NewTicker(copyWaitMax)
		defer tick.Stop()
		for {
			select {
			case <-m.controlDone:
				return
			case <-tick.C:
				removeUnheldCopies(filepath.Join(abs, copiesDirName), copyWaitMax, m.log)
			}
		}
	}()
}

// serveAnswers reports whether a serve answers on dataDir's control
// socket: it holds that data directory.
func serveAnswers(dataDir string) bool {
	conn, err := net.DialTimeout("unix", filepath.Join(dataDir, controlSocketName), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// removeStaleSocket removes the socket a serve that was killed left at
// path: one that no server answers on. A socket a server answers on is
// left: that server holds the data directory, and this one could not
// have opened it.
func removeStaleSocket(path string) {
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		os.Remove(path)
	}
}

// serveCopy answers POST /copy: it copies the read models, then the
// event store, into a new directory under <data>/copies, and answers its
// path.
func (m *Main) serveCopy(w http.ResponseWriter, r *http.Request) {
	root := filepath.Join(m.dataDirAbs, copiesDirName)
	// Copies of tools that went away without removing theirs (killed, or
	// gone before the answer) go now, not at the next start only.
	removeUnheldCopies(root, copyWaitMax, m.log)
	dir, err := m.copyData(r.Context(), root)
	if err == nil && r.Context().Err() != nil {
		// The tool went away (interrupted, or tired of waiting): nobody
		// will remove the copy.
		os.RemoveAll(dir)
		return
	}
	if err != nil {
		m.log.Warn("a tool's copy of the data failed", slog.Any("err", err))
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	m.log.Info("copied the data for a tool", slog.String("dir", dir))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(copyAnswer{Dir: dir})
}

// copyData makes the copy serveCopy answers, under root: a data directory
// whose readmodels/ and, for the embedded store, events/ are checkpoints.
func (m *Main) copyData(ctx context.Context, root string) (dir string, err error) {
	if err := os.MkdirAll(root, dataDirPerm); err != nil {
		return "", fmt.Errorf("create %s: %w", root, err)
	}
	dir, err = os.MkdirTemp(root, "copy-")
	if err != nil {
		return "", fmt.Errorf("create a copy directory in %s: %w", root, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	copied := storeConfig{DataDir: dir}
	if err := m.ledger.Projector.Checkpoint(ctx, copied.ReadModelsDir()); err != nil {
		return "", err
	}
	if cp, ok := m.ledger.Store.(checkpointer); ok {
		if err := cp.Checkpoint(ctx, copied.EventsDir()); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// removeUnheldCopies removes the copies under root older than age that
// no tool holds open (their databases' locks are free): those of tools
// that went away without removing theirs. A tool opens its copy as soon
// as it is answered, so a copy older than copyWaitMax and not held is
// no tool's.
func removeUnheldCopies(root string, age time.Duration, log *slog.Logger) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < age || copyHeld(dir) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("could not remove a tool's copy of the data", slog.String("dir", dir), slog.Any("err", err))
			continue
		}
		log.Info("removed a copy of the data that no tool holds", slog.String("dir", dir))
	}
}

// copyHeld reports whether a tool holds one of the databases of the copy
// in dir open: a lock on it is held.
func copyHeld(dir string) bool {
	for _, sub := range []string{"events", "readmodels"} {
		d := filepath.Join(dir, sub)
		if _, err := os.Stat(filepath.Join(d, "LOCK")); err != nil {
			continue
		}
		if embedded.LockHeld(d) {
			return true
		}
	}
	return false
}

// servedCopy returns cfg when no serve answers on its data directory's
// control socket, and otherwise cfg over a copy of that serve's data,
// taken now, with a function that removes the copy: the tools that only
// read (verify, export, history, billing) run against it, and say so on
// env.Stderr. A socket nobody answers on (a serve killed) is no serve.
func servedCopy(ctx context.Context, cfg storeConfig, env Env) (storeConfig, func(), error) {
	none := func() {}
	if cfg.StoreURL != "" {
		// A malformed --store is a usage error (exit 2), refused before
		// anything is opened or copied.
		if err := kurrent.CheckConnectionString(cfg.StoreURL); err != nil {
			return cfg, none, usageError{fmt.Errorf("--store: %w", err)}
		}
	}
	path := filepath.Join(cfg.DataDir, controlSocketName)
	if _, err := os.Stat(path); err != nil {
		return cfg, none, nil
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	// A serve that is stopped (SIGSTOP) or stuck must not hang the tool.
	ctx, cancel := context.WithTimeout(ctx, copyWaitMax)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://serve/copy", nil)
	if err != nil {
		return cfg, none, err
	}
	resp, err := client.Do(req)
	if opErr := (*net.OpError)(nil); errors.As(err, &opErr) && opErr.Op == "dial" {
		return cfg, none, nil // nobody listens: the socket of a serve that was killed
	}
	if err != nil {
		return cfg, none, fmt.Errorf("ask the running serve for a copy of its data (%s): %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return cfg, none, fmt.Errorf("the running serve could not copy its data for this command (%s): %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	var ans copyAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return cfg, none, fmt.Errorf("read the running serve's answer on %s: %w", path, err)
	}
	if !sameDir(filepath.Dir(ans.Dir), filepath.Join(cfg.DataDir, copiesDirName)) {
		return cfg, none, fmt.Errorf("the running serve answered a copy outside %s: %q", filepath.Join(cfg.DataDir, copiesDirName), ans.Dir)
	}
	fmt.Fprintf(env.Stderr, "serve is running on %s: this reads a copy of its data taken now (%s), removed when done\n", cfg.DataDir, ans.Dir)
	copied := cfg
	copied.DataDir = ans.Dir
	return copied, func() { os.RemoveAll(ans.Dir) }, nil
}

// sameDir reports whether a and b name one directory, however each is
// written (relative, through symbolic links).
func sameDir(a, b string) bool {
	ai, err := os.Stat(a)
	if err != nil {
		return false
	}
	bi, err := os.Stat(b)
	return err == nil && os.SameFile(ai, bi)
}
