package main

import (
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

// parseNoArgs parses args into fs, for a command that takes flags only: a
// positional argument is a usageError.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}
