package localai

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
)

// Words splits text into lower-case words (letters and digits; an inner
// apostrophe or hyphen is kept inside a word). A word already in lower
// case is a substring of text (no copy).
func Words(text string) []string {
	out := make([]string, 0, len(text)/8+1)
	scanWords(text, func(w string, lower bool) {
		if !lower {
			w = lowerWord(w)
		}
		out = append(out, w)
	})
	return out
}

// scanWords calls fn with every word of text as it is written (a
// substring), and whether it is its own lower-case form: the words of
// Words before lowering, for callers that lower into a buffer of their own.
func scanWords(text string, fn func(w string, lower bool)) {
	start := -1   // byte offset of the word being read, -1 for none
	lower := true // the word so far is its own lower-case form
	flush := func(end int) {
		// A word starts with a letter or digit: only its end may hold
		// apostrophes and hyphens to cut.
		for text[end-1] == '\'' || text[end-1] == '-' {
			end--
		}
		fn(text[start:end], lower)
		start, lower = -1, true
	}
	for i, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if start < 0 {
				start = i
			}
			if r < utf8.RuneSelf {
				lower = lower && (r < 'A' || r > 'Z')
			} else {
				lower = lower && unicode.ToLower(r) == r
			}
		case (r == '\'' || r == '-') && start >= 0:
		default:
			if start >= 0 {
				flush(i)
			}
		}
	}
	if start >= 0 {
		flush(len(text))
	}
}

// lowerWord lower-cases the letters of w, a word of scanWords.
func lowerWord(w string) string {
	var b strings.Builder
	b.Grow(len(w))
	for _, r := range w {
		b.WriteRune(lowerRune(r))
	}
	return b.String()
}

// appendLower appends the lower-case form of w, a word of scanWords, to
// dst: lowerWord without a string of its own.
func appendLower(dst []byte, w string) []byte {
	for _, r := range w {
		dst = utf8.AppendRune(dst, lowerRune(r))
	}
	return dst
}

// lowerRune is the lower-case form of a rune of a word: letters and digits
// are lowered, apostrophes and hyphens kept.
func lowerRune(r rune) rune {
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return unicode.ToLower(r)
	}
	return r
}

// IsStopword reports whether w is an English stopword.
func IsStopword(w string) bool { return english.IsStopWord(w) }

// HasLetter reports whether s holds a letter a to z.
func HasLetter(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' }) >= 0
}

// stems remembers the stems of words seen lately: Snowball costs a few
// microseconds a word and search vocabulary repeats. It is emptied when it
// reaches stemCacheSize words.
var stems = struct {
	sync.RWMutex
	m map[string]string
}{m: map[string]string{}}

const stemCacheSize = 100_000

// Stem returns the Snowball (English) stem of a lower-case word.
func Stem(w string) string {
	stems.RLock()
	st, ok := stems.m[w]
	stems.RUnlock()
	if ok {
		return st
	}
	// A word is often a substring of a long text: the cache keeps a copy,
	// not the text.
	w = strings.Clone(w)
	st = english.Stem(w, true)
	stems.Lock()
	if len(stems.m) >= stemCacheSize {
		clear(stems.m)
	}
	stems.m[w] = st
	stems.Unlock()
	return st
}

// ContentWords returns the words of text that are not stopwords.
func ContentWords(text string) []string {
	ws := Words(text)
	out := ws[:0]
	for _, w := range ws {
		if !IsStopword(w) {
			out = append(out, w)
		}
	}
	return out
}
