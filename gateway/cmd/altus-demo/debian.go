package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Package is one row of altus_demo_packages.packages.
type Package struct {
	Name, Section, Version, Maintainer, Summary, Description string
	// descriptionMD5 joins a package to its long description in the
	// Translation-en lists (the same text may serve several versions).
	descriptionMD5 string
}

// stanzas splits a Debian control-style file (Packages, Translation-en,
// dumpavail output) into stanzas and calls f with each one's fields. A field's
// continuation lines (starting with a space or tab) are kept with their
// leading space, joined by "\n", so that multi-line fields can be decoded by
// the caller.
func stanzas(r io.Reader, f func(fields map[string]string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	fields := map[string]string{}
	last := ""
	flush := func() error {
		if len(fields) == 0 {
			return nil
		}
		err := f(fields)
		fields = map[string]string{}
		last = ""
		return err
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			if err := flush(); err != nil {
				return err
			}
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				fields[last] += "\n" + line
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = k
			fields[k] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return flush()
}

// splitDescription splits a Debian Description field into its synopsis
// (first line) and its extended description, decoded from the control-file
// conventions: one leading space removed, " ." as an empty line.
func splitDescription(v string) (summary, long string) {
	first, rest, _ := strings.Cut(v, "\n")
	summary = strings.TrimSpace(first)
	if rest == "" {
		return summary, ""
	}
	lines := strings.Split(rest, "\n")
	for i, l := range lines {
		l = strings.TrimPrefix(l, " ")
		if strings.TrimSpace(l) == "." {
			l = ""
		}
		lines[i] = strings.TrimRight(l, " \t")
	}
	return summary, strings.TrimSpace(strings.Join(lines, "\n"))
}

// ParsePackages reads `apt-cache dumpavail` output: one Package per name
// (the last stanza of a name wins; dumpavail already merges suites).
func ParsePackages(r io.Reader) ([]Package, error) {
	byName := map[string]int{}
	var out []Package
	err := stanzas(r, func(f map[string]string) error {
		name := f["Package"]
		if name == "" {
			return nil
		}
		summary, long := splitDescription(f["Description"])
		p := Package{
			Name: name, Section: f["Section"], Version: f["Version"], Maintainer: f["Maintainer"],
			Summary: summary, Description: long, descriptionMD5: f["Description-md5"],
		}
		if i, ok := byName[name]; ok {
			out[i] = p
			return nil
		}
		byName[name] = len(out)
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("demo: parse package list: %w", err)
	}
	return out, nil
}

// Translations holds the long English descriptions from apt's
// Translation-en lists, by description MD5 and by package name.
type Translations struct {
	byMD5, byName map[string]string
	// Files are the lists read.
	Files []string
}

// Len is the number of descriptions held.
func (t *Translations) Len() int {
	if t == nil {
		return 0
	}
	return len(t.byName)
}

// ParseTranslations adds the stanzas of one Translation-en list.
func (t *Translations) ParseTranslations(r io.Reader) error {
	if t.byMD5 == nil {
		t.byMD5, t.byName = map[string]string{}, map[string]string{}
	}
	return stanzas(r, func(f map[string]string) error {
		d, ok := f["Description-en"]
		if !ok {
			return nil
		}
		_, long := splitDescription(d)
		if long == "" {
			return nil
		}
		if m := f["Description-md5"]; m != "" {
			t.byMD5[m] = long
		}
		if n := f["Package"]; n != "" {
			t.byName[n] = long
		}
		return nil
	})
}

// Apply fills each package's long description from t (by description MD5,
// then by name), falling back to its summary. It returns how many packages
// got a long description.
func (t *Translations) Apply(pkgs []Package) int {
	n := 0
	for i := range pkgs {
		p := &pkgs[i]
		long := p.Description
		if t != nil {
			if d, ok := t.byMD5[p.descriptionMD5]; ok && p.descriptionMD5 != "" {
				long = d
			} else if d, ok := t.byName[p.Name]; ok {
				long = d
			}
		}
		if long == "" {
			p.Description = p.Summary
			continue
		}
		p.Description = long
		n++
	}
	return n
}

// TranslationFiles lists apt's English translation lists in dir, whatever
// compression apt stored them with.
func TranslationFiles(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*_i18n_Translation-en*"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		if strings.HasSuffix(m, ".diff") || strings.Contains(m, ".diff/") {
			continue
		}
		if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out, nil
}

// openCompressed opens an apt list or a documentation file, decompressing
// it by its name: gzip in Go; lz4, xz, zstd and bzip2 through apt's own
// helper (`apt-helper cat-file`, which reads whatever apt stored) or the
// matching command-line tool.
func openCompressed(path string) (io.ReadCloser, error) {
	ext := filepath.Ext(path)
	switch ext {
	case ".gz":
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		z, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("demo: %s: %w", path, err)
		}
		return struct {
			io.Reader
			io.Closer
		}{z, f}, nil
	case ".lz4", ".xz", ".zst", ".bz2", ".lzma":
		var cmd *exec.Cmd
		if _, err := os.Stat("/usr/lib/apt/apt-helper"); err == nil {
			cmd = exec.Command("/usr/lib/apt/apt-helper", "cat-file", path)
		} else {
			tool := map[string]string{".lz4": "lz4", ".xz": "xz", ".zst": "zstd", ".bz2": "bzip2", ".lzma": "xz"}[ext]
			cmd = exec.Command(tool, "-dc", path)
		}
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("demo: decompress %s with %s: %w", path, cmd.Path, err)
		}
		return io.NopCloser(bytes.NewReader(out)), nil
	default:
		return os.Open(path)
	}
}

