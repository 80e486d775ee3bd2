package ftquery

import (
	"html"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func w(words ...string) Term { return Term{Words: words} }
func pre(word string) Term   { return Term{Words: []string{word}, Prefix: true} }

func TestMatchesLikeUnicodeCollationOnWordBoundaries(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		terms []Term
		want  bool
	}{
		{"accent-insensitive", "Café au lait", []Term{w("cafe")}, true},
		{"case-insensitive", "a CAFE in Paris", []Term{w("café")}, true},
		{"decomposed accent", "cafe\u0301 noir", []Term{w("café")}, true},
		{"whole words only", "cafeteria", []Term{w("cafe")}, false},
		{"prefix matches word start", "cafeteria", []Term{pre("CAFE")}, true},
		{"prefix not inside a word", "hotcafe", []Term{pre("cafe")}, false},
		{"phrase across punctuation", "a connection-pool keeps", []Term{w("connection", "pool")}, true},
		{"phrase words must be consecutive", "connection, the pool", []Term{w("connection", "pool")}, false},
		{"apostrophe splits words", "O'Neil wrote", []Term{w("neil")}, true},
		{"apostrophe phrase", "Don't panic", []Term{w("don", "t")}, true},
		{"sharp s folds to ss", "Straße", []Term{w("strasse")}, true},
		{"katakana equals hiragana", "カタカナ", []Term{w("かたかな")}, true},
		{"ligature", "ﬁle", []Term{w("file")}, true},
		{"fullwidth", "ＭａｒｉａＤＢ", []Term{w("mariadb")}, true},
		{"distinct letters stay distinct", "smørrebrød", []Term{w("smorrebrod")}, false},
		{"CJK run is one word", "東京タワー", []Term{w("東京")}, false},
		{"CJK prefix", "東京タワー", []Term{pre("東京")}, true},
		{"emoji separates", "party🎉time", []Term{w("party")}, true},
		{"RTL", "שלום עולם", []Term{w("עולם")}, true},
		{"Arabic", "مرحبا بالعالم", []Term{w("مرحبا")}, true},
		{"underscore is a word char", "x_y_z", []Term{w("y")}, false},
		{"digits", "MariaDB 10.11", []Term{w("11")}, true},
		{"any term", "redis cache", []Term{w("mysql"), w("cache")}, true},
		{"no terms", "redis cache", nil, false},
		{"term without words", "redis", []Term{w("🎉")}, false},
		{"empty text", "", []Term{w("redis")}, false},
		{"invalid UTF-8", "ab\xffcd", []Term{w("cd")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Matches(tt.text, tt.terms); got != tt.want {
				t.Errorf("Matches(%q, %v) = %v, want %v", tt.text, tt.terms, got, tt.want)
			}
		})
	}
}

const lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor " +
	"incididunt ut labore et dolore magna aliqua. "

