package ftquery

// Matches reports whether text contains any of terms, case- and
// accent-insensitively like utf8mb4_unicode_ci, on word boundaries.
func Matches(text string, terms []Term) bool { return false }

// Snippet returns a plain-text window of at most maxRunes runes around the
// best match, with "…" where the text was cut.
func Snippet(text string, terms []Term, maxRunes int) string { return "" }

// Highlight returns up to maxFragments HTML-escaped fragments of about
// fragmentRunes runes around matches, each match wrapped in <mark>…</mark>.
func Highlight(text string, terms []Term, maxFragments, fragmentRunes int) []string {
	return nil
}
