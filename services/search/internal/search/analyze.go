package search

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/altus4/altus/pkg/identity"
)

// AnalyzeRequest is a query to explain.
type AnalyzeRequest struct {
	Query     string
	Databases []string
	Mode      string
}

// Analysis explains a query: what Altus would run on each source, how long
// it took, and which indexes are missing.
type Analysis struct {
	Query           string
	Recommendations []string
	// Performance is a JSON-like tree: mode, totalTimeMs and, per source,
	// its statements with their EXPLAIN rows and timings.
	Performance  map[string]any
	Optimization []Optimization
}

// analyzeRows is how many rows each analysed statement fetches.
const analyzeRows = 20

// slowStatement is when a statement is called slow in recommendations.
const slowStatement = time.Second

// textTypes are the column types a FULLTEXT index can cover.
var textTypes = map[string]bool{
	"char": true, "varchar": true, "tinytext": true, "text": true, "mediumtext": true, "longtext": true,
}

// Analyze explains a query on the caller's sources: it runs the search of
// the query's first page (limit 20) as Search runs it, phase by phase,
// with the EXPLAIN of every ranking statement, and reports each statement
// dbrouter ran with its exact arguments (the compiled AGAINST text, never
// the user's text spliced in), its time and rows, so that the statements
// can be replayed (the load tool's raw-SQL baseline does). It also
// advises a FULLTEXT index for every text column no index covers.
func (s *Service) Analyze(ctx context.Context, p identity.Principal, req AnalyzeRequest) (*Analysis, error) {
	start := s.o.Now()
	nreq, err := normalize(Request{Query: req.Query, Databases: req.Databases, Mode: req.Mode, Limit: analyzeRows})
	if err != nil {
		return nil, err
	}
	mode := nreq.Mode
	var recs []string
	if mode == ModeSemantic {
		mode = ModeNatural
		recs = append(recs, "Semantic search re-ranks the natural language and query expansion candidates of every index by embeddings: the statements analysed are its natural language part.")
	}
	sources, err := s.o.Sources.Describe(ctx, nreq.Databases)
	if err != nil {
		return nil, err
	}
	a := &Analysis{Query: nreq.Query}
	if len(sources) == 0 {
		a.Recommendations = append(recs, "You have no databases yet: add one with POST /api/v1/databases, then analyse again.")
		a.Performance = map[string]any{"mode": mode, "totalTimeMs": 0.0, "sources": []any{}}
		return a, nil
	}
	prep, err := prepare(sources, nreq, mode)
	if err != nil {
		return nil, err
	}
	for _, n := range prep.notices {
		recs = append(recs, n.Message)
	}
	single := prep.singleIndexNatural()
	statuses := prep.statuses
	byPhase := [3]map[int]*run{{}, {}, {}}
	early := map[int]*run{}
	if len(prep.targets) > 0 {
		ex, _ := s.execute(ctx, prep, nreq, single, true, nil)
		statuses = ex.outcome.statuses
		for _, r := range ex.phase1 {
			byPhase[1][r.src] = r
		}
		for _, r := range ex.early {
			early[r.src] = r
		}
		for _, r := range ex.phase2 {
			byPhase[2][r.src] = r
		}
	}

	var perSource []any
	for si, src := range sources {
		st := statuses[si]
		entry := map[string]any{"id": src.ID, "name": src.Name, "database": src.Database, "status": st.Status}
		r1, r2 := byPhase[1][si], byPhase[2][si]
		switch {
		case r1 == nil:
			entry["errorCode"] = st.ErrorCode
			entry["message"] = st.Message
			entry["statements"] = []any{}
		case r1.err != nil:
			entry["errorCode"], entry["message"] = st.ErrorCode, st.Message
			entry["elapsedMs"] = ms(r1.elapsed)
			entry["statements"] = []any{}
			recs = append(recs, fmt.Sprintf("%s could not be analysed: %s", sourceLabel(src), st.Message))
			if mode == ModeExpansion && st.Status == StatusTimeout {
				recs = append(recs, fmt.Sprintf("A search in expansion mode waits %s for query expansion on %s, then searches every database in natural mode instead (ALTUS_SEARCH_EXPANSION_TIMEOUT).",
					s.o.ExpansionModeTimeout, sourceLabel(src)))
			}
		default:
			if st.ErrorCode != "" {
				entry["errorCode"], entry["message"] = st.ErrorCode, st.Message
			}
			elapsed, queued := r1.elapsed, r1.resp.Queued
			stmts := s.phase1Statements(prep, r1, &recs)
			if e := early[si]; e != nil {
				elapsed = max(elapsed, e.elapsed)
				queued = max(queued, e.resp.Queued)
				stmts = append(stmts, countStatements(e, 1)...)
			}
			if r2 != nil {
				elapsed += r2.elapsed
				queued = max(queued, r2.resp.Queued)
				stmts = append(stmts, phase2Statements(prep, r2)...)
			}
			entry["elapsedMs"] = ms(elapsed)
			entry["queuedMs"] = ms(queued)
			entry["statements"] = stmts
		}
		perSource = append(perSource, entry)
		adv, tableRecs := indexAdvice(src)
		a.Optimization = append(a.Optimization, adv...)
		recs = append(recs, tableRecs...)
	}
	if perSource == nil {
		perSource = []any{}
	}
	a.Recommendations = recs
	if a.Recommendations == nil {
		a.Recommendations = []string{}
	}
	phases := []any{map[string]any{"phase": 1.0, "description": "Every FULLTEXT index searched, the statements of all sources in parallel: " +
		"one index in natural mode returns the page's rows (LIMIT/OFFSET); otherwise each index returns the primary keys and scores it ranks, " +
		"which are fused (reciprocal rank fusion). Beside them, for a large table searched by two indexes, the count of the rows both match " +
		"(the matches are |A| + |B| - |A and B| when either ranked list is cut); it may still run in phase 2. " +
		"While many searches run, it waits for phase 1 instead and runs in phase 2, only when a list was cut."}}
	if !single {
		phases = append(phases, map[string]any{"phase": 2.0, "description": "Once the rankings of phase 1 have answered, in parallel: the page's rows read by primary key, " +
			"and the other counts the ranked lists could not give."})
	}
	a.Performance = map[string]any{"mode": mode, "totalTimeMs": ms(s.o.Now().Sub(start)),
		"limit": float64(nreq.Limit), "offset": 0.0, "rankWindow": float64(s.o.RankWindow), "phases": phases, "sources": perSource}
	return a, nil
}

