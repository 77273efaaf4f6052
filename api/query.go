package api

import (
	"errors"
	"net/url"
)

// checkQuery refuses a query string that does not parse (a malformed
// escape such as "%zz", a ';' separator). The handlers read their
// parameters with url.URL.Query, which drops such a pair without a word,
// so that a list filtered by To=a%zz answered every call, unfiltered; a
// form body with the same bytes was already a 400. It is a 400 in the
// surface's style, naming the fault.
func checkQuery(raw string) error {
	if raw == "" {
		return nil
	}
	if _, err := url.ParseQuery(raw); err != nil {
		var escape url.EscapeError
		if errors.As(err, &escape) {
			return Malformed("", "the query string is malformed: %q is not a valid escape", string(escape))
		}
		return Malformed("", "the query string is malformed: %v", err)
	}
	return nil
}

// givenOnce refuses, with a 400 naming it, the first of names that q gives
// more than once. These parameters choose what an auditor or a billing job
// is shown (from=a&from=b, revision=1&revision=5), and a repeated one read
// as its first value answers a question that may not be the one asked.
func givenOnce(q url.Values, names ...string) error {
	for _, name := range names {
		if n := len(q[name]); n > 1 {
			return Malformed(name, "is given %d times: give it once", n)
		}
	}
	return nil
}

// givenParam is the value of the query parameter name, or nil when the
// query does not have it: "from=" is given, and empty.
func givenParam(q url.Values, name string) *string {
	if v, ok := q[name]; ok && len(v) > 0 {
		return &v[0]
	}
	return nil
}
