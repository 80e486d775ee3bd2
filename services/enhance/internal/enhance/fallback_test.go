package enhance

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestVariantsAreStemsAndNumberFormsOfContentWords(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{"running shoes", []string{"run", "runnings", "shoe"}},
		{"the libraries", []string{"librari", "library"}},
		{"box", []string{"boxes"}},
		{"the of", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, variants(tt.query)); diff != "" {
			t.Errorf("variants(%q) (-want +got):\n%s", tt.query, diff)
		}
	}
}

func TestIntentRules(t *testing.T) {
	tests := []struct {
		query   string
		context []string
		want    string
	}{
		{"how to configure redis", nil, IntentInformational},
		{"redis cluster?", nil, IntentInformational},
		{"buy redis enterprise", nil, IntentTransactional},
		{"mysql pricing", nil, IntentTransactional},
		{"admin login", nil, IntentNavigational},
		{"packages", []string{"packages", "name"}, IntentNavigational},
		{"sku123", nil, IntentNavigational},
		{"redis cluster", nil, IntentInformational},
	}
	for _, tt := range tests {
		if got := intentOf(tt.query, tt.context); got != tt.want {
			t.Errorf("intentOf(%q) = %s, want %s", tt.query, got, tt.want)
		}
	}
}

func TestOptimizeFallbackRewritesFromTheQuerysOwnWords(t *testing.T) {
	rewrites, synonyms, intent := optimizeFallback(OptimizeRequest{Query: "how to fix the slow queries", MaxRewrites: 4})
	want := []string{"fix slow queries", "fix slow query", "fix slow queri*"}
	if diff := cmp.Diff(want, rewrites); diff != "" {
		t.Errorf("rewrites (-want +got):\n%s", diff)
	}
	if !slices.Contains(synonyms, "repair") || !slices.Contains(synonyms, "sluggish") || intent != IntentInformational {
		t.Errorf("synonyms %v intent %s", synonyms, intent)
	}
	rewrites, _, _ = optimizeFallback(OptimizeRequest{Query: "redis client", MaxRewrites: 3})
	if diff := cmp.Diff([]string{"redis clients", "redi* client"}, rewrites); diff != "" {
		t.Errorf("no plural: the last word is made plural (-want +got):\n%s", diff)
	}
}

func TestExtractiveSummaryFavoursQuerySentencesAndCutsAtAWord(t *testing.T) {
	d := Document{Fields: []Field{{Name: "body", Text: "Redis is an in-memory store. It was created in 2009. Clusters shard data across nodes automatically. The logo is red."}}}
	got := extractive(d, "cluster", 80)
	want := "Redis is an in-memory store. Clusters shard data across nodes automatically."
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	short := extractive(d, "", 20)
	if utf8.RuneCountInString(short) > 20 || !strings.HasSuffix(short, "…") || strings.HasSuffix(strings.TrimSuffix(short, "…"), " ") {
		t.Errorf("cut summary %q: over 20 characters or not at a word boundary", short)
	}
}

func TestDamerauLevenshtein(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"pyhton", "python", 1},
		{"redis", "redis", 0},
		{"mysql", "mysq", 1},
		{"kitten", "sitting", 3},
		{"ca", "abc", 3},
	}
	for _, tt := range tests {
		if got := damerauLevenshtein(tt.a, tt.b, 5); got != tt.want {
			t.Errorf("d(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if got := damerauLevenshtein("kitten", "sitting", 2); got != 3 {
		t.Errorf("beyond max: %d, want max+1", got)
	}
}

func TestSuggestFallbackCorrectsSpellingAndAddsStemVariants(t *testing.T) {
	v := newVocabulary([]TermCount{{"python", 50}, {"pylon", 1}, {"client", 20}, {"clients", 5}, {"redis", 30}})
	got := rankSuggestions(v.suggest("pyhton client"), "pyhton client", 5)
	if len(got) < 3 {
		t.Fatalf("suggestions %+v", got)
	}
	if got[0].Text != "python client" || got[0].Type != SuggestSpelling {
		t.Errorf("best suggestion %+v, want the spelling correction python client", got[0])
	}
	texts := map[string]string{}
	for _, s := range got {
		texts[s.Text] = s.Type
	}
	if texts["python clients"] != SuggestSemantic {
		t.Errorf("no semantic variant by stem: %+v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Score > got[i-1].Score {
			t.Errorf("not sorted: %+v", got)
		}
	}
}

func TestHashedEmbeddingKeepsLexicalSimilarity(t *testing.T) {
	a := hashedEmbedding("redis cluster client")
	b := hashedEmbedding("clients for a Redis cluster")
	c := hashedEmbedding("cooking pasta at home")
	dot := func(x, y []float32) float64 {
		var s float64
		for i := range x {
			s += float64(x[i]) * float64(y[i])
		}
		return s
	}
	if len(a) != FallbackDimensions {
		t.Fatalf("%d dimensions", len(a))
	}
	if ab, ac := dot(a, b), dot(a, c); ab < 0.99 || ac > 0.5 {
		t.Errorf("cos(similar) = %v, cos(unrelated) = %v", ab, ac)
	}
}

func TestRuleInsightsFindEachCondition(t *testing.T) {
	r := InsightsRequest{
		Period: "week", TotalSearches: 100, PreviousTotalSearches: 400, AvgTimeMs: 800, ZeroResultSearches: 30,
		CacheHitRatio: 0.05, ClickThroughRate: 0.02,
		Queries: []QueryStat{{Query: "pyhton", Count: 30, ZeroResultCount: 30}, {Query: "redis", Count: 20, PreviousCount: 5, AvgResults: 3}},
		Sources: []SourceStat{{ID: "s1", Name: "shop", Searches: 100, P95TimeMs: 2500, AvgTimeMs: 900, Failures: 10}},
	}
	got := ruleInsights(r, time.Second)
	var types []string
	for _, in := range got {
		types = append(types, in.Type)
		if in.Description == "" || len(in.Data) == 0 || !unit(in.Confidence) {
			t.Errorf("insight %+v lacks a description, data or a confidence in 0..1", in)
		}
	}
	slices.Sort(types)
	want := []string{InsightCache, InsightFallingVolume, InsightLowClickThrough, InsightPerformance, InsightPerformance, InsightRisingQuery, InsightRisingQuery, InsightSlowSource, InsightUsage, InsightZeroResults}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	if got[len(got)-1].Type != InsightUsage {
		t.Errorf("the non-actionable usage insight is not last: %+v", got[len(got)-1])
	}
	if quiet := ruleInsights(InsightsRequest{TotalSearches: 100, PreviousTotalSearches: 100, AvgTimeMs: 50, CacheHitRatio: 0.6, ClickThroughRate: 0.4}, time.Second); len(quiet) != 1 || quiet[0].Type != InsightUsage {
		t.Errorf("healthy numbers: %+v, want only the usage summary", quiet)
	}
}
