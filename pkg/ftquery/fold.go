package ftquery

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// fold maps a word to a key such that two words have the same key when
// utf8mb4_unicode_ci (UCA 4.0.0, primary strength) compares them equal, for
// the cases that matter to search: case (CAFE = cafe), accents and other
// non-spacing marks (café = cafe, が = か), compatibility forms (ﬁ = fi,
// Ａ = a, ² = 2, ｶ = カ), full case folding (ß = ss, ſ = s), katakana =
// hiragana, and œ = oe. Letters UCA gives their own primary weight stay
// distinct (æ ≠ ae, ø ≠ o, ł ≠ l, đ ≠ d, ı ≠ i), as on the server.
// TestFoldAgreesWithServerCollation checks these pairs against the server.
//
// ASCII words, by far the most common, are only lower-cased, without
// allocating when already lower case.
func fold(s string) string {
	ascii := true
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if c >= 'A' && c <= 'Z' {
			upper = true
		}
	}
	if ascii {
		if !upper {
			return s
		}
		return strings.ToLower(s)
	}
	return foldUnicode(s)
}

// foldUnicode is fold for text with non-ASCII characters.
func foldUnicode(s string) string {
	d := norm.NFKD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue // non-spacing marks are ignorable at primary strength
		case r >= 0x30A1 && r <= 0x30F6:
			r -= 0x60 // katakana -> hiragana
		case r == 'œ' || r == 'Œ':
			b.WriteString("oe")
			continue
		}
		b.WriteRune(r)
	}
	// Full case folding (ß -> ss); a Caser is stateful, so one per call.
	return cases.Fold().String(b.String())
}
