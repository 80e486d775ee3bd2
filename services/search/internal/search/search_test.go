package search

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/altus4/altus/pkg/identity"
)

var alice = identity.Principal{UserID: "u-alice", APIKeyID: "k-1", Permissions: []string{identity.PermSearch}}

func newService(f *fakeSources, opt ...func(*Options)) *Service {
	o := Options{Sources: f, SourceTimeout: time.Second}
	for _, fn := range opt {
		fn(&o)
	}
	return New(o)
}

func search(t *testing.T, s *Service, req Request) *Response {
	t.Helper()
	resp, err := s.Search(context.Background(), alice, req)
	if err != nil {
		t.Fatalf("search %+v: %v", req, err)
	}
	return resp
}

func resultIDs(rs []Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func noticeCodes(ns []Notice) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Code)
	}
	return out
}

func TestSingleIndexNaturalSearchKeepsTheDatabaseOrderAndPagesWithSQL(t *testing.T) {
	src := newFakeSource("s1", 30, nil, reversed(30)).onlyIndex("ft_title_body")
	f := &fakeSources{sources: []*fakeSource{src}}
	s := newService(f)

	var all []string
	for page := range 3 {
		resp := search(t, s, Request{Query: "connection pools", Limit: 10, Offset: page * 10})
		if resp.TotalCount != 30 || resp.TotalEstimated || resp.Page != page+1 || resp.Limit != 10 {
			t.Errorf("page %d: total %d (estimated %v), page %d, limit %d", page+1, resp.TotalCount, resp.TotalEstimated, resp.Page, resp.Limit)
		}
		all = append(all, resultIDs(resp.Results)...)
		if page == 1 {
			// Relevance is the score over the best score of the whole ranking.
			if got, want := resp.Results[0].RelevanceScore, 90.0/100; got != want {
				t.Errorf("relevance of the first row of page 2 = %v, want %v", got, want)
			}
		}
	}
	var want []string
	for _, pos := range reversed(30) {
		want = append(want, "s1:articles:"+src.rows["articles"][pos].pk[0])
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("pages 1..3 are not the index's order (-want +got):\n%s", diff)
	}
	// Each page is one LIMIT/OFFSET statement, counted (plus the best score past page 1).
	got := f.execs[1].Plans
	wantPlans := []Plan{
		{Table: "articles", Index: "ft_title_body", Mode: "natural", Against: got[0].Against, Limit: 10, Offset: 10, Count: true},
		{Table: "articles", Index: "ft_title_body", Mode: "natural", Against: got[0].Against, Limit: 1, Offset: 0, KeysOnly: true},
	}
	if diff := cmp.Diff(wantPlans, got); diff != "" {
		t.Errorf("plans of page 2 (-want +got):\n%s", diff)
	}
	if got[0].Against == "" {
		t.Error("empty AGAINST text")
	}
	if len(f.execs) != 3 {
		t.Errorf("%d calls for three pages, want one each", len(f.execs))
	}
}

func TestResultsCarryTypedDataMatchedColumnsSnippetsAndHighlights(t *testing.T) {
	src := newFakeSource("s1", 3, nil, nil).onlyIndex("ft_title_body")
	src.rows["articles"][0].values["body"] = "Nothing relevant here."
	f := &fakeSources{sources: []*fakeSource{src}}
	resp := search(t, newService(f), Request{Query: "pools"})
	r := resp.Results[0]
	if r.ID != "s1:articles:1" || r.Table != "articles" || r.Database != "s1" || r.RelevanceScore != 1 {
		t.Errorf("result header: %+v", r)
	}
	wantData := []Field{{"id", int64(1)}, {"title", "Connection pools, part 1"}, {"body", "Nothing relevant here."}}
	if diff := cmp.Diff(wantData, r.Data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"title"}, r.MatchedColumns); diff != "" {
		t.Errorf("matched columns (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.Snippet, "pools") {
		t.Errorf("snippet %q does not show the match", r.Snippet)
	}
	if len(r.Highlights) != 1 || r.Highlights[0].Column != "title" || !strings.Contains(strings.Join(r.Highlights[0].Fragments, ""), "<mark>pools</mark>") {
		t.Errorf("highlights: %+v", r.Highlights)
	}
	if diff := cmp.Diff([]string{"body", "title"}, resp.Results[1].MatchedColumns, cmpSorted()); diff != "" {
		t.Errorf("matched columns of row 2 (-want +got):\n%s", diff)
	}
}

func cmpSorted() cmp.Option {
	return cmp.Transformer("sort", func(in []string) []string {
		out := slices.Clone(in)
		slices.Sort(out)
		return out
	})
}

// fusedLists returns the ranked lists of every index of articles in
// sources, each cut after depth rows, in the order the search sends them.
func fusedLists(sources []*fakeSource, depth int) []RankedList {
	var lists []RankedList
	for _, src := range sources {
		t := src.table("articles")
		for _, ix := range t.Indexes {
			l := RankedList{SourceID: src.desc.ID, Table: "articles"}
			for i, pos := range src.ranking["articles/"+ix.Name] {
				if i == depth {
					break
				}
				r := src.rows["articles"][pos]
				l.Rows = append(l.Rows, rowKey(src.desc.ID, t, Row{Values: r.pk}))
			}
			lists = append(lists, l)
		}
	}
	return lists
}

// calls splits the recorded calls into phase 1 (plans) and phase 2
// (fetches and counts), leaving out the counts started with phase 1
// (earlyCalls).
func (f *fakeSources) calls() (phase1, phase2 []ExecRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.execs {
		switch {
		case len(e.Plans) > 0:
			phase1 = append(phase1, e)
		case !isEarly(e):
			phase2 = append(phase2, e)
		}
	}
	return phase1, phase2
}

// earlyCalls are the calls of counts started with phase 1: counts only,
// each of the rows matching both indexes of a table (phase 2 asks those
// no more while early counts are on, as they are for one search at a
// time).
func (f *fakeSources) earlyCalls() []ExecRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ExecRequest
	for _, e := range f.execs {
		if isEarly(e) {
			out = append(out, e)
		}
	}
	return out
}

func isEarly(e ExecRequest) bool {
	if len(e.Plans) > 0 || len(e.Fetches) > 0 || len(e.Counts) == 0 {
		return false
	}
	for _, c := range e.Counts {
		if c.Op != CountAll {
			return false
		}
	}
	return true
}

func (f *fakeSources) reset() {
	f.mu.Lock()
	f.execs = nil
	f.mu.Unlock()
}

