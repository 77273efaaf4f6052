package domain_test

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// TestDecimalString checks that String writes every decimal as
// StringFixed at its scale does (the reference the fast path of small
// coefficients must match): zeros, signs, values below one, integers,
// coefficients of 18 and 19 digits and beyond, and random amounts.
func TestDecimalString(t *testing.T) {
	literals := []string{
		"0", "0.00", "-0.00", "1", "-1", "1.50", "-1.50", "0.0135", "-0.0135", "0.5", "0.005",
		"-0.005", "12345.678900", "100", "100.0", "0.000000000000000000000000001",
		"999999999999999999", "-999999999999999999", "0.999999999999999999",
		"9999999999999999999", "-9999999999999999999", "12345678901234567890.123",
		"9007199254740993", "90071992547409.93",
	}
	for _, lit := range literals {
		d := domain.MustParseDecimal(lit)
		assert.Equal(t, d.StringFixed(d.Scale()), d.String(), "%s", lit)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		c := rng.Int64N(1 << (1 + rng.IntN(62)))
		if rng.IntN(2) == 0 {
			c = -c
		}
		d := domain.NewDecimal(decimal.New(c, -int32(rng.IntN(25))))
		assert.Equal(t, d.StringFixed(d.Scale()), d.String(), "coefficient %d exponent %d", c, d.Exponent())
	}
	// Integers built by arithmetic may carry a positive exponent.
	big := domain.NewDecimal(decimal.New(15, 3))
	assert.Equal(t, big.StringFixed(big.Scale()), big.String())
	assert.Equal(t, "150000", domain.NewDecimal(decimal.New(15, 4)).String())
}

// TestParseNumber checks the reader of numbers a client may write with an
// exponent (transcript cue times): exact, returned in the plain form with
// the places its digits give, Identical to that form parsed as a plain
// decimal; refused past the bounds asked for, before any digit is written
// out, and for NaN, infinities and what is no number.
func TestParseNumber(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1e2", "100"}, {"1E2", "100"}, {"1e+2", "100"}, {"2E+2", "200"}, {"1.5e2", "150"},
		{"1.50e1", "15.0"}, {"1.50e3", "1500"}, {"1e-7", "0.0000001"}, {"1.0e-7", "0.00000010"},
		{"1.2345678901234567e-7", "0.00000012345678901234567"}, {"0e5", "0"}, {"0.00e1", "0.0"},
		{"-1e2", "-100"}, {"12.5", "12.5"}, {"1.50", "1.50"}, {"0", "0"},
		{"999999999999999", "999999999999999"}, {"9.99999999999999e14", "999999999999999"},
		{"1e-30", "0.000000000000000000000000000001"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := domain.ParseNumber(tc.in, 15, 30)
			require.NoError(t, err)
			assert.Equal(t, tc.want, d.String())
			assert.True(t, d.Identical(domain.MustParseDecimal(tc.want)), "%s is %s exactly, at its scale", tc.in, tc.want)
			assert.LessOrEqual(t, d.Exponent(), int32(0), "kept in plain form")
		})
	}
	for _, in := range []string{
		"1e15", "1000000000000000", "1e400", "1e999999999", "1e9999999999", "1e-31",
		"0.0000000000000000000000000000001", "1e-999999999", "NaN", "Infinity", "-Infinity", "inf",
		"", "x", "1e", "0x10",
	} {
		t.Run("Refused_"+in, func(t *testing.T) {
			_, err := domain.ParseNumber(in, 15, 30)
			assert.Error(t, err)
		})
	}
	// Money stays plain: ParseDecimal still refuses an exponent.
	_, err := domain.ParseDecimal("1e2")
	assert.ErrorContains(t, err, "exponent notation is not accepted")
}

// TestDecimalSyntax checks that both readers of decimals take only what
// is written as one (a sign, digits with at most one point, for
// ParseNumber an exponent), where shopspring's reader took ".+5" for 0.05
// (the sign counted as a place): a malformed price was stored as another
// amount. The lenient forms it always took (".5", "5.", "+1.50") stay.
func TestDecimalSyntax(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"5", "5"}, {"-0.5", "-0.5"}, {"+1.50", "1.50"}, {".5", "0.5"}, {"5.", "5"}, {"-.5", "-0.5"}, {"007", "7"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := domain.ParseDecimal(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, d.String())
			n, err := domain.ParseNumber(tc.in, 15, 30)
			require.NoError(t, err)
			assert.True(t, d.Identical(n))
		})
	}
	for _, tc := range []struct{ in, want string }{{".5e1", "5"}, {"5.e-1", "0.5"}, {"+1E+2", "100"}} {
		t.Run(tc.in, func(t *testing.T) {
			n, err := domain.ParseNumber(tc.in, 15, 30)
			require.NoError(t, err)
			assert.Equal(t, tc.want, n.String())
		})
	}
	for _, in := range []string{
		".+5", ".-5", "+.+5", "1.+5", ".+00000000000000000001", "1.2.3", "--1", "+-1", "+", "-", ".", "+.",
		"1 ", " 1", "1_000", "1,5", "١", "5+", "0x1",
	} {
		t.Run("Refused_"+in, func(t *testing.T) {
			_, err := domain.ParseDecimal(in)
			assert.ErrorContains(t, err, "not a decimal number")
			_, err = domain.ParseNumber(in, 15, 30)
			assert.Error(t, err)
		})
	}
	for _, in := range []string{"1e", "1e+", "1e+-5", "1e--5", "1e5.0", "e5", ".e5", "1e5e5", "1e.5", "1e+ 5"} {
		t.Run("RefusedExponent_"+in, func(t *testing.T) {
			_, err := domain.ParseNumber(in, 15, 30)
			assert.Error(t, err)
		})
	}
}
