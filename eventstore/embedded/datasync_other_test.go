//go:build !linux

package embedded_test

import "os"

// datasync is the single-writer baseline's sync where there is no
// fdatasync: File.Sync (F_FULLFSYNC on macOS, FlushFileBuffers on Windows).
func datasync(f *os.File) error { return f.Sync() }
