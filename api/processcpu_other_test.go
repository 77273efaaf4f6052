//go:build !unix

package api

import (
	"testing"
	"time"
)

// processCPU is not measured off Unix: the benchmarks' CPU metrics read 0
// there, and their req/s is what compares.
func processCPU(testing.TB) time.Duration { return 0 }
