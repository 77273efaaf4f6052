package api

import (
	"net/http"
	"strings"
)

// notModified reports whether r, a GET or HEAD of a call whose ETag is
// etag, holds an If-None-Match that etag matches, so that the answer is a
// 304 with no body (RFC 9110 section 13.1.2): a client that cached the call
// as read at that revision keeps it. The comparison is weak, as that
// section requires: W/"3" matches "3". "*" matches any call that exists
// (every call a GET reads). An entity tag that is not a quoted string is
// skipped rather than refused: If-None-Match only spares a body, so a
// header this API cannot read costs the client the full answer, never an
// error. Every call's GET renders from the call as of its revision and the
// request's URL alone, so one revision is one representation at one URL.
func notModified(r *http.Request, etag string) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	h := r.Header.Get("If-None-Match")
	if h == "" {
		return false
	}
	if strings.TrimSpace(h) == "*" {
		return true
	}
	for piece := range strings.SplitSeq(h, ",") {
		tag := strings.TrimPrefix(strings.TrimSpace(piece), "W/")
		if tag == etag {
			return true
		}
	}
	return false
}
