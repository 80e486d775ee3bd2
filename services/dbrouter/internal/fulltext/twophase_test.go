package fulltext

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/altus4/altus/services/dbrouter/internal/sqlbuild"
)

// keysOf returns the primary key values (the first n values) of rows.
func keysOf(rows []Row, n int) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r.Values[:n]
	}
	return out
}

func TestKeysOnlyPlanReturnsTheKeysScoresAndTotalOfTheFullPlanInTheSameOrder(t *testing.T) {
	for _, strategy := range []string{CountSeparate, CountWindow} {
		t.Run(strategy, func(t *testing.T) {
			e := newEnv(t, Options{CountStrategy: strategy, CountBudget: exactBudget})
			for _, q := range queries {
				for _, page := range []struct{ limit, offset int }{{MaxLimit, 0}, {20, 40}} {
					full := Plan{Table: "packages", Index: "ft_name_description", Mode: sqlbuild.ModeNatural, Against: q, Limit: page.limit, Offset: page.offset, Count: true}
					keys := full
					keys.KeysOnly, keys.Columns = true, []string{"name", "section"} // ignored
					resp := e.execute(t, Request{Plans: []Plan{full, keys}})
					f, k := resp.Plans[0], resp.Plans[1]
					if f.Err != nil || k.Err != nil {
						t.Fatalf("%q: %v, %v", q, f.Err, k.Err)
					}
					if len(f.Rows) == 0 {
						t.Fatalf("%q at %d: no rows", q, page.offset)
					}
					if diff := cmp.Diff(keysOf(f.Rows, 1), keysOf(k.Rows, 1)); diff != "" {
						t.Errorf("%q at %d: keys (-full +keys only):\n%s", q, page.offset, diff)
					}
					if diff := cmp.Diff(scores(f.Rows), scores(k.Rows)); diff != "" {
						t.Errorf("%q at %d: scores (-full +keys only):\n%s", q, page.offset, diff)
					}
					if k.Total != f.Total || k.TotalEstimated || f.TotalEstimated {
						t.Errorf("%q at %d: total %d (estimated %v), full plan %d", q, page.offset, k.Total, k.TotalEstimated, f.Total)
					}
					if diff := cmp.Diff([]string{"id"}, k.Columns); diff != "" {
						t.Errorf("columns (-want +got):\n%s", diff)
					}
					for _, r := range k.Rows {
						if len(r.Values) != 1 {
							t.Fatalf("keys-only row %v has more than the key", r.Values)
						}
					}
					// No text column is selected (nor sorted).
					if !strings.HasPrefix(k.Statement, "SELECT `id`, MATCH(`name`, `description`) AGAINST(? IN NATURAL LANGUAGE MODE) AS `score`") ||
						strings.Contains(k.Statement, "LEFT(") || strings.Contains(k.Statement, "`section`") {
						t.Errorf("keys-only statement selects text: %q", k.Statement)
					}
				}
			}
		})
	}
}

func TestAKeysOnlyCountOverItsBudgetReturnsTheKeysAndALowerBound(t *testing.T) {
	// A separate count has the budget (a window count has the statement's
	// limit: TestAWindowCountSlowerThanTheBudgetIsWaitedForNotRunTwice).
	e := newEnv(t, Options{CountBudget: 200 * time.Millisecond, CountStrategy: CountSeparate})
	e.slowWhen("COUNT(*)", 3*time.Second)
	resp := e.execute(t, Request{Plans: []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "library", Limit: 10, Offset: 20, Count: true, KeysOnly: true}}})
	p := resp.Plans[0]
	if p.Err != nil || len(p.Rows) != 10 || p.Total != 30 || !p.TotalEstimated {
		t.Errorf("plan: err %v, %d rows, total %d (estimated %v); want 10 rows and the lower bound 30", p.Err, len(p.Rows), p.Total, p.TotalEstimated)
	}
}

