package pebblelog_test

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore/embedded/pebblelog"
)

// TestRecovered checks that a function deferred around a call of Pebble
// turns the panic of Logger.Fatalf, and only that one, into an error
// wrapping ErrFatal.
func TestRecovered(t *testing.T) {
	call := func(f func()) (err error) {
		defer func() {
			if e := pebblelog.Recovered(recover()); e != nil {
				err = e
			}
		}()
		f()
		return nil
	}
	logger := pebblelog.Logger{Log: slog.New(slog.DiscardHandler)}
	tests := []struct {
		name   string
		f      func()
		want   string // the error's text; "" for none
		panics bool
	}{
		{"NoPanic", func() {}, "", false},
		{"Fatalf", func() { logger.Fatalf("pebble: fatal commit error: %s", "no space left on device") },
			"pebble: fatal commit error: no space left on device: " + pebblelog.ErrFatal.Error(), false},
		{"OtherPanic", func() { panic("a bug") }, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.panics {
				assert.PanicsWithValue(t, "a bug", func() { _ = call(tt.f) })
				return
			}
			err := call(tt.f)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, pebblelog.ErrFatal))
			assert.EqualError(t, err, tt.want)
		})
	}
}

// TestFailure checks that a Failure keeps the first error set, and that
// only the call that set it reports so.
func TestFailure(t *testing.T) {
	var f pebblelog.Failure
	assert.NoError(t, f.Err(), "the zero Failure holds no error")
	first, second := errors.New("first"), errors.New("second")
	assert.True(t, f.Set(first))
	assert.False(t, f.Set(second))
	assert.Same(t, first, f.Err())
	assert.Panics(t, func() { f.Set(nil) })
}