// phase1Statements describes the ranking statements of one source's first
// call, each with its EXPLAIN (the call's explain plans, which follow its
// plans in the same order).
func (s *Service) phase1Statements(p *prepared, r *run, recs *[]string) []any {
	n := 0
	for _, ti := range r.planTarget {
		if ti != explainPlan {
			n++
		}
	}
	var stmts []any
	for k := range n {
		pl, res := r.req.Plans[k], r.resp.Plans[k]
		ti := r.planTarget[k]
		t := p.targets[r.planTarget[0]]
		if ti >= 0 {
			t = p.targets[ti]
		}
		kind := "search"
		if ti == topPlan {
			kind = "bestScore"
		}
		stmt := map[string]any{
			"phase": 1.0, "kind": kind, "table": pl.Table, "index": pl.Index, "columns": toAny(t.index.Columns), "mode": pl.Mode,
			// The compiled AGAINST argument (what the placeholders
			// receive), never the raw user text.
			"against": pl.Against, "limit": float64(pl.Limit), "offset": float64(pl.Offset),
			"keysOnly": pl.KeysOnly, "counted": pl.Count,
		}
		describe(stmt, res, []any{pl.Against, pl.Against, float64(pl.Limit), float64(pl.Offset)})
		stmt["rows"] = float64(len(res.Rows))
		if res.Total >= 0 {
			stmt["total"] = float64(res.Total)
			stmt["totalEstimated"] = res.TotalEstimated
		}
		if n+k < len(r.resp.Plans) {
			ex := r.resp.Plans[n+k]
			rows := make([]any, len(ex.Explain))
			for i, row := range ex.Explain {
				m := map[string]any{}
				for kk, v := range row {
					m[kk] = v
				}
				rows[i] = m
			}
			stmt["explain"] = rows
			if ex.ErrorCode != "" {
				stmt["explainError"] = ex.ErrorCode + ": " + ex.ErrorMessage
			}
		}
		if res.Elapsed >= slowStatement {
			*recs = append(*recs, fmt.Sprintf("The search of `%s` through index `%s` on %s took %.0f ms; a more specific query (more or rarer words, boolean mode with +required terms) reads fewer rows.",
				pl.Table, pl.Index, sourceLabel(p.sources[r.src]), ms(res.Elapsed)))
		}
		stmts = append(stmts, stmt)
	}
	return stmts
}

