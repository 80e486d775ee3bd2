package search

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAnalyzeExplainsTimesAndAdvisesIndexes(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 5, nil, nil)}}
	a, err := newService(f).Analyze(context.Background(), alice, AnalyzeRequest{Query: "the connection pools", Mode: ModeBoolean})
	if err != nil {
		t.Fatal(err)
	}
	// One call with the EXPLAIN of every statement, then each statement run once, counted.
	if len(f.execs) != 1 {
		t.Fatalf("%d calls, want 1", len(f.execs))
	}
	var explained, run []string
	for _, p := range f.execs[0].Plans {
		if p.Explain {
			explained = append(explained, p.Index)
		} else if p.Count {
			run = append(run, p.Index)
		}
		if strings.Contains(p.Against, "the") {
			t.Errorf("against %q holds a stopword: not the compiled text", p.Against)
		}
	}
	if diff := cmp.Diff([]string{"ft_title", "ft_title_body"}, explained); diff != "" {
		t.Errorf("explained (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(explained, run); diff != "" {
		t.Errorf("run (-explained +run):\n%s", diff)
	}

	srcs := a.Performance["sources"].([]any)
	stmts := srcs[0].(map[string]any)["statements"].([]any)
	if len(stmts) != 2 {
		t.Fatalf("statements: %v", stmts)
	}
	st := stmts[0].(map[string]any)
	for _, k := range []string{"statement", "explain", "elapsedMs", "against", "total"} {
		if st[k] == nil {
			t.Errorf("statement lacks %s: %v", k, st)
		}
	}

	var sqls []string
	for _, o := range a.Optimization {
		sqls = append(sqls, o.SQLSuggestion)
		if o.Type != "index" || !strings.Contains(o.Description, "blocks writes") {
			t.Errorf("optimization %+v", o)
		}
	}
	want := []string{
		"ALTER TABLE `db_s1`.`notes` ADD FULLTEXT INDEX `ft_owner` (`owner`)",
		"ALTER TABLE `db_s1`.`notes` ADD FULLTEXT INDEX `ft_content` (`content`)",
	}
	if diff := cmp.Diff(want, sqls); diff != "" {
		t.Errorf("advice (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(a.Recommendations, func(r string) bool { return strings.Contains(r, "`notes`") && strings.Contains(r, "no FULLTEXT index") }) {
		t.Errorf("notes is not named: %q", a.Recommendations)
	}
	if !slices.ContainsFunc(a.Recommendations, func(r string) bool { return strings.Contains(r, `"the"`) }) {
		t.Errorf("the ignored stopword is not explained: %q", a.Recommendations)
	}
}

func TestIndexAdviceQuotesIdentifiers(t *testing.T) {
	src := Source{ID: "s", Name: "n", Database: "we`ird", Tables: []Table{{Name: "t`1", Columns: []Column{{Name: "c`x", Type: "TEXT"}, {Name: "n", Type: "int"}}}}}
	got, _ := indexAdvice(src)
	if len(got) != 1 || got[0].SQLSuggestion != "ALTER TABLE `we``ird`.`t``1` ADD FULLTEXT INDEX `ft_c``x` (`c``x`)" {
		t.Errorf("advice: %+v", got)
	}
}

func TestAnalyzeOfAFailedSourceSaysSo(t *testing.T) {
	src := newFakeSource("s1", 5, nil, nil)
	src.err = &SourceError{Code: "DATABASE_CONNECTION_FAILED", Message: "refused"}
	a, err := newService(&fakeSources{sources: []*fakeSource{src}}).Analyze(context.Background(), alice, AnalyzeRequest{Query: "pools"})
	if err != nil {
		t.Fatal(err)
	}
	entry := a.Performance["sources"].([]any)[0].(map[string]any)
	if entry["status"] != StatusFailed || entry["errorCode"] != "DATABASE_CONNECTION_FAILED" {
		t.Errorf("source entry: %v", entry)
	}
	_, err = newService(&fakeSources{}).Analyze(context.Background(), alice, AnalyzeRequest{Query: ""})
	if diff := cmp.Diff([]string{"query:REQUIRED"}, violations(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
