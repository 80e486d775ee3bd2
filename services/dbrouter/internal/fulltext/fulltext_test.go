package fulltext

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/altus4/altus/pkg/ftquery"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/dbrouter/internal/datasource"
	"github.com/altus4/altus/services/dbrouter/internal/sqlbuild"
)

// exactBudget is a count budget no count of the sample reaches, even on a
// busy machine: tests of exact totals use it (the default 300ms budget
// gives a lower bound when the machine is slow, which is right but not
// what they test).
const exactBudget = 30 * time.Second

// Queries over the sample corpus with many matches and many tied scores.
var queries = []string{"library", "python module", "server", "gnome desktop", "documentation files"}

func TestNaturalOrderOfOneIndexEqualsMariaDBsOwnOrder(t *testing.T) {
	for _, strategy := range []string{CountSeparate, CountWindow} {
		t.Run(strategy, func(t *testing.T) {
			e := newEnv(t, Options{CountStrategy: strategy, CountBudget: exactBudget})
			for _, q := range queries {
				wantIDs, wantScores := e.own(t, "description", "IN NATURAL LANGUAGE MODE", q)
				if len(wantIDs) < 40 {
					t.Fatalf("%q: only %d matches in the sample; pick a broader query", q, len(wantIDs))
				}
				resp := e.execute(t, Request{Plans: []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: q, Limit: MaxLimit, Count: true}}})
				got := resp.Plans[0]
				if got.Err != nil {
					t.Fatalf("%q: %v", q, got.Err)
				}
				if diff := cmp.Diff(wantIDs, ids(got.Rows)); diff != "" {
					t.Errorf("%q: ids (-MariaDB +Altus):\n%s", q, diff)
				}
				if diff := cmp.Diff(wantScores, scores(got.Rows)); diff != "" {
					t.Errorf("%q: scores (-MariaDB +Altus):\n%s", q, diff)
				}
				if got.Total != len(wantIDs) || got.TotalEstimated {
					t.Errorf("%q: total = %d (estimated %v), want exactly %d", q, got.Total, got.TotalEstimated, len(wantIDs))
				}
			}
		})
	}
}

func TestPagesAreDisjointContiguousAndCarryTheExactTotal(t *testing.T) {
	for _, strategy := range []string{CountSeparate, CountWindow} {
		t.Run(strategy, func(t *testing.T) {
			e := newEnv(t, Options{CountStrategy: strategy, CountBudget: exactBudget})
			const q, limit = "python module", 17
			want, _ := e.own(t, "description", "IN NATURAL LANGUAGE MODE", q)
			var got []string
			for offset := 0; offset < len(want)+limit; offset += limit {
				resp := e.execute(t, Request{Plans: []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: q, Limit: limit, Offset: offset, Count: true}}})
				page := resp.Plans[0]
				if page.Err != nil {
					t.Fatal(page.Err)
				}
				if page.Total != len(want) || page.TotalEstimated {
					t.Errorf("page at %d: total = %d (estimated %v), want %d", offset, page.Total, page.TotalEstimated, len(want))
				}
				got = append(got, ids(page.Rows)...)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pages joined (-MariaDB +pages):\n%s", diff)
			}
		})
	}
}

func TestEveryModeAnswersLikeTheServer(t *testing.T) {
	e := newEnv(t, Options{CountBudget: exactBudget})
	sv := e.src.sc.Server
	rules := ftquery.InnoDBRules(sv.InnoDBMinTokenSize, sv.InnoDBMaxTokenSize, sv.InnoDBStopwords)
	tests := []struct {
		mode   sqlbuild.Mode
		clause string
		// text is user text, compiled for the index by pkg/ftquery.
		text string
	}{
		{sqlbuild.ModeNatural, "IN NATURAL LANGUAGE MODE", "network monitoring"},
		{sqlbuild.ModeBoolean, "IN BOOLEAN MODE", "python -documentation"},
		{sqlbuild.ModeBoolean, "IN BOOLEAN MODE", `"shared library" OR perl*`},
		{sqlbuild.ModeBoolean, "IN BOOLEAN MODE", "(gnome OR kde) AND theme NOT icons"},
		{sqlbuild.ModeExpansion, "WITH QUERY EXPANSION", "compiler"},
	}
	for _, tt := range tests {
		compiled, err := ftquery.Parse(tt.text).Compile(ftquery.Mode(tt.mode), rules)
		if err != nil {
			t.Fatalf("compile %s %q: %v", tt.mode, tt.text, err)
		}
		against := compiled.Against
		want, _ := e.own(t, "name, description", tt.clause, against)
		if len(want) == 0 {
			t.Fatalf("%s %q (%q) matches nothing in the sample", tt.mode, tt.text, against)
		}
		resp := e.execute(t, Request{Plans: []Plan{{Table: "packages", Index: "ft_name_description", Mode: tt.mode, Against: against, Limit: MaxLimit, Count: true}}})
		got := resp.Plans[0]
		if got.Err != nil {
			t.Fatalf("%s %q: %v", tt.mode, against, got.Err)
		}
		if diff := cmp.Diff(want[:min(len(want), MaxLimit)], ids(got.Rows)); diff != "" {
			t.Errorf("%s %q (-MariaDB +Altus):\n%s", tt.mode, against, diff)
		}
		if got.Total != len(want) {
			t.Errorf("%s %q: total %d, want %d", tt.mode, against, got.Total, len(want))
		}
	}
}

