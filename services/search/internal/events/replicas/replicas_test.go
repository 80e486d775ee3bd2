// Package replicas_test runs the search event store over real MariaDB
// replication: a primary and a replica of the metadata database.
package replicas_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/pkg/metadb"
	"github.com/altus4/altus/pkg/metadb/metadbtest"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/services/search/internal/events"
)

var pair *metadbtest.Pair

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "altus-search-replicas-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	if pair, err = metadbtest.Start(context.Background(), dir); err != nil {
		return 1, err
	}
	defer pair.Close()
	return m.Run(), nil
}

// counters returns a SHOW GLOBAL STATUS counter of the primary and the replica.
func counters(t *testing.T, name string) (primary, replica int64) {
	t.Helper()
	ctx := context.Background()
	p, err := pair.Primary.Status(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pair.Replica.Status(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

func TestReportsReadTheReplicaWhileWritesAndClickOwnershipStayOnThePrimary(t *testing.T) {
	ctx := context.Background()
	cfg := config.MySQL{
		WriteHost: pair.Primary.Addr(), ReadHosts: []string{pair.Replica.Addr()}, Port: 3306,
		Username: metadbtest.User, Password: metadbtest.Password, Database: metadbtest.Database,
		MaxOpenConns: 5, ReadMaxLag: 10 * time.Second, ReadCheckInterval: time.Hour,
	}
	primary, err := migrate.Open(ctx, cfg.DSN(), cfg.MaxOpenConns)
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	if _, err := migrate.Up(ctx, primary, events.Service, events.Migrations(), nil); err != nil {
		t.Fatal(err)
	}
	reader, err := metadb.New(ctx, cfg, primary, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	store := events.NewSplitStore(primary, reader)

	const user = "u-replica"
	now := time.Now().UTC().Truncate(time.Millisecond)
	var evs []events.Event
	for i := range 3 {
		evs = append(evs, events.Event{
			ID: uuid.NewString(), UserID: user, Query: fmt.Sprintf("galaxy %d", i), Mode: "natural",
			Databases: []string{"11111111-1111-1111-1111-111111111111"}, ResultCount: 3, TotalCount: 42,
			ExecutionTime: 12 * time.Millisecond, CreatedAt: now.Add(-time.Duration(i) * time.Minute),
		})
	}
	p0, _ := counters(t, "Com_insert")
	if err := store.Insert(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertClick(ctx, events.Click{ID: uuid.NewString(), SearchID: evs[0].ID, UserID: user, ResultID: "r-1", Position: 1, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if p1, _ := counters(t, "Com_insert"); p1-p0 != 2 {
		t.Errorf("the primary executed %d INSERTs, want 2 (one batch of events, one click)", p1-p0)
	}
	if err := pair.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}

	// Four report reads: the replica answers every one, the primary none.
	r := events.Range{Start: now.Add(-time.Hour), End: now.Add(time.Hour)}
	ps0, rs0 := counters(t, "Com_select")
	hist, err := store.History(ctx, user, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := store.UserSummary(ctx, user, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SystemSummary(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := store.UserDays(ctx, user, r); err != nil {
		t.Fatal(err)
	}
	ps1, rs1 := counters(t, "Com_select")
	if diff := cmp.Diff([2]int64{0, 4}, [2]int64{ps1 - ps0, rs1 - rs0}); diff != "" {
		t.Errorf("SELECTs answered [primary, replica] (-want +got):\n%s", diff)
	}
	if len(hist) != 3 || sum.Total != 3 {
		t.Errorf("the replica's history has %d events and its summary %d, want 3 and 3", len(hist), sum.Total)
	}

	// A search's owner (checked before its click is recorded) must be
	// current, so the primary answers it.
	owner, found, err := store.SearchOwner(ctx, evs[1].ID)
	if err != nil || !found || owner != user {
		t.Fatalf("SearchOwner = %q, %v, %v", owner, found, err)
	}
	ps2, rs2 := counters(t, "Com_select")
	if diff := cmp.Diff([2]int64{1, 0}, [2]int64{ps2 - ps1, rs2 - rs1}); diff != "" {
		t.Errorf("SearchOwner SELECTs [primary, replica] (-want +got):\n%s", diff)
	}
}
