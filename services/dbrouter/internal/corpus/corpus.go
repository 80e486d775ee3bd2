// Package corpus loads real English text — Debian package names, sections
// and descriptions — into tables of a test database, for the tests and
// benchmarks of full-text search. Sample is a fixed selection shipped with
// the repository (deterministic tests); Debian reads every package the
// machine's apt knows (`apt-cache dumpavail`, tens of thousands of rows,
// for benchmarks).
package corpus

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	_ "embed" // the sample
	"fmt"
	"os/exec"
	"strings"
)

// Package is one Debian package.
type Package struct {
	Name, Section, Description string
}

//go:embed testdata/packages.tsv
var sample string

// Sample returns a fixed selection of Debian packages (every 20th of a
// Debian 12 archive listing: a few thousand rows).
func Sample() []Package {
	var out []Package
	for _, line := range strings.Split(strings.TrimSpace(sample), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) == 3 {
			out = append(out, Package{Name: f[0], Section: f[1], Description: f[2]})
		}
	}
	return out
}

// Debian returns every package `apt-cache dumpavail` lists (the first
// stanza of each name), with its section and one-line description.
func Debian(ctx context.Context) ([]Package, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "dumpavail").Output()
	if err != nil {
		return nil, fmt.Errorf("corpus: apt-cache dumpavail (apt is needed for the Debian corpus): %w", err)
	}
	var pkgs []Package
	seen := map[string]bool{}
	var cur Package
	flush := func() {
		if cur.Name != "" && cur.Description != "" && !seen[cur.Name] {
			seen[cur.Name] = true
			pkgs = append(pkgs, cur)
		}
		cur = Package{}
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "Package: "):
			cur.Name = line[len("Package: "):]
		case strings.HasPrefix(line, "Section: "):
			cur.Section = line[len("Section: "):]
		case strings.HasPrefix(line, "Description: "):
			cur.Description = line[len("Description: "):]
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("corpus: read apt-cache output: %w", err)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("corpus: apt-cache dumpavail listed no package (run apt-get update)")
	}
	return pkgs, nil
}

// Create creates table in db — id (primary key, in pkgs order), name,
// section, description — fills it with pkgs and adds two FULLTEXT
// indexes: ft_description (description) and ft_name_description (name,
// description). table is a name chosen by the test, not input.
func Create(ctx context.Context, db *sql.DB, table string, pkgs []Package) error {
	q := "`" + table + "`"
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+q+` (
		id INT NOT NULL PRIMARY KEY,
		name VARCHAR(100) NOT NULL,
		section VARCHAR(64),
		description TEXT
	) ENGINE=InnoDB`); err != nil {
		return fmt.Errorf("corpus: create %s: %w", table, err)
	}
	const batch = 500
	for start := 0; start < len(pkgs); start += batch {
		end := min(start+batch, len(pkgs))
		var b strings.Builder
		b.WriteString("INSERT INTO " + q + " (id, name, section, description) VALUES ")
		args := make([]any, 0, 4*(end-start))
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?)")
			var section any
			if pkgs[i].Section != "" {
				section = pkgs[i].Section
			}
			args = append(args, i+1, pkgs[i].Name, section, pkgs[i].Description)
		}
		if _, err := db.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("corpus: fill %s: %w", table, err)
		}
	}
	if _, err := db.ExecContext(ctx, "ALTER TABLE "+q+" ADD FULLTEXT KEY ft_description (description)"); err != nil {
		return fmt.Errorf("corpus: index %s: %w", table, err)
	}
	if _, err := db.ExecContext(ctx, "ALTER TABLE "+q+" ADD FULLTEXT KEY ft_name_description (name, description)"); err != nil {
		return fmt.Errorf("corpus: index %s: %w", table, err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE TABLE "+q); err != nil {
		return fmt.Errorf("corpus: analyze %s: %w", table, err)
	}
	return nil
}
