package projections

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// ctxCheckEvery is how many keys a scan reads between checks of its context.
const ctxCheckEvery = 1024

// Call returns the call view of id: the full State, whose Version is the
// call's last stream revision + 1 (the API's ETag). Soft-deleted calls are
// returned too, with DeletedAt set; the API decides who may see them, and
// checks the account. It returns ErrNotFound when the read model has no
// such call.
func (p *Projector) Call(ctx context.Context, id uuid.UUID) (domain.State, error) {
	if err := ctx.Err(); err != nil {
		return domain.State{}, fmt.Errorf("call %s: %w", id, err)
	}
	if !p.acquire() {
		return domain.State{}, fmt.Errorf("call %s: %w", id, ErrClosed)
	}
	defer p.release()
	v, closer, err := p.db.Get(callKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return domain.State{}, fmt.Errorf("call %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return domain.State{}, fmt.Errorf("call %s: %w", id, pebbleError(err))
	}
	defer closer.Close()
	s, err := decodeCall(v)
	if err != nil {
		return domain.State{}, fmt.Errorf("call %s: %w", id, err)
	}
	return s, nil
}

// callIDAt reads the call id that the recording index holds at key; what
// names the entry in errors. It returns ErrNotFound when key is not there.
func (p *Projector) callIDAt(ctx context.Context, key []byte, what string) (uuid.UUID, error) {
	if err := ctx.Err(); err != nil {
		return uuid.Nil, fmt.Errorf("%s: %w", what, err)
	}
	if !p.acquire() {
		return uuid.Nil, fmt.Errorf("%s: %w", what, ErrClosed)
	}
	defer p.release()
	v, closer, err := p.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return uuid.Nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("%s: %w", what, pebbleError(err))
	}
	defer closer.Close()
	id, _, _, err := decodeRecordingValue(v)
	if err != nil {
		return uuid.Nil, fmt.Errorf("%s: %w", what, err)
	}
	return id, nil
}

// List bounds.
const (
	// ListLimitDefault is the page size of a ListQuery with Limit 0.
	ListLimitDefault = 50
	// ListLimitMax is the largest Limit a ListQuery may ask for.
	ListLimitMax = 1000
	// ListScanMax bounds the index entries one List call reads. A
	// selective filter over a large account can return a short page (even
	// an empty one) with a Next cursor: keep paging until Next is empty.
	// Otherwise Next is set only when another matching call follows the
	// page.
	ListScanMax = 10000
	// ListViewScanMax bounds, within ListScanMax, the call views one List
	// call reads for its view filters on entries of layout 1 (see
	// ListQuery), with the same short
	// pages. A view is the call's whole State, transcript included: up to
	// tens of kilobytes decoded where an index entry is tens of bytes, so
	// ListScanMax views could cost one request hundreds of megabytes. It is
	// twice ListLimitMax: a page of the largest limit and its lookahead
	// still fit when every call matches, and a filtered page decodes at
	// most about twice the views of the largest page without view filters,
	// which reads one per item.
	ListViewScanMax = 2 * ListLimitMax
)

