package search

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/altus4/altus/pkg/ftquery"
	"github.com/altus4/altus/pkg/validate"
)

// A semantic search runs in one phase on every source: each FULLTEXT index
// returns its first SemanticWindow rows (with their text) for the query in
// natural mode (counted: the total is the number of full-text matches, as
// in natural mode) and in query expansion mode. The lists are fused by
// reciprocal rank fusion into the lexical ranking of the candidates; the
// query and the first SemanticCandidates candidates (their text built only
// from the columns their source's egress policy allows) are embedded in
// one Embed call, ranked by cosine similarity, and the two rankings are
// fused, weighted by the semantic ratio. The counts that the lists could
// not answer run while the embedding is computed.
//
// When the embeddings come from the enhance service's fallback, or the
// service does not answer in time, the stemmed variants of the query
// (OptimizeQuery, started with the search) run as one more natural-mode
// list, fused with the others by reciprocal rank fusion.

// Semantic defaults and bounds.
const (
	// DefaultSemanticRatio weighs the two rankings equally.
	DefaultSemanticRatio = 0.5
	// DefaultSemanticWindow is how many rows each index returns to a
	// semantic search, in each mode.
	DefaultSemanticWindow = 100
	// MaxEmbedTexts is the most texts one Embed call takes.
	MaxEmbedTexts = 256
	// DefaultSemanticCandidates is how many candidates are embedded (with
	// the query, at most MaxEmbedTexts).
	DefaultSemanticCandidates = 200
)

// auxPlan marks a plan whose list is not one of the natural lists that
// count a table's matches (the expansion and variant lists of a semantic
// search); run.aux gives its target.
const auxPlan = -3

// candidate is a row of a semantic search's candidate list.
type candidate struct {
	id   string
	best listRow
	hits []int
	// lexRank and semRank are 1-based ranks; semRank 0: not ranked by
	// embeddings (no text allowed, or beyond the embedded window).
	lexRank, semRank int
	score            float64
}

// semanticScore is the fused score of a candidate: (1-r)/(k+lexRank) +
// r/(k+semRank), the second term 0 when the candidate has no semantic rank.
func semanticScore(r float64, lexRank, semRank int) float64 {
	s := (1 - r) / float64(RRFK+lexRank)
	if semRank > 0 {
		s += r / float64(RRFK+semRank)
	}
	return s
}

