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
	names := ix.names()
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

// termIndex numbers the words and terms of one request's documents, so
// that each distinct word is filtered and stemmed once, and holds every
// document's terms.
type termIndex struct {
	queryStems []string
	// ids numbers the distinct lower-case words; term is each word's term
	// (-1: a stopword, too short, without a letter, or of the query), and
	// count how often it was read as that term.
	ids   map[string]int32
	words []string
	term  []int32
	count []int32
	// stems numbers the terms; df is each term's document frequency.
	stems map[string]int32
	df    []int32
	// postings are every document's terms, those of document i being
	// postings[start[i]:start[i+1]].
	postings []posting
	start    []int
	// tf is by term, for the document being read, and held the terms it
	// holds; buf is a word being lowered.
	tf   []int32
	held []int32
	buf  []byte
}

// termIndexes keeps the indexes of past requests: their maps and slices,
// grown to a page's vocabulary, serve the next request without growing
// again.
var termIndexes = sync.Pool{New: func() any {
	return &termIndex{ids: map[string]int32{}, stems: map[string]int32{}}
}}

// maxPooledWords bounds the vocabulary of an index kept for reuse: the
// rare very large request does not keep its memory.
const maxPooledWords = 1 << 14

// newTermIndex returns an empty index for a request with query; release
// gives it back.
func newTermIndex(query string) *termIndex {
	v := termIndexes.Get().(*termIndex)
	for _, w := range ContentWords(query) {
		v.queryStems = append(v.queryStems, Stem(w))
	}
	return v
}

// release empties v for the next request. Nothing of it may be used after.
func (v *termIndex) release() {
	if len(v.words) > maxPooledWords {
		return
	}
	clear(v.ids)
	clear(v.stems)
	clear(v.words) // no word kept alive by the pool
	v.queryStems, v.words, v.term, v.count = v.queryStems[:0], v.words[:0], v.term[:0], v.count[:0]
	v.df, v.postings, v.start, v.tf, v.held = v.df[:0], v.postings[:0], v.start[:0], v.tf[:0], v.held[:0]
	termIndexes.Put(v)
}

// read reads the documents' text fields (not their category columns).
func (v *termIndex) read(docs []Document) {
	for _, d := range docs {
		v.start = append(v.start, len(v.postings))
		for _, f := range d.Fields {
			if isCategoryColumn(f.Name) {
				continue
			}
			scanWords(f.Text, func(w string, lower bool) {
				t := v.termOf(w, lower)
				if t < 0 {
					return
				}
				for int(t) >= len(v.tf) {
					v.tf = append(v.tf, 0)
				}
				if v.tf[t] == 0 {
					v.held = append(v.held, t)
				}
				v.tf[t]++
			})
		}
		for _, t := range v.held {
			v.postings = append(v.postings, posting{term: t, tf: v.tf[t]})
			v.df[t]++
			v.tf[t] = 0
		}
		v.held = v.held[:0]
	}
	v.start = append(v.start, len(v.postings))
}

// termOf returns the term of a word of scanWords (-1 for none) and counts
// the word as its term's name.
func (v *termIndex) termOf(w string, lower bool) int32 {
	var id int32
	var ok bool
	if lower {
		id, ok = v.ids[w]
	} else {
		v.buf = appendLower(v.buf[:0], w)
		id, ok = v.ids[string(v.buf)] // no copy of buf to look it up
	}
	if !ok {
		if !lower {
			w = string(v.buf)
		}
		id = v.add(w)
	}
	t := v.term[id]
	if t >= 0 {
		v.count[id]++
	}
	return t
}

// add numbers a new word and finds its term.
func (v *termIndex) add(w string) int32 {
	id := int32(len(v.words))
	v.ids[w] = id
	v.words = append(v.words, w)
	v.count = append(v.count, 0)
	t := int32(-1)
	if !IsStopword(w) && len([]rune(w)) >= 3 && HasLetter(w) {
		if st := Stem(w); !slices.Contains(v.queryStems, st) {
			var ok bool
			if t, ok = v.stems[st]; !ok {
				t = int32(len(v.df))
				v.stems[st] = t
				v.df = append(v.df, 0)
			}
		}
	}
	v.term = append(v.term, t)
	return id
}

// names returns every term's name: its most frequent word, the first in
// order on a tie.
func (v *termIndex) names() []string {
	names := make([]string, len(v.df))
	best := make([]int32, len(v.df))
	for id, t := range v.term {
		if t < 0 {
			continue
		}
		w, c := v.words[id], v.count[id]
		if c > best[t] || (c == best[t] && w < names[t]) { // every word of a term counts at least 1
			names[t], best[t] = w, c
		}
	}
	return names
}

func isCategoryColumn(name string) bool {
	return slices.Contains(categoryColumns, strings.ToLower(name))
}