// ListQuery selects an account's calls from the list index. The index holds
// each call's status, addresses, start, end and parent, so that every
// filter is applied to index entries alone, ListScanMax of them per List at
// most. Entries written by the builds before the end and the parent were
// indexed (layout 1, see doc.go) hold neither: for those, List reads the
// view of each call the index filters keep to apply EndedAtMin, EndedAtMax
// and ParentCallID (the view filters), from the same state of the read
// models as the index entry, so that a commit between the two reads cannot
// make it judge another version of the call; at most ListViewScanMax of
// them per List. A start or end range that is empty (its minimum not
// before its maximum) gives an empty page without reading anything.
type ListQuery struct {
	// Account is required: lists never cross accounts.
	Account string
	// Statuses keeps calls in any of these canonical statuses; empty keeps all.
	Statuses []domain.Status
	// From and To keep calls with exactly this from / to address; empty
	// keeps all.
	From string
	To   string
	// StartedAtMin (inclusive) and StartedAtMax (exclusive) bound the start
	// time; nil is unbounded. Every instant is a bound, Go's zero time
	// (0001-01-01T00:00:00Z) too: calls may start in the year 0000, so a
	// zero time read as "no bound" would list calls on the wrong side of
	// it. A call that never said when it started is listed at the time the
	// ledger recorded it.
	StartedAtMin *time.Time
	StartedAtMax *time.Time
	// IncludeDeleted keeps soft-deleted calls; by default they are left out.
	IncludeDeleted bool
	// EndedAtMin (inclusive) and EndedAtMax (exclusive) bound the end time
	// (domain.Call.EndedAt); nil is unbounded, and every instant is a
	// bound, as for the start. A call without an end (it has not ended, or
	// ended without a surface saying when) passes neither.
	EndedAtMin *time.Time
	EndedAtMax *time.Time
	// ParentCallID keeps the calls that call created
	// (domain.Call.ParentCallID); uuid.Nil keeps all.
	ParentCallID uuid.UUID
	// OldestFirst lists in ascending start time. The default is newest
	// first, as LaML lists. Ties on start time are ordered by call id.
	OldestFirst bool
	// Limit is the page size, 1..ListLimitMax; 0 means ListLimitDefault.
	Limit int
	// Cursor continues from a previous page's Next, or goes back from a
	// page's Prev; empty starts at the top. A cursor is only valid with the
	// same Account, filters and OldestFirst. It is a position in the order
	// (start time, call id), not a snapshot: a call whose start moves
	// between two pages moves across it, and is listed twice or not at
	// all by one walk (README: clients de-duplicate by id).
	Cursor string
	// Side says on which side of Cursor the page is: by default the side
	// the cursor was made for. Without a Cursor it is not read.
	Side CursorSide
}

// CursorSide says on which side of a ListQuery's Cursor its page is. A
// cursor is a position; a page's Next and Prev also record which way they
// lead, for a client that sends both back in one parameter (LaML's
// PageToken), while a client that says which way to go in the parameter's
// name (Moonbase's after and before) may send either cursor either way.
type CursorSide uint8

const (
	// CursorSideMade is the side the cursor was made for: the page after
	// a page's Next, the page before a page's Prev.
	CursorSideMade CursorSide = iota
	// CursorSideAfter is the page after the cursor's position, whichever
	// of a page's cursors it is: the Limit matching entries that follow
	// it.
	CursorSideAfter
	// CursorSideBefore is the page before the cursor's position: the Limit
	// matching entries that precede it, in the query's order, so that the
	// Prev of a page gives exactly the page before it for any Limit.
	CursorSideBefore
)

// ListItem is one call of a list page: what the index holds and the call's
// view.
type ListItem struct {
	// CallID is the call's id.
	CallID uuid.UUID
	// StartedAt is the time the call is listed at (see ListQuery).
	StartedAt time.Time
	// Status, From and To are the call's canonical status and addresses as
	// of the last applied event.
	Status domain.Status
	From   string
	To     string
	// Deleted reports a soft-deleted call (listed only with IncludeDeleted).
	Deleted bool
	// State is the call's view, read from the same state of the read models
	// as its index entry: render the call from it rather than load it again
	// (Call), which would read a later state, where the call may no longer
	// pass the filters it was listed by.
	State domain.State
}

// ListPage is a page of a list.
type ListPage struct {
	Items []ListItem
	// Next is the cursor of the following page; empty at the end of the list.
	Next string
	// Prev is the cursor of the page before this one (the Limit entries
	// before its first item, or before the first entry it read when it has
	// none); empty on a page read from the top, or when nothing is before
	// it. A Prev cursor is read in the opposite order and its page
	// reversed, so it comes back in the query's order; so is any cursor
	// read with CursorSideBefore.
	Prev string
}

