package domain_test

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"

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
