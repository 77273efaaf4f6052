package projections

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPlanBilling(t *testing.T) {
	// Goal: a period is split into the whole UTC days read from the buckets
	// and at most two non-empty partial days read call by call, which
	// together cover [from, to) exactly once; a day-aligned period has no
	// partial day and reads the same buckets as before. A nil bound is
	// unbounded, and every instant is a bound: Go's zero time
	// (0001-01-01T00:00:00Z) is a midnight like any other, not "no bound".
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	d := dayNumber(day)
	at := func(days int, h time.Duration) time.Time { return day.AddDate(0, 0, days).Add(h) }
	keys := func(from, to int32) [2][]byte {
		return [2][]byte{appendDay([]byte{prefixBilling}, from), appendDay([]byte{prefixBilling}, to)}
	}
	type want struct {
		whole   *[2][]byte
		partial []partialDay
	}
	ptr := func(k [2][]byte) *[2][]byte { return &k }
	bound := func(t time.Time) *time.Time { return &t }
	var zero time.Time
	z := dayNumber(zero)
	for _, tc := range []struct {
		name     string
		from, to *time.Time
		want     want
	}{
		{"Unbounded", nil, nil, want{whole: ptr([2][]byte{{prefixBilling}, {prefixBilling + 1}})}},
		{"DayAligned", bound(day), bound(at(2, 0)), want{whole: ptr(keys(d, d+2))}},
		{"EmptyAtMidnight", bound(day), bound(day), want{}},
		{"EmptyMidDay", bound(at(0, 5*time.Hour)), bound(at(0, 5*time.Hour)), want{}},
		{"FirstHalf", bound(day), bound(at(0, 12*time.Hour)), want{partial: []partialDay{{d, day, at(0, 12*time.Hour)}}}},
		{"SecondHalf", bound(at(0, 12*time.Hour)), bound(at(1, 0)), want{partial: []partialDay{{d, at(0, 12*time.Hour), at(1, 0)}}}},
		{"InsideOneDay", bound(at(0, time.Hour)), bound(at(0, 2*time.Hour)), want{partial: []partialDay{{d, at(0, time.Hour), at(0, 2*time.Hour)}}}},
		{"TwoPartialDays", bound(at(0, time.Hour)), bound(at(1, time.Hour)), want{partial: []partialDay{
			{d, at(0, time.Hour), at(1, 0)}, {d + 1, at(1, 0), at(1, time.Hour)}}}},
		{"WholeDaysBetweenEdges", bound(at(0, time.Hour)), bound(at(3, time.Nanosecond)), want{whole: ptr(keys(d+1, d+3)), partial: []partialDay{
			{d, at(0, time.Hour), at(1, 0)}, {d + 3, at(3, 0), at(3, time.Nanosecond)}}}},
		{"OpenStart", nil, bound(at(0, time.Hour)), want{
			whole: ptr([2][]byte{{prefixBilling}, appendDay([]byte{prefixBilling}, d)}), partial: []partialDay{{d, day, at(0, time.Hour)}}}},
		{"OpenEnd", bound(at(0, time.Hour)), nil, want{
			whole: ptr([2][]byte{appendDay([]byte{prefixBilling}, d+1), {prefixBilling + 1}}), partial: []partialDay{{d, at(0, time.Hour), at(1, 0)}}}},
		{"OffsetBoundsAreInstants", bound(time.Date(2025, 3, 2, 0, 0, 0, 0, time.FixedZone("+05:00", 5*3600))), bound(at(1, 0)), want{
			partial: []partialDay{{d, at(0, 19*time.Hour), at(1, 0)}}}},
		{"EndsAtZeroTime", nil, bound(zero), want{whole: ptr([2][]byte{{prefixBilling}, appendDay([]byte{prefixBilling}, z)})}},
		{"EndsJustPastZeroTime", nil, bound(zero.Add(time.Second)), want{
			whole: ptr([2][]byte{{prefixBilling}, appendDay([]byte{prefixBilling}, z)}), partial: []partialDay{{z, zero, zero.Add(time.Second)}}}},
		{"StartsAtZeroTime", bound(zero), bound(zero.AddDate(0, 0, 1)), want{whole: ptr(keys(z, z+1))}},
		{"AcrossZeroTime", bound(zero.Add(-12 * time.Hour)), bound(zero.Add(time.Second)), want{partial: []partialDay{
			{z - 1, zero.Add(-12 * time.Hour), zero}, {z, zero, zero.Add(time.Second)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := planBilling(tc.from, tc.to)
			if tc.want.whole == nil {
				assert.False(t, plan.wholeDays, "no whole day")
			} else {
				assert.True(t, plan.wholeDays)
				assert.Equal(t, tc.want.whole[0], plan.lower, "lower")
				assert.Equal(t, tc.want.whole[1], plan.upper, "upper")
			}
			assert.Len(t, plan.partialDays, len(tc.want.partial))
			for i := range min(len(plan.partialDays), len(tc.want.partial)) {
				got, want := plan.partialDays[i], tc.want.partial[i]
				assert.Equal(t, want.day, got.day, "partial %d day", i)
				assert.True(t, want.from.Equal(got.from), "partial %d from %s, want %s", i, got.from, want.from)
				assert.True(t, want.to.Equal(got.to), "partial %d to %s, want %s", i, got.to, want.to)
			}
		})
	}
}
