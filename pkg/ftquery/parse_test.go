package ftquery

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// noRules keeps every word, so parse tests see the tree unfiltered.
var noRules = Rules{}

func TestParseCompilesBooleanSyntaxFromTheTree(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     string
		problems []string
	}{
		{"juxtaposition is AND", "database tuning", "+database +tuning", nil},
		{"AND keyword is optional", "database AND tuning", "+database +tuning", nil},
		{"OR group", "mysql OR mariadb", "+(mysql mariadb)", nil},
		{"OR binds tighter than AND", "fast mysql OR mariadb", "+fast +(mysql mariadb)", nil},
		{"OR chain", "a OR b OR c", "+(a b c)", nil},
		{"minus excludes", "-draft search", "-draft +search", nil},
		{"NOT excludes", "NOT draft search", "-draft +search", nil},
		{"plus is the default", "+required word", "+required +word", nil},
		{"phrase", `"connection pool"`, `+"connection pool"`, nil},
		{"one-word phrase is a word", `"single"`, "+single", nil},
		{"prefix", "data*", "+data*", nil},
		{"groups", "(a OR b) -(c d)", "+(a b) -(+c +d)", nil},
		{"nested groups", "(a (b OR (c d)))", "+a +(b (+c +d))", nil},
		{"lower-case keywords are words", "and or not", "+and +or +not", nil},
		{"hyphenated word is a phrase", "full-text", `+"full text"`, nil},
		{"apostrophe splits like the server", "O'Neil", `+"O Neil"`, nil},
		{"address is a phrase", "user@example.com", `+"user example com"`, nil},
		{"punctuated prefix", "user@exam*", "+user +exam*", nil},
		{"star ends a prefix", "foo*bar", "+foo* +bar", nil},
		{"last operator wins", "+-foo bar", "-foo +bar", nil},
		{"last operator wins (plus)", "-+foo bar", "+foo +bar", nil},
		{"minus inside a word is punctuation", "e-mail", `+"e mail"`, nil},
		{"NOT in OR", "a OR -b", "+(a -b)", []string{problemNotInOr}},
		{"De Morgan", "c (NOT a OR NOT b)", "+c -(+a +b)", nil},
		{"unclosed parenthesis", "((x) y", "+x +y", []string{problemUnclosedOpen}},
		{"unmatched closing parenthesis", "x)) y", "+x +y", []string{problemUnmatchedClose}},
		{"unclosed quote", `"unclosed phrase`, `+"unclosed phrase"`, []string{problemUnclosedQuote}},
		{"leading OR", "OR a", "+a", []string{problemDanglingOr}},
		{"trailing OR", "a OR", "+a", []string{problemDanglingOr}},
		{"trailing AND", "a AND", "+a", []string{problemDanglingAnd}},
		{"dangling minus", "a -", "+a", []string{problemDanglingOp}},
		{"minus before a space", "a - b", "+a +b", []string{problemDanglingOp}},
		{"operators carry over junk", "+-~foo bar", "-foo +bar", nil},
		{"empty group", "a ()", "+a", []string{problemEmptyGroup}},
		{"MySQL-only operators separate words", "~foo <bar @baz >qux", "+foo +bar +baz +qux", nil},
		{"star after phrase is ignored", `"a" "b c"*`, `+a +"b c"`, nil},
		{"programming names", "C++ c# .NET", "+C +c +NET", nil},
		{"keyword glued to group", "NOT(a b) c", "-(+a +b) +c", nil},
		{"operator before keyword makes it a word", "-OR x", "-OR +x", nil},
		{"CJK run is one word", "東京タワー", "+東京タワー", nil},
		{"CJK words", "東京 タワー", "+東京 +タワー", nil},
		{"emoji separates words", "emoji🎉party", `+"emoji party"`, nil},
		{"RTL", "שלום -עולם", "+שלום -עולם", nil},
		{"Arabic", "مرحبا بالعالم", "+مرحبا +بالعالم", nil},
		{"combining mark is part of the word", "cafe\u0301", "+cafe\u0301", nil},
		{"invalid UTF-8 separates", "ab\xffcd", `+"ab cd"`, nil},
		{"NUL separates", "ab\x00cd", "+ab +cd", nil},
		{"superscript digits are word chars", "x²", "+x²", nil},
		{"tabs and newlines", "a\tb\nc", "+a +b +c", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := Parse(tt.in)
			got, err := q.Compile(ModeBoolean, noRules)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.in, err)
			}
			if got.Against != tt.want {
				t.Errorf("Against(%q) = %q, want %q", tt.in, got.Against, tt.want)
			}
			if diff := cmp.Diff(tt.problems, q.Problems(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Problems(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseCapsNestingBelowInnoDBLimit(t *testing.T) {
	deep := strings.Repeat("(", 40) + "x" + strings.Repeat(")", 40)
	// Alternating AND/OR levels cannot be flattened by normalize.
	var b strings.Builder
	for i := 0; i < 40; i++ {
		b.WriteString("a" + string(rune('a'+i%26)) + " OR (b" + string(rune('a'+i%26)) + " ")
	}
	b.WriteString("z")
	alternating := b.String() + strings.Repeat(")", 40)
	for name, in := range map[string]string{"plain": deep, "alternating": alternating} {
		t.Run(name, func(t *testing.T) {
			q := Parse(in)
			got, err := q.Compile(ModeBoolean, noRules)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			depth, maxSeen := 0, 0
			for _, c := range got.Against {
				switch c {
				case '(':
					depth++
					maxSeen = max(maxSeen, depth)
				case ')':
					depth--
				}
			}
			if maxSeen > 32 {
				t.Errorf("nesting %d > 32 (InnoDB's limit) in %q", maxSeen, got.Against)
			}
			if diff := cmp.Diff([]string{problemTooDeep}, q.Problems()); diff != "" {
				t.Errorf("Problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseNeverPanicsOnOperatorSoup(t *testing.T) {
	inputs := []string{"", " ", `"`, `""`, "*", "-", "+", "(", ")", ")(", "()()", `+-"*()~<>@`,
		"NOT", "AND", "OR", "NOT NOT NOT", "OR OR OR", "a OR OR b", "- - -", `"(" ")"`, "((((", "))))",
		"*a*b*", "-(-(-(a)))", `"a OR b"`, "a AND OR b"}
	for _, in := range inputs {
		q := Parse(in)
		for _, m := range []Mode{ModeBoolean, ModeNatural, ModeExpansion} {
			_, _ = q.Compile(m, noRules)
		}
	}
}

func TestWordsMirrorsServerTokenisation(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Don't panic", []string{"Don", "t", "panic"}},
		{"user@example.com", []string{"user", "example", "com"}},
		{"path/to/file.txt v10.11", []string{"path", "to", "file", "txt", "v10", "11"}},
		{"x_y_z __init__", []string{"x_y_z", "__init__"}},
		{"emoji🎉party", []string{"emoji", "party"}},
		{"東京タワー 検索", []string{"東京タワー", "検索"}},
		{"cafe\u0301!", []string{"cafe\u0301"}},
		{"Ͱ test", []string{"test"}}, // U+0370 is newer than the server's Unicode table
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Words(tt.in)); diff != "" {
			t.Errorf("Words(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}
