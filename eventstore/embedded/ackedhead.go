package embedded

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/callledger/callledger/eventstore"
)

// The acknowledged head.
//
// checkNewestWAL proves damage in the newest write-ahead log by a later
// chunk whose synced offset lies past it. Pebble (v2.1.7) stamps each chunk
// with an offset that counts only the partial block each flush wrote, not
// the whole blocks before it, so the stamps lag the log's real synced
// length: by ~20% of the log under load (a durability probe found ~7 MB of
// a 34 MB log that no stamp reached). A byte damaged there reads as a torn
// write, and Pebble's replay drops every acknowledged event from it on,
// silently (the stored head goes with them).
//
// So the store keeps a record of its own, outside the log: the file
// ackedHeadName in its directory holds a position and $all hash that
// appends were acknowledged up to. It is created whole (written to a
// temporary file, synced, renamed), and then a goroutine writes it in
// place every ackedHeadInterval from the published head (published only
// once its batch is synced) and syncs it at most every
// ackedHeadSyncInterval: after a crash of the process the kernel holds
// it, and after a crash of the machine it is at worst a second older (the
// kernel's own writeback left it ~30 s old: a probe's power cuts), never
// ahead of the durable log, since it is written after the log's sync.
// Close writes the last head and syncs it.
//
// Open refuses a store whose log ends before the file's position, or at it
// with another hash (ErrCorrupt): acknowledged events were lost. It looks
// with Pebble read-only first, so that a refused store keeps its logs as
// they were (a read-write open replays them and deletes them): the logs
// are replayed twice at each Open, at no cost measured (a tool's start
// 0.46 s against 0.47 without the file, 88 MB of logs after 50,000
// upserts). Damage within the last ackedHeadInterval of writes before a
// crash of the process (ackedHeadSyncInterval, of the machine) stays
// beyond the check, as does a store without the file (written by an
// earlier build, or a copy: Pebble's checkpoints copy only Pebble's
// files); an unsynced store (Options.Unsynced) keeps none.
//
// The file is one line of fixed length: "callledger acked head 1", the
// position (20 digits) and the hash (64 hex digits), separated by spaces.
const (
	ackedHeadName         = "callledger-acked-head"
	ackedHeadInterval     = 50 * time.Millisecond
	ackedHeadSyncInterval = time.Second
	ackedHeadPrefix       = "callledger acked head 1 "
)

// ackedHeadLen is the length of the file's one line, newline included.
const ackedHeadLen = len(ackedHeadPrefix) + 20 + 1 + 2*len(eventstore.Hash{}) + 1

// formatAckedHead is the file's content for h.
func formatAckedHead(h logHead) []byte {
	return fmt.Appendf(make([]byte, 0, ackedHeadLen), "%s%020d %s\n", ackedHeadPrefix, h.position, hex.EncodeToString(h.allHash[:]))
}

// readAckedHead reads the acknowledged head in dir; ok is false when there
// is no file. A file that does not read is an error wrapping ErrCorrupt.
func readAckedHead(dir string) (h logHead, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, ackedHeadName))
	if errors.Is(err, fs.ErrNotExist) {
		return logHead{}, false, nil
	}
	if err != nil {
		return logHead{}, false, fmt.Errorf("read %s: %w", ackedHeadName, err)
	}
	if len(b) == 0 || bytes.Count(b, []byte{0}) == len(b) {
		// Not written whole before a crash of the machine (a build of
		// session 45 made it in place): no head to check against.
		return logHead{}, false, nil
	}
	bad := fmt.Errorf("%s does not read as an acknowledged head (%.64q): %w", ackedHeadName, b, ErrCorrupt)
	rest, found := strings.CutPrefix(string(b), ackedHeadPrefix)
	if !found || len(b) != ackedHeadLen || rest[len(rest)-1] != '\n' {
		return logHead{}, false, bad
	}
	pos, hash, _ := strings.Cut(strings.TrimSuffix(rest, "\n"), " ")
	if h.position, err = strconv.ParseUint(pos, 10, 64); err != nil {
		return logHead{}, false, bad
	}
	if n, err := hex.Decode(h.allHash[:], []byte(hash)); err != nil || n != len(h.allHash) {
		return logHead{}, false, bad
	}
	return h, true, nil
}

