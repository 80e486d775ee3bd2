package main

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const dumpavailSample = `Package: 0ad
Version: 0.0.26-3
Maintainer: Debian Games Team <pkg-games-devel@lists.alioth.debian.org>
Description: Real-time strategy game of ancient warfare
Section: games
Description-md5: d943033bedada21853d2ae54a2578a7b

Package: bash
Version: 5.2.15-2
Maintainer: Matthias Klose <doko@debian.org>
Section: shells
Description: GNU Bourne Again SHell
Description-md5: 1111

Package: orphan
Version: 1.0
Section: misc
Description: a package with no translation
Tag: role::program,
 interface::commandline

Package: bash
Version: 5.2.15-2+b1
Maintainer: Matthias Klose <doko@debian.org>
Section: shells
Description: GNU Bourne Again SHell
Description-md5: 2222
`

const translationSample = `Package: 0ad
Description-md5: d943033bedada21853d2ae54a2578a7b
Description-en: Real-time strategy game of ancient warfare
 0 A.D. is a free, open-source, cross-platform
 real-time strategy game.
 .
 It is ambitious.

Package: bash
Description-md5: 2222
Description-en: GNU Bourne Again SHell
 Bash is an sh-compatible command language interpreter.

Package: bash
Description-md5: 1111
Description-en: GNU Bourne Again SHell
 An older text.
`

func TestParsePackagesAndTranslations(t *testing.T) {
	pkgs, err := ParsePackages(strings.NewReader(dumpavailSample))
	if err != nil {
		t.Fatal(err)
	}
	var tr Translations
	if err := tr.ParseTranslations(strings.NewReader(translationSample)); err != nil {
		t.Fatal(err)
	}
	if long := tr.Apply(pkgs); long != 2 {
		t.Errorf("%d packages got a long description, want 2", long)
	}
	want := []Package{
		{Name: "0ad", Section: "games", Version: "0.0.26-3", Maintainer: "Debian Games Team <pkg-games-devel@lists.alioth.debian.org>",
			Summary:     "Real-time strategy game of ancient warfare",
			Description: "0 A.D. is a free, open-source, cross-platform\nreal-time strategy game.\n\nIt is ambitious."},
		// The later stanza of a name wins, and its description MD5 picks the text.
		{Name: "bash", Section: "shells", Version: "5.2.15-2+b1", Maintainer: "Matthias Klose <doko@debian.org>",
			Summary: "GNU Bourne Again SHell", Description: "Bash is an sh-compatible command language interpreter."},
		// No translation: the summary stands in.
		{Name: "orphan", Section: "misc", Version: "1.0", Summary: "a package with no translation", Description: "a package with no translation"},
	}
	if diff := cmp.Diff(want, pkgs, cmpopts.IgnoreUnexported(Package{})); diff != "" {
		t.Errorf("packages (-want +got):\n%s", diff)
	}
}

func TestApplyWithoutTranslationsFallsBackToSummaries(t *testing.T) {
	pkgs, err := ParsePackages(strings.NewReader(dumpavailSample))
	if err != nil {
		t.Fatal(err)
	}
	var none *Translations
	if n := none.Apply(pkgs); n != 0 {
		t.Errorf("%d long descriptions without translations", n)
	}
	for _, p := range pkgs {
		if p.Description != p.Summary {
			t.Errorf("%s: description %q, want its summary", p.Name, p.Description)
		}
	}
}

const changelogSample = "bash (5.2.15-2) unstable; urgency=medium\n" +
	"\n" +
	"  * Remove one more pdf file without source. Closes: #1024598.\n" +
	"    - continued detail\n" +
	"\n" +
	" -- Matthias Klose <doko@debian.org>  Mon, 02 Jan 2023 13:06:21 +0100\n" +
	"\n" +
	"bash (5.2-3) experimental unstable; urgency=LOW, binary-only=yes\n" +
	"\n" +
	"  * Caf\xe9 in Latin-1.\n" +
	"\n" +
	" -- Someone Else <se@example.org>  Sat,  3 Dec 2022 16:40:30 -0000\n" +
	"\n" +
	"Local variables:\n" +
	"mode: debian-changelog\n"

