// Package edgehits batches the searches the gateway answered itself from
// the result cache (edge pages, pkg/edgecache) and sends them to the search
// service (SearchService.RecordCachedSearches) a few times a second, so that
// history, analytics, click-through and the search metrics count them like
// any other search without a call per request.
package edgehits

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
)

// Defaults.
const (
	// DefaultInterval is how often pending searches are sent.
	DefaultInterval = 200 * time.Millisecond
	// DefaultMaxPending bounds what waits to be sent; beyond it searches
	// are dropped (and counted) rather than held without bound while the
	// search service cannot be reached.
	DefaultMaxPending = 20000
	// batchSize is the most searches one call carries (the search
	// service's MaxCachedSearches).
	batchSize = 1000
	// sendTimeout bounds one call.
	sendTimeout = 5 * time.Second
)

// Reporter accumulates edge-answered searches and sends them in batches.
type Reporter struct {
	client     searchv1.SearchServiceClient
	interval   time.Duration
	maxPending int
	log        *slog.Logger

	mu      sync.Mutex
	pending []*searchv1.CachedSearch
	// sending serialises flushes, so a search is never sent twice and
	// FlushFor returns only once its search has been sent.
	sending sync.Mutex

	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	dropped prometheus.Counter
	sent    *prometheus.CounterVec
}

// New returns a Reporter sending to client every interval (DefaultInterval
// when zero), holding at most maxPending searches (DefaultMaxPending when
// zero). Its metrics are registered on reg when not nil.
func New(client searchv1.SearchServiceClient, interval time.Duration, maxPending int, log *slog.Logger, reg prometheus.Registerer) *Reporter {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	r := &Reporter{
		client: client, interval: interval, maxPending: maxPending, log: log,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "altus4_edge_search_reports_dropped_total",
			Help: "Searches answered at the edge whose record was dropped: too many waited while the search service could not be reached.",
		}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "altus4_edge_search_reports_total",
			Help: "Searches answered at the edge sent to the search service, by outcome: recorded, rejected (no valid caller) or failed (the call failed; retried).",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(r.dropped, r.sent)
	}
	return r
}

// Record queues one search.
func (r *Reporter) Record(s *searchv1.CachedSearch) {
	r.mu.Lock()
	if len(r.pending) >= r.maxPending {
		r.mu.Unlock()
		r.dropped.Inc()
		return
	}
	r.pending = append(r.pending, s)
	full := len(r.pending) >= batchSize
	r.mu.Unlock()
	if full {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// Pending reports whether the search with this id waits to be sent.
func (r *Reporter) Pending(searchID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.pending, func(s *searchv1.CachedSearch) bool { return s.GetSearchId() == searchID })
}

// FlushFor sends what is pending when the search with this id is among it,
// so that a click on a result of a search answered a moment ago finds the
// search recorded.
func (r *Reporter) FlushFor(ctx context.Context, searchID string) {
	if r.Pending(searchID) {
		r.Flush(ctx)
	}
}

// Flush sends what is pending. A batch whose call fails is put back, in
// front, within the bound.
func (r *Reporter) Flush(ctx context.Context) {
	r.sending.Lock()
	defer r.sending.Unlock()
	r.mu.Lock()
	batch := r.pending
	r.pending = nil
	r.mu.Unlock()
	for len(batch) > 0 {
		n := min(len(batch), batchSize)
		cctx, cancel := context.WithTimeout(ctx, sendTimeout)
		resp, err := r.client.RecordCachedSearches(cctx, &searchv1.RecordCachedSearchesRequest{Searches: batch[:n]})
		cancel()
		if err != nil {
			r.sent.WithLabelValues("failed").Add(float64(len(batch)))
			r.log.WarnContext(ctx, "recording searches answered at the edge failed; will retry", "searches", len(batch), "error", err)
			r.putBack(batch)
			return
		}
		r.sent.WithLabelValues("recorded").Add(float64(resp.GetRecorded()))
		if resp.GetRejected() > 0 {
			r.sent.WithLabelValues("rejected").Add(float64(resp.GetRejected()))
			r.log.WarnContext(ctx, "the search service rejected searches answered at the edge", "rejected", resp.GetRejected())
		}
		batch = batch[n:]
	}
}

// putBack returns an unsent batch to the front of the queue, dropping what
// exceeds the bound (the newest first).
func (r *Reporter) putBack(batch []*searchv1.CachedSearch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := slices.Concat(batch, r.pending)
	if over := len(all) - r.maxPending; over > 0 {
		all = all[:r.maxPending]
		r.dropped.Add(float64(over))
	}
	r.pending = all
}

// Serve sends every interval, or as soon as a full batch waits, until Stop.
func (r *Reporter) Serve() error {
	defer close(r.done)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-r.kick:
		case <-r.stop:
			return nil
		}
		r.Flush(context.Background())
	}
}

// Stop ends Serve and sends what is left before ctx ends.
func (r *Reporter) Stop(ctx context.Context) {
	close(r.stop)
	<-r.done
	r.Flush(ctx)
}
