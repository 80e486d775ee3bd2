package search

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// AI egress policies of a source (dbrouter's): what of its rows may be
// sent to the enhance service, and so to the AI provider.
const (
	// EgressFullText allows the columns of the table's FULLTEXT indexes.
	EgressFullText = "fulltext"
	// EgressListed allows the source's AIColumns ("table.column") only.
	EgressListed = "listed"
	// EgressNone allows nothing of the rows.
	EgressNone = "none"
)

// Origin says which path of the enhance service produced an answer.
type Origin struct {
	// Source is EnhancedByProvider or EnhancedByFallback.
	Source string
	// Reason is why the fallback answered ("not_configured",
	// "rate_limited", "circuit_open", "deadline", ...).
	Reason string
	Model  string
}

// ReasonNotConfigured is the fallback reason of an enhance service
// without a provider: its answers will not change when retried.
const ReasonNotConfigured = "not_configured"

// DocField is one named piece of a document's text.
type DocField struct {
	Name string
	Text string
}

// Document is a result as the enhance service sees it: only the fields its
// source's egress policy allows.
type Document struct {
	ID       string
	Database string
	Table    string
	Fields   []DocField
}

// DocumentCategory is one category of a document, with its confidence.
type DocumentCategory struct {
	Name       string
	Confidence float64
}

// Categorization is the categories of documents and their totals.
type Categorization struct {
	// Documents maps a document id to its categories, best first.
	Documents map[string][]DocumentCategory
	// Categories are the totals, most documents first.
	Categories []Category
	Origin     Origin
}

// QueryRewrite is what the enhance service proposes for a query.
type QueryRewrite struct {
	Rewrites []string
	Synonyms []string
	Intent   string
	// Variants are stemmed and expanded variants of the query's terms.
	Variants []string
	Origin   Origin
}

// Embedding is the vectors of texts, all from one model.
type Embedding struct {
	Vectors [][]float32
	Origin  Origin
}

// Suggestions is the enhance service's spelling and semantic suggestions.
type Suggestions struct {
	Suggestions []Suggestion
	Origin      Origin
}

// Enhancer is the enhance service as searches use it. Its errors mean it
// could not be reached or answered too late: a search then goes on without
// the capability.
type Enhancer interface {
	// Embed returns one vector per text, in order.
	Embed(ctx context.Context, texts []string) (Embedding, error)
	// Categorize assigns categories to documents.
	Categorize(ctx context.Context, query string, docs []Document) (Categorization, error)
	// OptimizeQuery proposes rewrites, synonyms and variants of a query.
	OptimizeQuery(ctx context.Context, query string, context []string) (QueryRewrite, error)
	// Suggest proposes queries to try instead of one that found nothing.
	Suggest(ctx context.Context, query string, vocabulary map[string]int, limit int) (Suggestions, error)
}

// Enhancement defaults.
const (
	// DefaultEnhanceBudget bounds the enhancement calls of a search.
	DefaultEnhanceBudget = 300 * time.Millisecond
	// DefaultEmbedBudget bounds the Embed call of a semantic search.
	DefaultEmbedBudget = time.Second
	// DefaultExpansionTimeout bounds a semantic search's query-expansion
	// call on each source.
	DefaultExpansionTimeout = time.Second
	// DefaultFallbackCacheTTL is how long a page whose enhancement came
	// from a fallback (or was skipped) is cached.
	DefaultFallbackCacheTTL = 5 * time.Second
	// maxCategories is how many categories each result gets.
	maxCategories = 3
	// maxEnhancedSuggestions is how many suggestions the enhance service
	// is asked for.
	maxEnhancedSuggestions = 5
	// maxDocumentChars bounds the text of one field sent to categorize.
	maxDocumentChars = 2000
)

// allowedColumns returns the columns of table t of src whose values may
// reach the AI provider under the source's egress policy (nil: none).
func allowedColumns(src *Source, t *Table) []string {
	switch src.AIEgress {
	case EgressNone:
		return nil
	case EgressListed:
		var out []string
		for _, tc := range src.AIColumns {
			table, column, ok := strings.Cut(tc, ".")
			if ok && table == t.Name && !slices.Contains(out, column) {
				out = append(out, column)
			}
		}
		return out
	}
	var out []string
	for _, ix := range t.Indexes {
		for _, c := range ix.Columns {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// egressText joins the non-null values of the allowed columns of a row
// (columns as read), in column order, one per line.
func egressText(allowed, columns []string, row Row) string {
	if len(allowed) == 0 {
		return ""
	}
	var b strings.Builder
	for i, name := range columns {
		if i >= len(row.Values) || (i < len(row.Nulls) && row.Nulls[i]) || !slices.Contains(allowed, name) {
			continue
		}
		v := strings.TrimSpace(row.Values[i])
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(v)
	}
	return b.String()
}

// documentOf returns the document of a result: the values of its data
// allowed by its source's egress policy ("none": a document without fields).
func (p *prepared) documentOf(r Result) Document {
	d := Document{ID: r.ID, Database: r.Database, Table: r.Table}
	for i := range p.sources {
		src := &p.sources[i]
		if src.ID != r.Database {
			continue
		}
		t, ok := src.table(r.Table)
		if !ok {
			break
		}
		allowed := allowedColumns(src, t)
		for _, f := range r.Data {
			text, isText := f.Value.(string)
			if !isText || !slices.Contains(allowed, f.Name) || strings.TrimSpace(text) == "" {
				continue
			}
			d.Fields = append(d.Fields, DocField{Name: f.Name, Text: truncateRunes(text, maxDocumentChars)})
		}
		break
	}
	return d
}

// budget returns a context for enhancement calls: d from now, but never
// past the search's own deadline (less a margin to answer in).
func budget(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl) - 50*time.Millisecond
		d = min(d, max(left, time.Millisecond))
	}
	return context.WithTimeout(ctx, d)
}

// skipReason says why an enhancement call failed, for Enhancement.Reason.
func skipReason(ctx context.Context, err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, ErrEnhanceUnavailable):
		return "unavailable"
	}
	return "error"
}

