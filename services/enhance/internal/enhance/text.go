package enhance

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/altus4/altus/pkg/localai"
)

// numberForms returns the singular and plural forms of an English noun by
// the common rules (not irregular plurals), without w itself.
func numberForms(w string) []string {
	if utf8.RuneCountInString(w) < 3 || !isAlpha(w) {
		return nil
	}
	var out []string
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		out = append(out, w[:len(w)-3]+"y")
	case strings.HasSuffix(w, "ses") || strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "zes") ||
		strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes"):
		out = append(out, w[:len(w)-2])
	case strings.HasSuffix(w, "ss") || strings.HasSuffix(w, "us") || strings.HasSuffix(w, "is"):
		out = append(out, w+"es")
	case strings.HasSuffix(w, "s"):
		out = append(out, w[:len(w)-1])
	case strings.HasSuffix(w, "y") && !isVowel(rune(w[len(w)-2])):
		out = append(out, w[:len(w)-1]+"ies")
	case strings.HasSuffix(w, "x") || strings.HasSuffix(w, "z") || strings.HasSuffix(w, "ch") || strings.HasSuffix(w, "sh"):
		out = append(out, w+"es")
	default:
		out = append(out, w+"s")
	}
	return out
}

func isAlpha(w string) bool {
	for _, r := range w {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

func isVowel(r rune) bool { return strings.ContainsRune("aeiou", r) }

// variants returns the stems and singular/plural forms of the query's
// content words that differ from the words themselves, deduplicated, in
// query order.
func variants(query string) []string {
	seen := map[string]bool{}
	for _, w := range localai.Words(query) {
		seen[w] = true
	}
	var out []string
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, w := range localai.ContentWords(query) {
		add(localai.Stem(w))
		for _, f := range numberForms(w) {
			add(f)
		}
	}
	return out
}

// cutRunes cuts s to at most n runes.
func cutRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// cutWords cuts s to at most n runes at a word boundary, marking the cut
// with an ellipsis (counted within n).
func cutWords(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return cutRunes(s, n)
	}
	head := cutRunes(s, n-1)
	if i := strings.LastIndexFunc(head, unicode.IsSpace); i > 0 {
		head = head[:i]
	}
	head = strings.TrimRightFunc(head, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
	if head == "" {
		head = cutRunes(s, n-1)
	}
	return head + "…"
}

// damerauLevenshtein returns the optimal string alignment distance of a
// and b (insertions, deletions, substitutions and transpositions of
// adjacent runes), or max+1 as soon as it exceeds max.
func damerauLevenshtein(a, b string, max int) int {
	if d := utf8.RuneCountInString(a) - utf8.RuneCountInString(b); d > max || -d > max {
		return max + 1
	}
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
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
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > max {
			return max + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	if prev[len(rb)] > max {
		return max + 1
	}
	return prev[len(rb)]
}
