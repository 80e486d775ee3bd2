package search

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/altus4/altus/pkg/ftquery"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/search/internal/events"
)

// Suggestion bounds.
const (
	// MaxSuggestions is how many suggestions GetSuggestions returns.
	MaxSuggestions = 10
	// popularWindow is how far back popular queries are read.
	popularWindow = 90 * 24 * time.Hour
	// vocabularyRows is how many rows each index returns to a prefix search.
	vocabularyRows = 50
	// maxEditDistance bounds "did you mean" corrections.
	maxEditDistance = 2
	// maxSpellWords bounds the query words checked for spelling.
	maxSpellWords = 5
)

// SuggestRequest is a partial query to complete.
type SuggestRequest struct {
	Query     string
	Databases []string
	Tables    []string
}

// span is a word of a query and where it is.
type span struct {
	start, end int
	word       string // lower-cased
}

// isWordRune reports whether r belongs to a word (letters, digits, marks
// and the underscore, as full-text parsers see words).
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_'
}

// wordSpans returns the words of text with their byte offsets.
func wordSpans(text string) []span {
	var out []span
	start := -1
	for i, r := range text {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, span{start: start, end: i, word: strings.ToLower(text[start:i])})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, span{start: start, end: len(text), word: strings.ToLower(text[start:])})
	}
	return out
}

