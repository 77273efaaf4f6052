package api

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdempotencyDirectoryIsOwnerOnly(t *testing.T) {
	// Goal: the idempotency table's directory, which holds whole answers
	// (phone numbers, notes), is created readable by its owner only, as
	// events/ and readmodels/ are, whatever the umask; one that exists
	// keeps the operator's mode.
	for _, tc := range []struct {
		name   string
		before os.FileMode // 0: the directory does not exist
		want   os.FileMode
	}{
		{"Created", 0, 0o700},
		{"Existing", 0o750, 0o750},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "idempotency")
			if tc.before != 0 {
				require.NoError(t, os.Mkdir(dir, tc.before))
				require.NoError(t, os.Chmod(dir, tc.before)) // past the umask
			}
			table, err := openIdempotencyTable(dir, 25*time.Hour, time.Now, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			require.NoError(t, table.Close())
			info, err := os.Stat(dir)
			require.NoError(t, err)
			assert.Equal(t, tc.want, info.Mode().Perm())
		})
	}
}
