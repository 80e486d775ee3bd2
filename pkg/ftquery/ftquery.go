// Package ftquery compiles user search text into MySQL/MariaDB full-text
// AGAINST(...) arguments and finds, in result text, what a query matched.
//
// It is pure Go: no SQL building, no network. A query is parsed once
// (Parse) and compiled per FULLTEXT index (Compile) with the tokenisation
// rules of that index's server and engine (Rules), so that what is sent is
// what the server indexes, a boolean query is always built from the parsed
// tree (never from raw user operators), and a query the server could only
// answer with an empty list because of stopwords or too-short words is
// reported with ErrNothingSearchable instead.
//
// # Syntax (Altus v1)
//
//	database tuning          both words are required (juxtaposition is AND)
//	database AND tuning      the same; AND is optional
//	mysql OR mariadb         either; OR binds tighter than AND, so
//	                         "fast mysql OR mariadb" is fast AND (mysql OR mariadb)
//	-draft, NOT draft        exclude rows with the word
//	+database                required (the default; accepted for familiarity)
//	"connection pool"        the words next to each other, in this order
//	data*                    words starting with "data"
//	(a OR b) -(c d)          groups, nested
//
// AND, OR and NOT are keywords only in upper case; "and", "or", "not" are
// words. A word with punctuation inside ("full-text", "user@example.com",
// "O'Neil") is the phrase of its parts, as the server indexes the parts.
//
// # Words
//
// A word is what the servers' built-in full-text parser calls one (Words,
// IsWordChar): a run of letters, digits, '_' and combining marks per the
// server's own (older) Unicode table; everything else separates words,
// including the apostrophe, and every character above U+FFFF (emoji).
// Words are compared like utf8mb4_unicode_ci (case, accents, compatibility
// forms ignored). The notes in tokenize.go and compile.go say which server
// source and which measurements each rule comes from.
package ftquery

import (
	"errors"
	"strconv"
	"strings"
)

// Mode is a full-text search mode: how the AGAINST text is interpreted.
type Mode string

// The search modes Compile knows.
const (
	// ModeNatural is IN NATURAL LANGUAGE MODE: a bag of words ranked by relevance.
	ModeNatural Mode = "natural"
	// ModeBoolean is IN BOOLEAN MODE, built from the parsed query.
	ModeBoolean Mode = "boolean"
	// ModeExpansion is WITH QUERY EXPANSION: natural mode plus blind relevance feedback.
	ModeExpansion Mode = "expansion"
)

// Rules are the full-text tokenisation rules of one index (its server and
// engine): words outside [MinTokenLen, MaxTokenLen] characters and stopwords
// are not indexed, so a query must not depend on them.
type Rules struct {
	// MinTokenLen is the shortest indexed word, in characters (0 = no minimum).
	MinTokenLen int
	// MaxTokenLen is the longest indexed word, in characters (0 = no maximum).
	MaxTokenLen int
	// Stopwords are the words the index ignores, lower-cased; nil or empty = none.
	Stopwords map[string]struct{}
}

// ErrNothingSearchable is returned (wrapped in *NothingSearchableError) when
// no positive term of a query survives the index's rules, so the server
// could only answer with an empty list.
var ErrNothingSearchable = errors.New("ftquery: nothing searchable")

// Reasons an Ignored term was dropped.
const (
	ReasonStopword  = "stopword"
	ReasonTooShort  = "too_short"
	ReasonTooLong   = "too_long"
	ReasonNotInMode = "not_in_mode"
)

// Ignored is a term Compile dropped, and why (one of the Reason
// constants). An excluded term is written with its "-" ("-draft").
type Ignored struct {
	Term   string
	Reason string
}

// Term is a positive term to highlight: one word, a prefix (Prefix applies
// to the last word) or a phrase (several consecutive words).
type Term struct {
	Words  []string
	Prefix bool
}

// Compiled is a query rendered for one index.
type Compiled struct {
	// Against is the AGAINST(?) argument.
	Against string
	// Mode is the mode Against was compiled for.
	Mode Mode
	// Ignored lists the terms dropped for this index, in query order.
	Ignored []Ignored
	// Terms are the positive terms, for matching and highlighting.
	Terms []Term
}

// NothingSearchableError explains why a query has nothing the index can
// search: every positive term was dropped (Ignored says which and why), the
// query only excludes terms (which matches nothing in MySQL), or it has no
// words at all (only punctuation, symbols or emoji).
type NothingSearchableError struct {
	// Mode is the mode the query was compiled for.
	Mode Mode
	// Ignored lists every dropped term and its reason.
	Ignored []Ignored
	// OnlyExclusions is true when what is left of the query only excludes.
	OnlyExclusions bool
	// NoWords is true when the query has no words at all.
	NoWords bool
	// MinTokenLen and MaxTokenLen are the index's limits, for the message.
	MinTokenLen, MaxTokenLen int
}

// Error says, for people, which terms were dropped and why, e.g.
// `"the" and "an" are too common to be indexed; "db" is shorter than the
// 3-character minimum`.
func (e *NothingSearchableError) Error() string {
	var parts []string
	group := func(reason string) []string {
		var ts []string
		for _, ig := range e.Ignored {
			// Dropped exclusions do not explain an empty query.
			if ig.Reason == reason && (reason == ReasonNotInMode || !strings.HasPrefix(ig.Term, "-")) {
				ts = append(ts, strconv.Quote(ig.Term))
			}
		}
		return ts
	}
	verb := func(ts []string, one, many string) string {
		if len(ts) == 1 {
			return ts[0] + " " + one
		}
		return joinAnd(ts) + " " + many
	}
	if ts := group(ReasonStopword); len(ts) > 0 {
		parts = append(parts, verb(ts, "is too common to be indexed", "are too common to be indexed"))
	}
	if ts := group(ReasonTooShort); len(ts) > 0 {
		lim := "the " + strconv.Itoa(e.MinTokenLen) + "-character minimum"
		parts = append(parts, verb(ts, "is shorter than "+lim, "are shorter than "+lim))
	}
	if ts := group(ReasonTooLong); len(ts) > 0 {
		lim := "the " + strconv.Itoa(e.MaxTokenLen) + "-character maximum"
		parts = append(parts, verb(ts, "is longer than "+lim, "are longer than "+lim))
	}
	if ts := group(ReasonNotInMode); len(ts) > 0 && (e.OnlyExclusions || len(parts) == 0) {
		parts = append(parts, "exclusions ("+strings.Join(ts, ", ")+") only work in boolean mode")
	}
	switch {
	case e.NoWords:
		parts = append(parts, "the query has no words to search for")
	case e.OnlyExclusions:
		parts = append(parts, "a query that only excludes words matches nothing; add a word to search for")
	}
	if len(parts) == 0 {
		return "nothing to search for"
	}
	return "nothing to search for: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrNothingSearchable) true.
func (e *NothingSearchableError) Is(target error) bool { return target == ErrNothingSearchable }

// UnknownModeError is returned by Compile for a mode it does not know
// (semantic search is compiled as ModeNatural by the caller).
type UnknownModeError struct{ Mode Mode }

// Error names the mode.
func (e *UnknownModeError) Error() string {
	return "ftquery: unknown search mode " + strconv.Quote(string(e.Mode))
}

// joinAnd joins quoted terms as `"a", "b" and "c"`.
func joinAnd(ts []string) string {
	if len(ts) == 1 {
		return ts[0]
	}
	return strings.Join(ts[:len(ts)-1], ", ") + " and " + ts[len(ts)-1]
}
