//go:build unix

package projections_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// processCPU is the user + system CPU time the process has used.
func processCPU(tb testing.TB) time.Duration {
	cpu, _ := processUsage(tb)
	return cpu
}

// processUsage is, from one getrusage, the user + system CPU time the
// process has used and the page faults it has taken that needed no I/O
// (mostly first touches of fresh memory).
func processUsage(tb testing.TB) (cpu time.Duration, minorFaults int64) {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Minflt
}
