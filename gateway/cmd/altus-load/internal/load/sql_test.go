package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/pkg/testenv"
)

func TestExtractStatementsFindsEveryStatementWithItsSourceAndArgs(t *testing.T) {
	data := `{
	  "query": "web server",
	  "recommendations": ["Add a FULLTEXT index"],
	  "performance": {
	    "sources": [
	      {"id": "src-a", "name": "Debian packages", "elapsedMs": 3.2, "statements": [
	        {"index": "ft_summary_description", "statement": "SELECT name FROM packages WHERE MATCH(summary, description) AGAINST(? IN BOOLEAN MODE) LIMIT ?", "args": ["+web +server", 20]},
	        {"index": "ft_name_summary", "statement": "/* count */ select COUNT(*) FROM packages WHERE MATCH(name, summary) AGAINST(?)", "args": ["web server"]},
	        {"index": "ft_name_summary", "statement": "EXPLAIN SELECT 1", "args": []}
	      ]},
	      {"sourceId": "src-b", "plans": [{"sql": "SELECT id FROM changelog_entries WHERE MATCH(body) AGAINST(?) LIMIT ? OFFSET ?", "arguments": ["web", 20, 0.5]}]}
	    ]
	  },
	  "optimization": [{"type": "index", "sqlSuggestion": "ALTER TABLE doc_files ADD FULLTEXT (content)"}]
	}`
	got, err := ExtractStatements([]byte(data), "default", 20)
	if err != nil {
		t.Fatal(err)
	}
	want := []Statement{
		{Source: "src-a", SQL: "SELECT name FROM packages WHERE MATCH(summary, description) AGAINST(? IN BOOLEAN MODE) LIMIT ?", Args: []any{"+web +server", int64(20)}, Phase: 1},
		{Source: "src-a", SQL: "/* count */ select COUNT(*) FROM packages WHERE MATCH(name, summary) AGAINST(?)", Args: []any{"web server"}, Phase: 1},
		{Source: "src-b", SQL: "SELECT id FROM changelog_entries WHERE MATCH(body) AGAINST(?) LIMIT ? OFFSET ?", Args: []any{"web", int64(20), 0.5}, Phase: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
}

func TestExtractStatementsUsesTheDefaultSourceAndDropsDuplicates(t *testing.T) {
	data := `{"performance": {"statements": [
	  {"statement": "SELECT 1 FROM t WHERE MATCH(a) AGAINST(?)", "args": ["x"]},
	  {"statement": "SELECT 1 FROM t WHERE MATCH(a) AGAINST(?)", "args": ["x"]}
	]}}`
	got, err := ExtractStatements([]byte(data), "only", 20)
	if err != nil {
		t.Fatal(err)
	}
	want := []Statement{{Source: "only", SQL: "SELECT 1 FROM t WHERE MATCH(a) AGAINST(?)", Args: []any{"x"}, Phase: 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
	if _, err := ExtractStatements([]byte(`{"performance":`), "", 20); err == nil {
		t.Error("a truncated answer gave no error")
	}
}

func TestAnalyzeResolverAsksTheAnalyzeRouteWithTheQueryAndKey(t *testing.T) {
	var gotAuth, gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/search/analyze" {
			w.WriteHeader(http.StatusNotImplemented)
			_, _ = w.Write([]byte(`{"success":false,"error":{"code":"NOT_IMPLEMENTED","message":"later"}}`))
			return
		}
		gotAuth = r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		_, _ = w.Write([]byte(`{"success":true,"data":{"performance":{"sources":[{"id":"s1","statements":[{"statement":"SELECT 1","args":[]}]}]}}}`))
	}))
	defer srv.Close()

	got, err := AnalyzeResolver(srv.URL, "key1", []string{"s1"}, 20)(context.Background(), Query{Text: "web", Mode: ModeBoolean})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Statement{{Source: "s1", SQL: "SELECT 1", Args: []any{}, Phase: 1}}, got); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
	if gotAuth != "Bearer key1" || gotBody != `{"databases":["s1"],"query":"web","searchMode":"boolean"}` {
		t.Errorf("request: auth %q body %s", gotAuth, gotBody)
	}

	// A route that answers an error: the resolver says so.
	if _, err := AnalyzeResolver(srv.URL+"/nope", "key1", nil, 20)(context.Background(), Query{Text: "web"}); err == nil {
		t.Error("an error answer gave statements")
	}
}

