// Package ratelimit enforces the edge's rate limits. Counts live in Redis
// (through the cache service) so that they hold across gateway replicas; when
// the cache service or Redis cannot be reached, the limiter keeps serving
// with a local fixed-window counter per replica and says so (Degraded, and
// the altus4_ratelimit_degraded gauge) instead of refusing every request.
package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/durationpb"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
)

// Decision is the outcome of counting one request.
type Decision struct {
	Allowed   bool
	Limit     int
	Remaining int
	Reset     time.Time
	// Local is true when the decision was made by the local fallback.
	Local bool
}

// RetryAfter is how long the caller should wait before trying again.
func (d Decision) RetryAfter(now time.Time) time.Duration {
	if d.Reset.After(now) {
		return d.Reset.Sub(now)
	}
	return 0
}

// Limiter counts requests in the shared store, falling back to local counts.
type Limiter struct {
	cache   cachev1.CacheServiceClient
	timeout time.Duration
	probe   time.Duration
	now     func() time.Time
	local   *local

	mu       sync.Mutex
	retryAt  time.Time
	degraded atomic.Bool

	degradedGauge prometheus.Gauge
	decisions     *prometheus.CounterVec
	early         prometheus.Counter

	rooms rooms
}

// New returns a Limiter. Each shared call is bounded by timeout; after a
// failure the shared store is skipped for probe before being tried again, so
// a dead Redis costs one timeout per probe interval, not one per request.
func New(cache cachev1.CacheServiceClient, timeout, probe time.Duration, reg prometheus.Registerer) *Limiter {
	l := &Limiter{
		cache:   cache,
		timeout: timeout,
		probe:   probe,
		now:     time.Now,
		local:   newLocal(),
		rooms:   rooms{m: map[string]room{}},
		degradedGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "altus4_ratelimit_degraded",
			Help: "1 when rate limits are counted locally because the shared store (Redis) is unreachable.",
		}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "altus4_ratelimit_decisions_total",
			Help: "Rate-limit decisions by result and by where they were counted.",
		}, []string{"result", "store"}),
	}
	l.early = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "altus4_ratelimit_early_starts_total",
		Help: "Requests started before their rate-limit count answered (the count then made alongside); those the count refused are in altus4_ratelimit_decisions_total{result=\"limited\"}.",
	})
	if reg != nil {
		reg.MustRegister(l.degradedGauge, l.decisions, l.early)
	}
	return l
}

// Degraded reports whether the last decision had to be made locally.
func (l *Limiter) Degraded() bool { return l.degraded.Load() }

// Allow counts one request of subject against limit per window.
func (l *Limiter) Allow(ctx context.Context, subject string, limit int, window time.Duration) Decision {
	d, _ := l.decide(ctx, subject, limit, window, func(ctx context.Context, req *cachev1.AllowRequest) (*cachev1.AllowResponse, *cachev1.GetVersionedResponse, error) {
		resp, err := l.cache.Allow(ctx, req)
		return resp, nil, err
	})
	return d
}

// AllowAndGet is Allow that, when the shared store counts the request and
// allows it, also reads get's versioned value in the same call (the edge's
// path for repeated searches). got is nil when nothing was read: the
// request was counted locally or refused, or the read failed. When held
// (the versions the caller holds the value under) are still current, the
// value is not sent: unchanged is true and got carries the versions.
func (l *Limiter) AllowAndGet(ctx context.Context, subject string, limit int, window time.Duration, get *cachev1.GetVersionedRequest, held []int64) (d Decision, got *cachev1.GetVersionedResponse, unchanged bool) {
	d, got = l.decide(ctx, subject, limit, window, func(ctx context.Context, req *cachev1.AllowRequest) (*cachev1.AllowResponse, *cachev1.GetVersionedResponse, error) {
		resp, err := l.cache.AllowAndGetVersioned(ctx, &cachev1.AllowAndGetVersionedRequest{Allow: req, Get: get, HeldVersions: held})
		unchanged = resp.GetUnchanged()
		return resp.GetAllow(), resp.GetGet(), err
	})
	return d, got, unchanged && got != nil
}