// phase2Statements describes the fetches and counts of one source's
// second call.
func phase2Statements(p *prepared, r *run) []any {
	var stmts []any
	for fi, f := range r.req.Fetches {
		res := PlanResult{Total: -1}
		if r.err == nil {
			res = r.resp.Fetches[fi]
		}
		t, _ := p.sources[r.src].table(f.Table)
		var args []any
		for _, key := range f.Keys {
			for i, v := range key {
				args = append(args, keyArg(t, i, v))
			}
		}
		stmt := map[string]any{"phase": 2.0, "kind": "fetch", "table": f.Table, "keys": float64(len(f.Keys))}
		describe(stmt, res, args)
		stmt["rows"] = float64(len(res.Rows))
		stmts = append(stmts, stmt)
	}
	return append(stmts, countStatements(r, 2)...)
}

// countStatements describes the counts of one call of phase 1 or 2.
func countStatements(r *run, phase float64) []any {
	var stmts []any
	for ci, c := range r.req.Counts {
		res := PlanResult{Total: -1}
		if r.err == nil {
			res = r.resp.Counts[ci]
		}
		var indexes, args []any
		for _, m := range c.Matches {
			indexes = append(indexes, m.Index)
			args = append(args, m.Against)
		}
		stmt := map[string]any{"phase": phase, "kind": "count", "op": c.Op, "table": c.Table, "indexes": indexes}
		describe(stmt, res, args)
		if res.Total >= 0 {
			stmt["total"] = float64(res.Total)
			stmt["totalEstimated"] = res.TotalEstimated
		}
		stmts = append(stmts, stmt)
	}
	return stmts
}

// describe adds a statement's text, its arguments (when they are as many
// as its placeholders), time and outcome to stmt.
func describe(stmt map[string]any, res PlanResult, args []any) {
	stmt["statement"] = res.Statement
	if res.Statement != "" && countPlaceholders(res.Statement) == len(args) {
		stmt["args"] = args
	}
	stmt["elapsedMs"] = ms(res.Elapsed)
	if res.ErrorCode != "" {
		stmt["error"] = res.ErrorCode + ": " + res.ErrorMessage
	}
}

// keyArg is the argument dbrouter binds for value v of primary key column
// i of t: integer columns as numbers (as strings past 2^53, which a JSON
// number cannot hold exactly), others as the text plans return.
func keyArg(t *Table, i int, v string) any {
	if i < len(t.PrimaryKey) {
		if c, ok := t.Column(t.PrimaryKey[i]); ok && isIntegerType(c.Type) {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n <= maxSafeInteger && n >= -maxSafeInteger {
				return float64(n)
			}
		}
	}
	return v
}

