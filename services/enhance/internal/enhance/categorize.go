package enhance

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/altus4/altus/pkg/localai"
)

// The documents and categories of requests are the local method's
// (localai), which the search service also runs in-process.
type (
	// Field is one named piece of a document's text.
	Field = localai.Field
	// Document is a piece of text to enhance. Only Fields reach the provider.
	Document = localai.Document
	// CategorizeRequest asks for categories of documents.
	CategorizeRequest = localai.CategorizeRequest
	// Category is a category with its confidence (0..1).
	Category = localai.Category
	// DocumentCategories are one document's categories, most confident first.
	DocumentCategories = localai.DocumentCategories
	// CategoryCount is a category over all documents.
	CategoryCount = localai.CategoryCount
)

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
	if err := r.Validate(); err != nil {
		return nil, err
	}
	r = r.WithDefaults()
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
			docs[d.Index] = DocumentCategories{ID: r.Documents[d.Index].ID, Categories: localai.TopCategories(cats, r.MaxCategories)}
		}
		if slices.Contains(seen, false) {
			return malformed("a document has no answer")
		}
		return nil
	})
	if reason != "" {
		docs = localai.Categorize(r)
	}
	return &Categorization{Documents: docs, Categories: localai.Aggregate(docs), Origin: s.origin(CapCategorize, reason, start)}, nil
}
