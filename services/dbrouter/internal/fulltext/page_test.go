package fulltext

import (
	"cmp"
	"slices"
	"strconv"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/services/dbrouter/internal/sqlbuild"
)

// referencePage fuses the lists by hand (1/(k+rank) summed, ties by the
// integer id) and returns the ids at [offset, offset+limit).
func referencePage(lists [][]Row, k, offset, limit int) []string {
	score := map[string]float64{}
	for _, l := range lists {
		for pos, r := range l {
			score[r.Values[0]] += 1 / float64(k+pos+1)
		}
	}
	ids := make([]string, 0, len(score))
	for id := range score {
		ids = append(ids, id)
	}
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	slices.SortFunc(ids, func(a, b string) int {
		if c := cmp.Compare(score[b], score[a]); c != 0 {
			return c
		}
		return cmp.Compare(num(a), num(b))
	})
	if offset >= len(ids) {
		return nil
	}
	return ids[offset:min(offset+limit, len(ids))]
}

func TestAPageOfTheFusedRankingIsReadInTheSameCallAsTheRanking(t *testing.T) {
	e := newEnv(t, Options{})
	pages := 0
	for _, q := range queries {
		for _, pg := range []PagePlan{{Offset: 0, Limit: 10, K: 60}, {Offset: 15, Limit: 10, K: 60}, {Offset: 3, Limit: 5, K: 1}} {
			plans := []Plan{
				{Table: "packages", Index: "ft_name_description", Mode: sqlbuild.ModeNatural, Against: q, Limit: 30, KeysOnly: true},
				{Table: "packages", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: q, Limit: 30, KeysOnly: true},
			}
			resp := e.execute(t, Request{Plans: plans, Page: &pg})
			if resp.Plans[0].Err != nil || resp.Plans[1].Err != nil {
				t.Fatalf("%q: %v, %v", q, resp.Plans[0].Err, resp.Plans[1].Err)
			}
			want := referencePage([][]Row{resp.Plans[0].Rows, resp.Plans[1].Rows}, pg.K, pg.Offset, pg.Limit)
			if len(want) == 0 {
				if len(resp.Page) != 0 {
					t.Errorf("%q %+v: a page past the ranking read %d results", q, pg, len(resp.Page))
				}
				continue
			}
			if len(resp.Page) != 1 || resp.Page[0].Err != nil || resp.Page[0].Table != "packages" {
				t.Fatalf("%q %+v: page %+v, want one table's rows", q, pg, resp.Page)
			}
			pages++
			got := keysOf(resp.Page[0].Rows, 1)
			var gotIDs []string
			for _, k := range got {
				gotIDs = append(gotIDs, k[0])
			}
			if diff := gocmp.Diff(slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(gotIDs))); diff != "" {
				t.Errorf("%q %+v: rows read (-fused page +read):\n%s", q, pg, diff)
			}
			// The rows are those a fetch of the same keys reads.
			keys := make([][]string, len(want))
			for i, id := range want {
				keys[i] = []string{id}
			}
			f := e.execute(t, Request{Fetches: []Fetch{{Table: "packages", Keys: keys}}}).Fetches[0]
			if diff := gocmp.Diff(sortedRows(f.Rows), sortedRows(resp.Page[0].Rows)); diff != "" {
				t.Errorf("%q %+v: page rows (-fetch +page):\n%s", q, pg, diff)
			}
		}
	}
	if pages < len(queries) {
		t.Errorf("%d pages read for %d queries: the corpus no longer exercises this", pages, len(queries))
	}
}