// A list cursor is, base64url without padding: a version (2), the order
// it was made for (1: oldest first), the list key tail of the entry it
// names (start time and call id), and a CRC-32C (Castagnoli) of those
// bytes, big-endian. The check refuses a cursor that was altered (a byte
// changed in a URL, a token pasted from another list's): without it, any
// bytes of the right length named some place in the list, and the page
// began there without a word. It is no signature: a cursor made by hand
// with a correct check is read, and only ever names a place in the
// caller's own list, as the account is the query's. Cursors of version 1
// (no check), which builds before gave out, are refused: a client paging
// across the upgrade starts again from its first page.
const (
	cursorVersion = 2
	cursorBytes   = 2 + timeKeyBytes + 16 + 4
)

func encodeCursor(oldestFirst bool, keyTail []byte) string {
	b := make([]byte, 0, cursorBytes)
	b = append(b, cursorVersion)
	if oldestFirst {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = append(b, keyTail...)
	b = binary.BigEndian.AppendUint32(b, cursorCheck(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

// ItemCursor returns the cursor that names its place in a list read in
// the order oldestFirst says: the Next of a page that ends with it, from
// which the list goes on with the entry after it. A reader that stops
// inside a page (the LaML account Recordings walk) resumes from the
// cursor of the entry before the one it stopped at: a place, which it
// keeps naming whatever happens to that entry's call meanwhile.
func ItemCursor(it ListItem, oldestFirst bool) string {
	return encodeCursor(oldestFirst, itemTail(it))
}

// cursorCheck is the check of a cursor's bytes b.
func cursorCheck(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

// decodeCursor returns a cursor's key tail and the order it was made for: a
// Next cursor is in the query's order, a Prev cursor in the other.
func decodeCursor(s string) (tail []byte, oldestFirst bool, err error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s) // Strict: no second spelling of a cursor
	if err != nil || len(b) != cursorBytes || b[0] != cursorVersion || b[1] > 1 {
		return nil, false, fmt.Errorf("%w: malformed cursor", ErrInvalidQuery)
	}
	body := b[:len(b)-4]
	if cursorCheck(body) != binary.BigEndian.Uint32(b[len(body):]) {
		return nil, false, fmt.Errorf("%w: altered cursor (its check does not match)", ErrInvalidQuery)
	}
	return body[2:], b[1] == 1, nil
}

// itemTail is the list key tail of an item: its start time and call id.
func itemTail(it ListItem) []byte {
	return append(appendTime(make([]byte, 0, timeKeyBytes+16), it.StartedAt), it.CallID[:]...)
}

// List returns a page of an account's calls from the list index, filtered
// without loading them, except that the calls the index keeps are loaded
// for a query's view filters, with the view of each call listed
// (ListItem.State). The index and the views are read from one state of the
// read models. An index entry whose call has no view, which a database the
// runner wrote cannot hold (both are written in one batch), is left off the
// page and logged: one damaged entry does not make the account's list fail.
// It returns ErrInvalidQuery for a query without an account, with a limit
// out of range or a bad cursor.
func (p *Projector) List(ctx context.Context, q ListQuery) (ListPage, error) {
	page, err := p.list(ctx, q)
	return page, pebbleError(err) // damage on disk wraps ErrCorrupt, as for every query
}

// list is List, with the read's errors as Pebble returned them.
func (p *Projector) list(ctx context.Context, q ListQuery) (ListPage, error) {
	if q.Account == "" {
		return ListPage{}, fmt.Errorf("%w: account is required", ErrInvalidQuery)
	}
	limit := q.Limit
	if limit == 0 {
		limit = ListLimitDefault
	}
	if limit < 0 || limit > ListLimitMax {
		return ListPage{}, fmt.Errorf("%w: limit %d is not in 1..%d", ErrInvalidQuery, q.Limit, ListLimitMax)
	}
	if q.Side > CursorSideBefore {
		return ListPage{}, fmt.Errorf("%w: cursor side %d is not one of CursorSideMade, CursorSideAfter, CursorSideBefore", ErrInvalidQuery, q.Side)
	}
	// scanOldestFirst is the direction of the scan: the query's, or the
	// other for a page before the cursor (backward), whose page is then
	// reversed.
	var cursorTail []byte
	scanOldestFirst, backward := q.OldestFirst, false
	if q.Cursor != "" {
		tail, cursorOldestFirst, err := decodeCursor(q.Cursor)
		if err != nil {
			return ListPage{}, err
		}
		cursorTail = tail
		switch q.Side {
		case CursorSideMade:
			backward = cursorOldestFirst != q.OldestFirst
		case CursorSideBefore:
			backward = true
		}
		scanOldestFirst = q.OldestFirst != backward
	}
	if !p.acquire() {
		return ListPage{}, fmt.Errorf("list: %w", ErrClosed)
	}
	defer p.release()
	if emptyRange(q.StartedAtMin, q.StartedAtMax) || emptyRange(q.EndedAtMin, q.EndedAtMax) {
		return ListPage{}, nil
	}

	prefix := listAccountPrefix(q.Account)
	opts := &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)}
	if q.StartedAtMin != nil {
		opts.LowerBound = appendTime(bytes.Clone(prefix), *q.StartedAtMin)
	}
	if q.StartedAtMax != nil {
		opts.UpperBound = appendTime(bytes.Clone(prefix), *q.StartedAtMax)
	}
	it, err := p.db.NewIterWithContext(ctx, opts)
	if err != nil {
		return ListPage{}, fmt.Errorf("list: %w", err)
	}
	defer it.Close()
	// A clone reads the same state of the read models as it.
	views, err := it.CloneWithContext(ctx, pebble.CloneOptions{IterOptions: &pebble.IterOptions{
		LowerBound: []byte{prefixCall}, UpperBound: []byte{prefixCall + 1}}})
	if err != nil {
		return ListPage{}, fmt.Errorf("list: %w", err)
	}
	defer views.Close()

	var valid bool
	switch {
	case cursorTail == nil && scanOldestFirst:
		valid = it.First()
	case cursorTail == nil:
		valid = it.Last()
	case scanOldestFirst:
		valid = it.SeekGE(append(append(bytes.Clone(prefix), cursorTail...), 0x00)) // just after the cursor
	default:
		valid = it.SeekLT(append(bytes.Clone(prefix), cursorTail...))
	}
	step := it.Prev
	if scanOldestFirst {
		step = it.Next
	}

	// A full page looks ahead for one more match, so that Next is set only
	// when there is a next page (no empty last page), and points after the
	// page's last item.
	page := ListPage{Items: make([]ListItem, 0, min(limit, 64))}
	viewFilters := q.hasViewFilters()
	viewsScanned := 0 // the views read for viewFilters
	// firstTail and lastTail are the key tails of the first and the last
	// entry read.
	var firstTail, lastTail []byte
	for scanned := 0; valid; scanned++ {
		if scanned == ListScanMax {
			page.Next = encodeCursor(scanOldestFirst, lastTail)
			break
		}
		if scanned%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return ListPage{}, fmt.Errorf("list: %w", err)
			}
		}
		key := it.Key()
		if len(key) != len(prefix)+timeKeyBytes+16 {
			return ListPage{}, fmt.Errorf("list: %w: list key of %d bytes", errBadKey, len(key))
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return ListPage{}, fmt.Errorf("list: %w", err)
		}
		e, err := decodeListEntry(v)
		if err != nil {
			return ListPage{}, fmt.Errorf("list: %w", err)
		}
		keep := q.matches(e)
		// An entry of layout 1 holds no end nor parent: the view filters
		// read its call's view.
		viewFiltered := keep && viewFilters && !e.HasEnd
		if viewFiltered && viewsScanned == ListViewScanMax {
			page.Next = encodeCursor(scanOldestFirst, lastTail)
			break
		}
		var s domain.State
		if keep && (viewFiltered || len(page.Items) < limit) {
			// The view is read for the view filters of a layout-1 entry,
			// and for each item of the page: not for the lookahead past a
			// full page.
			if viewFiltered {
				viewsScanned++
			}
			id := uuid.UUID(key[len(prefix)+timeKeyBytes:])
			var ok bool
			if s, ok, err = readCallView(views, id); err != nil {
				return ListPage{}, fmt.Errorf("list: %w", err)
			}
			if !ok {
				p.log.Error("list: listed call has no call view; left off the page", "account", q.Account, "call", id)
			}
			keep = ok && (!viewFiltered || q.matchesView(&s.Call))
		}
		if keep {
			if len(page.Items) == limit {
				page.Next = encodeCursor(scanOldestFirst, itemTail(page.Items[limit-1]))
				break
			}
			start, rest, _ := readTime(key[len(prefix):])
			page.Items = append(page.Items, ListItem{
				CallID:    uuid.UUID(rest),
				StartedAt: start,
				Status:    e.Status,
				From:      e.From,
				To:        e.To,
				Deleted:   e.Deleted,
				State:     s,
			})
		}
		lastTail = append(lastTail[:0], key[len(prefix):]...)
		if firstTail == nil {
			firstTail = bytes.Clone(lastTail)
		}
		valid = step()
	}
	if err := it.Error(); err != nil {
		return ListPage{}, fmt.Errorf("list: %w", err)
	}
	// A page reached by a cursor turns back toward the cursor at its item
	// nearest to it, or, when it has none (a selective filter, a page cut
	// short by ListScanMax or ListViewScanMax), at the first entry it
	// read: the filters left out every entry between the cursor and there,
	// so that the way back skips nothing, and reads none of the page's
	// entries again, from which it could be cut short itself before
	// reaching a call.
	switch {
	case backward:
		// The scan went back from the cursor: what it left to read is
		// before this page, and the page's last entry is where the next
		// page (the one the cursor came from) starts after.
		slices.Reverse(page.Items)
		page.Prev, page.Next = page.Next, ""
		if n := len(page.Items); n > 0 {
			page.Next = encodeCursor(q.OldestFirst, itemTail(page.Items[n-1]))
		} else if firstTail != nil {
			page.Next = encodeCursor(q.OldestFirst, firstTail)
		}
	case cursorTail != nil && len(page.Items) > 0:
		page.Prev = encodeCursor(!q.OldestFirst, itemTail(page.Items[0]))
	case cursorTail != nil && firstTail != nil:
		page.Prev = encodeCursor(!q.OldestFirst, firstTail)
	}
	return page, nil
}

