package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestProgressLineNamesWhatItCounts checks the progress line of a tool
// that counts events and of verify, which counts each event once in each
// of its passes: verify's line said "events" for three times the log's
// events ("47.1% of 1400298" on a log of 466,766).
func TestProgressLineNamesWhatItCounts(t *testing.T) {
	for _, tc := range []struct {
		name, unit, want string
	}{
		{"export", "", "export: 500 events, 50 events/s, 10s elapsed, 50.0% of 1000, ETA 10s"},
		{"verify", "event reads", "verify: 500 event reads, 50 event reads/s, 10s elapsed, 50.0% of 1000, ETA 10s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newProgressMeter(Env{Stderr: &bytes.Buffer{}}, tc.name)
			if tc.unit != "" {
				m.unit = tc.unit
			}
			assert.Equal(t, tc.want, m.line(500, 1000, m.start.Add(10*time.Second)))
		})
	}
}
