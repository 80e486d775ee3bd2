package search

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/altus4/altus/pkg/ftquery"
	"github.com/altus4/altus/pkg/validate"
)

// Source error and skip codes.
const (
	CodeNoFullTextIndex   = "NO_FULLTEXT_INDEX"
	CodeNoSearchableTerms = "NO_SEARCHABLE_TERMS"
	CodeTimeout           = "TIMEOUT"
	CodeSourceFailed      = "DATABASE_CONNECTION_FAILED"
)

// target is one FULLTEXT index a search runs on.
type target struct {
	src   int // index in prepared.sources
	table *Table
	index Index
	comp  ftquery.Compiled
	// match finds comp's terms in result text (shared by the targets
	// compiled alike).
	match *ftquery.Matcher
}

// prepared is a search resolved against the described sources.
type prepared struct {
	// maxValueChars bounds the text values of the results' data.
	maxValueChars int
	sources       []Source
	// bySource lists the target indexes of each source.
	bySource [][]int
	targets  []target
	// statuses holds the status of each source before execution: "" for
	// sources with targets, else failed or skipped with a reason.
	statuses []SourceStatus
	notices  []Notice
	mode     string
	query    *ftquery.Query
	rules    map[rulesKey]ftquery.Rules
	// timeout, when set, bounds each source's calls instead of the
	// service's SourceTimeout (an expansion-mode search).
	timeout time.Duration
}

// timeoutOr returns the search's own bound on a source's calls, or def.
func (p *prepared) timeoutOr(def time.Duration) time.Duration {
	if p.timeout > 0 {
		return p.timeout
	}
	return def
}

// expansionTimeouts names the sources of an expansion-mode search that
// did not answer within its timeout (none for any other search).
func expansionTimeouts(p *prepared, ex *execution) []string {
	if p.mode != ModeExpansion || ex == nil || ex.outcome == nil {
		return nil
	}
	var late []string
	for i, st := range ex.outcome.statuses {
		if st.Status == StatusTimeout {
			late = append(late, sourceLabel(p.sources[i]))
		}
	}
	return late
}

type rulesKey struct {
	src    int
	myisam bool
}

// engineIsMyISAM reports whether a table engine uses the MyISAM full-text
// rules (MyISAM and Aria); everything else is taken as InnoDB.
func engineIsMyISAM(engine string) bool {
	e := strings.ToLower(engine)
	return e == "myisam" || e == "aria"
}

// rulesFor returns the full-text rules of the indexes of table t of source i.
func (p *prepared) rulesFor(i int, t *Table) ftquery.Rules {
	k := rulesKey{src: i, myisam: engineIsMyISAM(t.Engine)}
	if r, ok := p.rules[k]; ok {
		return r
	}
	srv := p.sources[i].Server
	var r ftquery.Rules
	if k.myisam {
		r = ftquery.MyISAMRules(srv.MyISAMMinWordLen, srv.MyISAMMaxWordLen, srv.MyISAMStopwords)
	} else {
		var stop []string
		if srv.InnoDBStopwordsEnabled {
			stop = srv.InnoDBStopwords
		}
		r = ftquery.InnoDBRules(srv.InnoDBMinTokenSize, srv.InnoDBMaxTokenSize, stop)
	}
	p.rules[k] = r
	return r
}

// singleIndexNatural reports whether the search is one natural-mode
// statement on one index: then MariaDB's own order and SQL paging apply.
func (p *prepared) singleIndexNatural() bool {
	return len(p.targets) == 1 && p.mode == ModeNatural
}

// sharedTable reports whether a table of a source is searched by several
// of the targets.
func (p *prepared) sharedTable() bool {
	for _, tids := range p.bySource {
		for i, a := range tids {
			for _, b := range tids[i+1:] {
				if p.targets[a].table == p.targets[b].table {
					return true
				}
			}
		}
	}
	return false
}

// ftMode converts a request mode to the compiler's.
func ftMode(mode string) ftquery.Mode {
	switch mode {
	case ModeBoolean:
		return ftquery.ModeBoolean
	case ModeExpansion:
		return ftquery.ModeExpansion
	}
	return ftquery.ModeNatural
}

