package localai

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

// wordsByRune is words as a rune-by-rune builder: the definition words
// must keep.
func wordsByRune(text string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if w := strings.Trim(b.String(), "'-"); w != "" {
			out = append(out, w)
		}
		b.Reset()
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		case (r == '\'' || r == '-') && b.Len() > 0:
			b.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	return out
}

var wordsSeeds = []string{
	"", "   ", "Redis", "redis-cluster's  O'Neil -- x", "full-text search, FULL-TEXT!", "--a-- ''b''",
	"Ärger über ÉCOLE naïve ǅemal İstanbul ΣΟΦΙΑ", "user@example.com v1.2.3 x86_64", "日本語 テキスト", "a\xffb\xc3",
	"trailing-", "'quoted'", "MiXeD123abc", "ﬁle ﬂow", "a'-'b",
}

// wordsIntoBuffer is words as the categorizer reads them: scanWords,
// lowering into a buffer.
func wordsIntoBuffer(text string) []string {
	var out []string
	var buf []byte
	scanWords(text, func(w string, _ bool) {
		buf = appendLower(buf[:0], w)
		out = append(out, string(buf))
	})
	return out
}

func TestWordsSplitsAndLowersAsRuneByRune(t *testing.T) {
	for _, s := range wordsSeeds {
		if got, want := Words(s), wordsByRune(s); !slices.Equal(got, want) {
			t.Errorf("Words(%q) = %q, want %q", s, got, want)
		}
		if got, want := wordsIntoBuffer(s), wordsByRune(s); !slices.Equal(got, want) {
			t.Errorf("scanWords and appendLower on %q = %q, want %q", s, got, want)
		}
	}
}

func FuzzWordsSplitsAndLowersAsRuneByRune(f *testing.F) {
	for _, s := range wordsSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Words(s), wordsByRune(s); !slices.Equal(got, want) {
			t.Errorf("Words(%q) = %q, want %q", s, got, want)
		}
		if got, want := wordsIntoBuffer(s), wordsByRune(s); !slices.Equal(got, want) {
			t.Errorf("scanWords and appendLower on %q = %q, want %q", s, got, want)
		}
	})
}
