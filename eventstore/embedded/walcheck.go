package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"
	"github.com/cockroachdb/pebble/v2/record"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/wal"
)

// Pebble writes every batch to its write-ahead log (WAL) before the
// batch's memtable, and on Open replays the logs that no table holds yet.
// A log's records are cut into chunks, each with a checksum, in blocks of
// 32 KiB. A chunk that fails its checksum in the newest log is ambiguous:
// it may be a torn write, the unsynced end of the log when the process or
// the machine stopped, which is expected and loses nothing acknowledged;
// or a byte damaged on disk in a record that was synced and acknowledged.
// Pebble tells them apart by the synced offset each chunk carries (the
// log's length as of its last completed sync when the chunk was written):
// a later intact chunk whose synced offset lies past the bad chunk proves
// the bad chunk had been synced, so it is damage, and Open fails. But
// Pebble looks for that proof only in the blocks after the bad chunk's,
// not in the rest of its own block; so a byte flipped in the last 32 KiB
// of the newest log reads as a torn write, and Open drops every record
// from the damaged one on, acknowledged or not, silently: the stored head
// ("Mhead") is in the lost records too, so nothing disagrees afterwards.
//
// checkNewestWAL closes that gap before Pebble opens the store: it reads
// the newest log with Pebble's own reader and, where the reader stops at a
// chunk it cannot read, looks for the same proof in every byte after it,
// its own block included. With a proof it refuses the store, naming the
// file and the offset; without one the end is a torn write, as Pebble
// takes it. Damage to the last records synced is beyond any such check
// (nothing after them says they were synced): only a head recorded
// elsewhere (`callledger verify` prints it) can show that the log was cut.
//
// Logs older than the newest are Pebble's to check: it requires them to
// end cleanly and refuses the store at any chunk it cannot read, and
// walDamage then names the file (see Open).

// The layout of a chunk in Pebble's WAL sync wire format (the format
// Pebble writes since FormatWALSyncChunks, which pebbleFormat includes):
// CRC (4 bytes, little-endian, masked CRC-32C of everything after the
// length up to the chunk's end), payload length (2), encoding (1), log
// number (4), synced offset (8), payload. Chunks never straddle a block.
// This is Pebble's format, read here only to find the proof described
// above (its reader does not expose the synced offsets); record.Reader
// remains the reader of the records, and TestWALDamage checks this
// reading against logs Pebble wrote.
const (
	walBlockSize       = 32 << 10
	walSyncHeaderLen   = 19
	walSyncEncodingMin = 9  // walSyncFullChunkEncoding
	walSyncEncodingMax = 12 // walSyncLastChunkEncoding
)

// checkNewestWAL checks the newest write-ahead log in dir, as described
// above; the caller holds the directory's lock, so no process writes it.
// It returns an error wrapping ErrCorrupt when the log is damaged where
// Pebble would read a torn write, or when Pebble's reader itself proves
// damage, and an I/O error as it is.
func checkNewestWAL(fs vfs.FS, dir string) error {
	logs, err := wal.Scan(wal.Dir{FS: fs, Dirname: dir})
	if err != nil {
		return fmt.Errorf("list the write-ahead logs: %w", err)
	}
	if len(logs) == 0 {
		return nil
	}
	_, damage, err := readWAL(fs, logs[len(logs)-1], true, false)
	if err != nil {
		return err
	}
	return damage
}

// walDamage finds the write-ahead log that Pebble's Open could not replay
// (openErr, a corruption error): it reads every log in dir in order, as
// Pebble does, decoding each record's batch as Pebble's replay does (a
// block of a log cut, repeated or swapped leaves every chunk intact, and a
// record assembled across it that is no batch: "invalid key kind"), and
// returns an error wrapping ErrCorrupt and openErr that names the first
// damaged one and its offset, with what to do; openErr wrapped as it is
// when no log reads as damaged (the damage was elsewhere).
func walDamage(fs vfs.FS, dir string, openErr error) error {
	logs, err := wal.Scan(wal.Dir{FS: fs, Dirname: dir})
	if err != nil {
		return openErr
	}
	for i, ll := range logs {
		_, damage, err := readWAL(fs, ll, i == len(logs)-1, true)
		if err != nil {
			return errors.Join(openErr, err)
		}
		if damage != nil {
			return fmt.Errorf("%w (Pebble: %w)", damage, openErr)
		}
	}
	return openErr
}

