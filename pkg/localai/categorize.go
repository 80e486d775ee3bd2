// Package localai is the local method of the enhance service's Categorize:
// the categories it answers with when no AI provider is configured (origin
// fallback, reason not_configured), and the text tools it is built on
// (words, stopwords, Snowball stems), which the enhance service's other
// local fallbacks share. It is a pure function of the request.
//
// It is shared so that the search service can run it in-process: a
// Categorize call to an enhance service without a provider costs a
// search a network hop for an answer this package computes in a fraction
// of that time (Client).
package localai

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"
)

// Origin of a local answer, as the enhance service reports it.
const (
	// SourceFallback is the origin source of a local answer.
	SourceFallback = "fallback"
	// ReasonNotConfigured is the fallback reason of an enhance service
	// without a provider: it answers with this package every time.
	ReasonNotConfigured = "not_configured"
)

// Field is one named piece of a document's text.
type Field struct {
	Name, Text string
}

// Document is a piece of text to enhance. Only Fields reach a provider.
type Document struct {
	ID, Database, Table string
	Fields              []Field
}

// CategorizeRequest asks for categories of documents.
type CategorizeRequest struct {
	Documents []Document
	Query     string
	// MaxCategories bounds each document's categories
	// (0: DefaultMaxCategories; at most 10).
	MaxCategories int
}

// DefaultMaxCategories is how many categories a document gets when a
// request does not say.
const DefaultMaxCategories = 3

// WithDefaults is r with the default of what it leaves unset.
func (r CategorizeRequest) WithDefaults() CategorizeRequest {
	if r.MaxCategories == 0 {
		r.MaxCategories = DefaultMaxCategories
	}
	return r
}

// Category is a category with its confidence (0..1).
type Category struct {
	Name       string
	Confidence float64
}

// DocumentCategories are one document's categories, most confident first.
type DocumentCategories struct {
	ID         string
	Categories []Category
}

// CategoryCount is a category over all documents.
type CategoryCount struct {
	Name       string
	Count      int
	Confidence float64
}

