package embedded_test

import (
	"os"
	"syscall"
)

// datasync is the fdatasync of the single-writer baseline: what a durable
// append costs on this disk, without the metadata sync a size change of
// the file does not need.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
