// Package sqlbuild writes the full-text statements dbrouter runs on the
// users' databases. Every identifier comes from the discovered schema and
// is backtick-quoted (backticks doubled); every value is a placeholder. A
// MATCH() always names the exact column list of one FULLTEXT index, in
// index order: a subset, a superset or another order is a server error.
//
// It builds text only: validation of a request against the schema happens
// before (internal/fulltext), and the statements run elsewhere.
package sqlbuild

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/altus4/altus/services/dbrouter/internal/schema"
)

// Mode is a full-text search mode.
type Mode string

// The modes a statement can use.
const (
	ModeNatural   Mode = "natural"
	ModeBoolean   Mode = "boolean"
	ModeExpansion Mode = "expansion"
)

// Clause returns the AGAINST modifier of m, and whether m is a known mode.
func (m Mode) Clause() (string, bool) {
	switch m {
	case ModeNatural:
		return "IN NATURAL LANGUAGE MODE", true
	case ModeBoolean:
		return "IN BOOLEAN MODE", true
	case ModeExpansion:
		return "WITH QUERY EXPANSION", true
	}
	return "", false
}

// Quote quotes an identifier with backticks, doubling any backtick in it.
func Quote(name string) string { return schema.QuoteIdent(name) }

// Statement is a statement with placeholders and what it returns.
type Statement struct {
	// SQL has "?" placeholders only; it carries no time limit and no comment.
	SQL string
	// Columns are the names of the returned value columns, in order (the
	// score and the total, when present, follow them and are not listed).
	Columns []string
	// NArgs is how many placeholders SQL has.
	NArgs int
}

// Search describes the statement of one search plan.
type Search struct {
	Table schema.Table
	Index schema.FullTextIndex
	// Columns are the columns to return besides the primary key (already
	// checked to exist); primary key columns named here are not repeated.
	// None: the primary key and the score only (a keys-only plan, whose
	// sort carries no text).
	Columns []string
	Mode    Mode
	// MaxValueChars bounds each text value returned (LEFT(col, N)).
	MaxValueChars int
	// WithTotal adds COUNT(*) OVER () after the score: every row carries
	// the number of matching rows.
	WithTotal bool
	// Unordered leaves out the ORDER BY: the first rows the index finds
	// (the offset must then be 0).
	Unordered bool
}

// match renders MATCH(<index columns>) AGAINST(? <mode>).
func match(ix schema.FullTextIndex, clause string) string {
	cols := make([]string, len(ix.Columns))
	for i, c := range ix.Columns {
		cols[i] = Quote(c)
	}
	return "MATCH(" + strings.Join(cols, ", ") + ") AGAINST(? " + clause + ")"
}

func from(t schema.Table) string {
	return Quote(t.Database) + "." + Quote(t.Name)
}

// scoreAlias returns "score", or "score_N" when the table has a column of
// that name (an alias equal to a returned column would be ambiguous).
func scoreAlias(t schema.Table, base string) string {
	taken := func(name string) bool {
		for _, c := range t.Columns {
			if strings.EqualFold(c.Name, name) {
				return true
			}
		}
		return false
	}
	alias := base
	for i := 1; taken(alias); i++ {
		alias = base + "_" + strconv.Itoa(i)
	}
	return alias
}

// selectList returns the select list of the primary key columns then
// columns (text columns bounded to maxChars characters), and the names of
// what it returns.
func selectList(t schema.Table, columns []string, maxChars int) ([]string, []string, error) {
	var sel []string
	var cols []string
	seen := map[string]bool{}
	for _, pk := range t.PrimaryKey {
		sel = append(sel, Quote(pk))
		cols = append(cols, pk)
		seen[pk] = true
	}
	for _, name := range columns {
		if seen[name] {
			continue
		}
		seen[name] = true
		c, ok := t.Column(name)
		if !ok {
			return nil, nil, fmt.Errorf("sqlbuild: table %q has no column %q", t.Name, name)
		}
		if c.IsSearchable {
			sel = append(sel, "LEFT("+Quote(name)+", "+strconv.Itoa(maxChars)+") AS "+Quote(name))
		} else {
			sel = append(sel, Quote(name))
		}
		cols = append(cols, name)
	}
	return sel, cols, nil
}

