package search

import (
	"slices"
	"strings"
	"unicode/utf8"
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
	table   *tableState
}

// fetchedRow is a row read by a FetchPlan.
type fetchedRow struct {
	row     Row
	columns []string
}

// pageRow is one row of the page being answered.
type pageRow struct {
	id        string
	table     *tableState
	relevance float64
	// key is the row's primary key values exactly as its list returned them.
	key []string
	// best is the row as the list that ranked it highest returned it.
	best listRow
	// hits are the targets of the lists that found the row, best first.
	hits []int
}

// outcome is a search being put together from its calls.
type outcome struct {
	p        *prepared
	req      Request
	single   bool
	statuses []SourceStatus
	tables   []*tableState
	// fetched holds the rows read in phase 2, by table and key.
	fetched map[*tableState]map[string]fetchedRow
	lists   []RankedList
	rows    [][]listRow
	// topScore is the best score of a single-index search.
	topScore float64
	// partial is set when rows of the page could not be read: the page is
	// answered but not cached.
	partial bool
}

// collect reads the answers of phase 1: the source statuses, the ranked
// lists and what each list says of its table's number of matches.
func collect(p *prepared, runs []*run, tables []*tableState, req Request, single bool) *outcome {
	o := &outcome{p: p, req: req, single: single, statuses: slices.Clone(p.statuses), tables: tables,
		fetched: map[*tableState]map[string]fetchedRow{}}
	for _, r := range runs {
		st := &o.statuses[r.src]
		st.Elapsed = r.elapsed
		if r.err != nil {
			st.Status, st.ErrorCode, st.Message = failure(r.err)
			continue
		}
		src := p.sources[r.src]
		okPlans, failedPlans := 0, 0
		var firstErr PlanResult
		for pi, pr := range r.resp.Plans {
			ti := r.planTarget[pi]
			if ti == explainPlan || ti == auxPlan {
				continue
			}
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
					o.topScore = pr.Rows[0].Score
				}
				continue
			}
			okPlans++
			ts := r.planTable[pi]
			keys := make([]RowKey, len(pr.Rows))
			rows := make([]listRow, len(pr.Rows))
			for i, row := range pr.Rows {
				keys[i] = rowKey(src.ID, ts.table, row)
				rows[i] = listRow{row: row, columns: pr.Columns, target: ti, table: ts}
				ts.seen[keys[i].ID] = struct{}{}
			}
			o.lists = append(o.lists, RankedList{SourceID: src.ID, Table: ts.table.Name, Rows: keys})
			o.rows = append(o.rows, rows)
			total := pr.Total
			if !r.req.Plans[pi].Count {
				total = -1
			}
			ts.lists = append(ts.lists, listCount{target: ti, rows: len(pr.Rows), total: total, estimated: pr.TotalEstimated})
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
	}
	if !single {
		for _, ts := range tables {
			ts.countOp = ts.phase2Count()
		}
	}
	return o
}

// phase2Count returns the operator of the count a table needs after phase
// 1, "" when its lists tell its number of matches: a table with one list
// (counted by it), or whose lists all hold every match (their union is
// counted from the ids). Otherwise a table small enough to scan counts the
// rows matching any index (CountAny); a larger one, whose lists were
// counted, with two lists A and B, counts their intersection through the
// indexes (CountAll): the matches are |A| + |B| - |A ∩ B|; with more, the
// rows matching any (a scan, under dbrouter's count budget).
//
// Only the indexes whose lists answered are counted.
func (ts *tableState) phase2Count() string {
	if len(ts.lists) < 2 {
		return ""
	}
	complete := true
	for _, l := range ts.lists {
		complete = complete && l.complete(ts.depth)
	}
	switch {
	case complete:
		return ""
	case ts.counted && len(ts.lists) == 2:
		return CountAll
	}
	return CountAny
}

// page fuses the lists (or, for one index in natural mode, takes its one
// list as the database ordered and paged it) and returns the page's rows.
func (o *outcome) page() []pageRow {
	if o.single {
		if len(o.rows) == 0 {
			return nil
		}
		rows := o.rows[0]
		if (o.req.Offset == 0 || o.topScore <= 0) && len(rows) > 0 {
			o.topScore = rows[0].row.Score
		}
		out := make([]pageRow, len(rows))
		for i, lr := range rows {
			out[i] = o.pageRow(o.lists[0].Rows[i].ID, lr, []int{lr.target})
			out[i].relevance = normalised(lr.row.Score, o.topScore)
		}
		return out
	}
	fused := Page(Fuse(o.lists), o.req.Offset, o.req.Limit)
	out := make([]pageRow, len(fused))
	for i, f := range fused {
		hits := make([]int, len(f.Hits))
		for k, h := range f.Hits {
			hits[k] = o.rows[h.List][h.Pos].target
		}
		out[i] = o.pageRow(f.ID, o.rows[f.Hits[0].List][f.Hits[0].Pos], hits)
		out[i].relevance = f.Relevance
	}
	return out
}