func TestFusedSearchRanksKeysThenFetchesThePageRows(t *testing.T) {
	a := newFakeSource("s1", 40, reversed(40), nil)
	b := newFakeSource("s2", 25, nil, reversed(25))
	f := &fakeSources{sources: []*fakeSource{a, b}}
	s := newService(f)
	full := Fuse(fusedLists([]*fakeSource{a, b}, 200))

	seen := map[string]bool{}
	for page := range 3 {
		f.reset()
		resp := search(t, s, Request{Query: "pools", Limit: 7, Offset: page * 7})
		want := ids(Page(full, page*7, 7))
		if diff := cmp.Diff(want, resultIDs(resp.Results)); diff != "" {
			t.Errorf("page %d (-fused +got):\n%s", page+1, diff)
		}
		for _, r := range resp.Results {
			if seen[r.ID] {
				t.Errorf("%s on two pages", r.ID)
			}
			seen[r.ID] = true
			if len(r.Data) != 3 || !strings.HasPrefix(r.Data[1].Value.(string), "Connection pools") || len(r.MatchedColumns) == 0 || r.Snippet == "" {
				t.Errorf("result %s was not read whole: data %v, matched %v, snippet %q", r.ID, r.Data, r.MatchedColumns, r.Snippet)
			}
		}
		// Every list is complete (fewer rows than the window): the totals
		// are the unions of the lists' ids, and nothing is counted apart.
		if resp.TotalCount != 65 || resp.TotalEstimated {
			t.Errorf("total = %d (estimated %v), want 65", resp.TotalCount, resp.TotalEstimated)
		}
		if got := []int{resp.Sources[0].RowCount, resp.Sources[1].RowCount}; !slices.Equal(got, []int{40, 25}) {
			t.Errorf("row counts per source = %v", got)
		}
		phase1, phase2 := f.calls()
		if len(phase1) != 2 {
			t.Fatalf("%d phase-1 calls, want one per source", len(phase1))
		}
		for _, e := range phase1 {
			for _, p := range e.Plans {
				if !p.KeysOnly || p.Limit != 200 || p.Offset != 0 || !p.Count {
					t.Errorf("phase-1 plan %+v, want keys only, the rank window (200) from 0, counted", p)
				}
			}
		}
		// The count started with phase 1 (a table searched by two
		// indexes) is not needed: the lists are complete.
		if early := f.earlyCalls(); len(early) != 2 {
			t.Errorf("%d calls of counts started with phase 1, want one per source", len(early))
		}
		// The first page: each source's rankings' call reads its own first
		// 7 rows, among which are its rows of the page. The next pages:
		// phase 2 reads each source's rows of the page, by key; no count.
		for _, e := range phase1 {
			if asked := e.Page != nil; asked != (page == 0) || asked && (e.Page.Offset != 0 || e.Page.Limit != 7) {
				t.Errorf("page %d: %s's rankings' call asked page %+v", page+1, e.SourceID, e.Page)
			}
		}
		var fetched []string
		for _, e := range phase2 {
			if len(e.Counts) != 0 {
				t.Errorf("counts %+v with complete lists", e.Counts)
			}
			for _, fp := range e.Fetches {
				for _, k := range fp.Keys {
					fetched = append(fetched, e.SourceID+":"+fp.Table+":"+k[0])
				}
			}
		}
		wantFetched := want
		if page == 0 {
			wantFetched = nil
		}
		if diff := cmp.Diff(wantFetched, fetched, cmpSorted()); diff != "" {
			t.Errorf("page %d: keys fetched after the rankings (-want +fetched):\n%s", page+1, diff)
		}
	}
}

func TestARowFoundByBothIndexesOfItsTableRanksFirst(t *testing.T) {
	// Each index puts another row first; both put row 3 second (the
	// "web server" case: task-web-server).
	src := newFakeSource("s1", 6, []int{0, 2, 4, 5}, []int{1, 2, 3})
	resp := search(t, newService(&fakeSources{sources: []*fakeSource{src}}), Request{Query: "web server", Limit: 3})
	if diff := cmp.Diff([]string{"s1:articles:3", "s1:articles:1", "s1:articles:2"}, resultIDs(resp.Results)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if resp.Results[0].RelevanceScore != 1 || resp.Results[1].RelevanceScore >= 1 {
		t.Errorf("relevance %v, %v", resp.Results[0].RelevanceScore, resp.Results[1].RelevanceScore)
	}
	if resp.TotalCount != 6 {
		t.Errorf("total %d, want the union of both lists: 6", resp.TotalCount)
	}
}

func TestFusedPagesAreSlicesOfTheFusedListUnderTheRankWindow(t *testing.T) {
	a := newFakeSource("s1", 40, reversed(40), nil)
	a.ranking["articles/ft_title"] = []int{5, 1, 7, 30, 2, 9, 11, 3, 0, 38, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 31, 32}
	b := newFakeSource("s2", 25, nil, reversed(25)).onlyIndex("ft_title_body")
	f := &fakeSources{sources: []*fakeSource{a, b}}
	const window = 20
	s := newService(f, func(o *Options) { o.RankWindow = window })
	// s1's table has two indexes: its lists are cut at the window, always;
	// s2's one list at offset+limit (cutting it changes nothing above).
	lists := fusedLists([]*fakeSource{a}, window)
	lists = append(lists, fusedLists([]*fakeSource{b}, 1000)...)
	full := Fuse(lists)
	seen := map[string]bool{}
	for page := range window / 6 {
		f.reset()
		resp := search(t, s, Request{Query: "pools", Limit: 6, Offset: page * 6})
		if diff := cmp.Diff(ids(Page(full, page*6, 6)), resultIDs(resp.Results)); diff != "" {
			t.Errorf("page %d (-fused +got):\n%s", page+1, diff)
		}
		for _, id := range resultIDs(resp.Results) {
			if seen[id] {
				t.Errorf("%s on two pages", id)
			}
			seen[id] = true
		}
		phase1, _ := f.calls()
		for _, e := range phase1 {
			for _, p := range e.Plans {
				want := window
				if e.SourceID == "s2" {
					want = (page + 1) * 6
				}
				if p.Limit != want {
					t.Errorf("page %d: %s/%s ranks %d rows, want %d", page+1, e.SourceID, p.Index, p.Limit, want)
				}
			}
		}
	}
	if len(seen) != window/6*6 {
		t.Errorf("%d distinct results over the pages", len(seen))
	}
}

func TestTotalsOfATableSearchedBySeveralIndexes(t *testing.T) {
	// 50 rows: the title index matches rows 0..19, the body index rows 10..39.
	seq := func(from, to int) []int {
		var out []int
		for i := from; i <= to; i++ {
			out = append(out, i)
		}
		return out
	}
	const scanRows, large = 1000, 1001
	tests := []struct {
		name      string
		rows      int // the table's estimated rows
		window    int
		third     []int // a third index, when set
		failCount bool
		// wantCounted: phase 1 counts the lists; wantEarly: the count of
		// the rows both indexes match, started beside phase 1; wantOp: the
		// phase-2 count.
		wantCounted bool
		wantEarly   bool
		wantOp      string
		wantTotal   int
		estimated   bool
	}{
		{name: "complete lists: the union of their ids", window: 100, wantTotal: 40},
		{name: "complete lists of a large table: the union of their ids, the intersection counted for nothing", rows: large, window: 100, wantCounted: true, wantEarly: true, wantTotal: 40},
		{name: "cut lists of a small table: one scan counts the rows matching either", window: 10, wantOp: CountAny, wantTotal: 40},
		{name: "cut lists of a large table: |A| + |B| - |A ∩ B|", rows: large, window: 10, wantCounted: true, wantEarly: true, wantTotal: 20 + 30 - 10},
		{name: "three cut lists of a large table: the rows matching any", rows: large, window: 10, third: seq(35, 49), wantCounted: true, wantOp: CountAny, wantTotal: 50},
		{name: "a failed intersection: the largest list, estimated", rows: large, window: 10, failCount: true, wantCounted: true, wantEarly: true, wantTotal: 30, estimated: true},
		{name: "a failed scan: the rows seen, estimated", window: 10, failCount: true, wantOp: CountAny, wantTotal: 20, estimated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newFakeSource("s1", 50, seq(0, 19), seq(10, 39))
			tb := &src.desc.Tables[0]
			tb.EstimatedRows = tt.rows
			if tt.third != nil {
				tb.Indexes = append(tb.Indexes, Index{Name: "ft_body", Columns: []string{"body"}})
				src.ranking["articles/ft_body"] = tt.third
			}
			src.failCounts = tt.failCount
			f := &fakeSources{sources: []*fakeSource{src}}
			resp := search(t, newService(f, func(o *Options) { o.RankWindow, o.CountScanRows = tt.window, scanRows }), Request{Query: "pools", Limit: 5})
			if resp.TotalCount != tt.wantTotal || resp.TotalEstimated != tt.estimated {
				t.Errorf("total %d (estimated %v), want %d (%v)", resp.TotalCount, resp.TotalEstimated, tt.wantTotal, tt.estimated)
			}
			phase1, phase2 := f.calls()
			for _, p := range phase1[0].Plans {
				if p.Count != tt.wantCounted {
					t.Errorf("phase-1 plan %s counted: %v, want %v", p.Index, p.Count, tt.wantCounted)
				}
			}
			var ops []string
			for _, e := range phase2 {
				for _, c := range e.Counts {
					ops = append(ops, c.Op)
				}
			}
			var want []string
			if tt.wantOp != "" {
				want = []string{tt.wantOp}
			}
			if diff := cmp.Diff(want, ops); diff != "" {
				t.Errorf("phase-2 counts (-want +got):\n%s", diff)
			}
			if early := f.earlyCalls(); (len(early) == 1) != tt.wantEarly || len(early) > 1 {
				t.Errorf("%d calls of counts beside phase 1, want one: %v", len(early), tt.wantEarly)
			}
		})
	}
}

