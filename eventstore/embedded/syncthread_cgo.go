//go:build linux && cgo

package embedded

/*
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

// A request names the file descriptor to sync and how: fdatasync (full 0)
// or fsync (full 1). The answer is 0 or the errno of the call.
typedef struct { int32_t fd; int32_t full; } sync_request;
typedef struct { int req; int resp; } sync_pipes;

// sync_thread_main serves requests until its request pipe closes (or
// breaks), then closes its ends of both pipes. It blocks every signal, so
// that the kernel delivers the process's signals to Go's own threads.
static void *sync_thread_main(void *arg) {
	sync_pipes p = *(sync_pipes *)arg;
	free(arg);
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		sync_request r;
		ssize_t n = read(p.req, &r, sizeof r);
		if (n < 0 && errno == EINTR) continue;
		if (n != (ssize_t)sizeof r) break;
		int rc;
		do {
			rc = r.full ? fsync(r.fd) : fdatasync(r.fd);
		} while (rc < 0 && errno == EINTR);
		int32_t res = rc == 0 ? 0 : errno;
		ssize_t w;
		do {
			w = write(p.resp, &res, sizeof res);
		} while (w < 0 && errno == EINTR);
		if (w != (ssize_t)sizeof res) break;
	}
	close(p.req);
	close(p.resp);
	return NULL;
}

// start_sync_thread starts a detached thread serving requests read from
// req and answered on resp; it returns 0 or an errno.
static int start_sync_thread(int req, int resp) {
	sync_pipes *p = malloc(sizeof *p);
	if (p == NULL) return ENOMEM;
	p->req = req;
	p->resp = resp;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	int rc = pthread_create(&t, &a, sync_thread_main, p);
	pthread_attr_destroy(&a);
	if (rc != 0) free(p);
	return rc;
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"syscall"
)

// syncThread is one thread outside the Go scheduler that syncs files for
// Go: see syncPool for why. A goroutine sends it a request on a pipe and
// waits for the answer on another; both Go ends are non-blocking and
// registered with Go's network poller, so the waiting goroutine is parked
// and holds no P. One request is in flight at a time (syncPool lends a
// thread to one caller).
type syncThread struct {
	req  *os.File // write end of the request pipe
	resp *os.File // read end of the answer pipe
}

// startSyncThread starts a thread. The thread's ends of the pipes are
// blocking (it waits in read), Go's are not.
func startSyncThread() (*syncThread, error) {
	var req, resp [2]int
	if err := syscall.Pipe2(req[:], syscall.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("sync thread: pipe: %w", err)
	}
	if err := syscall.Pipe2(resp[:], syscall.O_CLOEXEC); err != nil {
		closeFds(req[0], req[1])
		return nil, fmt.Errorf("sync thread: pipe: %w", err)
	}
	for _, fd := range []int{req[1], resp[0]} {
		if err := syscall.SetNonblock(fd, true); err != nil {
			closeFds(req[0], req[1], resp[0], resp[1])
			return nil, fmt.Errorf("sync thread: pipe: %w", err)
		}
	}
	if rc := C.start_sync_thread(C.int(req[0]), C.int(resp[1])); rc != 0 {
		closeFds(req[0], req[1], resp[0], resp[1])
		return nil, fmt.Errorf("sync thread: pthread_create: %w", syscall.Errno(rc))
	}
	// From here on the thread owns req[0] and resp[1].
	return &syncThread{
		req:  os.NewFile(uintptr(req[1]), "sync-thread-request"),
		resp: os.NewFile(uintptr(resp[0]), "sync-thread-answer"),
	}, nil
}

func closeFds(fds ...int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// sync runs fdatasync(fd), or fsync(fd) when full, on the thread and
// returns its error. An error of the pipes themselves is reported as
// errSyncThread, and the thread must not be used again.
func (t *syncThread) sync(fd uintptr, full bool) error {
	var msg [8]byte
	binary.NativeEndian.PutUint32(msg[0:4], uint32(fd))
	if full {
		binary.NativeEndian.PutUint32(msg[4:8], 1)
	}
	if _, err := t.req.Write(msg[:]); err != nil {
		return fmt.Errorf("%w: %w", errSyncThread, err)
	}
	if _, err := io.ReadFull(t.resp, msg[:4]); err != nil {
		return fmt.Errorf("%w: %w", errSyncThread, err)
	}
	if errno := binary.NativeEndian.Uint32(msg[:4]); errno != 0 {
		return syscall.Errno(errno)
	}
	return nil
}

// close stops the thread: it reads the end of its request pipe and exits.
func (t *syncThread) close() {
	t.req.Close()
	t.resp.Close()
}
