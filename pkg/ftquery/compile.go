package ftquery

import (
	"strings"
	"unicode/utf8"
)

// What the servers do with words they do not index, measured on MariaDB
// 10.11 (InnoDB: innodb_ft_min_token_size=3, default stopwords; MyISAM:
// ft_min_word_len=4, built-in stopwords), which decides what Compile sends:
//
//   - A required stopword or too-short word: InnoDB returns NO rows
//     ("+database +the" finds nothing), MyISAM ignores it. So such words are
//     dropped, never sent, and listed in Compiled.Ignored.
//   - A required too-long word is ignored by both engines; it is dropped too.
//   - A phrase with stopwords or short words inside ("the database",
//     "go db driver", "how to tune") matches in both engines as long as one
//     of its words is indexed; a phrase of stopwords/short words only
//     matches nothing in MyISAM and arbitrary rows in InnoDB. So a phrase is
//     kept whole when at least one word is indexable, and dropped otherwise.
//     A too-long word inside a phrase does not stop the phrase matching.
//   - Prefixes: both engines accept prefixes shorter than the minimum
//     ("d*", "th*" work) and prefixes that are stopwords ("the*" finds
//     "thesis"). A prefix is only dropped when longer than the maximum.
//   - Exclusions of stopwords are harmless but pointless; they are dropped.
//   - The longest indexed word: InnoDB indexes words of up to
//     innodb_ft_max_token_size characters; MyISAM only words SHORTER than
//     ft_max_word_len (84 -> at most 83). See InnoDBRules and MyISAMRules.
//   - Stopwords compare like the column collation: "thé" is the stopword
//     "the" under utf8mb4_unicode_ci.
//   - A server bug no compiler can avoid: in MyISAM, an exclusion inside a
//     nested group fails when a prefix in the same group matches two
//     different words of a row ("+(+networ* -sockets)" returns a row with
//     "Networking" and "Network sockets"; InnoDB and MyISAM at the top level
//     are right). An AND group inside an AND is flattened, so this only
//     affects "x OR (prefix* -y)" on MyISAM.

// InnoDBRules returns the Rules of an InnoDB FULLTEXT index from the
// server's @@innodb_ft_min_token_size, @@innodb_ft_max_token_size and the
// index's stopwords (INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD, or the
// innodb_ft_server_stopword_table / innodb_ft_user_stopword_table in force
// when the index was built; none when innodb_ft_enable_stopword is off).
func InnoDBRules(minTokenSize, maxTokenSize int, stopwords []string) Rules {
	return Rules{MinTokenLen: minTokenSize, MaxTokenLen: maxTokenSize, Stopwords: StopwordSet(stopwords)}
}

// MyISAMRules returns the Rules of a MyISAM (or Aria) FULLTEXT index from
// the server's @@ft_min_word_len, @@ft_max_word_len and stopwords
// (MyISAMBuiltinStopwords when @@ft_stopword_file is "(built-in)", none
// when it is empty). MyISAM indexes only words shorter than ft_max_word_len
// (storage/myisam/ft_parser.c: "length < ft_max_word_len"; measured: with
// 84, an 84-character word is not found), hence MaxTokenLen = max-1.
func MyISAMRules(ftMinWordLen, ftMaxWordLen int, stopwords []string) Rules {
	maxLen := ftMaxWordLen - 1
	if ftMaxWordLen <= 0 {
		maxLen = 0
	}
	return Rules{MinTokenLen: ftMinWordLen, MaxTokenLen: maxLen, Stopwords: StopwordSet(stopwords)}
}

// StopwordSet builds the lower-cased set Rules.Stopwords expects.
func StopwordSet(words []string) map[string]struct{} {
	if len(words) == 0 {
		return nil
	}
	set := make(map[string]struct{}, len(words))
	for _, w := range words {
		set[strings.ToLower(w)] = struct{}{}
	}
	return set
}

// verdict says why a word would be dropped ("" = kept).
func (r Rules) verdict(w string, prefix bool) string {
	n := utf8.RuneCountInString(w)
	if r.MaxTokenLen > 0 && n > r.MaxTokenLen {
		return ReasonTooLong
	}
	if prefix {
		return ""
	}
	if r.isStopword(w) {
		return ReasonStopword
	}
	if r.MinTokenLen > 0 && n < r.MinTokenLen {
		return ReasonTooShort
	}
	return ""
}