// fetchCase is a table with a FULLTEXT index, rows that all match "walnut"
// (their keys as plans return them, and their other values), and keys to
// fetch.
type fetchCase struct {
	name   string
	setup  []string
	table  string
	pkCols int
	// rows: key values then the title, as plans and fetches return them.
	rows [][]string
	// fetch: keys to ask for; want: the indexes in rows of the rows found.
	fetch [][]string
	want  []int
}

var fetchCases = []fetchCase{
	{
		name: "one BIGINT UNSIGNED column, compared as integers",
		setup: []string{
			"CREATE TABLE t (id BIGINT UNSIGNED PRIMARY KEY, title VARCHAR(100), FULLTEXT KEY ft (title))",
			"INSERT INTO t VALUES (1, 'walnut table'), (9007199254740992, 'walnut chair'), (9007199254740993, 'walnut desk'), (18446744073709551615, 'walnut shelf')",
		},
		table: "t", pkCols: 1,
		rows: [][]string{{"1", "walnut table"}, {"9007199254740992", "walnut chair"}, {"9007199254740993", "walnut desk"}, {"18446744073709551615", "walnut shelf"}},
		// 2^53+1 as a double is 2^53: a string comparison would find both.
		fetch: [][]string{{"9007199254740993"}, {"18446744073709551615"}, {"1"}, {"424242"}, {"1"}},
		want:  []int{0, 2, 3},
	},
	{
		name: "INT and VARCHAR",
		setup: []string{
			"CREATE TABLE t (a INT, b VARCHAR(30), title VARCHAR(100), PRIMARY KEY (a, b), FULLTEXT KEY ft (title))",
			"INSERT INTO t VALUES (1, 'x', 'walnut one'), (1, 'y', 'walnut two'), (2, 'x', 'walnut three'), (-3, 'it''s', 'walnut four')",
		},
		table: "t", pkCols: 2,
		rows:  [][]string{{"1", "x", "walnut one"}, {"1", "y", "walnut two"}, {"2", "x", "walnut three"}, {"-3", "it's", "walnut four"}},
		fetch: [][]string{{"1", "y"}, {"2", "x"}, {"2", "y"}, {"-3", "it's"}, {"3", "it's"}},
		want:  []int{1, 2, 3},
	},
	{
		name: "BINARY(16) as hex",
		setup: []string{
			"CREATE TABLE t (id BINARY(16) PRIMARY KEY, title VARCHAR(100), FULLTEXT KEY ft (title))",
			"INSERT INTO t VALUES (UNHEX('00000000000000000000000000000001'), 'walnut one'), (UNHEX('ff00fe27225c00000000000000000000'), 'walnut two'), (UNHEX(MD5('x')), 'walnut three')",
		},
		table: "t", pkCols: 1,
		rows: [][]string{{"00000000000000000000000000000001", "walnut one"}, {"ff00fe27225c00000000000000000000", "walnut two"}, {"9dd4e461268c8034f5c8564e155c67a6", "walnut three"}},
		// Upper case is accepted; a shorter value is another key.
		fetch: [][]string{{"FF00FE27225C00000000000000000000"}, {"9dd4e461268c8034f5c8564e155c67a6"}, {"ff00fe27225c"}, {"00000000000000000000000000000002"}},
		want:  []int{1, 2},
	},
	{
		name: "VARBINARY, DATETIME and BIT",
		setup: []string{
			"CREATE TABLE t (k VARBINARY(8), d DATETIME(6), f BIT(10), title VARCHAR(100), PRIMARY KEY (k, d, f), FULLTEXT KEY ft (title))",
			"INSERT INTO t VALUES ('', '2024-05-01 10:30:00', b'101', 'walnut one'), (x'00ff', '1999-12-31 23:59:59.250000', b'1111111111', 'walnut two')",
		},
		table: "t", pkCols: 3,
		rows:  [][]string{{"", "2024-05-01T10:30:00Z", "5", "walnut one"}, {"00ff", "1999-12-31T23:59:59.25Z", "1023", "walnut two"}},
		fetch: [][]string{{"00ff", "1999-12-31T23:59:59.25Z", "1023"}, {"", "2024-05-01T10:30:00Z", "5"}, {"", "2024-05-01T10:30:00Z", "6"}},
		want:  []int{1, 0},
	},
	{
		name: "DATE and TIMESTAMP",
		setup: []string{
			"CREATE TABLE t (d DATE, ts TIMESTAMP(3), title VARCHAR(100), PRIMARY KEY (d, ts), FULLTEXT KEY ft (title))",
			"INSERT INTO t VALUES ('2024-02-29', '2024-02-29 12:00:00.125', 'walnut one'), ('2024-03-01', '2024-03-01 00:00:01', 'walnut two')",
		},
		table: "t", pkCols: 2,
		rows:  [][]string{{"2024-02-29T00:00:00Z", "2024-02-29T12:00:00.125Z", "walnut one"}, {"2024-03-01T00:00:00Z", "2024-03-01T00:00:01Z", "walnut two"}},
		fetch: [][]string{{"2024-03-01T00:00:00Z", "2024-03-01T00:00:01Z"}, {"2024-02-29T00:00:00Z", "2024-02-29T12:00:00.126Z"}},
		want:  []int{1},
	},
}

