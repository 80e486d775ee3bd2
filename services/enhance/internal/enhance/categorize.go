package enhance

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"
)

// Field is one named piece of a document's text.
type Field struct {
	Name, Text string
}

// Document is a piece of text to enhance. Only Fields reach the provider.
type Document struct {
	ID, Database, Table string
	Fields              []Field
}

// CategorizeRequest asks for categories of documents.
type CategorizeRequest struct {
	Documents []Document
	Query     string
	// MaxCategories bounds each document's categories (0: 3; at most 10).
	MaxCategories int
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

// Categorization is the categories of every document and their totals.
type Categorization struct {
	Documents  []DocumentCategories
	Categories []CategoryCount
	Origin     Origin
}

type categorizeOutput struct {
	Documents []struct {
		Index      int `json:"index"`
		Categories []struct {
			Name       string  `json:"name"`
			Confidence float64 `json:"confidence"`
		} `json:"categories"`
	} `json:"documents"`
}

var categorizeSchema = object(map[string]any{
	"documents": array(object(map[string]any{
		"index": map[string]any{"type": "integer"},
		"categories": array(object(map[string]any{
			"name":       stringSchema(),
			"confidence": numberSchema(),
		})),
	})),
})

// promptDocuments is what the provider sees of documents: their position
// and their fields (name and text, cut to maxChars in all), nothing else.
func promptDocuments(docs []Document, maxChars int) []map[string]any {
	out := make([]map[string]any, len(docs))
	for i, d := range docs {
		left := maxChars
		fields := []map[string]string{}
		for _, f := range d.Fields {
			if left <= 0 {
				break
			}
			t := cutRunes(f.Text, left)
			left -= len([]rune(t))
			fields = append(fields, map[string]string{"name": f.Name, "text": t})
		}
		out[i] = map[string]any{"index": i, "fields": fields}
	}
	return out
}

// Categorize assigns categories to documents and aggregates them.
func (s *Service) Categorize(ctx context.Context, r CategorizeRequest) (*Categorization, error) {
	start := time.Now()
	if err := r.validate(); err != nil {
		return nil, err
	}
	if r.MaxCategories == 0 {
		r.MaxCategories = 3
	}
	var out categorizeOutput
	var docs []DocumentCategories
	reason := s.complete(ctx, CapCategorize, func() Completion {
		return Completion{
			Name:   "categorize",
			Schema: categorizeSchema,
			System: "You categorise search results. For every document (by index) give up to max_categories short lower-case " +
				"category names, each with your confidence between 0 and 1, most confident first.",
			User: mustJSON(map[string]any{"query": r.Query, "max_categories": r.MaxCategories, "documents": promptDocuments(r.Documents, s.o.MaxDocumentChars)}),
		}
	}, &out, func() error {
		docs = make([]DocumentCategories, len(r.Documents))
		seen := make([]bool, len(r.Documents))
		for _, d := range out.Documents {
			if d.Index < 0 || d.Index >= len(r.Documents) || seen[d.Index] {
				return malformed("document index %d unknown or repeated", d.Index)
			}
			seen[d.Index] = true
			cats := []Category{}
			for _, c := range d.Categories {
				name := strings.ToLower(strings.TrimSpace(c.Name))
				if name == "" || !unit(c.Confidence) {
					return malformed("category %q with confidence %v", c.Name, c.Confidence)
				}
				cats = append(cats, Category{Name: name, Confidence: c.Confidence})
			}
			docs[d.Index] = DocumentCategories{ID: r.Documents[d.Index].ID, Categories: topCategories(cats, r.MaxCategories)}
		}
		if slices.Contains(seen, false) {
			return malformed("a document has no answer")
		}
		return nil
	})
	if reason != "" {
		docs = categorizeFallback(r)
	}
	return &Categorization{Documents: docs, Categories: aggregate(docs), Origin: s.origin(CapCategorize, reason, start)}, nil
}

// topCategories merges duplicates (keeping the highest confidence), sorts
// by confidence and keeps n.
func topCategories(cats []Category, n int) []Category {
	best := map[string]float64{}
	for _, c := range cats {
		if v, ok := best[c.Name]; !ok || c.Confidence > v {
			best[c.Name] = c.Confidence
		}
	}
	out := make([]Category, 0, len(best))
	for name, c := range best {
		out = append(out, Category{Name: name, Confidence: c})
	}
	slices.SortFunc(out, func(a, b Category) int {
		return cmp.Or(cmp.Compare(b.Confidence, a.Confidence), strings.Compare(a.Name, b.Name))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// aggregate counts documents per category with their mean confidence,
// most documents first.
func aggregate(docs []DocumentCategories) []CategoryCount {
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

// categorizeFallback finds categories in the documents' structure and
// their terms:
//   - the value of a category-like column (category, type, genre, tags,
//     ...) is the data's own category: confidence 0.95;
//   - the table a document came from is certain but coarse: 0.9 when the
//     documents come from several tables, else 0.5 (it tells them apart
//     from nothing);
//   - the most distinctive terms shared by several documents (TF-IDF over
//     the documents, query terms excluded): confidence is the share of
//     documents holding the term times the term's weight in this document
//     relative to the strongest, at most 0.8.
func categorizeFallback(r CategorizeRequest) []DocumentCategories {
	n := len(r.Documents)
	tables := map[string]bool{}
	for _, d := range r.Documents {
		tables[d.Table] = true
	}
	queryStems := map[string]bool{}
	for _, w := range contentWords(r.Query) {
		queryStems[stem(w)] = true
	}
	// Term statistics by stem, shown as the most frequent surface form.
	tf := make([]map[string]int, n)
	df := map[string]int{}
	surface := map[string]map[string]int{}
	for i, d := range r.Documents {
		tf[i] = map[string]int{}
		for _, f := range d.Fields {
			if isCategoryColumn(f.Name) {
				continue
			}
			for _, w := range contentWords(f.Text) {
				if len([]rune(w)) < 3 || !hasLetter(w) {
					continue
				}
				st := stem(w)
				if queryStems[st] {
					continue
				}
				if tf[i][st] == 0 {
					df[st]++
				}
				tf[i][st]++
				if surface[st] == nil {
					surface[st] = map[string]int{}
				}
				surface[st][w]++
			}
		}
	}
	minDF := 2
	if n == 1 {
		minDF = 1
	}
	weight := func(i int, st string) float64 {
		return (1 + math.Log(float64(tf[i][st]))) * math.Log(1+float64(n)/float64(df[st]))
	}
	var maxW float64
	for i := range tf {
		for st := range tf[i] {
			if df[st] >= minDF && (n < 3 || df[st] < n) {
				maxW = max(maxW, weight(i, st))
			}
		}
	}
	// The name of a term, computed once for every document holding it.
	names := map[string]string{}
	nameOf := func(st string) string {
		name, ok := names[st]
		if !ok {
			name = mostFrequent(surface[st])
			names[st] = name
		}
		return name
	}
	out := make([]DocumentCategories, n)
	for i, d := range r.Documents {
		var cats []Category
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
			if len(tables) > 1 {
				c = 0.9
			}
			cats = append(cats, Category{Name: strings.ToLower(d.Table), Confidence: c})
		}
		for st := range tf[i] {
			if df[st] < minDF || (n >= 3 && df[st] == n) || maxW == 0 {
				continue
			}
			conf := 0.8 * float64(df[st]) / float64(n) * weight(i, st) / maxW
			cats = append(cats, Category{Name: nameOf(st), Confidence: round3(conf)})
		}
		out[i] = DocumentCategories{ID: d.ID, Categories: topCategories(cats, r.MaxCategories)}
	}
	return out
}

func isCategoryColumn(name string) bool {
	return slices.Contains(categoryColumns, strings.ToLower(name))
}

func mostFrequent(m map[string]int) string {
	best, n := "", -1
	for w, c := range m {
		if c > n || (c == n && w < best) {
			best, n = w, c
		}
	}
	return best
}
