package embedded

// headCache keeps the heads of recently appended streams, bounded to about
// capacity entries: two generations of maps, the older dropped whole when
// the newer fills, so a head used in the last generation survives and memory
// never exceeds two generations. Only the committer goroutine uses it, so it
// has no lock.
type headCache struct {
	current    map[string]streamHead
	previous   map[string]streamHead
	generation int // entries per generation; 0 disables the cache
}

// newHeadCache returns a cache of about capacity heads; capacity <= 0
// disables it.
func newHeadCache(capacity int) *headCache {
	c := &headCache{}
	if capacity > 0 {
		c.generation = max(capacity/2, 1)
		c.current = make(map[string]streamHead)
	}
	return c
}

func (c *headCache) get(stream string) (streamHead, bool) {
	if c.generation == 0 {
		return streamHead{}, false
	}
	if h, ok := c.current[stream]; ok {
		return h, true
	}
	if h, ok := c.previous[stream]; ok {
		c.put(stream, h)
		return h, true
	}
	return streamHead{}, false
}

func (c *headCache) put(stream string, h streamHead) {
	if c.generation == 0 {
		return
	}
	if _, ok := c.current[stream]; !ok && len(c.current) >= c.generation {
		c.previous = c.current
		c.current = make(map[string]streamHead, c.generation)
	}
	c.current[stream] = h
}