func (r Rules) isStopword(w string) bool {
	if len(r.Stopwords) == 0 {
		return false
	}
	l := strings.ToLower(w)
	if _, ok := r.Stopwords[l]; ok {
		return true
	}
	if f := fold(w); f != l {
		_, ok := r.Stopwords[f]
		return ok
	}
	return false
}

// compiler holds the state of one Compile call.
type compiler struct {
	mode    Mode
	rules   Rules
	ignored []Ignored
	terms   []Term
	seen    map[string]bool // folded keys of terms
	hadNeg  bool            // the query excluded something
	hadPos  bool            // the query had a positive term before the rules
	onlyNeg bool            // what survived the rules only excludes
}

func (c *compiler) ignore(term, reason string) {
	for _, ig := range c.ignored {
		if ig.Reason == reason && strings.EqualFold(ig.Term, term) {
			return
		}
	}
	c.ignored = append(c.ignored, Ignored{Term: term, Reason: reason})
}

func (c *compiler) addTerm(t Term) {
	key := termKey(t)
	if c.seen[key] {
		return
	}
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	c.seen[key] = true
	c.terms = append(c.terms, t)
}

func termKey(t Term) string {
	var b strings.Builder
	for i, w := range t.Words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fold(w))
	}
	if t.Prefix {
		b.WriteByte('*')
	}
	return b.String()
}

// Compile renders the AGAINST text of q for one index with rules r.
//
// Natural and expansion modes get the surviving words joined with spaces
// (phrases become their words, prefixes their stems; exclusions mean
// nothing there and are listed in Ignored as "not_in_mode"). Boolean mode
// gets a query rebuilt from the tree: +word, -word, +"phrase words",
// +prefix*, +(either or) and nested groups; every word in it is a token the
// server's parser reads back as exactly that word.
//
// The result depends only on q, mode and r, so Against can be part of a
// cache key. When no positive term survives the rules, or the query only
// excludes, the error is a *NothingSearchableError (errors.Is
// ErrNothingSearchable) saying which terms were dropped and why.
func (q *Query) Compile(mode Mode, r Rules) (Compiled, error) {
	c := &compiler{mode: mode, rules: r}
	var against string
	switch mode {
	case ModeBoolean:
		root := normalize(c.filter(q.root, false))
		c.onlyNeg = root != nil && !positive(root)
		if root != nil && !c.onlyNeg {
			var b strings.Builder
			emitAnd(&b, root)
			against = b.String()
			c.collectTerms(root, false)
		}
	case ModeNatural, ModeExpansion:
		var words []string
		c.naturalWords(q.root, false, &words)
		against = strings.Join(words, " ")
	default:
		return Compiled{Mode: mode}, &UnknownModeError{Mode: mode}
	}
	out := Compiled{Against: against, Mode: mode, Ignored: c.ignored, Terms: c.terms}
	if against == "" {
		e := &NothingSearchableError{
			Mode:        mode,
			Ignored:     c.ignored,
			NoWords:     !c.hadNeg && !c.hadPos,
			MinTokenLen: r.MinTokenLen,
			MaxTokenLen: r.MaxTokenLen,
		}
		e.OnlyExclusions = !e.NoWords && (c.onlyNeg || !c.hadPos)
		return out, e
	}
	return out, nil
}

// filter applies the rules to a subtree, recording what it drops.
func (c *compiler) filter(n *node, negated bool) *node {
	if n == nil {
		return nil
	}
	switch n.kind {
	case kindWord:
		c.note(negated)
		w := n.words[0]
		if why := c.rules.verdict(w, n.prefix); why != "" {
			if n.prefix {
				w += "*"
			}
			c.ignore(neg(negated)+w, why)
			return nil
		}
		return n
	case kindPhrase:
		c.note(negated)
		for _, w := range n.words {
			if c.rules.verdict(w, false) == "" {
				return n
			}
		}
		for _, w := range n.words {
			c.ignore(neg(negated)+w, c.rules.verdict(w, false))
		}
		return nil
	case kindNot:
		k := c.filter(n.kids[0], !negated)
		if k == nil {
			return nil
		}
		return &node{kind: kindNot, kids: []*node{k}}
	}
	kids := make([]*node, 0, len(n.kids))
	for _, k := range n.kids {
		if k = c.filter(k, negated); k != nil {
			kids = append(kids, k)
		}
	}
	return &node{kind: n.kind, kids: kids}
}