// countPlaceholders counts the "?" placeholders of a statement, outside
// quoted strings, quoted identifiers and comments.
func countPlaceholders(stmt string) int {
	n := 0
	for i := 0; i < len(stmt); i++ {
		switch c := stmt[i]; {
		case c == '\'' || c == '"' || c == '`':
			for i++; i < len(stmt) && stmt[i] != c; i++ {
				if stmt[i] == '\\' && c != '`' {
					i++
				}
			}
		case c == '/' && i+1 < len(stmt) && stmt[i+1] == '*':
			end := strings.Index(stmt[i+2:], "*/")
			if end < 0 {
				return n
			}
			i += end + 3
		case c == '?':
			n++
		}
	}
	return n
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d.Microseconds())/10) / 100
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func sourceLabel(src Source) string {
	if src.Name != "" {
		return fmt.Sprintf("database %q", src.Name)
	}
	return "database " + src.ID
}

// quoteIdent quotes an identifier from the discovered schema for MySQL.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// indexName is the name advised for a new FULLTEXT index on column (at
// most 64 characters, MySQL's limit).
func indexName(column string) string {
	name := []rune("ft_" + column)
	if len(name) > 64 {
		name = name[:64]
	}
	return string(name)
}

// indexAdvice proposes a FULLTEXT index for every text column of src that
// no FULLTEXT index covers, and names the tables that have none at all
// (they are never searched).
func indexAdvice(src Source) ([]Optimization, []string) {
	if src.ErrorCode != "" {
		return nil, nil
	}
	var out []Optimization
	var recs []string
	for _, t := range src.Tables {
		covered := map[string]bool{}
		for _, ix := range t.Indexes {
			for _, c := range ix.Columns {
				covered[c] = true
			}
		}
		var uncovered []string
		for _, c := range t.Columns {
			if textTypes[strings.ToLower(c.Type)] && !covered[c.Name] && !c.IsFullText {
				uncovered = append(uncovered, c.Name)
			}
		}
		if len(t.Indexes) == 0 {
			rec := fmt.Sprintf("Table `%s` of %s has no FULLTEXT index, so it is never searched.", t.Name, sourceLabel(src))
			if len(uncovered) > 0 {
				rec += " The optimization list has the statement that adds one."
			}
			recs = append(recs, rec)
		}
		for _, col := range uncovered {
			c, _ := t.Column(col)
			impact, short := "medium", ""
			if len(t.Indexes) == 0 {
				impact = "high"
			}
			if c.MaxChars > 0 && c.MaxChars < shortTextChars {
				// A code, a status, a label: seldom what people search for
				// by its words.
				impact = "low"
				short = fmt.Sprintf(" It holds at most %d characters: full-text search pays off on prose, seldom on codes or labels.", c.MaxChars)
			}
			out = append(out, Optimization{
				Type:   "index",
				Impact: impact,
				Description: fmt.Sprintf("Column `%s`.`%s` (%s) of %s is not covered by any FULLTEXT index, so searches never look at it.%s "+
					"Adding the index blocks writes to the table while it is built (InnoDB copies or locks the table for the ALTER): "+
					"run it off-peak, or with an online schema change tool such as pt-online-schema-change or gh-ost.",
					t.Name, col, strings.ToLower(c.Type), sourceLabel(src), short),
				SQLSuggestion: fmt.Sprintf("ALTER TABLE %s.%s ADD FULLTEXT INDEX %s (%s)",
					quoteIdent(src.Database), quoteIdent(t.Name), quoteIdent(indexName(col)), quoteIdent(col)),
			})
		}
	}
	// The most useful first: a table never searched, then prose, then
	// short labels; in schema order within each.
	slices.SortStableFunc(out, func(a, b Optimization) int { return impactRank[a.Impact] - impactRank[b.Impact] })
	return out, recs
}

// shortTextChars bounds the columns whose index advice is of low impact:
// those that hold fewer characters are codes, statuses and labels.
const shortTextChars = 64

var impactRank = map[string]int{"high": 0, "medium": 1, "low": 2}
