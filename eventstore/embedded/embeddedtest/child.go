package embeddedtest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Child is the test binary run again as a child process for one of its
// tests, for a crash test to kill (see StartChild).
type Child struct {
	// Lines receives each line of the child's standard output that starts
	// with the prefix given to StartChild, with its newline, in order, and
	// is closed when that output ends. A last line without its newline
	// (cut by the kill) is dropped.
	Lines <-chan string

	tb    testing.TB
	cmd   *exec.Cmd
	lines chan string
	// ended is closed when the child's standard output ends (it exited).
	ended  chan struct{}
	stderr bytes.Buffer
	// other is the rest of the standard output, the reader's own until it
	// closes lines.
	other strings.Builder
}

// childOtherMax bounds the output a Child keeps besides Lines.
const childOtherMax = 64 << 10

// StartChild starts the test binary again to run only the test named
// testName, once, with env (each "KEY=value") added to its environment,
// and sends the lines of its standard output that start with prefix to
// Lines. The caller kills it with Kill, or signals it (Signal) and waits
// for it (Wait).
func StartChild(tb testing.TB, testName, prefix string, env ...string) *Child {
	tb.Helper()
	return startChild(tb, exec.Command(os.Args[0], "-test.run=^"+testName+"$", "-test.count=1"), prefix, env)
}

// StartChildIgnoringInterrupts is StartChild for a child that starts with
// SIGINT ignored, as a background job of a non-interactive shell does: a
// shell ignores it (an empty trap) and execs the test binary, which inherits
// the disposition.
func StartChildIgnoringInterrupts(tb testing.TB, testName, prefix string, env ...string) *Child {
	tb.Helper()
	return startChild(tb, exec.Command("/bin/sh", "-c", `trap '' INT; exec "$0" "$@"`,
		os.Args[0], "-test.run=^"+testName+"$", "-test.count=1"), prefix, env)
}

// startChild starts cmd, a run of the test binary, as StartChild says.
func startChild(tb testing.TB, cmd *exec.Cmd, prefix string, env []string) *Child {
	tb.Helper()
	c := &Child{tb: tb, cmd: cmd, lines: make(chan string, 1024), ended: make(chan struct{})}
	c.Lines = c.lines
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stderr = &c.stderr
	stdout, err := c.cmd.StdoutPipe()
	require.NoError(tb, err)
	require.NoError(tb, c.cmd.Start())
	go func() {
		defer close(c.lines)
		defer close(c.ended)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return // a line cut by the kill has no newline
			}
			if strings.HasPrefix(line, prefix) {
				c.lines <- line
			} else if c.other.Len() < childOtherMax {
				c.other.WriteString(line)
			}
		}
	}()
	return c
}

// Kill kills the child with SIGKILL, so that no deferred code runs in it,
// and waits for it (Wait). It returns the error of the signal, if it could
// not be sent (the child is waited for all the same), and what Wait
// returned.
func (c *Child) Kill(rest func(line string), giveUp <-chan time.Time) (signalErr, waitErr error) {
	c.tb.Helper()
	signalErr = c.cmd.Process.Kill()
	return signalErr, c.Wait(rest, giveUp)
}

// Signal sends sig to the child.
func (c *Child) Signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// Running reports whether the child's standard output is still open: it
// has not exited (nor closed its output).
func (c *Child) Running() bool {
	select {
	case <-c.ended:
		return false
	default:
		return true
	}
}

// Wait passes rest (nil: drops them) the lines of Lines not yet received
// until the child's standard output ends, and only then waits for it, as
// os/exec requires of a reader of that output. It fails the test if giveUp
// (nil: never) fires before the output ends. It returns what the child's
// Wait returned: nil when the child exited by itself with success, else an
// *exec.ExitError, whose Exited is false when a signal ended the child.
func (c *Child) Wait(rest func(line string), giveUp <-chan time.Time) error {
	c.tb.Helper()
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				return c.cmd.Wait()
			}
			if rest != nil {
				rest(line)
			}
		case <-giveUp:
			require.FailNow(c.tb, "child output did not end")
		}
	}
}

// Output returns the child's output besides Lines, for failure messages:
// the other lines of its standard output (up to about 64 KiB of them),
// then its standard error. Call it only once Kill returned.
func (c *Child) Output() string { return c.other.String() + c.stderr.String() }