// firstRunes returns the first n runes of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// vocabulary runs a boolean prefix search ("+prefix*") for every prefix on
// every target index (one call per source, in parallel, within ctx) and
// counts the words of the returned text that start with a prefix. rows is
// how many rows came back in all.
func (s *Service) vocabulary(ctx context.Context, p *prepared, prefixes []string) (words map[string]int, rows int) {
	words = map[string]int{}
	if len(prefixes) == 0 {
		return words, 0
	}
	type compiledPrefix struct {
		against string
		ok      bool
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for si, tids := range p.bySource {
		if len(tids) == 0 {
			continue
		}
		memo := map[bool][]compiledPrefix{}
		req := ExecRequest{SourceID: p.sources[si].ID, StatementTimeout: s.o.SuggestTimeout}
		for _, ti := range tids {
			t := p.targets[ti]
			myisam := engineIsMyISAM(t.table.Engine)
			cps, ok := memo[myisam]
			if !ok {
				rules := p.rulesFor(si, t.table)
				for _, pre := range prefixes {
					c, err := ftquery.Parse("+"+pre+"*").Compile(ftquery.ModeBoolean, rules)
					cps = append(cps, compiledPrefix{against: c.Against, ok: err == nil && c.Against != ""})
				}
				memo[myisam] = cps
			}
			for _, cp := range cps {
				if cp.ok {
					// Any rows with the prefix will do: ranking them would
					// score every match first (most of the table for two
					// letters).
					req.Plans = append(req.Plans, Plan{Table: t.table.Name, Index: t.index.Name, Mode: ModeBoolean, Against: cp.against, Limit: vocabularyRows, Unordered: true})
				}
			}
		}
		if len(req.Plans) == 0 {
			continue
		}
		wg.Go(func() {
			resp, err := s.call(ctx, req)
			if err != nil {
				return
			}
			local := map[string]int{}
			n := 0
			for pi, pr := range resp.Plans {
				if pr.ErrorCode != "" || pi >= len(req.Plans) {
					continue
				}
				t, _ := p.sources[si].table(req.Plans[pi].Table)
				skip := len(t.PrimaryKey)
				n += len(pr.Rows)
				for _, row := range pr.Rows {
					for i := skip; i < len(row.Values); i++ {
						if i < len(row.Nulls) && row.Nulls[i] {
							continue
						}
						for _, sp := range wordSpans(row.Values[i]) {
							for _, pre := range prefixes {
								if strings.HasPrefix(sp.word, pre) {
									local[sp.word]++
									break
								}
							}
						}
					}
				}
			}
			mu.Lock()
			for w, c := range local {
				words[w] += c
			}
			rows += n
			mu.Unlock()
		})
	}
	wg.Wait()
	return words, rows
}

// table returns the source's table called name.
func (src Source) table(name string) (*Table, bool) {
	for i := range src.Tables {
		if src.Tables[i].Name == name {
			return &src.Tables[i], true
		}
	}
	return &Table{}, false
}

// pastQueryWords counts the words of the user's recent queries.
func (s *Service) pastQueryWords(ctx context.Context, userID string) map[string]int {
	words := map[string]int{}
	if s.o.Store == nil {
		return words
	}
	qs, err := s.o.Store.Popular(ctx, userID, "", s.o.Now().Add(-popularWindow), 200)
	if err != nil {
		return words
	}
	for _, q := range qs {
		for _, sp := range wordSpans(q.Query) {
			words[sp.word] += q.Count
		}
	}
	return words
}

// didYouMean proposes spelling corrections of query from the words of the
// indexed text (a prefix search on the first two letters of each word) and
// of the user's past queries: each word not found there is replaced by the
// closest word within edit distance 2 (then the most frequent). Bounded by ctx.
func (s *Service) didYouMean(ctx context.Context, p identity.Principal, prep *prepared, query string) []Suggestion {
	sugs, _ := s.spelling(ctx, p, prep, query)
	return sugs
}

// spelling is didYouMean with the words it knew: those of the indexed
// text near the query's and of the user's past queries, with their counts.
func (s *Service) spelling(ctx context.Context, p identity.Principal, prep *prepared, query string) ([]Suggestion, map[string]int) {
	spans := wordSpans(query)
	var check []span
	var prefixes []string
	for _, sp := range spans {
		if utf8.RuneCountInString(sp.word) < 3 || len(check) == maxSpellWords {
			continue
		}
		check = append(check, sp)
		if pre := firstRunes(sp.word, 2); !slices.Contains(prefixes, pre) {
			prefixes = append(prefixes, pre)
		}
	}
	if len(check) == 0 {
		return nil, nil
	}
	var vocab, past map[string]int
	var wg sync.WaitGroup
	wg.Go(func() {
		if prep != nil {
			vocab, _ = s.vocabulary(ctx, prep, prefixes)
		}
	})
	wg.Go(func() { past = s.pastQueryWords(ctx, p.UserID) })
	wg.Wait()
	known := map[string]int{}
	for w, c := range vocab {
		known[w] += c
	}
	for w, c := range past {
		known[w] += c
	}
	return corrections(query, check, known), known
}

// maxSuggestVocabulary bounds the words sent with an enhance Suggest call
// (the most frequent first; the enhance service takes at most 10,000).
const maxSuggestVocabulary = 2000

// topWords returns the n most frequent words of known (ties by word).
func topWords(known map[string]int, n int) map[string]int {
	if len(known) <= n {
		return known
	}
	words := make([]string, 0, len(known))
	for w := range known {
		words = append(words, w)
	}
	slices.SortFunc(words, func(a, b string) int { return cmp.Or(cmp.Compare(known[b], known[a]), strings.Compare(a, b)) })
	out := make(map[string]int, n)
	for _, w := range words[:n] {
		out[w] = known[w]
	}
	return out
}

// corrections builds the spelling suggestions of query: each checked word
// absent from known is replaced by its closest known word. A one-word
// query gets up to three alternatives; a longer one the best rewrite.
func corrections(query string, check []span, known map[string]int) []Suggestion {
	type cand struct {
		word string
		dist int
		freq int
	}
	best := make([][]cand, len(check))
	changed := false
	for i, sp := range check {
		if known[sp.word] > 0 {
			continue
		}
		for w, f := range known {
			if w == sp.word {
				continue
			}
			if d := editDistance(sp.word, w, maxEditDistance); d <= maxEditDistance && d < utf8.RuneCountInString(sp.word) {
				best[i] = append(best[i], cand{w, d, f})
			}
		}
		slices.SortFunc(best[i], func(a, b cand) int {
			if c := cmp.Compare(a.dist, b.dist); c != 0 {
				return c
			}
			if c := cmp.Compare(b.freq, a.freq); c != 0 {
				return c
			}
			return cmp.Compare(a.word, b.word)
		})
		if len(best[i]) > 0 {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	rewrite := func(choice []int) (string, float64) {
		var b strings.Builder
		last := 0
		dist, length := 0, 0
		for i, sp := range check {
			length += utf8.RuneCountInString(sp.word)
			if choice[i] < 0 {
				continue
			}
			c := best[i][choice[i]]
			b.WriteString(query[last:sp.start])
			b.WriteString(c.word)
			last = sp.end
			dist += c.dist
		}
		b.WriteString(query[last:])
		return b.String(), max(0, 1-float64(dist)/float64(length+1))
	}
	base := make([]int, len(check))
	for i := range check {
		base[i] = -1
		if len(best[i]) > 0 {
			base[i] = 0
		}
	}
	var out []Suggestion
	text, score := rewrite(base)
	out = append(out, Suggestion{Text: text, Score: score, Type: SuggestSpelling})
	if len(check) == 1 {
		for k := 1; k < min(3, len(best[0])); k++ {
			text, score := rewrite([]int{k})
			out = append(out, Suggestion{Text: text, Score: score, Type: SuggestSpelling})
		}
	}
	return out
}

// editDistance is the Levenshtein distance of a and b in runes, or bound+1
// when it exceeds bound.
func editDistance(a, b string, bound int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > bound || -d > bound {
		return bound + 1
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > bound {
			return bound + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Suggest completes a partial query from the caller's popular past queries
// (type "popular") and from the words of the indexed text that start with
// its last word (type "semantic"); when the indexed text has no such word,
// it proposes spelling corrections (type "spelling"). It is bounded by
// SuggestTimeout: whatever is not ready by then is left out.
func (s *Service) Suggest(ctx context.Context, p identity.Principal, req SuggestRequest) ([]Suggestion, error) {
	var c validate.Collector
	req.Query = strings.TrimSpace(req.Query)
	if n := utf8.RuneCountInString(req.Query); n > MaxQueryRunes {
		c.Add("query", codeTooLong, "query is %d characters long; the limit is %d.", n, MaxQueryRunes)
	}
	req.Databases = cleanList(&c, "databases", splitLists(req.Databases))
	req.Tables = cleanList(&c, "tables", splitLists(req.Tables))
	if err := c.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.SuggestTimeout)
	defer cancel()

	var popular []events.QueryCount
	var wg sync.WaitGroup
	if s.o.Store != nil {
		wg.Go(func() {
			popular, _ = s.o.Store.Popular(ctx, p.UserID, req.Query, s.o.Now().Add(-popularWindow), MaxSuggestions)
		})
	}
	var fromText []Suggestion
	var textErr error
	spans := wordSpans(req.Query)
	if len(spans) > 0 {
		wg.Go(func() { fromText, textErr = s.textSuggestions(ctx, p, req, spans) })
	}
	wg.Wait()
	if textErr != nil {
		return nil, textErr
	}

	var out []Suggestion
	top := 0
	for _, q := range popular {
		top = max(top, q.Count)
	}
	for _, q := range popular {
		if strings.EqualFold(q.Query, req.Query) && len(popular) > 1 {
			continue
		}
		out = append(out, Suggestion{Text: q.Query, Score: float64(q.Count) / float64(top), Type: SuggestPopular})
	}
	out = append(out, fromText...)
	slices.SortStableFunc(out, func(a, b Suggestion) int { return cmp.Compare(b.Score, a.Score) })
	seen := map[string]bool{}
	uniq := out[:0]
	for _, sg := range out {
		k := strings.ToLower(sg.Text)
		if seen[k] {
			continue
		}
		seen[k] = true
		uniq = append(uniq, sg)
	}
	if len(uniq) > MaxSuggestions {
		uniq = uniq[:MaxSuggestions]
	}
	return uniq, nil
}

// textSuggestions completes the last word of the query from the indexed
// text, or corrects its spelling when nothing there starts with it.
func (s *Service) textSuggestions(ctx context.Context, p identity.Principal, req SuggestRequest, spans []span) ([]Suggestion, error) {
	sources, err := s.o.Sources.Describe(ctx, req.Databases)
	if err != nil {
		if errors.Is(err, ErrSourceNotFound) {
			return nil, err
		}
		return nil, nil // out of time or dbrouter down: no text suggestions
	}
	last := spans[len(spans)-1]
	prep, err := prepare(sources, Request{Query: last.word + "*", Tables: req.Tables}, ModeBoolean)
	if err != nil {
		return nil, err
	}
	words, rows := s.vocabulary(ctx, prep, []string{last.word})
	if rows == 0 {
		return s.didYouMean(ctx, p, prep, req.Query), nil
	}
	type wc struct {
		w string
		n int
	}
	var list []wc
	top := 0
	for w, n := range words {
		if w == last.word {
			continue
		}
		list = append(list, wc{w, n})
		top = max(top, n)
	}
	slices.SortFunc(list, func(a, b wc) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.w, b.w)
	})
	var out []Suggestion
	for _, x := range list[:min(len(list), MaxSuggestions)] {
		out = append(out, Suggestion{
			Text:  req.Query[:last.start] + x.w + req.Query[last.end:],
			Score: 0.9 * float64(x.n) / float64(top),
			Type:  SuggestSemantic,
		})
	}
	return out, nil
}
