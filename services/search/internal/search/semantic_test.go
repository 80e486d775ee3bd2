package search

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/altus4/altus/pkg/validate"
)

func ptr[T any](v T) *T { return &v }

// fakeEnhancer stands for the enhance service at the domain's boundary.
// Its embeddings put the article "part N" at angle angle(N) from the
// query (at angle 0): the smaller the angle, the more similar.
type fakeEnhancer struct {
	mu sync.Mutex
	// angle maps an article number to its angle in radians (default: N).
	angle func(n int) float64
	// origin is the origin of every answer (default: provider).
	origin Origin
	// err fails every call; block makes every call wait for its context.
	err   error
	block bool
	// short answers Embed with one vector too few.
	short bool
	// variants are OptimizeQuery's stemmed variants.
	variants []string
	// suggestions are Suggest's.
	suggestions []Suggestion

	// onCategorize is called by every Categorize call.
	onCategorize func()

	embeds     [][]string
	categorize [][]Document
	// deadlines are the deadlines of the Categorize calls' contexts.
	deadlines []time.Time
	optimizes int
	suggests  int
	// vocab is the vocabulary of the last Suggest.
	vocab map[string]int
}

var partNumber = regexp.MustCompile(`part (\d+)`)

func (f *fakeEnhancer) wait(ctx context.Context) error {
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.err
}

func (f *fakeEnhancer) originOf() Origin {
	if f.origin.Source == "" {
		return Origin{Source: EnhancedByProvider, Model: "test-model"}
	}
	return f.origin
}

func (f *fakeEnhancer) Embed(ctx context.Context, texts []string) (Embedding, error) {
	f.mu.Lock()
	f.embeds = append(f.embeds, slices.Clone(texts))
	f.mu.Unlock()
	if err := f.wait(ctx); err != nil {
		return Embedding{}, err
	}
	out := Embedding{Origin: f.originOf()}
	for i, t := range texts {
		if i == 0 {
			out.Vectors = append(out.Vectors, []float32{1, 0})
			continue
		}
		a := math.Pi / 2
		if m := partNumber.FindStringSubmatch(t); m != nil {
			n, _ := strconv.Atoi(m[1])
			a = float64(n)
			if f.angle != nil {
				a = f.angle(n)
			}
		}
		out.Vectors = append(out.Vectors, []float32{float32(math.Cos(a)), float32(math.Sin(a))})
	}
	if f.short {
		out.Vectors = out.Vectors[1:]
	}
	return out, nil
}

func (f *fakeEnhancer) Categorize(ctx context.Context, query string, docs []Document) (Categorization, error) {
	f.mu.Lock()
	f.categorize = append(f.categorize, docs)
	dl, _ := ctx.Deadline()
	f.deadlines = append(f.deadlines, dl)
	f.mu.Unlock()
	if f.onCategorize != nil {
		f.onCategorize()
	}
	if err := f.wait(ctx); err != nil {
		return Categorization{}, err
	}
	out := Categorization{Origin: f.originOf(), Documents: map[string][]DocumentCategory{}}
	for _, d := range docs {
		out.Documents[d.ID] = []DocumentCategory{{Name: "databases", Confidence: 0.9}}
	}
	out.Categories = []Category{{Name: "databases", Count: len(docs), Confidence: 0.9}}
	return out, nil
}

func (f *fakeEnhancer) OptimizeQuery(ctx context.Context, query string, _ []string) (QueryRewrite, error) {
	f.mu.Lock()
	f.optimizes++
	f.mu.Unlock()
	if err := f.wait(ctx); err != nil {
		return QueryRewrite{}, err
	}
	return QueryRewrite{Rewrites: []string{query + " tuning"}, Intent: "informational", Variants: f.variants, Origin: f.originOf()}, nil
}

func (f *fakeEnhancer) Suggest(ctx context.Context, query string, vocab map[string]int, limit int) (Suggestions, error) {
	f.mu.Lock()
	f.suggests++
	f.vocab = vocab
	f.mu.Unlock()
	if err := f.wait(ctx); err != nil {
		return Suggestions{}, err
	}
	return Suggestions{Suggestions: f.suggestions, Origin: f.originOf()}, nil
}

func (f *fakeEnhancer) embedCalls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.embeds)
}

func withEnhancer(e Enhancer) func(*Options) {
	return func(o *Options) { o.Enhance.Enhancer = e }
}

