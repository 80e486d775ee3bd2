package ftquery

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// The parser never fails: it repairs what it must (unbalanced parentheses
// or quotes, operators with nothing to apply to) and says so in Problems.
// Characters that are neither word characters nor syntax (~ < > @ & | ...)
// separate words.

// maxDepth is the deepest parenthesis nesting kept. InnoDB refuses boolean
// queries with more than 32 nested groups (measured on MariaDB 10.11:
// 33 nested "+(" fail with error 128 "Table handler out of memory",
// DB_FTS_TOO_MANY_NESTED_EXP). One user level can become two groups in the
// output (an OR inside a parenthesised AND: "(a OR b c)" -> "+(+(a b) +c)"),
// a top-level OR one more, and punctuated prefixes ("x OR foo*bar") one
// more at the bottom: 2*14+2 = 30 <= 32. Deeper parentheses are ignored.
const maxDepth = 14

type nodeKind uint8

const (
	kindWord   nodeKind = iota // words[0], prefix
	kindPhrase                 // words, consecutive
	kindNot                    // kids[0] excluded
	kindAnd                    // every kid
	kindOr                     // any kid
)

// node is one element of the query tree.
type node struct {
	kind   nodeKind
	words  []string
	prefix bool
	kids   []*node
}

// Query is parsed user text. Parsing never fails on content: any Unicode,
// any operator soup gives a Query; what the parser had to repair or ignore
// is listed by Problems. A Query is immutable and safe for concurrent use.
type Query struct {
	text     string
	root     *node
	problems []string
}

// Parse parses user text in the Altus v1 boolean syntax (see the package
// documentation). It never fails and never panics.
func Parse(text string) *Query {
	p := &parser{}
	p.lex(text)
	p.balance()
	root := p.parseSeq(false)
	return &Query{text: text, root: normalize(root), problems: p.problems}
}

// Text returns the text the query was parsed from.
func (q *Query) Text() string { return q.text }

// Problems lists syntax the parser repaired or ignored (e.g. an unbalanced
// parenthesis), as sentences for people, each at most once, in the order met.
func (q *Query) Problems() []string { return slices.Clone(q.problems) }

// Problem messages, each reported at most once per query.
const (
	problemUnmatchedClose = "a closing parenthesis without an opening one was ignored"
	problemUnclosedOpen   = "an opening parenthesis was not closed; it was closed at the end of the query"
	problemTooDeep        = "parentheses nested more than 14 levels deep were ignored"
	problemEmptyGroup     = "empty parentheses were ignored"
	problemUnclosedQuote  = "a quotation mark was not closed; the phrase runs to the end of the query"
	problemDanglingOp     = "an operator (+, -, NOT) with no term after it was ignored"
	problemDanglingOr     = "OR needs a term on each side; a lone OR was ignored"
	problemDanglingAnd    = "AND needs a term on each side; a lone AND was ignored"
	problemNotInOr        = "NOT inside an OR group excludes its term from the whole group"
)

type tokKind uint8

const (
	tokTerm tokKind = iota
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokNot
	tokPlus
	tokMinus
)

type token struct {
	kind tokKind
	term *node
	drop bool // a parenthesis ignored by balance
}

type parser struct {
	toks     []token
	pos      int
	problems []string
}

func (p *parser) problem(msg string) {
	for _, m := range p.problems {
		if m == msg {
			return
		}
	}
	p.problems = append(p.problems, msg)
}

func isSpace(r rune) bool { return unicode.IsSpace(r) || r == 0 }

