package cache

import (
	"context"
	"time"
)

// Check pings Redis (bounded by the Store's timeout), records the outcome
// (while it is a failure every call fails at once) and returns it.
func (s *Store) Check(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := s.client.Do(cctx, s.client.B().Ping().Build()).Error()
	if err != nil {
		err = s.classify(ctx, "ping", err)
	}
	up := err == nil
	if was := s.up.Swap(up); was != up {
		if up {
			s.log.InfoContext(ctx, "Redis is reachable again")
		} else {
			s.log.WarnContext(ctx, "Redis is unavailable: running degraded", "error", err.Error())
		}
	}
	return err
}

// Up reports the outcome of the last health check (true before the first).
func (s *Store) Up() bool { return s.up.Load() }

// Watch checks Redis now and then every interval until ctx ends, handing
// each outcome to report (e.g. to set a health status). It returns nil when
// ctx ends.
func (s *Store) Watch(ctx context.Context, interval time.Duration, report func(up bool)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		err := s.Check(ctx)
		if ctx.Err() != nil {
			return nil
		}
		report(err == nil)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