func TestMultiColumnIndexIsMatchedWithItsExactColumnList(t *testing.T) {
	// The only index covers (body, title): MATCH over a subset of it is a
	// server error (1191), so answering at all proves the statement names
	// the whole list (and the statement shows it in index order).
	e := newEnv(t, Options{},
		"CREATE TABLE notes (id INT PRIMARY KEY, title VARCHAR(100), body TEXT, FULLTEXT KEY ft_body_title (body, title)) ENGINE=InnoDB",
		"INSERT INTO notes VALUES (1, 'MariaDB tuning', 'buffer pool sizing'), (2, 'Cooking', 'bread without MariaDB'), (3, 'Gardening', 'tomatoes')")
	for _, cols := range []string{"title", "body"} {
		_, err := e.db.Exec("SELECT id FROM notes WHERE MATCH(" + cols + ") AGAINST('mariadb')")
		if err == nil || !strings.Contains(err.Error(), "1191") {
			t.Fatalf("MATCH(%s) = %v, want MySQL error 1191 (no FULLTEXT index matching the column list)", cols, err)
		}
	}
	resp := e.execute(t, Request{Plans: []Plan{
		{Table: "notes", Index: "ft_body_title", Mode: sqlbuild.ModeNatural, Against: "mariadb", Limit: 10, Columns: []string{"title"}},
		{Table: "notes", Index: "ft_body_title", Mode: sqlbuild.ModeBoolean, Against: "mariadb", Limit: 10, Count: true},
	}})
	for i, r := range resp.Plans {
		if r.Err != nil {
			t.Fatalf("plan %d: %v", i, r.Err)
		}
		if !strings.Contains(r.Statement, "MATCH(`body`, `title`)") {
			t.Errorf("plan %d statement %q does not match the index's exact column list", i, r.Statement)
		}
		if got := ids(r.Rows); len(got) != 2 {
			t.Errorf("plan %d rows = %v, want ids 1 and 2", i, got)
		}
	}
	if diff := cmp.Diff([]string{"id", "title"}, resp.Plans[0].Columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"id", "title", "body"}, resp.Plans[1].Columns); diff != "" {
		t.Errorf("default columns = every searchable column (-want +got):\n%s", diff)
	}
}

func violationFields(t *testing.T, err error) []string {
	t.Helper()
	var ve *validate.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v, want *validate.Error", err)
	}
	var fields []string
	for _, v := range ve.Violations {
		fields = append(fields, v.Field)
	}
	return fields
}

func TestAnUnorderedPlanReturnsLimitRowsThatAllMatchWithoutRankingThem(t *testing.T) {
	e := newEnv(t, Options{})
	const q = "+lib*"
	wantIDs, _ := e.own(t, "description", "IN BOOLEAN MODE", q)
	if len(wantIDs) < 40 {
		t.Fatalf("only %d matches in the sample; pick a broader prefix", len(wantIDs))
	}
	resp := e.execute(t, Request{Plans: []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeBoolean, Against: q, Limit: 25, Unordered: true}}})
	got := resp.Plans[0]
	if got.Err != nil {
		t.Fatal(got.Err)
	}
	if len(got.Rows) != 25 {
		t.Fatalf("%d rows, want the limit, 25", len(got.Rows))
	}
	matching := map[string]bool{}
	for _, id := range wantIDs {
		matching[id] = true
	}
	for _, id := range ids(got.Rows) {
		if !matching[id] {
			t.Errorf("row %s does not match %q", id, q)
		}
	}
	sent := e.statements()
	if last := sent[len(sent)-1]; strings.Contains(last, "ORDER BY") {
		t.Errorf("an unordered plan sent %q", last)
	}
}

