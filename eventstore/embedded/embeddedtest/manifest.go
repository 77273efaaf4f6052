package embeddedtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// RemoveManifest deletes the MANIFEST of the Pebble database in dir and the
// marker that names it, as a lost or deleted MANIFEST leaves a database:
// its tables and write-ahead logs with nothing that lists them.
func RemoveManifest(tb testing.TB, dir string) {
	tb.Helper()
	for _, pattern := range []string{"MANIFEST-*", "marker.manifest.*"} {
		names, err := filepath.Glob(filepath.Join(dir, pattern))
		require.NoError(tb, err)
		require.NotEmpty(tb, names, "%s in %s", pattern, dir)
		for _, name := range names {
			require.NoError(tb, os.Remove(name))
		}
	}
}
