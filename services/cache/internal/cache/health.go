package cache

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// errClusterState means a Cluster node reports that the cluster cannot
// serve every slot (cluster_state is not ok).
var errClusterState = errors.New("the Redis Cluster reports cluster_state other than ok")

// Check asks Redis whether it can serve (bounded by the Store's timeout),
// records the outcome (while it is a failure every call fails at once) and
// returns it. A standalone or Sentinel-managed master must answer PING; a
// Redis Cluster must report cluster_state:ok, which it does only while
// every slot has a reachable master.
func (s *Store) Check(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := s.ping(cctx)
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

func (s *Store) ping(ctx context.Context) error {
	c, err := s.src.Client()
	if err != nil {
		return err
	}
	if c.Mode() != rueidis.ClientModeCluster {
		return c.Do(ctx, c.B().Ping().Build()).Error()
	}
	info, err := c.Do(ctx, c.B().ClusterInfo().Build()).ToString()
	if err != nil {
		return err
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return errClusterState
	}
	return nil
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