func TestInvalidPlansNameTheirFieldsAndNothingReachesTheServer(t *testing.T) {
	e := newEnv(t, Options{},
		"CREATE TABLE docs (id INT PRIMARY KEY, title VARCHAR(100), body TEXT, FULLTEXT KEY ft_body (body), KEY k_title (title))",
		"CREATE TABLE plain (id INT PRIMARY KEY, note TEXT)",
		"CREATE TABLE nokey (note TEXT, FULLTEXT KEY ft_note (note))",
		"CREATE TABLE pair (id VARBINARY(16), n INT, PRIMARY KEY (id, n))")
	ok := Plan{Table: "docs", Index: "ft_body", Mode: sqlbuild.ModeNatural, Against: "x", Limit: 10}
	with := func(f func(p *Plan)) Plan {
		p := ok
		f(&p)
		return p
	}
	fetch := func(table string, keys ...[]string) []Fetch { return []Fetch{{Table: table, Keys: keys}} }
	manyKeys := make([][]string, MaxKeys+1)
	for i := range manyKeys {
		manyKeys[i] = []string{strconv.Itoa(i)}
	}
	tests := []struct {
		name string
		req  Request
		want []string
	}{
		{"unknown table", Request{Plans: []Plan{with(func(p *Plan) { p.Table = "nope" })}}, []string{"plans[0].table"}},
		{"unknown index", Request{Plans: []Plan{ok, with(func(p *Plan) { p.Index = "nope" })}}, []string{"plans[1].index"}},
		{"an index that is not FULLTEXT", Request{Plans: []Plan{with(func(p *Plan) { p.Index = "k_title" })}}, []string{"plans[0].index"}},
		{"the primary key is not FULLTEXT", Request{Plans: []Plan{with(func(p *Plan) { p.Index = "PRIMARY" })}}, []string{"plans[0].index"}},
		{"a table without FULLTEXT", Request{Plans: []Plan{with(func(p *Plan) { p.Table, p.Index = "plain", "note" })}}, []string{"plans[0].index"}},
		{"unknown column", Request{Plans: []Plan{with(func(p *Plan) { p.Columns = []string{"title", "nope"} })}}, []string{"plans[0].columns[1]"}},
		{"unknown mode", Request{Plans: []Plan{with(func(p *Plan) { p.Mode = "semantic" })}}, []string{"plans[0].mode"}},
		{"empty against", Request{Plans: []Plan{with(func(p *Plan) { p.Against = "" })}}, []string{"plans[0].against"}},
		{"against too long", Request{Plans: []Plan{with(func(p *Plan) { p.Against = strings.Repeat("é", 1001) })}}, []string{"plans[0].against"}},
		{"limit 0", Request{Plans: []Plan{with(func(p *Plan) { p.Limit = 0 })}}, []string{"plans[0].limit"}},
		{"limit 1001", Request{Plans: []Plan{with(func(p *Plan) { p.Limit = 1001 })}}, []string{"plans[0].limit"}},
		{"negative offset", Request{Plans: []Plan{with(func(p *Plan) { p.Offset = -1 })}}, []string{"plans[0].offset"}},
		{"offset past 100000", Request{Plans: []Plan{with(func(p *Plan) { p.Offset = 100001 })}}, []string{"plans[0].offset"}},
		{"no plan", Request{}, []string{"plans"}},
		{"count of an unknown table", Request{Counts: []CountPlan{{Table: "nope", Matches: []Plan{ok}}}}, []string{"counts[0].table", "counts[0].matches[0].table"}},
		{"count with an index of another table", Request{Counts: []CountPlan{{Table: "plain", Matches: []Plan{with(func(p *Plan) { p.Table = "" })}}}}, []string{"counts[0].matches[0].index"}},
		{"count without matches", Request{Counts: []CountPlan{{Table: "docs"}}}, []string{"counts[0].matches"}},
		{"several problems at once", Request{Plans: []Plan{with(func(p *Plan) { p.Limit, p.Mode, p.Index = 0, "x", "nope" })}}, []string{"plans[0].mode", "plans[0].index", "plans[0].limit"}},
		{"keys only of a table without a primary key", Request{Plans: []Plan{with(func(p *Plan) { p.Table, p.Index, p.KeysOnly = "nokey", "ft_note", true })}}, []string{"plans[0].keysOnly"}},
		{"keys only ignores columns", Request{Plans: []Plan{with(func(p *Plan) { p.KeysOnly, p.Columns, p.Limit = true, []string{"nope"}, 0 })}}, []string{"plans[0].limit"}},
		{"unknown count op", Request{Counts: []CountPlan{{Table: "docs", Op: "xor", Matches: []Plan{ok}}}}, []string{"counts[0].op"}},
		{"fetch without a table", Request{Fetches: fetch("", []string{"1"})}, []string{"fetches[0].table"}},
		{"fetch of an unknown table", Request{Fetches: fetch("nope", []string{"1"})}, []string{"fetches[0].table"}},
		{"fetch of a table without a primary key", Request{Fetches: fetch("nokey", []string{"1"})}, []string{"fetches[0].table"}},
		{"fetch without keys", Request{Fetches: fetch("docs")}, []string{"fetches[0].keys"}},
		{"fetch of too many keys", Request{Fetches: []Fetch{{Table: "docs", Keys: manyKeys}}}, []string{"fetches[0].keys"}},
		{"fetch of an unknown column", Request{Fetches: []Fetch{{Table: "docs", Keys: [][]string{{"1"}}, Columns: []string{"title", "nope"}}}}, []string{"fetches[0].columns[1]"}},
		{"keys of the wrong arity", Request{Fetches: fetch("pair", []string{"00", "1"}, []string{"00"}, []string{"00", "1", "2"})}, []string{"fetches[0].keys[1].values", "fetches[0].keys[2].values"}},
		{"key values that do not fit their column", Request{Fetches: fetch("pair", []string{"zz", "1"}, []string{"0a", "1.5"}, []string{"0a", "abc"}, []string{"0a", ""}, []string{"abc", "1"})},
			[]string{"fetches[0].keys[0].values[0]", "fetches[0].keys[1].values[1]", "fetches[0].keys[2].values[1]", "fetches[0].keys[3].values[1]", "fetches[0].keys[4].values[0]"}},
		{"a key value too long", Request{Fetches: fetch("docs", []string{strings.Repeat("1", MaxKeyValueBytes+1)})}, []string{"fetches[0].keys[0].values[0]"}},
		{"too many fetches", Request{Fetches: make([]Fetch, MaxPlans+1)}, []string{"fetches"}},
		{"a page of plans that are not keys only", Request{Plans: []Plan{ok}, Page: &PagePlan{Limit: 10, K: 60}}, []string{"plans[0].keysOnly"}},
		{"a page of explained plans", Request{Plans: []Plan{with(func(p *Plan) { p.KeysOnly, p.Explain = true, true })}, Page: &PagePlan{Limit: 10, K: 60}}, []string{"plans[0].keysOnly"}},
		{"a page out of bounds", Request{Plans: []Plan{with(func(p *Plan) { p.KeysOnly = true })}, Page: &PagePlan{Limit: 0, Offset: -1, K: 0}},
			[]string{"page.limit", "page.offset", "page.rrfK"}},
		{"a page without plans", Request{Fetches: fetch("docs", []string{"1"}), Page: &PagePlan{Limit: 10, K: 60}}, []string{"page"}},
		{"an unordered plan with an offset", Request{Plans: []Plan{with(func(p *Plan) { p.Unordered, p.Offset = true, 10 })}}, []string{"plans[0].unordered"}},
		{"an unordered plan counted", Request{Plans: []Plan{with(func(p *Plan) { p.Unordered, p.Count = true, true })}}, []string{"plans[0].unordered"}},
		{"an unordered plan of keys", Request{Plans: []Plan{with(func(p *Plan) { p.Unordered, p.KeysOnly = true, true })}}, []string{"plans[0].unordered"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.SourceID = e.src.src.ID
			_, err := e.exec.Execute(context.Background(), "owner", tt.req)
			if diff := cmp.Diff(tt.want, violationFields(t, err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
	if sent := e.statements(); len(sent) != 0 {
		t.Errorf("invalid requests sent %d statements: %q", len(sent), sent)
	}
}

func TestAnotherUsersSourceAndAMovedVersionAreRefused(t *testing.T) {
	e := newEnv(t, Options{})
	plans := []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "game", Limit: 1}}
	if _, err := e.exec.Execute(context.Background(), "intruder", Request{SourceID: e.src.src.ID, Plans: plans}); !errors.Is(err, datasource.ErrNotFound) {
		t.Errorf("another user's source: %v, want ErrNotFound", err)
	}
	if _, err := e.exec.Execute(context.Background(), "owner", Request{SourceID: e.src.src.ID, Plans: plans, ExpectVersion: 2}); !errors.Is(err, ErrSourceChanged) {
		t.Errorf("expect version 2 of version 3: %v, want ErrSourceChanged", err)
	}
	resp := e.execute(t, Request{Plans: plans, ExpectVersion: 3})
	if resp.Version != 3 || resp.Fingerprint != e.src.sc.Fingerprint || len(resp.Plans[0].Rows) != 1 {
		t.Errorf("response = version %d, fingerprint %q, %d rows", resp.Version, resp.Fingerprint, len(resp.Plans[0].Rows))
	}
	if len(e.statements()) != 1 {
		t.Errorf("refused requests ran statements: %q", e.statements())
	}
}

func TestAStatementInterruptedByTheServerLimitIsATimeoutAndTheOtherPlansAnswer(t *testing.T) {
	e := newEnv(t, Options{StatementTimeout: 300 * time.Millisecond})
	e.slowWhen("MATCH(`name`, `description`)", 5*time.Second)
	start := time.Now()
	resp := e.execute(t, Request{Plans: []Plan{
		{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "game", Limit: 5},
		{Table: "packages", Index: "ft_name_description", Mode: sqlbuild.ModeNatural, Against: "game", Limit: 5},
		{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeBoolean, Against: "+game", Limit: 5},
	}})
	if took := time.Since(start); took > 4500*time.Millisecond {
		t.Errorf("the call took %s: the server did not interrupt the 5s statement", took)
	}
	for i, r := range resp.Plans {
		wantTimeout := i == 1
		if got := errors.Is(r.Err, ErrTimeout); got != wantTimeout {
			t.Errorf("plan %d: err = %v, want timeout %v", i, r.Err, wantTimeout)
		}
		if !wantTimeout && len(r.Rows) != 5 {
			t.Errorf("plan %d: %d rows, want 5", i, len(r.Rows))
		}
		// The server interrupted it (max_statement_time), not the client.
		var me *mysql.MySQLError
		if wantTimeout && (!errors.As(r.Err, &me) || me.Number != 1969) {
			t.Errorf("plan %d: err = %v, want MariaDB's max_statement_time error 1969 underneath", i, r.Err)
		}
	}
	// The interrupted statement's connection is still good.
	resp = e.execute(t, Request{Plans: []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "game", Limit: 1}}})
	if resp.Plans[0].Err != nil {
		t.Errorf("after the timeout: %v", resp.Plans[0].Err)
	}
}

func TestTheCallersDeadlineLimitsTheStatement(t *testing.T) {
	e := newEnv(t, Options{StatementTimeout: 10 * time.Second})
	e.slowWhen("packages", 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	start := time.Now()
	resp, err := e.exec.Execute(ctx, "owner", Request{SourceID: e.src.src.ID, Plans: []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "game", Limit: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(resp.Plans[0].Err, ErrTimeout) || time.Since(start) > 4500*time.Millisecond {
		t.Errorf("plan err = %v after %s, want a timeout near the deadline", resp.Plans[0].Err, time.Since(start))
	}
	if sent := e.statements(); len(sent) != 1 || !strings.Contains(sent[0], "max_statement_time=0.3") {
		t.Errorf("statement = %q, want a server limit just under the caller's 400ms", sent)
	}
}

func TestACountOverItsBudgetReturnsTheRowsAndALowerBound(t *testing.T) {
	e := newEnv(t, Options{CountBudget: 200 * time.Millisecond, CountStrategy: CountSeparate})
	e.slowWhen("COUNT(*)", 3*time.Second)
	resp := e.execute(t, Request{
		Plans:  []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "library", Limit: 10, Offset: 20, Count: true}},
		Counts: []CountPlan{{Table: "packages", Matches: []Plan{{Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "library"}}}},
	})
	p := resp.Plans[0]
	if p.Err != nil || len(p.Rows) != 10 {
		t.Fatalf("plan: err %v, %d rows, want 10 rows", p.Err, len(p.Rows))
	}
	if p.Total != 30 || !p.TotalEstimated {
		t.Errorf("plan total = %d (estimated %v), want the lower bound 30, estimated", p.Total, p.TotalEstimated)
	}
	if c := resp.Counts[0]; c.Err != nil || !c.TotalEstimated {
		t.Errorf("count = %+v, want estimated without error", c)
	}
}

func TestAWindowCountSlowerThanTheBudgetIsWaitedForNotRunTwice(t *testing.T) {
	e := newEnv(t, Options{CountBudget: 200 * time.Millisecond, CountStrategy: CountWindow})
	want, _ := e.own(t, "description", "IN NATURAL LANGUAGE MODE", "library")
	e.slowWhen("COUNT(*) OVER", 500*time.Millisecond)
	resp := e.execute(t, Request{
		Plans: []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "library", Limit: 10, Offset: 20, Count: true}},
	})
	p := resp.Plans[0]
	if p.Err != nil || len(p.Rows) != 10 {
		t.Fatalf("plan: err %v, %d rows, want 10 rows", p.Err, len(p.Rows))
	}
	if p.Total != len(want) || p.TotalEstimated {
		t.Errorf("plan total = %d (estimated %v), want exactly %d", p.Total, p.TotalEstimated, len(want))
	}
	if sent := e.statements(); len(sent) != 1 || !strings.Contains(sent[0], "COUNT(*) OVER") {
		t.Errorf("statements = %q; want the one with the window count, run once", sent)
	}
}