// decide counts a request in the shared store through call, or locally
// when the store is being skipped or the call fails.
func (l *Limiter) decide(ctx context.Context, subject string, limit int, window time.Duration,
	call func(context.Context, *cachev1.AllowRequest) (*cachev1.AllowResponse, *cachev1.GetVersionedResponse, error),
) (Decision, *cachev1.GetVersionedResponse) {
	now := l.now()
	if l.shouldTryShared(now) {
		cctx, cancel := context.WithTimeout(ctx, l.timeout)
		resp, got, err := call(cctx, &cachev1.AllowRequest{Key: subject, Limit: int32(limit), Window: durationpb.New(window)})
		cancel()
		if err == nil {
			l.setDegraded(false)
			d := Decision{Allowed: resp.GetAllowed(), Limit: int(resp.GetLimit()), Remaining: int(resp.GetRemaining()), Reset: resp.GetResetTime().AsTime()}
			l.count(d)
			l.rooms.set(subject, d, now)
			return d, got
		}
		if ctx.Err() == nil {
			l.failed(now)
		}
	}
	d := l.local.allow(subject, limit, window, now)
	l.count(d)
	return d, nil
}

// EarlyHeadroom is how many requests the last count of a subject must
// have left in its window for another request of the subject to start
// before it is counted (MayStartEarly): well above the requests one
// caller has in flight, so that a request started early is refused only
// when other replicas used that many of the window meanwhile.
const EarlyHeadroom = 32

// MayStartEarly reports whether a request of subject may start before its
// count answers, its count then being made alongside (the answer is
// written only once the count allows it). It may when the subject's last
// count in the shared store, in the current window, left at least
// EarlyHeadroom requests beside those started early since; it then takes
// one of them. Never while the shared store is failing.
func (l *Limiter) MayStartEarly(subject string) bool {
	if l.degraded.Load() || !l.rooms.take(subject, l.now()) {
		return false
	}
	l.early.Inc()
	return true
}

// rooms remembers, per subject, how many requests its last shared count
// left in its window, less those started early since.
type rooms struct {
	mu sync.Mutex
	m  map[string]room
}

type room struct {
	left  int
	reset time.Time
}

// maxRooms bounds the subjects remembered; past it expired ones are
// dropped, and all of them if none had.
const maxRooms = 100_000

func (r *rooms) set(subject string, d Decision, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !d.Allowed || !now.Before(d.Reset) {
		delete(r.m, subject)
		return
	}
	if len(r.m) >= maxRooms {
		for k, v := range r.m {
			if !now.Before(v.reset) {
				delete(r.m, k)
			}
		}
		if len(r.m) >= maxRooms {
			clear(r.m)
		}
	}
	r.m[subject] = room{left: d.Remaining, reset: d.Reset}
}

func (r *rooms) take(subject string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[subject]
	if !ok || !now.Before(v.reset) || v.left < EarlyHeadroom {
		return false
	}
	v.left--
	r.m[subject] = v
	return true
}

func (l *Limiter) shouldTryShared(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !now.Before(l.retryAt)
}

func (l *Limiter) failed(now time.Time) {
	l.mu.Lock()
	l.retryAt = now.Add(l.probe)
	l.mu.Unlock()
	l.setDegraded(true)
}

func (l *Limiter) setDegraded(v bool) {
	l.degraded.Store(v)
	if v {
		l.degradedGauge.Set(1)
	} else {
		l.degradedGauge.Set(0)
	}
}

func (l *Limiter) count(d Decision) {
	result, store := "allowed", "redis"
	if !d.Allowed {
		result = "limited"
	}
	if d.Local {
		store = "local"
	}
	l.decisions.WithLabelValues(result, store).Inc()
}

// local is a fixed-window counter per subject, windows aligned to the epoch
// like the shared ones.
type local struct {
	mu      sync.Mutex
	windows map[string]*window
	swept   time.Time
}

type window struct {
	start time.Time
	end   time.Time
	count int
}

func newLocal() *local { return &local{windows: map[string]*window{}} }

func (c *local) allow(subject string, limit int, length time.Duration, now time.Time) Decision {
	start := now.Truncate(length)
	end := start.Add(length)
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.swept) > time.Minute {
		for k, w := range c.windows {
			if !now.Before(w.end) {
				delete(c.windows, k)
			}
		}
		c.swept = now
	}
	key := subject + "|" + length.String()
	w, ok := c.windows[key]
	if !ok || !w.start.Equal(start) {
		w = &window{start: start, end: end}
		c.windows[key] = w
	}
	w.count++
	remaining := limit - w.count
	if remaining < 0 {
		remaining = 0
	}
	return Decision{Allowed: w.count <= limit, Limit: limit, Remaining: remaining, Reset: end, Local: true}
}
