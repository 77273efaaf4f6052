package pebblelog

import "github.com/cockroachdb/pebble/v2/vfs"

// unpreallocated is fs, whose files reserve no disk space ahead of their
// writes: their Preallocate does nothing. Pebble preallocates each
// write-ahead log in blocks of 110% of the memtable size (74 MB for the
// 64 MiB memtables callledger runs with) and keeps up to
// MemTableStopWritesThreshold+1 old logs to reuse, space they keep: a
// crash probe found each database taking ~150 MB for ~2 MB of data within
// a second of writes, and ~440 MB soon after, so that a 300 MB disk was
// filled by the reservations alone and the stores, refusing to open
// without room, could not be started again with nothing of theirs to
// free. Unpreallocated, a log takes the space it holds. (Preallocation
// spares the file system an allocation per appended block; a log reused
// is overwritten within the blocks it has, as before.)
func unpreallocated(fs vfs.FS) vfs.FS {
	return FileWrappingFS{FS: fs, Wrapper: unpreallocating{}}
}

// unpreallocating is the FileWrapper of unpreallocated.
type unpreallocating struct{}

// WrapFile returns f, whose Preallocate does nothing.
func (unpreallocating) WrapFile(f vfs.File) vfs.File { return unpreallocatedFile{File: f} }

// unpreallocatedFile is a file of unpreallocated.
type unpreallocatedFile struct {
	vfs.File
}

// Preallocate reserves nothing: see unpreallocated.
func (unpreallocatedFile) Preallocate(offset, length int64) error { return nil }