// cosine returns the cosine similarity of a and b (0 when either is zero
// or their lengths differ).
func cosine(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// rankSemantic orders the candidates by fused score, best first, ties by
// id, and returns the best score. sims holds the similarity of each
// embedded candidate (by index into cands); the others keep their lexical
// rank only.
func rankSemantic(cands []candidate, sims map[int]float64, ratio float64) {
	order := make([]int, 0, len(sims))
	for i := range sims {
		order = append(order, i)
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(sims[b], sims[a]); c != 0 {
			return c
		}
		return cmp.Compare(cands[a].id, cands[b].id)
	})
	for rank, i := range order {
		cands[i].semRank = rank + 1
	}
	for i := range cands {
		cands[i].score = semanticScore(ratio, cands[i].lexRank, cands[i].semRank)
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
}

// checkSemanticRatio checks the semantic ratio of a request: 0..1, and
// only in semantic mode.
func checkSemanticRatio(c *validate.Collector, r Request) {
	if r.SemanticRatio == nil {
		return
	}
	v := *r.SemanticRatio
	c.Check(!math.IsNaN(v) && v >= 0 && v <= 1, "semanticRatio", codeOutOfRange,
		"semanticRatio must be between 0 (full-text ranking only) and 1 (embedding ranking only), default %g; got %g.", DefaultSemanticRatio, v)
}

// ratioOf returns the request's semantic ratio.
func ratioOf(r Request) float64 {
	if r.SemanticRatio == nil {
		return DefaultSemanticRatio
	}
	return *r.SemanticRatio
}

// semanticPhase writes the semantic search's calls on each source: per
// index a counted natural list of depth window (runs), and in a call of
// its own an expansion list of the same depth (expansions), both with the
// rows' text. Expansion re-searches with the words of the best rows and
// can be far slower than the natural list, so it runs beside it under its
// own, shorter time limit and may be left out.
func semanticPhase(p *prepared, window, scanRows int) (runs, expansions []*run, tables []*tableState) {
	for si, tids := range p.bySource {
		if len(tids) == 0 {
			continue
		}
		r := &run{src: si, phase: 1, req: ExecRequest{SourceID: p.sources[si].ID}, aux: map[int]int{}}
		runs = append(runs, r)
		x := &run{src: si, phase: 1, req: ExecRequest{SourceID: p.sources[si].ID}, aux: map[int]int{}}
		var order []*tableState
		byTable := map[string]*tableState{}
		for _, ti := range tids {
			t := p.targets[ti]
			ts, ok := byTable[t.table.Name]
			if !ok {
				ts = &tableState{src: si, table: t.table, seen: map[string]struct{}{}, depth: window}
				byTable[t.table.Name] = ts
				order = append(order, ts)
			}
			ts.targets = append(ts.targets, ti)
		}
		tables = append(tables, order...)
		expansion := map[bool]ftquery.Compiled{}
		for _, ts := range order {
			ts.counted = len(ts.targets) == 1 || ts.table.EstimatedRows > scanRows || scanRows <= 0
			for _, ti := range ts.targets {
				t := p.targets[ti]
				r.add(planOf(t, window, 0, ts.counted), ti, ts)
				myisam := engineIsMyISAM(t.table.Engine)
				exp, ok := expansion[myisam]
				if !ok {
					exp, _ = p.query.Compile(ftquery.ModeExpansion, p.rulesFor(si, t.table))
					expansion[myisam] = exp
				}
				if exp.Against != "" {
					x.aux[len(x.req.Plans)] = ti
					x.add(Plan{Table: t.table.Name, Index: t.index.Name, Mode: string(exp.Mode), Against: exp.Against, Limit: window}, auxPlan, ts)
				}
			}
		}
		if len(x.req.Plans) > 0 {
			expansions = append(expansions, x)
		}
	}
	return runs, expansions, tables
}

// variantPhase writes a natural-mode list of depth window per index for
// the query's stemmed variants (nil when none compiles).
func variantPhase(p *prepared, variants []string, window int) []*run {
	q := ftquery.Parse(strings.Join(variants, " "))
	var runs []*run
	for si, tids := range p.bySource {
		if len(tids) == 0 {
			continue
		}
		r := &run{src: si, phase: 1, req: ExecRequest{SourceID: p.sources[si].ID}, aux: map[int]int{}}
		memo := map[bool]ftquery.Compiled{}
		for _, ti := range tids {
			t := p.targets[ti]
			myisam := engineIsMyISAM(t.table.Engine)
			c, ok := memo[myisam]
			if !ok {
				c, _ = q.Compile(ftquery.ModeNatural, p.rulesFor(si, t.table))
				memo[myisam] = c
			}
			if c.Against == "" {
				continue
			}
			r.aux[len(r.req.Plans)] = ti
			r.add(Plan{Table: t.table.Name, Index: t.index.Name, Mode: string(c.Mode), Against: c.Against, Limit: window}, auxPlan, nil)
		}
		if len(r.req.Plans) > 0 {
			runs = append(runs, r)
		}
	}
	return runs
}

// expansionsMissing names the sources whose expansion call or list
// failed (most often: it ran out of its time), each once.
func expansionsMissing(p *prepared, runs []*run) []string {
	var out []string
	for _, r := range runs {
		failed := r.err != nil || slices.ContainsFunc(r.resp.Plans, func(pr PlanResult) bool { return pr.ErrorCode != "" })
		if label := sourceLabel(p.sources[r.src]); failed && !slices.Contains(out, label) {
			out = append(out, label)
		}
	}
	return out
}

// auxLists returns the ranked lists of the aux plans of runs, with their
// rows.
func auxLists(p *prepared, runs []*run, tables []*tableState) ([]RankedList, [][]listRow) {
	var lists []RankedList
	var rows [][]listRow
	for _, r := range runs {
		if r.err != nil {
			continue
		}
		src := p.sources[r.src]
		for pi, pr := range r.resp.Plans {
			ti, ok := r.aux[pi]
			if !ok || pr.ErrorCode != "" {
				continue
			}
			ts := r.planTable[pi]
			if ts == nil {
				ts = tableOf(tables, r.src, p.targets[ti].table)
			}
			if ts == nil {
				continue
			}
			keys := make([]RowKey, len(pr.Rows))
			lrs := make([]listRow, len(pr.Rows))
			for i, row := range pr.Rows {
				keys[i] = rowKey(src.ID, ts.table, row)
				lrs[i] = listRow{row: row, columns: pr.Columns, target: ti, table: ts}
			}
			lists = append(lists, RankedList{SourceID: src.ID, Table: ts.table.Name, Rows: keys})
			rows = append(rows, lrs)
		}
	}
	return lists, rows
}

func tableOf(tables []*tableState, src int, t *Table) *tableState {
	for _, ts := range tables {
		if ts.src == src && ts.table == t {
			return ts
		}
	}
	return nil
}

// semanticResult is what the semantic ranking of a search came to.
type semanticResult struct {
	page        []pageRow
	candidates  int
	embedded    int
	cut         bool
	enhancement Enhancement
	fallback    bool
}

// semantic runs a semantic search and fills resp with its page. opt is
// the OptimizeQuery call started with the search (its variants serve the
// fallback).
func (s *Service) semantic(ctx context.Context, prep *prepared, req Request, resp *Response, opt *optimizeCall) (partial bool, err error) {
	if end := req.Offset + req.Limit; end > s.o.MaxWindow {
		return false, windowError(req, s.o.MaxWindow)
	}
	runs, expansions, tables := semanticPhase(prep, s.o.Enhance.SemanticWindow, s.o.CountScanRows)
	// Not tried where it ran out of its time lately.
	var skipped []string
	now := s.o.Now()
	kept := expansions[:0]
	for _, r := range expansions {
		if src := prep.sources[r.src]; s.slowExpansion.slow(src.ID, now) {
			skipped = append(skipped, sourceLabel(src))
		} else {
			kept = append(kept, r)
		}
	}
	expansions = kept
	expanded := make(chan struct{})
	go func() {
		defer close(expanded)
		s.runAll(ctx, expansions, min(s.o.Enhance.ExpansionTimeout, s.o.SourceTimeout))
		s.markSlowExpansion(prep, expansions)
	}()
	s.runAll(ctx, runs, s.o.SourceTimeout)
	<-expanded
	o := collect(prep, runs, tables, req, false)
	if allFailed(o.statuses) {
		return false, &AllSourcesFailedError{Sources: o.statuses}
	}
	exp, expRows := auxLists(prep, expansions, tables)
	if missing := expansionsMissing(prep, expansions); len(missing) > 0 {
		resp.Notices = append(resp.Notices, Notice{Code: NoticeExpansionSkipped, Message: fmt.Sprintf(
			"Query expansion did not answer within %s on %s; the candidates of those databases come from natural-language search only.",
			min(s.o.Enhance.ExpansionTimeout, s.o.SourceTimeout), strings.Join(missing, ", "))})
	}
	if len(skipped) > 0 {
		resp.Notices = append(resp.Notices, Notice{Code: NoticeExpansionSkipped, Message: fmt.Sprintf(
			"Query expansion was not tried on %s: it ran out of time there within the last %s; those candidates come from natural-language search only.",
			strings.Join(skipped, ", "), s.o.ExpansionRetry)})
	}
	lists := append(slices.Clone(o.lists), exp...)
	rows := append(slices.Clone(o.rows), expRows...)
	lexical := Fuse(lists)
	cut := false
	for _, l := range lists {
		cut = cut || len(l.Rows) >= s.o.Enhance.SemanticWindow
	}

	// The counts the lists could not answer run while the candidates are
	// embedded.
	counts := phase2(prep, nil, tables, nil)
	countsDone := make(chan struct{})
	go func() {
		defer close(countsDone)
		s.runAll(ctx, counts, s.o.SourceTimeout)
	}()

	ratio := ratioOf(req)
	cands := make([]candidate, len(lexical))
	for i, f := range lexical {
		hits := make([]int, len(f.Hits))
		for k, h := range f.Hits {
			hits[k] = rows[h.List][h.Pos].target
		}
		cands[i] = candidate{id: f.ID, best: rows[f.Hits[0].List][f.Hits[0].Pos], hits: hits, lexRank: i + 1}
	}
	res := semanticResult{candidates: len(cands), cut: cut}
	var final []candidate
	switch {
	case ratio == 0 || len(cands) == 0:
		final = cands
		for i := range final {
			final[i].score = semanticScore(ratio, final[i].lexRank, 0)
		}
	default:
		sims, enh, ok := s.embedCandidates(ctx, prep, req.Query, cands)
		res.enhancement, res.embedded = enh, len(sims)
		if ok {
			rankSemantic(cands, sims, ratio)
			final = cands
			break
		}
		res.fallback = true
		final = s.variantFallback(ctx, prep, tables, lists, rows, opt, &res.enhancement)
	}
	<-countsDone
	o.read(counts)

	top := 0.0
	if len(final) > 0 {
		top = final[0].score
	}
	for _, c := range Page(final, req.Offset, req.Limit) {
		pr := o.pageRow(c.id, c.best, c.hits)
		pr.relevance = normalised(c.score, top)
		res.page = append(res.page, pr)
	}
	o.finish(res.page, resp)
	if res.enhancement.Capability != "" {
		resp.Enhancements = append(resp.Enhancements, res.enhancement)
	}
	if res.fallback {
		resp.Notices = append(resp.Notices, Notice{Code: NoticeSemanticUnavailable, Message: fmt.Sprintf(
			"Semantic ranking was not available (%s): the results are ranked by full-text relevance, query expansion and the stemmed variants of the query.",
			res.enhancement.Reason)})
	}
	if res.cut && resp.TotalCount > res.candidates && ratio > 0 && !res.fallback {
		resp.Notices = append(resp.Notices, Notice{Code: NoticeSemanticWindow, Message: fmt.Sprintf(
			"The semantic ranking covered the first %d full-text matches of each index in each mode (%d candidates, %d of them ranked by embeddings) of the %d matches; "+
				"pages end with the candidates. Refine the query to rank the others.",
			s.o.Enhance.SemanticWindow, res.candidates, res.embedded, resp.TotalCount)})
	}
	return o.partial, nil
}

// embedCandidates embeds the query and the first SemanticCandidates
// candidates that have text their source allows to leave, in one Embed
// call within the embed budget, and returns the similarity of each
// embedded candidate to the query. ok is false when the embeddings cannot
// be used: the enhance service did not answer in time, answered from its
// fallback, or answered with other than one vector per text.
func (s *Service) embedCandidates(ctx context.Context, prep *prepared, query string, cands []candidate) (map[int]float64, Enhancement, bool) {
	enh := Enhancement{Capability: CapabilitySemantic, Source: EnhancementSkipped, Reason: "unavailable"}
	if s.o.Enhance.Enhancer == nil {
		enh.Reason = "not_configured"
		return nil, enh, false
	}
	texts := []string{query}
	var idx []int
	allowed := map[*tableState][]string{}
	for i := range cands {
		if len(idx) == s.o.Enhance.SemanticCandidates {
			break
		}
		lr := cands[i].best
		cols, ok := allowed[lr.table]
		if !ok {
			cols = allowedColumns(&prep.sources[lr.table.src], lr.table.table)
			allowed[lr.table] = cols
		}
		text := egressText(cols, lr.columns, lr.row)
		if text == "" {
			continue
		}
		texts = append(texts, truncateRunes(text, maxDocumentChars))
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		enh.Reason = "no_text_allowed"
		return nil, enh, false
	}
	bctx, cancel := budget(ctx, s.o.Enhance.EmbedBudget)
	defer cancel()
	start := time.Now()
	emb, err := s.o.Enhance.Enhancer.Embed(bctx, texts)
	enh = enhancementOf(CapabilitySemantic, bctx, emb.Origin, err, time.Since(start))
	s.o.Metrics.observeEnhance(CapabilitySemantic, enh)
	if err != nil {
		return nil, enh, false
	}
	if enh.Source != EnhancedByProvider {
		return nil, enh, false
	}
	if len(emb.Vectors) != len(texts) {
		enh.Source, enh.Reason = EnhancedByFallback, "malformed_output"
		return nil, enh, false
	}
	sims := make(map[int]float64, len(idx))
	for k, i := range idx {
		sims[i] = cosine(emb.Vectors[0], emb.Vectors[k+1])
	}
	return sims, enh, true
}

// variantFallback ranks the candidates without embeddings: the natural
// and expansion lists and a natural-mode list of the query's stemmed
// variants (from OptimizeQuery, when it answered), fused by reciprocal
// rank fusion. enh becomes the semantic capability's fallback.
func (s *Service) variantFallback(ctx context.Context, prep *prepared, tables []*tableState, lists []RankedList, rows [][]listRow, opt *optimizeCall, enh *Enhancement) []candidate {
	reason := enh.Reason
	if enh.Source == EnhancementSkipped && reason == "" {
		reason = "unavailable"
	}
	*enh = Enhancement{Capability: CapabilitySemantic, Source: EnhancedByFallback, Reason: reason, Elapsed: enh.Elapsed}
	if opt != nil {
		if rw, err := opt.wait(); err == nil && len(rw.Variants) > 0 {
			runs := variantPhase(prep, rw.Variants, s.o.Enhance.SemanticWindow)
			s.runAll(ctx, runs, s.o.SourceTimeout)
			vl, vr := auxLists(prep, runs, tables)
			lists = append(lists, vl...)
			rows = append(rows, vr...)
		}
	}
	fused := Fuse(lists)
	out := make([]candidate, len(fused))
	for i, f := range fused {
		hits := make([]int, len(f.Hits))
		for k, h := range f.Hits {
			hits[k] = rows[h.List][h.Pos].target
		}
		out[i] = candidate{id: f.ID, best: rows[f.Hits[0].List][f.Hits[0].Pos], hits: hits, lexRank: i + 1, score: f.Score}
	}
	return out
}
