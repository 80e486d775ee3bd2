package search

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func key(src, table string, pk int64) RowKey {
	return RowKey{ID: resultID(src, table, []string{fmt.Sprint(pk)}), PK: []PKValue{{Int: pk, IsInt: true}}}
}

func list(src, table string, pks ...int64) RankedList {
	l := RankedList{SourceID: src, Table: table}
	for _, pk := range pks {
		l.Rows = append(l.Rows, key(src, table, pk))
	}
	return l
}

func ids(fs []Fused) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

func TestFuseInterleavesListsByRankWithDeterministicTies(t *testing.T) {
	tests := []struct {
		name  string
		lists []RankedList
		want  []string
	}{
		{
			name:  "one list keeps its order",
			lists: []RankedList{list("s1", "t", 5, 3, 9)},
			want:  []string{"s1:t:5", "s1:t:3", "s1:t:9"},
		},
		{
			name:  "equal ranks order by source id, then table",
			lists: []RankedList{list("s2", "a", 1, 2), list("s1", "b", 7, 8), list("s1", "a", 4)},
			want:  []string{"s1:a:4", "s1:b:7", "s2:a:1", "s1:b:8", "s2:a:2"},
		},
		{
			name:  "equal ranks in one table order by primary key numerically",
			lists: []RankedList{list("s1", "t", 10, 30), list("s1", "t", 9, 20)},
			want:  []string{"s1:t:9", "s1:t:10", "s1:t:20", "s1:t:30"},
		},
		{
			name:  "a longer list never pushes a better rank down",
			lists: []RankedList{list("s1", "t", 1, 2, 3, 4), list("s2", "t", 100)},
			want:  []string{"s1:t:1", "s2:t:100", "s1:t:2", "s1:t:3", "s1:t:4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ids(Fuse(tt.lists))); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFuseSumsTheRanksOfARowFoundByTwoIndexes(t *testing.T) {
	// Row 2 is third by the title index and first by the body index: its
	// two mentions outweigh row 1's single first place.
	got := Fuse([]RankedList{list("s1", "t", 1, 3, 2), list("s1", "t", 2, 4)})
	if diff := cmp.Diff([]string{"s1:t:2", "s1:t:1", "s1:t:3", "s1:t:4"}, ids(got)); diff != "" {
		t.Fatalf("order (-want +got):\n%s", diff)
	}
	merged := got[0]
	if diff := cmp.Diff([]Hit{{List: 1, Pos: 0}, {List: 0, Pos: 2}}, merged.Hits); diff != "" {
		t.Errorf("hits of the merged row, best first (-want +got):\n%s", diff)
	}
	if want := 1.0/float64(RRFK+3) + 1.0/float64(RRFK+1); merged.Score != want {
		t.Errorf("score = %v, want 1/(k+3) + 1/(k+1) = %v", merged.Score, want)
	}
	if merged.Relevance != 1 || got[1].Relevance != (1.0/float64(RRFK+1))/merged.Score {
		t.Errorf("relevance %v, %v: want 1 and score/best score", merged.Relevance, got[1].Relevance)
	}
}

func TestFuseRanksARowFoundByBothIndexesAboveRowsFoundByOne(t *testing.T) {
	// "web server": each index puts another package first, and both put
	// task-web-server second; another table's list also has a first row.
	tests := []struct {
		name  string
		lists []RankedList
		want  []string
	}{
		{
			name:  "second in both lists beats first in one",
			lists: []RankedList{list("s1", "pkg", 10, 7, 11), list("s1", "pkg", 20, 7, 21), list("s2", "log", 5, 6)},
			want:  []string{"s1:pkg:7", "s1:pkg:10", "s1:pkg:20", "s2:log:5", "s2:log:6", "s1:pkg:11", "s1:pkg:21"},
		},
		{
			name:  "at the same rank, two lists beat one",
			lists: []RankedList{list("s1", "pkg", 1, 2), list("s1", "pkg", 3, 2), list("s0", "a", 9, 8)},
			want:  []string{"s1:pkg:2", "s0:a:9", "s1:pkg:1", "s1:pkg:3", "s0:a:8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ids(Fuse(tt.lists))); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFuseNormalisesRelevanceToTheBestRow(t *testing.T) {
	got := Fuse([]RankedList{list("s1", "t", 1, 2, 3), list("s2", "u", 4)})
	best := 1 / float64(RRFK+1)
	want := []float64{1, 1, (1 / float64(RRFK+2)) / best, (1 / float64(RRFK+3)) / best}
	for i, f := range got {
		if f.Relevance != want[i] {
			t.Errorf("relevance of %s = %v, want %v", f.ID, f.Relevance, want[i])
		}
		if f.Relevance <= 0 || f.Relevance > 1 {
			t.Errorf("relevance of %s = %v, outside (0, 1]", f.ID, f.Relevance)
		}
	}
	if got := Fuse(nil); len(got) != 0 {
		t.Errorf("Fuse(nil) = %v", got)
	}
}

// window returns the lists as the search asks dbrouter for them: lists of
// a table searched by several indexes (shared[i]) cut after depth rows,
// the others after n rows.
func window(lists []RankedList, shared []bool, depth, n int) []RankedList {
	out := make([]RankedList, len(lists))
	for i, l := range lists {
		out[i] = l
		cut := n
		if shared[i] {
			cut = depth
		}
		if len(l.Rows) > cut {
			out[i].Rows = l.Rows[:cut]
		}
	}
	return out
}

func TestPagesUnderTheRankWindowAreDisjointSlicesOfTheFusedList(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const depth = 30
	for trial := range 200 {
		// Source s1 has a table with two indexes whose lists share rows
		// (cut at the fixed depth), and a table with one; s2 one table
		// with one index (cut at offset+limit).
		var lists []RankedList
		shared := []bool{true, true, false, false}
		for _, lt := range []struct {
			src, table string
			n          int
		}{{"s1", "t", 40}, {"s1", "t", 35}, {"s1", "u", 25}, {"s2", "t", 50}} {
			perm := rng.Perm(60)[:lt.n]
			pks := make([]int64, len(perm))
			for i, p := range perm {
				pks[i] = int64(p)
			}
			lists = append(lists, list(lt.src, lt.table, pks...))
		}
		// The fused list under the window: shared lists cut at depth, the
		// others whole.
		full := Fuse(window(lists, shared, depth, 1000))
		limit := 1 + rng.IntN(10)
		seen := map[string]bool{}
		for page := range depth / limit {
			offset := page * limit
			got := ids(Page(Fuse(window(lists, shared, depth, offset+limit)), offset, limit))
			want := ids(Page(full, offset, limit))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("trial %d, page %d of %d: (-full list +window)\n%s", trial, page+1, limit, diff)
			}
			for _, id := range got {
				if seen[id] {
					t.Fatalf("trial %d: %s on two pages", trial, id)
				}
				seen[id] = true
			}
		}
	}
}

func TestPageSlicesWithinBounds(t *testing.T) {
	all := []int{0, 1, 2, 3, 4}
	tests := []struct {
		offset, limit int
		want          []int
	}{
		{0, 2, []int{0, 1}},
		{4, 2, []int{4}},
		{5, 2, nil},
		{9, 2, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Page(all, tt.offset, tt.limit)); diff != "" {
			t.Errorf("Page(%d, %d) (-want +got):\n%s", tt.offset, tt.limit, diff)
		}
	}
}
