package search

import (
	"context"
	"errors"
	"sync"
	"time"
)

// run is the search of one source.
type run struct {
	src int
	req ExecRequest
	// planTarget maps each plan to its target; -1 marks the extra plan that
	// reads the best score of a single-index search paged past its start.
	planTarget []int
	// countTables maps each count to its table's targets.
	countTargets [][]int
	resp         ExecResponse
	err          error
	elapsed      time.Duration
}

// topPlan marks the plan reading the best score.
const topPlan = -1

// buildRuns writes one ExecRequest per source with targets.
//
// A single natural-mode index is paged by SQL (LIMIT limit OFFSET offset,
// counted). Otherwise every index returns its first offset+limit rows for
// fusion; a table with one target counts through its plan, a table with
// several through a CountPlan that counts rows matching any of them once.
func buildRuns(p *prepared, req Request, single bool, stmtTimeout time.Duration) []*run {
	var runs []*run
	for si, tids := range p.bySource {
		if len(tids) == 0 {
			continue
		}
		r := &run{src: si, req: ExecRequest{SourceID: p.sources[si].ID, StatementTimeout: stmtTimeout}}
		if single {
			t := p.targets[tids[0]]
			r.req.Plans = append(r.req.Plans, planOf(t, req.Limit, req.Offset, true))
			r.planTarget = append(r.planTarget, tids[0])
			if req.Offset > 0 {
				r.req.Plans = append(r.req.Plans, planOf(t, 1, 0, false))
				r.planTarget = append(r.planTarget, topPlan)
			}
			runs = append(runs, r)
			continue
		}
		window := req.Offset + req.Limit
		byTable := map[string][]int{}
		var order []string
		for _, ti := range tids {
			name := p.targets[ti].table.Name
			if _, ok := byTable[name]; !ok {
				order = append(order, name)
			}
			byTable[name] = append(byTable[name], ti)
		}
		for _, ti := range tids {
			alone := len(byTable[p.targets[ti].table.Name]) == 1
			r.req.Plans = append(r.req.Plans, planOf(p.targets[ti], window, 0, alone))
			r.planTarget = append(r.planTarget, ti)
		}
		for _, name := range order {
			group := byTable[name]
			if len(group) < 2 {
				continue
			}
			cp := CountPlan{Table: name}
			for _, ti := range group {
				cp.Matches = append(cp.Matches, planOf(p.targets[ti], 0, 0, false))
			}
			r.req.Counts = append(r.req.Counts, cp)
			r.countTargets = append(r.countTargets, group)
		}
		runs = append(runs, r)
	}
	return runs
}

func planOf(t target, limit, offset int, count bool) Plan {
	return Plan{Table: t.table.Name, Index: t.index.Name, Mode: string(t.comp.Mode), Against: t.comp.Against, Limit: limit, Offset: offset, Count: count}
}

// execute runs every source's plans in parallel, each source under its own
// deadline.
func (s *Service) execute(ctx context.Context, p *prepared, req Request, single bool) []*run {
	// The server's own limit fires first, so that a slow statement ends as a
	// clean TIMEOUT of its plan rather than a call cut short.
	runs := buildRuns(p, req, single, s.o.SourceTimeout*9/10)
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, s.o.SourceTimeout)
			defer cancel()
			start := time.Now()
			r.resp, r.err = s.call(sctx, r.req)
			r.elapsed = time.Since(start)
			if r.err == nil && (len(r.resp.Plans) != len(r.req.Plans) || len(r.resp.Counts) != len(r.req.Counts)) {
				r.err = errors.New("dbrouter answered with a different number of results than plans")
			}
		})
	}
	wg.Wait()
	return runs
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

// MaxPlansPerCall is the most plans (and counts) dbrouter takes in one
// ExecuteSearch call.
const MaxPlansPerCall = 200

// call runs req on its source: in one call, or, for a source with more
// FULLTEXT indexes than one call takes, in several parallel calls whose
// results are put back in request order.
func (s *Service) call(ctx context.Context, req ExecRequest) (ExecResponse, error) {
	if len(req.Plans) <= MaxPlansPerCall && len(req.Counts) <= MaxPlansPerCall {
		return s.o.Sources.Execute(ctx, req)
	}
	var parts []ExecRequest
	for i := 0; i < len(req.Plans); i += MaxPlansPerCall {
		part := req
		part.Plans, part.Counts = req.Plans[i:min(i+MaxPlansPerCall, len(req.Plans))], nil
		parts = append(parts, part)
	}
	for i := 0; i < len(req.Counts); i += MaxPlansPerCall {
		part := req
		part.Plans, part.Counts = nil, req.Counts[i:min(i+MaxPlansPerCall, len(req.Counts))]
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
		out.Queued = max(out.Queued, r.Queued)
	}
	return out, nil
}
