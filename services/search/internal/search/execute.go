package search

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
)

// A search runs in one or two phases, each one ExecuteSearch call per
// source, every source in parallel:
//
//   - One index in natural mode: one statement, paged by SQL (LIMIT/OFFSET,
//     counted), with the text columns of the page's rows.
//   - Otherwise phase 1 ranks: every index returns the primary keys and
//     scores of its first rows (the depth of its table, see tableState),
//     counted; the lists are fused. Phase 2 reads the page: one FetchPlan
//     per table with the page's keys, and the counts that the lists could
//     not answer (a table searched by several indexes whose lists were cut).

// Plan markers of run.planTarget besides target ids.
const (
	// topPlan marks the plan reading the best score of a single-index
	// search paged past its start.
	topPlan = -1
	// explainPlan marks a plan added by Analyze to EXPLAIN a statement.
	explainPlan = -2
)

// run is one ExecuteSearch call on one source.
type run struct {
	src   int
	phase int
	req   ExecRequest
	// planTarget maps each plan to its target (or topPlan, explainPlan).
	planTarget []int
	// planTable maps each plan to its table state (nil for markers).
	planTable []*tableState
	// countTable and fetchTable map each count and fetch to its table.
	countTable []*tableState
	fetchTable []*tableState
	// aux maps each plan marked auxPlan to its target.
	aux     map[int]int
	resp    ExecResponse
	err     error
	elapsed time.Duration
	// alongside is the call on the same source that ran at the same time
	// (the fetches of phase 2 beside its counts), nil for none.
	alongside *run
}

// tableState is what the search learns of one table of one source.
type tableState struct {
	src   int
	table *Table
	// targets are the table's searched indexes.
	targets []int
	// depth is how many rows each of its lists asks for: offset+limit when
	// the table is searched by one index (cutting a list that no other
	// list shares rows with does not change the fused top offset+limit),
	// else the fixed rank window, whatever the page, so that the fused
	// order does not depend on the page.
	depth int
	// keysOnly: the lists hold keys only, and the page's rows are fetched
	// in phase 2. A table without a primary key cannot be fetched by key:
	// its lists return the rows' columns.
	keysOnly bool
	// counted: the lists are counted in phase 1 (a table searched by one
	// index, or too large to be counted by a scan).
	counted bool
	// lists holds, for each list of the table that answered, its count.
	lists []listCount
	// seen holds the id of every row of the table's lists (their union).
	seen map[string]struct{}
	// countOp is the operator of the count the table needs after phase
	// 1, "" for none.
	countOp string
	// early: its count was started with phase 1 (earlyCounts), not asked
	// in phase 2.
	early bool
	// count is the phase-2 count's result (Total -1 when it did not answer).
	count PlanResult
	// total is the table's number of matches; estimated when a lower bound.
	total     int
	estimated bool
}

// listCount is what one list says of its number of matches.
type listCount struct {
	target int
	rows   int
	total  int // -1: not counted
	// estimated: total is a lower bound.
	estimated bool
}

// complete reports whether the list holds every match of its index.
func (l listCount) complete(depth int) bool { return l.rows < depth }

// known returns the list's number of matches, and whether it is exact.
func (l listCount) known(depth int) (int, bool) {
	if l.complete(depth) {
		return l.rows, true
	}
	if l.total < 0 {
		return l.rows, false
	}
	return max(l.total, l.rows), !l.estimated
}

// planOf is the plan of target t.
func planOf(t target, limit, offset int, count bool) Plan {
	return Plan{Table: t.table.Name, Index: t.index.Name, Mode: string(t.comp.Mode), Against: t.comp.Against, Limit: limit, Offset: offset, Count: count}
}

