package enhance

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names.
const (
	MetricProviderDuration = "altus4_ai_provider_duration_seconds"
	MetricTokens           = "altus4_ai_tokens_total"
	MetricQueueDepth       = "altus4_ai_queue_depth"
	MetricBreakerState     = "altus4_ai_breaker_state"
	MetricFallbacks        = "altus4_ai_fallback_total"
	MetricEmbedCacheHits   = "altus4_ai_embed_cache_hits_total"
	MetricAnswerCacheHits  = "altus4_ai_answer_cache_hits_total"
)

// Capabilities, as metric labels.
const (
	CapOptimize   = "optimize_query"
	CapCategorize = "categorize"
	CapSummarize  = "summarize"
	CapSuggest    = "suggest"
	CapEmbed      = "embed"
	CapInsights   = "insights"
)

var capabilities = []string{CapOptimize, CapCategorize, CapSummarize, CapSuggest, CapEmbed, CapInsights}

// Metrics are the enhance service's Prometheus collectors.
type Metrics struct {
	duration   *prometheus.HistogramVec
	tokens     *prometheus.CounterVec
	queue      prometheus.Gauge
	fallbacks  *prometheus.CounterVec
	embedHits  prometheus.Counter
	answerHits *prometheus.CounterVec
	reg        prometheus.Registerer
}

// NewMetrics registers the collectors on reg (the process registry).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricProviderDuration,
			Help:    "Provider calls by capability and outcome (ok, deadline, provider_error, malformed_output, rate_limited).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"capability", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricTokens,
			Help: "Provider tokens used, by kind (prompt or completion).",
		}, []string{"kind"}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricQueueDepth,
			Help: "Provider calls waiting for a worker.",
		}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricFallbacks,
			Help: "Answers computed by the local fallback, by capability and reason.",
		}, []string{"capability", "reason"}),
		embedHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricEmbedCacheHits,
			Help: "Embeddings served from the cache instead of the provider.",
		}),
		reg: reg,
	}
	m.answerHits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricAnswerCacheHits,
		Help: "Provider answers served from the cache instead of a provider call, by capability.",
	}, []string{"capability"})
	reg.MustRegister(m.duration, m.tokens, m.queue, m.fallbacks, m.embedHits, m.answerHits)
	m.tokens.WithLabelValues("prompt")
	m.tokens.WithLabelValues("completion")
	return m
}

// breakerState registers the breaker's state gauge (0 closed, 1 half-open, 2 open).
func (m *Metrics) breakerState(state func() float64) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: MetricBreakerState,
		Help: "State of the provider's circuit breaker: 0 closed, 1 half-open, 2 open.",
	}, state))
}

func (m *Metrics) observeCall(capability, outcome string, d time.Duration) {
	if m != nil {
		m.duration.WithLabelValues(capability, outcome).Observe(d.Seconds())
	}
}

func (m *Metrics) usage(u Usage) {
	if m != nil {
		m.tokens.WithLabelValues("prompt").Add(float64(u.PromptTokens))
		m.tokens.WithLabelValues("completion").Add(float64(u.CompletionTokens))
	}
}

func (m *Metrics) queueDepth(n int64) {
	if m != nil {
		m.queue.Set(float64(n))
	}
}

func (m *Metrics) fallback(capability, reason string) {
	if m != nil {
		m.fallbacks.WithLabelValues(capability, reason).Inc()
	}
}

func (m *Metrics) embedCacheHits(n int) {
	if m != nil && n > 0 {
		m.embedHits.Add(float64(n))
	}
}

func (m *Metrics) answerCacheHit(capability string) {
	if m != nil {
		m.answerHits.WithLabelValues(capability).Inc()
	}
}
