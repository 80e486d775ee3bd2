package search

import (
	"sync"
	"time"
)

// DefaultExpansionRetry is Options.ExpansionRetry's default.
const DefaultExpansionRetry = time.Minute

// maxSlowExpansions bounds the sources remembered at once.
const maxSlowExpansions = 10000

// slowExpansions remembers the sources on which query expansion ran out of
// its time lately. For ExpansionRetry after, searches do not try it there
// again: on a large table of long texts expansion takes seconds whatever
// the query, and each try would cost the search its whole wait.
type slowExpansions struct {
	mu    sync.Mutex
	until map[string]time.Time // source id -> not tried before
}

// slow reports whether expansion is not to be tried on source id at now.
func (se *slowExpansions) slow(id string, now time.Time) bool {
	se.mu.Lock()
	defer se.mu.Unlock()
	t, ok := se.until[id]
	return ok && now.Before(t)
}

// mark remembers that expansion ran out of its time on source id, until
// until.
func (se *slowExpansions) mark(id string, until time.Time, now time.Time) {
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.until == nil {
		se.until = map[string]time.Time{}
	}
	if len(se.until) >= maxSlowExpansions {
		for k, t := range se.until {
			if !now.Before(t) {
				delete(se.until, k)
			}
		}
		if len(se.until) >= maxSlowExpansions {
			return
		}
	}
	se.until[id] = until
}

// timedOut reports whether r, or one of its plans, ran out of its time.
func timedOut(r *run) bool {
	if r.err != nil {
		st, _, _ := failure(r.err)
		return st == StatusTimeout
	}
	for _, pr := range r.resp.Plans {
		if pr.ErrorCode == CodeTimeout {
			return true
		}
	}
	return false
}

// slowExpansionSources names the sources of p on which query expansion
// is not to be tried now (none is ever marked with a negative
// ExpansionRetry).
func (s *Service) slowExpansionSources(p *prepared) []string {
	now := s.o.Now()
	var out []string
	for si, src := range p.sources {
		if len(p.bySource[si]) > 0 && s.slowExpansion.slow(src.ID, now) {
			out = append(out, sourceLabel(src))
		}
	}
	return out
}

// markSlowExpansion remembers the sources of the runs that ran out of
// their time.
func (s *Service) markSlowExpansion(p *prepared, runs []*run) {
	if s.o.ExpansionRetry < 0 {
		return
	}
	now := s.o.Now()
	for _, r := range runs {
		if timedOut(r) {
			s.slowExpansion.mark(p.sources[r.src].ID, now.Add(s.o.ExpansionRetry), now)
		}
	}
}