// readCallView reads the call view of id through it, an iterator over the
// call views; ok is false when there is none. The list index entry and the
// call view of a call are written in one batch (commit), so a listed call
// without a view is a damaged database or a bug: each caller says what it
// does with one. A failure to read the view is an error, never a bad value.
func readCallView(it *pebble.Iterator, id uuid.UUID) (s domain.State, ok bool, err error) {
	key := callKey(id)
	if !it.SeekGE(key) || !bytes.Equal(it.Key(), key) {
		return domain.State{}, false, it.Error()
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return domain.State{}, false, fmt.Errorf("call %s: %w", id, err)
	}
	if s, err = decodeCall(v); err != nil {
		return domain.State{}, false, fmt.Errorf("call %s: %w", id, err)
	}
	return s, true, nil
}

// matches reports whether the list entry e passes q's index filters, and
// its view filters when e holds what they read (listEntry.HasEnd).
func (q *ListQuery) matches(e listEntry) bool {
	if e.Deleted && !q.IncludeDeleted {
		return false
	}
	if e.HasEnd && !q.matchesEnd(e.Ended, e.EndedAt, e.Parent) {
		return false
	}
	if q.From != "" && e.From != q.From {
		return false
	}
	if q.To != "" && e.To != q.To {
		return false
	}
	return len(q.Statuses) == 0 || slices.Contains(q.Statuses, e.Status)
}

