package embeddedtest

import (
	"bytes"
	"sync"
)

// LogBuffer is a bytes.Buffer that many goroutines can log into (Pebble's,
// a server's, a projection runner's), for tests that check what a damaged
// table made them log. Its zero value is ready to use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
