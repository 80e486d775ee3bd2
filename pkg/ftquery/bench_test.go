package ftquery

import (
	"strings"
	"testing"
)

// benchText is about 8 KiB of prose with a few matches, the size of the
// largest column a search page shows.
var benchText = func() string {
	var b strings.Builder
	for b.Len() < 8<<10 {
		b.WriteString(lorem)
		if b.Len()%3 == 0 {
			b.WriteString("Tuning the MariaDB database server & <caches>. ")
		}
	}
	b.WriteString("A connection pool keeps database connections open.")
	return b.String()
}()

// benchTextUnicode is the same size with accents, CJK and RTL words.
var benchTextUnicode = func() string {
	var b strings.Builder
	for b.Len() < 8<<10 {
		b.WriteString("Café résumé naïve Straße 東京タワー 検索 שלום עולם ")
		b.WriteString(lorem)
	}
	b.WriteString("Le café de la base de données.")
	return b.String()
}()

func benchTerms(b *testing.B) []Term {
	c, err := Parse(`"connection pool" data* mariadb OR mysql tuning café`).Compile(ModeBoolean, innodbRules)
	if err != nil {
		b.Fatal(err)
	}
	return c.Terms
}

func BenchmarkParseCompile(b *testing.B) {
	const in = `(mysql OR mariadb) "connection pool" -draft tun* the database café`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(in).Compile(ModeBoolean, innodbRules); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHighlight(b *testing.B) {
	terms := benchTerms(b)
	for _, tc := range []struct{ name, text string }{{"ascii8KiB", benchText}, {"unicode8KiB", benchTextUnicode}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.text)))
			for b.Loop() {
				if len(Highlight(tc.text, terms, 3, 120)) == 0 {
					b.Fatal("no fragments")
				}
			}
		})
	}
}

func BenchmarkSnippet(b *testing.B) {
	terms := benchTerms(b)
	for _, tc := range []struct{ name, text string }{{"ascii8KiB", benchText}, {"unicode8KiB", benchTextUnicode}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.text)))
			for b.Loop() {
				if Snippet(tc.text, terms, 200) == "" {
					b.Fatal("empty snippet")
				}
			}
		})
	}
}

func BenchmarkMatches(b *testing.B) {
	terms := benchTerms(b)
	b.ReportAllocs()
	for b.Loop() {
		Matches(benchText, terms)
	}
}

// BenchmarkMatcherPage is one search page: 20 results x 3 columns (a
// title, a 600-byte summary, an 8 KiB body), each checked, snippeted and
// highlighted with one Matcher.
func BenchmarkMatcherPage(b *testing.B) {
	m := NewMatcher(benchTerms(b))
	cols := []string{"Tuning the MariaDB database server", benchText[:600], benchText}
	b.Run("separate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for r := 0; r < 20; r++ {
				for _, c := range cols {
					if m.Matches(c) {
						_ = m.Snippet(c, 200)
						_ = m.Highlight(c, 3, 120)
					}
				}
			}
		}
	})
	b.Run("excerpt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for r := 0; r < 20; r++ {
				for _, c := range cols {
					_ = m.Excerpt(c, 200, 3, 120)
				}
			}
		}
	})
}
