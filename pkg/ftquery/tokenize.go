package ftquery

import (
	"unicode/utf8"
)

// Tokenisation mirrors the servers' built-in full-text parser, so that the
// words Altus sends are the words the server indexed:
//
//   - A word is a maximal run of "true word characters": the characters whose
//     ctype in the column's character set is upper-case letter, lower-case
//     letter or number (_MY_U | _MY_L | _MY_NMR), or '_'. This is the
//     true_word_char macro of MariaDB's storage/myisam/ftdefs.h, which
//     InnoDB's tokenizer (innobase_mysql_fts_get_token in
//     storage/innobase/handler/ha_innodb.cc) copies.
//   - misc_word_char is defined as 0 in both engines, so every other
//     character separates words: the apostrophe too ("O'Neil" is indexed as
//     "O" and "Neil"; measured: a search for "neil" finds "O'Neil" with both
//     engines), and '-', '.', '@', '/', emoji, ...
//   - For utf8mb4 the ctype of a code point comes from the server's Unicode
//     table, which predates several Unicode versions (U+0370 Greek letters
//     added in Unicode 5.1 are separators) and classes non-spacing marks
//     (U+0301) and some numbers (U+00B2 '²') as word characters. Code points
//     above U+FFFF (emoji, CJK extension B) get ctype 0: separators. The
//     exact set was measured on the server (one row per BMP code point,
//     "zqxa<c>zqxb", searched for "zqxb") and is kept in wordchars_table.go;
//     TestServerWordChars re-measures it against the real server.
//   - A word's length is counted in characters (code points).

// wordCharBits is a bitmap of the BMP word characters (8 KiB), built from
// serverWordRanges once, so that classifying a rune is one load.
var wordCharBits = func() *[0x10000 / 64]uint64 {
	var b [0x10000 / 64]uint64
	for _, r := range serverWordRanges {
		for c := uint32(r[0]); c <= uint32(r[1]); c++ {
			b[c/64] |= 1 << (c % 64)
		}
	}
	return &b
}()

// asciiWord marks the ASCII word characters: letters, digits and '_'.
var asciiWord = func() (t [128]bool) {
	for c := 0; c < 128; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	return t
}()

// IsWordChar reports whether the servers' built-in full-text parser treats r
// as part of a word: MariaDB's true_word_char for utf8mb4, as measured
// (see the notes at the top of tokenize.go).
func IsWordChar(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0 && asciiWord[r]
	}
	if r > 0xFFFF {
		return false
	}
	return wordCharBits[r/64]&(1<<(uint(r)%64)) != 0
}

// wordAt returns the rune at s[i] and its size, and whether it is a word
// character. Invalid UTF-8 decodes as a one-byte separator.
func wordAt(s string, i int) (isWord bool, size int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiWord[c], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n <= 1 {
		return false, 1
	}
	return IsWordChar(r), n
}

// span is one word of a text: its byte range, its rune range, and whether
// it is ASCII (then first is its first byte, lower-cased).
type span struct {
	start, end int32 // byte offsets
	rs, re     int32 // rune offsets
	ascii      bool
	first      byte
}

// Words splits text into words exactly as the server's full-text parser
// does, in order.
func Words(text string) []string {
	var out []string
	for i := 0; i < len(text); {
		w, n := wordAt(text, i)
		if !w {
			i += n
			continue
		}
		j := i + n
		for j < len(text) {
			w, m := wordAt(text, j)
			if !w {
				break
			}
			j += m
		}
		out = append(out, text[i:j])
		i = j
	}
	return out
}

// appendSpans appends the words of text to dst as spans and returns the
// text's length in runes.
func appendSpans(dst []span, text string) ([]span, int) {
	runes := 0
	i := 0
	for i < len(text) {
		c := text[i]
		var w bool
		n := 1
		if c < utf8.RuneSelf {
			w = asciiWord[c]
		} else {
			w, n = wordAt(text, i)
		}
		if !w {
			i += n
			runes++
			continue
		}
		start, rs, ascii := i, runes, c < utf8.RuneSelf
		i += n
		runes++
		for i < len(text) {
			c := text[i]
			if c < utf8.RuneSelf {
				if !asciiWord[c] {
					break
				}
				i++
				runes++
				continue
			}
			w, m := wordAt(text, i)
			if !w {
				break
			}
			ascii = false
			i += m
			runes++
		}
		sp := span{start: int32(start), end: int32(i), rs: int32(rs), re: int32(runes), ascii: ascii}
		if ascii {
			sp.first = lowerASCII(text[start])
		}
		dst = append(dst, sp)
	}
	return dst, runes
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