// checkAckedHead refuses head, the end of the log as opened, when acked,
// the acknowledged head, lies past it or at it with another hash.
func checkAckedHead(head, acked logHead) error {
	switch {
	case acked.position > head.position:
		return fmt.Errorf("the log ends at position %d, but appends were acknowledged up to position %d (%s): "+
			"its write-ahead log lost acknowledged events (damaged on disk, or files removed); "+
			"restore the data directory from a backup or an export (callledger import), "+
			"or, if the log was cut or replaced on purpose, remove %s: %w",
			head.position, acked.position, ackedHeadName, ackedHeadName, ErrCorrupt)
	case acked.position == head.position && acked.allHash != head.allHash:
		return fmt.Errorf("the log's last event, at position %d, is not the one acknowledged there (%s: another $all hash): "+
			"restore the data directory from a backup or an export (callledger import), "+
			"or, if the log was replaced on purpose, remove %s: %w",
			head.position, ackedHeadName, ackedHeadName, ErrCorrupt)
	}
	return nil
}

// ackedHeadWriter keeps the acknowledged head file of a store up to date.
type ackedHeadWriter struct {
	f       *os.File
	head    func() logHead
	last    uint64 // the position written last, once written
	written bool
	stop    chan struct{}
	done    chan struct{}
	log     func(err error)
}

// startAckedHeadWriter writes now, the head as the store opens, into the
// file in dir, and then every ackedHeadInterval the head that head
// returns, until close. The file is made whole and durable first (written
// to a temporary file, synced, renamed over the old one, the directory
// synced), so that a crash of the machine leaves the old file or the new
// one, never one created but not yet written (ext4 persists a new file's
// length before its data: a probe's power cut left 110 zero bytes, and a
// healthy store refused); later writes overwrite its one line in place,
// within one sector.
func startAckedHeadWriter(dir string, now logHead, head func() logHead, log func(err error)) (*ackedHeadWriter, error) {
	path := filepath.Join(dir, ackedHeadName)
	if err := writeFileDurably(path, formatAckedHead(now)); err != nil {
		return nil, fmt.Errorf("write %s: %w", ackedHeadName, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", ackedHeadName, err)
	}
	w := &ackedHeadWriter{f: f, head: head, last: now.position, written: true,
		stop: make(chan struct{}), done: make(chan struct{}), log: log}
	go w.run()
	return w, nil
}

// writeFileDurably replaces the file at path with data: a temporary file
// beside it, synced, renamed over it, and the directory synced.
func writeFileDurably(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// write writes h, unless it is the head written last.
func (w *ackedHeadWriter) write(h logHead) error {
	if w.written && h.position == w.last {
		return nil
	}
	if _, err := w.f.WriteAt(formatAckedHead(h), 0); err != nil {
		return fmt.Errorf("write %s: %w", ackedHeadName, err)
	}
	w.last, w.written = h.position, true
	return nil
}

func (w *ackedHeadWriter) run() {
	defer close(w.done)
	tick := time.NewTicker(ackedHeadInterval)
	defer tick.Stop()
	failed := false
	var synced uint64 // the position last synced
	lastSync := time.Now()
	for {
		select {
		case <-w.stop:
			return
		case now := <-tick.C:
			err := w.write(w.head())
			if err == nil && w.last != synced && now.Sub(lastSync) >= ackedHeadSyncInterval {
				// The kernel writes dirty pages back every ~30 s: unsynced,
				// the file a crash of the machine leaves is that old.
				if err = w.f.Sync(); err == nil {
					synced, lastSync = w.last, now
				}
			}
			if err != nil && !failed {
				failed = true // once: a disk that refuses it says so elsewhere too
				w.log(err)
			}
		}
	}
}

// close writes final, the head as the store closes, syncs the file and
// closes it.
func (w *ackedHeadWriter) close(final logHead) error {
	close(w.stop)
	<-w.done
	err := w.write(final)
	if err == nil {
		err = w.f.Sync()
	}
	return errors.Join(err, w.f.Close())
}
