package search

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/altus4/altus/pkg/ftquery"
)

// Result text bounds.
const (
	SnippetRunes       = 200
	HighlightFragments = 3
	FragmentRunes      = 120
)

// listRow is a row of a ranked list with what is needed to build its result.
type listRow struct {
	row     Row
	columns []string
	target  int
}

// assemble turns the runs into the page, totals and source statuses.
func assemble(p *prepared, runs []*run, req Request, single bool, resp *Response) error {
	statuses := slices.Clone(p.statuses)
	var lists []RankedList
	var listRows [][]listRow
	topScore := 0.0
	for _, r := range runs {
		st := &statuses[r.src]
		st.Elapsed = r.elapsed
		if r.err != nil {
			st.Status, st.ErrorCode, st.Message = failure(r.err)
			continue
		}
		src := p.sources[r.src]
		okPlans, failedPlans := 0, 0
		var firstErr PlanResult
		tableTotal := map[string]int{}
		tableEstimated := map[string]bool{}
		tableSeen := map[string]map[string]bool{}
		for pi, pr := range r.resp.Plans {
			ti := r.planTarget[pi]
			if pr.ErrorCode != "" {
				if ti != topPlan {
					failedPlans++
					if firstErr.ErrorCode == "" {
						firstErr = pr
					}
				}
				continue
			}
			if ti == topPlan {
				if len(pr.Rows) > 0 {
					topScore = pr.Rows[0].Score
				}
				continue
			}
			okPlans++
			t := p.targets[ti]
			keys := make([]RowKey, len(pr.Rows))
			rows := make([]listRow, len(pr.Rows))
			seen := tableSeen[t.table.Name]
			if seen == nil {
				seen = map[string]bool{}
				tableSeen[t.table.Name] = seen
			}
			for i, row := range pr.Rows {
				keys[i] = rowKey(src.ID, t.table, row)
				rows[i] = listRow{row: row, columns: pr.Columns, target: ti}
				seen[keys[i].ID] = true
			}
			lists = append(lists, RankedList{SourceID: src.ID, Table: t.table.Name, Rows: keys})
			listRows = append(listRows, rows)
			if r.req.Plans[pi].Count {
				if pr.Total >= 0 {
					tableTotal[t.table.Name] = pr.Total
					tableEstimated[t.table.Name] = pr.TotalEstimated
				} else {
					tableEstimated[t.table.Name] = true
				}
			}
		}
		for ci, cr := range r.resp.Counts {
			name := r.req.Counts[ci].Table
			if cr.ErrorCode != "" || cr.Total < 0 {
				tableEstimated[name] = true
				continue
			}
			tableTotal[name] = cr.Total
			tableEstimated[name] = tableEstimated[name] || cr.TotalEstimated
		}
		if okPlans == 0 && failedPlans > 0 {
			st.Status, st.ErrorCode, st.Message = StatusFailed, firstErr.ErrorCode, firstErr.ErrorMessage
			if firstErr.ErrorCode == CodeTimeout {
				st.Status = StatusTimeout
			}
			continue
		}
		st.Status = StatusOK
		if failedPlans > 0 {
			st.ErrorCode, st.Message = firstErr.ErrorCode, "Some indexes of this database could not be searched: "+firstErr.ErrorMessage
		}
		count := 0
		for name, seen := range tableSeen {
			n, counted := tableTotal[name]
			if !counted || tableEstimated[name] {
				resp.TotalEstimated = true
				n = max(n, len(seen))
				if single {
					n = max(n, req.Offset+len(seen))
				}
			}
			count += n
		}
		st.RowCount = count
		resp.TotalCount += count
	}
	resp.Sources = statuses
	if allFailed(statuses) {
		return &AllSourcesFailedError{Sources: statuses}
	}

	if single {
		if len(listRows) == 0 {
			return nil
		}
		rows := listRows[0]
		if (req.Offset == 0 || topScore <= 0) && len(rows) > 0 {
			topScore = rows[0].row.Score
		}
		for i, lr := range rows {
			res := p.result(lr, []listRow{lr}, lists[0].Rows[i].ID)
			res.RelevanceScore = normalised(lr.row.Score, topScore)
			resp.Results = append(resp.Results, res)
		}
		return nil
	}
	fused := Fuse(lists)
	for _, f := range Page(fused, req.Offset, req.Limit) {
		hits := make([]listRow, len(f.Hits))
		for i, h := range f.Hits {
			hits[i] = listRows[h.List][h.Pos]
		}
		res := p.result(hits[0], hits, f.ID)
		res.RelevanceScore = f.Relevance
		resp.Results = append(resp.Results, res)
	}
	return nil
}

// normalised returns score/top within 0..1.
func normalised(score, top float64) float64 {
	if top <= 0 || score <= 0 {
		return 0
	}
	return min(score/top, 1)
}

// result builds the result of a row found through hits (best first).
func (p *prepared) result(best listRow, hits []listRow, id string) Result {
	t := p.targets[best.target]
	src := p.sources[t.src]
	res := Result{ID: id, Table: t.table.Name, Database: src.ID, Categories: []string{},
		Data: rowData(t.table, best.columns, best.row)}
	// Columns searched by the indexes that found the row, with the terms
	// compiled for each.
	termsOf := map[string]*ftquery.Matcher{}
	for _, h := range hits {
		ht := p.targets[h.target]
		for _, c := range ht.index.Columns {
			if _, ok := termsOf[c]; !ok {
				termsOf[c] = ht.match
			}
		}
	}
	var firstText string
	for i, name := range best.columns {
		m, searched := termsOf[name]
		if !searched || i >= len(best.row.Values) || (i < len(best.row.Nulls) && best.row.Nulls[i]) {
			continue
		}
		text := best.row.Values[i]
		if firstText == "" && strings.TrimSpace(text) != "" {
			firstText = text
		}
		if !m.Matches(text) {
			continue
		}
		res.MatchedColumns = append(res.MatchedColumns, name)
		if res.Snippet == "" {
			res.Snippet = m.Snippet(text, SnippetRunes)
		}
		if frags := m.Highlight(text, HighlightFragments, FragmentRunes); len(frags) > 0 {
			res.Highlights = append(res.Highlights, Highlight{Column: name, Fragments: frags})
		}
	}
	if res.Snippet == "" && firstText != "" {
		res.Snippet = truncateRunes(strings.Join(strings.Fields(firstText), " "), SnippetRunes)
	}
	if res.MatchedColumns == nil {
		res.MatchedColumns = []string{}
	}
	return res
}

// truncateRunes cuts s to at most n runes, ending with "…" when cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}
