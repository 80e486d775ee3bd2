package datasource

import (
	"context"
	"fmt"
	"time"
)

// Sweep closes the pools and forgets the schemas of sources that were
// deleted or changed since they were opened, whichever replica made the
// change: it reads the current version of every source this replica holds
// and drops whatever is not current. Requests already replace stale pools
// of the sources they touch; the sweep covers the sources nobody asks for,
// so that every replica converges within one sweep interval.
func (s *Service) Sweep(ctx context.Context) error {
	ids := map[string]bool{}
	for _, k := range s.pools.Keys() {
		ids[k.ID] = true
	}
	cached := s.schemas.Keys()
	for _, k := range cached {
		ids[k.ID] = true
	}
	if len(ids) == 0 {
		return nil
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	current, err := s.store.Versions(ctx, list)
	if err != nil {
		return fmt.Errorf("datasource: sweep: %w", err)
	}
	for _, id := range s.pools.DropStale(current) {
		s.log.InfoContext(ctx, "closed the pool of a data source changed or deleted elsewhere", "source", id)
	}
	for _, k := range cached {
		if v, ok := current[k.ID]; !ok || v != k.Version {
			s.schemas.Invalidate(k.ID)
		}
	}
	return nil
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sctx, cancel := context.WithTimeout(ctx, every)
			if err := s.Sweep(sctx); err != nil {
				s.log.WarnContext(ctx, "data source sweep failed", "error", err)
			}
			cancel()
		}
	}
}
