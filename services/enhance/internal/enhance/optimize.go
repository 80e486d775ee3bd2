package enhance

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/altus4/altus/pkg/localai"
)

// OptimizeRequest asks for rewrites of a query.
type OptimizeRequest struct {
	Query string
	// Context names the tables and columns searched.
	Context []string
	// MaxRewrites bounds Rewrites (0: 3; at most 10).
	MaxRewrites int
}

// Optimization is an optimised query.
type Optimization struct {
	Rewrites []string
	Synonyms []string
	Intent   string
	// Variants are Snowball stems and singular/plural forms of the query's terms.
	Variants []string
	Origin   Origin
}

// Intents the local rules recognise.
const (
	IntentInformational = "informational"
	IntentNavigational  = "navigational"
	IntentTransactional = "transactional"
)

type optimizeOutput struct {
	Rewrites []string `json:"rewrites"`
	Synonyms []string `json:"synonyms"`
	Intent   string   `json:"intent"`
}

var optimizeSchema = object(map[string]any{
	"rewrites": array(stringSchema()),
	"synonyms": array(stringSchema()),
	"intent":   stringSchema(),
})

// OptimizeQuery proposes rewrites, synonyms and the intent of a query.
func (s *Service) OptimizeQuery(ctx context.Context, r OptimizeRequest) (*Optimization, error) {
	start := time.Now()
	if err := r.validate(); err != nil {
		return nil, err
	}
	if r.MaxRewrites == 0 {
		r.MaxRewrites = 3
	}
	var out optimizeOutput
	reason := s.complete(ctx, CapOptimize, func() Completion {
		return Completion{
			Name:   "optimize_query",
			Schema: optimizeSchema,
			System: "You improve full-text search queries over a user's database. Give up to max_rewrites alternative phrasings " +
				"(best first, never the query itself), synonyms of its terms, and its intent as one lower-case word " +
				"(informational, navigational, transactional or your own).",
			User: mustJSON(map[string]any{"query": r.Query, "context": r.Context, "max_rewrites": r.MaxRewrites}),
		}
	}, &out, func() error {
		if strings.TrimSpace(out.Intent) == "" {
			return malformed("empty intent")
		}
		return nil
	})
	res := &Optimization{Variants: variants(r.Query)}
	if reason == "" {
		res.Rewrites = cleanList(out.Rewrites, r.Query, r.MaxRewrites)
		res.Synonyms = cleanList(out.Synonyms, "", 50)
		res.Intent = strings.ToLower(strings.TrimSpace(out.Intent))
	} else {
		res.Rewrites, res.Synonyms, res.Intent = optimizeFallback(r)
	}
	res.Origin = s.origin(CapOptimize, reason, start)
	return res, nil
}

// cleanList trims, drops empties, duplicates (case-insensitively) and
// except, and keeps at most n.
func cleanList(list []string, except string, n int) []string {
	seen := map[string]bool{strings.ToLower(strings.TrimSpace(except)): true}
	out := []string{}
	for _, v := range list {
		v = strings.TrimSpace(v)
		k := strings.ToLower(v)
		if v == "" || seen[k] || len(out) == n {
			continue
		}
		seen[k] = true
		out = append(out, v)
	}
	return out
}