// ChangelogEntry is one row of altus_demo_changelogs.changelog_entries.
type ChangelogEntry struct {
	ID                                      int
	Package, Version, Distribution, Urgency string
	Author                                  string
	Date                                    time.Time // zero when unparsable
	Body                                    string
}

// maxTextBytes is the capacity of a TEXT column.
const maxTextBytes = 65535

// ParseChangelog reads a Debian changelog (debian/changelog format): each
// entry starts with "package (version) distributions; urgency=..." and ends
// with the trailer line " -- Name <email>  date".
func ParseChangelog(r io.Reader) ([]ChangelogEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 4<<20)
	var (
		out  []ChangelogEntry
		cur  *ChangelogEntry
		body []string
	)
	finish := func() {
		if cur == nil {
			return
		}
		cur.Body = truncateUTF8(strings.TrimSpace(strings.Join(body, "\n")), maxTextBytes)
		out = append(out, *cur)
		cur, body = nil, nil
	}
	for sc.Scan() {
		line := toUTF8(sc.Bytes())
		if cur == nil {
			if e, ok := parseChangelogHeader(line); ok {
				cur = &e
			}
			continue
		}
		if strings.HasPrefix(line, " -- ") {
			cur.Author, cur.Date = parseTrailer(line[4:])
			finish()
			continue
		}
		if e, ok := parseChangelogHeader(line); ok {
			// An entry without a trailer: close it and start the next one.
			finish()
			cur = &e
			continue
		}
		body = append(body, dedent(line))
	}
	finish()
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("demo: read changelog: %w", err)
	}
	return out, nil
}

// parseChangelogHeader parses "name (version) dist1 dist2; urgency=low, ...".
func parseChangelogHeader(line string) (ChangelogEntry, bool) {
	if line == "" || line[0] == ' ' || line[0] == '\t' {
		return ChangelogEntry{}, false
	}
	name, rest, ok := strings.Cut(line, " (")
	if !ok || strings.ContainsAny(name, " \t") || name == "" {
		return ChangelogEntry{}, false
	}
	version, rest, ok := strings.Cut(rest, ")")
	if !ok || version == "" {
		return ChangelogEntry{}, false
	}
	dists, opts, _ := strings.Cut(rest, ";")
	e := ChangelogEntry{Package: name, Version: version, Distribution: strings.TrimSpace(dists)}
	for _, o := range strings.Split(opts, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(o), "="); ok && strings.EqualFold(k, "urgency") {
			e.Urgency = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return e, true
}

// changelogDateLayouts are the date forms found in changelog trailers
// (RFC 2822 with and without the weekday, with one- or two-digit days).
var changelogDateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon,  2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
}

