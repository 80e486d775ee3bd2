package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// table describes one demo table: how to create it (without its FULLTEXT
// indexes, which are added after the rows: one bulk build each instead of
// row-by-row maintenance) and its columns in insert order.
type table struct {
	Name    string
	Create  string // column definitions and plain keys, for CREATE TABLE `name` (...)
	Columns []string
	// FullText are ADD FULLTEXT clauses, applied one per ALTER (InnoDB
	// builds one FULLTEXT index at a time).
	FullText []string
}

const tableOptions = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"

var packagesTable = table{
	Name: "packages",
	Create: "name VARCHAR(191) NOT NULL, section VARCHAR(64) NOT NULL, version VARCHAR(128) NOT NULL, " +
		"maintainer VARCHAR(255) NOT NULL, summary VARCHAR(512) NOT NULL, description MEDIUMTEXT NOT NULL, " +
		"PRIMARY KEY (name)",
	Columns: []string{"name", "section", "version", "maintainer", "summary", "description"},
	FullText: []string{
		"ADD FULLTEXT KEY ft_summary_description (summary, description)",
		"ADD FULLTEXT KEY ft_name_summary (name, summary)",
	},
}

var changelogTable = table{
	Name: "changelog_entries",
	Create: "id INT UNSIGNED NOT NULL, package VARCHAR(191) NOT NULL, version VARCHAR(128) NOT NULL, " +
		"distribution VARCHAR(128) NOT NULL, urgency VARCHAR(32) NOT NULL, author VARCHAR(255) NOT NULL, " +
		"date DATETIME NULL, body TEXT NOT NULL, PRIMARY KEY (id), KEY idx_package (package)",
	Columns: []string{"id", "package", "version", "distribution", "urgency", "author", "date", "body"},
	FullText: []string{
		"ADD FULLTEXT KEY ft_body (body)",
		"ADD FULLTEXT KEY ft_package_body (package, body)",
	},
}

// docFilesTable deliberately has no FULLTEXT index: it is the text that the
// analyze route advises indexing.
var docFilesTable = table{
	Name:    "doc_files",
	Create:  "path VARCHAR(512) NOT NULL, package VARCHAR(191) NOT NULL, content MEDIUMTEXT NOT NULL, PRIMARY KEY (path)",
	Columns: []string{"path", "package", "content"},
}

// quoteIdent quotes a MySQL identifier (the names here are constants or the
// operator's own database names, checked by validName).
func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// validName reports whether s is a plain database or user name.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// rowCount returns the number of rows of schema.name, and false when the
// table does not exist.
func rowCount(ctx context.Context, db *sql.DB, schema, name string) (int, bool, error) {
	var n int
	err := db.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, name).Scan(&n)
	if err != nil {
		return 0, false, fmt.Errorf("demo: look for %s.%s: %w", schema, name, err)
	}
	if n == 0 {
		return 0, false, nil
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(schema)+"."+quoteIdent(name)).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("demo: count %s.%s: %w", schema, name, err)
	}
	return n, true, nil
}

// upToDate reports whether every table of want exists in schema with the
// wanted number of rows.
func upToDate(ctx context.Context, db *sql.DB, schema string, want map[string]int) (bool, error) {
	for name, n := range want {
		got, ok, err := rowCount(ctx, db, schema, name)
		if err != nil {
			return false, err
		}
		if !ok || got != n {
			return false, nil
		}
	}
	return true, nil
}

// batchBytes and batchArgs bound one multi-row INSERT (below the server's
// max_allowed_packet and the protocol's 65,535 placeholders).
const (
	batchBytes = 2 << 20
	batchArgs  = 60000
)

