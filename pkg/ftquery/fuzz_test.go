package ftquery

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzCompileRunsOnServer: any text, parsed and compiled in every mode with
// the server's real rules, runs on InnoDB and MyISAM without a SQL error (or
// is ErrNothingSearchable), and nothing panics; the matching functions run
// on the same text too. `go test` runs the seeds (here and under
// testdata/fuzz); `go test -fuzz=FuzzCompileRunsOnServer` explores.
func FuzzCompileRunsOnServer(f *testing.F) {
	seeds := []string{
		"", " ", `"`, `""`, `"""`, "*", "-", "+", "(", ")", "()", ")(", "~", "<>", "@", "@8", `"a"@3`,
		`+-"*()~<>@`, `+-"*()~<>@&|:`, `++--**`, `"unbalanced`, `(((a`, `a)))`, `((("x"`, `")("`,
		"database tuning", "mysql OR mariadb", "-draft search", `"connection pool" data*`,
		"(a OR b) -(c d)", "NOT NOT NOT", "OR OR", "AND", "a AND OR b",
		"the of to", "the an a", `"to be or not to be"`, "-the", "the*", "a*", "*a", "x*",
		strings.Repeat("w", 84), strings.Repeat("w", 85), strings.Repeat("w", 300) + "*",
		strings.Repeat("(", 40) + "x" + strings.Repeat(")", 40),
		strings.Repeat("a OR (b ", 30),
		strings.Repeat("x ", 500),
		strings.Repeat(`"`, 101),
		"café CAFE cafe\u0301", "東京タワー 検索", "emoji🎉party 🎉", "שלום -עולם", "مرحبا", "x²³",
		"O'Neil don't", "user@example.com", "path/to/file.txt", "10.11", "C++ c# .NET",
		"ab\xffcd", "\x00", "a\x00b", "\\", `\"`, "'", "''", "%", "_", "__init__", "?", "\n\t\r",
		"\u202eevil\u202c", "\ufeffbom", "\u0301", "İstanbul", "ß", "ﬁle",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	fx := newFixture(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 { // the API takes at most 500 characters; keep some margin
			text = text[:4096]
		}
		q := Parse(text)
		for _, tab := range fx.tables {
			for _, mode := range []Mode{ModeBoolean, ModeNatural, ModeExpansion} {
				c, err := q.Compile(mode, tab.rules)
				if errors.Is(err, ErrNothingSearchable) {
					if c.Against != "" {
						t.Fatalf("%q: Against %q with ErrNothingSearchable", text, c.Against)
					}
					_ = err.Error()
					continue
				}
				if err != nil {
					t.Fatalf("%s %s Compile(%q): %v", tab.engine, mode, text, err)
				}
				if !utf8.ValidString(c.Against) {
					t.Fatalf("%q: Against %q is not valid UTF-8", text, c.Against)
				}
				qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				var n int
				err = fx.db.QueryRowContext(qctx,
					"SELECT COUNT(*) FROM "+tab.name+" WHERE MATCH(title, body) AGAINST(? "+modeSQL(mode)+")", c.Against).Scan(&n)
				cancel()
				if err != nil {
					t.Fatalf("%s %s: %q -> AGAINST(%q): %v", tab.engine, mode, text, c.Against, err)
				}
				for _, term := range c.Terms {
					if len(term.Words) == 0 {
						t.Fatalf("%q: empty term in %v", text, c.Terms)
					}
				}
				Matches(text, c.Terms)
				if s := Snippet(text, c.Terms, 40); utf8.RuneCountInString(s) > 40 {
					t.Fatalf("%q: snippet %q longer than 40 runes", text, s)
				}
				if h := Highlight(text, c.Terms, 3, 30); len(h) > 3 {
					t.Fatalf("%q: %d fragments", text, len(h))
				}
			}
		}
	})
}

// FuzzMatchText: any query and any text, through Matches, Snippet and
// Highlight, never panic; snippets keep their size and fragments their
// escaping.
func FuzzMatchText(f *testing.F) {
	for _, s := range [][2]string{
		{"database", "The database server"},
		{`"connection pool" data*`, "A connection-pool keeps DATABASE connections"},
		{"café", "Café au lait <script>alert(1)</script>"},
		{"abc \u0301", "abc \u0301 \u0301abc"},
		{"東京*", "東京タワー 検索"},
		{"x", strings.Repeat("x ", 3000)},
		{"", ""},
		{`"a b c d e f"`, "a b c d e f a b c"},
		{"ß", "STRASSE ß ẞ"},
	} {
		f.Add(s[0], s[1], 40, 3, 30)
	}
	f.Fuzz(func(t *testing.T, query, text string, maxRunes, frags, fragRunes int) {
		maxRunes, frags, fragRunes = maxRunes%500, frags%10, fragRunes%500
		c, _ := Parse(query).Compile(ModeBoolean, Rules{})
		m := NewMatcher(c.Terms)
		m.Matches(text)
		if s := m.Snippet(text, maxRunes); maxRunes >= 0 && utf8.RuneCountInString(s) > maxRunes {
			t.Fatalf("snippet %q longer than %d runes", s, maxRunes)
		}
		e := m.Excerpt(text, maxRunes, frags, fragRunes)
		if e.Matched != m.Matches(text) || e.Snippet != m.Snippet(text, maxRunes) ||
			!slices.Equal(e.Highlights, m.Highlight(text, frags, fragRunes)) {
			t.Fatalf("Excerpt %+v differs from the separate calls", e)
		}
		for _, h := range m.Highlight(text, frags, fragRunes) {
			plain := strings.NewReplacer("<mark>", "", "</mark>", "").Replace(h)
			if strings.ContainsAny(plain, "<>\"'") {
				t.Fatalf("fragment %q is not escaped", h)
			}
		}
	})
}