// lex splits text into tokens. Operators + and - count only at the start
// of a term (after a space, a parenthesis or another operator), as in the
// servers' boolean parser; inside a word they are punctuation.
func (p *parser) lex(s string) {
	atStart := true // an operator may start here
	afterOp := false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case isSpace(r):
			i += n
			atStart, afterOp = true, false
		case r == '(':
			p.toks = append(p.toks, token{kind: tokLParen})
			i++
			atStart, afterOp = true, false
		case r == ')':
			p.toks = append(p.toks, token{kind: tokRParen})
			i++
			atStart, afterOp = true, false
		case r == '"':
			end := i + 1
			for end < len(s) && s[end] != '"' {
				end++
			}
			words := Words(s[i+1 : end])
			if end >= len(s) {
				p.problem(problemUnclosedQuote)
				i = len(s)
			} else {
				i = end + 1
				for i < len(s) && s[i] == '*' { // a phrase has no prefix form
					i++
				}
			}
			if t := phraseNode(words); t != nil {
				p.toks = append(p.toks, token{kind: tokTerm, term: t})
			}
			atStart, afterOp = false, false
		case atStart && (r == '+' || r == '-'):
			if i+1 == len(s) || isSpace(rune(s[i+1])) {
				// "a - b": an operator must touch its term, as in the
				// servers' parser, where a space resets it.
				p.problem(problemDanglingOp)
				i++
				continue
			}
			k := tokPlus
			if r == '-' {
				k = tokMinus
			}
			p.toks = append(p.toks, token{kind: k})
			i++
			afterOp = true
		default:
			end := i
			for end < len(s) {
				r, m := utf8.DecodeRuneInString(s[end:])
				if isSpace(r) || r == '(' || r == ')' || r == '"' {
					break
				}
				end += m
			}
			chunk := s[i:end]
			i = end
			if !afterOp {
				switch chunk {
				case "AND":
					p.toks = append(p.toks, token{kind: tokAnd})
					atStart = true
					continue
				case "OR":
					p.toks = append(p.toks, token{kind: tokOr})
					atStart = true
					continue
				case "NOT":
					p.toks = append(p.toks, token{kind: tokNot})
					atStart = true
					continue
				}
			}
			if t := chunkNode(chunk); t != nil {
				p.toks = append(p.toks, token{kind: tokTerm, term: t})
			}
			atStart, afterOp = false, false
		}
	}
}

// phraseNode is a quoted phrase: one word is a plain word, none is nothing.
func phraseNode(words []string) *node {
	switch len(words) {
	case 0:
		return nil
	case 1:
		return &node{kind: kindWord, words: words}
	}
	return &node{kind: kindPhrase, words: words}
}

// chunkNode turns a run of non-space text into terms: words joined by
// punctuation form a phrase; '*' right after a word makes it a prefix and
// ends the segment. A segment with a prefix and several words cannot be a
// phrase in MySQL syntax, so its words are required separately.
func chunkNode(chunk string) *node {
	var segs []*node
	var words []string
	flush := func(prefix bool) {
		switch {
		case len(words) == 0:
		case prefix && len(words) > 1:
			for k, w := range words {
				segs = append(segs, &node{kind: kindWord, words: []string{w}, prefix: k == len(words)-1})
			}
		case len(words) == 1:
			segs = append(segs, &node{kind: kindWord, words: []string{words[0]}, prefix: prefix})
		default:
			segs = append(segs, &node{kind: kindPhrase, words: words})
		}
		words = nil
	}
	for i := 0; i < len(chunk); {
		w, n := wordAt(chunk, i)
		if !w {
			if chunk[i] == '*' && i > 0 && len(words) > 0 && isWordEnd(chunk, i) {
				flush(true)
			}
			i += n
			continue
		}
		j := i + n
		for j < len(chunk) {
			w, m := wordAt(chunk, j)
			if !w {
				break
			}
			j += m
		}
		words = append(words, chunk[i:j])
		i = j
	}
	flush(false)
	switch len(segs) {
	case 0:
		return nil
	case 1:
		return segs[0]
	}
	return &node{kind: kindAnd, kids: segs}
}

// isWordEnd reports whether chunk[i] directly follows a word character.
func isWordEnd(chunk string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(chunk[:i])
	return IsWordChar(r)
}

// balance drops closing parentheses that close nothing and parentheses
// nested deeper than maxDepth; unclosed ones are closed by the parser.
func (p *parser) balance() {
	depth := 0
	var open []int // indexes of kept '(' not yet closed
	for i := range p.toks {
		switch p.toks[i].kind {
		case tokLParen:
			depth++
			if depth > maxDepth {
				p.toks[i].drop = true
				p.problem(problemTooDeep)
			} else {
				open = append(open, i)
			}
		case tokRParen:
			if depth == 0 {
				p.toks[i].drop = true
				p.problem(problemUnmatchedClose)
				continue
			}
			if depth > maxDepth {
				p.toks[i].drop = true
			} else {
				open = open[:len(open)-1]
			}
			depth--
		}
	}
	if len(open) > 0 {
		p.problem(problemUnclosedOpen)
	}
	kept := p.toks[:0]
	for _, t := range p.toks {
		if !t.drop {
			kept = append(kept, t)
		}
	}
	p.toks = kept
}

func (p *parser) peek() (tokKind, bool) {
	if p.pos >= len(p.toks) {
		return 0, false
	}
	return p.toks[p.pos].kind, true
}