func TestParseChangelogEntries(t *testing.T) {
	got, err := ParseChangelog(strings.NewReader(changelogSample))
	if err != nil {
		t.Fatal(err)
	}
	want := []ChangelogEntry{
		{Package: "bash", Version: "5.2.15-2", Distribution: "unstable", Urgency: "medium",
			Author: "Matthias Klose <doko@debian.org>", Date: time.Date(2023, 1, 2, 12, 6, 21, 0, time.UTC),
			Body: "* Remove one more pdf file without source. Closes: #1024598.\n  - continued detail"},
		{Package: "bash", Version: "5.2-3", Distribution: "experimental unstable", Urgency: "low",
			Author: "Someone Else <se@example.org>", Date: time.Date(2022, 12, 3, 16, 40, 30, 0, time.UTC),
			Body: "* Café in Latin-1."},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestParseChangelogKeepsAnEntryWithoutTrailerAndTruncatesHugeBodies(t *testing.T) {
	huge := strings.Repeat("  * é long line of text\n", 5000)
	in := "pkg (1.0) unstable; urgency=high\n" + huge + "pkg (0.9) unstable; urgency=low\n  * first\n -- A <a@b>  not a date\n"
	got, err := ParseChangelog(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2", len(got))
	}
	if n := len(got[0].Body); n > maxTextBytes || n < maxTextBytes-4 {
		t.Errorf("body of %d bytes, want it cut to fit TEXT (%d)", n, maxTextBytes)
	}
	if !isValidUTF8(got[0].Body) {
		t.Error("truncated body is not valid UTF-8")
	}
	if !got[1].Date.IsZero() || got[1].Author != "A <a@b>" {
		t.Errorf("entry with a bad date: %+v, want a zero date and the author", got[1])
	}
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestScanDocsReadsEachFileOnceAndDropsRepeatedEntries(t *testing.T) {
	dir := t.TempDir()
	gz := func(path, content string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		z := gzip.NewWriter(f)
		_, _ = z.Write([]byte(content))
		z.Close()
		f.Close()
	}
	gz(filepath.Join(dir, "bash/changelog.Debian.gz"), changelogSample)
	// A binary package of the same source ships the same changelog again.
	gz(filepath.Join(dir, "bash-builtins/changelog.Debian.gz"), changelogSample)
	gz(filepath.Join(dir, "zsh/NEWS.Debian.gz"), "zsh news\n")
	if err := os.WriteFile(filepath.Join(dir, "bash/copyright"), []byte("GPL-3+\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "zsh/copyright"), []byte("\x00binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A package whose doc folder is a link to another's: read once.
	if err := os.Symlink("bash", filepath.Join(dir, "bash-doc")); err != nil {
		t.Fatal(err)
	}

	entries, docs, err := ScanDocs(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	if diff := cmp.Diff([]int{1, 2}, ids); diff != "" {
		t.Errorf("entry ids (-want +got):\n%s", diff)
	}
	want := []DocFile{
		{Path: filepath.Join(dir, "bash/copyright"), Package: "bash", Content: "GPL-3+\n"},
		{Path: filepath.Join(dir, "zsh/NEWS.Debian.gz"), Package: "zsh", Content: "zsh news\n"},
	}
	if diff := cmp.Diff(want, docs); diff != "" {
		t.Errorf("documentation files (-want +got):\n%s", diff)
	}
}

func TestTranslationFilesFindsEveryCompression(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{
		"deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en.lz4",
		"deb.debian.org_debian_dists_bookworm-updates_main_i18n_Translation-en",
		"deb.debian.org_debian_dists_bookworm_main_i18n_Translation-de.lz4",
		"deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
	} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := TranslationFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "deb.debian.org_debian_dists_bookworm-updates_main_i18n_Translation-en"),
		filepath.Join(dir, "deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en.lz4"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
