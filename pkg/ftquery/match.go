package ftquery

import (
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Matching finds terms in result text the way the server matched them:
// words are cut with the server's tokenisation (IsWordChar), compared like
// utf8mb4_unicode_ci (fold: case, accents, compatibility forms), a prefix
// matches the start of a word, a phrase matches consecutive words.

// ftTerm is a Term prepared for matching: its words folded.
type ftTerm struct {
	words  []string
	ascii  []bool // words[i] is ASCII
	prefix bool
	first  byte // first byte of words[0] when ASCII, else 0
}

func prepare(terms []Term) []ftTerm {
	out := make([]ftTerm, 0, len(terms))
	for _, t := range terms {
		var ws []string
		for _, w := range t.Words {
			for _, part := range Words(w) { // defensive: callers may build Terms by hand
				if f := fold(part); f != "" { // a lone combining mark folds to nothing
					ws = append(ws, f)
				}
			}
		}
		if len(ws) == 0 {
			continue
		}
		ft := ftTerm{words: ws, ascii: make([]bool, len(ws)), prefix: t.Prefix}
		for i, w := range ws {
			ft.ascii[i] = isASCII(w)
		}
		if ft.ascii[0] {
			ft.first = ws[0][0]
		}
		out = append(out, ft)
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// hit is one occurrence of a term: the tokens first..last (inclusive).
type hit struct {
	first, last int
	term        int
}

// scan holds one text's words and the hits of the terms in it. Buffers are
// pooled: search pages call these functions for every result column.
type scan struct {
	text   string
	spans  []span
	folded map[string]string // fold of non-ASCII words, computed on demand
	runes  int
	hits   []hit
	marks  []mark
	count  []int
}

// counts returns a zeroed counter per term.
func (s *scan) counts(n int) []int {
	if cap(s.count) < n {
		s.count = make([]int, n)
	}
	s.count = s.count[:n]
	clear(s.count)
	return s.count
}

var scanPool = sync.Pool{New: func() any { return &scan{folded: map[string]string{}} }}

func newScan(text string) *scan {
	s := scanPool.Get().(*scan)
	s.text = text
	s.spans, s.runes = appendSpans(s.spans[:0], text)
	s.hits = s.hits[:0]
	return s
}

func (s *scan) release() {
	if cap(s.spans) > 1<<16 {
		return // do not keep huge buffers
	}
	s.text = ""
	clear(s.folded)
	scanPool.Put(s)
}

// word reports whether word i equals (or, with prefix, starts with) the
// folded term word tw.
func (s *scan) word(i int, tw string, twASCII, prefix bool) bool {
	sp := &s.spans[i]
	if sp.ascii {
		n := int(sp.end - sp.start)
		if !twASCII || n < len(tw) || (!prefix && n != len(tw)) || sp.first != tw[0] {
			return false
		}
		w := s.text[sp.start:sp.end]
		for k := 1; k < len(tw); k++ {
			if lowerASCII(w[k]) != tw[k] {
				return false
			}
		}
		return true
	}
	w := s.text[sp.start:sp.end]
	f, ok := s.folded[w]
	if !ok {
		f = fold(w)
		s.folded[w] = f
	}
	if prefix {
		return strings.HasPrefix(f, tw)
	}
	return f == tw
}

// at reports whether term t occurs at word i.
func (s *scan) at(i int, t *ftTerm) bool {
	n := len(t.words)
	if i+n > len(s.spans) {
		return false
	}
	if sp := &s.spans[i]; sp.ascii && sp.first != t.first {
		return false // the common case: a quick no
	}
	for k := 0; k < n; k++ {
		if !s.word(i+k, t.words[k], t.ascii[k], t.prefix && k == n-1) {
			return false
		}
	}
	return true
}

// find records every hit; with first it stops at the first one.
func (s *scan) find(terms []ftTerm, first bool) {
	// Most words are ASCII and start with a letter no term starts with:
	// a bitset of the terms' first bytes rejects them at once.
	var firsts [4]uint64
	for i := range terms {
		c := terms[i].first
		firsts[c/64] |= 1 << (c % 64)
	}
	for i := range s.spans {
		if sp := &s.spans[i]; sp.ascii && firsts[sp.first/64]&(1<<(sp.first%64)) == 0 {
			continue
		}
		for ti := range terms {
			if s.at(i, &terms[ti]) {
				s.hits = append(s.hits, hit{first: i, last: i + len(terms[ti].words) - 1, term: ti})
				if first {
					return
				}
			}
		}
	}
}

// Matcher finds one query's terms in many texts. Build it once per search
// page (NewMatcher folds the terms once) and call its methods for every
// result column; it is safe for concurrent use. The package functions
// Matches, Snippet and Highlight are shorthands that build one per call.
type Matcher struct {
	terms []ftTerm
}

// NewMatcher prepares terms (usually Compiled.Terms) for matching.
func NewMatcher(terms []Term) *Matcher { return &Matcher{terms: prepare(terms)} }

// Matches reports whether text contains any of terms, on word boundaries,
// case- and accent-insensitively like utf8mb4_unicode_ci (café = CAFE =
// cafe). A prefix term matches words starting with it; a phrase matches its
// words consecutive (punctuation between them is allowed, as on the server).
func Matches(text string, terms []Term) bool { return NewMatcher(terms).Matches(text) }

// Matches reports whether text contains any of the terms (see Matches).
func (m *Matcher) Matches(text string) bool {
	if len(m.terms) == 0 || text == "" {
		return false
	}
	s := newScan(text)
	defer s.release()
	s.find(m.terms, true)
	return len(s.hits) > 0
}

const ellipsis = "…"

// Snippet returns plain text of at most maxRunes runes (the "…" marks
// included) from text: the window holding the most distinct matched terms
// (ties: the earliest), widened around them with context, cut on word
// boundaries, with "…" where the text was cut. When nothing matches it is
// the start of the text; a text that fits is returned whole.
func Snippet(text string, terms []Term, maxRunes int) string {
	return NewMatcher(terms).Snippet(text, maxRunes)
}

// Snippet returns the best window of text (see Snippet).
func (m *Matcher) Snippet(text string, maxRunes int) string {
	if maxRunes <= 0 || text == "" {
		return ""
	}
	if len(text) <= maxRunes { // fewer bytes than maxRunes: fewer runes too
		return text
	}
	s := newScan(text)
	defer s.release()
	if len(m.terms) > 0 {
		s.find(m.terms, false)
	}
	return s.snippet(len(m.terms), maxRunes)
}

// Excerpt is what a search result shows of one column: whether the terms
// matched it, its snippet and its highlighted fragments.
type Excerpt struct {
	Matched    bool
	Snippet    string
	Highlights []string
}

// Excerpt computes Matches, Snippet and Highlight of text in one pass over
// it, about three times cheaper than calling the three.
func (m *Matcher) Excerpt(text string, maxRunes, maxFragments, fragmentRunes int) Excerpt {
	if text == "" {
		return Excerpt{}
	}
	s := newScan(text)
	defer s.release()
	if len(m.terms) > 0 {
		s.find(m.terms, false)
	}
	e := Excerpt{Matched: len(s.hits) > 0}
	if maxRunes > 0 {
		e.Snippet = s.snippet(len(m.terms), maxRunes)
	}
	if e.Matched && maxFragments > 0 {
		e.Highlights = s.highlight(maxFragments, fragmentRunes)
	}
	return e
}

// snippet is Snippet on a scanned text whose hits are found.
func (s *scan) snippet(nterms, maxRunes int) string {
	if s.runes <= maxRunes {
		return s.text
	}
	// Room for "…" at both ends, unless the snippet is too small for them.
	ell := maxRunes >= 3
	budget := maxRunes
	if ell {
		budget = maxRunes - 2
	}
	if len(s.hits) == 0 {
		if ell {
			budget++ // only the trailing "…"
		}
		return s.cut(0, s.byteAtRune(budget), budget, ell)
	}
	// Sliding window over hits: the most distinct terms within budget runes.
	counts := s.counts(nterms)
	bestL, bestR, bestN := 0, 0, -1
	r, distinct := 0, 0
	for l := range s.hits {
		if r < l {
			r = l
		}
		for r < len(s.hits) && int(s.spans[s.hits[r].last].re-s.spans[s.hits[l].first].rs) <= budget {
			if counts[s.hits[r].term] == 0 {
				distinct++
			}
			counts[s.hits[r].term]++
			r++
		}
		n := distinct
		if r == l { // a single hit longer than the budget
			n = 1
		}
		if n > bestN {
			bestL, bestR, bestN = l, max(r, l+1), n
		}
		if r > l {
			if counts[s.hits[l].term]--; counts[s.hits[l].term] == 0 {
				distinct--
			}
		}
	}
	ws := s.spans[s.hits[bestL].first]
	we := ws
	for _, h := range s.hits[bestL:bestR] {
		if e := s.spans[h.last]; e.re > we.re {
			we = e
		}
	}
	if int(we.re-ws.rs) > budget { // one hit longer than the budget: cut inside it
		be := s.byteAtRune(int(ws.rs) + budget)
		if be <= int(ws.start) {
			be = int(ws.start) + runeBytes(s.text[ws.start:], budget)
		}
		return s.cut(int(ws.start), be, budget, ell)
	}
	bs, be := s.widen(int(ws.rs), int(we.re), budget)
	if ell && (bs == 0 || be == len(s.text)) {
		// Only one "…" is needed: use its room too.
		bs, be = s.widen(int(ws.rs), int(we.re), budget+1)
		return s.cut(bs, be, budget+1, ell)
	}
	return s.cut(bs, be, budget, ell)
}

// widen grows the rune window [rs, re) to about budget runes, half on each
// side (the rest to the other side at a text end), and snaps it to word
// boundaries. It returns byte offsets.
func (s *scan) widen(rs, re, budget int) (int, int) {
	extra := budget - (re - rs)
	left := extra / 2
	right := extra - left
	if rs-left < 0 {
		right += left - rs
		left = rs
	}
	if re+right > s.runes {
		left += re + right - s.runes
		right = s.runes - re
		if rs-left < 0 {
			left = rs
		}
	}
	newRS, newRE := rs-left, re+right
	bs, be := 0, len(s.text)
	if newRS > 0 {
		// first word starting at or after newRS (never after rs)
		k := sort.Search(len(s.spans), func(i int) bool { return int(s.spans[i].rs) >= newRS })
		bs = int(s.spans[k].start)
	}
	if newRE < s.runes {
		// last word ending at or before newRE (never before re)
		k := sort.Search(len(s.spans), func(i int) bool { return int(s.spans[i].re) > newRE })
		be = int(s.spans[k-1].end)
	}
	return bs, be
}

// byteAtRune returns the byte offset of rune n of the text, snapped back to
// the end of the last whole word before it when that is not the text's
// start (so a cut does not split a word).
func (s *scan) byteAtRune(n int) int {
	if n >= s.runes {
		return len(s.text)
	}
	k := sort.Search(len(s.spans), func(i int) bool { return int(s.spans[i].re) > n })
	if k > 0 {
		return int(s.spans[k-1].end)
	}
	return runeBytes(s.text, n)
}

// runeBytes returns the byte length of the first n runes of s.
func runeBytes(s string, n int) int {
	b := 0
	for i := 0; i < n && b < len(s); i++ {
		_, size := utf8.DecodeRuneInString(s[b:])
		b += size
	}
	return b
}

// cut returns text[bs:be], with "…" (when ell) where it does not reach the
// text's ends, trimmed of spaces at the cuts and kept within budget runes.
func (s *scan) cut(bs, be, budget int, ell bool) string {
	if be < bs {
		be = bs
	}
	piece := s.text[bs:be]
	if bs > 0 {
		piece = strings.TrimLeftFunc(piece, unicode.IsSpace)
	}
	if be < len(s.text) {
		piece = strings.TrimRightFunc(piece, unicode.IsSpace)
	}
	if utf8.RuneCountInString(piece) > budget { // defensive; widen stays within budget
		b := runeBytes(piece, budget)
		piece = piece[:b]
		be = bs + b
	}
	var sb strings.Builder
	sb.Grow(len(piece) + 2*len(ellipsis))
	if ell && bs > 0 {
		sb.WriteString(ellipsis)
	}
	sb.WriteString(piece)
	if ell && be < len(s.text) {
		sb.WriteString(ellipsis)
	}
	return sb.String()
}

// mark is a byte range to wrap in <mark>, with the terms it matched.
type mark struct {
	start, end int // bytes
	rs, re     int // runes
	terms      uint64
}

// Highlight returns up to maxFragments fragments of text of about
// fragmentRunes runes around matches, in text order. Each fragment is
// HTML-escaped (html.EscapeString semantics: & < > ' ") with every match
// wrapped in <mark>…</mark>; the text's own case and accents are kept.
// When there are more candidate fragments than maxFragments, those with the
// most distinct terms win (ties: the earliest). No match gives nil.
func Highlight(text string, terms []Term, maxFragments, fragmentRunes int) []string {
	return NewMatcher(terms).Highlight(text, maxFragments, fragmentRunes)
}

// Highlight returns highlighted fragments of text (see Highlight).
func (m *Matcher) Highlight(text string, maxFragments, fragmentRunes int) []string {
	if maxFragments <= 0 || text == "" || len(m.terms) == 0 {
		return nil
	}
	s := newScan(text)
	defer s.release()
	s.find(m.terms, false)
	if len(s.hits) == 0 {
		return nil
	}
	return s.highlight(maxFragments, fragmentRunes)
}

// highlight is Highlight on a scanned text with hits (found in text order).
func (s *scan) highlight(maxFragments, fragmentRunes int) []string {
	// Marks: hits in text order, overlapping ones merged.
	marks := s.marks[:0]
	defer func() { s.marks = marks[:0] }()
	for _, h := range s.hits {
		a, b := s.spans[h.first], s.spans[h.last]
		bit := uint64(1) << (uint(h.term) % 64)
		if n := len(marks); n > 0 && int(a.start) < marks[n-1].end {
			if int(b.end) > marks[n-1].end {
				marks[n-1].end, marks[n-1].re = int(b.end), int(b.re)
			}
			marks[n-1].terms |= bit
			continue
		}
		marks = append(marks, mark{start: int(a.start), end: int(b.end), rs: int(a.rs), re: int(b.re), terms: bit})
	}
	// Fragments: greedy in text order, each holding the marks that fit.
	type frag struct {
		first, last int // marks
		bs, be      int // bytes
		score       int
	}
	var frags []frag
	prevEnd := 0
	for i := 0; i < len(marks); {
		j := i
		var terms uint64
		for j < len(marks) && (j == i || marks[j].re-marks[i].rs <= fragmentRunes) {
			terms |= marks[j].terms
			j++
		}
		bs, be := marks[i].start, marks[j-1].end
		if fragmentRunes > marks[j-1].re-marks[i].rs {
			bs, be = s.widen(marks[i].rs, marks[j-1].re, fragmentRunes)
		}
		if bs < prevEnd {
			bs = prevEnd
		}
		if j < len(marks) && be > marks[j].start {
			be = marks[j].start
		}
		frags = append(frags, frag{first: i, last: j - 1, bs: bs, be: be, score: popcount(terms)})
		prevEnd = be
		i = j
	}
	if len(frags) > maxFragments {
		order := make([]int, len(frags))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return frags[order[a]].score > frags[order[b]].score })
		keep := order[:maxFragments]
		sort.Ints(keep)
		chosen := make([]frag, 0, maxFragments)
		for _, k := range keep {
			chosen = append(chosen, frags[k])
		}
		frags = chosen
	}
	out := make([]string, 0, len(frags))
	var b strings.Builder
	for _, f := range frags {
		b.Reset()
		pos := f.bs
		for m := f.first; m <= f.last; m++ {
			mk := marks[m]
			escapeHTML(&b, strings.TrimLeftFunc(s.text[pos:mk.start], trimAt(pos == f.bs)))
			b.WriteString("<mark>")
			escapeHTML(&b, s.text[mk.start:mk.end])
			b.WriteString("</mark>")
			pos = mk.end
		}
		escapeHTML(&b, strings.TrimRightFunc(s.text[pos:f.be], unicode.IsSpace))
		out = append(out, b.String())
	}
	return out
}

// trimAt trims spaces only at the start of a fragment.
func trimAt(start bool) func(rune) bool {
	if start {
		return unicode.IsSpace
	}
	return func(rune) bool { return false }
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// escapeHTML writes s escaped exactly as html.EscapeString does.
func escapeHTML(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\'':
			esc = "&#39;"
		case '"':
			esc = "&#34;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.WriteString(s[last:])
}
