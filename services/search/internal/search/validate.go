package search

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/altus4/altus/pkg/validate"
)

// Request bounds.
const (
	MaxQueryRunes = 500
	DefaultLimit  = 20
	MaxLimit      = 100
	// MaxOffsetWindow bounds offset+limit when a single index is paged with
	// SQL OFFSET (deeper pages are better reached with a narrower query).
	MaxOffsetWindow = 100000
	maxListItems    = 100
	// DefaultMaxValueChars and MaxValueChars bound the text values of a
	// result's data: a page of whole documents would weigh hundreds of KB
	// and the snippet and highlights already show what matched; a caller
	// who wants more asks for up to MaxValueChars (what dbrouter reads of a
	// column, ALTUS_SEARCH_MAX_VALUE_BYTES).
	DefaultMaxValueChars = 1000
	MaxValueChars        = 8192
)

// Violation codes.
const (
	codeRequired   = "REQUIRED"
	codeTooLong    = "TOO_LONG"
	codeOutOfRange = "OUT_OF_RANGE"
	codeInvalid    = "INVALID_VALUE"
	codeTooMany    = "TOO_MANY"
	codeUnknown    = "UNKNOWN"
	codeWindow     = "WINDOW_TOO_LARGE"
)

// normalize checks r and returns it with defaults applied, every list
// trimmed and de-duplicated (in first-seen order), and the query trimmed.
// Every problem is reported at once, each naming its JSON field.
func normalize(r Request) (Request, error) {
	var c validate.Collector
	r.Query = strings.TrimSpace(r.Query)
	switch n := utf8.RuneCountInString(r.Query); {
	case n == 0:
		c.Add("query", codeRequired, "query is required: send 1 to %d characters of text to search for.", MaxQueryRunes)
	case n > MaxQueryRunes:
		c.Add("query", codeTooLong, "query is %d characters long; the limit is %d.", n, MaxQueryRunes)
	}
	if r.MaxValueChars == 0 {
		r.MaxValueChars = DefaultMaxValueChars
	}
	c.Check(r.MaxValueChars >= 1 && r.MaxValueChars <= MaxValueChars, "maxValueChars", codeOutOfRange,
		"maxValueChars must be between 1 and %d (default %d); got %d.", MaxValueChars, DefaultMaxValueChars, r.MaxValueChars)
	if r.Limit == 0 {
		r.Limit = DefaultLimit
	}
	c.Check(r.Limit >= 1 && r.Limit <= MaxLimit, "limit", codeOutOfRange, "limit must be between 1 and %d (default %d); got %d.", MaxLimit, DefaultLimit, r.Limit)
	if c.Check(r.Offset >= 0, "offset", codeOutOfRange, "offset must be zero or more; got %d.", r.Offset) && !c.Has("limit") {
		c.Check(r.Offset+r.Limit <= MaxOffsetWindow, "offset", codeOutOfRange,
			"offset + limit must be at most %d; got %d. Narrow the search instead of paging this deep.", MaxOffsetWindow, r.Offset+r.Limit)
	}
	mode, ok := normalizeMode(r.Mode)
	c.Check(ok, "searchMode", codeInvalid, "searchMode must be natural, boolean, expansion or semantic; got %q.", r.Mode)
	r.Mode = mode
	checkSemanticRatio(&c, r)
	r.Databases = cleanList(&c, "databases", r.Databases)
	r.Tables = cleanList(&c, "tables", r.Tables)
	r.Columns = cleanList(&c, "columns", r.Columns)
	return r, c.Err()
}

// normalizeMode returns the canonical mode ("" is natural) and whether it is known.
func normalizeMode(m string) (string, bool) {
	m = strings.ToLower(strings.TrimSpace(m))
	switch m {
	case "":
		return ModeNatural, true
	case ModeNatural, ModeBoolean, ModeExpansion, ModeSemantic:
		return m, true
	}
	return m, false
}

// cleanList trims the items of a list, drops empty ones and duplicates, and
// bounds its length.
func cleanList(c *validate.Collector, field string, in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || slices.Contains(out, s) {
			continue
		}
		out = append(out, s)
	}
	c.Check(len(out) <= maxListItems, field, codeTooMany, "%s may name at most %d items; got %d.", field, maxListItems, len(out))
	if len(out) == 0 {
		return nil
	}
	return out
}

// splitLists accepts comma-separated items as well as repeated ones
// (?tables=a,b and ?tables=a&tables=b).
func splitLists(in []string) []string {
	var out []string
	for _, s := range in {
		for part := range strings.SplitSeq(s, ",") {
			out = append(out, part)
		}
	}
	return out
}
