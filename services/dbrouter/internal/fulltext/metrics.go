package fulltext

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names.
const (
	// MetricStatementSeconds is the run time of search statements on the
	// users' databases, by source, kind (search, count, fetch, explain)
	// and outcome (ok, timeout, failed).
	MetricStatementSeconds = "altus4_dbrouter_statement_seconds"
	// MetricStatements counts search statements by kind and outcome.
	MetricStatements = "altus4_dbrouter_statements_total"
	// MetricReads counts plans, counts and fetches by the server that
	// answered them: "primary" or a read replica's host:port.
	MetricReads = "altus4_dbrouter_reads_total"
	// MetricReplicaRetries counts reads that failed on a read replica with
	// a connection error and were run again on the primary.
	MetricReplicaRetries = "altus4_dbrouter_replica_retries_total"
)

// ServerPrimary is the server label of reads answered by the primary.
const ServerPrimary = "primary"

type metrics struct {
	seconds  *prometheus.HistogramVec
	outcomes *prometheus.CounterVec
	reads    *prometheus.CounterVec
	retries  *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricStatementSeconds,
			Help:    "Run time of search statements on the users' databases, per data source, kind (search, count, fetch, explain) and outcome (ok, timeout, failed).",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"database_id", "kind", "outcome"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricStatements,
			Help: "Search statements run on the users' databases, by kind (search, count, fetch, explain) and outcome (ok, timeout, failed).",
		}, []string{"kind", "outcome"}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricReads,
			Help: "Plans, counts and fetches by the server that answered them (primary or a read replica's host:port), per data source.",
		}, []string{"database_id", "server"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricReplicaRetries,
			Help: "Reads that failed on a read replica with a connection error and ran again on the primary, per data source and replica.",
		}, []string{"database_id", "replica"}),
	}
}

func (m *metrics) observe(sourceID, kind, outcome string, d time.Duration) {
	m.seconds.WithLabelValues(sourceID, kind, outcome).Observe(d.Seconds())
	m.outcomes.WithLabelValues(kind, outcome).Inc()
}

// Register registers the executor's metrics on reg.
func (e *Executor) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{e.metrics.seconds, e.metrics.outcomes, e.metrics.reads, e.metrics.retries} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("fulltext: register metrics: %w", err)
		}
	}
	return nil
}
