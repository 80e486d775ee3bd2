package events_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/altus4/altus/services/search/internal/events"
	"github.com/altus4/altus/services/search/internal/events/eventstest"
)

// explainRow is one row of EXPLAIN.
type explainRow struct {
	ID, SelectType, Table, Type, Key, Rows, Extra string
}

func explain(t *testing.T, db *sql.DB, query string, args ...any) []explainRow {
	t.Helper()
	rows, err := db.Query("EXPLAIN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []explainRow
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var r explainRow
		for i, c := range cols {
			v := vals[i].String
			switch c {
			case "id":
				r.ID = v
			case "select_type":
				r.SelectType = v
			case "table":
				r.Table = v
			case "type":
				r.Type = v
			case "key":
				r.Key = v
			case "rows":
				r.Rows = v
			case "Extra":
				r.Extra = v
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryAnalyticsStatementReadsThroughItsIndexOver100kEvents fills the
// tables with 100,000 events of ten users over a year (and ~7,000 clicks),
// then EXPLAINs every statement of the analytics reports for a week and
// for the whole year: none may scan a table or a whole index (type ALL or
// index on one of our tables), and each must use the index it is written
// for.
func TestEveryAnalyticsStatementReadsThroughItsIndexOver100kEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 events")
	}
	s, db := openStore(t)
	ctx := context.Background()
	// Not truncated: the statements' arguments must bring times to the
	// column's precision themselves.
	now := time.Now().UTC()
	start := time.Now()
	seeded, err := eventstest.Seed(ctx, db, s, eventstest.Users(10), 100000, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d events and %d clicks in %s", seeded.Events, seeded.Clicks, time.Since(start).Round(time.Millisecond))
	if seeded.Events != 100000 {
		t.Fatalf("events = %d, want 100000", seeded.Events)
	}
	ranges := map[string]events.Range{
		"week": {Start: now.AddDate(0, 0, -7), End: now},
		"year": {Start: now.AddDate(-1, 0, 0), End: now},
	}
	stmts := events.Statements()
	names := make([]string, 0, len(stmts))
	for n := range stmts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		st := stmts[name]
		for _, rname := range []string{"week", "year"} {
			t.Run(name+"/"+rname, func(t *testing.T) {
				rows := explain(t, db, st.SQL, st.Args(seeded.Users[3], ranges[rname])...)
				used := false
				var summary []string
				for _, r := range rows {
					summary = append(summary, fmt.Sprintf("%s:%s type=%s key=%s rows=%s extra=%q", r.SelectType, r.Table, r.Type, r.Key, r.Rows, r.Extra))
					if (r.Type == "ALL" || r.Type == "index") && !strings.HasPrefix(r.Table, "<") {
						t.Errorf("full scan (type %s) of %s", r.Type, r.Table)
					}
					if slices.Contains(st.Indexes, r.Key) {
						used = true
					}
				}
				if !used {
					t.Errorf("none of the indexes %v used", st.Indexes)
				}
				t.Logf("EXPLAIN %s/%s: %s", name, rname, strings.Join(summary, " | "))
			})
		}
	}
}