// TopCategories merges duplicates (keeping the highest confidence), sorts
// by confidence and keeps n.
func TopCategories(cats []Category, n int) []Category {
	out := append(make([]Category, 0, len(cats)), cats...)
	// By name, most confident first: the first of each name is kept.
	slices.SortFunc(out, func(a, b Category) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(b.Confidence, a.Confidence))
	})
	out = slices.CompactFunc(out, func(a, b Category) bool { return a.Name == b.Name })
	slices.SortFunc(out, func(a, b Category) int {
		return cmp.Or(cmp.Compare(b.Confidence, a.Confidence), strings.Compare(a.Name, b.Name))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Aggregate counts documents per category with their mean confidence,
// most documents first.
func Aggregate(docs []DocumentCategories) []CategoryCount {
	idx := map[string]int{}
	out := []CategoryCount{}
	for _, d := range docs {
		for _, c := range d.Categories {
			i, ok := idx[c.Name]
			if !ok {
				i = len(out)
				idx[c.Name] = i
				out = append(out, CategoryCount{Name: c.Name})
			}
			out[i].Count++
			out[i].Confidence += c.Confidence
		}
	}
	for i := range out {
		out[i].Confidence = round3(out[i].Confidence / float64(out[i].Count))
	}
	slices.SortStableFunc(out, func(a, b CategoryCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(b.Confidence, a.Confidence), strings.Compare(a.Name, b.Name))
	})
	return out
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// categoryColumns are column names whose values are categories already.
var categoryColumns = []string{"category", "categories", "type", "kind", "genre", "tag", "tags", "topic", "topics", "section", "department", "brand", "class", "group", "label", "labels"}

// Categorize is the local method: every document's categories (at most
// r.MaxCategories, see WithDefaults), found in the documents' structure
// and their terms:
//   - the value of a category-like column (category, type, genre, tags,
//     ...) is the data's own category: confidence 0.95;
//   - the table a document came from is certain but coarse: 0.9 when the
//     documents come from several tables, else 0.5 (it tells them apart
//     from nothing);
//   - the most distinctive terms shared by several documents (TF-IDF over
//     the documents, query terms excluded): confidence is the share of
//     documents holding the term times the term's weight in this document
//     relative to the strongest, at most 0.8.
//
// A term is a stem, named by its most frequent word (the first in order on
// a tie).
func Categorize(r CategorizeRequest) []DocumentCategories {
	r = r.WithDefaults()
	n := len(r.Documents)
	ix := newTermIndex(r.Query)
	defer ix.release()
	ix.read(r.Documents)
	minDF := int32(2)
	if n == 1 {
		minDF = 1
	}
	// shared reports whether a term tells documents apart: held by
	// several (any, for a single document), and not by all of three or more.
	shared := func(t int32) bool {
		df := ix.df[t]
		return df >= minDF && (n < 3 || df < int32(n))
	}
	idf := make([]float64, len(ix.df))
	for t, df := range ix.df {
		idf[t] = math.Log(1 + float64(n)/float64(df))
	}
	// tfWeight[tf] is 1+log(tf), for the few frequencies a page has.
	var tfWeight []float64
	weight := func(p posting) float64 {
		for int(p.tf) >= len(tfWeight) {
			tfWeight = append(tfWeight, 1+math.Log(float64(len(tfWeight))))
		}
		return tfWeight[p.tf] * idf[p.term]
	}
	var maxW float64
	for _, p := range ix.postings {
		if shared(p.term) {
			maxW = max(maxW, weight(p))
		}
	}
	names := ix.name
	severalTables := slices.ContainsFunc(r.Documents, func(d Document) bool { return d.Table != r.Documents[0].Table })
	out := make([]DocumentCategories, n)
	var cats, terms []Category // of the document at hand
	for i, d := range r.Documents {
		cats = cats[:0]
		for _, f := range d.Fields {
			if isCategoryColumn(f.Name) {
				for _, v := range strings.Split(f.Text, ",") {
					if v = strings.ToLower(strings.TrimSpace(v)); v != "" && len([]rune(v)) <= 64 {
						cats = append(cats, Category{Name: v, Confidence: 0.95})
					}
				}
			}
		}
		if d.Table != "" {
			c := 0.5
			if severalTables {
				c = 0.9
			}
			cats = append(cats, Category{Name: strings.ToLower(d.Table), Confidence: c})
		}
		// Terms are named apart, so only the MaxCategories best can be
		// among the document's best categories.
		terms = terms[:0]
		for _, p := range ix.postings[ix.start[i]:ix.start[i+1]] {
			if !shared(p.term) || maxW == 0 {
				continue
			}
			conf := 0.8 * float64(ix.df[p.term]) / float64(n) * weight(p) / maxW
			if len(terms) == r.MaxCategories && conf+0.0005 < terms[len(terms)-1].Confidence {
				continue // rounded, still below the last kept: not kept
			}
			terms = keepBest(terms, Category{Name: names[p.term], Confidence: round3(conf)}, r.MaxCategories)
		}
		cats = append(cats, terms...)
		out[i] = DocumentCategories{ID: d.ID, Categories: TopCategories(cats, r.MaxCategories)}
	}
	return out
}

// keepBest adds c to best, the at most n best categories, most confident
// first (by name on a tie), of distinct names.
func keepBest(best []Category, c Category, n int) []Category {
	i := len(best)
	for i > 0 && better(c, best[i-1]) {
		i--
	}
	if i >= n {
		return best
	}
	if len(best) < n {
		best = append(best, Category{})
	}
	copy(best[i+1:], best[i:])
	best[i] = c
	return best
}

// better reports whether a ranks before b: more confident, or as confident
// with a name first in order.
func better(a, b Category) bool {
	return a.Confidence > b.Confidence || (a.Confidence == b.Confidence && a.Name < b.Name)
}

// posting is a term of a document with its frequency there.
type posting struct {
	term, tf int32
}

// termIndex holds one request's documents as terms: numbered from 0 in
// the order read, with each term's document frequency and name and every
// document's terms. The words and their terms come from the vocabulary
// (see vocabulary.go).
type termIndex struct {
	v *vocabulary
	// queryStems are the stems of the query's words, and query their
	// terms: no category.
	queryStems []string
	query      []int32
	// global is the vocabulary's term of each term read; df is its
	// document frequency and name its name.
	global []int32
	df     []int32
	name   []string
	// postings are every document's terms, those of document i being
	// postings[start[i]:start[i+1]].
	postings []posting
	start    []int
	// stat is by the vocabulary's term, seen by its word (how often the
	// words of terms were read: a term is named by its most frequent
	// word); words are the words read. Both are zero again after a
	// request.
	stat  []termStat
	seen  []int32
	words []int32
	held  []int32
	// Scratch space of analyze: a document's words lowered into buf, at
	// lowered, and at the place of each word in the analysis.
	docs    []*docWords
	buf     []byte
	lowered []span
	at      map[int32]int32
}

// termStat is what a request knows of a vocabulary term: its frequency in
// the document being read, its document frequency and its number in the
// request.
type termStat struct {
	tf, df, local int32
}

// termIndexes keeps the indexes of past requests: their maps and slices,
// grown to a page's vocabulary, serve the next request without growing
// again.
var termIndexes = sync.Pool{New: func() any {
	return &termIndex{at: map[int32]int32{}}
}}

// maxPooledTerms bounds the terms of an index kept for reuse: the rare
// very large request does not keep its memory.
const maxPooledTerms = 1 << 14

// newTermIndex returns an empty index for a request with query; release
// gives it back.
func newTermIndex(query string) *termIndex {
	ix := termIndexes.Get().(*termIndex)
	ix.v = currentVocabulary()
	for _, w := range ContentWords(query) {
		ix.queryStems = append(ix.queryStems, Stem(w))
	}
	return ix
}

// release empties ix for the next request. Nothing of it may be used after.
func (ix *termIndex) release() {
	if len(ix.global) > maxPooledTerms || cap(ix.buf) > 1<<20 {
		return
	}
	for _, g := range ix.global {
		ix.stat[g] = termStat{}
	}
	for _, w := range ix.words {
		ix.seen[w] = 0
	}
	clear(ix.queryStems)
	clear(ix.name)
	clear(ix.docs) // no analysis kept alive by the pool
	ix.v = nil
	ix.queryStems, ix.query, ix.global, ix.df, ix.name = ix.queryStems[:0], ix.query[:0], ix.global[:0], ix.df[:0], ix.name[:0]
	ix.postings, ix.start, ix.words, ix.held = ix.postings[:0], ix.start[:0], ix.words[:0], ix.held[:0]
	ix.docs, ix.buf, ix.lowered = ix.docs[:0], ix.buf[:0], ix.lowered[:0]
	termIndexes.Put(ix)
}

// read reads the documents' text fields (not their category columns):
// each from its analysis, kept or made now.
func (ix *termIndex) read(docs []Document) {
	v := ix.v
	for _, d := range docs {
		k := keyOf(d)
		dw := cachedDoc(k)
		if dw == nil || dw.vocab != v {
			dw = v.analyze(d, ix)
			putDoc(k, dw)
		}
		ix.docs = append(ix.docs, dw)
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	// Looked up once the analyses numbered every term read.
	for _, st := range ix.queryStems {
		if t, ok := v.terms[st]; ok {
			ix.query = append(ix.query, t)
		}
	}
	ix.stat = grow(ix.stat, len(v.terms))
	ix.seen = grow(ix.seen, len(v.words))
	for _, dw := range ix.docs {
		ix.start = append(ix.start, len(ix.postings))
		for _, wc := range dw.words {
			g := v.term[wc.word]
			if slices.Contains(ix.query, g) {
				continue
			}
			st := &ix.stat[g]
			if st.tf == 0 {
				ix.held = append(ix.held, g)
			}
			st.tf += wc.n
			if ix.seen[wc.word] == 0 {
				ix.words = append(ix.words, wc.word)
			}
			ix.seen[wc.word] += wc.n
		}
		for _, g := range ix.held {
			st := &ix.stat[g]
			if st.df == 0 {
				st.local = int32(len(ix.global))
				ix.global = append(ix.global, g)
			}
			st.df++
			ix.postings = append(ix.postings, posting{term: st.local, tf: st.tf})
			st.tf = 0
		}
		ix.held = ix.held[:0]
	}
	ix.start = append(ix.start, len(ix.postings))
	for _, g := range ix.global {
		ix.df = append(ix.df, ix.stat[g].df)
	}
	// A term's name is its most frequent word, the first in order on a
	// tie.
	ix.name = append(ix.name, make([]string, len(ix.global))...)
	best := make([]int32, len(ix.global))
	for _, w := range ix.words {
		t, c, name := ix.stat[v.term[w]].local, ix.seen[w], v.words[w]
		if c > best[t] || (c == best[t] && name < ix.name[t]) { // every word of a term counts at least 1
			ix.name[t], best[t] = name, c
		}
	}
}

// grow returns s with at least n elements, those added zero.
func grow[T any](s []T, n int) []T {
	if len(s) < n {
		s = append(s, make([]T, n-len(s))...)
	}
	return s
}

func isCategoryColumn(name string) bool {
	return slices.Contains(categoryColumns, strings.ToLower(name))
}
