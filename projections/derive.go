package projections

import (
	"bytes"
	"time"

	"github.com/shopspring/decimal"

	"github.com/callledger/callledger/domain"
)

// derived is everything the read models other than the call view hold about
// one call, computed from its State alone. Comparing the derived entries of
// a call before and after a batch tells which keys to delete, which to
// write, and what to subtract from and add to billing.
type derived struct {
	exists bool

	// recordings is how many of the call's Recordings have their recording
	// index keys. A call's recordings are only ever appended to (Evolve;
	// Decide adds one it does not hold), so the keys of those after them
	// are the ones to write, and none is ever deleted: hashing every sid
	// on every commit would cost each write of a call with recordings.
	recordings int

	list      []byte // list index key
	listValue []byte

	priced  bool
	bucket  bucket
	contrib totals
}

// startTime is the instant a call is listed and billed on: its start time,
// or when the ledger recorded its first event for calls that never said
// when they started (VoiceCall creations without startedAt).
func startTime(c *domain.Call) time.Time {
	if c.StartedAt != nil {
		return c.StartedAt.UTC()
	}
	return c.CreatedAt.UTC()
}

// derive computes the derived entries of s. A state that does not exist, or
// whose call has no account, derives nothing.
func derive(s *domain.State) derived {
	c := &s.Call
	if !s.Exists() || c.AccountID == "" {
		return derived{}
	}
	d := derived{exists: true}
	provider := domain.NormalizeProvider(c.Provider)
	d.recordings = len(c.Recordings)
	start := startTime(c)
	d.list = listKey(c.AccountID, start, c.ID)
	d.listValue = encodeListEntry(listEntryOf(c))
	d.bucket, d.contrib, d.priced = billingOf(c, provider, start)
	return d
}

// listEntryOf is call c's list index entry.
func listEntryOf(c *domain.Call) listEntry {
	e := listEntry{Status: c.Status, From: c.From, To: c.To, Deleted: c.Deleted(), HasEnd: true}
	if c.EndedAt != nil {
		e.Ended, e.EndedAt = true, c.EndedAt.UTC()
	}
	if c.ParentCallID != nil {
		e.Parent = *c.ParentCallID
	}
	return e
}

// billingOf is what call c puts in billing: its bucket (by the day of start
// and the normalised provider) and its contribution, with priced false for
// a call without a price, which puts nothing. derive and Billing's sums of
// partial days share it, so that both count a call alike.
func billingOf(c *domain.Call, provider string, start time.Time) (bucket, totals, bool) {
	if c.Price == nil {
		return bucket{}, totals{}, false
	}
	b := bucket{day: dayNumber(start), account: c.AccountID, provider: provider, currency: c.Price.Currency}
	if c.Deleted() {
		return b, totals{total: decimal.Zero, deletedCalls: 1}, true
	}
	t := totals{total: c.Price.Total.Decimal, calls: 1}
	if c.DurationSeconds != nil {
		t.durationSeconds = *c.DurationSeconds
	}
	return b, t, true
}

// sameContribution reports whether two derived entries put the same amounts
// in the same billing bucket, so that the batch can leave billing alone.
func sameContribution(a, b *derived) bool {
	if a.priced != b.priced {
		return false
	}
	if !a.priced {
		return true
	}
	return a.bucket == b.bucket &&
		a.contrib.calls == b.contrib.calls &&
		a.contrib.deletedCalls == b.contrib.deletedCalls &&
		a.contrib.durationSeconds == b.contrib.durationSeconds &&
		a.contrib.total.Equal(b.contrib.total)
}

// sameKey reports whether two optional keys are equal (nil equals nil).
func sameKey(a, b []byte) bool { return bytes.Equal(a, b) }