// articleIDs returns the result ids of articles numbered ns of source src.
func articleIDs(src string, ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = fmt.Sprintf("%s:articles:%d", src, n)
	}
	return out
}

func TestSemanticScoreIsTheRatioWeightedReciprocalRankFusion(t *testing.T) {
	tests := []struct {
		name             string
		ratio            float64
		lexRank, semRank int
		want             float64
	}{
		{"half and half", 0.5, 1, 2, 0.5/61 + 0.5/62},
		{"full text only", 0, 3, 1, 1.0 / 63},
		{"embeddings only", 1, 3, 1, 1.0 / 61},
		{"no semantic rank keeps the lexical term", 0.5, 2, 0, 0.5 / 62},
		{"weighted", 0.8, 10, 5, 0.2/70 + 0.8/65},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := semanticScore(tt.ratio, tt.lexRank, tt.semRank); math.Abs(got-tt.want) > 1e-15 {
				t.Errorf("semanticScore(%g, %d, %d) = %g, want %g", tt.ratio, tt.lexRank, tt.semRank, got, tt.want)
			}
		})
	}
}

func TestRankSemanticOrdersByFusedScoreAndBreaksTiesByID(t *testing.T) {
	mk := func() []candidate {
		return []candidate{{id: "c", lexRank: 1}, {id: "a", lexRank: 2}, {id: "b", lexRank: 3}, {id: "d", lexRank: 4}}
	}
	// Similarities: d best, then b, then a; c has no text.
	sims := map[int]float64{1: 0.1, 2: 0.5, 3: 0.9}
	tests := []struct {
		name  string
		ratio float64
		sims  map[int]float64
		want  []string
	}{
		{"ratio 0 is the lexical order", 0, sims, []string{"c", "a", "b", "d"}},
		{"ratio 1: embedded by similarity, the unranked last", 1, sims, []string{"d", "b", "a", "c"}},
		// d (ranks 4 and 1) scores highest; a (2, 3) and b (3, 2) tie
		// exactly and go by id; c has its lexical half only.
		{"half and half", 0.5, sims, []string{"d", "a", "b", "c"}},
		{"equal similarity ties by id", 1, map[int]float64{1: 0.5, 2: 0.5, 3: 0.5}, []string{"a", "b", "d", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mk()
			rankSemantic(c, tt.sims, tt.ratio)
			var got []string
			for _, x := range c {
				got = append(got, x.id)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSemanticRatioMustBeBetween0And1(t *testing.T) {
	s := newService(&fakeSources{sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}}, withEnhancer(&fakeEnhancer{}))
	for _, r := range []float64{-0.01, 1.01, math.NaN(), math.Inf(1)} {
		_, err := s.Search(context.Background(), alice, Request{Query: "pools", Mode: ModeSemantic, SemanticRatio: ptr(r)})
		var ve *validate.Error
		if !errors.As(err, &ve) || len(ve.Violations) != 1 || ve.Violations[0].Field != "semanticRatio" || ve.Violations[0].Code != codeOutOfRange {
			t.Errorf("ratio %g: error %v, want an OUT_OF_RANGE violation of semanticRatio", r, err)
		}
	}
	for _, r := range []float64{0, 0.3, 1} {
		if _, err := s.Search(context.Background(), alice, Request{Query: "pools", Mode: ModeSemantic, SemanticRatio: ptr(r)}); err != nil {
			t.Errorf("ratio %g refused: %v", r, err)
		}
	}
}

func TestSemanticSearchReranksTheCandidatesByTheirEmbeddings(t *testing.T) {
	// Both indexes rank article 1 first, 5 last; the embeddings find 5
	// the closest to the query and 1 the farthest.
	angle := func(n int) float64 { return float64(6-n) * 0.2 }
	tests := []struct {
		name  string
		ratio *float64
		want  []int
	}{
		{"ratio 1 is the embedding order", ptr(1.0), []int{5, 4, 3, 2, 1}},
		{"ratio 0 is the full-text order", ptr(0.0), []int{1, 2, 3, 4, 5}},
		// lexical ranks 1..5, semantic ranks 5..1: 1/(k+r) is convex, so
		// the extremes (1 and 5) score highest and tie, then 2 and 4, then
		// 3; ties go by id.
		{"default half: symmetric ranks tie by id", nil, []int{1, 5, 2, 4, 3}},
		{"ratio 0.9 leans to the embeddings", ptr(0.9), []int{5, 4, 3, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enh := &fakeEnhancer{angle: angle}
			f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 5, nil, nil)}}
			resp := search(t, newService(f, withEnhancer(enh)), Request{Query: "pools", Mode: ModeSemantic, SemanticRatio: tt.ratio})
			if diff := cmp.Diff(articleIDs("s1", tt.want...), resultIDs(resp.Results)); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			if resp.Mode != ModeSemantic || resp.TotalCount != 5 {
				t.Errorf("mode %q total %d, want semantic 5", resp.Mode, resp.TotalCount)
			}
			if resp.Results[0].RelevanceScore != 1 {
				t.Errorf("best relevance %g, want 1", resp.Results[0].RelevanceScore)
			}
			for i := 1; i < len(resp.Results); i++ {
				if r := resp.Results[i].RelevanceScore; r > resp.Results[i-1].RelevanceScore || r <= 0 {
					t.Errorf("relevance %d = %g after %g", i, r, resp.Results[i-1].RelevanceScore)
				}
			}
			calls := enh.embedCalls()
			if tt.ratio != nil && *tt.ratio == 0 {
				if len(calls) != 0 {
					t.Errorf("%d Embed calls with ratio 0", len(calls))
				}
				return
			}
			if len(calls) != 1 || len(calls[0]) != 6 || calls[0][0] != "pools" {
				t.Fatalf("Embed calls %v, want one with the query and the 5 candidates", calls)
			}
			want := []Enhancement{{Capability: CapabilityCategories, Source: EnhancedByProvider}, {Capability: CapabilitySemantic, Source: EnhancedByProvider}}
			if diff := cmp.Diff(want, resp.Enhancements, cmpopts.IgnoreFields(Enhancement{}, "Elapsed"), cmpopts.SortSlices(func(a, b Enhancement) bool { return a.Capability < b.Capability })); diff != "" {
				t.Errorf("enhancements (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSemanticCandidatesCarryOnlyTheTextTheirSourceAllowsOut(t *testing.T) {
	tests := []struct {
		name    string
		egress  string
		columns []string
		// wantEmbedded says what of article 1 may be embedded and
		// categorized; nil: nothing (no Embed call).
		wantFields []DocField
	}{
		{"fulltext: the columns of the FULLTEXT indexes", EgressFullText, nil,
			[]DocField{{Name: "title", Text: "Connection pools, part 1"}, {Name: "body", Text: "Pools keep connections warm (s1, row 1)."}}},
		{"unset reads as fulltext", "", nil,
			[]DocField{{Name: "title", Text: "Connection pools, part 1"}, {Name: "body", Text: "Pools keep connections warm (s1, row 1)."}}},
		{"listed: those columns only", EgressListed, []string{"articles.title", "notes.content"},
			[]DocField{{Name: "title", Text: "Connection pools, part 1"}}},
		{"none: nothing", EgressNone, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newFakeSource("s1", 3, nil, nil)
			src.desc.AIEgress, src.desc.AIColumns = tt.egress, tt.columns
			enh := &fakeEnhancer{}
			resp := search(t, newService(&fakeSources{sources: []*fakeSource{src}}, withEnhancer(enh)),
				Request{Query: "pools", Mode: ModeSemantic})
			calls := enh.embedCalls()
			var wantText string
			for _, fld := range tt.wantFields {
				if wantText != "" {
					wantText += "\n"
				}
				wantText += fld.Text
			}
			switch {
			case tt.wantFields == nil && len(calls) != 0:
				t.Errorf("Embed called with %q although the source allows nothing out", calls)
			case tt.wantFields != nil && (len(calls) != 1 || !slices.Contains(calls[0], wantText)):
				t.Errorf("Embed calls %q, want one with %q", calls, wantText)
			}
			for _, call := range calls {
				for _, text := range call[1:] {
					if tt.egress == EgressListed && strings.Contains(text, "keep connections warm") {
						t.Errorf("a column not listed was embedded: %q", text)
					}
				}
			}
			if len(enh.categorize) != 1 {
				t.Fatalf("%d Categorize calls, want 1", len(enh.categorize))
			}
			docs := enh.categorize[0]
			i := slices.IndexFunc(docs, func(d Document) bool { return d.ID == "s1:articles:1" })
			if i < 0 {
				t.Fatalf("article 1 not categorized: %v", docs)
			}
			if diff := cmp.Diff(tt.wantFields, docs[i].Fields); diff != "" {
				t.Errorf("categorized fields (-want +got):\n%s", diff)
			}
			if tt.wantFields == nil {
				// Without embeddings the candidates keep their full-text order.
				if diff := cmp.Diff(articleIDs("s1", 1, 2, 3), resultIDs(resp.Results)); diff != "" {
					t.Errorf("order (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestSemanticPagesCoverTheFusedListWithoutOverlapOrGap(t *testing.T) {
	// Two sources, two indexes each, rankings disagreeing: a fused list.
	src1 := newFakeSource("s1", 23, nil, reversed(23))
	src2 := newFakeSource("s2", 17, reversed(17), nil)
	f := &fakeSources{sources: []*fakeSource{src1, src2}}
	angle := func(n int) float64 { return float64((n*7)%13) * 0.1 }
	s := newService(f, withEnhancer(&fakeEnhancer{angle: angle}))
	all := search(t, s, Request{Query: "pools", Mode: ModeSemantic, Limit: 40})
	if all.TotalCount != 40 || len(all.Results) != 40 {
		t.Fatalf("one page: total %d, %d results; want 40, 40", all.TotalCount, len(all.Results))
	}
	var paged []string
	for offset := 0; offset < 40; offset += 7 {
		resp := search(t, s, Request{Query: "pools", Mode: ModeSemantic, Limit: 7, Offset: offset})
		if resp.TotalCount != 40 {
			t.Errorf("offset %d: total %d, want 40", offset, resp.TotalCount)
		}
		paged = append(paged, resultIDs(resp.Results)...)
	}
	if diff := cmp.Diff(resultIDs(all.Results), paged); diff != "" {
		t.Errorf("pages joined (-one page +pages):\n%s", diff)
	}
}

func TestSemanticRankingOfTheOverFetchedWindowIsNoticed(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 30, nil, nil).onlyIndex("ft_title")}}
	s := newService(f, withEnhancer(&fakeEnhancer{}), func(o *Options) { o.Enhance.SemanticWindow = 10 })
	resp := search(t, s, Request{Query: "pools", Mode: ModeSemantic, Limit: 10})
	if resp.TotalCount != 30 || len(resp.Results) != 10 {
		t.Errorf("total %d, %d results; want every match counted (30) and a full page", resp.TotalCount, len(resp.Results))
	}
	if !slices.Contains(noticeCodes(resp.Notices), NoticeSemanticWindow) {
		t.Errorf("notices %v, want %s", noticeCodes(resp.Notices), NoticeSemanticWindow)
	}
	for _, ex := range f.execs {
		for _, p := range ex.Plans {
			if p.Limit != 10 || p.Offset != 0 {
				t.Errorf("plan %+v does not read the fixed window", p)
			}
		}
	}
	beyond := search(t, s, Request{Query: "pools", Mode: ModeSemantic, Limit: 10, Offset: 10})
	if len(beyond.Results) != 0 || beyond.TotalCount != 30 {
		t.Errorf("past the candidates: %d results, total %d; want 0 and 30", len(beyond.Results), beyond.TotalCount)
	}
}

func TestSemanticFallsBackToExpansionAndStemmedVariants(t *testing.T) {
	tests := []struct {
		name       string
		enh        *fakeEnhancer
		wantReason string
		// variants: the variant list ran.
		variants bool
	}{
		{"embeddings from the fallback model", &fakeEnhancer{origin: Origin{Source: EnhancedByFallback, Reason: "circuit_open"}, variants: []string{"pool", "pooling"}},
			"circuit_open", true},
		{"service unreachable", &fakeEnhancer{err: fmt.Errorf("dial: %w", ErrEnhanceUnavailable)}, "unavailable", false},
		{"service out of time", &fakeEnhancer{block: true}, "deadline", false},
		{"one vector too few", &fakeEnhancer{short: true, variants: []string{"pool"}}, "malformed_output", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 4, nil, nil)}}
			s := newService(f, withEnhancer(tt.enh), func(o *Options) {
				o.Enhance.EmbedBudget, o.Enhance.Budget = 50*time.Millisecond, 50*time.Millisecond
			})
			resp := search(t, s, Request{Query: "pools", Mode: ModeSemantic})
			if resp.Mode != ModeSemantic || len(resp.Results) != 4 {
				t.Errorf("mode %q, %d results; want semantic, 4", resp.Mode, len(resp.Results))
			}
			i := slices.IndexFunc(resp.Enhancements, func(e Enhancement) bool { return e.Capability == CapabilitySemantic })
			if i < 0 {
				t.Fatalf("no semantic enhancement in %v", resp.Enhancements)
			}
			if got := resp.Enhancements[i]; got.Source != EnhancedByFallback || got.Reason != tt.wantReason {
				t.Errorf("semantic enhancement %+v, want fallback %q", got, tt.wantReason)
			}
			if !slices.Contains(noticeCodes(resp.Notices), NoticeSemanticUnavailable) {
				t.Errorf("notices %v, want %s", noticeCodes(resp.Notices), NoticeSemanticUnavailable)
			}
			ran := false
			for _, ex := range f.execs {
				for _, p := range ex.Plans {
					ran = ran || strings.Contains(p.Against, "pool ") || p.Against == "pool"
				}
			}
			if ran != tt.variants {
				t.Errorf("variant list ran: %v, want %v", ran, tt.variants)
			}
		})
	}
}

func TestEnhancementsFillCategoriesAndOptimizationsAndNeverFailTheSearch(t *testing.T) {
	tests := []struct {
		name        string
		enh         *fakeEnhancer
		wantSource  string
		wantReason  string
		wantCats    bool
		wantShortTT bool
	}{
		{"provider", &fakeEnhancer{}, EnhancedByProvider, "", true, false},
		{"fallback without a provider keeps the long TTL", &fakeEnhancer{origin: Origin{Source: EnhancedByFallback, Reason: ReasonNotConfigured}},
			EnhancedByFallback, ReasonNotConfigured, true, false},
		{"fallback of a failing provider", &fakeEnhancer{origin: Origin{Source: EnhancedByFallback, Reason: "rate_limited"}},
			EnhancedByFallback, "rate_limited", true, true},
		{"unreachable", &fakeEnhancer{err: fmt.Errorf("x: %w", ErrEnhanceUnavailable)}, EnhancementSkipped, "unavailable", false, true},
		{"out of time", &fakeEnhancer{block: true}, EnhancementSkipped, "deadline", false, true},
		{"other error", &fakeEnhancer{err: errors.New("boom")}, EnhancementSkipped, "error", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := newFakeCache()
			f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}}
			s := newService(f, withEnhancer(tt.enh), func(o *Options) {
				o.Cache, o.Codec = cache, gobCodec{}
				o.CacheTTL = time.Minute
				o.Enhance.Budget, o.Enhance.FallbackCacheTTL = 50*time.Millisecond, 5*time.Second
			})
			resp := search(t, s, Request{Query: "pools", IncludeAnalytics: true})
			s.Wait()
			if len(resp.Results) != 3 {
				t.Fatalf("%d results, want 3", len(resp.Results))
			}
			want := []Enhancement{
				{Capability: CapabilityCategories, Source: tt.wantSource, Reason: tt.wantReason},
				{Capability: CapabilityQueryOptimization, Source: tt.wantSource, Reason: tt.wantReason},
			}
			if diff := cmp.Diff(want, resp.Enhancements, cmpopts.IgnoreFields(Enhancement{}, "Elapsed")); diff != "" {
				t.Errorf("enhancements (-want +got):\n%s", diff)
			}
			gotCats := len(resp.Categories) == 1 && slices.Equal(resp.Results[0].Categories, []string{"databases"})
			if gotCats != tt.wantCats {
				t.Errorf("categories %v / %v, want filled: %v", resp.Categories, resp.Results[0].Categories, tt.wantCats)
			}
			hasRewrite := slices.ContainsFunc(resp.QueryOptimization, func(o Optimization) bool { return o.Type == "rewrite" })
			if hasRewrite != tt.wantCats {
				t.Errorf("query optimizations %v, want a rewrite: %v", resp.QueryOptimization, tt.wantCats)
			}
			wantTTL := time.Minute
			if tt.wantShortTT {
				wantTTL = 5 * time.Second
			}
			if diff := cmp.Diff([]time.Duration{wantTTL}, cache.ttls); diff != "" {
				t.Errorf("cache TTLs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnEmptySearchMergesEnhancedSuggestionsWithTheCorrectionsAndGivesTheEnhanceServiceTheIndexedWords(t *testing.T) {
	src := newFakeSource("s1", 3, nil, nil)
	src.noMatches = true
	enh := &fakeEnhancer{suggestions: []Suggestion{
		{Text: "connection pools", Score: 0.8, Type: SuggestSpelling},
		{Text: "database pooling", Score: 0.6, Type: SuggestSemantic},
	}}
	s := newService(&fakeSources{sources: []*fakeSource{src}}, withEnhancer(enh))
	resp := search(t, s, Request{Query: "connectoin pools"})
	var got []string
	for _, sg := range resp.Suggestions {
		got = append(got, sg.Type+":"+sg.Text)
	}
	want := []string{"spelling:connection pools", "semantic:database pooling"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("suggestions (-want +got):\n%s", diff)
	}
	if enh.suggests != 1 || len(enh.categorize) != 0 {
		t.Errorf("%d Suggest and %d Categorize calls, want 1 and 0", enh.suggests, len(enh.categorize))
	}
	// The words the correction came from, read from the indexed text.
	if enh.vocab["connection"] == 0 || enh.vocab["pools"] == 0 {
		t.Errorf("Suggest was given the vocabulary %v; want the indexed words near the query's", enh.vocab)
	}
}

func TestTheVocabularySentForSuggestionsKeepsTheMostFrequentWords(t *testing.T) {
	known := map[string]int{"a": 5, "b": 9, "c": 1, "d": 9}
	if diff := cmp.Diff(map[string]int{"b": 9, "d": 9}, topWords(known, 2)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := topWords(known, 10); len(got) != 4 {
		t.Errorf("%v: a vocabulary within the bound is sent whole", got)
	}
}

func TestTheEnhanceBudgetNeverOutlastsTheSearchsOwnDeadline(t *testing.T) {
	enh := &fakeEnhancer{block: true}
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}}
	s := newService(f, withEnhancer(enh), func(o *Options) { o.Enhance.Budget = time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	resp, err := s.Search(ctx, alice, Request{Query: "pools"})
	if err != nil {
		t.Fatal(err)
	}
	if len(enh.deadlines) != 1 || enh.deadlines[0].IsZero() || enh.deadlines[0].After(deadline) {
		t.Errorf("Categorize deadlines %v, want one before the search's %v", enh.deadlines, deadline)
	}
	want := []Enhancement{{Capability: CapabilityCategories, Source: EnhancementSkipped, Reason: "deadline"}}
	if diff := cmp.Diff(want, resp.Enhancements, cmpopts.IgnoreFields(Enhancement{}, "Elapsed")); diff != "" {
		t.Errorf("enhancements (-want +got):\n%s", diff)
	}
	if len(resp.Results) != 3 {
		t.Errorf("%d results, want the page all the same", len(resp.Results))
	}
}

func TestASlowQueryExpansionIsLeftOutAndTheSemanticSearchAnswers(t *testing.T) {
	src := newFakeSource("s1", 4, nil, nil)
	src.blockExpansion = true
	f := &fakeSources{sources: []*fakeSource{src}}
	s := newService(f, withEnhancer(&fakeEnhancer{}), func(o *Options) {
		o.SourceTimeout = 5 * time.Second
		o.Enhance.ExpansionTimeout = 50 * time.Millisecond
	})
	start := time.Now()
	resp := search(t, s, Request{Query: "pools", Mode: ModeSemantic})
	if elapsed := time.Since(start); elapsed >= s.o.SourceTimeout {
		t.Errorf("the search waited %s, the whole source timeout, for the expansion", elapsed)
	}
	if resp.Mode != ModeSemantic || len(resp.Results) != 4 {
		t.Errorf("mode %q, %d results; want semantic, 4", resp.Mode, len(resp.Results))
	}
	if len(resp.Sources) != 1 || resp.Sources[0].Status != StatusOK {
		t.Errorf("sources %+v; the source answered its natural lists and must be ok", resp.Sources)
	}
	if !slices.ContainsFunc(resp.Notices, func(n Notice) bool {
		return n.Code == NoticeExpansionSkipped && strings.Contains(n.Message, `database "db s1"`)
	}) {
		t.Errorf("notices %+v, want %s naming the database", resp.Notices, NoticeExpansionSkipped)
	}
}