// ErrEnhanceUnavailable is what an Enhancer's adapter wraps when the
// enhance service cannot be reached.
var ErrEnhanceUnavailable = errors.New("the enhance service is unavailable")

// enhancementOf records how a call answered: from its origin, or skipped.
func enhancementOf(capability string, ctx context.Context, o Origin, err error, elapsed time.Duration) Enhancement {
	if err != nil {
		return Enhancement{Capability: capability, Source: EnhancementSkipped, Reason: skipReason(ctx, err), Elapsed: elapsed}
	}
	src := o.Source
	if src != EnhancedByProvider {
		src = EnhancedByFallback
	}
	return Enhancement{Capability: capability, Source: src, Reason: o.Reason, Elapsed: elapsed}
}

// degraded reports whether an enhancement of the page may answer better
// soon: it was skipped or came from a fallback that a recovered provider
// would replace (not one of an enhance service without a provider).
func degraded(es []Enhancement) bool {
	for _, e := range es {
		if e.Source == EnhancementSkipped || (e.Source == EnhancedByFallback && e.Reason != ReasonNotConfigured) {
			return true
		}
	}
	return false
}

// optimizeCall is an OptimizeQuery call that may have started before it
// is needed: its answer is read with wait.
type optimizeCall struct {
	done    chan struct{}
	rewrite QueryRewrite
	err     error
	elapsed time.Duration
	ctx     context.Context
}

// startOptimize calls OptimizeQuery in the background within the enhance
// budget (nil without an Enhancer).
func (s *Service) startOptimize(ctx context.Context, query string, prep *prepared, d time.Duration) *optimizeCall {
	if s.o.Enhance.Enhancer == nil {
		return nil
	}
	c := &optimizeCall{done: make(chan struct{})}
	var names []string
	if prep != nil {
		for _, t := range prep.targets {
			names = append(names, t.table.Name+"("+strings.Join(t.index.Columns, ",")+")")
			if len(names) == 20 {
				break
			}
		}
	}
	go func() {
		defer close(c.done)
		bctx, cancel := budget(ctx, d)
		defer cancel()
		start := time.Now()
		c.rewrite, c.err = s.o.Enhance.Enhancer.OptimizeQuery(bctx, query, names)
		c.elapsed = time.Since(start)
		c.ctx = bctx
		s.o.Metrics.observeEnhance(CapabilityQueryOptimization, enhancementOf(CapabilityQueryOptimization, bctx, c.rewrite.Origin, c.err, c.elapsed))
	}()
	return c
}

// wait returns the call's answer.
func (c *optimizeCall) wait() (QueryRewrite, error) {
	<-c.done
	return c.rewrite, c.err
}

// categorizeCall is a Categorize call on a page's results, started as
// soon as they are built: its answer is read with wait.
type categorizeCall struct {
	done   chan struct{}
	cancel context.CancelFunc
	cats   Categorization
	err    error
	e      Enhancement
}

// startCategorize calls Categorize on results in the background within the
// enhance budget (nil without an Enhancer or results). The documents are
// taken from results before it returns.
func (s *Service) startCategorize(ctx context.Context, p *prepared, query string, results []Result) *categorizeCall {
	if s.o.Enhance.Enhancer == nil || len(results) == 0 {
		return nil
	}
	docs := make([]Document, len(results))
	for i, r := range results {
		docs[i] = p.documentOf(r)
	}
	bctx, cancel := budget(ctx, s.o.Enhance.Budget)
	c := &categorizeCall{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(c.done)
		start := time.Now()
		c.cats, c.err = s.o.Enhance.Enhancer.Categorize(bctx, query, docs)
		c.e = enhancementOf(CapabilityCategories, bctx, c.cats.Origin, c.err, time.Since(start))
	}()
	return c
}

// wait returns once the call has answered.
func (c *categorizeCall) wait() {
	<-c.done
	c.cancel()
}