// phase1 writes the first call of each source with targets.
func phase1(p *prepared, req Request, single bool, window, scanRows int) ([]*run, []*tableState) {
	var runs []*run
	var tables []*tableState
	for si, tids := range p.bySource {
		if len(tids) == 0 {
			continue
		}
		r := &run{src: si, phase: 1, req: ExecRequest{SourceID: p.sources[si].ID}}
		runs = append(runs, r)
		var order []*tableState
		byTable := map[string]*tableState{}
		for _, ti := range tids {
			t := p.targets[ti]
			ts, ok := byTable[t.table.Name]
			if !ok {
				ts = &tableState{src: si, table: t.table, seen: map[string]struct{}{}}
				byTable[t.table.Name] = ts
				order = append(order, ts)
			}
			ts.targets = append(ts.targets, ti)
		}
		tables = append(tables, order...)
		if single {
			ts, t := order[0], p.targets[tids[0]]
			ts.depth, ts.counted = req.Offset+req.Limit, true
			r.add(planOf(t, req.Limit, req.Offset, true), tids[0], ts)
			if req.Offset > 0 {
				top := planOf(t, 1, 0, false)
				top.KeysOnly = len(t.table.PrimaryKey) > 0
				r.add(top, topPlan, nil)
			}
			continue
		}
		for _, ts := range order {
			ts.depth, ts.counted = req.Offset+req.Limit, true
			if len(ts.targets) > 1 {
				ts.depth = window
				ts.counted = ts.table.EstimatedRows > scanRows || scanRows <= 0
			}
			ts.keysOnly = len(ts.table.PrimaryKey) > 0
			for _, ti := range ts.targets {
				// A counted list says how many rows match even when cut
				// (in the same statement: cheaper than a count apart).
				pl := planOf(p.targets[ti], ts.depth, 0, ts.counted)
				pl.KeysOnly = ts.keysOnly
				r.add(pl, ti, ts)
			}
		}
	}
	return runs, tables
}

// earlyCounts writes, for each source, a call of its own counting the
// rows that both indexes of a table match (CountAll), for every table
// searched by two indexes and too large to count by a scan. That count is
// needed whenever either ranked list is cut (see phase2Count), which
// phase 1 alone tells; started beside the rankings, it runs while they
// run and while the page is fused and read, instead of after them. When
// both lists turn out complete it was not needed, and cost little: the
// rows it reads are those few matches.
func earlyCounts(p *prepared, tables []*tableState) []*run {
	bySource := map[int]*run{}
	var runs []*run
	for _, ts := range tables {
		if len(ts.targets) != 2 || !ts.counted {
			continue
		}
		r, ok := bySource[ts.src]
		if !ok {
			r = &run{src: ts.src, phase: 1, req: ExecRequest{SourceID: p.sources[ts.src].ID}}
			bySource[ts.src] = r
			runs = append(runs, r)
		}
		cp := CountPlan{Table: ts.table.Name, Op: CountAll}
		for _, ti := range ts.targets {
			cp.Matches = append(cp.Matches, planOf(p.targets[ti], 0, 0, false))
		}
		r.req.Counts = append(r.req.Counts, cp)
		r.countTable = append(r.countTable, ts)
		ts.early = true
	}
	return runs
}

func (r *run) add(pl Plan, target int, ts *tableState) {
	r.req.Plans = append(r.req.Plans, pl)
	r.planTarget = append(r.planTarget, target)
	r.planTable = append(r.planTable, ts)
}

// askPage asks the rankings' call of each source of a fused search to
// read page rows too (ExecRequest.Page): dbrouter fuses that call's lists
// as Fuse does, so the rows it reads are the page's, without a second
// call. With one source it reads the page itself. With several, only for
// the first page, each reads its own first Limit rows: the page's rows of
// a source are among them (a row's fused score depends on its source's
// lists only, and ties within a source are broken as Fuse breaks them),
// at the cost of reading rows the page may not show. Not for Analyze (its
// statements are shown by phase, to be replayed), nor for a source whose
// lists return columns (a table without a primary key) or whose plans take
// several calls.
func askPage(phase1 []*run, req Request, off bool) {
	if off || len(phase1) == 0 || len(phase1) > 1 && req.Offset > 0 {
		return
	}
	for _, r := range phase1 {
		if len(r.req.Plans) == 0 || len(r.req.Plans) > MaxPlansPerCall {
			continue
		}
		keysOnly := true
		for _, pl := range r.req.Plans {
			keysOnly = keysOnly && pl.KeysOnly && !pl.Explain
		}
		if keysOnly {
			r.req.Page = &PagePlan{Offset: req.Offset, Limit: req.Limit}
		}
	}
}

