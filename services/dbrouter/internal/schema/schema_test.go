package schema

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/altus4/altus/pkg/testenv"
	"github.com/google/go-cmp/cmp"
)

// fixture is a user's database with FULLTEXT indexes of one and several
// columns (declared in an order that is not the table's), a MyISAM table
// with no FULLTEXT index, a composite primary key and a view.
var fixture = []string{
	`CREATE TABLE articles (
		id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
		title VARCHAR(200) NOT NULL,
		summary TINYTEXT,
		body TEXT,
		author CHAR(40),
		created_at DATETIME,
		FULLTEXT KEY ft_title (title),
		FULLTEXT KEY ft_body_title (body, title)
	) ENGINE=InnoDB`,
	`CREATE TABLE ledger (
		id BIGINT NOT NULL PRIMARY KEY,
		note VARCHAR(50),
		amount DECIMAL(10,2)
	) ENGINE=MyISAM`,
	`CREATE TABLE post_tags (
		post_id INT NOT NULL,
		tag VARCHAR(50) NOT NULL,
		weight INT,
		description MEDIUMTEXT,
		notes LONGTEXT,
		PRIMARY KEY (tag, post_id),
		FULLTEXT KEY ft_desc_notes (notes, description)
	) ENGINE=InnoDB`,
	`CREATE VIEW recent_articles AS SELECT id, title FROM articles`,
	`INSERT INTO ledger (id, note, amount) VALUES (1, 'a', 1), (2, 'b', 2)`,
}

func TestDiscoverReadsTablesColumnsTheirLengthsKeysAndExactFullTextColumnLists(t *testing.T) {
	db, cfg := testenv.OpenDatabase(t)
	ctx := context.Background()
	for _, stmt := range fixture {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("fixture %q: %v", stmt, err)
		}
	}
	// A table of another database on the same server must not show up.
	other, _ := testenv.OpenDatabase(t)
	if _, err := other.ExecContext(ctx, "CREATE TABLE intruder (x TEXT, FULLTEXT(x))"); err != nil {
		t.Fatal(err)
	}

	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	got, err := Discover(ctx, db, cfg.Database, now)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	col := func(name, typ string, pk, searchable, ft bool, maxChars ...uint32) Column {
		c := Column{Name: name, Type: typ, IsPrimaryKey: pk, IsSearchable: searchable, IsFullTextIndexed: ft}
		if len(maxChars) > 0 {
			c.MaxChars = maxChars[0]
		}
		return c
	}
	want := []Table{
		{
			Database: cfg.Database, Name: "articles", Engine: "InnoDB", LastAnalyzed: now,
			Columns: []Column{
				col("id", "int", true, false, false),
				col("title", "varchar", false, true, true, 200),
				col("summary", "tinytext", false, true, false, 255),
				col("body", "text", false, true, true, 65535),
				col("author", "char", false, true, false, 40),
				col("created_at", "datetime", false, false, false),
			},
			FullTextIndexes: []FullTextIndex{
				{Name: "ft_body_title", Columns: []string{"body", "title"}},
				{Name: "ft_title", Columns: []string{"title"}},
			},
			PrimaryKey: []string{"id"},
		},
		{
			Database: cfg.Database, Name: "ledger", Engine: "MyISAM", LastAnalyzed: now,
			Columns: []Column{
				col("id", "bigint", true, false, false),
				col("note", "varchar", false, true, false, 50),
				col("amount", "decimal", false, false, false),
			},
			PrimaryKey: []string{"id"},
		},
		{
			Database: cfg.Database, Name: "post_tags", Engine: "InnoDB", LastAnalyzed: now,
			Columns: []Column{
				col("post_id", "int", true, false, false),
				col("tag", "varchar", true, true, false, 50),
				col("weight", "int", false, false, false),
				col("description", "mediumtext", false, true, true, 16777215),
				col("notes", "longtext", false, true, true, 4294967295),
			},
			FullTextIndexes: []FullTextIndex{{Name: "ft_desc_notes", Columns: []string{"notes", "description"}}},
			PrimaryKey:      []string{"tag", "post_id"},
		},
	}
	// Row estimates are the server's guess; they are checked separately.
	if diff := cmp.Diff(want, got.Tables, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".EstimatedRows"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	if got.Database != cfg.Database || !got.DiscoveredAt.Equal(now) || len(got.Fingerprint) != 64 {
		t.Errorf("schema header = %q %v %q", got.Database, got.DiscoveredAt, got.Fingerprint)
	}
	if ledger, _ := got.Table("ledger"); ledger.EstimatedRows > 10 {
		t.Errorf("ledger estimated rows = %d, want a small estimate", ledger.EstimatedRows)
	}
}

func TestFingerprintChangesWithStructureOnly(t *testing.T) {
	db, cfg := testenv.OpenDatabase(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT, FULLTEXT(body))"); err != nil {
		t.Fatal(err)
	}
	first, err := Discover(ctx, db, cfg.Database, time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO notes VALUES (1, 'hello world')"); err != nil {
		t.Fatal(err)
	}
	same, err := Discover(ctx, db, cfg.Database, time.Unix(2, 0))
	if err != nil {
		t.Fatal(err)
	}
	if same.Fingerprint != first.Fingerprint {
		t.Error("fingerprint changed with data and time only")
	}
	if _, err := db.ExecContext(ctx, "ALTER TABLE notes ADD COLUMN title VARCHAR(10)"); err != nil {
		t.Fatal(err)
	}
	changed, err := Discover(ctx, db, cfg.Database, time.Unix(3, 0))
	if err != nil {
		t.Fatal(err)
	}
	if changed.Fingerprint == first.Fingerprint {
		t.Error("fingerprint did not change when a column was added")
	}
	if _, err := db.ExecContext(ctx, "ALTER TABLE notes ENGINE=MyISAM"); err != nil {
		t.Fatal(err)
	}
	moved, err := Discover(ctx, db, cfg.Database, time.Unix(4, 0))
	if err != nil {
		t.Fatal(err)
	}
	if moved.Fingerprint == changed.Fingerprint {
		t.Error("fingerprint did not change when the engine changed (full-text rules differ)")
	}
}

func TestEstimatedRowsSaturateAtMaxUint32(t *testing.T) {
	q := fakeQuerier(t, [][]any{{"big", uint64(math.MaxUint32) + 10, "InnoDB"}})
	s, err := Discover(context.Background(), q, "x", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Tables[0].EstimatedRows; got != math.MaxUint32 {
		t.Errorf("EstimatedRows = %d, want %d", got, uint32(math.MaxUint32))
	}
}
