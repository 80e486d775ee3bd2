package localai

import (
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/categorize.golden.json from the current code")

// TestCategorizeAnswersArePinned keeps the local method's answers
// exactly as they were: the search service answers with it in place of the
// enhance service, and the two, of any releases, must agree to the last
// digit.
func TestCategorizeAnswersArePinned(t *testing.T) {
	type answer struct {
		Documents  []DocumentCategories
		Categories []CategoryCount
	}
	got := map[string]answer{}
	for name, r := range categorizeCases() {
		docs := Categorize(r)
		got[name] = answer{docs, Aggregate(docs)}
	}
	const path = "testdata/categorize.golden.json"
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]answer
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers changed (-want +got):\n%s", diff)
	}
}

// BenchmarkCategorize is the local method on a page of 20
// package results, read before (their analyses are kept).
func BenchmarkCategorize(b *testing.B) {
	r := CategorizeRequest{Documents: packageCorpus(), Query: "redis client", MaxCategories: 3}
	b.ReportAllocs()
	for b.Loop() {
		Categorize(r)
	}
}

// BenchmarkCategorizeNewRows is the same page with every row's text
// changed each time (a word of its own added): every row is read again.
func BenchmarkCategorizeNewRows(b *testing.B) {
	docs := packageCorpus()
	r := CategorizeRequest{Documents: make([]Document, len(docs)), Query: "redis client", MaxCategories: 3}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		for i, d := range docs {
			d.Fields = append(slices.Clone(d.Fields), Field{Name: "version", Text: strconv.Itoa(n)})
			r.Documents[i] = d
		}
		Categorize(r)
	}
}