func (o *outcome) pageRow(id string, best listRow, hits []int) pageRow {
	n := min(len(best.table.table.PrimaryKey), len(best.row.Values))
	return pageRow{id: id, table: best.table, key: best.row.Values[:n], best: best, hits: hits}
}

// read takes in the answers of phase 2: the page's rows and the counts.
func (o *outcome) read(runs []*run) {
	for _, r := range runs {
		st := &o.statuses[r.src]
		if r.alongside != nil {
			// Both calls ran at once: the phase took the longer.
			st.Elapsed += max(r.elapsed-r.alongside.elapsed, 0)
		} else {
			st.Elapsed += r.elapsed
		}
		if r.err != nil {
			_, code, msg := failure(r.err)
			o.partial = true
			st.ErrorCode, st.Message = code, "Rows of this database could not be read: "+msg
			for _, ts := range r.countTable {
				ts.count = PlanResult{Total: -1, ErrorCode: code}
			}
			continue
		}
		for fi, fr := range r.resp.Fetches {
			ts := r.fetchTable[fi]
			if fr.ErrorCode != "" {
				o.partial = true
				st.ErrorCode, st.Message = fr.ErrorCode, "Rows of this database could not be read: "+fr.ErrorMessage
				continue
			}
			o.addFetched(ts, fr)
		}
		for ci, cr := range r.resp.Counts {
			r.countTable[ci].count = cr
		}
	}
}

// readPage takes in the page's rows read by the ranking's calls
// (ExecRequest.Page); a row not read there is read in phase 2.
func (o *outcome) readPage(runs []*run) {
	for _, r := range runs {
		if r.err != nil {
			continue
		}
		for _, res := range r.resp.Page {
			if res.ErrorCode != "" {
				continue
			}
			var ts *tableState
			for _, t := range o.tables {
				if t.src == r.src && t.table.Name == res.Table {
					ts = t
				}
			}
			if ts == nil {
				continue
			}
			o.addFetched(ts, res)
		}
	}
}

// addFetched keeps the rows read of table ts, by key.
func (o *outcome) addFetched(ts *tableState, res PlanResult) {
	m := o.fetched[ts]
	if m == nil {
		m = make(map[string]fetchedRow, len(res.Rows))
		o.fetched[ts] = m
	}
	n := len(ts.table.PrimaryKey)
	for _, row := range res.Rows {
		if len(row.Values) >= n {
			m[keyString(row.Values[:n])] = fetchedRow{row: row, columns: res.Columns}
		}
	}
}

// readEarly takes in the counts started with phase 1, for the tables that
// need them (the others' are dropped, failures included). They ran beside
// both phases: the source's time is the longer.
func (o *outcome) readEarly(runs []*run) {
	for _, r := range runs {
		st := &o.statuses[r.src]
		used := false
		for ci, ts := range r.countTable {
			if ts.countOp != CountAll {
				continue
			}
			used = true
			if r.err != nil {
				_, code, msg := failure(r.err)
				o.partial = true
				st.ErrorCode, st.Message = code, "Rows of this database could not be counted: "+msg
				ts.count = PlanResult{Total: -1, ErrorCode: code}
				continue
			}
			ts.count = r.resp.Counts[ci]
		}
		if used {
			st.Elapsed = max(st.Elapsed, r.elapsed)
		}
	}
}

