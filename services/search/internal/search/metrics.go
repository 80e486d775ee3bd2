package search

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names.
const (
	MetricSearchDuration  = "altus4_search_duration_seconds"
	MetricCacheRequests   = "altus4_search_cache_requests_total"
	MetricSourceResults   = "altus4_search_source_results_total"
	MetricEnhanceDuration = "altus4_search_enhance_duration_seconds"
	MetricCoalesced       = "altus4_search_coalesced_total"
	MetricEarlyStarts     = "altus4_search_early_starts_total"
	MetricPageReads       = "altus4_search_page_reads_total"
	MetricExpansionFalls  = "altus4_search_expansion_fallbacks_total"
)

// DurationBuckets are the scaling guide's search latency buckets, in seconds.
var DurationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// Metrics are the search service's Prometheus metrics. A nil *Metrics
// records nothing.
type Metrics struct {
	duration *prometheus.HistogramVec
	cache    *prometheus.CounterVec
	sources  *prometheus.CounterVec
	enhance  *prometheus.HistogramVec
	shared   prometheus.Counter
	early    *prometheus.CounterVec
	pages    *prometheus.CounterVec
	fallback prometheus.Counter
}

// NewMetrics registers the metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricSearchDuration,
			Help:    "Time to answer a search, by the mode used and the number of databases searched (10+ for ten or more).",
			Buckets: DurationBuckets,
		}, []string{"search_mode", "database_count"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricCacheRequests,
			Help: "Result cache lookups of searches: hit, miss, or error (cache unavailable: the search ran uncached).",
		}, []string{"result"}),
		sources: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricSourceResults,
			Help: "Databases searched, by how they answered: ok, failed, timeout or skipped.",
		}, []string{"status"}),
		enhance: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricEnhanceDuration,
			Help:    "Time spent on one AI enhancement of a search, by capability and how it answered: provider, fallback or skipped.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		}, []string{"capability", "source"}),
	}
	m.shared = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricCoalesced,
		Help: "Searches answered by an identical search that was already running (the same caller, request and source versions) instead of a run of their own.",
	})
	m.early = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricEarlyStarts,
		Help: "No-cache searches started with the sources described last, before their versions were read: current (the page was kept) or stale (searched again).",
	}, []string{"result"})
	m.pages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricPageReads,
		Help: "Pages of fused one-database searches by how their rows were read: with_ranking (in the ranking's call) or after (a second call, for rows the ranking's call did not read).",
	}, []string{"read"})
	m.fallback = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricExpansionFalls,
		Help: "Expansion-mode searches run again in natural mode because query expansion did not answer within ALTUS_SEARCH_EXPANSION_TIMEOUT on a database.",
	})
	reg.MustRegister(m.duration, m.cache, m.sources, m.enhance, m.shared, m.early, m.pages, m.fallback)
	for _, r := range []string{"with_ranking", "after"} {
		m.pages.WithLabelValues(r)
	}
	for _, r := range []string{"current", "stale"} {
		m.early.WithLabelValues(r)
	}
	for _, r := range []string{"hit", "miss", "error"} {
		m.cache.WithLabelValues(r)
	}
	for _, s := range []string{StatusOK, StatusFailed, StatusTimeout, StatusSkipped} {
		m.sources.WithLabelValues(s)
	}
	return m
}

// coalesced counts a search answered by an identical one already running.
func (m *Metrics) coalesced() {
	if m != nil {
		m.shared.Inc()
	}
}

// earlyStart counts a no-cache search started before its versions were
// read, by whether the sources it used were current.
func (m *Metrics) earlyStart(result string) {
	if m != nil {
		m.early.WithLabelValues(result).Inc()
	}
}

// pageRead counts a page asked of the ranking's call, by how its rows
// were read.
func (m *Metrics) pageRead(read string) {
	if m != nil {
		m.pages.WithLabelValues(read).Inc()
	}
}

// expansionFallback counts an expansion-mode search run again in natural
// mode.
func (m *Metrics) expansionFallback() {
	if m != nil {
		m.fallback.Inc()
	}
}

func (m *Metrics) cacheResult(result string) {
	if m != nil {
		m.cache.WithLabelValues(result).Inc()
	}
}

// observeSearch records a search answered (cache hits included; the
// statuses of a cached page are not counted again).
func (m *Metrics) observeSearch(r *Response) {
	if m == nil {
		return
	}
	n := 0
	for _, s := range r.Sources {
		if s.Status != StatusSkipped {
			n++
		}
		if !r.Cached {
			m.sources.WithLabelValues(s.Status).Inc()
		}
	}
	m.observeDuration(r.Mode, n, r.ExecutionTime)
}

// observeDuration records a search's time by mode and databases searched.
func (m *Metrics) observeDuration(mode string, databases int, d time.Duration) {
	if m == nil {
		return
	}
	count := strconv.Itoa(databases)
	if databases >= 10 {
		count = "10+"
	}
	m.duration.WithLabelValues(mode, count).Observe(d.Seconds())
}

// observeEnhance records how long an enhancement took and how it answered.
func (m *Metrics) observeEnhance(capability string, e Enhancement) {
	if m != nil {
		m.enhance.WithLabelValues(capability, e.Source).Observe(e.Elapsed.Seconds())
	}
}
