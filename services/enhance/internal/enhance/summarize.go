package enhance

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/altus4/altus/pkg/localai"
)

// SummarizeRequest asks for a summary of each document.
type SummarizeRequest struct {
	Documents []Document
	Query     string
	// MaxChars bounds each summary (0: 240; at most 2000).
	MaxChars int
}

// Summary is one document's summary.
type Summary struct {
	ID, Text string
}

// Summaries are the summaries of documents, in their order.
type Summaries struct {
	Summaries []Summary
	Origin    Origin
}

type summarizeOutput struct {
	Summaries []struct {
		Index int    `json:"index"`
		Text  string `json:"text"`
	} `json:"summaries"`
}

var summarizeSchema = object(map[string]any{
	"summaries": array(object(map[string]any{
		"index": map[string]any{"type": "integer"},
		"text":  stringSchema(),
	})),
})

// Summarize gives a short summary of each document.
func (s *Service) Summarize(ctx context.Context, r SummarizeRequest) (*Summaries, error) {
	start := time.Now()
	if err := r.validate(); err != nil {
		return nil, err
	}
	if r.MaxChars == 0 {
		r.MaxChars = 240
	}
	var out summarizeOutput
	var sums []Summary
	reason := s.complete(ctx, CapSummarize, func() Completion {
		return Completion{
			Name:   "summarize",
			Schema: summarizeSchema,
			System: "You summarise search results. For every document (by index) write one summary of at most max_chars " +
				"characters, favouring what the query asks.",
			User: mustJSON(map[string]any{"query": r.Query, "max_chars": r.MaxChars, "documents": promptDocuments(r.Documents, s.o.MaxDocumentChars)}),
		}
	}, &out, func() error {
		sums = make([]Summary, len(r.Documents))
		seen := make([]bool, len(r.Documents))
		for _, o := range out.Summaries {
			if o.Index < 0 || o.Index >= len(r.Documents) || seen[o.Index] {
				return malformed("summary index %d unknown or repeated", o.Index)
			}
			if strings.TrimSpace(o.Text) == "" {
				return malformed("empty summary of document %d", o.Index)
			}
			seen[o.Index] = true
			sums[o.Index] = Summary{ID: r.Documents[o.Index].ID, Text: cutWords(o.Text, r.MaxChars)}
		}
		if slices.Contains(seen, false) {
			return malformed("a document has no summary")
		}
		return nil
	})
	if reason != "" {
		sums = make([]Summary, len(r.Documents))
		for i, d := range r.Documents {
			sums[i] = Summary{ID: d.ID, Text: extractive(d, r.Query, r.MaxChars)}
		}
	}
	return &Summaries{Summaries: sums, Origin: s.origin(CapSummarize, reason, start)}, nil
}

// sentences splits text at sentence ends (. ! ? followed by a space) and
// line breaks.
func sentences(text string) []string {
	var out []string
	var b strings.Builder
	rs := []rune(text)
	flush := func() {
		if s := strings.TrimSpace(b.String()); s != "" {
			out = append(out, s)
		}
		b.Reset()
	}
	for i, r := range rs {
		if r == '\n' || r == '\r' {
			flush()
			continue
		}
		b.WriteRune(r)
		if (r == '.' || r == '!' || r == '?') && (i+1 == len(rs) || unicode.IsSpace(rs[i+1])) {
			flush()
		}
	}
	flush()
	return out
}

// extractive summarises a document by its own sentences: each scored by
// the query's terms it holds (by stem) and by its position (earlier is
// better), the best kept in their original order within maxChars and cut
// at a word boundary.
func extractive(d Document, query string, maxChars int) string {
	var sents []string
	for _, f := range d.Fields {
		sents = append(sents, sentences(f.Text)...)
	}
	if len(sents) == 0 {
		return ""
	}
	q := map[string]bool{}
	for _, w := range localai.ContentWords(query) {
		q[localai.Stem(w)] = true
	}
	type scored struct {
		i     int
		score float64
	}
	ss := make([]scored, len(sents))
	for i, s := range sents {
		hits := map[string]bool{}
		for _, w := range localai.ContentWords(s) {
			if st := localai.Stem(w); q[st] {
				hits[st] = true
			}
		}
		ss[i] = scored{i, 2*float64(len(hits)) + 1/float64(1+i)}
	}
	slices.SortStableFunc(ss, func(a, b scored) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return a.i - b.i
	})
	var keep []int
	used := 0
	for _, s := range ss {
		l := len([]rune(sents[s.i])) + 1
		if len(keep) > 0 && used+l > maxChars {
			continue
		}
		keep = append(keep, s.i)
		used += l
	}
	slices.Sort(keep)
	parts := make([]string, len(keep))
	for i, k := range keep {
		parts[i] = sents[k]
	}
	return cutWords(strings.Join(parts, " "), maxChars)
}
