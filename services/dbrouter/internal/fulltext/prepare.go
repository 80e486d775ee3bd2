package fulltext

import (
	"fmt"
	"strings"

	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
	"github.com/altus4/altus/services/dbrouter/internal/sqlbuild"
)

// Violation codes of plan fields.
const (
	CodeRequired   = "REQUIRED"
	CodeNotFound   = "NOT_FOUND"
	CodeInvalid    = "INVALID"
	CodeOutOfRange = "OUT_OF_RANGE"
	CodeTooLong    = "TOO_LONG"
	CodeTooMany    = "TOO_MANY"
)

// job is one validated plan, count or fetch with its statements.
type job struct {
	table   schema.Table
	limit   int
	offset  int
	explain bool
	// pk are the kinds of the primary key columns, which come first in the
	// returned columns.
	pk []keyKind
	// search is the plain statement (for a count: the count statement);
	// args are its arguments.
	search sqlbuild.Statement
	args   []any
	// count is set when the plan asks for a total: withTotal is the search
	// statement with COUNT(*) OVER () (args as search), and countOnly the
	// separate COUNT(*) (countArgs).
	count     bool
	withTotal sqlbuild.Statement
	countOnly sqlbuild.Statement
	countArgs []any
	// isCount marks a CountPlan: search is a COUNT(*) statement.
	isCount bool
	// isFetch marks a Fetch: search reads rows by primary key, args are
	// the keys' values.
	isFetch bool
}

