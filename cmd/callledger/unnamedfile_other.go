//go:build !linux

package main

import (
	"errors"
	"os"
)

// createUnnamed is Linux's O_TMPFILE (see unnamedfile_linux.go); elsewhere
// there is none, and writeFileAtomically uses a named temporary file.
func createUnnamed(dir, name string) (f *os.File, ok bool) { return nil, false }

// linkUnnamed is never called where createUnnamed cannot make a file.
func linkUnnamed(f *os.File, path string) error {
	return errors.New("unnamed files are Linux's")
}

// isUnnamed is false where createUnnamed makes no file.
func isUnnamed(f *os.File) bool { return false }
