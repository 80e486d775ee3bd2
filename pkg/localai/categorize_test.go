package localai

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCategorizeUsesCategoryColumnsTablesAndSharedTerms(t *testing.T) {
	docs := []Document{
		{ID: "1", Table: "packages", Fields: []Field{{Name: "category", Text: "Databases"}, {Name: "description", Text: "Redis client with cluster support and pipelines"}}},
		{ID: "2", Table: "packages", Fields: []Field{{Name: "description", Text: "MySQL driver with cluster support"}}},
		{ID: "3", Table: "articles", Fields: []Field{{Name: "body", Text: "Cooking pasta at home"}}},
	}
	got := Categorize(CategorizeRequest{Documents: docs, Query: "driver", MaxCategories: 3})
	names := func(i int) []string {
		var out []string
		for _, c := range got[i].Categories {
			out = append(out, c.Name)
		}
		return out
	}
	if diff := cmp.Diff([]string{"databases", "packages", "cluster"}, names(0)[:3]); diff != "" {
		t.Errorf("document 1 (-want +got):\n%s", diff)
	}
	if n := names(1); n[0] != "packages" || !slices.Contains(n, "cluster") || slices.Contains(n, "driver") {
		t.Errorf("document 2: %v (query terms are no category)", n)
	}
	if diff := cmp.Diff([]string{"articles"}, names(2)); diff != "" {
		t.Errorf("document 3 (-want +got):\n%s", diff)
	}
	for _, d := range got {
		for _, c := range d.Categories {
			if c.Confidence <= 0 || c.Confidence > 0.95 {
				t.Errorf("%s: confidence %v out of (0, 0.95]", c.Name, c.Confidence)
			}
		}
	}
	agg := Aggregate(got)
	if agg[0].Name != "packages" || agg[0].Count != 2 {
		t.Errorf("aggregate: %+v; want packages (2 documents) first", agg)
	}
}
