package api

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// ReadModels is what the API needs from the projections: the call view, the
// list index, and a way for a write to wait until the read models reflect
// it (read-your-writes). cmd wires the projections package behind it.
type ReadModels interface {
	// Call returns the view of the call id (of any account: the handler
	// checks the account). It returns an error with domain code
	// ErrNotFound when no such call has been projected.
	Call(ctx context.Context, id uuid.UUID) (CallView, error)
	// List returns one page of an account's calls, newest start first,
	// that pass every filter of q.
	List(ctx context.Context, q ListQuery) (ListPage, error)
	// RecordingCall returns the id of the call holding the recording whose
	// sid (domain.Recording.SID) is sid, of any account and deleted or
	// not: the handler checks the call. It returns an error with domain
	// code ErrNotFound when no projected call holds such a recording.
	RecordingCall(ctx context.Context, sid uuid.UUID) (uuid.UUID, error)
	// RecordingDates returns when the ledger recorded each of recs, the
	// recordings of the call id as a view of these read models holds
	// them, in their order, without reading the call's events; ok is
	// false when the read models cannot date them all (the caller then
	// dates them from the events).
	RecordingDates(ctx context.Context, id uuid.UUID, recs []domain.Recording) (dates []time.Time, ok bool, err error)
	// WaitFor returns once every event up to pos is reflected in every read
	// model, or with ctx's error.
	WaitFor(ctx context.Context, pos eventstore.Position) error
	// Ready returns nil when the read models are running and caught up
	// with the store closely enough to serve.
	Ready(ctx context.Context) error
}

// EventPrimer is implemented by read models that can take the events a
// write has just appended in the decoded form the write encoded them from,
// and skip decoding their stored copies (projections.Projector.Prime).
// Execute primes only the events of an append it knows it wrote: fresh
// ids (UUIDv7), never a keyed request that the store may have answered as
// a retry of earlier events.
type EventPrimer interface {
	Prime(id uuid.UUID, env domain.Envelope)
}

// CallView is a call as the read models hold it, with the stream revision
// of the last event folded into it (the ETag).
type CallView struct {
	Call     domain.Call
	Revision uint64

	// folded says the view was folded from the store (ReadCallAt with
	// time travel), which dated its recordings on the way: recordingDates
	// holds when the ledger learnt of each of Call.Recordings, so that the
	// LaML recordings need no second read of the stream. A view of the
	// read models has neither.
	folded         bool
	recordingDates []time.Time
}

// ListQuery selects a page of one account's calls.
type ListQuery struct {
	// Account is the tenant whose calls are listed; required.
	Account string
	// Limit is the page size; the read models cap it.
	Limit int
	// Cursor is the opaque position next to which the page is, on the
	// side Side says; "" is the first page.
	Cursor string
	// CursorParam names the request parameter that carried Cursor ("after",
	// "before", "PageToken"), so that a bad cursor is reported against it.
	CursorParam string
	// Side says on which side of Cursor the page is.
	Side CursorSide
	// IncludeDeleted lists soft-deleted calls too (no surface does today).
	IncludeDeleted bool
	// Filters; "", nil and uuid.Nil do not filter. Each maps onto the
	// projections.ListQuery filter of the same name (Status onto Statuses),
	// which applies it.
	Status   domain.Status
	From, To string
	// StartedAtMin (inclusive) and StartedAtMax (exclusive) bound the
	// start time; nil is unbounded. Any instant is a bound, Go's zero time
	// too.
	StartedAtMin *time.Time
	StartedAtMax *time.Time
	// Started leaves out the calls that have not started: queued ones,
	// which LaML shows with no start_time. With Status queued the page is
	// empty.
	Started bool
	// EndedAtMin (inclusive) and EndedAtMax (exclusive) bound the end time
	// in the same way; a call without one (it has not ended, or ended
	// without a surface saying when) passes neither.
	EndedAtMin *time.Time
	EndedAtMax *time.Time
	// ParentCallID keeps the calls that call created (domain.Call's
	// ParentCallID).
	ParentCallID uuid.UUID
}

// CursorSide says on which side of a ListQuery's Cursor its page is. A
// cursor names a position in the list; a page's Next and Prev also say which
// way they lead, for a surface whose one parameter carries both (LaML's
// PageToken), while a surface whose parameter's name says which way to go
// (Moonbase's after and before) may be sent either.
type CursorSide uint8

const (
	// CursorSideMade is the side the cursor was made for: after a page's
	// Next, before a page's Prev.
	CursorSideMade CursorSide = iota
	// CursorSideAfter is after the cursor's position, whichever cursor it
	// is.
	CursorSideAfter
	// CursorSideBefore is before the cursor's position: the Limit calls
	// just before it, in the list's order.
	CursorSideBefore
)

// ListPage is one page of a list.
type ListPage struct {
	Calls []CallView
	// Next is the cursor of the following page; "" on the last page.
	Next string
	// Prev is the cursor of the page before; "" on the first page.
	Prev string
	// cursorAt, when set, returns the cursor naming the place of Calls[i]
	// in the list (a list from it goes on with the call after it).
	cursorAt func(i int) string
}

// CursorAt returns the cursor naming the place of Calls[i] in the list, as
// Next names the last call's: a list from it goes on with the call after
// it, whatever has happened to Calls[i] meanwhile. It is "" when the read
// models did not give the places.
func (p ListPage) CursorAt(i int) string {
	if p.cursorAt == nil {
		return ""
	}
	return p.cursorAt(i)
}
