package cache

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collectors returns the Store's metrics, to be registered once:
//
//   - altus4_redis_up: 1 while the last health check reached Redis, else 0;
//   - altus4_cache_hits_total and altus4_cache_misses_total: Get calls that
//     found a value, or none;
//   - altus4_cache_hit_ratio{cache_type="results"}: hits / (hits + misses)
//     over GetVersioned calls (the search result cache; 0 before the first),
//     and {cache_type="values"} over plain Get calls;
//   - altus4_ratelimit_requests_total{decision="allowed"|"denied"}: Allow calls.
func (s *Store) Collectors() []prometheus.Collector {
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "altus4_redis_up",
			Help: "1 while the last health check reached Redis, 0 while the cache runs degraded.",
		}, func() float64 { return b2f(s.up.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "altus4_cache_hits_total",
			Help: "Get calls that found a value.",
		}, func() float64 { return float64(s.hits.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "altus4_cache_misses_total",
			Help: "Get calls that found no value.",
		}, func() float64 { return float64(s.misses.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "altus4_cache_hit_ratio",
			Help:        "Hits / (hits + misses) since start.",
			ConstLabels: prometheus.Labels{"cache_type": "results"},
		}, func() float64 { return ratio(s.versionedHits.Load(), s.versionedMisses.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "altus4_cache_hit_ratio",
			Help:        "Hits / (hits + misses) since start.",
			ConstLabels: prometheus.Labels{"cache_type": "values"},
		}, func() float64 { return ratio(s.hits.Load(), s.misses.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "altus4_cache_result_hits_total",
			Help: "GetVersioned calls (search results) that found a value.",
		}, func() float64 { return float64(s.versionedHits.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "altus4_cache_result_local_hits_total",
			Help: "Search results served from the service's memory (Redis client-side caching) without a round trip.",
		}, func() float64 { return float64(s.localHits.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "altus4_cache_result_misses_total",
			Help: "GetVersioned calls (search results) that found no value.",
		}, func() float64 { return float64(s.versionedMisses.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "altus4_ratelimit_requests_total",
			Help:        "Requests counted by Allow, by decision.",
			ConstLabels: prometheus.Labels{"decision": "allowed"},
		}, func() float64 { return float64(s.allowed.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "altus4_ratelimit_requests_total",
			Help:        "Requests counted by Allow, by decision.",
			ConstLabels: prometheus.Labels{"decision": "denied"},
		}, func() float64 { return float64(s.denied.Load()) }),
	}
}

// ratio is hits / (hits + misses), 0 before the first call.
func ratio(h, m uint64) float64 {
	if h+m == 0 {
		return 0
	}
	return float64(h) / float64(h+m)
}
