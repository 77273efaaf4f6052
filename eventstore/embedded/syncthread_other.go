//go:build !linux || !cgo

package embedded

import "fmt"

// syncThread is not available on this platform or without cgo: syncPool
// falls back to syncing on the calling goroutine.
type syncThread struct{}

func startSyncThread() (*syncThread, error) {
	return nil, fmt.Errorf("%w: needs linux and cgo", errSyncThread)
}

func (*syncThread) sync(fd uintptr, full bool) error { return errSyncThread }

func (*syncThread) close() {}