// enhance adds the AI enhancements to an assembled page, concurrently and
// within the enhance budget: the categories of its results (cat, when
// already asked for), the query's optimizations (with IncludeAnalytics),
// and suggestions when nothing matched (merged with the did-you-mean
// corrections). A capability that fails or runs out of time is reported
// skipped; the page is answered all the same.
func (s *Service) enhance(ctx context.Context, p *prepared, req Request, resp *Response, opt *optimizeCall, cat *categorizeCall, didYouMean func() ([]Suggestion, map[string]int)) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	add := func(e Enhancement) {
		mu.Lock()
		resp.Enhancements = append(resp.Enhancements, e)
		mu.Unlock()
		s.o.Metrics.observeEnhance(e.Capability, e)
	}
	var spelling []Suggestion
	var known map[string]int // the words the spelling knew
	spelled := make(chan struct{})
	empty := len(resp.Results) == 0 && resp.TotalCount == 0
	if empty && didYouMean != nil {
		wg.Go(func() {
			defer close(spelled)
			spelling, known = didYouMean()
		})
	} else {
		close(spelled)
	}
	if s.o.Enhance.Enhancer == nil {
		wg.Wait()
		resp.Suggestions = mergeSuggestions(spelling, nil)
		return
	}
	bctx, cancel := budget(ctx, s.o.Enhance.Budget)
	defer cancel()
	var cats Categorization
	var catErr error
	if cat == nil {
		cat = s.startCategorize(ctx, p, req.Query, resp.Results)
	}
	if cat != nil {
		wg.Go(func() {
			cat.wait()
			cats, catErr = cat.cats, cat.err
			add(cat.e)
		})
	}
	var rewrite QueryRewrite
	var rewriteErr error
	if req.IncludeAnalytics {
		wg.Go(func() {
			if opt == nil {
				opt = s.startOptimize(bctx, req.Query, p, s.o.Enhance.Budget)
			}
			rewrite, rewriteErr = opt.wait()
			e := enhancementOf(CapabilityQueryOptimization, opt.ctx, rewrite.Origin, rewriteErr, opt.elapsed)
			mu.Lock()
			resp.Enhancements = append(resp.Enhancements, e)
			mu.Unlock()
		})
	}
	var sugs Suggestions
	var sugErr error
	if empty {
		wg.Go(func() {
			// With the indexed words near the query's, so that what it
			// suggests is written as the data is (its local fallback
			// proposes only words of that text).
			<-spelled
			start := time.Now()
			sugs, sugErr = s.o.Enhance.Enhancer.Suggest(bctx, req.Query, topWords(known, maxSuggestVocabulary), maxEnhancedSuggestions)
			add(enhancementOf(CapabilitySuggestions, bctx, sugs.Origin, sugErr, time.Since(start)))
		})
	}
	wg.Wait()
	slices.SortFunc(resp.Enhancements, func(a, b Enhancement) int { return strings.Compare(a.Capability, b.Capability) })
	if catErr == nil && len(resp.Results) > 0 {
		resp.Categories = cats.Categories
		for i := range resp.Results {
			for _, c := range cats.Documents[resp.Results[i].ID] {
				resp.Results[i].Categories = append(resp.Results[i].Categories, c.Name)
			}
		}
	}
	if req.IncludeAnalytics && rewriteErr == nil {
		resp.QueryOptimization = append(resp.QueryOptimization, optimizations(rewrite)...)
	}
	var enhanced []Suggestion
	if empty && sugErr == nil {
		enhanced = sugs.Suggestions
	}
	resp.Suggestions = mergeSuggestions(spelling, enhanced)
}

// optimizations turns the enhance service's rewrites into v1 query
// optimizations.
func optimizations(r QueryRewrite) []Optimization {
	var out []Optimization
	for _, rw := range r.Rewrites {
		out = append(out, Optimization{Type: "rewrite", Impact: "medium", Description: fmt.Sprintf("Try the query %q.", rw)})
	}
	if len(r.Synonyms) > 0 {
		out = append(out, Optimization{Type: "synonyms", Impact: "low",
			Description: "Terms meaning the same as the query's: " + strings.Join(r.Synonyms, ", ") + "."})
	}
	if r.Intent != "" {
		out = append(out, Optimization{Type: "intent", Impact: "low", Description: "The query reads as " + r.Intent + "."})
	}
	return out
}

// mergeSuggestions puts the did-you-mean corrections first, then the
// enhance service's suggestions, each text once (case-insensitively).
func mergeSuggestions(lists ...[]Suggestion) []Suggestion {
	var out []Suggestion
	seen := map[string]bool{}
	for _, l := range lists {
		for _, s := range l {
			k := strings.ToLower(strings.TrimSpace(s.Text))
			if k == "" || seen[k] {
				continue
			}
			seen[k] = true
			if s.Type != SuggestSpelling && s.Type != SuggestPopular {
				s.Type = SuggestSemantic
			}
			out = append(out, s)
		}
	}
	return out
}