// sortedRows returns the values of rows, sorted.
func sortedRows(rows []Row) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r.Values
		for k, null := range r.Nulls {
			if null {
				out[i][k] = "NULL"
			}
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return slices.Compare(a, b) })
	return out
}

func TestFetchReturnsExactlyTheAskedRowsAndKeysRoundTripFromPlans(t *testing.T) {
	for _, tc := range fetchCases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{}, tc.setup...)
			resp := e.execute(t, Request{Plans: []Plan{{Table: tc.table, Index: "ft", Mode: sqlbuild.ModeBoolean, Against: "walnut", Limit: 100, KeysOnly: true}}})
			p := resp.Plans[0]
			if p.Err != nil {
				t.Fatal(p.Err)
			}
			var wantKeys [][]string
			for _, r := range tc.rows {
				wantKeys = append(wantKeys, r[:tc.pkCols])
			}
			less := func(a, b []string) int { return slices.Compare(a, b) }
			gotKeys := keysOf(p.Rows, tc.pkCols)
			slices.SortFunc(gotKeys, less)
			slices.SortFunc(wantKeys, less)
			if diff := cmp.Diff(wantKeys, gotKeys); diff != "" {
				t.Fatalf("keys of the plan (-want +got):\n%s", diff)
			}

			// Every key a plan returned fetches its row.
			resp = e.execute(t, Request{Fetches: []Fetch{{Table: tc.table, Keys: keysOf(p.Rows, tc.pkCols), Columns: []string{"title"}}}})
			f := resp.Fetches[0]
			if f.Err != nil {
				t.Fatal(f.Err)
			}
			want := append([][]string(nil), tc.rows...)
			slices.SortFunc(want, less)
			if diff := cmp.Diff(want, sortedRows(f.Rows)); diff != "" {
				t.Errorf("fetch of every planned key (-want +got):\n%s", diff)
			}

			// Asked keys only; unknown ones are absent, repeated ones answer once.
			resp = e.execute(t, Request{Fetches: []Fetch{{Table: tc.table, Keys: tc.fetch, Columns: []string{"title"}}}})
			f = resp.Fetches[0]
			if f.Err != nil {
				t.Fatal(f.Err)
			}
			want = nil
			for _, i := range tc.want {
				want = append(want, tc.rows[i])
			}
			slices.SortFunc(want, less)
			if diff := cmp.Diff(want, sortedRows(f.Rows)); diff != "" {
				t.Errorf("fetch of %q (-want +got):\n%s", tc.fetch, diff)
			}
			for _, r := range f.Rows {
				if r.Score != 0 {
					t.Errorf("row %v has score %v, want 0", r.Values, r.Score)
				}
			}
			if f.Total != -1 || f.TotalEstimated || f.Columns[len(f.Columns)-1] != "title" || len(f.Columns) != tc.pkCols+1 {
				t.Errorf("fetch result: total %d (estimated %v), columns %q", f.Total, f.TotalEstimated, f.Columns)
			}
			if strings.Count(f.Statement, "?") != len(tc.fetch)*tc.pkCols || !strings.Contains(f.Statement, "FORCE INDEX (PRIMARY)") {
				t.Errorf("statement %q, want one placeholder per key value", f.Statement)
			}
		})
	}
}

