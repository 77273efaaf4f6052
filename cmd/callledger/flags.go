package main

import (
	"errors"
	"flag"
	"fmt"
)

// newFlagSet is a tool command's flag set: a parse error is returned (and
// the usage printed to env's stderr), never an exit, so that main decides
// the exit status.
func newFlagSet(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parseFlags parses args into fs. A flag the command does not have, or a
// value its flag refuses, is a usageError (exit 2, in every command); -h is
// flag.ErrHelp (exit 0).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err}
}

// parseNoArgs parses args into fs, for a command that takes flags only: a
// positional argument is a usageError.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// nonEmptyString is a string flag that refuses an empty value. Left out,
// such a flag takes its default (from its environment variable, where an
// empty variable means unset); given as "", it is almost always a shell
// variable that expanded to nothing (--data "$DIR"), and would quietly
// mean something else: the current directory for --data, stdin or stdout
// for --in and --out, the store instead of a file for verify --in, every
// interface on a random port for --addr. hint says what to give instead.
type nonEmptyString struct {
	p    *string
	hint string
}

// nonEmptyStringVar defines a string flag like fs.StringVar whose value
// may not be empty (nonEmptyString).
func nonEmptyStringVar(fs *flag.FlagSet, p *string, name, value, hint, usage string) {
	*p = value
	fs.Var(nonEmptyString{p: p, hint: hint}, name, usage)
}

// String returns the flag's value ("" for the zero nonEmptyString that
// package flag makes to find the zero value).
func (v nonEmptyString) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

// Set sets the value, refusing "".
func (v nonEmptyString) Set(s string) error {
	if s == "" {
		return fmt.Errorf("is empty: %s", v.hint)
	}
	*v.p = s
	return nil
}
