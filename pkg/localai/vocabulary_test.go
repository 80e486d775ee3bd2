package localai

import (
	"fmt"
	"math/rand/v2"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

// Documents read before are answered from their kept analysis: the
// answer is the definition's, whatever the query (its terms are left out
// per request, not per analysis).
func TestCategorizeOfDocumentsReadBeforeAnswersAsTheMapsDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 300 {
		r := randomRequest(rng)
		for _, q := range []string{r.Query, "", "connections redis", "search"} {
			r.Query = q
			for range 2 {
				if diff := gocmp.Diff(categorizeByMaps(r), Categorize(r)); diff != "" {
					t.Fatalf("request %d, query %q (-definition +got):\n%s", i, q, diff)
				}
			}
		}
	}
}

// A row whose text changed is another document: its categories are
// those of its new text, not of the analysis kept for the old one.
func TestCategorizeReadsADocumentWhoseTextChangedAgain(t *testing.T) {
	page := func(text string) CategorizeRequest {
		return CategorizeRequest{Query: "tool", MaxCategories: 3, Documents: []Document{
			{ID: "1", Table: "t", Fields: []Field{{Name: "body", Text: text}}},
			{ID: "2", Table: "t", Fields: []Field{{Name: "body", Text: "compression library for archives"}}},
			{ID: "3", Table: "t", Fields: []Field{{Name: "body", Text: "a parser library for archives"}}},
		}}
	}
	before, after := page("archives compression tool"), page("parser tool for parser files")
	Categorize(before)
	got := Categorize(after)
	if diff := gocmp.Diff(categorizeByMaps(after), got); diff != "" {
		t.Fatalf("(-definition +got):\n%s", diff)
	}
	if diff := gocmp.Diff(categorizeByMaps(before), got); diff == "" {
		t.Fatal("the changed document answered as before its change")
	}
	// The same texts in other fields are another document too.
	moved := page("archives compression tool")
	moved.Documents[0].Fields = []Field{{Name: "title", Text: "archives"}, {Name: "body", Text: " compression tool"}}
	if diff := gocmp.Diff(categorizeByMaps(moved), Categorize(moved)); diff != "" {
		t.Fatalf("texts split over two fields (-definition +got):\n%s", diff)
	}
}

// A full vocabulary is replaced by a new one; the analyses made under the
// old one are made again, and every answer stays the definition's.
func TestCategorizeReplacesAFullVocabularyAndStillAnswersAsTheDefinition(t *testing.T) {
	defer func(n int) { maxVocabularyWords = n }(maxVocabularyWords)
	maxVocabularyWords = 40
	rng := rand.New(rand.NewPCG(7, 8))
	first := vocab.Load()
	reqs := make([]CategorizeRequest, 50)
	for i := range reqs {
		reqs[i] = randomRequest(rng)
		// Words of their own, so that the vocabulary fills.
		reqs[i].Documents[0].Fields = append(reqs[i].Documents[0].Fields, Field{Name: "body", Text: fmt.Sprintf("word%d unique%d", i, i)})
	}
	for range 2 {
		for i, r := range reqs {
			if diff := gocmp.Diff(categorizeByMaps(r), Categorize(r)); diff != "" {
				t.Fatalf("request %d (-definition +got):\n%s", i, diff)
			}
		}
	}
	v := vocab.Load()
	if v == first {
		t.Fatal("the vocabulary was never replaced")
	}
	// No analysis kept holds an old vocabulary alive.
	docCache.Lock()
	for _, m := range []map[docKey]*docWords{docCache.cur, docCache.old} {
		for _, dw := range m {
			if dw.vocab != v {
				t.Error("an analysis made under a replaced vocabulary is still kept")
			}
		}
	}
	docCache.Unlock()
	v.mu.RLock()
	defer v.mu.RUnlock()
	// A vocabulary outgrows the limit only by the words of one request.
	if len(v.words) > maxVocabularyWords+200 {
		t.Errorf("the vocabulary holds %d words, limit %d", len(v.words), maxVocabularyWords)
	}
}

// The analyses kept are bounded: at most two generations of docCacheSize.
func TestCategorizeKeepsABoundedNumberOfAnalyses(t *testing.T) {
	for i := range 3*docCacheSize + 10 {
		Categorize(CategorizeRequest{Documents: []Document{{ID: "1", Fields: []Field{{Name: "body", Text: fmt.Sprintf("document number %d", i)}}}}})
	}
	docCache.Lock()
	defer docCache.Unlock()
	if n := len(docCache.cur) + len(docCache.old); n > 2*docCacheSize {
		t.Errorf("%d analyses kept, at most %d expected", n, 2*docCacheSize)
	}
}
