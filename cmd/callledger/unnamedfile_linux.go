//go:build linux

package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// createUnnamed opens a new, empty file in dir, for reading and writing,
// that has no name yet (O_TMPFILE), readable and writable by its owner only,
// as os.CreateTemp's. Until linkUnnamed names it, no directory lists it, and
// when it is closed or the process dies (even by SIGKILL) the kernel frees
// it: an export or an import's copy of its input killed while it writes
// leaves nothing behind, where a named temporary file would stay. name is
// what the file's errors call it (f.Name()): the name it will get, so that a
// failed write says which file could not be written, not "(unnamed)". ok is
// false when dir's file system or the kernel has no O_TMPFILE, or /proc,
// through which linkUnnamed names the file, is not mounted.
func createUnnamed(dir, name string) (f *os.File, ok bool) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, false
	}
	f = os.NewFile(uintptr(fd), name)
	if _, err := os.Stat(procFdPath(f)); err != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

// linkUnnamed gives f, a file createUnnamed made, the name path, which must
// not exist yet.
func linkUnnamed(f *os.File, path string) error {
	if err := unix.Linkat(unix.AT_FDCWD, procFdPath(f), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "link", Old: procFdPath(f), New: path, Err: err}
	}
	return nil
}

func procFdPath(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

// isUnnamed says whether f is a file without a name, as createUnnamed makes
// (its link count is 0), which closing it removes.
func isUnnamed(f *os.File) bool {
	var st unix.Stat_t
	return unix.Fstat(int(f.Fd()), &st) == nil && st.Nlink == 0
}