// hasViewFilters reports whether q has a filter the list index cannot
// apply, for which List reads the call views.
func (q *ListQuery) hasViewFilters() bool {
	return q.EndedAtMin != nil || q.EndedAtMax != nil || q.ParentCallID != uuid.Nil
}

// matchesView reports whether the call c passes q's view filters.
func (q *ListQuery) matchesView(c *domain.Call) bool {
	parent := uuid.Nil
	if c.ParentCallID != nil {
		parent = *c.ParentCallID
	}
	if c.EndedAt == nil {
		return q.matchesEnd(false, time.Time{}, parent)
	}
	return q.matchesEnd(true, *c.EndedAt, parent)
}

// matchesEnd reports whether a call that ended at end (when ended) and was
// created by parent (uuid.Nil for none) passes q's view filters.
func (q *ListQuery) matchesEnd(ended bool, end time.Time, parent uuid.UUID) bool {
	if q.EndedAtMin != nil || q.EndedAtMax != nil {
		switch {
		case !ended:
			return false
		case q.EndedAtMin != nil && end.Before(*q.EndedAtMin):
			return false
		case q.EndedAtMax != nil && !end.Before(*q.EndedAtMax):
			return false
		}
	}
	return q.ParentCallID == uuid.Nil || parent == q.ParentCallID
}