func TestTheIntersectionIsCountedWhileTheListsAreRanked(t *testing.T) {
	// Cut lists of a large table. The rankings answer only once the count
	// of the rows both indexes match has started: were it asked after
	// them, they would wait out the source timeout.
	src := newFakeSource("s1", 50, seqPerm(20), seqPerm(40)[10:])
	src.desc.Tables[0].EstimatedRows = 1001
	src.plansWait = make(chan struct{})
	var once sync.Once
	src.onCounts = func() { once.Do(func() { close(src.plansWait) }) }
	f := &fakeSources{sources: []*fakeSource{src}}
	s := newService(f, func(o *Options) { o.RankWindow, o.CountScanRows, o.SourceTimeout = 10, 1000, 5*time.Second })
	resp := search(t, s, Request{Query: "pools", Limit: 5})
	if st := resp.Sources[0]; st.Status != StatusOK || st.ErrorCode != "" {
		t.Fatalf("source %+v, want ok", st)
	}
	if resp.TotalCount != 20+30-10 || resp.TotalEstimated {
		t.Errorf("total %d (estimated %v), want the counted 40", resp.TotalCount, resp.TotalEstimated)
	}
}

// While few searches run, a search trades work for latency (the count
// beside the rankings, the page read in the ranking's call); past
// EagerSearches, the count waits for the rankings and runs only when
// needed, and the page is read in phase 2.
func TestWhileManySearchesRunASearchCountsAfterTheRankingsOnlyWhenNeededAndReadsThePageAfter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		running int64 // searches already running
		early   int   // Options.EagerSearches
		// wantEarly: counted beside the rankings; else in phase 2.
		wantEarly bool
	}{
		{"one search: beside the rankings", 0, 4, true},
		{"the fourth search at once: beside the rankings", 3, 4, true},
		{"the fifth search at once: after them", 4, 4, false},
		{"early counts off: after them", 0, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, window := range []int{10, 100} {
				// A large table searched by two indexes; with a window of
				// 10 its lists are cut (the intersection is needed), with
				// 100 complete (it is not).
				src := newFakeSource("s1", 50, seqPerm(20), seqPerm(40)[10:])
				src.desc.Tables[0].EstimatedRows = 1001
				f := &fakeSources{sources: []*fakeSource{src}}
				s := newService(f, func(o *Options) { o.RankWindow, o.CountScanRows, o.EagerSearches = window, 1000, tc.early })
				s.executing.Add(tc.running)
				req, err := normalize(Request{Query: "pools", Limit: 5})
				if err != nil {
					t.Fatal(err)
				}
				sources, _ := f.Describe(context.Background(), nil)
				prep, err := prepare(sources, req, req.Mode)
				if err != nil {
					t.Fatal(err)
				}
				ex, err := s.execute(context.Background(), prep, req, false, false, nil)
				if err != nil {
					t.Fatal(err)
				}
				phase2Counts := 0
				for _, r := range ex.phase2 {
					phase2Counts += len(r.req.Counts)
				}
				wantPhase2 := 0
				if !tc.wantEarly && window == 10 {
					wantPhase2 = 1
				}
				if asked := ex.phase1[0].req.Page != nil; asked != tc.wantEarly {
					t.Errorf("window %d: page asked of the ranking's call: %v, want %v", window, asked, tc.wantEarly)
				}
				if (len(ex.early) == 1) != tc.wantEarly || phase2Counts != wantPhase2 {
					t.Errorf("window %d: %d count calls beside phase 1, %d counts in phase 2; want early %v, %d in phase 2", window, len(ex.early), phase2Counts, tc.wantEarly, wantPhase2)
				}
				resp := &Response{}
				ex.outcome.totals(resp)
				if want := 40; resp.TotalCount != want || resp.TotalEstimated {
					t.Errorf("window %d: total %d (estimated %v), want %d", window, resp.TotalCount, resp.TotalEstimated, want)
				}
				if s.executing.Load() != tc.running {
					t.Errorf("%d searches counted running after this one, want %d", s.executing.Load(), tc.running)
				}
			}
		})
	}
}

