package search

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/services/search/internal/events"
)

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"connection", "connection", 0},
		{"conection", "connection", 1},
		{"conexion", "connection", 3}, // beyond the bound of 2
		{"pool", "pole", 2},
		{"pol", "pool", 1},
		{"café", "cafe", 1},
		{"abc", "", 3},
		{"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b, 2); got != min(tt.want, 3) {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, min(tt.want, 3))
		}
	}
}

func TestCorrectionsReplaceUnknownWordsByTheClosestFrequentWord(t *testing.T) {
	known := map[string]int{"connection": 9, "connections": 2, "pool": 3, "pole": 1, "pools": 1, "mariadb": 4}
	tests := []struct {
		query string
		want  []string
	}{
		{"conection pol", []string{"connection pool"}},
		{"Conection  (pol*)", []string{"connection  (pool*)"}},
		{"connection pool", nil}, // every word is known
		{"zzzzzz", nil},          // nothing close enough
		{"pooll", []string{"pool", "pools", "pole"}},
		{"mariadb conection", []string{"mariadb connection"}},
	}
	for _, tt := range tests {
		var check []span
		for _, sp := range wordSpans(tt.query) {
			if len([]rune(sp.word)) >= 3 {
				check = append(check, sp)
			}
		}
		var got []string
		for _, s := range corrections(tt.query, check, known) {
			got = append(got, s.Text)
			if s.Type != SuggestSpelling || s.Score <= 0 || s.Score > 1 {
				t.Errorf("%q: suggestion %+v", tt.query, s)
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("corrections of %q (-want +got):\n%s", tt.query, diff)
		}
	}
}

func TestSearchWithNoResultsProposesSpellingFromTheIndexedText(t *testing.T) {
	src := newFakeSource("s1", 5, nil, nil)
	src.noMatches = true
	s := newService(&fakeSources{sources: []*fakeSource{src}}, func(o *Options) { o.DidYouMeanTimeout = 5 * time.Second })
	resp := search(t, s, Request{Query: "conection pools"})
	if len(resp.Results) != 0 || resp.TotalCount != 0 {
		t.Fatalf("%d results, total %d", len(resp.Results), resp.TotalCount)
	}
	if len(resp.Suggestions) == 0 || resp.Suggestions[0].Text != "connection pools" || resp.Suggestions[0].Type != SuggestSpelling {
		t.Errorf("suggestions: %+v", resp.Suggestions)
	}
	if len(resp.QueryOptimization) == 0 {
		t.Error("no advice for an empty result")
	}
}

func TestSuggestCompletesFromHistoryAndIndexedText(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 5, nil, nil)}}
	store := &fakeStore{popular: []events.QueryCount{{Query: "connection pools", Count: 4}, {Query: "connection tuning", Count: 2}, {Query: "cursor", Count: 9}}}
	s := newService(f, func(o *Options) { o.Store = store; o.SuggestTimeout = 5 * time.Second })

	got, err := s.Suggest(context.Background(), alice, SuggestRequest{Query: "connection p"})
	if err != nil {
		t.Fatal(err)
	}
	var popular, completions []string
	for _, sg := range got {
		switch sg.Type {
		case SuggestPopular:
			popular = append(popular, sg.Text)
		case SuggestSemantic:
			completions = append(completions, sg.Text)
		}
		if sg.Score <= 0 || sg.Score > 1 {
			t.Errorf("score of %+v", sg)
		}
	}
	if diff := cmp.Diff([]string{"connection pools"}, popular); diff != "" {
		t.Errorf("popular (-want +got):\n%s", diff)
	}
	// "connection pools" (popular) is listed once; the text adds "part".
	if diff := cmp.Diff([]string{"connection part"}, completions); diff != "" {
		t.Errorf("completions (-want +got):\n%s", diff)
	}
	if !slices.IsSortedFunc(got, func(a, b Suggestion) int { return -cmpFloat(a.Score, b.Score) }) {
		t.Errorf("not best first: %+v", got)
	}
	// The indexed text is sampled, not ranked: ranking would score every
	// row with the prefix first.
	for _, ex := range f.execs {
		for _, pl := range ex.Plans {
			if !pl.Unordered {
				t.Errorf("the words of the indexed text were read by a ranked plan: %+v", pl)
			}
		}
	}

	got, err = s.Suggest(context.Background(), alice, SuggestRequest{Query: "conec", Tables: []string{"articles"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		// Nothing starts with "conec" and nothing is within two edits of it: no suggestion.
		t.Errorf("suggestions for a prefix found nowhere: %+v", got)
	}
	got, err = s.Suggest(context.Background(), alice, SuggestRequest{Query: "pools conection"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(got, func(sg Suggestion) bool { return sg.Text == "pools connection" && sg.Type == SuggestSpelling }) {
		t.Errorf("no spelling suggestion when nothing starts with the last word: %+v", got)
	}

	_, err = s.Suggest(context.Background(), alice, SuggestRequest{Query: "pool", Tables: []string{"nope,articles"}})
	if diff := cmp.Diff([]string{"tables:UNKNOWN"}, violations(t, err)); diff != "" {
		t.Errorf("unknown table (-want +got):\n%s", diff)
	}
	_, err = s.Suggest(context.Background(), alice, SuggestRequest{Query: strings.Repeat("x", MaxQueryRunes+1)})
	if diff := cmp.Diff([]string{"query:TOO_LONG"}, violations(t, err)); diff != "" {
		t.Errorf("long query (-want +got):\n%s", diff)
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestSuggestIsBoundedInTime(t *testing.T) {
	src := newFakeSource("s1", 5, nil, nil)
	src.block = true
	s := newService(&fakeSources{sources: []*fakeSource{src}}, func(o *Options) {
		o.Store = &fakeStore{popular: []events.QueryCount{{Query: "pools", Count: 1}}}
		o.SuggestTimeout = 50 * time.Millisecond
	})
	start := time.Now()
	got, err := s.Suggest(context.Background(), alice, SuggestRequest{Query: "po"})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s with a hanging source", d)
	}
	if len(got) != 1 || got[0].Text != "pools" {
		t.Errorf("what was ready in time: %+v", got)
	}
}