// parseTrailer splits "Name <email>  Mon, 02 Jan 2023 13:06:21 +0100".
func parseTrailer(s string) (author string, date time.Time) {
	author, when, ok := strings.Cut(s, ">")
	if ok {
		author += ">"
	} else {
		author, when, _ = strings.Cut(s, "  ")
	}
	author = strings.TrimSpace(author)
	when = strings.TrimSpace(when)
	if i := strings.Index(when, " ("); i > 0 { // "... +0000 (UTC)"
		when = when[:i]
	}
	for _, layout := range changelogDateLayouts {
		if t, err := time.Parse(layout, when); err == nil {
			return author, t.UTC()
		}
	}
	return author, time.Time{}
}

// dedent removes the two-space indentation of changelog body lines.
func dedent(l string) string {
	l = strings.TrimRight(l, " \t\r")
	if strings.HasPrefix(l, "  ") {
		return l[2:]
	}
	return strings.TrimLeft(l, " \t")
}

// toUTF8 returns b as UTF-8: as is when valid, otherwise decoded as
// Latin-1 (what old changelogs used).
func toUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// truncateUTF8 cuts s to at most n bytes on a rune boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// DocFile is one row of altus_demo_changelogs.doc_files.
type DocFile struct{ Path, Package, Content string }

// maxDocBytes bounds one documentation file's content.
const maxDocBytes = 256 << 10

// docNames are the files of /usr/share/doc/<pkg>/ loaded into doc_files.
var docNames = []string{"copyright", "README.Debian", "README.Debian.gz", "NEWS.Debian.gz", "README", "README.md", "README.gz"}

// ScanDocs reads the changelogs and the main documentation files of every
// package under dir (normally /usr/share/doc). Files reached twice through
// symbolic links are read once; entries that are the same (package, version)
// in several packages' changelogs (binary packages of one source) are kept
// once. Entry ids are assigned in a stable order.
func ScanDocs(dir string) ([]ChangelogEntry, []DocFile, error) {
	pkgDirs, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: read %s: %w", dir, err)
	}
	seenFile := map[string]bool{}
	seenEntry := map[string]bool{}
	var entries []ChangelogEntry
	var docs []DocFile
	for _, d := range pkgDirs {
		pkgDir := filepath.Join(dir, d.Name())
		if st, err := os.Stat(pkgDir); err != nil || !st.IsDir() {
			continue
		}
		if path, ok := realFile(filepath.Join(pkgDir, "changelog.Debian.gz"), seenFile); ok {
			es, err := readChangelog(path)
			if err != nil {
				return nil, nil, err
			}
			for _, e := range es {
				k := e.Package + "\x00" + e.Version + "\x00" + e.Date.String()
				if seenEntry[k] {
					continue
				}
				seenEntry[k] = true
				entries = append(entries, e)
			}
		}
		for _, name := range docNames {
			p := filepath.Join(pkgDir, name)
			real, ok := realFile(p, seenFile)
			if !ok {
				continue
			}
			content, err := readText(real)
			if err != nil {
				return nil, nil, err
			}
			if strings.TrimSpace(content) == "" {
				continue
			}
			docs = append(docs, DocFile{Path: p, Package: d.Name(), Content: content})
		}
	}
	for i := range entries {
		entries[i].ID = i + 1
	}
	return entries, docs, nil
}

// realFile resolves path's symbolic links and reports whether it is a
// regular file not seen before (and marks it seen).
func realFile(path string, seen map[string]bool) (string, bool) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", false
	}
	st, err := os.Stat(real)
	if err != nil || !st.Mode().IsRegular() || seen[real] {
		return "", false
	}
	seen[real] = true
	return real, true
}

func readChangelog(path string) ([]ChangelogEntry, error) {
	rc, err := openCompressed(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	es, err := ParseChangelog(rc)
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w", path, err)
	}
	return es, nil
}

func readText(path string) (string, error) {
	rc, err := openCompressed(path)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxDocBytes))
	if err != nil {
		return "", fmt.Errorf("demo: read %s: %w", path, err)
	}
	if bytes.IndexByte(b, 0) >= 0 { // not text
		return "", nil
	}
	lines := bytes.Split(b, []byte("\n"))
	text := make([]string, len(lines))
	for i, l := range lines {
		text[i] = toUTF8(l)
	}
	return truncateUTF8(strings.Join(text, "\n"), maxDocBytes), nil
}
