package pebblelog

import "github.com/cockroachdb/pebble/v2/vfs"

// FileWrappingFS is a vfs.FS whose files opened for writing (and, with
// Dirs, its directories, which Pebble syncs after creating files) are
// handed out through Wrapper: a way to change how Pebble's files behave
// (where they sync, what they reserve) without touching what it reads.
// Everything else is FS's own. Pebble compares file systems with == (an
// ingest links a table rather than copying it when its file system is the
// database's), so the Wrapper must be of a comparable type.
type FileWrappingFS struct {
	vfs.FS
	Wrapper FileWrapper
	Dirs    bool
}

// FileWrapper wraps the files of a FileWrappingFS.
type FileWrapper interface {
	WrapFile(vfs.File) vfs.File
}

func (fs FileWrappingFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return fs.Wrapper.WrapFile(f), nil
}

// Create creates name through FS, wrapped.
func (fs FileWrappingFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.Create(name, category))
}

// ReuseForWrite reuses oldname as newname through FS, wrapped.
func (fs FileWrappingFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.ReuseForWrite(oldname, newname, category))
}

// OpenReadWrite opens name through FS, wrapped.
func (fs FileWrappingFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenReadWrite(name, category, opts...))
}

// OpenDir opens the directory name through FS, wrapped when Dirs is set.
func (fs FileWrappingFS) OpenDir(name string) (vfs.File, error) {
	d, err := fs.FS.OpenDir(name)
	if !fs.Dirs {
		return d, err
	}
	return fs.wrap(d, err)
}

// Unwrap returns the wrapped FS, as Pebble's own wrappers do.
func (fs FileWrappingFS) Unwrap() vfs.FS { return fs.FS }