func TestFetchReturnsTheAskedColumnsOrEverySearchableOneBoundedWithNulls(t *testing.T) {
	e := newEnv(t, Options{MaxValueChars: 6},
		"CREATE TABLE items (id INT PRIMARY KEY, title VARCHAR(100), body TEXT, price DECIMAL(6,2))",
		"INSERT INTO items VALUES (7, 'walnut table', NULL, 12.50), (9, 'chair', 'oak and walnut', NULL)")
	resp := e.execute(t, Request{Fetches: []Fetch{
		{Table: "items", Keys: [][]string{{"9"}, {"7"}}},
		{Table: "items", Keys: [][]string{{"7"}}, Columns: []string{"price", "id"}},
	}})
	tests := []struct {
		cols []string
		rows [][]string
	}{
		{[]string{"id", "title", "body"}, [][]string{{"7", "walnut", "NULL"}, {"9", "chair", "oak an"}}},
		{[]string{"id", "price"}, [][]string{{"7", "12.50"}}},
	}
	for i, tt := range tests {
		f := resp.Fetches[i]
		if f.Err != nil {
			t.Fatal(f.Err)
		}
		if diff := cmp.Diff(tt.cols, f.Columns); diff != "" {
			t.Errorf("fetch %d columns (-want +got):\n%s", i, diff)
		}
		if diff := cmp.Diff(tt.rows, sortedRows(f.Rows)); diff != "" {
			t.Errorf("fetch %d rows (-want +got):\n%s", i, diff)
		}
	}
}

func TestAFetchUsesThePrimaryKeyForEveryShapeAndNumberOfKeys(t *testing.T) {
	e := newEnv(t, Options{},
		"CREATE TABLE one (id INT PRIMARY KEY, title VARCHAR(100), body TEXT)",
		"INSERT INTO one SELECT seq, CONCAT('title ', seq), 'body' FROM seq_1_to_5000",
		"CREATE TABLE two (a INT, b VARCHAR(30), title VARCHAR(100), PRIMARY KEY (a, b))",
		"INSERT INTO two SELECT seq % 100, CONCAT('k', seq), 'title' FROM seq_1_to_5000",
		"CREATE TABLE bin (id BINARY(16) PRIMARY KEY, title VARCHAR(100))",
		"INSERT INTO bin SELECT UNHEX(MD5(seq)), 'title' FROM seq_1_to_5000",
		"ANALYZE TABLE one, two, bin")
	keys := func(n int, key func(i int) []string) [][]string {
		out := make([][]string, n)
		for i := range out {
			out[i] = key(i + 1)
		}
		return out
	}
	var md5s [][]string
	if err := func() error {
		rows, err := e.db.Query("SELECT LOWER(HEX(id)) FROM bin ORDER BY title, id LIMIT 1000")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				return err
			}
			md5s = append(md5s, []string{h})
		}
		return rows.Err()
	}(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 20, 999, MaxKeys} {
		for _, tc := range []struct {
			table string
			key   func(i int) []string
		}{
			{"one", func(i int) []string { return []string{strconv.Itoa(i * 3)} }},
			{"two", func(i int) []string { return []string{strconv.Itoa((i * 3) % 100), "k" + strconv.Itoa(i*3)} }},
			{"bin", func(i int) []string { return md5s[i-1] }},
		} {
			t.Run(fmt.Sprintf("%s/%d keys", tc.table, n), func(t *testing.T) {
				jobs, err := e.exec.prepare(e.src.sc, Request{Fetches: []Fetch{{Table: tc.table, Keys: keys(n, tc.key)}}})
				if err != nil {
					t.Fatal(err)
				}
				rows, err := e.db.Query(sqlbuild.Explain(jobs[0].search.SQL), jobs[0].args...)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				cols, _ := rows.Columns()
				found := false
				for rows.Next() {
					vals := make([]*string, len(cols))
					dest := make([]any, len(cols))
					for i := range vals {
						dest[i] = &vals[i]
					}
					if err := rows.Scan(dest...); err != nil {
						t.Fatal(err)
					}
					m := map[string]string{}
					for i, v := range vals {
						if v != nil {
							m[cols[i]] = *v
						}
					}
					if m["table"] != tc.table {
						continue
					}
					found = true
					if m["key"] != "PRIMARY" || !slices.Contains([]string{"const", "eq_ref", "range"}, m["type"]) {
						t.Errorf("EXPLAIN row %v: want the table read through its PRIMARY key (const, eq_ref or range)", m)
					}
				}
				if err := rows.Err(); err != nil || !found {
					t.Errorf("EXPLAIN: err %v, table %s found %v", err, tc.table, found)
				}
			})
		}
	}
}

