package projections

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// RecordingCall returns the id of the call that holds the recording whose
// sid (domain.Recording.SID) is sid: the recording index, which is how a
// recording is found by its sid alone (the sid is derived from its call's
// id, and cannot be turned back into it). Deleted calls keep their entries,
// as in the provider lookup: the caller checks the call. It returns
// ErrNotFound when no call holds such a recording, which is also the
// answer for a recording of read models NeedsRebuild reports, until their
// rebuild.
func (p *Projector) RecordingCall(ctx context.Context, sid uuid.UUID) (uuid.UUID, error) {
	return p.callIDAt(ctx, recordingKey(sid), "recording "+sid.String())
}

// NeedsRebuild reports whether the read models were written by a build
// before the recording index (format "callledger-projections/1"): sound,
// and kept current by Run, but without the index entries of the
// recordings they held then, which RecordingCall would not find. A Rebuild
// writes them and stamps this build's format. callledger rebuilds such read
// models when it opens them.
func (p *Projector) NeedsRebuild() (bool, error) {
	if !p.acquire() {
		return false, fmt.Errorf("read format: %w", ErrClosed)
	}
	defer p.release()
	v, closer, err := p.db.Get(keyFormat)
	if err != nil {
		return false, fmt.Errorf("projections: read format: %w", pebbleError(err))
	}
	defer closer.Close()
	return string(v) == formatVersionNoRecordings, nil
}
