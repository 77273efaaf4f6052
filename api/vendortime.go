package api

import "time"

// vendorTimeLayout is the layout of FormatTime.
const vendorTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// FormatTime writes t in UTC with milliseconds, as the vendor documents do
// ("2025-02-17T15:00:00.000Z"): domain.ShownPrecision, which the ledger's
// clock and its reading of times sent back follow.
func FormatTime(t time.Time) string {
	return string(appendTime(make([]byte, 0, len(vendorTimeLayout)), t))
}

// appendTime appends FormatTime(t). A year of four digits is written digit
// by digit: time.AppendFormat parses the layout again for every value (five
// times a Moonbase answer). Other years take AppendFormat's path.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, vendorTimeLayout)
	}
	hour, minute, sec := t.Clock()
	milli := t.Nanosecond() / int(time.Millisecond)
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, minute, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, sec, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, milli, 3)
	return append(dst, 'Z')
}

// appendDigits appends the non-negative n as exactly width decimal digits,
// with leading zeros (n must be below 10^width).
func appendDigits(dst []byte, n, width int) []byte {
	var buf [4]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(dst, buf[:width]...)
}