func TestCountAllCountsTheIntersectionAndAnyTheUnion(t *testing.T) {
	e := newEnv(t, Options{CountBudget: exactBudget})
	a, _ := e.own(t, "description", "IN NATURAL LANGUAGE MODE", "library")
	b, _ := e.own(t, "name, description", "IN BOOLEAN MODE", "python*")
	inA := map[string]bool{}
	for _, id := range a {
		inA[id] = true
	}
	union, both := len(a), 0
	for _, id := range b {
		if inA[id] {
			both++
		} else {
			union++
		}
	}
	if both == 0 || both == len(b) || both == len(a) {
		t.Fatalf("|A| %d, |B| %d, |A∩B| %d: pick terms that overlap partly", len(a), len(b), both)
	}
	matches := []Plan{
		{Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "library"},
		{Index: "ft_name_description", Mode: sqlbuild.ModeBoolean, Against: "python*"},
	}
	resp := e.execute(t, Request{Counts: []CountPlan{
		{Table: "packages", Matches: matches, Op: sqlbuild.CountAll},
		{Table: "packages", Matches: matches, Op: sqlbuild.CountAny},
		{Table: "packages", Matches: matches},
	}})
	for i, want := range []int{both, union, union} {
		c := resp.Counts[i]
		if c.Err != nil || c.Total != want || c.TotalEstimated {
			t.Errorf("count %d = %d (estimated %v, err %v), want %d", i, c.Total, c.TotalEstimated, c.Err, want)
		}
	}
	if s := resp.Counts[0].Statement; !strings.Contains(s, ") AND MATCH(") {
		t.Errorf("op all statement %q", s)
	}
}

func TestACountAllOverItsBudgetIsEstimated(t *testing.T) {
	e := newEnv(t, Options{CountBudget: 200 * time.Millisecond})
	e.slowWhen("COUNT(*)", 3*time.Second)
	resp := e.execute(t, Request{Counts: []CountPlan{{Table: "packages", Op: sqlbuild.CountAll, Matches: []Plan{
		{Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "library"},
		{Index: "ft_name_description", Mode: sqlbuild.ModeBoolean, Against: "python*"},
	}}}})
	if c := resp.Counts[0]; c.Err != nil || !c.TotalEstimated {
		t.Errorf("count = %+v, want estimated without error", c)
	}
}