func TestThePageIsCategorizedWhileItsCountsRun(t *testing.T) {
	// Cut lists of a large table: the intersection is counted beside
	// phase 1, and phase 2 reads the page's rows. The count answers only
	// once Categorize was called.
	src := newFakeSource("s1", 50, seqPerm(20), seqPerm(40)[10:])
	src.desc.Tables[0].EstimatedRows = 1001
	src.countsWait = make(chan struct{})
	var once sync.Once
	enh := &fakeEnhancer{onCategorize: func() { once.Do(func() { close(src.countsWait) }) }}
	f := &fakeSources{sources: []*fakeSource{src}}
	s := newService(f, withEnhancer(enh), func(o *Options) { o.RankWindow, o.CountScanRows = 10, 1000 })
	resp := search(t, s, Request{Query: "pools", Limit: 5})
	if resp.TotalCount != 20+30-10 || resp.TotalEstimated {
		t.Errorf("total %d (estimated %v), want the counted 40", resp.TotalCount, resp.TotalEstimated)
	}
	if st := resp.Sources[0]; st.Status != StatusOK || st.ErrorCode != "" {
		t.Errorf("source %+v, want ok", st)
	}
	if len(resp.Results) != 5 || len(resp.Categories) == 0 {
		t.Fatalf("%d results, categories %v", len(resp.Results), resp.Categories)
	}
	for _, r := range resp.Results {
		if len(r.Categories) == 0 || r.Data == nil {
			t.Errorf("result %s: categories %v, data %v", r.ID, r.Categories, r.Data)
		}
	}
	_, phase2 := f.calls()
	var fetchCalls, countCalls int
	for _, e := range phase2 {
		if len(e.Fetches) > 0 && len(e.Counts) > 0 {
			t.Errorf("a phase-2 call both fetches and counts: %+v", e)
		}
		fetchCalls += min(len(e.Fetches), 1)
		countCalls += min(len(e.Counts), 1)
	}
	// The page's rows were read with the ranking: phase 2 has no call.
	if fetchCalls != 0 || countCalls != 0 || len(f.earlyCalls()) != 1 {
		t.Errorf("phase 2: %d fetch and %d count calls, want none; %d count calls beside phase 1, want 1", fetchCalls, countCalls, len(f.earlyCalls()))
	}
}

func TestAOneSourceFusedPageIsReadWithItsRankingAndEqualsThePageReadAfter(t *testing.T) {
	for _, offset := range []int{0, 5, 21} {
		newSrc := func() *fakeSource {
			src := newFakeSource("s1", 50, seqPerm(20), seqPerm(40)[10:])
			src.desc.Tables[0].EstimatedRows = 1001
			return src
		}
		with, after := newSrc(), newSrc()
		after.noPage = true // a dbrouter that reads no page: phase 2 reads it
		fw, fa := &fakeSources{sources: []*fakeSource{with}}, &fakeSources{sources: []*fakeSource{after}}
		opts := func(o *Options) { o.RankWindow, o.CountScanRows = 30, 1000 }
		got := search(t, newService(fw, opts), Request{Query: "pools", Limit: 7, Offset: offset})
		want := search(t, newService(fa, opts), Request{Query: "pools", Limit: 7, Offset: offset})
		if len(want.Results) == 0 {
			t.Fatalf("offset %d: no results", offset)
		}
		if diff := cmp.Diff(want.Results, got.Results, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("offset %d: results (-read after +read with the ranking):\n%s", offset, diff)
		}
		if got.TotalCount != want.TotalCount {
			t.Errorf("offset %d: total %d, want %d", offset, got.TotalCount, want.TotalCount)
		}
		phase1, phase2 := fw.calls()
		if len(phase1) != 1 || phase1[0].Page == nil || phase1[0].Page.Offset != offset || phase1[0].Page.Limit != 7 {
			t.Errorf("offset %d: the ranking's call asked no page of 7 at %d: %+v", offset, offset, phase1[0].Page)
		}
		for _, e := range phase2 {
			if len(e.Fetches) > 0 {
				t.Errorf("offset %d: rows read after the ranking: %+v", offset, e.Fetches)
			}
		}
	}
}

func TestRowsOfThePageTheRankingsCallDidNotReadAreReadAfter(t *testing.T) {
	src := newFakeSource("s1", 50, seqPerm(20), seqPerm(40)[10:])
	src.pageMiss = true
	f := &fakeSources{sources: []*fakeSource{src}}
	resp := search(t, newService(f, func(o *Options) { o.RankWindow = 30 }), Request{Query: "pools", Limit: 7})
	if len(resp.Results) != 7 {
		t.Fatalf("%d results, want 7", len(resp.Results))
	}
	for _, r := range resp.Results {
		if len(r.Data) != 3 {
			t.Errorf("result %s was not read whole: %v", r.ID, r.Data)
		}
	}
	last := resp.Results[6].Data[0].Value
	_, phase2 := f.calls()
	var fetched [][]string
	for _, e := range phase2 {
		for _, fp := range e.Fetches {
			fetched = append(fetched, fp.Keys...)
		}
	}
	if len(fetched) != 1 || fmt.Sprint(fetched[0][0]) != fmt.Sprint(last) {
		t.Errorf("read after the ranking: %v, want only the last row's key %v", fetched, last)
	}
}

func TestAFailedFetchAnswersThePageButDoesNotCacheIt(t *testing.T) {
	src := newFakeSource("s1", 8, nil, reversed(8))
	src.failFetch = true
	cache := newFakeCache()
	s := newService(&fakeSources{sources: []*fakeSource{src}}, func(o *Options) { o.Cache = cache; o.Codec = gobCodec{} })
	resp := search(t, s, Request{Query: "pools", Limit: 3})
	if len(resp.Results) != 3 || resp.Sources[0].Status != StatusOK || resp.Sources[0].ErrorCode == "" {
		t.Fatalf("%d results, source %+v", len(resp.Results), resp.Sources[0])
	}
	if d := resp.Results[0].Data; len(d) != 1 || d[0].Name != "id" {
		t.Errorf("an unread row shows %v, want its key", d)
	}
	s.Wait()
	if cache.sets != 0 {
		t.Error("a page with unread rows was cached")
	}
}

func TestSearchWindowIsBoundedOnlyWhenFusing(t *testing.T) {
	shared := func() *fakeSources { return &fakeSources{sources: []*fakeSource{newFakeSource("s1", 5, nil, nil)}} }
	oneEach := func() *fakeSources {
		return &fakeSources{sources: []*fakeSource{newFakeSource("s1", 5, nil, nil).onlyIndex("ft_title"), newFakeSource("s2", 5, nil, nil).onlyIndex("ft_title")}}
	}
	single := func() *fakeSources {
		return &fakeSources{sources: []*fakeSource{newFakeSource("s1", 5, nil, nil).onlyIndex("ft_title")}}
	}
	tests := []struct {
		name          string
		f             *fakeSources
		offset, limit int
		want          []string
	}{
		{"a table searched by two indexes pages to the rank window", shared(), 30, 20, nil},
		{"a table searched by two indexes past the rank window", shared(), 31, 20, []string{"offset:WINDOW_TOO_LARGE"}},
		{"tables searched by one index each page to the max window", oneEach(), 80, 20, nil},
		{"tables searched by one index each past the max window", oneEach(), 90, 20, []string{"offset:WINDOW_TOO_LARGE"}},
		{"one index in natural mode pages by SQL", single(), 5000, 20, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newService(tt.f, func(o *Options) { o.MaxWindow = 100; o.RankWindow = 50 })
			resp, err := s.Search(context.Background(), alice, Request{Query: "pools", Offset: tt.offset, Limit: tt.limit})
			if diff := cmp.Diff(tt.want, violations(t, err)); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			if err == nil && (len(resp.Results) != 0 || resp.TotalCount == 0) {
				t.Errorf("deep page: %d results, total %d", len(resp.Results), resp.TotalCount)
			}
		})
	}
}

