package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
)

// crashedWithAckedHead is newCrashedStore with the acknowledged head kept:
// the copy is taken once the file holds the last append's position.
func crashedWithAckedHead(t *testing.T, n int) crashedStore {
	t.Helper()
	want := fmt.Sprintf(" %020d ", n)
	cs := crashStore(t, n, func(live string) {
		require.Eventually(t, func() bool {
			b, err := os.ReadFile(filepath.Join(live, embedded.AckedHeadName))
			return err == nil && strings.Contains(string(b), want)
		}, 5*time.Second, 10*time.Millisecond, "the acknowledged head reaches the last append")
	})
	cs.log, cs.records, cs.size = newestLogRecords(t, cs.dir)
	return cs
}

func TestAckedHead(t *testing.T) {
	// Goal: a store whose log lost acknowledged events is refused
	// (ErrCorrupt, naming both positions) where it opened without them:
	// a byte damaged in the last synced record, which no later chunk's
	// synced offset proves damaged (Pebble's offsets lag the log), read as
	// a torn write; and the damaged log is left as it was, for the
	// operator (the read-only look before the read-write open). A log
	// merely cut where appends were not yet acknowledged opens. A file
	// that does not read is refused, saying what to do.
	const n = 5
	t.Run("damage past the synced offsets", func(t *testing.T) {
		cs := crashedWithAckedHead(t, n)
		cs.flip(t, cs.records[len(cs.records)-1]+40)
		damaged, err := os.ReadFile(cs.log)
		require.NoError(t, err)
		_, err = eventCount(t, cs.dir, testOptions())
		require.ErrorIs(t, err, embedded.ErrCorrupt)
		assert.Contains(t, err.Error(), fmt.Sprintf("the log ends at position %d, but appends were acknowledged up to position %d", n-1, n))
		after, err := os.ReadFile(cs.log)
		require.NoError(t, err)
		assert.Equal(t, damaged, after, "the damaged log is kept as it was")

		cs.flip(t, cs.records[len(cs.records)-1]+40) // mend it
		got, err := eventCount(t, cs.dir, testOptions())
		require.NoError(t, err)
		assert.Equal(t, n, got)
	})
	t.Run("a torn tail after the acknowledged records", func(t *testing.T) {
		// What a crash or a recycled log file leaves: Open looks read-only
		// first, finds the head acknowledged, and opens read-write.
		cs := crashedWithAckedHead(t, n)
		f, err := os.OpenFile(cs.log, os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		_, err = f.Write([]byte(strings.Repeat("\xa5", 300)))
		require.NoError(t, errors.Join(err, f.Close()))
		got, err := eventCount(t, cs.dir, testOptions())
		require.NoError(t, err)
		assert.Equal(t, n, got)
		s := openStore(t, cs.dir, testOptions()) // and again, as after every start
		_, err = s.Append(context.Background(), "call-after", eventstore.NoStream(), events(1, "E"))
		require.NoError(t, err)
	})
	t.Run("log files removed", func(t *testing.T) {
		cs := crashedWithAckedHead(t, n)
		logs, err := filepath.Glob(filepath.Join(cs.dir, "*.log"))
		require.NoError(t, err)
		for _, l := range logs {
			require.NoError(t, os.Remove(l))
		}
		_, err = eventCount(t, cs.dir, testOptions())
		require.ErrorIs(t, err, embedded.ErrCorrupt)
		assert.Contains(t, err.Error(), fmt.Sprintf("appends were acknowledged up to position %d", n))
	})
	t.Run("a head behind the log", func(t *testing.T) {
		cs := crashedWithAckedHead(t, n)
		// A crash of the machine may leave the file older than the log.
		older := crashedWithAckedHead(t, 2)
		b, err := os.ReadFile(filepath.Join(older.dir, embedded.AckedHeadName))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(cs.dir, embedded.AckedHeadName), b, 0o600))
		got, err := eventCount(t, cs.dir, testOptions())
		require.NoError(t, err)
		assert.Equal(t, n, got)
	})
	t.Run("another log's head at the same position", func(t *testing.T) {
		cs := crashedWithAckedHead(t, n)
		other := crashedWithAckedHead(t, n)
		b, err := os.ReadFile(filepath.Join(other.dir, embedded.AckedHeadName))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(cs.dir, embedded.AckedHeadName), b, 0o600))
		_, err = eventCount(t, cs.dir, testOptions())
		require.ErrorIs(t, err, embedded.ErrCorrupt)
		assert.Contains(t, err.Error(), "is not the one acknowledged there")
	})
	t.Run("the newest log cut at a record's start", func(t *testing.T) {
		// A cut that reads as no torn write: the read-only look refuses
		// the store all the same, before a read-write open would replay
		// its logs and delete them.
		cs := crashedWithAckedHead(t, n)
		require.NoError(t, os.Truncate(cs.log, cs.records[len(cs.records)-1]))
		before := dirContents(t, cs.dir)
		_, err := eventCount(t, cs.dir, testOptions())
		require.ErrorIs(t, err, embedded.ErrCorrupt)
		assert.Contains(t, err.Error(), fmt.Sprintf("appends were acknowledged up to position %d", n))
		assert.Equal(t, before, dirContents(t, cs.dir), "a refused store's files are left as they were")
	})
	for name, content := range map[string]string{"empty": "", "zeros": strings.Repeat("\x00", 110)} {
		t.Run("a file created but not written: "+name, func(t *testing.T) {
			// What a crash of the machine could leave of a file created in
			// place: no head to check against, so the store opens, and the
			// file is made whole again.
			cs := crashedWithAckedHead(t, n)
			require.NoError(t, os.WriteFile(filepath.Join(cs.dir, embedded.AckedHeadName), []byte(content), 0o600))
			got, err := eventCount(t, cs.dir, testOptions())
			require.NoError(t, err)
			assert.Equal(t, n, got)
			b, err := os.ReadFile(filepath.Join(cs.dir, embedded.AckedHeadName))
			require.NoError(t, err)
			assert.Contains(t, string(b), fmt.Sprintf(" %020d ", n))
		})
	}
	t.Run("a file that cannot be written", func(t *testing.T) {
		// Open fails, saying so, without a panic (the key filter's scan,
		// started after, holds no iterator yet), and releases the store.
		cs := crashedWithAckedHead(t, n)
		tmp := filepath.Join(cs.dir, embedded.AckedHeadName+".tmp")
		require.NoError(t, os.Mkdir(tmp, 0o700))
		_, err := embedded.Open(cs.dir, testOptions())
		require.Error(t, err)
		assert.Contains(t, err.Error(), embedded.AckedHeadName)
		require.NoError(t, os.Remove(tmp))
		got, err := eventCount(t, cs.dir, testOptions())
		require.NoError(t, err)
		assert.Equal(t, n, got)
		_, err = os.Stat(tmp)
		assert.ErrorIs(t, err, os.ErrNotExist, "no temporary file left")
	})
	t.Run("a file that does not read", func(t *testing.T) {
		cs := crashedWithAckedHead(t, n)
		require.NoError(t, os.WriteFile(filepath.Join(cs.dir, embedded.AckedHeadName), []byte("garbage\n"), 0o600))
		_, err := eventCount(t, cs.dir, testOptions())
		require.ErrorIs(t, err, embedded.ErrCorrupt)
		assert.Contains(t, err.Error(), "remove the file to open the store without this check")
	})
	t.Run("closed cleanly", func(t *testing.T) {
		dir := t.TempDir()
		s := openStore(t, dir, testOptions())
		for range n {
			_, err := s.Append(context.Background(), "call-"+uuid.NewString(), eventstore.NoStream(), events(1, "E"))
			require.NoError(t, err)
		}
		require.NoError(t, s.Close())
		b, err := os.ReadFile(filepath.Join(dir, embedded.AckedHeadName))
		require.NoError(t, err)
		assert.Contains(t, string(b), fmt.Sprintf(" %020d ", n), "Close writes the last head")
		got, err := eventCount(t, dir, testOptions())
		require.NoError(t, err)
		assert.Equal(t, n, got)
	})
}

// dirContents maps the names of the files in dir to their contents.
func dirContents(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		if e.Name() == "LOCK" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(b)
	}
	return out
}
