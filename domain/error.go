package domain

import (
	"errors"
	"fmt"
)

// Error is the one application error of the ledger: a machine-readable Code,
// the Field it is about (if any) and a Message safe to show to API callers.
// Decide returns one for every command it refuses; the API turns the Code
// into a status through one table. Any error that is not an *Error is an
// internal failure and is never shown to callers.
type Error struct {
	Code    ErrorCode
	Field   string // the request field at fault, in the domain's words; may be empty
	Message string
}

// ErrorCode classifies an Error for callers and for the API's status table.
type ErrorCode string

// The error codes.
const (
	// ErrInvalid: the command is malformed (bad E.164, unknown enum, end
	// before start, negative money). API: 400/422.
	ErrInvalid ErrorCode = "invalid"
	// ErrConflict: the command is well formed but the call's state forbids
	// it (answer a terminal call, cancel an in-progress one, create a call
	// that exists, write to a deleted call). API: 409.
	ErrConflict ErrorCode = "conflict"
	// ErrNotFound: the call does not exist (or is not the caller's). API: 404.
	ErrNotFound ErrorCode = "not_found"
)

// Error formats the error for logs: "invalid: to: ...".
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code ErrorCode, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCodeOf returns the code of the *Error in err's chain, or "" when err
// is nil or not an application error (an internal failure).
func ErrorCodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
