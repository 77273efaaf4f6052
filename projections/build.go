package projections

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// buildDirName is the directory, inside the read-model directory, where a
// Rebuild builds the read models aside (see doc.go). Pebble ignores it.
const buildDirName = "rebuild.tmp"

// ingestTableBytes is the size at which exportBuild starts a new sstable.
const ingestTableBytes = 64 << 20

// everything is the key range of every read model and meta key: the span a
// finished Rebuild excises from db as it ingests the rebuilt read models.
var everything = pebble.KeyRange{Start: []byte{0x00}, End: []byte{0xFF}}

func (p *Projector) buildDir() string { return filepath.Join(p.dir, buildDirName) }

// startBuild marks a Rebuild as building aside, from the zero checkpoint it
// returns, so that Status reports its progress and publish stops moving the
// checkpoint of db. Queries keep reading db.
func (p *Projector) startBuild() checkpoint {
	cp := checkpoint{UpdatedAt: p.opts.Now().UTC()}
	p.mu.Lock()
	p.building = true
	p.buildCP = cp
	p.received = cp.Position
	p.pendingEvents = 0
	p.mu.Unlock()
	return cp
}

// abandonBuild ends a build whose database could not be opened.
func (p *Projector) abandonBuild() {
	p.mu.Lock()
	p.building = false
	p.mu.Unlock()
}

// openBuild opens an empty build database without a WAL, stamps it with the
// format and the checkpoint cp, and makes it the applier's destination.
// Only the applier's goroutine may call it.
func (p *Projector) openBuild(cp checkpoint) (*pebble.DB, error) {
	p.awaitBuildRemoved()
	dir := p.buildDir()
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("projections: remove old build directory: %w", err)
	}
	po := p.popts.Clone()
	po.DisableWAL = true
	// The build database's sstables are read once, by exportBuild, then
	// deleted: compressing them (on flushes and compactions, once a rebuild
	// outgrows the memtable) would be work for nothing.
	po.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	bdb, err := openPebble(dir, po)
	if err != nil {
		return nil, err
	}
	pb := bdb.NewBatch()
	defer pb.Close()
	err = errors.Join(
		pb.Set(keyFormat, []byte(formatVersion), nil),
		pb.Set(keyCheckpoint, encodeCheckpoint(cp), nil),
		pb.Commit(pebble.NoSync),
	)
	if err != nil {
		bdb.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("projections: start build database: %w", err)
	}
	p.dst = bdb
	return bdb, nil
}

// finishBuild swaps what the build database holds into db: it writes it out
// as sstables and ingests them with IngestAndExcise, which atomically
// replaces every key of db (read models, failures, checkpoint) with them and
// is durable when it returns. Then it publishes the rebuilt checkpoint and
// removes the build database in the background (see removeBuild). If
// anything fails, db keeps its read models and checkpoint.
func (p *Projector) finishBuild(bdb *pebble.DB) error {
	dir := p.buildDir()
	paths, err := p.exportBuild(bdb, dir)
	if err == nil {
		_, err = p.db.IngestAndExcise(context.Background(), paths, nil, nil, everything)
	}
	p.dst = p.db
	p.dropBatch()
	p.mu.Lock()
	p.building = false
	cp := p.buildCP
	p.mu.Unlock()
	p.removeBuild(bdb, dir)
	if err != nil {
		return fmt.Errorf("projections: swap in rebuilt read models: %w", err)
	}
	p.publish(cp, 0)
	return nil
}

// removeBuild closes the build database and removes its directory in the
// background: the swap is done, and closing a database that holds a whole
// rebuild in its memtable, then unlinking its files, took milliseconds
// during which the Rebuild had nothing left to do. The next openBuild and
// Close wait for it (awaitBuildRemoved). Only the holder of runMu calls it.
func (p *Projector) removeBuild(bdb *pebble.DB, dir string) {
	done := make(chan struct{})
	p.buildRemoved = done
	go func() {
		defer close(done)
		if err := bdb.Close(); err != nil {
			p.log.Warn("close build database", "err", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			p.log.Warn("remove build database", "dir", dir, "err", err)
		}
	}()
}

// awaitBuildRemoved waits for the previous Rebuild's removeBuild, if any.
// Only the holder of runMu calls it.
func (p *Projector) awaitBuildRemoved() {
	if p.buildRemoved != nil {
		<-p.buildRemoved
		p.buildRemoved = nil
	}
}

// exportSplits divide the keys of a build database into ranges that
// exportBuild writes out in parallel, one goroutine each. The call views
// are most of the bytes, but the list keys and the provider lookup's that
// builds before session 32 wrote, small and one of each a call, cost as much
// to write out: the split at the list index gave the two goroutines about
// the same work (a split in the middle of the call views left one with
// twice the other's, and the export took half as long again).
var exportSplits = [][]byte{{prefixList}}

// exportBuild writes every key of bdb, in order, into sstables in dir and
// returns their paths, in key order. The ranges between exportSplits are
// written in parallel.
func (p *Projector) exportBuild(bdb *pebble.DB, dir string) ([]string, error) {
	bounds := append(append([][]byte{everything.Start}, exportSplits...), everything.End)
	parts := make([][]string, len(bounds)-1)
	errs := make([]error, len(bounds)-1)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Go(func() {
			prefix := filepath.Join(dir, fmt.Sprintf("ingest-%02d", i))
			parts[i], errs[i] = p.exportRange(bdb, bounds[i], bounds[i+1], prefix)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.Concat(parts...), nil
}

// exportRange writes the keys of bdb in [lower, upper) into sstables whose
// paths start with prefix, starting a new one at ingestTableBytes, and returns their
// paths. Each file is synced as it is written (BytesPerSync), and fully when
// it is finished.
func (p *Projector) exportRange(bdb *pebble.DB, lower, upper []byte, prefix string) (paths []string, err error) {
	it, err := bdb.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	wo := p.popts.MakeWriterOptions(0, p.db.TableFormat())
	// Uncompressed: compressing a whole rebuild's output on the rebuild's
	// critical path cost it more than the WAL it saves (snappy was 40% of
	// the export). Compactions compress these keys as they rewrite them.
	wo.Compression = sstable.NoCompression
	var w *sstable.Writer
	defer func() {
		if w != nil {
			w.Close() // an error path: the file is not ingested
		}
	}()
	for ok := it.First(); ok; ok = it.Next() {
		if w == nil {
			path := fmt.Sprintf("%s-%06d.sst", prefix, len(paths))
			f, err := vfs.Default.Create(path, vfs.WriteCategoryUnspecified)
			if err != nil {
				return nil, err
			}
			f = vfs.NewSyncingFile(f, vfs.SyncingFileOptions{BytesPerSync: 1 << 20})
			w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), wo)
			paths = append(paths, path)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		if err := w.Set(it.Key(), v); err != nil {
			return nil, err
		}
		if w.Raw().EstimatedSize() >= ingestTableBytes {
			err := w.Close()
			w = nil
			if err != nil {
				return nil, err
			}
		}
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if w != nil {
		err := w.Close()
		w = nil
		if err != nil {
			return nil, err
		}
	}
	return paths, nil
}