// prepare resolves the targets of a search: every FULLTEXT index of every
// described source, restricted by tables and columns, compiled for its
// server and engine. Unknown tables or columns are a validation error;
// names are only judged unknown when every source could be described.
func prepare(sources []Source, req Request, mode string) (*prepared, error) {
	if err := checkNames(sources, req.Tables, req.Columns); err != nil {
		return nil, err
	}
	p := &prepared{
		maxValueChars: req.MaxValueChars,
		sources:       sources,
		bySource:      make([][]int, len(sources)),
		statuses:      make([]SourceStatus, len(sources)),
		mode:          mode,
		query:         ftquery.Parse(req.Query),
		rules:         map[rulesKey]ftquery.Rules{},
	}
	if probs := p.query.Problems(); len(probs) > 0 {
		p.notices = append(p.notices, Notice{Code: NoticeQueryRepaired, Message: sentences(probs)})
	}
	type compiled struct {
		c   ftquery.Compiled
		err error
		m   *ftquery.Matcher
	}
	var ignored []ignoredTerm
	var nothing *ftquery.NothingSearchableError
	candidates := 0
	for i := range sources {
		src := &sources[i]
		st := SourceStatus{ID: src.ID, Name: src.Name}
		if src.ErrorCode != "" {
			st.Status, st.ErrorCode, st.Message = StatusFailed, src.ErrorCode, src.ErrorMessage
			p.statuses[i] = st
			continue
		}
		memo := map[bool]compiled{}
		indexes, dropped := 0, 0
		for ti := range src.Tables {
			t := &src.Tables[ti]
			if len(req.Tables) > 0 && !slices.Contains(req.Tables, t.Name) {
				continue
			}
			for _, ix := range t.Indexes {
				if len(req.Columns) > 0 && !slices.ContainsFunc(ix.Columns, func(c string) bool { return slices.Contains(req.Columns, c) }) {
					continue
				}
				indexes++
				myisam := engineIsMyISAM(t.Engine)
				cm, ok := memo[myisam]
				if !ok {
					cm.c, cm.err = p.query.Compile(ftMode(mode), p.rulesFor(i, t))
					if cm.err == nil {
						cm.m = ftquery.NewMatcher(cm.c.Terms)
					}
					memo[myisam] = cm
					ignored = appendIgnored(ignored, cm.c.Ignored, p.rulesFor(i, t))
					var ne *ftquery.NothingSearchableError
					if errors.As(cm.err, &ne) {
						ignored = appendIgnored(ignored, ne.Ignored, p.rulesFor(i, t))
						if nothing == nil {
							nothing = ne
						}
					}
				}
				if cm.err != nil {
					dropped++
					continue
				}
				p.bySource[i] = append(p.bySource[i], len(p.targets))
				p.targets = append(p.targets, target{src: i, table: t, index: ix, comp: cm.c, match: cm.m})
			}
		}
		candidates += indexes
		switch {
		case indexes == 0:
			st.Status, st.ErrorCode = StatusSkipped, CodeNoFullTextIndex
			st.Message = "No FULLTEXT index of this database matches the search (see POST /api/v1/search/analyze for the indexes to add)."
			if len(req.Tables) > 0 || len(req.Columns) > 0 {
				st.Message = "No FULLTEXT index of this database covers the tables and columns asked for."
			}
		case indexes == dropped:
			st.Status, st.ErrorCode = StatusSkipped, CodeNoSearchableTerms
			st.Message = "Nothing in the query can be searched with this database's full-text settings."
		}
		p.statuses[i] = st
	}
	switch {
	case len(p.targets) > 0:
		if len(ignored) > 0 {
			p.notices = append(p.notices, ignoredNotice(ignored))
		}
	case candidates > 0:
		p.notices = append(p.notices, nothingNotice(nothing, ignored))
	case described(sources) > 0:
		p.notices = append(p.notices, Notice{Code: CodeNoFullTextIndex,
			Message: "None of the tables searched has a FULLTEXT index, so nothing was searched. POST /api/v1/search/analyze shows the ALTER TABLE statements that would add them."})
	}
	return p, nil
}

// described counts the sources that could be described.
func described(sources []Source) int {
	n := 0
	for _, s := range sources {
		if s.ErrorCode == "" {
			n++
		}
	}
	return n
}

