package api

import "sync"

// bufferPool recycles byte buffers, as *[]byte so that putting one back
// allocates nothing. A buffer that grew past max is not put back but left
// to the garbage collector: the pool would keep a rare large buffer alive
// for uses that need a fraction of it. The zero value of pool is ready.
type bufferPool struct {
	pool sync.Pool
	max  int
}

// get returns an empty buffer, from the pool when it holds one.
func (p *bufferPool) get() *[]byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

// put returns buf, emptied, to the pool, unless its capacity exceeds max.
// The caller must not use buf afterwards.
func (p *bufferPool) put(buf *[]byte) {
	if cap(*buf) > p.max {
		return
	}
	*buf = (*buf)[:0]
	p.pool.Put(buf)
}