// phase2 writes the second call of each source that has rows on the page
// not read yet (fetched, by table and key) or tables to count: the page's
// rows of each table, by key, and the counts of tables whose lists were
// cut.
func phase2(p *prepared, page []pageRow, tables []*tableState, fetched map[*tableState]map[string]fetchedRow) []*run {
	bySource := map[int]*run{}
	var runs []*run
	runOf := func(si int) *run {
		r, ok := bySource[si]
		if !ok {
			r = &run{src: si, phase: 2, req: ExecRequest{SourceID: p.sources[si].ID}}
			bySource[si] = r
			runs = append(runs, r)
		}
		return r
	}
	fetches := map[*tableState]int{}
	for _, pr := range page {
		ts := pr.table
		if !ts.keysOnly {
			continue
		}
		if _, ok := fetched[ts][keyString(pr.key)]; ok {
			continue
		}
		r := runOf(ts.src)
		fi, ok := fetches[ts]
		if !ok || len(r.req.Fetches[fi].Keys) >= MaxFetchKeys {
			fi = len(r.req.Fetches)
			fetches[ts] = fi
			r.req.Fetches = append(r.req.Fetches, FetchPlan{Table: ts.table.Name})
			r.fetchTable = append(r.fetchTable, ts)
		}
		r.req.Fetches[fi].Keys = append(r.req.Fetches[fi].Keys, pr.key)
	}
	for _, ts := range tables {
		if ts.countOp == "" || ts.early && ts.countOp == CountAll {
			continue
		}
		r := runOf(ts.src)
		cp := CountPlan{Table: ts.table.Name, Op: ts.countOp}
		for _, l := range ts.lists {
			cp.Matches = append(cp.Matches, planOf(p.targets[l.target], 0, 0, false))
		}
		r.req.Counts = append(r.req.Counts, cp)
		r.countTable = append(r.countTable, ts)
	}
	return runs
}

// runPhase2 runs phase 2: the calls reading the page's rows and, in calls
// of their own on the same sources, the counts, all at once. Once the rows
// are read, rowsRead (when not nil) is called while the counts, usually
// the slower statements, still run; then the counts are read.
func (s *Service) runPhase2(ctx context.Context, ex *execution, rowsRead func(*execution)) {
	var rows, counts []*run
	for _, r := range ex.phase2 {
		switch {
		case len(r.req.Counts) == 0:
			rows = append(rows, r)
		case len(r.req.Fetches) == 0:
			counts = append(counts, r)
		default:
			c := &run{src: r.src, phase: r.phase, req: r.req, countTable: r.countTable, alongside: r}
			c.req.Fetches = nil
			r.req.Counts, r.countTable = nil, nil
			rows, counts = append(rows, r), append(counts, c)
		}
	}
	ex.phase2 = append(rows, counts...)
	done := make(chan struct{})
	if len(counts) == 0 {
		close(done)
	} else {
		go func() {
			defer close(done)
			s.runAll(ctx, counts, ex.timeout)
		}()
	}
	s.runAll(ctx, rows, ex.timeout)
	ex.outcome.read(rows)
	if rowsRead != nil {
		rowsRead(ex)
	}
	<-done
	ex.outcome.read(counts)
	ex.awaitEarly()
}