// optimizeFallback rewrites the query from its own words: without
// stopwords, with singular/plural forms swapped, and with Snowball stems as
// prefixes; synonyms
// from a small thesaurus; the intent from rules.
func optimizeFallback(r OptimizeRequest) (rewrites, synonyms []string, intent string) {
	all := localai.Words(r.Query)
	content := localai.ContentWords(r.Query)
	var cands []string
	if len(content) > 0 && len(content) < len(all) {
		cands = append(cands, strings.Join(content, " "))
	}
	if len(content) > 0 {
		// Plurals made singular; when there is none, the last word (most
		// often the head noun) made plural.
		forms := slices.Clone(content)
		changed := false
		for i, w := range content {
			if f := numberForms(w); len(f) > 0 && len(f[0]) < len(w) {
				forms[i], changed = f[0], true
			}
		}
		if last := len(forms) - 1; !changed {
			if f := numberForms(forms[last]); len(f) > 0 {
				forms[last] = f[0]
			}
		}
		// Stems as prefixes (boolean mode) match every form of a word.
		prefix := make([]string, len(content))
		for i, w := range content {
			prefix[i] = w
			if st := localai.Stem(w); len(st) >= 3 && st != w {
				prefix[i] = st + "*"
			}
		}
		cands = append(cands, strings.Join(forms, " "), strings.Join(prefix, " "))
	}
	rewrites = cleanList(cands, strings.Join(all, " "), r.MaxRewrites)
	rewrites = slices.DeleteFunc(rewrites, func(v string) bool { return strings.EqualFold(v, r.Query) })
	synonyms = []string{}
	seen := map[string]bool{}
	for _, w := range content {
		for _, syn := range thesaurus[w] {
			if !seen[syn] && !slices.Contains(all, syn) {
				seen[syn] = true
				synonyms = append(synonyms, syn)
			}
		}
	}
	return rewrites, synonyms, intentOf(r.Query, r.Context)
}

var (
	questionWords      = []string{"what", "how", "why", "who", "when", "where", "which", "is", "are", "does", "do", "can", "should", "explain", "guide", "tutorial", "difference"}
	transactionalWords = []string{"buy", "price", "prices", "pricing", "order", "purchase", "cheap", "cost", "download", "install", "subscribe", "book", "hire", "rent", "discount", "deal", "deals", "quote"}
	navigationalWords  = []string{"login", "signin", "homepage", "site", "website", "page", "portal", "dashboard", "account", "settings", "contact"}
)

// intentOf labels a query by rules: a question is informational, words of
// buying transactional, a place to go (or the name of a table or column
// searched, or an identifier) navigational, anything else informational.
func intentOf(query string, context []string) string {
	ws := localai.Words(query)
	if strings.HasSuffix(strings.TrimSpace(query), "?") || (len(ws) > 0 && slices.Contains(questionWords, ws[0])) {
		return IntentInformational
	}
	for _, w := range ws {
		if slices.Contains(transactionalWords, w) {
			return IntentTransactional
		}
	}
	for _, w := range ws {
		if slices.Contains(navigationalWords, w) || strings.Contains(w, "://") {
			return IntentNavigational
		}
	}
	if len(ws) == 1 {
		for _, c := range context {
			if strings.EqualFold(c, ws[0]) {
				return IntentNavigational
			}
		}
		if hasDigit(ws[0]) && localai.HasLetter(ws[0]) {
			return IntentNavigational
		}
	}
	return IntentInformational
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// thesaurus holds common synonyms of search vocabulary, both ways.
var thesaurus = func() map[string][]string {
	groups := [][]string{
		{"error", "failure", "fault", "bug"},
		{"fast", "quick", "rapid", "speedy"},
		{"slow", "sluggish", "laggy"},
		{"buy", "purchase", "order"},
		{"price", "cost", "pricing"},
		{"car", "automobile", "vehicle"},
		{"phone", "mobile", "smartphone"},
		{"laptop", "notebook"},
		{"film", "movie"},
		{"big", "large", "huge"},
		{"small", "little", "tiny"},
		{"begin", "start", "launch"},
		{"end", "finish", "stop"},
		{"remove", "delete", "erase"},
		{"create", "make", "build"},
		{"fix", "repair", "patch"},
		{"help", "support", "assistance"},
		{"guide", "tutorial", "howto"},
		{"picture", "image", "photo"},
		{"doc", "document", "documentation"},
		{"user", "customer", "client"},
		{"job", "position", "vacancy"},
		{"house", "home", "residence"},
		{"cheap", "inexpensive", "affordable"},
		{"package", "library", "module"},
		{"setting", "option", "preference"},
		{"install", "setup"},
		{"search", "find", "lookup"},
	}
	m := map[string][]string{}
	for _, g := range groups {
		for _, w := range g {
			for _, o := range g {
				if o != w {
					m[w] = append(m[w], o)
				}
			}
		}
	}
	return m
}()
