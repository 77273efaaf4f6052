package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
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

// NeedsRebuild reports whether the read models were written by an earlier
// build, of a format this build reads but does not write: before the
// recording index ("callledger-projections/1": sound, and kept current by
// Run, but without the index entries of the recordings they held then,
// which RecordingCall would not find), or before session 44
// ("callledger-projections/2": list entries without ends and parents,
// recording entries without times, events judged by fewer invariants). A
// Rebuild writes them all anew and stamps this build's format. callledger
// rebuilds such read models when it opens them.
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
	return string(v) != formatVersion, nil
}

// recordingValueBytes is the length of a recording index value: the call
// id (16 bytes), then when the ledger recorded the recording (appendTime).
// The builds before session 44 wrote the call id alone.
const recordingValueBytes = 16 + timeKeyBytes

// decodeRecordingValue decodes a recording index value: the call's id and,
// when the value holds it, when the ledger recorded the recording (dated).
func decodeRecordingValue(v []byte) (call uuid.UUID, at time.Time, dated bool, err error) {
	switch len(v) {
	case 16:
		return uuid.UUID(v), time.Time{}, false, nil
	case recordingValueBytes:
		at, _, err := readTime(v[16:])
		if err != nil {
			return uuid.Nil, time.Time{}, false, fmt.Errorf("%w: recording index value: %w", errBadValue, err)
		}
		return uuid.UUID(v[:16]), at, true, nil
	default:
		return uuid.Nil, time.Time{}, false, fmt.Errorf("%w: recording index value of %d bytes", errBadValue, len(v))
	}
}

// RecordingDates returns when the ledger recorded each of recs, the
// recordings of the call id (its Recordings, as a call view or List gave
// them), in their order, from the recording index: the event metadata
// Time of the event that added each, which is the LaML recordings'
// date_created. Recordings are only ever appended and their entries never
// rewritten, so the dates of the recordings a view holds are the same in
// every later state of the read models. ok is false when the index cannot
// date them all: entries written by the builds before session 44 hold no
// time, and a call refolded after a failure is indexed without them; the
// caller then dates them from the call's events.
func (p *Projector) RecordingDates(ctx context.Context, id uuid.UUID, recs []domain.Recording) (dates []time.Time, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("recording dates of call %s: %w", id, err)
	}
	if !p.acquire() {
		return nil, false, fmt.Errorf("recording dates of call %s: %w", id, ErrClosed)
	}
	defer p.release()
	dates = make([]time.Time, len(recs))
	for i := range recs {
		v, closer, err := p.db.Get(recordingKey(recs[i].SID(id)))
		if errors.Is(err, pebble.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("recording dates of call %s: %w", id, pebbleError(err))
		}
		call, at, dated, err := decodeRecordingValue(v)
		same := call == id
		closer.Close()
		if err != nil {
			return nil, false, fmt.Errorf("recording dates of call %s: %w", id, err)
		}
		if !dated || !same {
			return nil, false, nil
		}
		dates[i] = at
	}
	return dates, true, nil
}
