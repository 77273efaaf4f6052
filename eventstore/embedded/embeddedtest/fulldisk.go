package embeddedtest

import (
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