func TestSQLTargetRunsTheStatementsOnTheRealServer(t *testing.T) {
	db, cfg := testenv.OpenDatabase(t)
	for _, s := range []string{
		"CREATE TABLE packages (name VARCHAR(64) PRIMARY KEY, summary VARCHAR(255) NOT NULL, FULLTEXT KEY ft (summary)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
		"INSERT INTO packages VALUES ('nginx', 'small powerful scalable web server'), ('apache2', 'Apache HTTP web server'), ('bash', 'GNU Bourne Again shell')",
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	dsn := cfg.DSN()
	for _, prepare := range []bool{false, true} {
		name := map[bool]string{false: "per request", true: "prepared once"}[prepare]
		t.Run(name, func(t *testing.T) {
			resolve := func(_ context.Context, q Query) ([]Statement, error) {
				if q.Text == "bad" {
					return []Statement{{SQL: "SELECT nope FROM packages"}}, nil
				}
				return []Statement{
					{Source: "s1", SQL: "SELECT name, MATCH(summary) AGAINST(?) AS score FROM packages WHERE MATCH(summary) AGAINST(?) ORDER BY score DESC LIMIT ?", Args: []any{q.Text, q.Text, int64(10)}, Phase: 1},
					{Source: "s1", SQL: "SELECT name, summary FROM packages FORCE INDEX (PRIMARY) WHERE name IN (?, ?)", Args: []any{"nginx", "apache2"}, Phase: 2},
					{Source: "s1", SQL: "SELECT COUNT(*) FROM packages WHERE MATCH(summary) AGAINST(? IN BOOLEAN MODE) AND MATCH(summary) AGAINST(?)", Args: []any{q.Text, q.Text}, Phase: 2},
					{Source: "s1", SQL: "SELECT COUNT(*) FROM packages WHERE MATCH(summary) AGAINST(? IN BOOLEAN MODE)", Args: []any{q.Text}},
				}, nil
			}
			s := NewSQL(SQLOptions{DSNs: map[string]string{"": dsn}, Resolve: resolve, Prepare: prepare})
			defer s.Close()
			queries := []Query{{"web server", ModeNatural}}
			if !prepare {
				queries = append(queries, Query{"bad", ModeNatural})
			}
			if err := s.Prepare(context.Background(), queries); err != nil {
				t.Fatal(err)
			}
			if got := s.Do(context.Background(), 0, true); !got.OK() {
				t.Errorf("web server: %+v, want success", got)
			}
			if !prepare {
				if got := s.Do(context.Background(), 1, true); got.Kind != "mysql 1054" {
					t.Errorf("unknown column: kind %q, want mysql 1054", got.Kind)
				}
			}
			r := Run(context.Background(), Phase{Target: s, Concurrency: 4, Requests: 40, Cache: Uncached, Queries: []int{0}})
			if r.Successes != 40 || r.Target != "sql" || r.Cache != "-" {
				t.Errorf("run: %d successes of %d, target %s, cache %s: want 40 sql -", r.Successes, r.Total, r.Target, r.Cache)
			}
		})
	}
}

func TestSQLTargetNeedsStatementsAndADSN(t *testing.T) {
	if err := NewSQL(SQLOptions{}).Prepare(context.Background(), []Query{{"x", ModeNatural}}); err == nil {
		t.Error("no resolver: no error")
	}
	s := NewSQL(SQLOptions{Resolve: OverrideResolver("s9", "SELECT ?", []any{"{query}"})})
	if err := s.Prepare(context.Background(), []Query{{"x", ModeNatural}}); err == nil {
		t.Error("no DSN for the source: no error")
	}
}

func TestOverrideResolverSubstitutesTheQuery(t *testing.T) {
	got, err := OverrideResolver("s1", "SELECT ?, ?, ?", []any{"{query}", "+{query}*", float64(3)})(context.Background(), Query{Text: "web"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Statement{{Source: "s1", SQL: "SELECT ?, ?, ?", Args: []any{"web", "+web*", float64(3)}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPlaceholdersNameWhatEachStandsFor(t *testing.T) {
	text := "SELECT `name`, LEFT(`summary`, 300) AS `summary`, MATCH(`summary`, `description`) AGAINST(? IN BOOLEAN MODE) AS `score` " +
		"FROM `db`.`t?` WHERE MATCH(`summary`, `description`) AGAINST(? IN BOOLEAN MODE) AND note <> 'why?' /* ? */ " +
		"ORDER BY `score` DESC, `name` ASC LIMIT ? OFFSET ?"
	want := []string{"AGAINST(", "AGAINST(", "LIMIT", "OFFSET"}
	if diff := cmp.Diff(want, Placeholders(text)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// analyzeAnswer is the shape the search service's analyze route answers:
// performance.sources[] with their statements (EXPLAIN rows carry an "id" of
// their own, which is not a source).
func analyzeAnswer(statementFields string) string {
	return `{"query":"web server","recommendations":[],"performance":{"mode":"natural","totalTimeMs":3.1,"sources":[
	  {"id":"src-a","name":"Debian packages","database":"altus_demo_packages","status":"ok","statements":[
	    {"table":"packages","index":"ft_name_summary","columns":["name","summary"],"mode":"natural",` + statementFields + `,
	     "statement":"SELECT ` + "`name`" + ` FROM t WHERE MATCH(name, summary) AGAINST(? IN NATURAL LANGUAGE MODE) ORDER BY 1 LIMIT ? OFFSET ?",
	     "explain":[{"id":"1","select_type":"SIMPLE","table":"packages","type":"fulltext"}]}]}]},
	  "optimization":[]}`
}

func TestExtractStatementsOfTheSearchServicesAnalyzeAnswer(t *testing.T) {
	tests := []struct {
		name   string
		fields string
		want   []any
	}{
		{"with args", `"args":["web server", 20, 0]`, []any{"web server", int64(20), int64(0)}},
		{"with the against text only", `"against":"web server"`, []any{"web server", int64(7), int64(0)}},
		{"with neither", `"rows":20`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExtractStatements([]byte(analyzeAnswer(tt.fields)), "", 7)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Source != "src-a" {
				t.Fatalf("statements %+v, want one on src-a", got)
			}
			if diff := cmp.Diff(tt.want, got[0].Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnalyzeResolverRefusesStatementsWithoutTheirArguments(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"success":true,"data":` + analyzeAnswer(`"rows":20`) + `}`))
	}))
	defer srv.Close()
	if _, err := AnalyzeResolver(srv.URL, "k", nil, 20)(context.Background(), Query{Text: "web server"}); err == nil {
		t.Error("statements with placeholders and no arguments were accepted")
	}
}

func TestExtractStatementsOfATwoPhaseAnalyzeAnswer(t *testing.T) {
	data := `{"query":"web server","performance":{"mode":"natural","limit":20,"rankWindow":200,"phases":[{"phase":1},{"phase":2}],"sources":[
	  {"id":"src-a","status":"ok","statements":[
	    {"phase":1,"kind":"search","index":"ft_a","statement":"SELECT id, MATCH(a) AGAINST(?) AS score FROM t WHERE MATCH(a) AGAINST(?) ORDER BY score DESC LIMIT ? OFFSET ?","args":["web","web",200,0],"explain":[{"id":"1"}]},
	    {"phase":1,"kind":"search","index":"ft_b","statement":"SELECT id, MATCH(b) AGAINST(?) AS score FROM t WHERE MATCH(b) AGAINST(?) ORDER BY score DESC LIMIT ? OFFSET ?","args":["web","web",200,0]},
	    {"phase":2,"kind":"fetch","statement":"SELECT id, a, b FROM t FORCE INDEX (PRIMARY) WHERE id IN (?, ?)","args":[7,3]},
	    {"phase":2,"kind":"count","op":"all","statement":"SELECT COUNT(*) FROM t WHERE MATCH(a) AGAINST(?) AND MATCH(b) AGAINST(?)","args":["web","web"]}]},
	  {"id":"src-b","status":"ok","statements":[
	    {"phase":1,"kind":"search","statement":"SELECT id, MATCH(a) AGAINST(?) AS score FROM t WHERE MATCH(a) AGAINST(?) ORDER BY score DESC LIMIT ? OFFSET ?","args":["web","web",200,0]}]}]}}`
	got, err := ExtractStatements([]byte(data), "", 20)
	if err != nil {
		t.Fatal(err)
	}
	var phases []string
	for _, st := range got {
		phases = append(phases, fmt.Sprintf("%s/%d/%v", st.Source, st.Phase, st.Args))
	}
	want := []string{"src-a/1/[web web 200 0]", "src-a/1/[web web 200 0]", "src-a/2/[7 3]", "src-a/2/[web web]", "src-b/1/[web web 200 0]"}
	if diff := cmp.Diff(want, phases); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
	if got[2].Args[0] != int64(7) {
		t.Errorf("a key argument is %T, want int64", got[2].Args[0])
	}
}

func TestAnalyzeResolverRefusesStatementsOfAnotherPageSize(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"success":true,"data":{"performance":{"limit":20,"sources":[{"id":"s1","statements":[{"statement":"SELECT 1","args":[]}]}]}}}`))
	}))
	defer srv.Close()
	if _, err := AnalyzeResolver(srv.URL, "k", nil, 50)(context.Background(), Query{Text: "web"}); err == nil {
		t.Error("statements of pages of 20 were taken for pages of 50")
	}
	if _, err := AnalyzeResolver(srv.URL, "k", nil, 20)(context.Background(), Query{Text: "web"}); err != nil {
		t.Errorf("pages of 20: %v", err)
	}
}

func TestSQLTargetRunsPhasesInTurnAndEachPhaseConcurrently(t *testing.T) {
	started := make(chan string, 8)
	release := make(chan struct{})
	s := NewSQL(SQLOptions{})
	s.run = func(ctx context.Context, p plan) Outcome {
		started <- p.text
		if strings.HasPrefix(p.text, "rank") {
			<-release
		}
		if p.text == "rank bad" {
			return Outcome{Kind: "mysql 1054"}
		}
		return Outcome{}
	}
	s.plans = [][][]plan{
		{{{text: "rank a"}, {text: "rank b"}}, {{text: "fetch"}, {text: "count"}}},
		{{{text: "rank bad"}}, {{text: "fetch"}}},
	}
	done := make(chan Outcome)
	go func() { done <- s.Do(context.Background(), 0, true) }()
	// Both statements of phase 1 run at once, and phase 2 waits for them.
	got := []string{<-started, <-started}
	slices.Sort(got)
	if diff := cmp.Diff([]string{"rank a", "rank b"}, got); diff != "" {
		t.Fatalf("phase 1 (-want +got):\n%s", diff)
	}
	select {
	case st := <-started:
		t.Fatalf("%s started before phase 1 ended", st)
	default:
	}
	close(release)
	if o := <-done; !o.OK() {
		t.Fatalf("outcome %+v", o)
	}
	got = []string{<-started, <-started}
	slices.Sort(got)
	if diff := cmp.Diff([]string{"count", "fetch"}, got); diff != "" {
		t.Errorf("phase 2 (-want +got):\n%s", diff)
	}
	// A failed phase ends the request: the next does not run.
	if o := s.Do(context.Background(), 1, true); o.Kind != "mysql 1054" {
		t.Errorf("outcome %+v, want the failure of phase 1", o)
	}
	if st := <-started; st != "rank bad" {
		t.Errorf("ran %s", st)
	}
	select {
	case st := <-started:
		t.Errorf("%s ran after phase 1 failed", st)
	default:
	}
}
