//go:build !unix

package main

// openFilesLimit is 0 where the process has no limit on open files that
// can be read (Windows' handles are bounded by memory): the default
// connection limit is then defaultConnectionsUnknown.
func openFilesLimit() uint64 { return 0 }