func TestAFailedOrSlowSourceGivesPartialResultsWithItsStatus(t *testing.T) {
	ok := newFakeSource("s1", 5, nil, nil)
	failed := newFakeSource("s2", 5, nil, nil)
	failed.err = &SourceError{Code: "DATABASE_CONNECTION_FAILED", Message: "The database refused the connection."}
	slow := newFakeSource("s3", 5, nil, nil)
	slow.block = true
	skipped := newFakeSource("s4", 5, nil, nil)
	skipped.desc.Tables = []Table{notesTable()}
	undescribed := &fakeSource{desc: Source{ID: "s5", Name: "db s5", ErrorCode: "DATABASE_CONNECTION_FAILED", ErrorMessage: "Access denied."}}
	f := &fakeSources{sources: []*fakeSource{ok, failed, slow, skipped, undescribed}}
	cache := newFakeCache()
	s := newService(f, func(o *Options) { o.SourceTimeout = 50 * time.Millisecond; o.Cache = cache; o.Codec = gobCodec{} })

	resp := search(t, s, Request{Query: "pools"})
	got := make([]SourceStatus, len(resp.Sources))
	for i, st := range resp.Sources {
		st.Elapsed, st.Message = 0, ""
		got[i] = st
	}
	want := []SourceStatus{
		{ID: "s1", Name: "db s1", Status: StatusOK, RowCount: 5},
		{ID: "s2", Name: "db s2", Status: StatusFailed, ErrorCode: "DATABASE_CONNECTION_FAILED"},
		{ID: "s3", Name: "db s3", Status: StatusTimeout, ErrorCode: CodeTimeout},
		{ID: "s4", Name: "db s4", Status: StatusSkipped, ErrorCode: CodeNoFullTextIndex},
		{ID: "s5", Name: "db s5", Status: StatusFailed, ErrorCode: "DATABASE_CONNECTION_FAILED"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if len(resp.Results) != 5 || resp.TotalCount != 5 {
		t.Errorf("%d results, total %d; want the 5 of s1", len(resp.Results), resp.TotalCount)
	}
	s.Wait()
	if cache.sets != 0 {
		t.Error("a partial page was cached")
	}
}

func TestEverySourceFailingIsAnErrorListingThem(t *testing.T) {
	a := newFakeSource("s1", 5, nil, nil)
	a.err = &SourceError{Code: "DATABASE_CONNECTION_FAILED", Message: "refused"}
	b := newFakeSource("s2", 5, nil, nil)
	b.block = true
	s := newService(&fakeSources{sources: []*fakeSource{a, b}}, func(o *Options) { o.SourceTimeout = 20 * time.Millisecond })
	_, err := s.Search(context.Background(), alice, Request{Query: "pools"})
	var all *AllSourcesFailedError
	if !errors.Is(err, ErrAllSourcesFailed) || !errors.As(err, &all) {
		t.Fatalf("err = %v, want ErrAllSourcesFailed", err)
	}
	if len(all.Sources) != 2 || all.Sources[0].Status != StatusFailed || all.Sources[1].Status != StatusTimeout {
		t.Errorf("sources of the error: %+v", all.Sources)
	}
}

func TestNoticesExplainHowTheQueryWasUnderstood(t *testing.T) {
	tests := []struct {
		name        string
		sources     []*fakeSource
		req         Request
		wantNotices []string
		wantTerms   []string
		wantResults bool
		wantMode    string
	}{
		{name: "no databases", req: Request{Query: "pools"}, wantNotices: []string{NoticeNoDatabases}, wantMode: ModeNatural},
		{name: "semantic without the enhance service ranks by full text and says so", sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}, req: Request{Query: "pools", Mode: ModeSemantic},
			wantNotices: []string{NoticeSemanticUnavailable}, wantResults: true, wantMode: ModeSemantic},
		{name: "stopwords and short words are named", sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}, req: Request{Query: "the db pools"},
			wantNotices: []string{NoticeTermsIgnored}, wantTerms: []string{"the", "db"}, wantResults: true, wantMode: ModeNatural},
		{name: "nothing searchable answers empty with a reason", sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}, req: Request{Query: "the a of"},
			wantNotices: []string{NoticeNoSearchableTerms}, wantTerms: []string{"the", "a", "of"}, wantMode: ModeNatural},
		{name: "only exclusions", sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}, req: Request{Query: "-pools", Mode: ModeBoolean},
			wantNotices: []string{NoticeNoSearchableTerms}, wantMode: ModeBoolean},
		{name: "no FULLTEXT index anywhere", sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}, req: Request{Query: "pools", Tables: []string{"notes"}},
			wantNotices: []string{CodeNoFullTextIndex}, wantMode: ModeNatural},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSources{sources: tt.sources}
			resp := search(t, newService(f), tt.req)
			if diff := cmp.Diff(tt.wantNotices, noticeCodes(resp.Notices)); diff != "" {
				t.Errorf("notices (-want +got):\n%s", diff)
			}
			for _, n := range resp.Notices {
				if n.Message == "" {
					t.Errorf("notice %s without a message", n.Code)
				}
			}
			if tt.wantTerms != nil {
				if diff := cmp.Diff(tt.wantTerms, resp.Notices[len(resp.Notices)-1].Terms); diff != "" {
					t.Errorf("terms (-want +got):\n%s", diff)
				}
			}
			if (len(resp.Results) > 0) != tt.wantResults {
				t.Errorf("%d results", len(resp.Results))
			}
			if !tt.wantResults && resp.TotalCount != 0 {
				t.Errorf("total %d", resp.TotalCount)
			}
			if resp.Mode != tt.wantMode {
				t.Errorf("mode %q, want %q", resp.Mode, tt.wantMode)
			}
			if slices.Contains(tt.wantNotices, NoticeNoSearchableTerms) && len(f.execs) > 0 {
				t.Errorf("%d statements ran for a query with nothing searchable", len(f.execs))
			}
		})
	}
}

func TestARepairedQueryIsExplainedInWholeSentences(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}}
	resp := search(t, newService(f), Request{Query: "+(((", Mode: ModeBoolean})
	if diff := cmp.Diff([]string{NoticeQueryRepaired, NoticeNoSearchableTerms}, noticeCodes(resp.Notices)); diff != "" {
		t.Fatalf("notices (-want +got):\n%s", diff)
	}
	want := "An opening parenthesis was not closed; it was closed at the end of the query. " +
		"Empty parentheses were ignored. An operator (+, -, NOT) with no term after it was ignored."
	if got := resp.Notices[0].Message; got != want {
		t.Errorf("message\n got %q\nwant %q", got, want)
	}
}

func TestUnknownTablesAndColumnsAreNamed(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 3, nil, nil), newFakeSource("s2", 3, nil, nil)}}
	s := newService(f)
	_, err := s.Search(context.Background(), alice, Request{Query: "pools", Tables: []string{"articles", "nope"}, Columns: []string{"title", "content", "zzz"}})
	// "content" is a column of notes, which the tables filter excludes.
	if diff := cmp.Diff([]string{"columns:UNKNOWN", "tables:UNKNOWN"}, violations(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The requirement is that the error names them.
	if msg := err.Error(); !strings.Contains(msg, `"nope"`) || !strings.Contains(msg, `"zzz"`) || strings.Contains(msg, `"title"`) {
		t.Errorf("the error does not name exactly the unknown names: %v", err)
	}

	resp := search(t, s, Request{Query: "pools", Columns: []string{"body"}})
	for _, e := range f.execs[len(f.execs)-2:] {
		for _, p := range e.Plans {
			if p.Index != "ft_title_body" {
				t.Errorf("columns=[body] searched index %s", p.Index)
			}
		}
	}
	if len(resp.Results) == 0 {
		t.Error("no results restricted to body")
	}
}

func TestUnknownDatabaseIsNotFound(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}}
	_, err := newService(f).Search(context.Background(), alice, Request{Query: "pools", Databases: []string{"s1", "other-users"}})
	if !errors.Is(err, ErrSourceNotFound) {
		t.Errorf("err = %v, want ErrSourceNotFound", err)
	}
}