// loadTable (re)creates schema.t from rows: into a fresh `<name>__load`
// table, FULLTEXT indexes built after the rows, then swapped in with one
// atomic RENAME, so readers see the old table or the new one, never a half.
func loadTable(ctx context.Context, db *sql.DB, schema string, t table, n int, row func(i int) []any) error {
	qs := quoteIdent(schema)
	tmp, old := quoteIdent(t.Name+"__load"), quoteIdent(t.Name+"__old")
	for _, stmt := range []string{
		"DROP TABLE IF EXISTS " + qs + "." + tmp,
		"DROP TABLE IF EXISTS " + qs + "." + old,
		"CREATE TABLE " + qs + "." + tmp + " (" + t.Create + ")" + tableOptions,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("demo: %s.%s: %w", schema, t.Name, err)
		}
	}
	head := "INSERT INTO " + qs + "." + tmp + " (" + strings.Join(t.Columns, ", ") + ") VALUES "
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.Columns)), ", ") + ")"
	var (
		sb    strings.Builder
		args  []any
		size  int
		count int
	)
	flush := func() error {
		if count == 0 {
			return nil
		}
		if _, err := db.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("demo: insert into %s.%s: %w", schema, t.Name, err)
		}
		sb.Reset()
		args, size, count = args[:0], 0, 0
		return nil
	}
	for i := 0; i < n; i++ {
		vals := row(i)
		rowSize := 0
		for _, v := range vals {
			if s, ok := v.(string); ok {
				rowSize += 2*len(s) + 4 // escaped worst case
			} else {
				rowSize += 24
			}
		}
		if count > 0 && (size+rowSize > batchBytes || len(args)+len(vals) > batchArgs) {
			if err := flush(); err != nil {
				return err
			}
		}
		if count == 0 {
			sb.WriteString(head)
		} else {
			sb.WriteString(", ")
		}
		sb.WriteString(tuple)
		args = append(args, vals...)
		size += rowSize
		count++
	}
	if err := flush(); err != nil {
		return err
	}
	for _, ft := range t.FullText {
		if _, err := db.ExecContext(ctx, "ALTER TABLE "+qs+"."+tmp+" "+ft); err != nil {
			return fmt.Errorf("demo: index %s.%s: %w", schema, t.Name, err)
		}
	}
	_, exists, err := rowCount(ctx, db, schema, t.Name)
	if err != nil {
		return err
	}
	swap := "RENAME TABLE " + qs + "." + tmp + " TO " + qs + "." + quoteIdent(t.Name)
	if exists {
		swap = "RENAME TABLE " + qs + "." + quoteIdent(t.Name) + " TO " + qs + "." + old + ", " +
			qs + "." + tmp + " TO " + qs + "." + quoteIdent(t.Name)
	}
	if _, err := db.ExecContext(ctx, swap); err != nil {
		return fmt.Errorf("demo: swap in %s.%s: %w", schema, t.Name, err)
	}
	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+qs+"."+old); err != nil {
		return fmt.Errorf("demo: drop the previous %s.%s: %w", schema, t.Name, err)
	}
	return nil
}

// createDatabase creates schema when missing.
func createDatabase(ctx context.Context, db *sql.DB, schema string) error {
	_, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(schema)+
		" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	if err != nil {
		return fmt.Errorf("demo: create database %s: %w", schema, err)
	}
	return nil
}

// readerHosts are the host parts of the read-only account: 'localhost'
// (socket, and TCP from 127.0.0.1 when the server resolves names) and '%'
// (any other address, e.g. ::1 or a container's).
var readerHosts = []string{"localhost", "%"}

// ensureReader creates (or re-keys) the read-only account that the demo
// sources are registered with, allowed SELECT on the demo databases only.
func ensureReader(ctx context.Context, db *sql.DB, user, password string, schemas []string) error {
	for _, host := range readerHosts {
		account := "'" + user + "'@'" + host + "'"
		stmts := []string{
			"CREATE USER IF NOT EXISTS " + account + " IDENTIFIED BY ?",
			"ALTER USER " + account + " IDENTIFIED BY ?",
		}
		for _, s := range stmts {
			if _, err := db.ExecContext(ctx, s, password); err != nil {
				return fmt.Errorf("demo: read-only account %s: %w", account, err)
			}
		}
		for _, schema := range schemas {
			if _, err := db.ExecContext(ctx, "GRANT SELECT ON "+quoteIdent(schema)+".* TO "+account); err != nil {
				return fmt.Errorf("demo: grant SELECT on %s to %s: %w", schema, account, err)
			}
		}
	}
	return nil
}

// nullTime is t, or NULL when t is zero.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