// readWAL reads every record of the log ll with Pebble's reader. It
// returns damage, an error wrapping ErrCorrupt naming the file and offset,
// when the log cannot be read to its end and that is not a torn write:
// the reader proved the damage itself, or tail is false (an older log,
// which must end cleanly), or a chunk after the failing one proves that
// the log was synced past it (see syncedPast); with batches, also when a
// record it reads is not a batch Pebble can replay (checkBatch). err is an
// I/O error. torn is where the records Pebble reads end when the log ends
// in a torn write (the offset of the record that does not read, in the
// log's one physical file), -1 when the log reads to its end.
func readWAL(fs vfs.FS, ll wal.LogicalLog, tail, batches bool) (torn int64, damage, err error) {
	r := ll.OpenForRead()
	defer r.Close()
	for {
		rec, off, err := r.NextRecord()
		switch {
		case err == nil:
			if !batches {
				continue
			}
			repr, err := io.ReadAll(rec)
			if err != nil {
				return -1, walDamaged(off.PhysicalFile, off.Physical, fmt.Sprintf("the record there does not read (%v)", err)), nil
			}
			if why := checkBatch(repr); why != "" {
				return -1, walDamaged(off.PhysicalFile, off.Physical, "the record there is no batch Pebble can replay: "+why), nil
			}
			continue
		case errors.Is(err, io.EOF):
			return -1, nil, nil
		case errors.Is(err, record.ErrUnexpectedEOF) && tail:
			bad, proof, err := syncedPast(fs, off.PhysicalFile, uint32(ll.Num), off.Physical)
			if err != nil {
				return -1, nil, err
			}
			if proof < 0 {
				return off.Physical, nil, nil // a torn write
			}
			return -1, walDamaged(off.PhysicalFile, bad, fmt.Sprintf(
				"a chunk there fails its checksum, yet the chunk at offset %d says the log had been synced past it", proof)), nil
		case errors.Is(err, record.ErrUnexpectedEOF), errors.Is(err, record.ErrInvalidChunk),
			errors.Is(err, record.ErrZeroedChunk), pebble.IsCorruptionError(err):
			return -1, walDamaged(off.PhysicalFile, off.Physical, fmt.Sprintf("the record there does not read (%v)", err)), nil
		default:
			return -1, nil, fmt.Errorf("read write-ahead log %s: %w", off.PhysicalFile, err)
		}
	}
}

// checkBatch says what is wrong with repr, a record of a write-ahead log,
// as a batch: "" when its header reads and it holds as many entries as the
// header counts, each of a key kind Pebble knows, as Pebble's replay
// requires.
func checkBatch(repr []byte) string {
	h, ok := batchrepr.ReadHeader(repr)
	if !ok {
		return fmt.Sprintf("%d bytes, shorter than a batch header", len(repr))
	}
	r := batchrepr.Read(repr)
	n := uint32(0)
	for {
		_, _, _, ok, err := r.Next() // refuses a key kind Pebble does not know
		if err != nil {
			return err.Error()
		}
		if !ok {
			break
		}
		n++
	}
	if n != h.Count {
		return fmt.Sprintf("its header counts %d entries, it holds %d", h.Count, n)
	}
	return ""
}

// walDamaged is the error of a write-ahead log damaged at offset.
func walDamaged(path string, offset int64, why string) error {
	return fmt.Errorf("write-ahead log %s is damaged at offset %d: %s; the events it holds from there on "+
		"cannot be read, and Pebble would drop them: restore the data directory from a backup or an export "+
		"(callledger import): %w", filepath.Base(path), offset, why, ErrCorrupt)
}

// syncedPast reads the log at path (of log number logNum) from offset
// from, where a record starts that Pebble's reader could not read. It
// walks the intact chunks from there to bad, the first chunk that is not
// intact, then looks at every byte after bad for an intact chunk of the
// same log whose synced offset is past bad: proof, that chunk's offset,
// is -1 when there is none.
//
// It reads the log a block at a time (chunks never straddle a block), not
// whole: the newest log is often a recycled file, a past log's ~60 MiB
// (at 64 MiB memtables) after a few records of its own, and reading it
// whole took ~120 MB at every open of such a store (a tool's copy of a
// running serve's data, a restart after a kill).
func syncedPast(fs vfs.FS, path string, logNum uint32, from int64) (bad, proof int64, err error) {
	f, err := fs.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read write-ahead log %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("read write-ahead log %s: %w", path, err)
	}
	blocks := walBlocks{f: f, size: fi.Size(), start: -1}
	chunk := func(p int64) (end int64, synced uint64, ok bool, err error) {
		block, start, err := blocks.at(p)
		if err != nil {
			return 0, 0, false, fmt.Errorf("read write-ahead log %s: %w", path, err)
		}
		end, synced, ok = intactChunk(block, start, p, logNum)
		return end, synced, ok, nil
	}
	bad = from
	for {
		if walBlockSize-bad%walBlockSize < walSyncHeaderLen {
			bad += walBlockSize - bad%walBlockSize // the block's zero padding
		}
		end, _, ok, err := chunk(bad)
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			break
		}
		bad = end
	}
	// Every byte after bad may start a chunk; only those whose log number
	// field holds logNum can be one of this log's, so each block is
	// searched for that number (a recycled log's tail holds another's).
	var num [4]byte
	binary.LittleEndian.PutUint32(num[:], logNum)
	const numAt = 7 // the log number's offset in a chunk's header
	for p := bad + 1; p+walSyncHeaderLen <= blocks.size; {
		block, start, err := blocks.at(p)
		if err != nil {
			return 0, 0, fmt.Errorf("read write-ahead log %s: %w", path, err)
		}
		blockEnd := start + int64(len(block))
		i := -1
		if from := p - start + numAt; from < int64(len(block)) {
			i = bytes.Index(block[from:], num[:])
		}
		if i < 0 {
			p = blockEnd
			continue
		}
		p += int64(i)
		end, synced, ok := intactChunk(block, start, p, logNum)
		switch {
		case !ok:
			p++
		case synced > uint64(bad):
			return bad, p, nil
		default:
			p = end
		}
	}
	return bad, -1, nil
}