func TestCacheServesTheSecondSearchAndVersionsInvalidateIt(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 8, nil, nil)}}
	cache := newFakeCache()
	rec := &fakeRecorder{}
	s := newService(f, func(o *Options) { o.Cache = cache; o.Codec = gobCodec{}; o.Events = rec })

	first := search(t, s, Request{Query: "pools", Limit: 5})
	s.Wait()
	second := search(t, s, Request{Query: "pools", Limit: 5})
	if first.Cached || !second.Cached {
		t.Errorf("cached: first %v, second %v", first.Cached, second.Cached)
	}
	if f.describes != 1 {
		t.Errorf("dbrouter described sources %d times, want 1 (the hit needs no call)", f.describes)
	}
	if diff := cmp.Diff(resultIDs(first.Results), resultIDs(second.Results)); diff != "" {
		t.Errorf("cached page differs (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(first.Results, second.Results, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("cached results differ (-first +second):\n%s", diff)
	}
	// Another user never reads alice's page.
	bob := identity.Principal{UserID: "u-bob"}
	if resp, err := s.Search(context.Background(), bob, Request{Query: "pools", Limit: 5}); err != nil || resp.Cached {
		t.Errorf("bob's search: cached=%v err=%v", resp != nil && resp.Cached, err)
	}
	s.Wait()
	cache.bump(VersionKey(alice.UserID))
	if third := search(t, s, Request{Query: "pools", Limit: 5}); third.Cached {
		t.Error("a page cached under an older version of the sources was served")
	}
	evs := rec.events()
	if len(evs) != 4 || !evs[1].Cached || evs[0].Cached || evs[1].UserID != alice.UserID || evs[1].APIKeyID != alice.APIKeyID {
		t.Errorf("events: %+v", evs)
	}
	if evs[0].TotalCount != 8 || evs[0].ResultCount != 5 || !slices.Equal(evs[0].Databases, []string{"s1"}) || evs[0].Query != "pools" {
		t.Errorf("event of the first search: %+v", evs[0])
	}
}

func TestASearchRepeatedWhileItsPageIsBeingStoredIsAnsweredFromThatPage(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 8, nil, nil)}}
	cache := newFakeCache()
	cache.gate = make(chan struct{}) // every store hangs until released
	s := newService(f, func(o *Options) { o.Cache = cache; o.Codec = gobCodec{} })

	first := search(t, s, Request{Query: "pools", Limit: 5})
	second := search(t, s, Request{Query: "pools", Limit: 5})
	if first.Cached || !second.Cached {
		t.Fatalf("cached: first %v, second %v", first.Cached, second.Cached)
	}
	if f.describes != 1 {
		t.Errorf("dbrouter described sources %d times, want 1", f.describes)
	}
	if diff := cmp.Diff(first.Results, second.Results, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("the held page differs (-first +second):\n%s", diff)
	}
	// A held page is served under the cache's own rule: not once the
	// sources moved on, nor to another caller.
	bob := identity.Principal{UserID: "u-bob"}
	if resp, err := s.Search(context.Background(), bob, Request{Query: "pools", Limit: 5}); err != nil || resp.Cached {
		t.Errorf("bob's search: cached=%v err=%v", resp != nil && resp.Cached, err)
	}
	cache.bump(VersionKey(alice.UserID))
	if third := search(t, s, Request{Query: "pools", Limit: 5}); third.Cached {
		t.Error("a page held under an older version of the sources was served")
	}
	close(cache.gate)
	s.Wait()
	s.storing.mu.Lock()
	held := len(s.storing.pages)
	s.storing.mu.Unlock()
	if held != 0 {
		t.Errorf("%d pages still held after their stores ended", held)
	}
}

func TestCacheUnavailableSearchesUncached(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}}
	cache := newFakeCache()
	cache.err = errors.New("cache: connection refused")
	s := newService(f, func(o *Options) { o.Cache = cache; o.Codec = gobCodec{} })
	for range 2 {
		resp := search(t, s, Request{Query: "pools"})
		if resp.Cached || len(resp.Results) != 3 {
			t.Errorf("cached %v, %d results", resp.Cached, len(resp.Results))
		}
	}
	s.Wait()
	if cache.sets != 0 {
		t.Errorf("%d writes to a cache that failed its read", cache.sets)
	}
}

func TestSlowCacheIsNotWaitedFor(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}}
	s := newService(f, func(o *Options) { o.Cache = slowCache{}; o.Codec = gobCodec{}; o.CacheTimeout = 20 * time.Millisecond })
	start := time.Now()
	resp := search(t, s, Request{Query: "pools"})
	if len(resp.Results) != 3 {
		t.Errorf("%d results", len(resp.Results))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("search waited %s for a hanging cache", d)
	}
}

// slowCache hangs until the caller gives up.
type slowCache struct{}

func (slowCache) Get(ctx context.Context, _ []string, _ string) ([]byte, []int64, bool, time.Duration, error) {
	<-ctx.Done()
	return nil, nil, false, 0, ctx.Err()
}

func (slowCache) Versions(ctx context.Context, _ []string) ([]int64, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (slowCache) Set(ctx context.Context, _ []int64, _ time.Duration, _ ...CacheEntry) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestASourceWithMoreIndexesThanOneCallTakesIsSearchedInSeveralCalls(t *testing.T) {
	src := newFakeSource("s1", 3, nil, nil)
	t0 := &src.desc.Tables[0]
	t0.Indexes = nil
	for i := range MaxPlansPerCall + 50 {
		name := "ft_" + strconv.Itoa(i)
		t0.Indexes = append(t0.Indexes, Index{Name: name, Columns: []string{"title"}})
		src.ranking["articles/"+name] = seqPerm(3)
	}
	f := &fakeSources{sources: []*fakeSource{src}}
	resp := search(t, newService(f), Request{Query: "pools"})
	if len(resp.Results) != 3 || resp.TotalCount != 3 || resp.Sources[0].Status != StatusOK {
		t.Errorf("%d results, total %d, %+v", len(resp.Results), resp.TotalCount, resp.Sources)
	}
	plans := 0
	for _, e := range f.execs {
		if len(e.Plans) > MaxPlansPerCall || len(e.Counts) > MaxPlansPerCall {
			t.Errorf("a call with %d plans and %d counts", len(e.Plans), len(e.Counts))
		}
		plans += len(e.Plans)
	}
	if len(f.execs) != 3 || plans != MaxPlansPerCall+50 {
		t.Errorf("%d calls with %d plans in all", len(f.execs), plans)
	}
}

func TestDescriptionsAreReusedWhileTheSourcesVersionHolds(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}}
	cache := newFakeCache()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newService(f, func(o *Options) { o.Cache = cache; o.Codec = gobCodec{}; o.Now = func() time.Time { return now } })
	search(t, s, Request{Query: "pools"})
	search(t, s, Request{Query: "connection"})
	if f.describes != 1 {
		t.Errorf("%d descriptions for two searches under one version, want 1", f.describes)
	}
	search(t, s, Request{Query: "pools", Databases: []string{"s1"}})
	if f.describes != 2 {
		t.Errorf("another list of databases reused a description (%d)", f.describes)
	}
	cache.bump(VersionKey(alice.UserID))
	search(t, s, Request{Query: "warm"})
	if f.describes != 3 {
		t.Errorf("a description was reused after the sources' version moved (%d)", f.describes)
	}
	now = now.Add(DescribeMemoTTL)
	search(t, s, Request{Query: "keep"})
	if f.describes != 4 {
		t.Errorf("a description was reused past its TTL (%d)", f.describes)
	}
	s.Wait()

	// Without a cache (no version to trust) every search describes.
	f2 := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}}
	s2 := newService(f2)
	search(t, s2, Request{Query: "pools"})
	search(t, s2, Request{Query: "connection"})
	if f2.describes != 2 {
		t.Errorf("%d descriptions without a cache, want 2", f2.describes)
	}
}

