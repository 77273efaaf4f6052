// Command callledger runs the call ledger and its tools.
//
//	callledger serve      run the HTTP API over the ledger (embedded store in ./data by default)
//	callledger help       list every command
//
// main only deals with signals and exit codes; each command is a small type
// that parses its flags and runs, so that tests can drive it with a temp dir.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"sync"
	"syscall"
)

// gcPercent is the garbage collector's target when GOGC is not set. The
// ledger's live Go heap is small (tens of MiB: Pebble's caches and memtables
// are C memory when built with cgo), so Go's default of 100 collects
// hundreds of times a second under write load. At 400 the API spent about a
// sixth less CPU per request than at 100 (BenchmarkLoopback); at 1000 its
// collections cost 2% of its CPU instead of 5% (93 against 250 ms of GC
// CPU for 40,000 upserts), for a heap of ~550 MiB instead of ~250 under that
// load. GOGC, when set, wins. The other commands (the tools) collect at
// toolGCPercent.
const gcPercent = 1000

// toolGCPercent is the garbage collector's target of every command but
// serve when GOGC is not set: Go's default. A tool reads a log once, its
// requests per second nothing to win, and at gcPercent its heap grew to
// eleven times the live one: verify of 3.7M events peaked at 3.3 GB (a
// crash probe), of 645,000 events at 1.15 GB, 0.69 GB at 100 in the same
// time within noise (session 45).
const toolGCPercent = 100

// gcPercentFor is the GC target of the command line args: gcPercent for
// serve, toolGCPercent for the rest.
func gcPercentFor(args []string) int {
	if len(args) > 0 && args[0] == "serve" {
		return gcPercent
	}
	return toolGCPercent
}

// memoryLimit is the soft limit on the Go runtime's memory when GOMEMLIMIT
// is not set: past it the collector runs sooner than gcPercent says, so
// that a large live heap (built without cgo, Pebble's caches are Go memory,
// ~0.7-1 GiB) does not grow to gcPercent times itself. It is far above what
// the ledger needs with cgo, where only gcPercent acts. GOMEMLIMIT, when
// set, wins.
const memoryLimit = 2 << 30

func main() {
	os.Exit(runProcess(os.Args[1:]))
}

// runProcess is main's work, given the command line after the program's
// name: it tunes the runtime, runs the command with the process's streams
// and environment under stopContext, and returns the exit code. Tests run
// it in a child process, to send it signals.
func runProcess(args []string) int {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercentFor(args))
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	// A reader that goes away (`callledger export | head`) makes writes
	// to the standard streams fail (EPIPE) rather than kill the process:
	// its deferred work still runs (a tool removes the copy of a serving
	// data directory it read), and the command ends as a broken pipe
	// (brokenStdout).
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := stopContext()
	defer stop()
	return run(ctx, args, Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
}

// brokenStdout reports whether err is a write to the process's standard
// output whose reader went away (EPIPE): the end a pipe into head or less
// gives a command, not a failure of it.
func brokenStdout(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Path == os.Stdout.Name() && errors.Is(pe.Err, syscall.EPIPE)
}

// stopContext returns a context that ends at the first SIGINT or SIGTERM,
// which asks the command to stop cleanly (serve lets requests in flight
// finish, for up to shutdownTimeout). A second signal stops the process at
// once: an operator's second Ctrl-C is not ignored for the rest of a slow
// shutdown. Nothing acknowledged is lost by that (every write is durable
// before its answer, as on kill -9).
//
// The second signal meets the signal's default action, restored as soon
// as the context ends, and the process dies of it, as a shell expects.
// A signal the process was started with ignored (SIGINT, for a background
// job of a non-interactive shell) would be ignored again once restored, so
// it stays caught: its second delivery exits with 128 plus its number,
// the status a shell reports for a process it killed.
func stopContext() (context.Context, context.CancelFunc) {
	signals := []os.Signal{os.Interrupt, syscall.SIGTERM}
	var restore, keep []os.Signal
	for _, sig := range signals {
		if signal.Ignored(sig) {
			keep = append(keep, sig)
		} else {
			restore = append(restore, sig)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	received := make(chan os.Signal, 1)
	signal.Notify(received, signals...)
	done := make(chan struct{})
	go func() {
		select {
		case <-received:
		case <-done:
			return
		}
		cancel()
		if len(restore) > 0 {
			signal.Reset(restore...)
		}
		select {
		case sig := <-received: // one kept caught, or one before the Reset
			n, _ := sig.(syscall.Signal)
			os.Exit(128 + int(n))
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(received)
			close(done)
			cancel()
		})
	}
}

// Env is what a command may use of the process: its streams and environment.
// Tests pass buffers and a map-backed Getenv.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// command is one subcommand of callledger.
type command struct {
	// summary is the one-line description shown by help.
	summary string
	// run parses args and runs the command until done or ctx is cancelled.
	run func(ctx context.Context, args []string, env Env) error
}

// commands lists every subcommand. Each command's file adds itself here
// through its entry in commandTable.
func commands() map[string]command {
	table := map[string]command{}
	for _, add := range commandTable {
		add(table)
	}
	return table
}

// commandTable holds one registration function per command file, so that
// adding a command touches only its own file and this list.
var commandTable = []func(map[string]command){
	addServe,
	addVerify, addHistory, addExport, addImport, addReplay, addBilling,
}

// run dispatches to a subcommand and turns its error into an exit code: 0 on
// success, 2 on a usage error, 1 on any other failure.
func run(ctx context.Context, args []string, env Env) int {
	table := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout, table)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := table[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "callledger: unknown command %q\n", args[0])
		usage(env.Stderr, table)
		return 2
	}
	if err := cmd.run(ctx, args[1:], env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var usageErr usageError
		if errors.As(err, &usageErr) {
			fmt.Fprintf(env.Stderr, "callledger %s: %v\n", args[0], err)
			return 2
		}
		if brokenStdout(err) {
			// As a process killed by SIGPIPE ends, quietly, with the
			// shell's code for it.
			return 128 + int(syscall.SIGPIPE)
		}
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			// Stopped by a signal (stopContext): the error is what the work
			// was doing when it stopped, not a failure of it.
			fmt.Fprintf(env.Stderr, "callledger %s: interrupted, not finished (%v)\n", args[0], err)
			return 1
		}
		fmt.Fprintf(env.Stderr, "callledger %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// usageError marks an error in the command line rather than in the work.
type usageError struct{ error }

func usage(w io.Writer, table map[string]command) {
	names := make([]string, 0, len(table))
	for name := range table {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: callledger <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, table[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'callledger <command> -h' for a command's flags.")
}
