package embeddedtest

import (
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// NoRoomForTables returns the real file system, on which creating a
// Pebble table (a .sst file) fails with ENOSPC while full is set, as on a
// full disk: a database that opens then cannot flush the write-ahead log
// it replays.
func NoRoomForTables(full *atomic.Bool) vfs.FS {
	return errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if full.Load() && op.Kind == errorfs.OpCreate && strings.HasSuffix(op.Path, ".sst") {
			return syscall.ENOSPC
		}
		return nil
	}))
}

// NoRoomForLogs returns the real file system, on which every write to a
// Pebble write-ahead log (a .log file) fails with ENOSPC while full is
// set, as on a full disk: a commit cannot be written.
func NoRoomForLogs(full *atomic.Bool) vfs.FS {
	return errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if full.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsWrite && strings.HasSuffix(op.Path, ".log") {
			return fmt.Errorf("write %s: %w", op.Path, syscall.ENOSPC)
		}
		return nil
	}))
}

// DiskWithFree returns the real file system, whose disks report at most
// free bytes free (GetDiskUsage), as a nearly full disk would; the files
// themselves are written as ever.
func DiskWithFree(free *atomic.Uint64) vfs.FS {
	return diskWithFree{FS: vfs.Default, free: free}
}

// diskWithFree is the file system DiskWithFree returns.
type diskWithFree struct {
	vfs.FS
	free *atomic.Uint64
}

// GetDiskUsage reports the real disk's usage with at most d.free bytes
// available.
func (d diskWithFree) GetDiskUsage(path string) (vfs.DiskUsage, error) {
	usage, err := d.FS.GetDiskUsage(path)
	if err != nil {
		return usage, err
	}
	if free := d.free.Load(); free < usage.AvailBytes {
		usage.AvailBytes = free
		usage.UsedBytes = usage.TotalBytes - free
	}
	return usage, nil
}
