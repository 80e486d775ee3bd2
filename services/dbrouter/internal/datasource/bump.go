package datasource

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/altus4/altus/pkg/edgecache"
)

// DefaultBumpTimeout bounds one version bump.
const DefaultBumpTimeout = 500 * time.Millisecond

// MetricVersionBumps counts bumps of the users' source versions by outcome
// ("ok" or "failed").
const MetricVersionBumps = "altus4_dbrouter_version_bumps_total"

// VersionBumper invalidates what other services cached about a user's
// sources (search results): the cache service's BumpVersions of
// "sources:<user id>" in production.
type VersionBumper interface {
	BumpSources(ctx context.Context, userID string) error
}

// SourcesVersionKey is the version counter of a user's sources in the cache
// service: every cached search result of the user is stored under it.
func SourcesVersionKey(userID string) string { return edgecache.VersionKey(userID) }

func newBumpCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricVersionBumps,
		Help: "Bumps of a user's source version in the cache service (invalidating cached search results), by outcome.",
	}, []string{"outcome"})
}

// Register registers the service's metrics on reg.
func (s *Service) Register(reg prometheus.Registerer) error {
	if err := reg.Register(s.bumps); err != nil {
		return fmt.Errorf("datasource: register metrics: %w", err)
	}
	return nil
}

// bump moves the user's source version after a change of one of their
// sources (settings, deletion, schema), so search results cached before
// the change are not served. It is best effort, bounded by BumpTimeout: a
// failure is logged and counted, never returned; such results then expire
// with their own TTL.
func (s *Service) bump(ctx context.Context, userID, sourceID, why string) {
	if s.bumper == nil {
		return
	}
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.bumpTimeout)
	defer cancel()
	if err := s.bumper.BumpSources(bctx, userID); err != nil {
		s.bumps.WithLabelValues("failed").Inc()
		s.log.WarnContext(ctx, "could not invalidate cached search results of a changed data source; they expire with their TTL",
			"source", sourceID, "change", why, "error", err)
		return
	}
	s.bumps.WithLabelValues("ok").Inc()
}
