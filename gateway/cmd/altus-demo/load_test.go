package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/pkg/testenv"
)

// fullTextIndexes lists schema.table's FULLTEXT indexes as "name(col,col)".
func fullTextIndexes(t *testing.T, db *sql.DB, schema, table string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT INDEX_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX)
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_TYPE = 'FULLTEXT'
		GROUP BY INDEX_NAME ORDER BY INDEX_NAME`, schema, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, cols string
		if err := rows.Scan(&name, &cols); err != nil {
			t.Fatal(err)
		}
		out = append(out, name+"("+cols+")")
	}
	return out
}

func TestLoadTableBuildsTheIndexesAndReplacesThePreviousRows(t *testing.T) {
	db, cfg := testenv.OpenDatabase(t)
	ctx := context.Background()
	pkgs := []Package{
		{Name: "nginx", Section: "httpd", Version: "1.22", Maintainer: "M <m@x>", Summary: "small, powerful, scalable web/proxy server", Description: "Nginx is a web server."},
		{Name: "bash", Section: "shells", Version: "5.2", Maintainer: "M <m@x>", Summary: "GNU Bourne Again SHell", Description: "Bash is a shell. Ünïcödé ✓"},
	}
	row := func(i int) []any {
		p := pkgs[i]
		return []any{p.Name, p.Section, p.Version, p.Maintainer, p.Summary, p.Description}
	}
	if err := loadTable(ctx, db, cfg.Database, packagesTable, len(pkgs), row); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ft_name_summary(name,summary)", "ft_summary_description(summary,description)"},
		fullTextIndexes(t, db, cfg.Database, "packages")); diff != "" {
		t.Errorf("FULLTEXT indexes (-want +got):\n%s", diff)
	}
	var name string
	if err := db.QueryRow("SELECT name FROM packages WHERE MATCH(summary, description) AGAINST('web server')").Scan(&name); err != nil || name != "nginx" {
		t.Errorf("search for web server: %q, %v; want nginx", name, err)
	}
	ok, err := upToDate(ctx, db, cfg.Database, map[string]int{"packages": 2})
	if err != nil || !ok {
		t.Errorf("upToDate with 2 rows = %v, %v; want true", ok, err)
	}
	if ok, _ := upToDate(ctx, db, cfg.Database, map[string]int{"packages": 3}); ok {
		t.Error("upToDate with the wrong count = true")
	}
	if ok, _ := upToDate(ctx, db, cfg.Database, map[string]int{"missing": 0}); ok {
		t.Error("upToDate of a missing table = true")
	}

	// A second load swaps in the new rows; no working tables are left.
	pkgs = pkgs[:1]
	if err := loadTable(ctx, db, cfg.Database, packagesTable, len(pkgs), row); err != nil {
		t.Fatal(err)
	}
	var tables []string
	rows, err := db.Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME", cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if diff := cmp.Diff([]string{"packages"}, tables); diff != "" {
		t.Errorf("tables after a reload (-want +got):\n%s", diff)
	}
	if ok, _ := upToDate(ctx, db, cfg.Database, map[string]int{"packages": 1}); !ok {
		t.Error("the reload did not replace the rows")
	}
}

func TestLoadTableSplitsLargeLoadsIntoBatches(t *testing.T) {
	db, cfg := testenv.OpenDatabase(t)
	big := make([]byte, 200<<10)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	n := 30 // 30 × 200 KiB: several 2 MiB batches
	err := loadTable(context.Background(), db, cfg.Database, docFilesTable, n, func(i int) []any {
		return []any{fmt.Sprintf("/usr/share/doc/p%d/copyright", i), fmt.Sprintf("p%d", i), string(big)}
	})
	if err != nil {
		t.Fatal(err)
	}
	var count, bytes int
	if err := db.QueryRow("SELECT COUNT(*), SUM(LENGTH(content)) FROM doc_files").Scan(&count, &bytes); err != nil {
		t.Fatal(err)
	}
	if count != n || bytes != n*len(big) {
		t.Errorf("%d rows, %d bytes; want %d rows, %d bytes", count, bytes, n, n*len(big))
	}
	if got := fullTextIndexes(t, db, cfg.Database, "doc_files"); len(got) != 0 {
		t.Errorf("doc_files has FULLTEXT indexes %v; it must have none", got)
	}
}

func TestEnsureReaderCanOnlySelectTheDemoDatabases(t *testing.T) {
	db, cfg := testenv.OpenDatabase(t)
	other := testenv.Database(t)
	ctx := context.Background()
	if _, err := db.Exec("CREATE TABLE t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	user := "altus_demo_t" + testenv.RandomSuffix(6)
	t.Cleanup(func() {
		for _, h := range readerHosts {
			_, _ = db.Exec("DROP USER IF EXISTS '" + user + "'@'" + h + "'")
		}
	})
	for _, pw := range []string{"first-password", "second-password"} { // a second run re-keys the account
		if err := ensureReader(ctx, db, user, pw, []string{cfg.Database}); err != nil {
			t.Fatal(err)
		}
	}
	reader := cfg
	reader.Username, reader.Password = user, "second-password"
	rdb, err := sql.Open("mysql", reader.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	var n int
	if err := rdb.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil {
		t.Fatalf("SELECT as the reader: %v", err)
	}
	if _, err := rdb.Exec("INSERT INTO t VALUES (1)"); err == nil {
		t.Error("the reader could INSERT")
	}
	if _, err := rdb.Exec("CREATE TABLE `" + other.Database + "`.x (id INT)"); err == nil {
		t.Error("the reader could create a table in another database")
	}
	if _, err := rdb.Query("SELECT 1 FROM `" + other.Database + "`.t"); err == nil {
		t.Error("the reader could read another database")
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"altus_demo_packages": true, "A1": true, "": false, "a-b": false, "a`b": false, "a b": false,
		"x2345678901234567890123456789012345678901234567890123456789012345": false,
	} {
		if got := validName(name); got != want {
			t.Errorf("validName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestEnvFileRoundTripsQuotesAndIsPrivate(t *testing.T) {
	path := t.TempDir() + "/sub/demo.env"
	env := map[string]string{
		"ALTUS_DEMO_PACKAGES_DSN": "altus_demo:p'w@tcp(127.0.0.1:3306)/altus_demo_packages",
		"ALTUS_DEMO_API_KEY":      "altus4_sk_test_a,altus4_sk_test_b",
	}
	if err := writeEnvFile(path, env); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(env, readEnvFile(path)); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 (it holds passwords and keys)", st.Mode().Perm())
	}
	if got := readEnvFile(path + ".missing"); len(got) != 0 {
		t.Errorf("a missing file reads as %v", got)
	}
}
