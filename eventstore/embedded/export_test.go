package embedded

// KeyFilterReady reports whether s's key filter has finished its scan and
// answers lookups (see keyFilter), for tests that must exercise it.
func KeyFilterReady(s *Store) bool { return s.keys.ready.Load() }
