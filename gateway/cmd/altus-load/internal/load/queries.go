package load

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Search modes of the v1 API.
const (
	ModeNatural   = "natural"
	ModeBoolean   = "boolean"
	ModeExpansion = "expansion"
	ModeSemantic  = "semantic"
)

// Query is one search the users send: its text and mode.
type Query struct {
	Text string `json:"text"`
	Mode string `json:"mode"`
}

func validMode(m string) bool {
	switch m {
	case ModeNatural, ModeBoolean, ModeExpansion, ModeSemantic:
		return true
	}
	return false
}

// BuiltinQueries are 50 searches someone would run over the Debian package
// descriptions: 30 in natural language and 20 in boolean mode, interleaved.
// Query expansion is left out of the mix on purpose: on this corpus MariaDB
// expands every query with the words of the longest descriptions (texlive,
// fonts), so one expansion search over FULLTEXT(summary, description) reads
// every row and takes seconds to more than a minute; measure it on its own
// with -mode expansion.
func BuiltinQueries() []Query {
	natural := []string{
		"web server", "python library for parsing", "image editor", "command line tool for json",
		"pdf viewer", "video player", "database client", "ssh client", "music player",
		"network monitoring", "compression utility", "spell checker", "font rendering",
		"backup tool", "text editor for programmers", "xml parser library", "bluetooth manager",
		"game engine", "password manager", "virtual machine", "email client", "http client library",
		"terminal emulator", "version control system", "scientific computing", "java runtime",
		"markdown to html converter", "dns server", "screen reader", "photo management",
	}
	boolean := []string{
		`"web server" -apache`, "+python +library +yaml", "nginx OR apache OR lighttpd",
		`"image processing" library`, "+ssl -openssl", "(gzip OR bzip2 OR xz) +compression",
		`"command line" +json`, "perl* +module", "+kernel +driver -firmware", `"text editor" +vim`,
		"+postgresql +client", "+fonts -truetype", "audio AND (mp3 OR ogg)", `"machine learning"`,
		"docker OR container OR podman", "+rust +crate", "+pdf +(viewer OR reader)", "+sqlite -python",
		`"window manager" +tiling`, "+vpn -openvpn",
	}
	var out []Query
	for i := 0; i < len(natural) || i < len(boolean); i++ {
		if i < len(natural) {
			out = append(out, Query{Text: natural[i], Mode: ModeNatural})
		}
		if i < len(boolean) {
			out = append(out, Query{Text: boolean[i], Mode: ModeBoolean})
		}
	}
	return out
}

// ParseQueries reads a query list: one query per line, either plain text
// (in defaultMode) or "<mode><TAB><text>"; blank lines and lines starting
// with # are skipped.
func ParseQueries(r io.Reader, defaultMode string) ([]Query, error) {
	if defaultMode == "" {
		defaultMode = ModeNatural
	}
	var out []Query
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		q := Query{Text: line, Mode: defaultMode}
		if m, t, ok := strings.Cut(strings.TrimLeft(sc.Text(), " "), "\t"); ok && validMode(strings.ToLower(strings.TrimSpace(m))) {
			q = Query{Text: strings.TrimSpace(t), Mode: strings.ToLower(strings.TrimSpace(m))}
		}
		if q.Text == "" {
			return nil, fmt.Errorf("line %d: a mode without a query", n)
		}
		out = append(out, q)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no queries in the list")
	}
	return out, nil
}
