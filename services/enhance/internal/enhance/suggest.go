package enhance

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/altus4/altus/pkg/localai"
)

// SuggestRequest asks for queries to try instead.
type SuggestRequest struct {
	Query string
	// Vocabulary are words of the indexed text with their document frequency.
	Vocabulary []TermCount
	// Limit bounds the suggestions (0: 5; at most 20).
	Limit int
}

// TermCount is a word and how often it occurs.
type TermCount struct {
	Term  string
	Count int64
}

// Suggestion types.
const (
	SuggestSpelling = "spelling"
	SuggestSemantic = "semantic"
)

// Suggestion is a query to try instead, scored 0..1.
type Suggestion struct {
	Text  string
	Score float64
	Type  string
}

// Suggestions are suggestions, best first.
type Suggestions struct {
	Suggestions []Suggestion
	Origin      Origin
}

type suggestOutput struct {
	Suggestions []struct {
		Text  string  `json:"text"`
		Score float64 `json:"score"`
		Type  string  `json:"type"`
	} `json:"suggestions"`
}

var suggestSchema = object(map[string]any{
	"suggestions": array(object(map[string]any{
		"text":  stringSchema(),
		"score": numberSchema(),
		"type":  enumSchema(SuggestSpelling, SuggestSemantic),
	})),
})

// Suggest proposes spelling corrections and related queries.
func (s *Service) Suggest(ctx context.Context, r SuggestRequest) (*Suggestions, error) {
	start := time.Now()
	if err := r.validate(); err != nil {
		return nil, err
	}
	if r.Limit == 0 {
		r.Limit = 5
	}
	v := newVocabulary(r.Vocabulary)
	var out suggestOutput
	var sugs []Suggestion
	reason := s.complete(ctx, CapSuggest, func() Completion {
		return Completion{
			Name:   "suggest",
			Schema: suggestSchema,
			System: "You suggest better full-text search queries: spelling corrections (type spelling) and related queries " +
				"(type semantic), each scored between 0 and 1, best first, at most limit. Prefer the indexed words given.",
			User: mustJSON(map[string]any{"query": r.Query, "limit": r.Limit, "indexed_words": v.near(r.Query)}),
		}
	}, &out, func() error {
		for _, o := range out.Suggestions {
			if strings.TrimSpace(o.Text) == "" || !unit(o.Score) || (o.Type != SuggestSpelling && o.Type != SuggestSemantic) {
				return malformed("suggestion %q score %v type %q", o.Text, o.Score, o.Type)
			}
			sugs = append(sugs, Suggestion{Text: strings.TrimSpace(o.Text), Score: o.Score, Type: o.Type})
		}
		return nil
	})
	if reason != "" {
		sugs = v.suggest(r.Query)
	}
	return &Suggestions{Suggestions: rankSuggestions(sugs, r.Query, r.Limit), Origin: s.origin(CapSuggest, reason, start)}, nil
}

// rankSuggestions drops the query itself and duplicates, sorts best first
// and keeps limit.
func rankSuggestions(sugs []Suggestion, query string, limit int) []Suggestion {
	slices.SortStableFunc(sugs, func(a, b Suggestion) int { return cmp.Compare(b.Score, a.Score) })
	seen := map[string]bool{strings.ToLower(strings.Join(localai.Words(query), " ")): true, strings.ToLower(strings.TrimSpace(query)): true}
	out := []Suggestion{}
	for _, s := range sugs {
		k := strings.ToLower(s.Text)
		if seen[k] || len(out) == limit {
			continue
		}
		seen[k] = true
		out = append(out, s)
	}
	return out
}

type vocabulary struct {
	counts   map[string]int64
	terms    []string
	byStem   map[string][]string
	maxCount int64
}

func newVocabulary(tcs []TermCount) *vocabulary {
	v := &vocabulary{counts: map[string]int64{}, byStem: map[string][]string{}}
	for _, tc := range tcs {
		t := strings.ToLower(strings.TrimSpace(tc.Term))
		if t == "" {
			continue
		}
		if _, ok := v.counts[t]; !ok {
			v.terms = append(v.terms, t)
			v.byStem[localai.Stem(t)] = append(v.byStem[localai.Stem(t)], t)
		}
		v.counts[t] += max(tc.Count, 0)
		v.maxCount = max(v.maxCount, v.counts[t])
	}
	return v
}

// weight is 0.5..1 by how common a term is.
func (v *vocabulary) weight(t string) float64 {
	if v.maxCount <= 0 {
		return 0.5
	}
	return 0.5 + 0.5*math.Log1p(float64(v.counts[t]))/math.Log1p(float64(v.maxCount))
}

type candidate struct {
	term  string
	score float64
}

// corrections are the vocabulary terms within Damerau–Levenshtein distance
// 2 of w, best first (nearer, then more common).
func (v *vocabulary) corrections(w string) []candidate {
	maxD := 2
	if len([]rune(w)) <= 4 {
		maxD = 1
	}
	var out []candidate
	for _, t := range v.terms {
		if t == w {
			continue
		}
		if d := damerauLevenshtein(w, t, maxD); d <= maxD {
			out = append(out, candidate{t, (1 - float64(d)/3) * v.weight(t)})
		}
	}
	slices.SortFunc(out, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(b.score, a.score), strings.Compare(a.term, b.term))
	})
	return out
}

// near lists the vocabulary terms worth showing the provider for query:
// spelling candidates and words of the same stem, not the whole vocabulary.
func (v *vocabulary) near(query string) []string {
	out := []string{}
	for _, w := range localai.ContentWords(query) {
		for _, c := range v.corrections(w) {
			out = append(out, c.term)
		}
		out = append(out, v.byStem[localai.Stem(w)]...)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 100 {
		out = out[:100]
	}
	return out
}

// suggest is the local fallback: the query with each unknown word replaced
// by its spelling corrections from the vocabulary (other unknown words by
// their best correction), and the query with words replaced by other words
// of the same Snowball stem (from the vocabulary, else singular/plural
// forms) as semantic suggestions.
func (v *vocabulary) suggest(query string) []Suggestion {
	ws := localai.Words(query)
	best := make([]string, len(ws))
	fixes := make([][]candidate, len(ws))
	copy(best, ws)
	for i, w := range ws {
		if _, known := v.counts[w]; known || localai.IsStopword(w) || len(v.terms) == 0 {
			continue
		}
		fixes[i] = v.corrections(w)
		if len(fixes[i]) > 0 {
			best[i] = fixes[i][0].term
		}
	}
	var out []Suggestion
	for i := range ws {
		for k, c := range fixes[i] {
			if k == 5 {
				break
			}
			q := slices.Clone(best)
			q[i] = c.term
			score := c.score
			for j := range ws {
				if j != i && len(fixes[j]) > 0 {
					score *= fixes[j][0].score
				}
			}
			out = append(out, Suggestion{Text: strings.Join(q, " "), Score: round3(score), Type: SuggestSpelling})
		}
	}
	for i, w := range ws {
		if localai.IsStopword(w) {
			continue
		}
		forms := v.byStem[localai.Stem(best[i])]
		score := func(t string) float64 { return 0.6 * v.weight(t) }
		if len(v.terms) == 0 {
			forms = numberForms(w)
			score = func(string) float64 { return 0.3 }
		}
		for _, f := range forms {
			if f == best[i] {
				continue
			}
			q := slices.Clone(best)
			q[i] = f
			out = append(out, Suggestion{Text: strings.Join(q, " "), Score: round3(score(f)), Type: SuggestSemantic})
		}
	}
	return out
}