// runAll runs every call in parallel, each under its own deadline, and
// checks that each answer has one result per plan, count and fetch.
func (s *Service) runAll(ctx context.Context, runs []*run, timeout time.Duration) {
	one := func(r *run) {
		// The server's own limit fires first, so that a slow statement ends
		// as a clean TIMEOUT of its plan rather than a call cut short.
		r.req.StatementTimeout = timeout * 9 / 10
		sctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		start := time.Now()
		r.resp, r.err = s.call(sctx, r.req)
		r.elapsed = time.Since(start)
		if r.err == nil && (len(r.resp.Plans) != len(r.req.Plans) || len(r.resp.Counts) != len(r.req.Counts) || len(r.resp.Fetches) != len(r.req.Fetches)) {
			r.err = errors.New("dbrouter answered with a different number of results than plans, counts and fetches")
		}
	}
	if len(runs) == 1 {
		// One source: called on this goroutine, whose stack is grown
		// already (a new one grows its stack through the gRPC call).
		one(runs[0])
		return
	}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() { one(r) })
	}
	wg.Wait()
}

// SourceError is a failed call on one source, as the adapter reports it:
// a v1-style code and a message fit for the caller.
type SourceError struct {
	Timeout bool
	Code    string
	Message string
	Err     error
}

// Error describes the failure.
func (e *SourceError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the underlying error.
func (e *SourceError) Unwrap() error { return e.Err }

// failure classifies the error of a source's execution.
func failure(err error) (statusName, code, msg string) {
	var se *SourceError
	switch {
	case errors.As(err, &se) && se.Timeout, errors.Is(err, context.DeadlineExceeded):
		return StatusTimeout, CodeTimeout, "The database did not answer in time."
	case errors.As(err, &se):
		code, msg := se.Code, se.Message
		if code == "" {
			code = CodeSourceFailed
		}
		if msg == "" {
			msg = "The database could not be searched."
		}
		return StatusFailed, code, msg
	}
	return StatusFailed, CodeSourceFailed, "The database could not be searched."
}

// MaxPlansPerCall is the most plans (and counts, and fetches) dbrouter
// takes in one ExecuteSearch call.
const MaxPlansPerCall = 200

// call runs req on its source: in one call, or, for a source with more
// FULLTEXT indexes than one call takes, in several parallel calls whose
// results are put back in request order.
func (s *Service) call(ctx context.Context, req ExecRequest) (ExecResponse, error) {
	if len(req.Plans) <= MaxPlansPerCall && len(req.Counts) <= MaxPlansPerCall && len(req.Fetches) <= MaxPlansPerCall {
		return s.o.Sources.Execute(ctx, req)
	}
	var parts []ExecRequest
	for i := 0; i < len(req.Plans); i += MaxPlansPerCall {
		part := req
		part.Plans, part.Counts, part.Fetches = req.Plans[i:min(i+MaxPlansPerCall, len(req.Plans))], nil, nil
		parts = append(parts, part)
	}
	for i := 0; i < len(req.Counts); i += MaxPlansPerCall {
		part := req
		part.Plans, part.Counts, part.Fetches = nil, req.Counts[i:min(i+MaxPlansPerCall, len(req.Counts))], nil
		parts = append(parts, part)
	}
	for i := 0; i < len(req.Fetches); i += MaxPlansPerCall {
		part := req
		part.Plans, part.Counts, part.Fetches = nil, nil, req.Fetches[i:min(i+MaxPlansPerCall, len(req.Fetches))]
		parts = append(parts, part)
	}
	resps := make([]ExecResponse, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() { resps[i], errs[i] = s.o.Sources.Execute(ctx, part) })
	}
	wg.Wait()
	var out ExecResponse
	for i, r := range resps {
		if errs[i] != nil {
			return ExecResponse{}, errs[i]
		}
		out.Plans = append(out.Plans, r.Plans...)
		out.Counts = append(out.Counts, r.Counts...)
		out.Fetches = append(out.Fetches, r.Fetches...)
		out.Queued = max(out.Queued, r.Queued)
	}
	return out, nil
}

// keyString joins primary key values into a map key.
func keyString(values []string) string { return strings.Join(values, "\x00") }