// walBlocks reads a write-ahead log one block at a time, keeping the last
// block read.
type walBlocks struct {
	f     io.ReaderAt
	size  int64 // the log's length
	start int64 // where buf's block starts; -1: none read yet
	buf   [walBlockSize]byte
	n     int // how much of buf the block fills (less for the last)
}

// at returns the block that holds offset p (empty past the log's end) and
// where it starts.
func (b *walBlocks) at(p int64) ([]byte, int64, error) {
	start := p - p%walBlockSize
	if start != b.start {
		n := int(min(walBlockSize, max(b.size-start, 0)))
		if n > 0 {
			// A ReaderAt may say io.EOF with the last block read whole.
			if got, err := b.f.ReadAt(b.buf[:n], start); err != nil && (got < n || !errors.Is(err, io.EOF)) {
				return nil, 0, err
			}
		}
		b.start, b.n = start, n
	}
	return b.buf[:b.n], start, nil
}

// intactChunk reports whether a chunk of log logNum in the WAL sync wire
// format starts at p in block, the block of the log that starts at start,
// with its checksum holding; end is where it ends, synced the synced
// offset it carries.
func intactChunk(block []byte, start, p int64, logNum uint32) (end int64, synced uint64, ok bool) {
	blockEnd := start + int64(len(block))
	if p < start || p+walSyncHeaderLen > blockEnd {
		return 0, 0, false
	}
	h := block[p-start : p-start+walSyncHeaderLen]
	if h[6] < walSyncEncodingMin || h[6] > walSyncEncodingMax || binary.LittleEndian.Uint32(h[7:]) != logNum {
		return 0, 0, false
	}
	end = p + walSyncHeaderLen + int64(binary.LittleEndian.Uint16(h[4:]))
	if end > blockEnd {
		return 0, 0, false
	}
	// Pebble masks the CRC-32C (the records' own checksum) of the chunk.
	c := checksum(block[p-start+6 : end-start])
	if (c>>15|c<<17)+0xa282ead8 != binary.LittleEndian.Uint32(h) {
		return 0, 0, false
	}
	return end, binary.LittleEndian.Uint64(h[11:]), true
}

// TrimCopiedLog cuts the newest write-ahead log of the Pebble database in
// dir, a checkpoint no process has opened yet, where the records Pebble
// reads end, when what follows is a torn write (checkNewestWAL's reading).
// Pebble recycles log files: a checkpoint taken just after a flush copies
// a log of a few records followed by a past log's ~60 MiB (at 64 MiB
// memtables), which Pebble's replay and checkNewestWAL would read past at
// every open of the copy and which the copy would hold on disk for
// nothing. A log damaged where checkNewestWAL would say so is left whole,
// for the open to report.
func TrimCopiedLog(dir string) error {
	logs, err := wal.Scan(wal.Dir{FS: vfs.Default, Dirname: dir})
	if err != nil {
		return fmt.Errorf("list the write-ahead logs of %s: %w", dir, err)
	}
	if len(logs) == 0 {
		return nil
	}
	newest := logs[len(logs)-1]
	if newest.NumSegments() != 1 {
		return nil // written with WAL failover: not ours to cut
	}
	torn, damage, err := readWAL(vfs.Default, newest, true, false)
	if err != nil || damage != nil || torn < 0 {
		return err
	}
	_, path := newest.SegmentLocation(0)
	if err := os.Truncate(path, torn); err != nil {
		return fmt.Errorf("trim the write-ahead log of a copy: %w", err)
	}
	return nil
}