func TestSnippetPicksTheWindowWithMostDistinctTerms(t *testing.T) {
	long := strings.Repeat(lorem, 3) + "MariaDB alone here. " + strings.Repeat(lorem, 3) +
		"Tuning the MariaDB database server. " + strings.Repeat(lorem, 3)
	tests := []struct {
		name     string
		text     string
		terms    []Term
		maxRunes int
		want     string
	}{
		{"text that fits is whole", "Short text about MariaDB.", []Term{w("mariadb")}, 100, "Short text about MariaDB."},
		{"no match: start of text", lorem, []Term{w("absent")}, 30, "Lorem ipsum dolor sit amet…"},
		{"no terms: start of text", lorem, nil, 30, "Lorem ipsum dolor sit amet…"},
		{"most distinct terms win", long, []Term{w("mariadb"), w("database"), pre("tun")}, 60,
			"…magna aliqua. Tuning the MariaDB database server. Lorem…"},
		{"first match when ties", strings.Repeat(lorem, 2) + "redis one. " + lorem + "redis two. " + lorem,
			[]Term{w("redis")}, 40, "…magna aliqua. redis one. Lorem ipsum…"},
		{"match at the start", "Redis " + lorem, []Term{w("redis")}, 30, "Redis Lorem ipsum dolor sit…"},
		{"match at the end", lorem + "final redis", []Term{w("redis")}, 30, "…magna aliqua. final redis"},
		{"a phrase longer than the window is cut", "x " + strings.Repeat("alpha ", 20) + "y",
			[]Term{w(strings.Fields(strings.Repeat("alpha ", 20))...)}, 20, "…alpha alpha alpha…"},
		{"one long word", strings.Repeat("z", 100), nil, 10, strings.Repeat("z", 9) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Snippet(tt.text, tt.terms, tt.maxRunes)
			if got != tt.want {
				t.Errorf("Snippet = %q, want %q", got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > tt.maxRunes {
				t.Errorf("Snippet has %d runes > %d", n, tt.maxRunes)
			}
		})
	}
}

func TestSnippetCutsOnWordBoundaries(t *testing.T) {
	text := strings.Repeat("héllo wörld ", 30) + "東京タワー target " + strings.Repeat("ümlaut ünïcode ", 30)
	for max := 5; max < 80; max++ {
		got := Snippet(text, []Term{w("target")}, max)
		if n := utf8.RuneCountInString(got); n > max {
			t.Fatalf("max %d: %d runes in %q", max, n, got)
		}
		inner := strings.TrimSuffix(strings.TrimPrefix(got, "…"), "…")
		i := strings.Index(text, inner)
		if i < 0 {
			t.Fatalf("max %d: %q is not a piece of the text", max, inner)
		}
		if max < 8 { // "…target…" does not fit: the match itself is cut
			continue
		}
		if i > 0 && (isWordBefore(text, i) && isWordStart(inner)) {
			t.Errorf("max %d: %q starts inside a word", max, got)
		}
		if end := i + len(inner); end < len(text) && isWordStart(text[end:]) && isWordEnd(inner, len(inner)) {
			t.Errorf("max %d: %q ends inside a word", max, got)
		}
		if max >= 10 && !strings.Contains(got, "target") {
			t.Errorf("max %d: %q lacks the match", max, got)
		}
	}
}

func isWordBefore(s string, i int) bool { return isWordEnd(s, i) }
func isWordStart(s string) bool {
	if s == "" {
		return false
	}
	ok, _ := wordAt(s, 0)
	return ok
}

func TestHighlightEscapesAndMarksMatches(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		terms []Term
		frags int
		runes int
		want  []string
	}{
		{"escapes the text", `<script>alert("x")</script> & database's`, []Term{w("database")}, 3, 80,
			[]string{`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; <mark>database</mark>&#39;s`}},
		{"keeps case and accents", "Un Café, deux CAFES, the DataBase", []Term{w("cafe"), pre("cafes"), w("database")}, 3, 80,
			[]string{"Un <mark>Café</mark>, deux <mark>CAFES</mark>, the <mark>DataBase</mark>"}},
		{"prefix marks the whole word", "the database", []Term{pre("data")}, 1, 80,
			[]string{"the <mark>database</mark>"}},
		{"phrase marked as one", "a connection-pool keeps", []Term{w("connection", "pool")}, 1, 80,
			[]string{"a <mark>connection-pool</mark> keeps"}},
		{"overlapping matches merge", "the database", []Term{pre("data"), w("database")}, 1, 80,
			[]string{"the <mark>database</mark>"}},
		{"markup in a match is escaped", "x <b>&amp</b> y", []Term{w("b", "amp", "b")}, 1, 80,
			[]string{"x &lt;<mark>b&gt;&amp;amp&lt;/b</mark>&gt; y"}},
		{"fragments around distant matches", strings.Repeat(lorem, 2) + "redis here " + strings.Repeat(lorem, 2) + "and mysql there " + lorem,
			[]Term{w("redis"), w("mysql")}, 3, 30,
			[]string{"aliqua. <mark>redis</mark> here Lorem", "aliqua. and <mark>mysql</mark> there Lorem"}},
		{"most distinct fragments win, in text order", "redis " + lorem + "redis " + lorem + "redis mysql " + lorem,
			[]Term{w("redis"), w("mysql")}, 1, 20,
			[]string{"<mark>redis</mark> <mark>mysql</mark>"}},
		{"unicode", "東京タワー と 検索 שלום", []Term{pre("東京"), w("שלום")}, 3, 80,
			[]string{"<mark>東京タワー</mark> と 検索 <mark>שלום</mark>"}},
		{"no match", "nothing here", []Term{w("redis")}, 3, 80, nil},
		{"no fragments wanted", "redis", []Term{w("redis")}, 0, 80, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Highlight(tt.text, tt.terms, tt.frags, tt.runes)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Highlight (-want +got):\n%s", diff)
			}
			for _, f := range got {
				plain := strings.NewReplacer("<mark>", "", "</mark>", "").Replace(f)
				if !strings.Contains(tt.text, html.UnescapeString(plain)) {
					t.Errorf("fragment %q is not escaped text of the input", f)
				}
				if strings.Contains(strings.NewReplacer("<mark>", "", "</mark>", "").Replace(f), "<") {
					t.Errorf("fragment %q has an unescaped <", f)
				}
			}
		})
	}
}

func TestHighlightAndSnippetOfCompiledTerms(t *testing.T) {
	c, err := Parse(`"connection pool" data* -redis`).Compile(ModeBoolean, innodbRules)
	if err != nil {
		t.Fatal(err)
	}
	text := "A Connection Pool keeps DATABASE connections; Redis is elsewhere."
	if !Matches(text, c.Terms) {
		t.Fatalf("Matches = false for %v", c.Terms)
	}
	got := Highlight(text, c.Terms, 1, 200)
	want := []string{"A <mark>Connection Pool</mark> keeps <mark>DATABASE</mark> connections; Redis is elsewhere."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Highlight (-want +got):\n%s", diff)
	}
}

func TestExcerptEqualsTheThreeCalls(t *testing.T) {
	texts := []string{"", "redis", "Short text about MariaDB.", strings.Repeat(lorem, 3) + "redis and café " + lorem,
		`<b>MariaDB</b> & "data"`, "nothing to see", "東京タワー 検索 שלום"}
	termSets := [][]Term{nil, {w("redis")}, {w("mariadb"), pre("data"), w("cafe")}, {pre("東京"), w("שלום")}}
	for _, terms := range termSets {
		m := NewMatcher(terms)
		for _, text := range texts {
			got := m.Excerpt(text, 40, 2, 30)
			want := Excerpt{Matched: Matches(text, terms), Snippet: Snippet(text, terms, 40), Highlights: Highlight(text, terms, 2, 30)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Excerpt(%q, %v) (-separate +excerpt):\n%s", text, terms, diff)
			}
		}
	}
}
