// Package pebblelog connects a Pebble database to callledger's logs and
// errors, the same way for each of its three Pebble databases: the
// embedded event store, the read models (projections) and the idempotency
// table (api). It gives each a pebble.Logger that writes to slog, a
// DataCorruption listener that logs damage instead of panicking, one
// wording of the error a read of a damaged table returns, and a Failure
// that keeps the error after which the database must not be used.
//
// It sits beside the embedded store, the package that brought Pebble in,
// rather than in eventstore, which is the backend-neutral contract and
// imports no Pebble; and in a package of its own rather than in
// eventstore/embedded, whose internals projections and api have no
// business importing. (The repository's top level is fixed by its design
// card, so there is no internal/ tree.)
package pebblelog

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// Pebble checks every block of its tables against a checksum as it reads
// it. A damaged block (a flipped byte on disk) fails the read that needed
// it with an error that Pebble marks as corruption
// (pebble.IsCorruptionError), and Pebble first reports the damage to its
// EventListener.DataCorruption. Left unset, that listener is filled in by
// Pebble with Logger.Fatalf, which must not return (Pebble's contract), so
// one flipped byte of one table would panic whichever goroutine read it:
// a server's request, the projection runner, verify. Every database of
// callledger sets CorruptionListener instead, and turns the read's error
// into one wrapping its own sentinel with Wrap.

// CorruptionListener returns the EventListener.DataCorruption function of
// a database: it logs Pebble's report of a damaged table at error level
// ("pebble found on-disk corruption", with the file, the keys it holds as
// keys names them, and Pebble's detail) and returns, so that the read that
// found the damage fails with an error rather than a panic. keys nil names
// keys by their bytes, quoted. Pebble calls it synchronously from the read
// (or the compaction) that found the damage.
func CorruptionListener(log *slog.Logger, keys func(start, end []byte) string) func(pebble.DataCorruptionInfo) {
	return func(info pebble.DataCorruptionInfo) {
		detail := "no detail"
		if info.Details != nil {
			// Its text: slog would write the error with %+v, a stack trace.
			detail = info.Details.Error()
		}
		log.Error("pebble found on-disk corruption", "file", info.Path,
			"keys", keyRange(keys, info.Bounds.Start, info.Bounds.End.Key), "err", detail)
	}
}

// keyRange names the keys from start to end with keys, or quoted.
func keyRange(keys func(start, end []byte) string, start, end []byte) string {
	if keys == nil {
		return fmt.Sprintf("%q to %q", start, end)
	}
	return keys(start, end)
}

// Wrap returns err, which a read of Pebble returned, with Pebble's report of
// on-disk corruption turned into a *Corruption wrapping sentinel (the
// database's own "damaged" error) and naming the damaged file and its keys
// (as keys names them; nil: quoted); any other error, nil included, it
// returns unchanged: an I/O error or a closed database says nothing about
// the data. Callers wrap its result naming what they were reading.
func Wrap(err, sentinel error, keys func(start, end []byte) string) error {
	if err == nil || !pebble.IsCorruptionError(err) {
		return err
	}
	var done *Corruption
	if errors.As(err, &done) {
		return err // wrapped already, on a path that returns it again
	}
	e := &Corruption{sentinel: sentinel, err: err}
	// Pebble joins a carrier of the details to the error of a damaged
	// table, whose text ("<corruption detail carrier>", after a newline)
	// would break a one-line report: the details without it say the same.
	if info := pebble.ExtractDataCorruptionInfo(err); info != nil && info.Details != nil {
		e.File = info.Path
		e.Keys = keyRange(keys, info.Bounds.Start, info.Bounds.End.Key)
		e.Detail = info.Details.Error()
	} else {
		e.Detail = err.Error()
	}
	return e
}

// Corruption is Pebble's report of on-disk corruption, as Wrap words it.
type Corruption struct {
	// File is the path of the damaged file and Keys the keys it holds;
	// both empty when Pebble did not say.
	File, Keys string
	// Detail is what Pebble found, e.g. "pebble: file 000074: block
	// 1996336/32781: crc32c checksum mismatch 9f3c… != 41d0…".
	Detail   string
	sentinel error
	err      error // Pebble's
}

func (e *Corruption) Error() string {
	where := ""
	if e.File != "" {
		where = fmt.Sprintf(" in %s (a table of the keys from %s)", e.File, e.Keys)
	}
	return "unreadable: Pebble found on-disk corruption" + where + ": " + e.Detail + ": " + e.sentinel.Error()
}

// Unwrap makes errors.Is true for the sentinel and for what Pebble's error
// wraps (pebble.ExtractDataCorruptionInfo finds the details through it).
func (e *Corruption) Unwrap() []error { return []error{e.sentinel, e.err} }

// Logger is a pebble.Logger that writes to slog: informational messages
// (WAL replay, file counts) at debug level, errors at error level.
type Logger struct{ Log *slog.Logger }

var _ pebble.Logger = Logger{}

// Infof logs at debug level: Pebble's informational messages are routine.
func (l Logger) Infof(format string, args ...any) {
	l.Log.Debug(fmt.Sprintf(format, args...))
}

// Errorf logs at error level.
func (l Logger) Errorf(format string, args ...any) {
	l.Log.Error(fmt.Sprintf(format, args...))
}

// Fatalf logs at error level and panics with a *Fatal: Pebble calls it for
// states it cannot continue from and expects it not to return (after a
// failed commit, Pebble would go on as if the batch had committed). Damage
// in a table does not come here (see CorruptionListener). A database that
// must survive a fatal error of a call it makes (a full disk failing a
// commit) recovers the *Fatal at that call (see Recovered); elsewhere the
// panic stops the process, as Pebble intends.
func (l Logger) Fatalf(format string, args ...any) {
	f := &Fatal{Message: fmt.Sprintf(format, args...)}
	l.Log.Error(f.Message, "fatal", true)
	panic(f)
}

// ErrFatal is wrapped by every *Fatal: Pebble could not go on, and the
// database must not be used again until it is reopened.
var ErrFatal = errors.New("pebble: fatal error, the database must be reopened")

// Fatal is the value Logger.Fatalf panics with, and what Recovered makes
// of the error Pebble panics with itself.
type Fatal struct {
	// Message is what Pebble said, e.g. "pebble: fatal commit error: write
	// …/000005.log: no space left on device".
	Message string
	// Err is the error Pebble panicked with, when it panicked with one
	// rather than through Logger.Fatalf; nil otherwise.
	Err error
}

func (f *Fatal) Error() string { return f.Message + ": " + ErrFatal.Error() }

// Unwrap makes errors.Is(err, ErrFatal) true, and errors.Is true of Err's
// chain (syscall.ENOSPC, say).
func (f *Fatal) Unwrap() []error {
	if f.Err == nil {
		return []error{ErrFatal}
	}
	return []error{ErrFatal, f.Err}
}

// Recovered returns the *Fatal that r, a value recover returned in a
// function deferred around a call of Pebble, holds, and nil for nil. Pebble
// also panics with an error of its own: a commit whose record the
// write-ahead log could not take (a full disk, with a commit that does not
// sync) panics with the write's error, not through Logger.Fatalf; such an
// error is a *Fatal too, as the database cannot go on either. Any other
// value is not Pebble's, and it panics with it again. (recover must be
// called by the deferred function itself, so this takes its result.)
func Recovered(r any) error {
	switch v := r.(type) {
	case nil:
		return nil
	case *Fatal:
		return v
	case error:
		return &Fatal{Message: "pebble panicked: " + v.Error(), Err: v}
	}
	panic(r)
}