func TestCountPlanCountsDistinctRowsMatchingAnyIndex(t *testing.T) {
	e := newEnv(t, Options{CountBudget: exactBudget})
	var want int
	if err := e.db.QueryRow("SELECT COUNT(*) FROM packages WHERE MATCH(description) AGAINST(? IN NATURAL LANGUAGE MODE) OR MATCH(name, description) AGAINST(? IN BOOLEAN MODE)",
		"library", "python*").Scan(&want); err != nil {
		t.Fatal(err)
	}
	var onlyDesc int
	if err := e.db.QueryRow("SELECT COUNT(*) FROM packages WHERE MATCH(description) AGAINST(? IN NATURAL LANGUAGE MODE)", "library").Scan(&onlyDesc); err != nil {
		t.Fatal(err)
	}
	if want <= onlyDesc {
		t.Fatalf("the second index adds no row (%d <= %d): pick other terms", want, onlyDesc)
	}
	resp := e.execute(t, Request{Counts: []CountPlan{{Table: "packages", Matches: []Plan{
		{Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "library"},
		{Table: "packages", Index: "ft_name_description", Mode: sqlbuild.ModeBoolean, Against: "python*"},
	}}}})
	c := resp.Counts[0]
	if c.Err != nil || c.Total != want || c.TotalEstimated {
		t.Errorf("count = %d (estimated %v, err %v), want %d", c.Total, c.TotalEstimated, c.Err, want)
	}
	if len(resp.Plans) != 0 {
		t.Errorf("%d plan results for no plan", len(resp.Plans))
	}
}