// parseSeq parses items up to the end (or a closing parenthesis inside a
// group) and joins them with AND.
func (p *parser) parseSeq(inGroup bool) *node {
	var items []*node
	for {
		k, ok := p.peek()
		if !ok {
			break
		}
		switch k {
		case tokRParen:
			if inGroup {
				return andNode(items)
			}
			p.pos++ // unreachable after balance; kept for safety
			continue
		case tokAnd:
			p.pos++
			if next, ok := p.peek(); len(items) == 0 || !ok || next == tokRParen || next == tokOr || next == tokAnd {
				p.problem(problemDanglingAnd)
			}
			continue
		case tokOr:
			p.pos++
			p.problem(problemDanglingOr)
			continue
		}
		if n := p.parseOr(); n != nil {
			items = append(items, n)
		}
	}
	return andNode(items)
}

func andNode(items []*node) *node {
	switch len(items) {
	case 0:
		return nil
	case 1:
		return items[0]
	}
	return &node{kind: kindAnd, kids: items}
}

// parseOr parses unary (OR unary)*.
func (p *parser) parseOr() *node {
	first := p.parseUnary()
	kids := []*node{}
	if first != nil {
		kids = append(kids, first)
	}
	for {
		k, ok := p.peek()
		if !ok || k != tokOr {
			break
		}
		p.pos++
		next := p.parseUnary()
		if next == nil || len(kids) == 0 {
			p.problem(problemDanglingOr)
		}
		if next != nil {
			kids = append(kids, next)
		}
	}
	switch len(kids) {
	case 0:
		return nil
	case 1:
		return kids[0]
	}
	neg := 0
	for _, k := range kids {
		if k.kind == kindNot {
			neg++
		}
	}
	if neg > 0 && neg < len(kids) {
		p.problem(problemNotInOr)
	}
	return &node{kind: kindOr, kids: kids}
}

// parseUnary parses operators then one term or group. Of several operators
// in a row the last wins, as in the servers' boolean parser ("+-a" excludes).
func (p *parser) parseUnary() *node {
	neg, sawOp := false, false
	for {
		k, ok := p.peek()
		if !ok {
			break
		}
		switch k {
		case tokPlus:
			neg, sawOp = false, true
			p.pos++
			continue
		case tokMinus, tokNot:
			neg, sawOp = true, true
			p.pos++
			continue
		}
		break
	}
	var n *node
	if k, ok := p.peek(); ok {
		switch k {
		case tokTerm:
			n = p.toks[p.pos].term
			p.pos++
		case tokLParen:
			p.pos++
			n = p.parseSeq(true)
			if k, ok := p.peek(); ok && k == tokRParen {
				p.pos++
			}
			if n == nil {
				p.problem(problemEmptyGroup)
			}
		}
	}
	if n == nil {
		if sawOp {
			p.problem(problemDanglingOp)
		}
		return nil
	}
	if neg {
		return &node{kind: kindNot, kids: []*node{n}}
	}
	return n
}

// normalize simplifies a tree without changing what it matches: groups of
// one are unwrapped, AND in AND and OR in OR are flattened, NOT NOT x is x,
// and an OR of exclusions only becomes the exclusion of their AND
// (NOT a OR NOT b = NOT (a AND b)), which MySQL syntax can express.
func normalize(n *node) *node {
	if n == nil {
		return nil
	}
	switch n.kind {
	case kindNot:
		k := normalize(n.kids[0])
		if k == nil {
			return nil
		}
		if k.kind == kindNot {
			return k.kids[0]
		}
		return &node{kind: kindNot, kids: []*node{k}}
	case kindAnd, kindOr:
		var kids []*node
		for _, k := range n.kids {
			k = normalize(k)
			if k == nil {
				continue
			}
			if k.kind == n.kind {
				kids = append(kids, k.kids...)
			} else {
				kids = append(kids, k)
			}
		}
		switch len(kids) {
		case 0:
			return nil
		case 1:
			return kids[0]
		}
		if n.kind == kindOr {
			allNot := true
			for _, k := range kids {
				if k.kind != kindNot {
					allNot = false
					break
				}
			}
			if allNot {
				inner := make([]*node, len(kids))
				for i, k := range kids {
					inner[i] = k.kids[0]
				}
				return normalize(&node{kind: kindNot, kids: []*node{{kind: kindAnd, kids: inner}}})
			}
		}
		return &node{kind: n.kind, kids: kids}
	}
	return n
}
