package main

import (
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"
)

// Connections.
//
// Every connection holds a file descriptor, and so do the stores' files:
// Pebble keeps up to 1000 tables open in each of its databases (the event
// log, the read models, the idempotency table) and opens a new log and
// new tables as it flushes and compacts. Without a limit, clients opening
// connections until the process runs out of descriptors (a slow-headers
// client holds one for ReadHeaderTimeout, an idle one for IdleTimeout)
// stopped serve from accepting anyone (net/http retries accept every
// second, logging each failure) and could leave Pebble unable to open the
// files a flush needs. So serve accepts at most Main.MaxConnections at
// once (netutil.LimitListener): a connection past it waits in the
// kernel's accept queue until one closes, and serve warns that it is at
// the limit, at most once a minute (connWatch).

// storeFilesReserve is how many of the process's file descriptors the
// default connection limit leaves to everything but connections: 1000
// tables open in each of the three Pebble databases, their logs,
// manifests and directories, and the files the tools and the API open.
const storeFilesReserve = 4096

// connectionsMax bounds the default connection limit where the open-file
// limit is unlimited or huge: memory runs out long before.
const connectionsMax = 1 << 20

// connectionsUnknownLimit is the default connection limit where the
// open-file limit cannot be read (openFilesLimit 0).
const connectionsUnknownLimit = 16384

// defaultConnectionLimit is the connection limit for a process allowed
// openFiles file descriptors: openFiles less storeFilesReserve, or less
// half of openFiles when it is small (a limit of 1024 leaves 512 for
// connections), so that there is always room for both;
// connectionsUnknownLimit for 0, a limit that could not be read.
func defaultConnectionLimit(openFiles uint64) int {
	if openFiles == 0 {
		return connectionsUnknownLimit
	}
	reserve := min(openFiles/2, storeFilesReserve)
	return int(max(1, min(openFiles-reserve, connectionsMax)))
}

// connectionLimitTooHigh reports whether maxConns connections would leave
// the stores fewer file descriptors than the default limit leaves them, of
// openFiles (0: unknown, never too high): serve warns of a limit set so.
func connectionLimitTooHigh(maxConns int, openFiles uint64) bool {
	return openFiles > 0 && maxConns > defaultConnectionLimit(openFiles)
}

// limitConnections returns ln accepting at most limit connections at once.
func limitConnections(ln net.Listener, limit int) net.Listener {
	return netutil.LimitListener(ln, limit)
}

// connWatch counts the HTTP server's open connections (as its ConnState
// hook) and warns when they reach the limit, at most once per
// connWarnEvery. Its zero value is not usable: see newConnWatch.
type connWatch struct {
	limit    int64
	log      *slog.Logger
	open     atomic.Int64
	lastWarn atomic.Int64 // Unix nanoseconds of the last warning
}

// connWarnEvery is the least time between two warnings that the
// connections are at their limit.
const connWarnEvery = time.Minute

func newConnWatch(limit int, log *slog.Logger) *connWatch {
	return &connWatch{limit: int64(limit), log: log}
}

// state is an http.Server ConnState hook.
func (w *connWatch) state(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		if w.open.Add(1) < w.limit {
			return
		}
	case http.StateClosed, http.StateHijacked:
		w.open.Add(-1)
		return
	default:
		return
	}
	now := time.Now().UnixNano()
	last := w.lastWarn.Load()
	if now-last < int64(connWarnEvery) || !w.lastWarn.CompareAndSwap(last, now) {
		return
	}
	w.log.Warn("open connections reached the limit: new ones wait until one closes (see --max-connections)",
		slog.Int64("max_connections", w.limit))
}
