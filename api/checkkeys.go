package api

// CheckKeys returns the error NewServer would return for keys as
// Config.Keys: more keys than a server takes, or one token given twice.
// ParseAPIKeys and LoadAPIKeysFile check the keys of one source; a caller
// that gathers keys from several checks them together with CheckKeys
// before it opens anything that a refused start would have to undo.
func CheckKeys(keys []APIKey) error { return checkKeys(keys) }
