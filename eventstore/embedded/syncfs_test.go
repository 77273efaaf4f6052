package embedded

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newThreadOrSkip starts a sync thread, or skips where there are none
// (without cgo, or off Linux), where syncPool syncs on the caller.
func newThreadOrSkip(t *testing.T) *syncThread {
	t.Helper()
	th, err := startSyncThread()
	if err != nil {
		t.Skipf("no sync threads here: %v", err)
	}
	t.Cleanup(th.close)
	return th
}

func TestSyncThreadSyncsAndReportsErrno(t *testing.T) {
	th := newThreadOrSkip(t)
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteString("durable")
	require.NoError(t, err)

	require.NoError(t, th.sync(f.Fd(), false), "fdatasync")
	require.NoError(t, th.sync(f.Fd(), true), "fsync")

	// A pipe cannot be synced: the thread answers with the errno, and
	// stays usable.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	err = th.sync(r.Fd(), false)
	assert.ErrorIs(t, err, syscall.EINVAL)
	assert.NotErrorIs(t, err, errSyncThread)
	require.NoError(t, th.sync(f.Fd(), false), "after an errno")
}

func TestSyncThreadClosedIsBroken(t *testing.T) {
	th := newThreadOrSkip(t)
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	require.NoError(t, err)
	defer f.Close()
	th.close()
	assert.ErrorIs(t, th.sync(f.Fd(), false), errSyncThread)
}

func TestSyncPoolConcurrentSyncs(t *testing.T) {
	newThreadOrSkip(t)
	var pool syncPool
	defer pool.close()
	fs := syncOffloadFS(vfs.Default, &pool)
	dir := t.TempDir()
	const writers, syncs = 24, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*syncs)
	for w := range writers {
		wg.Go(func() {
			f, err := fs.Create(filepath.Join(dir, fmt.Sprintf("f%d", w)), vfs.WriteCategoryUnspecified)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			for i := range syncs {
				if _, err := f.Write([]byte("x")); err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					errs <- f.SyncData()
				} else {
					errs <- f.Sync()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, writers*syncs, n)
	pool.mu.Lock()
	defer pool.mu.Unlock()
	assert.NotZero(t, pool.threads, "the syncs ran on threads")
	assert.LessOrEqual(t, pool.threads, syncThreadsMax)
	assert.Len(t, pool.idle, pool.threads, "every thread came back")
}

func TestSyncPoolFallsBack(t *testing.T) {
	t.Run("closed pool syncs on the caller", func(t *testing.T) {
		var pool syncPool
		pool.close()
		f, err := os.Create(filepath.Join(t.TempDir(), "f"))
		require.NoError(t, err)
		defer f.Close()
		vf, err := syncOffloadFS(vfs.Default, &pool).OpenReadWrite(f.Name(), vfs.WriteCategoryUnspecified)
		require.NoError(t, err)
		defer vf.Close()
		require.NoError(t, vf.SyncData())
		require.NoError(t, vf.Sync())
		assert.Zero(t, pool.threads)
	})
	t.Run("a pool that failed to start a thread stops trying", func(t *testing.T) {
		pool := syncPool{failed: true}
		defer pool.close()
		f, err := syncOffloadFS(vfs.Default, &pool).Create(filepath.Join(t.TempDir(), "f"), vfs.WriteCategoryUnspecified)
		require.NoError(t, err)
		defer f.Close()
		require.NoError(t, f.SyncData())
		assert.Zero(t, pool.threads)
	})
	t.Run("a file without a descriptor syncs itself", func(t *testing.T) {
		var pool syncPool
		defer pool.close()
		fs := syncOffloadFS(vfs.NewMem(), &pool)
		f, err := fs.Create("f", vfs.WriteCategoryUnspecified)
		require.NoError(t, err)
		defer f.Close()
		require.NoError(t, f.SyncData())
		assert.Zero(t, pool.threads)
	})
	t.Run("a thread returned to a closed pool stops", func(t *testing.T) {
		newThreadOrSkip(t)
		var pool syncPool
		th := pool.get()
		require.NotNil(t, th)
		pool.close()
		pool.put(th, false)
		assert.Zero(t, pool.threads)
		f, err := os.Create(filepath.Join(t.TempDir(), "f"))
		require.NoError(t, err)
		defer f.Close()
		assert.ErrorIs(t, th.sync(f.Fd(), false), errSyncThread)
	})
}