// neg is the prefix of an excluded term in Ignored.
func neg(negated bool) string {
	if negated {
		return "-"
	}
	return ""
}

func (c *compiler) note(negated bool) {
	if negated {
		c.hadNeg = true
	} else {
		c.hadPos = true
	}
}

// positive reports whether n can match a row by itself (is not only
// exclusions), which MySQL needs: a query of exclusions matches nothing.
func positive(n *node) bool {
	switch n.kind {
	case kindWord, kindPhrase:
		return true
	case kindNot:
		return false
	}
	for _, k := range n.kids {
		if positive(k) {
			return true
		}
	}
	return false
}

// emitAnd writes the items of an AND (or a lone item) with + or -.
func emitAnd(b *strings.Builder, n *node) {
	items := []*node{n}
	if n.kind == kindAnd {
		items = n.kids
	}
	for i, k := range items {
		if i > 0 {
			b.WriteByte(' ')
		}
		if k.kind == kindNot {
			b.WriteByte('-')
			emitAtom(b, k.kids[0])
		} else {
			b.WriteByte('+')
			emitAtom(b, k)
		}
	}
}

// emitAtom writes one operand: a word, a prefix, a phrase or a group.
func emitAtom(b *strings.Builder, n *node) {
	switch n.kind {
	case kindWord:
		b.WriteString(n.words[0])
		if n.prefix {
			b.WriteByte('*')
		}
	case kindPhrase:
		b.WriteByte('"')
		for i, w := range n.words {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
		b.WriteByte('"')
	case kindAnd:
		b.WriteByte('(')
		emitAnd(b, n)
		b.WriteByte(')')
	case kindOr:
		// Inside a group without operators, any item may match; "-x"
		// removes rows matching x from the group.
		b.WriteByte('(')
		for i, k := range n.kids {
			if i > 0 {
				b.WriteByte(' ')
			}
			if k.kind == kindNot {
				b.WriteByte('-')
				emitAtom(b, k.kids[0])
			} else {
				emitAtom(b, k)
			}
		}
		b.WriteByte(')')
	case kindNot:
		// normalize never leaves NOT directly under NOT; keep the output
		// well-formed regardless.
		b.WriteString("-(")
		emitAtom(b, n.kids[0])
		b.WriteByte(')')
	}
}

// collectTerms gathers the positive leaves of a compiled boolean tree.
func (c *compiler) collectTerms(n *node, negated bool) {
	switch n.kind {
	case kindWord:
		if !negated {
			c.addTerm(Term{Words: []string{n.words[0]}, Prefix: n.prefix})
		}
	case kindPhrase:
		if !negated {
			c.addTerm(Term{Words: append([]string(nil), n.words...)})
		}
	case kindNot:
		c.collectTerms(n.kids[0], !negated)
	default:
		for _, k := range n.kids {
			c.collectTerms(k, negated)
		}
	}
}

// naturalWords gathers the words of the positive terms for natural and
// expansion modes, in query order, applying the rules word by word.
func (c *compiler) naturalWords(n *node, negated bool, out *[]string) {
	if n == nil {
		return
	}
	switch n.kind {
	case kindWord, kindPhrase:
		if negated {
			c.hadNeg = true
			for _, w := range n.words {
				c.ignore("-"+w, ReasonNotInMode)
			}
			return
		}
		c.hadPos = true
		for _, w := range n.words {
			if why := c.rules.verdict(w, false); why != "" {
				c.ignore(w, why)
				continue
			}
			*out = append(*out, w)
			c.addTerm(Term{Words: []string{w}})
		}
	case kindNot:
		c.naturalWords(n.kids[0], !negated, out)
	default:
		for _, k := range n.kids {
			c.naturalWords(k, negated, out)
		}
	}
}
