package fulltext

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/altus4/altus/pkg/rrf"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
)

// fusedRow is one row of the plans' fused ranking.
type fusedRow struct {
	table string
	key   []string // the primary key values, as the plans return them
	pk    []rrf.Value
	score float64
}

// fuse ranks the rows of the plans that answered by reciprocal rank
// fusion: a row scores the sum of 1/(k + rank) over the lists it is in,
// summed in plan order; ties by table, then primary key. It is the order
// the search service computes from the same lists, so the page it asks
// for is the page it reads here.
func fuse(sc schema.Schema, req Request, plans []Result, k int) []fusedRow {
	var out []fusedRow
	byID := map[string]int{}
	for i, res := range plans {
		if res.Err != nil {
			continue
		}
		t, ok := sc.Table(req.Plans[i].Table)
		if !ok {
			continue
		}
		n := len(t.PrimaryKey)
		kinds := pkKinds(t)
		for pos, row := range res.Rows {
			if len(row.Values) < n {
				continue
			}
			key := row.Values[:n]
			id := t.Name + "\x00" + strings.Join(key, "\x00")
			score := rrf.Term(k, pos)
			if at, ok := byID[id]; ok {
				out[at].score += score
				continue
			}
			pk := make([]rrf.Value, n)
			for c, v := range key {
				pk[c] = rrf.KeyValue(v, kinds[c] == keyInteger)
			}
			byID[id] = len(out)
			out = append(out, fusedRow{table: t.Name, key: key, pk: pk, score: score})
		}
	}
	slices.SortFunc(out, func(a, b fusedRow) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.table, b.table); c != 0 {
			return c
		}
		return rrf.Compare(a.pk, b.pk)
	})
	return out
}

// readPage reads the rows of the page asked of the plans' fused ranking,
// one fetch per table, once the plans have answered: the search that asked
// needs no second call to read them.
func (e *Executor) readPage(ctx context.Context, run runner, sc schema.Schema, req Request, resp Response) (Response, error) {
	fused := fuse(sc, req, resp.Plans, req.Page.K)
	if req.Page.Offset >= len(fused) {
		return resp, nil
	}
	page := fused[req.Page.Offset:min(req.Page.Offset+req.Page.Limit, len(fused))]
	var fetches []Fetch
	byTable := map[string]int{}
	for _, r := range page {
		i, ok := byTable[r.table]
		if !ok {
			i = len(fetches)
			byTable[r.table] = i
			fetches = append(fetches, Fetch{Table: r.table})
		}
		fetches[i].Keys = append(fetches[i].Keys, r.key)
	}
	var c validate.Collector
	jobs := make([]job, 0, len(fetches))
	for _, f := range fetches {
		// The keys are those the plans returned: they decode.
		j, ok := e.prepareFetch(&c, sc, "page", f)
		if !ok {
			return Response{}, c.Err()
		}
		jobs = append(jobs, j)
	}
	read, err := run.all(ctx, jobs, 0, 0, resp.Fingerprint)
	if err != nil {
		return Response{}, err
	}
	resp.Page = read.Fetches
	for i := range resp.Page {
		resp.Page[i].Table = fetches[i].Table
	}
	resp.Queued = max(resp.Queued, read.Queued)
	return resp, nil
}
