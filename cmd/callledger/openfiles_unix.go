//go:build unix

package main

import "golang.org/x/sys/unix"

// openFilesLimit is the process's limit on open file descriptors (the
// soft RLIMIT_NOFILE, which the Go runtime raises to the hard one as the
// process starts), or 0 when it cannot be read.
func openFilesLimit() uint64 {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}
