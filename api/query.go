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

// filtersNotEmpty returns a 400 naming the first of a list's filters that
// q gives empty ("Status=", a script's unset variable): read as left out,
// it would list every call where the client meant a few, as a billing
// bound given empty would bill every call (a bad-input probe found a
// hang-up script's empty filter listing all). Paging parameters given
// empty are not filters: they page as when left out.
func filtersNotEmpty(q url.Values, names ...string) error {
	for _, name := range names {
		if v, ok := q[name]; ok && len(v) > 0 && v[0] == "" {
			return Malformed(name, "%s is empty: give a value, or leave the filter out", name)
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
