package embedded

import (
	"errors"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
)

// errSyncThread reports that a sync thread could not be started or used;
// syncPool then syncs on the calling goroutine instead.
var errSyncThread = errors.New("embedded: sync thread unavailable")

// syncThreadsMax bounds the threads a syncPool starts. Pebble syncs from a
// few goroutines at most (the WAL's, a flush's, compactions'); a caller
// that finds every thread busy syncs on its own goroutine.
const syncThreadsMax = 8

// syncPool runs fsync and fdatasync on threads that Go's scheduler does not
// own (syncThread), so that a goroutine waiting for the disk holds no P.
//
// Why: a goroutine in a blocking system call keeps its P (the right to run
// Go code) until the runtime's monitor thread takes it back, and that
// monitor backs off to waking every 10 ms when it finds nothing to take, so
// it never catches a WAL fdatasync of a millisecond or two. Under the
// upsert load one of the two Ps sat in fdatasync a quarter of the time: the
// process used ~1.74 of 2 cores while the runtime counted no idle P. With
// the syncs on these threads it uses ~1.86, and upserts per second rose by
// 10–15% (BenchmarkLoopback, alternating binaries). The round trip to the
// thread adds ~18 µs to a sync (an fdatasync of a clean file: 82 → 100 µs),
// which a lone writer pays in latency (~6% of a 2-event append).
//
// The zero value is ready to use; close stops its threads.
type syncPool struct {
	mu   sync.Mutex
	idle []*syncThread
	// threads counts the threads running, idle or lent out.
	threads int
	closed  bool
	// failed is set when a thread could not be started (or there are none
	// here): the pool stops trying, and every sync runs on its caller.
	failed bool
}

// get lends a thread: an idle one, or a new one while fewer than
// syncThreadsMax exist. It returns nil when none can be had.
func (p *syncPool) get() *syncThread {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		t := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return t
	}
	if p.closed || p.failed || p.threads >= syncThreadsMax {
		return nil
	}
	t, err := startSyncThread()
	if err != nil {
		p.failed = true
		return nil
	}
	p.threads++
	return t
}

// put returns a thread lent by get. A broken thread is stopped instead.
func (p *syncPool) put(t *syncThread, broken bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if broken || p.closed {
		t.close()
		p.threads--
		return
	}
	p.idle = append(p.idle, t)
}

// sync syncs f: fsync when full, else fdatasync. It uses a thread when it
// can get one and f has a descriptor, and f's own method otherwise (or
// when the thread breaks: a sync is safe to repeat).
func (p *syncPool) sync(f vfs.File, full bool) error {
	if fd := f.Fd(); fd != vfs.InvalidFd {
		if t := p.get(); t != nil {
			err := t.sync(fd, full)
			broken := errors.Is(err, errSyncThread)
			p.put(t, broken)
			if !broken {
				return err
			}
		}
	}
	if full {
		return f.Sync()
	}
	return f.SyncData()
}

// close stops every idle thread and marks the pool closed, so that threads
// still lent out stop when they come back. Syncs after close run on the
// calling goroutine.
func (p *syncPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, t := range p.idle {
		t.close()
		p.threads--
	}
	p.idle = nil
}

// syncOffloadFS is fs, whose writable files (and directories, which Pebble
// syncs after creating files) run Sync and SyncData on pool.
func syncOffloadFS(fs vfs.FS, pool *syncPool) vfs.FS {
	return pebblelog.FileWrappingFS{FS: fs, Dirs: true, Wrapper: syncOffloading{pool: pool}}
}

// syncOffloading is the pebblelog.FileWrapper of syncOffloadFS.
type syncOffloading struct{ pool *syncPool }

// WrapFile returns f, whose syncs run on the pool.
func (w syncOffloading) WrapFile(f vfs.File) vfs.File { return syncOffloadFile{File: f, pool: w.pool} }

// syncOffloadFile is a file of syncOffloadFS.
type syncOffloadFile struct {
	vfs.File
	pool *syncPool
}

func (f syncOffloadFile) Sync() error     { return f.pool.sync(f.File, true) }
func (f syncOffloadFile) SyncData() error { return f.pool.sync(f.File, false) }
