package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
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
// flag.ErrHelp (exit 0). The usage is printed for -h and for a flag the
// command does not have, not for a value refused (--account ""): that
// error is one line, as a value refused after parsing is (--from ""),
// where package flag printed the whole usage between two copies of it.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		printUsage(fs)
		return err
	case strings.HasPrefix(err.Error(), "flag provided but not defined"):
		printUsage(fs)
	}
	return usageError{err}
}

// printUsage prints fs's usage to its output: its Usage, or package
// flag's default one.
func printUsage(fs *flag.FlagSet) {
	if fs.Usage != nil {
		fs.Usage()
		return
	}
	fmt.Fprintf(fs.Output(), "Usage of %s:\n", fs.Name())
	fs.PrintDefaults()
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