func TestPlansCountsAndFetchesOfOneCallRunTogetherAndAnswerInTheirOwnLists(t *testing.T) {
	e := newEnv(t, Options{StatementTimeout: 300 * time.Millisecond})
	// The fetch runs out of time; the others answer.
	e.slowWhen("FORCE INDEX", 5*time.Second)
	resp := e.execute(t, Request{
		Plans:   []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "game", Limit: 3, KeysOnly: true}},
		Counts:  []CountPlan{{Table: "packages", Matches: []Plan{{Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "game"}}}},
		Fetches: []Fetch{{Table: "packages", Keys: [][]string{{"1"}}}, {Table: "packages", Keys: [][]string{{"2"}}, Columns: []string{"name"}}},
	})
	if len(resp.Plans) != 1 || len(resp.Counts) != 1 || len(resp.Fetches) != 2 {
		t.Fatalf("%d plans, %d counts, %d fetches", len(resp.Plans), len(resp.Counts), len(resp.Fetches))
	}
	if p := resp.Plans[0]; p.Err != nil || len(p.Rows) != 3 {
		t.Errorf("plan: %v, %d rows", p.Err, len(p.Rows))
	}
	if c := resp.Counts[0]; c.Err != nil || c.Total <= 3 {
		t.Errorf("count: %v, total %d", c.Err, c.Total)
	}
	for i, f := range resp.Fetches {
		if !errors.Is(f.Err, ErrTimeout) || f.Total != -1 || !strings.Contains(f.Statement, "FORCE INDEX") {
			t.Errorf("fetch %d: err %v, total %d, statement %q; want a timeout", i, f.Err, f.Total, f.Statement)
		}
	}
	if diff := cmp.Diff([]string{"id", "name"}, resp.Fetches[1].Columns); diff != "" {
		t.Errorf("columns of the timed-out fetch (-want +got):\n%s", diff)
	}
}

func TestFetchesWaitForTheSourcesConcurrencyCapLikePlans(t *testing.T) {
	const wait = 600 * time.Millisecond
	e := newEnv(t, Options{MaxConcurrency: 1})
	e.slowWhen("packages", wait)
	resp := e.execute(t, Request{
		Plans:   []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "game", Limit: 1}},
		Fetches: []Fetch{{Table: "packages", Keys: [][]string{{"1"}}}},
	})
	if resp.Plans[0].Err != nil || resp.Fetches[0].Err != nil {
		t.Fatalf("plan %v, fetch %v", resp.Plans[0].Err, resp.Fetches[0].Err)
	}
	// With a cap of 1, one of them waited for the other's whole statement.
	if resp.Queued < wait-100*time.Millisecond {
		t.Errorf("queued = %s, want a wait of a whole statement", resp.Queued)
	}
}

func TestAFetchIsASpanWithoutItsValues(t *testing.T) {
	e := newEnv(t, Options{},
		"CREATE TABLE t (a INT, b VARCHAR(30), title VARCHAR(100), PRIMARY KEY (a, b))",
		"INSERT INTO t VALUES (1, 'zebrafish', 'x')")
	rec, tracer := newRecorder(t)
	e.exec.tracer = tracer
	ctx := context.Background()
	resp, err := e.exec.Execute(ctx, "owner", Request{SourceID: e.src.src.ID, Fetches: []Fetch{{Table: "t", Keys: [][]string{{"1", "zebrafish"}}}}})
	if err != nil || resp.Fetches[0].Err != nil || len(resp.Fetches[0].Rows) != 1 {
		t.Fatalf("fetch: %v, %+v", err, resp.Fetches)
	}
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Name() != "SELECT t" {
		t.Fatalf("spans = %v, want one SELECT t", spans)
	}
	attrs := map[string]string{}
	for _, kv := range spans[0].Attributes() {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	if text := attrs["db.query.text"]; !strings.Contains(text, "IN ((?, ?))") || strings.Contains(text, "zebrafish") {
		t.Errorf("db.query.text = %q, want placeholders only", text)
	}
	if attrs[AttrStatementKind] != "fetch" {
		t.Errorf("%s = %q, want fetch", AttrStatementKind, attrs[AttrStatementKind])
	}
}

// newRecorder returns a span recorder and a tracer recording into it.
func newRecorder(t *testing.T) (*tracetest.SpanRecorder, trace.Tracer) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, tp.Tracer(TracerName)
}