// checkNames reports table and column names no described source has.
func checkNames(sources []Source, tables, columns []string) error {
	if len(tables) == 0 && len(columns) == 0 {
		return nil
	}
	if described(sources) < len(sources) {
		return nil // an undescribed source might have them
	}
	knownTable := map[string]bool{}
	knownColumn := map[string]bool{}
	for _, s := range sources {
		for _, t := range s.Tables {
			knownTable[t.Name] = true
			if len(tables) > 0 && !slices.Contains(tables, t.Name) {
				continue
			}
			for _, c := range t.Columns {
				knownColumn[c.Name] = true
			}
		}
	}
	var c validate.Collector
	var unknown []string
	for _, t := range tables {
		if !knownTable[t] {
			unknown = append(unknown, t)
		}
	}
	if len(unknown) > 0 {
		c.Add("tables", codeUnknown, "No database searched has the table(s) %s; GET /api/v1/databases/{id}/schema lists the tables.", quoteList(unknown))
	}
	unknown = nil
	for _, col := range columns {
		if !knownColumn[col] {
			unknown = append(unknown, col)
		}
	}
	if len(unknown) > 0 {
		c.Add("columns", codeUnknown, "No table searched has the column(s) %s; GET /api/v1/databases/{id}/schema lists the columns.", quoteList(unknown))
	}
	return c.Err()
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// windowError says that a fused search cannot page as deep as asked.
func windowError(req Request, max int) error {
	return validate.Field("offset", codeWindow,
		"offset + limit is %d, but results merged from several indexes or databases can only be paged to %d; narrow the search with databases, tables or columns, or refine the query.",
		req.Offset+req.Limit, max)
}

// ignoredTerm is a term left out of the query, with its reason in words.
type ignoredTerm struct {
	term, why string
}

func appendIgnored(list []ignoredTerm, ig []ftquery.Ignored, r ftquery.Rules) []ignoredTerm {
	for _, i := range ig {
		if slices.ContainsFunc(list, func(x ignoredTerm) bool { return strings.EqualFold(x.term, i.Term) }) {
			continue
		}
		list = append(list, ignoredTerm{term: i.Term, why: reasonText(i.Reason, r)})
	}
	return list
}

func reasonText(reason string, r ftquery.Rules) string {
	switch reason {
	case ftquery.ReasonStopword:
		return "a stopword the full-text index skips"
	case ftquery.ReasonTooShort:
		return fmt.Sprintf("shorter than the %d characters the full-text index needs", r.MinTokenLen)
	case ftquery.ReasonTooLong:
		return fmt.Sprintf("longer than the %d characters the full-text index keeps", r.MaxTokenLen)
	case ftquery.ReasonNotInMode:
		return "an operator only boolean mode understands"
	}
	return reason
}

func ignoredNotice(list []ignoredTerm) Notice {
	n := Notice{Code: NoticeTermsIgnored}
	parts := make([]string, len(list))
	for i, t := range list {
		n.Terms = append(n.Terms, t.term)
		parts[i] = fmt.Sprintf("%q (%s)", t.term, t.why)
	}
	n.Message = "Some terms were left out of the search: " + strings.Join(parts, ", ") + "."
	return n
}

func nothingNotice(ne *ftquery.NothingSearchableError, list []ignoredTerm) Notice {
	n := Notice{Code: NoticeNoSearchableTerms}
	for _, t := range list {
		n.Terms = append(n.Terms, t.term)
	}
	msg := "nothing to search for: the query has no words to search for"
	if ne != nil {
		msg = ne.Error()
	}
	n.Message = strings.ToUpper(msg[:1]) + msg[1:] + ". No rows were searched."
	return n
}

// sentences writes the parser's problems (lower-case clauses) as sentences
// for people: each capitalised and ended with a full stop.
func sentences(clauses []string) string {
	var b strings.Builder
	for _, c := range clauses {
		if c == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		r, n := utf8.DecodeRuneInString(c)
		b.WriteRune(unicode.ToUpper(r))
		b.WriteString(c[n:])
		if !strings.HasSuffix(c, ".") {
			b.WriteByte('.')
		}
	}
	return b.String()
}
