package search

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAnalyzeExplainsTimesAndAdvisesIndexes(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 5, nil, nil)}}
	a, err := newService(f).Analyze(context.Background(), alice, AnalyzeRequest{Query: "the connection pools", Mode: ModeBoolean})
	if err != nil {
		t.Fatal(err)
	}
	// The search as it runs: phase 1 ranks keys with both indexes (with
	// the EXPLAIN of each) and counts the rows both match, phase 2 reads
	// the page's rows.
	phase1, phase2 := f.calls()
	if len(phase1) != 1 || len(phase2) != 1 || len(f.earlyCalls()) != 1 {
		t.Fatalf("%d and %d calls (%d counts beside phase 1), want one per phase and one count", len(phase1), len(phase2), len(f.earlyCalls()))
	}
	var explained, run []string
	for _, p := range phase1[0].Plans {
		if p.Explain {
			explained = append(explained, p.Index)
		} else if p.KeysOnly {
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
	if len(stmts) != 4 {
		t.Fatalf("statements: %v", stmts)
	}
	against := phase1[0].Plans[0].Against
	wantArgs := [][]any{
		{against, against, 200.0, 0.0},
		{against, against, 200.0, 0.0},
		{against, against},
		{1.0, 2.0, 3.0, 4.0, 5.0},
	}
	for i, x := range stmts {
		st := x.(map[string]any)
		wantPhase, wantKind := 1.0, "search"
		switch i {
		case 2:
			wantKind = "count"
		case 3:
			wantPhase, wantKind = 2.0, "fetch"
		}
		if st["phase"] != wantPhase || st["kind"] != wantKind {
			t.Errorf("statement %d: phase %v kind %v, want %v %v", i, st["phase"], st["kind"], wantPhase, wantKind)
		}
		if diff := cmp.Diff(wantArgs[i], st["args"]); diff != "" {
			t.Errorf("statement %d: args (-want +got):\n%s", i, diff)
		}
		keys := []string{"statement", "elapsedMs", "rows"}
		if i == 2 {
			keys = []string{"statement", "elapsedMs", "total"}
		}
		if i < 2 {
			keys = append(keys, "explain", "against")
		}
		for _, k := range keys {
			if st[k] == nil {
				t.Errorf("statement %d lacks %s: %v", i, k, st)
			}
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

func TestIndexAdviceRanksShortLabelsLowAndAfterProse(t *testing.T) {
	src := Source{ID: "s", Name: "n", Database: "db", Tables: []Table{
		{Name: "entries", Indexes: []Index{{Name: "ft_body", Columns: []string{"body"}}}, Columns: []Column{
			{Name: "urgency", Type: "varchar", MaxChars: 32},
			{Name: "body", Type: "text", MaxChars: 65535, IsFullText: true},
			{Name: "title", Type: "varchar", MaxChars: 255},
			{Name: "legacy", Type: "varchar"}, // length unknown: advised as prose
		}},
		{Name: "files", Columns: []Column{{Name: "content", Type: "mediumtext", MaxChars: 16777215}}},
	}}
	got, _ := indexAdvice(src)
	var order []string
	for _, o := range got {
		order = append(order, o.Impact+" "+o.SQLSuggestion[strings.LastIndex(o.SQLSuggestion, "("):])
	}
	want := []string{"high (`content`)", "medium (`title`)", "medium (`legacy`)", "low (`urgency`)"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Fatalf("advice (-want +got):\n%s", diff)
	}
	if !strings.Contains(got[3].Description, "at most 32 characters") || strings.Contains(got[1].Description, "at most") {
		t.Errorf("descriptions: %q / %q", got[3].Description, got[1].Description)
	}
}

func TestAnalyzeOfASlowExpansionSaysTheSearchFallsBackToNaturalMode(t *testing.T) {
	src := newFakeSource("s1", 5, nil, nil)
	src.blockExpansion = true
	s := newService(&fakeSources{sources: []*fakeSource{src}}, func(o *Options) {
		o.SourceTimeout, o.ExpansionModeTimeout = 100*time.Millisecond, 40*time.Millisecond
	})
	a, err := s.Analyze(context.Background(), alice, AnalyzeRequest{Query: "pools", Mode: ModeExpansion})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(a.Recommendations, func(r string) bool {
		return strings.Contains(r, "waits 40ms for query expansion") && strings.Contains(r, "natural mode")
	}) {
		t.Errorf("recommendations %q do not say that a search would fall back", a.Recommendations)
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

func TestAnalyzeGivesEveryStatementOfTheSearchByPhaseWithItsArguments(t *testing.T) {
	seq := func(n int) []int { return seqPerm(n) }
	tests := []struct {
		name   string
		src    func() *fakeSource
		window int
		want   []string // phase/kind/args of each statement
	}{
		{
			name: "one index in natural mode: one statement",
			src:  func() *fakeSource { return newFakeSource("s1", 30, nil, nil).onlyIndex("ft_title") },
			want: []string{"1/search/[pools pools 20 0]"},
		},
		{
			name:   "two indexes with cut lists: keys beside the intersection count, then the page's rows",
			src:    func() *fakeSource { return newFakeSource("s1", 30, seq(30), seq(30)) },
			window: 25,
			want: []string{"1/search/[pools pools 25 0]", "1/search/[pools pools 25 0]", "1/count/[pools pools]",
				"2/fetch/[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSources{sources: []*fakeSource{tt.src()}}
			a, err := newService(f, func(o *Options) { o.RankWindow = tt.window }).Analyze(context.Background(), alice, AnalyzeRequest{Query: "pools"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range a.Performance["sources"].([]any)[0].(map[string]any)["statements"].([]any) {
				st := x.(map[string]any)
				got = append(got, fmt.Sprintf("%v/%v/%v", st["phase"], st["kind"], st["args"]))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("statements (-want +got):\n%s", diff)
			}
		})
	}
}
