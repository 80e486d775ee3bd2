package search

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
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

// Analyze explains a query on the caller's sources. For each source it
// asks dbrouter for the EXPLAIN of every statement the search would run
// (the statement with placeholders, never the user's text spliced in),
// runs them once to time them, and advises a FULLTEXT index for every text
// column no index covers.
func (s *Service) Analyze(ctx context.Context, p identity.Principal, req AnalyzeRequest) (*Analysis, error) {
	start := s.o.Now()
	nreq, err := normalize(Request{Query: req.Query, Databases: req.Databases, Mode: req.Mode})
	if err != nil {
		return nil, err
	}
	mode := nreq.Mode
	var recs []string
	if mode == ModeSemantic {
		mode = ModeNatural
		recs = append(recs, "Semantic search is not available yet: the query is analysed as a natural language full-text search.")
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

	type analysed struct {
		req     ExecRequest
		resp    ExecResponse
		err     error
		elapsed time.Duration
	}
	results := make([]*analysed, len(sources))
	var wg sync.WaitGroup
	for si, tids := range prep.bySource {
		if len(tids) == 0 {
			continue
		}
		an := &analysed{req: ExecRequest{SourceID: sources[si].ID, StatementTimeout: s.o.SourceTimeout}}
		for _, ti := range tids {
			pl := planOf(prep.targets[ti], analyzeRows, 0, false)
			pl.Explain = true
			an.req.Plans = append(an.req.Plans, pl)
		}
		for _, ti := range tids {
			an.req.Plans = append(an.req.Plans, planOf(prep.targets[ti], analyzeRows, 0, true))
		}
		results[si] = an
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, 2*s.o.SourceTimeout)
			defer cancel()
			t0 := time.Now()
			an.resp, an.err = s.call(sctx, an.req)
			an.elapsed = time.Since(t0)
		})
	}
	wg.Wait()

	var perSource []any
	for si, src := range sources {
		st := prep.statuses[si]
		entry := map[string]any{"id": src.ID, "name": src.Name, "database": src.Database}
		an := results[si]
		switch {
		case an == nil:
			entry["status"] = st.Status
			entry["errorCode"] = st.ErrorCode
			entry["message"] = st.Message
			entry["statements"] = []any{}
		case an.err != nil:
			stName, code, msg := failure(an.err)
			entry["status"], entry["errorCode"], entry["message"] = stName, code, msg
			entry["elapsedMs"] = ms(an.elapsed)
			entry["statements"] = []any{}
			recs = append(recs, fmt.Sprintf("%s could not be analysed: %s", sourceLabel(src), msg))
		default:
			entry["status"] = StatusOK
			entry["elapsedMs"] = ms(an.elapsed)
			entry["queuedMs"] = ms(an.resp.Queued)
			n := len(prep.bySource[si])
			var stmts []any
			for k, ti := range prep.bySource[si] {
				t := prep.targets[ti]
				stmt := map[string]any{
					"table": t.table.Name, "index": t.index.Name, "columns": toAny(t.index.Columns),
					"mode": string(t.comp.Mode),
					// The compiled AGAINST argument (what the placeholders
					// receive), never the raw user text.
					"against": t.comp.Against, "limit": float64(analyzeRows),
				}
				if k < len(an.resp.Plans) {
					ex := an.resp.Plans[k]
					stmt["statement"] = ex.Statement
					rows := make([]any, len(ex.Explain))
					for i, r := range ex.Explain {
						m := map[string]any{}
						for kk, v := range r {
							m[kk] = v
						}
						rows[i] = m
					}
					stmt["explain"] = rows
					if ex.ErrorCode != "" {
						stmt["explainError"] = ex.ErrorCode + ": " + ex.ErrorMessage
					}
				}
				if n+k < len(an.resp.Plans) {
					run := an.resp.Plans[n+k]
					if stmt["statement"] == nil || stmt["statement"] == "" {
						stmt["statement"] = run.Statement
					}
					stmt["elapsedMs"] = ms(run.Elapsed)
					stmt["rows"] = float64(len(run.Rows))
					if run.Total >= 0 {
						stmt["total"] = float64(run.Total)
						stmt["totalEstimated"] = run.TotalEstimated
					}
					if run.ErrorCode != "" {
						stmt["error"] = run.ErrorCode + ": " + run.ErrorMessage
					}
					if run.Elapsed >= slowStatement {
						recs = append(recs, fmt.Sprintf("The search of `%s` through index `%s` on %s took %.0f ms; a more specific query (more or rarer words, boolean mode with +required terms) reads fewer rows.",
							t.table.Name, t.index.Name, sourceLabel(src), ms(run.Elapsed)))
					}
				}
				stmts = append(stmts, stmt)
			}
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
	a.Performance = map[string]any{"mode": mode, "totalTimeMs": ms(s.o.Now().Sub(start)), "sources": perSource}
	return a, nil
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
		impact := "medium"
		if len(t.Indexes) == 0 {
			impact = "high"
		}
		for _, col := range uncovered {
			out = append(out, Optimization{
				Type:   "index",
				Impact: impact,
				Description: fmt.Sprintf("Column `%s`.`%s` (%s) of %s is not covered by any FULLTEXT index, so searches never look at it. "+
					"Adding the index blocks writes to the table while it is built (InnoDB copies or locks the table for the ALTER): "+
					"run it off-peak, or with an online schema change tool such as pt-online-schema-change or gh-ost.",
					t.Name, col, strings.ToLower(columnType(t, col)), sourceLabel(src)),
				SQLSuggestion: fmt.Sprintf("ALTER TABLE %s.%s ADD FULLTEXT INDEX %s (%s)",
					quoteIdent(src.Database), quoteIdent(t.Name), quoteIdent(indexName(col)), quoteIdent(col)),
			})
		}
	}
	return out, recs
}

func columnType(t Table, name string) string {
	c, _ := t.Column(name)
	return c.Type
}
