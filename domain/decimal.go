package domain

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Decimal is an exact decimal number that keeps the scale it was written
// with: "1.50" is read back as "1.50", not "1.5" (decimal.Decimal.String drops
// trailing zeros). Money and every other exact quantity in the ledger is a
// Decimal; floats never hold money.
//
// In JSON a Decimal is a string ("0.0135"). Unmarshal also accepts a JSON
// number, keeping its digits exactly, for contracts that carry numbers; the
// API layer decides whether a surface allows that. The zero value is 0.
type Decimal struct {
	decimal.Decimal
}

// NewDecimal wraps d, keeping its exponent as the scale.
func NewDecimal(d decimal.Decimal) Decimal { return Decimal{d} }

// ParseDecimal parses s ("12", "-0.0135", "1.50") exactly, keeping its scale.
// Exponent notation is refused: callers write plain decimals.
func ParseDecimal(s string) (Decimal, error) {
	if s == "" {
		return Decimal{}, fmt.Errorf("empty decimal")
	}
	for _, r := range s {
		if r == 'e' || r == 'E' {
			return Decimal{}, fmt.Errorf("%q: exponent notation is not accepted, write a plain decimal", s)
		}
	}
	d, err := decimal.NewFromString(s)
	if err != nil || !decimalSyntax(s, false) {
		return Decimal{}, fmt.Errorf("%q is not a decimal number", s)
	}
	return Decimal{d}, nil
}

// decimalSyntax reports whether s is written as the ledger reads a
// decimal: an optional sign, then digits with at most one point among or
// around them, at least one digit ("5", "-0.5", "+1.50", ".5", "5."), and,
// when exponent is true, an optional exponent: "e" or "E", an optional
// sign, digits. shopspring's NewFromString, which does the reading, is
// looser: it reads ".+5" as 0.05, the sign taken for a place, so a
// malformed price would be stored as another amount. ParseDecimal and
// ParseNumber check the syntax too.
func decimalSyntax(s string, exponent bool) bool {
	if i := strings.IndexAny(s, "eE"); exponent && i >= 0 {
		if exp := withoutSign(s[i+1:]); exp == "" || !allDigits(exp) {
			return false
		}
		s = s[:i]
	}
	whole, places, _ := strings.Cut(withoutSign(s), ".")
	return whole+places != "" && allDigits(whole) && allDigits(places)
}

// withoutSign is s without its leading '+' or '-', if it has one.
func withoutSign(s string) string {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		return s[1:]
	}
	return s
}

// allDigits reports whether s holds only the ASCII digits 0-9 ("" does).
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseNumber parses s, a decimal in plain ("12.5") or exponent notation
// ("1.25e1", "1E-7", "1e+2"), as a JSON number may be written: JavaScript
// writes numbers below 1e-6 and from 1e21 with an exponent. It reads it
// exactly, as a decimal: the exponent moves the point and nothing is
// rounded. It returns the number in plain form, with the places its digits
// give ("1e2" is 100, "1.50e1" is 15.0, "1e-7" is 0.0000001), so that it
// writes back without an exponent and is Identical to that form sent again.
//
// A number with more than intDigitsMax digits before the point, or more
// than placesMax after it, once written out, is refused before it is: an
// exponent lets a few bytes ask for any number of digits (1e999999999
// would write a gigabyte). NaN and the infinities are refused: JSON has
// neither, and they are no quantity.
func ParseNumber(s string, intDigitsMax, placesMax int32) (Decimal, error) {
	if s == "" {
		return Decimal{}, fmt.Errorf("empty number")
	}
	d, err := decimal.NewFromString(s)
	if err != nil || !decimalSyntax(s, true) {
		return Decimal{}, fmt.Errorf("%q is not a finite decimal number", s)
	}
	if !withinDigits(d, intDigitsMax, placesMax) {
		return Decimal{}, fmt.Errorf("%q is out of range: at most %d digits before the point and %d after it", s, intDigitsMax, placesMax)
	}
	if d.Exponent() > 0 {
		// An integer the exponent scaled up (1e2 is 1 × 10²): Round(0)
		// multiplies the coefficient out to exponent 0, its plain form,
		// which the bound above keeps small. Nothing is rounded: the
		// number has no digits after the point.
		d = d.Round(0)
	}
	return Decimal{d}, nil
}

// withinDigits reports whether d, written out in plain form, has at most
// intDigitsMax digits before the point and placesMax after it. It counts
// them from the coefficient and the exponent, without writing d out: a
// number read with an exponent (ParseNumber) or decoded from JSON may ask
// for any number of digits (1e999999999 would write a gigabyte). ParseNumber
// applies it as it reads a number, and Decide to the numbers it bounds
// (checkTranscript), whichever way they were read.
func withinDigits(d decimal.Decimal, intDigitsMax, placesMax int32) bool {
	exp := int64(d.Exponent())
	if max(-exp, 0) > int64(placesMax) {
		return false
	}
	if d.Sign() == 0 {
		return true
	}
	return max(coefficientDigits(d)+exp, 0) <= int64(intDigitsMax)
}