func TestANoCacheSearchStartsWithTheLastDescriptionAndSearchesAgainOnceTheSourcesMoved(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}}
	cache := newFakeCache()
	s := newService(f, func(o *Options) {
		o.Cache = cache
		o.Codec = gobCodec{}
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	})
	search(t, s, Request{Query: "pools"})
	if resp := search(t, s, Request{Query: "pools", NoCache: true}); len(resp.Results) != 3 || resp.Cached {
		t.Fatalf("no-cache search: %d results, cached %v", len(resp.Results), resp.Cached)
	}
	if f.describes != 1 {
		t.Errorf("%d descriptions, want 1: the no-cache search did not start with the current description", f.describes)
	}
	s.Wait()
	if cache.sets != 2 {
		t.Errorf("%d pages stored, want 2: the early-started page was not stored", cache.sets)
	}

	// A source added (the sources' version moves): the page the early
	// start made with the old description is not answered.
	f.sources = append(f.sources, newFakeSource("s2", 2, nil, nil))
	cache.bump(VersionKey(alice.UserID))
	resp := search(t, s, Request{Query: "pools", NoCache: true})
	if len(resp.Sources) != 2 || len(resp.Results) != 5 {
		t.Errorf("after a source was added: %d sources, %d results; want 2 and 5", len(resp.Sources), len(resp.Results))
	}
	if f.describes != 2 {
		t.Errorf("%d descriptions, want 2", f.describes)
	}
	s.Wait()
	stored := search(t, s, Request{Query: "pools"})
	if !stored.Cached || len(stored.Results) != 5 {
		t.Errorf("the page stored under the new version: cached %v, %d results; want the fresh page", stored.Cached, len(stored.Results))
	}
	for _, result := range []string{"current", "stale"} {
		if got := testutil.ToFloat64(s.o.Metrics.early.WithLabelValues(result)); got != 1 {
			t.Errorf("%s{result=%q} = %v, want 1", MetricEarlyStarts, result, got)
		}
	}

	// While the cache fails, a no-cache search waits for its read (which
	// fails) rather than searching twice.
	cache.err = errors.New("redis down")
	execs := len(f.execs)
	search(t, s, Request{Query: "warm"})
	one := len(f.execs) - execs
	execs = len(f.execs)
	search(t, s, Request{Query: "warm", NoCache: true})
	if got := len(f.execs) - execs; got != one {
		t.Errorf("a no-cache search made %d calls while the cache failed, want %d (one search)", got, one)
	}
	s.Wait()
}

func TestNoCacheSkipsTheLookupButStoresThePage(t *testing.T) {
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 3, nil, nil)}}
	cache := newFakeCache()
	s := newService(f, func(o *Options) { o.Cache = cache; o.Codec = gobCodec{} })
	search(t, s, Request{Query: "pools"})
	s.Wait()
	if resp := search(t, s, Request{Query: "pools", NoCache: true}); resp.Cached {
		t.Error("a no-cache search was served from the cache")
	}
	s.Wait()
	if resp := search(t, s, Request{Query: "pools"}); !resp.Cached {
		t.Error("the next search missed the cache")
	}
	if cache.sets != 2 {
		t.Errorf("%d pages stored, want 2", cache.sets)
	}
}

func TestIdenticalSearchesThatMissTheCacheTogetherShareOneRun(t *testing.T) {
	execsOfOne := func() int {
		f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 8, nil, reversed(8))}}
		s := newService(f, func(o *Options) { o.Cache = newFakeCache(); o.Codec = gobCodec{} })
		search(t, s, Request{Query: "pools", Limit: 3})
		s.Wait()
		return len(f.execs)
	}()

	src := newFakeSource("s1", 8, nil, reversed(8))
	src.gate = make(chan struct{})
	f := &fakeSources{sources: []*fakeSource{src}}
	cache := newFakeCache()
	rec := &fakeRecorder{}
	s := newService(f, func(o *Options) {
		o.Cache, o.Codec, o.Events, o.Metrics = cache, gobCodec{}, rec, NewMetrics(prometheus.NewRegistry())
	})
	const callers = 5
	var wg sync.WaitGroup
	resps := make([]*Response, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			resps[i], errs[i] = s.Search(context.Background(), alice, Request{Query: "pools", Limit: 3})
		})
	}
	// Every caller has looked the page up and is waiting on the one run.
	deadline := time.Now().Add(5 * time.Second)
	for cache.getCount() < callers && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(src.gate)
	wg.Wait()
	s.Wait()
	f.mu.Lock()
	execs := len(f.execs)
	f.mu.Unlock()
	if execs != execsOfOne {
		t.Errorf("%d identical searches made %d source calls; one search makes %d", callers, execs, execsOfOne)
	}
	ids := map[string]bool{}
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if diff := cmp.Diff(resultIDs(resps[0].Results), resultIDs(resps[i].Results)); diff != "" || resps[i].Cached {
			t.Errorf("caller %d (cached %v): (-first +this)\n%s", i, resps[i].Cached, diff)
		}
		ids[resps[i].SearchID] = true
	}
	if len(ids) != callers {
		t.Errorf("%d search ids for %d searches; each search is its own event", len(ids), callers)
	}
	if cache.sets != 1 {
		t.Errorf("the shared page was stored %d times; want once", cache.sets)
	}
	if got := testutil.ToFloat64(s.o.Metrics.shared); got != callers-1 {
		t.Errorf("coalesced = %v; want the callers that did not run it", got)
	}

	// A no-cache search asks for a run of its own.
	before := len(f.execs)
	search(t, s, Request{Query: "pools", Limit: 3, NoCache: true})
	if len(f.execs) == before {
		t.Error("a no-cache search made no source call")
	}
}