func TestValuesAreStringsWithNullsAndBoundedText(t *testing.T) {
	long := strings.Repeat("é", 30)
	e := newEnv(t, Options{MaxValueChars: 12},
		"CREATE TABLE items (id BIGINT PRIMARY KEY, title VARCHAR(100), body TEXT, price DECIMAL(6,2), FULLTEXT KEY ft (title, body))",
		"INSERT INTO items VALUES (7, 'walnut table', NULL, 12.50), (9, 'walnut chair', '"+long+"', NULL)")
	resp := e.execute(t, Request{Plans: []Plan{{Table: "items", Index: "ft", Mode: sqlbuild.ModeBoolean, Against: "walnut", Limit: 10, Columns: []string{"title", "body", "price"}}}})
	p := resp.Plans[0]
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	type row struct {
		Values []string
		Nulls  []bool
	}
	var got []row
	for _, r := range p.Rows {
		if r.Score <= 0 {
			t.Errorf("row %v has score %v", r.Values, r.Score)
		}
		got = append(got, row{r.Values, r.Nulls})
	}
	want := []row{
		{[]string{"7", "walnut table", "", "12.50"}, []bool{false, false, true, false}},
		{[]string{"9", "walnut chair", strings.Repeat("é", 12), ""}, []bool{false, false, false, true}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestIdentifiersWithBackticksAndQuestionMarksAreQuoted(t *testing.T) {
	e := newEnv(t, Options{},
		"CREATE TABLE `we``ird?` (`i``d` INT PRIMARY KEY, `ti?tle` VARCHAR(100), FULLTEXT KEY `f``t?` (`ti?tle`))",
		"INSERT INTO `we``ird?` VALUES (1, 'quoted identifiers'), (2, 'plain words')")
	resp := e.execute(t, Request{Plans: []Plan{{Table: "we`ird?", Index: "f`t?", Mode: sqlbuild.ModeNatural, Against: "identifiers", Limit: 10, Count: true}}})
	p := resp.Plans[0]
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	if diff := cmp.Diff([]string{"1"}, ids(p.Rows)); diff != "" || p.Total != 1 {
		t.Errorf("rows (-want +got):\n%s total %d", diff, p.Total)
	}
	if diff := cmp.Diff([]string{"i`d", "ti?tle"}, p.Columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
}

func TestExplainReturnsThePlanOfTheStatement(t *testing.T) {
	e := newEnv(t, Options{})
	resp := e.execute(t, Request{Plans: []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "game", Limit: 5, Explain: true, Count: true}}})
	p := resp.Plans[0]
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	if len(p.Explain) == 0 || p.Explain[0]["table"] != "packages" || p.Explain[0]["type"] != "fulltext" || p.Explain[0]["key"] != "ft_description" {
		t.Errorf("explain = %v, want a fulltext access of packages by ft_description", p.Explain)
	}
	if len(p.Rows) != 0 || p.Total != -1 || !strings.HasPrefix(p.Statement, "SELECT ") || strings.Contains(p.Statement, "game") {
		t.Errorf("explain result: %d rows, total %d, statement %q", len(p.Rows), p.Total, p.Statement)
	}
	if sent := e.statements(); len(sent) != 1 || !strings.Contains(sent[0], "EXPLAIN SELECT") {
		t.Errorf("sent %q, want one EXPLAIN", sent)
	}
}

func TestEachStatementIsAClientSpanOfTheCallerCarryingItsTraceparentAndNoLiteral(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	e := newEnv(t, Options{Tracer: tp.Tracer(TracerName)})
	ctx, parent := tp.Tracer("test").Start(context.Background(), "search")
	const secret = "zebrafish"
	_, err := e.exec.Execute(ctx, "owner", Request{SourceID: e.src.src.ID, Plans: []Plan{
		{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: secret, Limit: 5},
		{Table: "packages", Index: "ft_name_description", Mode: sqlbuild.ModeBoolean, Against: secret, Limit: 5},
	}})
	parent.End()
	if err != nil {
		t.Fatal(err)
	}
	var spans []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "SELECT packages" {
			spans = append(spans, s)
		}
	}
	if len(spans) != 2 {
		t.Fatalf("%d statement spans, want 2", len(spans))
	}
	sent := strings.Join(e.statements(), "\n")
	for _, s := range spans {
		if s.Parent().SpanID() != parent.SpanContext().SpanID() || s.SpanContext().TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("span %s is not a child of the caller's span", s.SpanContext().SpanID())
		}
		if s.SpanKind() != trace.SpanKindClient {
			t.Errorf("span kind = %v, want client", s.SpanKind())
		}
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes() {
			attrs[kv.Key] = kv.Value
		}
		for k, want := range map[attribute.Key]string{"db.system": "mysql", "db.namespace": e.cfg.Database, "db.name": e.cfg.Database, "server.address": e.cfg.Host} {
			if got := attrs[k].AsString(); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if got := attrs["server.port"].AsInt64(); got != int64(e.cfg.Port) {
			t.Errorf("server.port = %d, want %d", got, e.cfg.Port)
		}
		text := attrs["db.query.text"].AsString()
		if !strings.Contains(text, "AGAINST(?") || strings.Contains(text, secret) || strings.Contains(text, "traceparent") {
			t.Errorf("db.query.text = %q, want the statement with placeholders only", text)
		}
		tp := "/*traceparent='00-" + s.SpanContext().TraceID().String() + "-" + s.SpanContext().SpanID().String() + "-01'*/ "
		if !strings.Contains(sent, tp) {
			t.Errorf("no statement starts with %s; sent:\n%s", tp, sent)
		}
	}
	for _, stmt := range e.statements() {
		if !strings.HasPrefix(stmt, "/*traceparent='00-") {
			t.Errorf("statement %q does not start with its traceparent", stmt)
		}
	}
}

func TestPlansBeyondTheConcurrencyCapWaitForASlot(t *testing.T) {
	const capN, wait = 2, 600 * time.Millisecond
	plans := make([]Plan, capN+1)
	for i := range plans {
		plans[i] = Plan{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "game", Limit: 1, Offset: i}
	}
	for _, tc := range []struct {
		name       string
		cap        int
		wantQueued bool
	}{
		{"one plan more than the cap waits for a slot", capN, true},
		{"with room for every plan nothing waits for one", capN + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{MaxConcurrency: tc.cap})
			e.slowWhen("packages", wait)
			resp := e.execute(t, Request{Plans: plans})
			for i, r := range resp.Plans {
				if r.Err != nil {
					t.Fatalf("plan %d: %v", i, r.Err)
				}
			}
			// A plan that waited for a slot waited for a whole statement,
			// which sleeps 600ms on the server.
			if queued := resp.Queued >= wait-100*time.Millisecond; queued != tc.wantQueued {
				t.Errorf("queued = %s, want a wait of a whole statement: %v", resp.Queued, tc.wantQueued)
			}
		})
	}
}

