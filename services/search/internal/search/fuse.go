package search

import (
	"cmp"
	"slices"

	"github.com/altus4/altus/pkg/rrf"
)

// RRFK is the k of reciprocal rank fusion: a row at rank r of a list scores
// 1/(k+r) (rrf.K, which dbrouter fuses with too).
const RRFK = rrf.K

// PKValue is one primary key value: integer columns compare as numbers,
// others as text (rrf.Compare).
type PKValue = rrf.Value

// RowKey identifies a row of a ranked list.
type RowKey struct {
	// ID is the row's stable result id (source, table, primary key).
	ID string
	PK []PKValue
}

// RankedList is the rows one index returned, best first.
type RankedList struct {
	SourceID string
	Table    string
	Rows     []RowKey
}

// Hit is where a fused row appears: list index and 0-based position.
type Hit struct {
	List int
	Pos  int
}

// Fused is one row of the fused ranking.
type Fused struct {
	ID       string
	SourceID string
	Table    string
	PK       []PKValue
	// Score is the fusion score: the sum of 1/(k + rank) over the lists the
	// row appears in (ranks 1-based).
	Score float64
	// Relevance is Score normalised to 0..1 (the best row scores 1).
	Relevance float64
	// Hits lists every list the row appears in, best rank first.
	Hits []Hit
}

// Fuse merges ranked lists with reciprocal rank fusion and returns every
// row, best first.
//
// A row's score is the sum, over the lists it appears in, of 1/(k + r)
// where r is its rank in that list: the same row found by two FULLTEXT
// indexes of one table is one result, and being found by both counts for
// more than being found by one at the same rank. Ties are broken by source
// id, table and primary key, so the order is deterministic; the lists are
// summed in the order given, so equal inputs give equal floats.
//
// Rows of a table searched by one index appear in one list only, so cutting
// such a list after its first N rows does not change the first N fused rows.
// Rows found by several indexes of one table can climb by their sum from
// deep in each list: those lists are cut at a fixed depth (the rank window)
// whatever the page, so that the fused order does not depend on the page.
func Fuse(lists []RankedList) []Fused {
	n := 0
	for _, l := range lists {
		n += len(l.Rows)
	}
	byID := make(map[string]int, n)
	out := make([]Fused, 0, n)
	for li, l := range lists {
		for pos, row := range l.Rows {
			score := rrf.Term(RRFK, pos)
			if i, ok := byID[row.ID]; ok {
				f := &out[i]
				f.Hits = append(f.Hits, Hit{List: li, Pos: pos})
				f.Score += score
				continue
			}
			byID[row.ID] = len(out)
			out = append(out, Fused{ID: row.ID, SourceID: l.SourceID, Table: l.Table, PK: row.PK,
				Score: score, Hits: []Hit{{List: li, Pos: pos}}})
		}
	}
	slices.SortFunc(out, compareFused)
	if len(out) > 0 {
		top := out[0].Score
		for i := range out {
			out[i].Relevance = min(out[i].Score/top, 1)
			if len(out[i].Hits) > 1 {
				slices.SortStableFunc(out[i].Hits, func(a, b Hit) int { return cmp.Compare(a.Pos, b.Pos) })
			}
		}
	}
	return out
}

func compareFused(a, b Fused) int {
	if c := cmp.Compare(b.Score, a.Score); c != 0 {
		return c
	}
	if c := cmp.Compare(a.SourceID, b.SourceID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Table, b.Table); c != 0 {
		return c
	}
	if c := rrf.Compare(a.PK, b.PK); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// Page returns the rows of fused at [offset, offset+limit).
func Page[T any](all []T, offset, limit int) []T {
	if offset >= len(all) {
		return nil
	}
	return all[offset:min(offset+limit, len(all))]
}