// SearchStatement writes:
//
//	SELECT <pk cols>, LEFT(<text col>, N) AS <col>, ..., MATCH(<index cols>) AGAINST(? <MODE>) AS score
//	FROM `db`.`t` WHERE MATCH(<index cols>) AGAINST(? <MODE>)
//	ORDER BY score DESC, <pk cols> ASC LIMIT ? OFFSET ?
//
// Its arguments are: against, against, limit, offset.
func SearchStatement(s Search) (Statement, error) {
	clause, ok := s.Mode.Clause()
	if !ok {
		return Statement{}, fmt.Errorf("sqlbuild: unknown mode %q", s.Mode)
	}
	if len(s.Index.Columns) == 0 {
		return Statement{}, fmt.Errorf("sqlbuild: index %q has no columns", s.Index.Name)
	}
	if s.MaxValueChars <= 0 {
		return Statement{}, fmt.Errorf("sqlbuild: MaxValueChars must be positive")
	}
	sel, cols, err := selectList(s.Table, s.Columns, s.MaxValueChars)
	if err != nil {
		return Statement{}, err
	}
	m := match(s.Index, clause)
	score := scoreAlias(s.Table, "score")
	sel = append(sel, m+" AS "+Quote(score))
	if s.WithTotal {
		sel = append(sel, "COUNT(*) OVER () AS "+Quote(scoreAlias(s.Table, "total")))
	}
	order := []string{Quote(score) + " DESC"}
	for _, pk := range s.Table.PrimaryKey {
		order = append(order, Quote(pk)+" ASC")
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(sel, ", "))
	b.WriteString(" FROM ")
	b.WriteString(from(s.Table))
	b.WriteString(" WHERE ")
	b.WriteString(m)
	if !s.Unordered {
		b.WriteString(" ORDER BY ")
		b.WriteString(strings.Join(order, ", "))
	}
	b.WriteString(" LIMIT ? OFFSET ?")
	return Statement{SQL: b.String(), Columns: cols, NArgs: 4}, nil
}

// Match is one MATCH of a count: an index and its mode.
type Match struct {
	Index schema.FullTextIndex
	Mode  Mode
}

// CountOp says which rows a count of several matches counts.
type CountOp string

// The ways a count combines its matches.
const (
	// CountAny counts the distinct rows matching any match (the union of
	// the matches): the server reads the whole table to answer it.
	CountAny CountOp = "any"
	// CountAll counts the rows matching every match (their intersection),
	// which the server answers through the FULLTEXT indexes.
	CountAll CountOp = "all"
)

// Operator returns the SQL operator joining the MATCHes of op, and whether
// op is a known way of counting.
func (op CountOp) Operator() (string, bool) {
	switch op {
	case CountAny:
		return " OR ", true
	case CountAll:
		return " AND ", true
	}
	return "", false
}

// CountStatement writes the count of the distinct rows of t matching any
// (CountAny) or all (CountAll) of matches:
//
//	SELECT COUNT(*) FROM `db`.`t` WHERE MATCH(i1) AGAINST(? m1) OR MATCH(i2) AGAINST(? m2) ...
//	SELECT COUNT(*) FROM `db`.`t` WHERE MATCH(i1) AGAINST(? m1) AND MATCH(i2) AGAINST(? m2) ...
//
// Its arguments are the AGAINST texts, in order.
func CountStatement(t schema.Table, matches []Match, op CountOp) (Statement, error) {
	if len(matches) == 0 {
		return Statement{}, fmt.Errorf("sqlbuild: count of %q has no match", t.Name)
	}
	join, ok := op.Operator()
	if !ok {
		return Statement{}, fmt.Errorf("sqlbuild: unknown count operator %q", op)
	}
	conds := make([]string, len(matches))
	for i, m := range matches {
		clause, ok := m.Mode.Clause()
		if !ok {
			return Statement{}, fmt.Errorf("sqlbuild: unknown mode %q", m.Mode)
		}
		if len(m.Index.Columns) == 0 {
			return Statement{}, fmt.Errorf("sqlbuild: index %q has no columns", m.Index.Name)
		}
		conds[i] = match(m.Index, clause)
	}
	return Statement{
		SQL:   "SELECT COUNT(*) FROM " + from(t) + " WHERE " + strings.Join(conds, join),
		NArgs: len(matches),
	}, nil
}