func TestAnUnreachableSourceFailsTheWholeCall(t *testing.T) {
	e := newEnv(t, Options{})
	// Point the pool at a port nobody listens on.
	st := e.src.src.Pool.Settings()
	st.Port = freePort(t)
	e2 := *e.src
	p, err := newPoolFor(t, st)
	if err != nil {
		t.Fatal(err)
	}
	e2.src.Pool = p
	e2.src.ID = p.Key().ID
	exec, err := New(Options{Sources: &e2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = exec.Execute(context.Background(), "owner", Request{SourceID: e2.src.ID, Plans: []Plan{
		{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "game", Limit: 1},
		{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "library", Limit: 1},
	}})
	if !errors.Is(err, ErrSourceUnavailable) || !errors.Is(err, datasource.ErrConnectionFailed) {
		t.Errorf("err = %v, want ErrSourceUnavailable wrapping ErrConnectionFailed", err)
	}
	var pub interface{ PublicMessage() string }
	if !errors.As(err, &pub) || !strings.Contains(pub.PublicMessage(), strconv.Itoa(st.Port)) {
		t.Errorf("message does not name the source's address: %v", err)
	}
}

func TestCountingUsesTheWindowOnlyWhereTheServerHasWindowFunctions(t *testing.T) {
	for _, hasWindow := range []bool{true, false} {
		e := newEnv(t, Options{CountBudget: exactBudget})
		e.src.sc.Server.WindowFunctions = hasWindow
		want, _ := e.own(t, "description", "IN NATURAL LANGUAGE MODE", "library")
		resp := e.execute(t, Request{Plans: []Plan{{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: "library", Limit: 5, Count: true}}})
		if p := resp.Plans[0]; p.Err != nil || p.Total != len(want) || p.TotalEstimated {
			t.Errorf("window functions %v: total %d (estimated %v, err %v), want %d", hasWindow, p.Total, p.TotalEstimated, p.Err, len(want))
		}
		sent := strings.Join(e.statements(), "\n")
		if got := strings.Contains(sent, "COUNT(*) OVER ()"); got != hasWindow {
			t.Errorf("window functions %v: statements %q", hasWindow, sent)
		}
		if got := strings.Contains(sent, "SELECT COUNT(*) FROM"); got == hasWindow {
			t.Errorf("window functions %v: separate count sent = %v", hasWindow, got)
		}
		// The statement reported (the analyze route shows it, the load
		// tool's sql target runs it) is the search that ran.
		if st := resp.Plans[0].Statement; strings.Contains(st, "COUNT(*) OVER ()") != hasWindow || !strings.Contains(sent, st) {
			t.Errorf("window functions %v: reported statement %q, sent %q", hasWindow, st, sent)
		}
	}
}