// emptyRange reports whether [lower, upper) holds no instant; nil bounds
// are unbounded.
func emptyRange(lower, upper *time.Time) bool {
	return lower != nil && upper != nil && !lower.Before(*upper)
}

// The billing dimensions a BillingQuery can group by.
const (
	GroupAccount  = "account"
	GroupProvider = "provider"
	GroupCurrency = "currency"
	GroupDay      = "day"
	// GroupMonth groups by the UTC calendar month of the call's start, the
	// period most invoices cover: the day totals of the month, summed.
	GroupMonth = "month"
)

// BillingQuery selects and groups billing totals.
type BillingQuery struct {
	// From (inclusive) and To (exclusive) bound the period: a call counts
	// when its start time falls in [From, To), to the nanosecond, whatever
	// the offset the bounds were given in (they are compared as instants).
	// nil is unbounded. Every instant is a bound, Go's zero time
	// (0001-01-01T00:00:00Z) too: calls may start in the year 0000, and a
	// zero time read as "no bound" once made a period ending a second after
	// it count every call. From equal to To is an empty period. Whole UTC
	// days inside the period are read from the day buckets; the partial days
	// at its edges are summed from their calls, with the same rules.
	From *time.Time
	To   *time.Time
	// GroupBy lists dimensions among GroupAccount, GroupProvider,
	// GroupCurrency, GroupMonth and GroupDay, in any order. Totals are always per
	// currency, whether or not GroupCurrency is listed: amounts in two
	// currencies are never added.
	GroupBy []string
	// Account keeps only this account's calls; empty keeps every account.
	Account string
}

// BillingRow is one group's totals. Dimensions not grouped by are empty
// (Day is zero).
type BillingRow struct {
	Account  string
	Provider string
	Currency string
	// Month is the UTC midnight starting the month, when grouped by
	// month.
	Month time.Time
	// Day is the UTC midnight starting the day, when grouped by day.
	Day time.Time
	// Total is the exact sum of the current prices of the group's calls that
	// are not deleted. Trailing fractional zeros are dropped ("12.5", not
	// "12.5000"); format it with StringFixed for a fixed scale.
	Total domain.Decimal
	// Calls counts the group's priced calls that are not deleted.
	Calls int64
	// DurationSeconds sums their billed durations (calls without one add 0).
	DurationSeconds int64
	// DeletedCalls counts the group's priced calls that were soft-deleted;
	// they are in none of the figures above.
	DeletedCalls int64
}

