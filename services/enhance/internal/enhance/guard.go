package enhance

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"
)

// Why the fallback answered (Origin.Reason).
const (
	ReasonNotConfigured = "not_configured"
	ReasonRateLimited   = "rate_limited"
	ReasonQueueFull     = "queue_full"
	ReasonCircuitOpen   = "circuit_open"
	ReasonDeadline      = "deadline"
	ReasonProviderError = "provider_error"
	ReasonMalformed     = "malformed_output"
)

// SharedLimitKey is the cache service's rate-limit key that every replica
// counts provider calls under.
const SharedLimitKey = "enhance:provider"

// defaultRetryAfter is how long a 429 without Retry-After stops calls;
// maxRetryAfter bounds what a provider may ask.
const (
	defaultRetryAfter = 5 * time.Second
	maxRetryAfter     = 10 * time.Minute
)

// guard runs provider calls under the protections: the Retry-After pause,
// the circuit breaker, the bounded queue, the local and shared rate
// limits, and the per-call deadline.
type guard struct {
	o       Options
	now     func() time.Time
	local   *rate.Limiter
	breaker *gobreaker.CircuitBreaker[struct{}]
	slots   chan struct{}
	waiting atomic.Int64

	mu           sync.Mutex
	blockedUntil time.Time
}

func newGuard(o Options) *guard {
	g := &guard{
		o:     o,
		now:   o.Now,
		local: rate.NewLimiter(rate.Limit(float64(o.RateLimit)/60), o.RateLimit),
		slots: make(chan struct{}, o.Concurrency),
	}
	failures := uint32(o.BreakerFailures)
	g.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "openai",
		MaxRequests: 1,
		Timeout:     o.BreakerCooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		// A 429 is the provider pacing us, and a caller that went away says
		// nothing of the provider: neither counts for or against it.
		IsExcluded: func(err error) bool {
			var rl *RateLimitedError
			return errors.As(err, &rl) || errors.Is(err, context.Canceled)
		},
	})
	o.Metrics.breakerState(func() float64 {
		switch g.breaker.State() {
		case gobreaker.StateHalfOpen:
			return 1
		case gobreaker.StateOpen:
			return 2
		}
		return 0
	})
	return g
}

// call runs fn under every protection. It returns "" when fn answered, or
// the reason the fallback must answer.
func (g *guard) call(ctx context.Context, capability string, fn func(ctx context.Context) error) string {
	g.mu.Lock()
	blocked := g.now().Before(g.blockedUntil)
	g.mu.Unlock()
	if blocked {
		return ReasonRateLimited
	}
	if g.breaker.State() == gobreaker.StateOpen {
		return ReasonCircuitOpen
	}
	budget, ok := g.budget(ctx)
	if !ok {
		return ReasonDeadline
	}
	if reason := g.acquire(ctx, budget); reason != "" {
		return reason
	}
	defer func() { <-g.slots }()
	if !g.local.AllowN(g.now(), 1) {
		return ReasonRateLimited
	}
	if g.o.Shared != nil {
		sctx, cancel := context.WithTimeout(ctx, g.o.CacheTimeout)
		allowed, err := g.o.Shared.Allow(sctx, SharedLimitKey, g.o.RateLimit, time.Minute)
		cancel()
		if err != nil {
			g.o.Log.DebugContext(ctx, "shared AI rate limit unavailable; the local bucket decides", "error", err)
		} else if !allowed {
			return ReasonRateLimited
		}
	}
	// The time spent queueing and limiting is gone from the budget.
	budget, ok = g.budget(ctx)
	if !ok {
		return ReasonDeadline
	}
	cctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	start := time.Now()
	_, err := g.breaker.Execute(func() (struct{}, error) { return struct{}{}, fn(cctx) })
	reason := g.classify(ctx, cctx, err)
	if !errors.Is(err, gobreaker.ErrOpenState) && !errors.Is(err, gobreaker.ErrTooManyRequests) {
		outcome := reason
		if outcome == "" {
			outcome = "ok"
		}
		g.o.Metrics.observeCall(capability, outcome, time.Since(start))
	}
	if reason != "" {
		g.o.Log.InfoContext(ctx, "AI provider call failed; answering from the fallback", "capability", capability, "reason", reason, "error", err)
	}
	return reason
}

// budget is how long a provider call may take: ALTUS_OPENAI_TIMEOUT, or
// less when the caller's deadline (minus the fallback reserve) is nearer.
func (g *guard) budget(ctx context.Context) (time.Duration, bool) {
	b := g.o.Timeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl) - g.o.FallbackReserve
		if left <= 0 {
			return 0, false
		}
		b = min(b, left)
	}
	return b, true
}

// acquire takes a worker slot, waiting in the bounded queue at most wait.
func (g *guard) acquire(ctx context.Context, wait time.Duration) string {
	select {
	case g.slots <- struct{}{}:
		return ""
	default:
	}
	n := g.waiting.Add(1)
	if n > int64(g.o.QueueSize) {
		g.waiting.Add(-1)
		return ReasonQueueFull
	}
	g.o.Metrics.queueDepth(n)
	defer func() { g.o.Metrics.queueDepth(g.waiting.Add(-1)) }()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return ""
	case <-ctx.Done():
		return ReasonDeadline
	case <-t.C:
		return ReasonDeadline
	}
}

// classify turns a call's error into a fallback reason ("" for none).
func (g *guard) classify(ctx, cctx context.Context, err error) string {
	var rl *RateLimitedError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return ReasonCircuitOpen
	case errors.As(err, &rl):
		d := rl.RetryAfter
		if d <= 0 {
			d = defaultRetryAfter
		}
		d = min(d, maxRetryAfter)
		g.mu.Lock()
		if until := g.now().Add(d); until.After(g.blockedUntil) {
			g.blockedUntil = until
		}
		g.mu.Unlock()
		return ReasonRateLimited
	case errors.Is(err, ErrMalformedOutput):
		return ReasonMalformed
	case errors.Is(err, context.DeadlineExceeded), cctx.Err() != nil, ctx.Err() != nil:
		return ReasonDeadline
	default:
		return ReasonProviderError
	}
}
