package migrate

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/altus4/altus/pkg/testenv"
)

func TestUpAppliesOnceAndKeepsEachServiceHistorySeparate(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Database(t)
	if err := EnsureDatabase(ctx, cfg.DSN()); err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, cfg.DSN(), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fsA := fstest.MapFS{
		"00001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE a (id INT PRIMARY KEY);\n-- +goose Down\nDROP TABLE a;\n")},
	}
	fsB := fstest.MapFS{
		"00001_b.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b (id INT PRIMARY KEY);\n-- +goose Down\nDROP TABLE b;\n")},
	}
	if n, err := Up(ctx, db, "svca", fsA, nil); err != nil || n != 1 {
		t.Fatalf("first Up = %d, %v; want 1 applied", n, err)
	}
	if n, err := Up(ctx, db, "svca", fsA, nil); err != nil || n != 0 {
		t.Fatalf("second Up = %d, %v; want nothing applied", n, err)
	}
	if n, err := Up(ctx, db, "svcb", fsB, nil); err != nil || n != 1 {
		t.Fatalf("other service Up = %d, %v; want 1 applied (own history)", n, err)
	}
	for _, table := range []string{"a", "b", "goose_svca", "goose_svcb"} {
		var name string
		if err := db.QueryRowContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?", table).Scan(&name); err != nil {
			t.Errorf("table %s missing: %v", table, err)
		}
	}
}