// Billing sums the billing totals of the calls that start in [q.From,
// q.To) by the requested dimensions: the rows equal summing each call's
// contribution one by one. Rows are sorted by account, provider, currency,
// then month and day. Only priced calls are counted. It reads the day buckets for the
// whole UTC days of the period and, for the partial days at its edges (at
// most two), the calls of the accounts with buckets on those days, from one
// consistent view of the read models. It returns ErrInvalidQuery for an
// unknown dimension or To before From.
func (p *Projector) Billing(ctx context.Context, q BillingQuery) ([]BillingRow, error) {
	grouping, err := parseGrouping(q.GroupBy)
	if err != nil {
		return nil, err
	}
	if q.From != nil && q.To != nil && q.To.Before(*q.From) {
		return nil, fmt.Errorf("%w: to %s is before from %s", ErrInvalidQuery, *q.To, *q.From)
	}
	plan := planBilling(q.From, q.To)
	if !p.acquire() {
		return nil, fmt.Errorf("billing: %w", ErrClosed)
	}
	defer p.release()
	view, err := openBillingView(ctx, p.db)
	if err != nil {
		return nil, fmt.Errorf("billing: %w", pebbleError(err))
	}
	defer view.close()

	sums := newBillingSums(grouping)
	if plan.wholeDays {
		if err := view.sumWholeDays(ctx, sums, plan.lower, plan.upper, q.Account); err != nil {
			return nil, fmt.Errorf("billing: %w", pebbleError(err))
		}
	}
	for _, d := range plan.partialDays {
		if err := view.sumPartialDay(ctx, sums, d, q.Account); err != nil {
			return nil, fmt.Errorf("billing %s to %s: %w", d.from, d.to, pebbleError(err))
		}
	}
	return sums.rows(), nil
}

// Digest returns the SHA-256, in hex, of every read-model key and value in
// key order: for each pair, the key's length (uvarint), the key, the value's
// length and the value. The 'm' range (checkpoint, format stamp, failures)
// is left out, so the digest depends only on the events applied: a rebuild
// gives the same digest however often it is run, and the same as read models
// kept incrementally up to the same position. The 'p' range, the provider
// lookup that earlier builds wrote and nothing reads, is left out too, so
// that read models those builds kept digest as a rebuild of them does. It
// reads one consistent snapshot, so it may run beside Run.
func (p *Projector) Digest(ctx context.Context) (string, error) {
	if !p.acquire() {
		return "", fmt.Errorf("digest: %w", ErrClosed)
	}
	defer p.release()
	it, err := p.db.NewIterWithContext(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("digest: %w", pebbleError(err))
	}
	defer it.Close()
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	count := 0
	for valid := it.First(); valid; {
		if count%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return "", fmt.Errorf("digest: %w", err)
			}
		}
		count++
		key := it.Key()
		if len(key) > 0 && (key[0] == prefixMeta || key[0] == prefixLookup) {
			valid = it.SeekGE([]byte{key[0] + 1}) // past the range
			continue
		}
		val := it.Value()
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(key)))])
		h.Write(key)
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(val)))])
		h.Write(val)
		valid = it.Next()
	}
	if err := it.Error(); err != nil {
		return "", fmt.Errorf("digest: %w", pebbleError(err))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Failures returns up to limit of the recorded failures (events the runner
// could not decode or fold since the last rebuild), oldest first, for verify
// tools. A limit <= 0 means 100.
func (p *Projector) Failures(ctx context.Context, limit int) ([]Failure, error) {
	if limit <= 0 {
		limit = 100
	}
	if !p.acquire() {
		return nil, fmt.Errorf("failures: %w", ErrClosed)
	}
	defer p.release()
	it, err := p.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: keyFailurePref, UpperBound: prefixEnd(keyFailurePref)})
	if err != nil {
		return nil, fmt.Errorf("failures: %w", pebbleError(err))
	}
	defer it.Close()
	var out []Failure
	for valid := it.First(); valid && len(out) < limit; valid = it.Next() {
		var f Failure
		if err := json.Unmarshal(it.Value(), &f); err != nil {
			return nil, fmt.Errorf("failures: %w: %w", errBadValue, err)
		}
		out = append(out, f)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("failures: %w", pebbleError(err))
	}
	return out, nil
}
