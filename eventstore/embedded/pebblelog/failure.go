package pebblelog

import "sync/atomic"

// Failure keeps the first error that failed a database for good: after a
// commit that could not be written (Pebble's fatal error, ErrFatal, or a
// failed sync) or a damaged table, the database cannot be trusted with the
// next write, and its owner refuses the calls that need it until it is
// reopened. Set tells the one caller that recorded the failure, so that it
// is logged once rather than by every call that meets it. The zero Failure
// holds no error; it is safe for concurrent use.
type Failure struct {
	err atomic.Pointer[error]
}

// Set records err as the failure unless one is recorded already, and
// reports whether this call recorded it. err must not be nil.
func (f *Failure) Set(err error) (first bool) {
	if err == nil {
		panic("pebblelog: Failure.Set(nil)")
	}
	return f.err.CompareAndSwap(nil, &err)
}

// Err returns the error Set recorded first, or nil while none is.
func (f *Failure) Err() error {
	if p := f.err.Load(); p != nil {
		return *p
	}
	return nil
}