// prepare validates every plan, count and fetch of req against sc and
// builds their statements; any problem is reported in one *validate.Error
// naming the fields (in the request's JSON names), and nothing is run.
func (e *Executor) prepare(sc schema.Schema, req Request) ([]job, error) {
	var c validate.Collector
	if len(req.Plans)+len(req.Counts)+len(req.Fetches) == 0 {
		c.Add("plans", CodeRequired, "Send at least one plan, count or fetch.")
	}
	if len(req.Plans) > MaxPlans {
		c.Add("plans", CodeTooMany, "Send at most %d plans per call.", MaxPlans)
	}
	if len(req.Counts) > MaxPlans {
		c.Add("counts", CodeTooMany, "Send at most %d counts per call.", MaxPlans)
	}
	if len(req.Fetches) > MaxPlans {
		c.Add("fetches", CodeTooMany, "Send at most %d fetches per call.", MaxPlans)
	}
	if req.StatementTimeout < 0 {
		c.Add("statementTimeoutMs", CodeOutOfRange, "The statement timeout must be positive, or 0 for the default.")
	}
	if pg := req.Page; pg != nil {
		if pg.Limit < 1 || pg.Limit > MaxLimit {
			c.Add("page.limit", CodeOutOfRange, "The page's limit must be 1..%d.", MaxLimit)
		}
		if pg.Offset < 0 || pg.Offset > MaxOffset {
			c.Add("page.offset", CodeOutOfRange, "The page's offset must be 0..%d.", MaxOffset)
		}
		if pg.K < 1 {
			c.Add("page.rrfK", CodeOutOfRange, "The fusion's k must be 1 or more (60 is usual).")
		}
		if len(req.Plans) == 0 {
			c.Add("page", CodeInvalid, "A page is read from the plans' ranking: send the plans with it.")
		}
		for i, p := range req.Plans {
			if !p.KeysOnly || p.Explain {
				c.Add(fmt.Sprintf("plans[%d].keysOnly", i), CodeInvalid, "With a page, every plan ranks keys only (keysOnly, no explain).")
			}
		}
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	jobs := make([]job, 0, len(req.Plans)+len(req.Counts)+len(req.Fetches))
	for i, p := range req.Plans {
		field := fmt.Sprintf("plans[%d]", i)
		t, ix, ok := e.checkMatch(&c, sc, field, p)
		checkPage(&c, field, p)
		if p.Unordered && (p.Offset != 0 || p.Count || p.KeysOnly || p.Explain || req.Page != nil) {
			c.Add(field+".unordered", CodeInvalid, "An unordered plan returns the first rows found: it takes no offset, count, keysOnly, explain or page.")
		}
		var cols []string
		colsOK := t.Name != ""
		if p.KeysOnly {
			if colsOK && len(t.PrimaryKey) == 0 {
				c.Add(field+".keysOnly", CodeInvalid, "Table %q has no primary key, so its rows cannot be ranked by key; search it without keysOnly.", t.Name)
				colsOK = false
			}
		} else {
			cols, colsOK = checkColumns(&c, field, t, colsOK, p.Columns)
		}
		if !ok || !colsOK || c.Has(field+".limit") || c.Has(field+".offset") {
			continue
		}
		s := sqlbuild.Search{Table: t, Index: ix, Columns: cols, Mode: p.Mode, MaxValueChars: e.maxValueChars, Unordered: p.Unordered}
		stmt, err := sqlbuild.SearchStatement(s)
		if err != nil {
			c.Add(field, CodeInvalid, "This plan cannot be built: %v.", err)
			continue
		}
		j := job{table: t, limit: p.Limit, offset: p.Offset, explain: p.Explain, pk: pkKinds(t), search: stmt,
			args: []any{p.Against, p.Against, p.Limit, p.Offset}, count: p.Count && !p.Explain}
		if j.count {
			s.WithTotal = true
			if j.withTotal, err = sqlbuild.SearchStatement(s); err == nil {
				j.countOnly, err = sqlbuild.CountStatement(t, []sqlbuild.Match{{Index: ix, Mode: p.Mode}}, sqlbuild.CountAny)
			}
			if err != nil {
				c.Add(field, CodeInvalid, "This plan cannot be counted: %v.", err)
				continue
			}
			j.countArgs = []any{p.Against}
		}
		jobs = append(jobs, j)
	}
	for i, cp := range req.Counts {
		field := fmt.Sprintf("counts[%d]", i)
		t, ok := sc.Table(cp.Table)
		switch {
		case cp.Table == "":
			c.Add(field+".table", CodeRequired, "Name the table to count.")
		case !ok:
			c.Add(field+".table", CodeNotFound, "The database has no table %q; describe the source to see its tables.", cp.Table)
		}
		if len(cp.Matches) == 0 {
			c.Add(field+".matches", CodeRequired, "Give at least one index to count matches of.")
		}
		op := cp.Op
		if op == "" {
			op = sqlbuild.CountAny
		}
		_, opOK := op.Operator()
		if !opOK {
			c.Add(field+".op", CodeInvalid, "The op must be any (rows matching any match) or all (rows matching every match).")
		}
		var matches []sqlbuild.Match
		var args []any
		valid := ok && opOK
		for k, m := range cp.Matches {
			mfield := fmt.Sprintf("%s.matches[%d]", field, k)
			if m.Table != "" && m.Table != cp.Table {
				c.Add(mfield+".table", CodeInvalid, "Every match of a count must be on the count's table %q.", cp.Table)
				valid = false
				continue
			}
			m.Table = cp.Table
			_, ix, mok := e.checkMatch(&c, sc, mfield, m)
			if !mok {
				valid = false
				continue
			}
			matches = append(matches, sqlbuild.Match{Index: ix, Mode: m.Mode})
			args = append(args, m.Against)
		}
		if !valid || len(matches) == 0 {
			continue
		}
		stmt, err := sqlbuild.CountStatement(t, matches, op)
		if err != nil {
			c.Add(field, CodeInvalid, "This count cannot be built: %v.", err)
			continue
		}
		jobs = append(jobs, job{table: t, search: stmt, args: args, isCount: true})
	}
	for i, f := range req.Fetches {
		if j, ok := e.prepareFetch(&c, sc, fmt.Sprintf("fetches[%d]", i), f); ok {
			jobs = append(jobs, j)
		}
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	return jobs, nil
}

// prepareFetch validates fetch f (field is its name in the request) and
// builds its statement and arguments.
func (e *Executor) prepareFetch(c *validate.Collector, sc schema.Schema, field string, f Fetch) (job, bool) {
	t, ok := sc.Table(f.Table)
	switch {
	case f.Table == "":
		c.Add(field+".table", CodeRequired, "Name the table to fetch rows of.")
	case !ok:
		c.Add(field+".table", CodeNotFound, "The database has no table %q; describe the source to see its tables.", f.Table)
	case len(t.PrimaryKey) == 0:
		c.Add(field+".table", CodeInvalid, "Table %q has no primary key, so its rows cannot be fetched by key; search it with plans that return its columns.", f.Table)
		ok = false
	}
	switch {
	case len(f.Keys) == 0:
		c.Add(field+".keys", CodeRequired, "Give the primary keys of the rows to fetch.")
	case len(f.Keys) > MaxKeys:
		c.Add(field+".keys", CodeTooMany, "Fetch at most %d rows per fetch.", MaxKeys)
	}
	cols, colsOK := checkColumns(c, field, t, ok, f.Columns)
	if !ok || !colsOK || c.Has(field+".keys") {
		return job{}, false
	}
	kinds := pkKinds(t)
	args := make([]any, 0, len(f.Keys)*len(kinds))
	valid := true
	for k, key := range f.Keys {
		kfield := fmt.Sprintf("%s.keys[%d].values", field, k)
		if len(key) != len(kinds) {
			c.Add(kfield, CodeInvalid, "A key of table %q has %d values, one per primary key column (%s), in that order.",
				t.Name, len(kinds), strings.Join(t.PrimaryKey, ", "))
			valid = false
			continue
		}
		for n, v := range key {
			if len(v) > MaxKeyValueBytes {
				c.Add(fmt.Sprintf("%s[%d]", kfield, n), CodeTooLong, "A key value must be at most %d bytes.", MaxKeyValueBytes)
				valid = false
				continue
			}
			a, err := kinds[n].decode(v)
			if err != nil {
				c.Add(fmt.Sprintf("%s[%d]", kfield, n), CodeInvalid, "Column %q of table %q takes %v.", t.PrimaryKey[n], t.Name, err)
				valid = false
				continue
			}
			args = append(args, a)
		}
	}
	if !valid {
		return job{}, false
	}
	stmt, err := sqlbuild.FetchStatement(sqlbuild.Fetch{Table: t, Columns: cols, MaxValueChars: e.maxValueChars, Keys: len(f.Keys)})
	if err != nil {
		c.Add(field, CodeInvalid, "This fetch cannot be built: %v.", err)
		return job{}, false
	}
	return job{table: t, pk: kinds, search: stmt, args: args, isFetch: true}, true
}

// checkMatch checks the table, index, mode and AGAINST text of p (field is
// its name in the request) and returns the table and index when they exist.
func (e *Executor) checkMatch(c *validate.Collector, sc schema.Schema, field string, p Plan) (schema.Table, schema.FullTextIndex, bool) {
	if _, ok := p.Mode.Clause(); !ok {
		c.Add(field+".mode", CodeInvalid, "The mode must be natural, boolean or expansion.")
	}
	switch {
	case p.Against == "":
		c.Add(field+".against", CodeRequired, "Give the text to search for.")
	case len(p.Against) > MaxAgainstBytes:
		c.Add(field+".against", CodeTooLong, "The search text must be at most %d bytes.", MaxAgainstBytes)
	}
	if p.Table == "" {
		c.Add(field+".table", CodeRequired, "Name the table to search.")
		return schema.Table{}, schema.FullTextIndex{}, false
	}
	t, ok := sc.Table(p.Table)
	if !ok {
		c.Add(field+".table", CodeNotFound, "The database has no table %q; describe the source to see its tables.", p.Table)
		return schema.Table{}, schema.FullTextIndex{}, false
	}
	if p.Index == "" {
		c.Add(field+".index", CodeRequired, "Name the FULLTEXT index to search.")
		return t, schema.FullTextIndex{}, false
	}
	for _, ix := range t.FullTextIndexes {
		if ix.Name == p.Index {
			_, modeOK := p.Mode.Clause()
			return t, ix, modeOK && !c.Has(field+".against")
		}
	}
	names := make([]string, len(t.FullTextIndexes))
	for i, ix := range t.FullTextIndexes {
		names[i] = ix.Name
	}
	if len(names) == 0 {
		c.Add(field+".index", CodeNotFound, "Table %q has no FULLTEXT index, so it cannot be searched.", p.Table)
	} else {
		c.Add(field+".index", CodeNotFound, "Table %q has no FULLTEXT index %q; its FULLTEXT indexes are: %s.", p.Table, p.Index, strings.Join(names, ", "))
	}
	return t, schema.FullTextIndex{}, false
}

func checkPage(c *validate.Collector, field string, p Plan) {
	if p.Limit < 1 || p.Limit > MaxLimit {
		c.Add(field+".limit", CodeOutOfRange, "The limit must be between 1 and %d.", MaxLimit)
	}
	if p.Offset < 0 || p.Offset > MaxOffset {
		c.Add(field+".offset", CodeOutOfRange, "The offset must be between 0 and %d.", MaxOffset)
	}
}

// checkColumns returns the columns to return: the named ones (each must
// exist), or every searchable column of t when none is named.
func checkColumns(c *validate.Collector, field string, t schema.Table, tableOK bool, names []string) ([]string, bool) {
	if !tableOK {
		return nil, false
	}
	if len(names) == 0 {
		var cols []string
		for _, col := range t.Columns {
			if col.IsSearchable {
				cols = append(cols, col.Name)
			}
		}
		return cols, true
	}
	ok := true
	for i, name := range names {
		if _, found := t.Column(name); !found {
			c.Add(fmt.Sprintf("%s.columns[%d]", field, i), CodeNotFound, "Table %q has no column %q.", t.Name, name)
			ok = false
		}
	}
	return names, ok
}