// settle works out the table's number of matches from its lists and count.
func (ts *tableState) settle(single bool, offset int) {
	seen := len(ts.seen)
	switch {
	case len(ts.lists) == 0:
		ts.total, ts.estimated = 0, false
	case single:
		l := ts.lists[0]
		ts.total, ts.estimated = l.total, l.estimated
		if l.total < 0 {
			ts.total, ts.estimated = offset+l.rows, true
		}
		if ts.estimated {
			ts.total = max(ts.total, offset+l.rows)
		}
	case len(ts.lists) == 1:
		n, exact := ts.lists[0].known(ts.depth)
		ts.total, ts.estimated = max(n, seen), !exact
	case ts.countOp == "":
		// Every list holds all its matches: their union is every match.
		ts.total, ts.estimated = seen, false
	default:
		largest, listsExact := 0, true
		var sizes []int
		for _, l := range ts.lists {
			n, exact := l.known(ts.depth)
			sizes = append(sizes, n)
			largest = max(largest, n)
			listsExact = listsExact && exact
		}
		c := ts.count
		counted := c.ErrorCode == "" && c.Total >= 0 && !c.TotalEstimated
		lower := max(largest, seen)
		switch {
		case ts.countOp == CountAll && counted && listsExact:
			ts.total, ts.estimated = max(sizes[0]+sizes[1]-c.Total, lower), false
		case ts.countOp == CountAny && counted:
			ts.total, ts.estimated = max(c.Total, lower), false
		case ts.countOp == CountAny && c.Total > 0:
			ts.total, ts.estimated = max(c.Total, lower), true
		default:
			ts.total, ts.estimated = lower, true
		}
	}
}

// finish writes the totals, the source statuses and the page's results.
func (o *outcome) finish(page []pageRow, resp *Response) {
	o.totals(resp)
	o.results(page, resp)
}

// totals writes the totals and the source statuses.
func (o *outcome) totals(resp *Response) {
	rowCount := make([]int, len(o.statuses))
	for _, ts := range o.tables {
		if o.statuses[ts.src].Status != StatusOK {
			continue
		}
		ts.settle(o.single, o.req.Offset)
		rowCount[ts.src] += ts.total
		resp.TotalEstimated = resp.TotalEstimated || ts.estimated
	}
	for i := range o.statuses {
		if o.statuses[i].Status == StatusOK {
			o.statuses[i].RowCount = rowCount[i]
			resp.TotalCount += rowCount[i]
		}
	}
	resp.Sources = o.statuses
}

// results writes the page's results (its rows must have been read).
func (o *outcome) results(page []pageRow, resp *Response) {
	resp.Results = make([]Result, 0, len(page))
	for _, pr := range page {
		columns, row := pr.best.columns, pr.best.row
		if pr.table.keysOnly {
			if fr, ok := o.fetched[pr.table][keyString(pr.key)]; ok {
				columns, row = fr.columns, fr.row
			} else {
				// Not read (gone since it was ranked, or its source failed):
				// the result shows its key.
				columns, row = pr.table.table.PrimaryKey, Row{Values: pr.key}
			}
		}
		res := o.p.result(pr.best.target, columns, row, pr.hits, pr.id)
		res.RelevanceScore = pr.relevance
		resp.Results = append(resp.Results, res)
	}
}

// normalised returns score/top within 0..1.
func normalised(score, top float64) float64 {
	if top <= 0 || score <= 0 {
		return 0
	}
	return min(score/top, 1)
}

// result builds the result of a row (columns and row as read) of the
// table of target best, found by the indexes of hits (best first).
func (p *prepared) result(best int, columns []string, row Row, hits []int, id string) Result {
	t := p.targets[best]
	src := p.sources[t.src]
	res := Result{ID: id, Table: t.table.Name, Database: src.ID, Categories: []string{}}
	res.Data, res.TruncatedColumns = rowData(t.table, columns, row, p.maxValueChars)
	// The columns searched by the indexes that found the row, each with
	// the matcher of the terms compiled for its index.
	var searched []string
	var matchers []*target
	for _, h := range hits {
		ht := &p.targets[h]
		for _, c := range ht.index.Columns {
			if !slices.Contains(searched, c) {
				searched = append(searched, c)
				matchers = append(matchers, ht)
			}
		}
	}
	var firstText string
	for i, name := range columns {
		k := slices.Index(searched, name)
		if k < 0 || i >= len(row.Values) || (i < len(row.Nulls) && row.Nulls[i]) {
			continue
		}
		text := row.Values[i]
		if firstText == "" && strings.TrimSpace(text) != "" {
			firstText = text
		}
		snippet := SnippetRunes
		if res.Snippet != "" {
			snippet = 0
		}
		e := matchers[k].match.Excerpt(text, snippet, HighlightFragments, FragmentRunes)
		if !e.Matched {
			continue
		}
		res.MatchedColumns = append(res.MatchedColumns, name)
		if res.Snippet == "" {
			res.Snippet = e.Snippet
		}
		if len(e.Highlights) > 0 {
			res.Highlights = append(res.Highlights, Highlight{Column: name, Fragments: e.Highlights})
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
