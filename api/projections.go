package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

// readyPendingEventsMax is the lag, in events received but not yet applied,
// under which the read models count as caught up for /readyz.
const readyPendingEventsMax = 10000

// NewReadModels serves the API's ReadModels from a Projector. The caller
// runs the Projector (p.Run) and closes it.
func NewReadModels(p *projections.Projector) ReadModels { return projectorReadModels{p: p} }

type projectorReadModels struct{ p *projections.Projector }

// Status is the Projector's status, which the read models' metrics show.
func (m projectorReadModels) Status() projections.Status { return m.p.Status() }

// Failure implements failureReporter.
func (m projectorReadModels) Failure() error { return m.p.Failure() }

// Prime passes a written event to the Projector (see EventPrimer).
func (m projectorReadModels) Prime(id uuid.UUID, env domain.Envelope) { m.p.Prime(id, env) }

// Call returns the call view; projections.ErrNotFound becomes the domain's
// not found.
func (m projectorReadModels) Call(ctx context.Context, id uuid.UUID) (CallView, error) {
	st, err := m.p.Call(ctx, id)
	if errors.Is(err, projections.ErrNotFound) {
		return CallView{}, NotFound("no call with id %s", id)
	}
	if err != nil {
		return CallView{}, fmt.Errorf("read call: %w", err)
	}
	v, ok := callViewOf(st)
	if !ok {
		return CallView{}, NotFound("no call with id %s", id)
	}
	return v, nil
}

// RecordingCall looks the recording up in the recording index;
// projections.ErrNotFound becomes the domain's not found.
func (m projectorReadModels) RecordingCall(ctx context.Context, sid uuid.UUID) (uuid.UUID, error) {
	id, err := m.p.RecordingCall(ctx, sid)
	if errors.Is(err, projections.ErrNotFound) {
		return uuid.Nil, noRecording(sid)
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("find recording: %w", err)
	}
	return id, nil
}

// RecordingDates dates recs, the recordings of the call id, from the
// recording index (projections.Projector.RecordingDates).
func (m projectorReadModels) RecordingDates(ctx context.Context, id uuid.UUID, recs []domain.Recording) ([]time.Time, bool, error) {
	dates, ok, err := m.p.RecordingDates(ctx, id, recs)
	if err != nil {
		return nil, false, fmt.Errorf("read recording dates: %w", err)
	}
	return dates, ok, nil
}

// callViewOf is the CallView of a read model's state; ok is false for a
// state no event has been folded into, which is no call.
func callViewOf(st domain.State) (v CallView, ok bool) {
	rev, ok := st.Revision()
	if !ok {
		return CallView{}, false
	}
	return CallView{Call: st.Call, Revision: rev}, true
}

// List reads a page of the list index with the view of each call on it, both
// from one state of the read models, so that each call is shown as it stood
// when it passed the filters.
func (m projectorReadModels) List(ctx context.Context, q ListQuery) (ListPage, error) {
	pq := projections.ListQuery{
		Account:        q.Account,
		From:           q.From,
		To:             q.To,
		StartedAtMin:   q.StartedAtMin,
		StartedAtMax:   q.StartedAtMax,
		EndedAtMin:     q.EndedAtMin,
		EndedAtMax:     q.EndedAtMax,
		ParentCallID:   q.ParentCallID,
		IncludeDeleted: q.IncludeDeleted,
		Limit:          q.Limit,
		Cursor:         q.Cursor,
	}
	side, err := projectionsCursorSide(q.Side)
	if err != nil {
		return ListPage{}, err
	}
	pq.Side = side
	switch {
	case q.Status != "":
		pq.Statuses = append(pq.Statuses, q.Status)
	case q.Started:
		pq.Statuses = slices.DeleteFunc(domain.Statuses(), func(s domain.Status) bool { return s == domain.StatusQueued })
	}
	if q.Started && q.Status == domain.StatusQueued {
		// No call is both queued and started. An empty start range
		// gives the empty page, the cursor checked, without a read.
		bound := cmp.Or(pq.StartedAtMin, pq.StartedAtMax, &time.Time{})
		pq.StartedAtMin, pq.StartedAtMax = bound, bound
	}
	page, err := m.p.List(ctx, pq)
	if errors.Is(err, projections.ErrInvalidQuery) {
		field := q.CursorParam
		if field == "" {
			field = "cursor"
		}
		return ListPage{}, Malformed(field, "is not a cursor this API gave out")
	}
	if err != nil {
		return ListPage{}, fmt.Errorf("list calls: %w", err)
	}
	out := ListPage{Calls: make([]CallView, 0, len(page.Items)), Next: page.Next, Prev: page.Prev}
	for i := range page.Items {
		if v, ok := callViewOf(page.Items[i].State); ok {
			out.Calls = append(out.Calls, v)
		}
	}
	calls, items, oldestFirst := out.Calls, page.Items, pq.OldestFirst
	out.cursorAt = func(i int) string {
		if i < 0 || i >= len(calls) {
			return ""
		}
		// Calls[i] is items[i], or later there when items were left off.
		for _, it := range items[i:] {
			if it.CallID == calls[i].Call.ID {
				return projections.ItemCursor(it, oldestFirst)
			}
		}
		return ""
	}
	return out, nil
}

// projectionsCursorSide is side in the projections' terms. Any other
// side is a bug in the handler that set it: an error, never the default.
func projectionsCursorSide(side CursorSide) (projections.CursorSide, error) {
	switch side {
	case CursorSideMade:
		return projections.CursorSideMade, nil
	case CursorSideAfter:
		return projections.CursorSideAfter, nil
	case CursorSideBefore:
		return projections.CursorSideBefore, nil
	}
	return 0, fmt.Errorf("list calls: cursor side %d is not a CursorSide", side)
}

// WaitFor waits for the Projector's checkpoint to reach pos.
func (m projectorReadModels) WaitFor(ctx context.Context, pos eventstore.Position) error {
	return m.p.WaitFor(ctx, pos)
}

// Ready is nil while the runner is running and nearly caught up.
func (m projectorReadModels) Ready(context.Context) error {
	st := m.p.Status()
	switch {
	case !st.Running:
		return fmt.Errorf("projection runner is not running (last error: %q)", st.LastRunError)
	case st.PendingEvents > readyPendingEventsMax:
		return fmt.Errorf("projection runner is %d events behind", st.PendingEvents)
	}
	return nil
}