// Fetch describes the statement that reads given rows of a table by
// primary key.
type Fetch struct {
	Table schema.Table
	// Columns are the columns to return besides the primary key (already
	// checked to exist), as in Search.
	Columns []string
	// MaxValueChars bounds each text value returned (LEFT(col, N)).
	MaxValueChars int
	// Keys is how many keys the statement reads.
	Keys int
}

// FetchStatement writes the read of Keys rows of a table by primary key:
//
//	SELECT <pk cols>, LEFT(<text col>, N) AS <col>, ... FROM `db`.`t` FORCE INDEX (PRIMARY)
//	WHERE `id` IN (?, ?, ...)                          -- one primary key column
//	WHERE (`a`, `b`) IN ((?, ?), (?, ?), ...)          -- a composite primary key
//
// Its arguments are the keys' values, key after key, each in primary key
// column order. The rows come in no particular order. FORCE INDEX keeps
// the read on the primary key whatever the optimizer estimates (without
// it, MariaDB scans a small table when the keys are a large share of its
// rows): its cost is bounded by the number of keys, never by the table.
func FetchStatement(f Fetch) (Statement, error) {
	pk := f.Table.PrimaryKey
	switch {
	case len(pk) == 0:
		return Statement{}, fmt.Errorf("sqlbuild: table %q has no primary key", f.Table.Name)
	case f.Keys <= 0:
		return Statement{}, fmt.Errorf("sqlbuild: a fetch needs at least one key")
	case f.MaxValueChars <= 0:
		return Statement{}, fmt.Errorf("sqlbuild: MaxValueChars must be positive")
	}
	sel, cols, err := selectList(f.Table, f.Columns, f.MaxValueChars)
	if err != nil {
		return Statement{}, err
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(sel, ", "))
	b.WriteString(" FROM ")
	b.WriteString(from(f.Table))
	b.WriteString(" FORCE INDEX (PRIMARY) WHERE ")
	if len(pk) == 1 {
		b.WriteString(Quote(pk[0]))
		b.WriteString(" IN (")
		b.WriteString(placeholders(f.Keys))
		b.WriteString(")")
	} else {
		names := make([]string, len(pk))
		for i, c := range pk {
			names[i] = Quote(c)
		}
		b.WriteString("(" + strings.Join(names, ", ") + ") IN (")
		tuple := "(" + placeholders(len(pk)) + ")"
		for i := range f.Keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
		}
		b.WriteString(")")
	}
	return Statement{SQL: b.String(), Columns: cols, NArgs: f.Keys * len(pk)}, nil
}

// placeholders returns n placeholders separated by commas.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Explain returns EXPLAIN of a SELECT statement.
func Explain(stmt string) string { return "EXPLAIN " + stmt }

// WithTimeLimit limits stmt (a SELECT or EXPLAIN SELECT built here) to d on
// the server, the way kind (schema.TimeLimitMaxStatementTime or
// schema.TimeLimitMaxExecutionTime) says; an unknown kind or d <= 0 leaves
// stmt as it is. Limits are rounded up to the millisecond.
func WithTimeLimit(stmt, kind string, d time.Duration) string {
	if d <= 0 {
		return stmt
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	switch kind {
	case schema.TimeLimitMaxStatementTime:
		return "SET STATEMENT max_statement_time=" + strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64) + " FOR " + stmt
	case schema.TimeLimitMaxExecutionTime:
		i := strings.Index(stmt, "SELECT ")
		if i < 0 {
			return stmt
		}
		i += len("SELECT ")
		return stmt[:i] + "/*+ MAX_EXECUTION_TIME(" + strconv.FormatInt(int64(ms), 10) + ") */ " + stmt[i:]
	}
	return stmt
}

// WithTraceparent prefixes stmt with a sqlcommenter-style comment carrying
// a W3C traceparent, so the server's logs can be joined to the trace. The
// value is checked to be a traceparent (hex digits and dashes only), so it
// can never close the comment.
func WithTraceparent(stmt, traceparent string) string {
	if traceparent == "" || strings.Trim(traceparent, "0123456789abcdef-") != "" {
		return stmt
	}
	return "/*traceparent='" + traceparent + "'*/ " + stmt
}