// coefficientDigits is the number of digits of d's coefficient as written,
// without its sign; d is not zero. It is not NumDigits, which says 15 for
// 10^15 (it rounds a float64 log10 below 2^53), and never compares with
// 10^max, which would write out 1e999999999. NumDigits only guards the
// fast path, which counts by division without math/big: it may be one off
// only below 2^53 (its float64 path), and is exact above, so at most 18
// means the coefficient is below 10^18 in absolute value, an int64 whose
// negation does not overflow.
func coefficientDigits(d decimal.Decimal) int64 {
	if d.NumDigits() <= 18 {
		coefficient := d.CoefficientInt64()
		if coefficient < 0 {
			coefficient = -coefficient // no overflow: below 10^18
		}
		digits := int64(0)
		for ; coefficient > 0; coefficient /= 10 {
			digits++
		}
		return digits
	}
	coefficient := d.Coefficient()
	return int64(len(coefficient.Abs(coefficient).Text(10)))
}

// MustParseDecimal is ParseDecimal for constants in tests and examples; it
// panics on a malformed literal, a programmer error.
func MustParseDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Scale is the number of digits after the decimal point as written.
func (d Decimal) Scale() int32 {
	if e := d.Exponent(); e < 0 {
		return -e
	}
	return 0
}

// String formats d with the scale it was written with. It is AppendString
// into a stack buffer, so that the two cannot drift apart: the buffer holds
// a price's digits, sign and point, leaving the string conversion as the
// fast path's one allocation (the rare slow path, beyond 18 digits, copies
// StringFixed's string once more).
func (d Decimal) String() string {
	var buf [32]byte
	return string(d.AppendString(buf[:0]))
}

// AppendString appends what String returns, without allocating a string
// on the fast path: the event encoder and the Moonbase answer write
// decimals into their buffers.
func (d Decimal) AppendString(dst []byte) []byte {
	if d.Exponent() <= 0 && d.NumDigits() <= 18 {
		return appendScaled(dst, d.CoefficientInt64(), -d.Exponent())
	}
	return append(dst, d.StringFixed(d.Scale())...)
}

// appendScaled appends coefficient × 10^-scale with scale digits after the
// point, as StringFixed writes it: the fast path of AppendString for the
// coefficients of up to 18 digits that money has, which skips math/big (a
// projection encodes two prices for every call it writes).
func appendScaled(dst []byte, coefficient int64, scale int32) []byte {
	if coefficient < 0 {
		dst = append(dst, '-')
		coefficient = -coefficient // no overflow: at most 18 digits
	}
	var buf [20]byte
	digits := strconv.AppendInt(buf[:0], coefficient, 10)
	if scale <= 0 {
		return append(dst, digits...)
	}
	point := len(digits) - int(scale)
	if point <= 0 { // below 1: "0.", then zeros up to the digits
		dst = append(dst, '0', '.')
		for range -point {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[:point]...)
	dst = append(dst, '.')
	return append(dst, digits[point:]...)
}

// Add returns d + e, at the larger of the two scales, exactly.
func (d Decimal) Add(e Decimal) Decimal { return Decimal{d.Decimal.Add(e.Decimal)} }

// Sub returns d - e, at the larger of the two scales, exactly.
func (d Decimal) Sub(e Decimal) Decimal { return Decimal{d.Decimal.Sub(e.Decimal)} }

// Identical reports whether d and e are the same number written with the same
// scale: "1.5" and "1.50" are Equal but not Identical. Decide compares with
// Identical, so that re-sending "1.50" after "1.5" is a change worth recording.
//
// The scales are compared first: decimal.Decimal.Equal of two numbers of
// different exponents rescales one of them in math/big (allocating), and
// different scales make them different already.
func (d Decimal) Identical(e Decimal) bool {
	return d.Scale() == e.Scale() && d.Equal(e.Decimal)
}

// decimalLess is a.LessThan(b), without decimal.Decimal's rescaling in
// math/big (three allocations) for numbers of different exponents whose
// coefficients fit an int64 once brought to the smaller exponent: every
// upsert with a transcript compares each cue's times ("0" and "1.50").
func decimalLess(a, b decimal.Decimal) bool {
	ea, eb := a.Exponent(), b.Exponent()
	if ea == eb {
		return a.LessThan(b) // compares the coefficients: no rescaling
	}
	sa, sb := a.Sign(), b.Sign()
	if sa != sb {
		return sa < sb
	}
	if sa == 0 {
		return false // both zero
	}
	// At most 18 digits (NumDigits is exact enough there, see
	// coefficientDigits): the coefficients are int64s.
	if a.NumDigits() <= 18 && b.NumDigits() <= 18 {
		ca, cb, ok := a.CoefficientInt64(), b.CoefficientInt64(), false
		if ea > eb {
			ca, ok = scaleUp(ca, ea-eb)
		} else {
			cb, ok = scaleUp(cb, eb-ea)
		}
		if ok {
			return ca < cb
		}
	}
	return a.LessThan(b)
}

// scaleUp returns c × 10^k (k > 0), and false if that overflows an int64.
func scaleUp(c int64, k int32) (int64, bool) {
	for ; k > 0; k-- {
		if c > math.MaxInt64/10 || c < math.MinInt64/10 {
			return 0, false
		}
		c *= 10
	}
	return c, true
}

// MarshalJSON writes d as a JSON string with its scale.
func (d Decimal) MarshalJSON() ([]byte, error) {
	return d.appendJSON(make([]byte, 0, 24)), nil
}

// appendJSON appends what MarshalJSON returns.
func (d Decimal) appendJSON(dst []byte) []byte {
	dst = append(dst, '"')
	dst = d.AppendString(dst)
	return append(dst, '"')
}

// UnmarshalJSON reads a JSON string or number exactly.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	v, err := ParseDecimal(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText writes d with its scale (used for map keys and form values).
func (d Decimal) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses d exactly.
func (d *Decimal) UnmarshalText(b []byte) error {
	v, err := ParseDecimal(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