func TestSearchIDsAreTimeOrderedUUIDs(t *testing.T) {
	prev := ""
	for range 100 {
		id := NewSearchID()
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 {
			t.Fatalf("%q: version %v, err %v; want a version 7 UUID", id, u.Version(), err)
		}
		if id <= prev {
			t.Fatalf("%s after %s: ids must grow, so that events append to their table's key", id, prev)
		}
		prev = id
	}
}

func TestARenderedPageAndItsEdgeCopyAreStoredInOneCacheCall(t *testing.T) {
	for _, tc := range []struct {
		name      string
		req       Request
		wantEdge  bool
		wantCalls int
	}{
		{"rendered with an edge key", Request{Query: "pools", Limit: 3, Render: true, EdgeKey: "search-edge:k1"}, true, 1},
		{"rendered without an edge key", Request{Query: "pools", Limit: 3, Render: true}, false, 1},
		{"with analytics (never an edge page)", Request{Query: "pools", Limit: 3, Render: true, EdgeKey: "search-edge:k1", IncludeAnalytics: true}, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 8, nil, reversed(8))}}
			cache := newFakeCache()
			s := newService(f, func(o *Options) { o.Cache, o.Codec = cache, gobCodec{} })
			resp := search(t, s, tc.req)
			s.Wait()
			cache.mu.Lock()
			defer cache.mu.Unlock()
			want := 1
			if tc.wantEdge {
				want = 2
			}
			if cache.calls != tc.wantCalls || cache.sets != want {
				t.Fatalf("%d values stored in %d calls; want %d in %d", cache.sets, cache.calls, want, tc.wantCalls)
			}
			var edge []byte
			for k, v := range cache.values {
				if strings.HasPrefix(k, "search-edge:k1|") {
					edge = v
				}
			}
			if !tc.wantEdge {
				if edge != nil {
					t.Fatal("an edge page was stored")
				}
				return
			}
			var got struct {
				Rendered []byte
				Summary  EventSummary
			}
			if err := gob.NewDecoder(bytes.NewReader(edge)).Decode(&got); err != nil {
				t.Fatalf("edge page: %v", err)
			}
			if string(got.Rendered) != string(resp.Rendered) || got.Summary.Query != "pools" || got.Summary.ResultCount != len(resp.Results) {
				t.Errorf("edge page %s %+v; want the page's rendering %s and its summary", got.Rendered, got.Summary, resp.Rendered)
			}
		})
	}
}

func TestAnExpansionSearchNotAnsweredInTimeIsRunInNaturalModeAndSaysSo(t *testing.T) {
	sources := func(slow bool) *fakeSources {
		s1 := newFakeSource("s1", 8, nil, reversed(8))
		s1.blockExpansion = slow
		return &fakeSources{sources: []*fakeSource{s1, newFakeSource("s2", 6, nil, nil)}}
	}
	natural := search(t, newService(sources(false)), Request{Query: "pools", Limit: 5, Mode: ModeNatural})

	f := sources(true)
	metrics := NewMetrics(prometheus.NewRegistry())
	s := newService(f, func(o *Options) { o.ExpansionModeTimeout, o.Metrics = 50*time.Millisecond, metrics })
	start := time.Now()
	resp := search(t, s, Request{Query: "pools", Limit: 5, Mode: ModeExpansion})
	if took := time.Since(start); took >= time.Second {
		t.Errorf("the search took %s: it waited for the source timeout, not the expansion timeout", took)
	}
	if diff := cmp.Diff([]string{NoticeExpansionSkipped}, noticeCodes(resp.Notices)); diff != "" {
		t.Fatalf("notices (-want +got):\n%s", diff)
	}
	if msg := resp.Notices[0].Message; !strings.Contains(msg, "50ms") || !strings.Contains(msg, "s1") || strings.Contains(msg, "s2") {
		t.Errorf("notice %q: it must name the late database and the timeout, only", msg)
	}
	if diff := cmp.Diff(resultIDs(natural.Results), resultIDs(resp.Results)); diff != "" {
		t.Errorf("results are not the natural-mode page (-natural +got):\n%s", diff)
	}
	if resp.TotalCount != natural.TotalCount || resp.Mode != ModeExpansion {
		t.Errorf("total %d mode %q; want %d and the mode asked", resp.TotalCount, resp.Mode, natural.TotalCount)
	}
	for _, st := range resp.Sources {
		if st.Status != StatusOK {
			t.Errorf("source %s: %s", st.ID, st.Status)
		}
	}
	if got := testutil.ToFloat64(metrics.fallback); got != 1 {
		t.Errorf("fallbacks counted: %v, want 1", got)
	}

	// In time, the expansion's own page.
	fast := newService(sources(false), func(o *Options) { o.ExpansionModeTimeout = 500 * time.Millisecond })
	resp = search(t, fast, Request{Query: "pools", Limit: 5, Mode: ModeExpansion})
	if len(resp.Notices) != 0 {
		t.Errorf("notices %v for an expansion search answered in time", noticeCodes(resp.Notices))
	}
}

func TestQueryExpansionIsNotTriedAgainSoonWhereItRanOutOfTime(t *testing.T) {
	expansionCalls := func(f *fakeSources) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		n := 0
		for _, ex := range f.execs {
			if slices.ContainsFunc(ex.Plans, func(p Plan) bool { return p.Mode == ModeExpansion }) {
				n++
			}
		}
		return n
	}
	for _, mode := range []string{ModeExpansion, ModeSemantic} {
		t.Run(mode, func(t *testing.T) {
			src := newFakeSource("s1", 6, nil, nil)
			src.blockExpansion = true
			f := &fakeSources{sources: []*fakeSource{src}}
			now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			s := newService(f, withEnhancer(&fakeEnhancer{}), func(o *Options) {
				o.ExpansionModeTimeout, o.Enhance.ExpansionTimeout, o.Now = 30*time.Millisecond, 30*time.Millisecond, clock
			})
			first := search(t, s, Request{Query: "pools", Mode: mode})
			tried := expansionCalls(f)
			if tried == 0 || !slices.ContainsFunc(first.Notices, func(n Notice) bool {
				return n.Code == NoticeExpansionSkipped && strings.Contains(n.Message, "did not answer")
			}) {
				t.Fatalf("first search: %d expansion calls, notices %+v", tried, first.Notices)
			}

			second := search(t, s, Request{Query: "pooling", Mode: mode})
			if n := expansionCalls(f); n != tried {
				t.Errorf("expansion was tried again at once: %d calls, then %d", tried, n)
			}
			if !slices.ContainsFunc(second.Notices, func(n Notice) bool {
				return n.Code == NoticeExpansionSkipped && strings.Contains(n.Message, "not tried") && strings.Contains(n.Message, "s1")
			}) {
				t.Errorf("second search's notices %+v do not say expansion was not tried", second.Notices)
			}
			if len(second.Results) == 0 {
				t.Error("the second search found nothing")
			}

			mu.Lock()
			now = now.Add(DefaultExpansionRetry)
			mu.Unlock()
			search(t, s, Request{Query: "pool", Mode: mode})
			if n := expansionCalls(f); n == tried {
				t.Errorf("expansion was not tried again %s later", DefaultExpansionRetry)
			}
		})
	}
}
