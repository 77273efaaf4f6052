package domain

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

// TestDecimalLessIsLessThan checks that decimalLess, which compares
// without rescaling in math/big where the coefficients fit an int64, says
// what decimal.Decimal.LessThan says, and that Identical is still Equal
// with the same scale: over zeros of several scales, signs, coefficients
// around the int64 bounds and past 18 digits, exponents far apart, and
// random pairs.
func TestDecimalLessIsLessThan(t *testing.T) {
	literals := []string{
		"0", "0.00", "-0.00", "0.000000000000000000000000000001", "1", "-1", "1.50", "1.5", "-1.50", "2.25",
		"999999999999999999", "999999999999999999.0", "-999999999999999999", "9223372036854775807",
		"922337203685477580.7", "92233720368547758.07", "-922337203685477580.8", "9223372036854775808",
		"123456789012345678901234", "0.123456789012345678901234567890", "1.0000000000000000000001",
		"1e3", "15e-1", "1e20", "-1e20", "1e-30", "5e17", "5e18", "-5e18", "0.1", "0.10", "100", "1e2",
	}
	var ds []decimal.Decimal
	for _, s := range literals {
		ds = append(ds, decimal.RequireFromString(s))
	}
	r := rand.New(rand.NewPCG(3, 9))
	for range 800 {
		c := r.Int64N(1<<62) >> r.IntN(62)
		if r.IntN(2) == 0 {
			c = -c
		}
		ds = append(ds, decimal.New(c, int32(r.IntN(40)-30)))
	}
	for i, a := range ds {
		for j, b := range ds {
			if i >= len(literals) && j >= len(literals) && (i+j)%3 != 0 {
				continue // a sample of the random pairs
			}
			if got, want := decimalLess(a, b), a.LessThan(b); got != want {
				t.Fatalf("decimalLess(%s (exp %d), %s (exp %d)) = %v, LessThan says %v", a, a.Exponent(), b, b.Exponent(), got, want)
			}
			da, db := Decimal{a}, Decimal{b}
			if got, want := da.Identical(db), a.Equal(b) && da.Scale() == db.Scale(); got != want {
				t.Fatalf("Identical(%s, %s) = %v, want %v", a, b, got, want)
			}
		}
	}
}
