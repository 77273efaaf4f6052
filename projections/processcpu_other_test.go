//go:build !unix

package projections_test

import (
	"testing"
	"time"
)

// processCPU is not measured off Unix: the benchmarks' CPU metrics read 0
// (or NaN) there, and their wall-clock ratio is what compares.
func processCPU(testing.TB) time.Duration { return 0 }

// processUsage is not measured off Unix either: the fault metrics read 0
// there too.
func processUsage(testing.TB) (time.Duration, int64) { return 0, 0 }
