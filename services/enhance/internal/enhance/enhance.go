// Package enhance adds AI to search: query optimisation, categories,
// summaries, suggestions, embeddings and insights from an OpenAI-compatible
// provider, each behind rate limits, a bounded queue, a circuit breaker and
// deadlines, and each with a local fallback that is useful on its own. No
// capability fails because of the provider; every answer says which path
// produced it.
package enhance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"time"
)

// Origin sources.
const (
	SourceProvider = "provider"
	SourceFallback = "fallback"
)

// FallbackEmbeddingModel names the local embedding model.
const FallbackEmbeddingModel = "altus-hashed-stems"

// Origin says which path produced an answer.
type Origin struct {
	// Source is SourceProvider or SourceFallback.
	Source string
	// Reason says why the fallback answered ("" for the provider).
	Reason string
	// Model is the provider model that answered, or the local embedding model.
	Model string
	// Elapsed is the time the capability took.
	Elapsed time.Duration
}

// Options configure a Service. Zero values take the documented defaults.
type Options struct {
	// Provider is the OpenAI-compatible API; nil means not configured.
	Provider Provider
	// Shared is the replicas' shared rate limit; nil leaves the local bucket alone.
	Shared SharedLimiter
	// Cache stores provider embeddings; nil disables the embeddings cache.
	Cache EmbedCache
	// RateLimit is provider calls per minute (default 60).
	RateLimit int
	// Concurrency is how many provider calls run at once (default 4).
	Concurrency int
	// QueueSize is how many calls may wait for a worker (0: none wait, every
	// call beyond the workers is shed; ALTUS_AI_QUEUE_SIZE defaults to 50).
	QueueSize int
	// BreakerFailures is the consecutive failures that open the circuit (default 5).
	BreakerFailures int
	// BreakerCooldown is how long the circuit stays open (default 30s).
	BreakerCooldown time.Duration
	// Timeout bounds one provider call (default 10s).
	Timeout time.Duration
	// FallbackReserve is kept from the caller's deadline for the fallback (default 50ms).
	FallbackReserve time.Duration
	// CacheTimeout bounds each call to the cache service (default 100ms).
	CacheTimeout time.Duration
	// EmbedCacheTTL is how long an embedding stays cached (default 24h).
	EmbedCacheTTL time.Duration
	// AnswerCacheTTL is how long a provider's structured answer stays
	// cached under the hash of its request (default 1h).
	AnswerCacheTTL time.Duration
	// MaxDocumentChars cuts each document's text sent to the provider (default 2000).
	MaxDocumentChars int
	// SlowSource is the p95 above which a source is called slow (default 1s).
	SlowSource time.Duration
	// Metrics may be nil.
	Metrics *Metrics
	// Log may be nil.
	Log *slog.Logger
	// Now is the clock of the rate limits (default time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.RateLimit, 60)
	def(&o.Concurrency, 4)
	if o.QueueSize < 0 {
		o.QueueSize = 0
	}
	def(&o.BreakerFailures, 5)
	defd(&o.BreakerCooldown, 30*time.Second)
	defd(&o.Timeout, 10*time.Second)
	defd(&o.FallbackReserve, 50*time.Millisecond)
	defd(&o.CacheTimeout, 100*time.Millisecond)
	defd(&o.EmbedCacheTTL, 24*time.Hour)
	defd(&o.AnswerCacheTTL, time.Hour)
	def(&o.MaxDocumentChars, 2000)
	defd(&o.SlowSource, time.Second)
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Service implements the capabilities.
type Service struct {
	o     Options
	guard *guard
}

// New returns a Service.
func New(o Options) *Service {
	o = o.withDefaults()
	return &Service{o: o, guard: newGuard(o)}
}

// complete asks the provider for a structured answer (the completion
// prompt builds, only when a provider is configured) decoded into out and
// checked by check. It returns "" when the provider answered, else the
// fallback's reason.
//
// Answers are cached under the hash of their request, so asking again is
// free. When the caller's deadline is nearer than ALTUS_OPENAI_TIMEOUT the
// provider call runs on without the caller: the caller gets the fallback at
// its deadline ("deadline") and the answer, when it comes, is cached for the
// next ask. A provider slower than the searches' budget still ends up
// serving them.
func (s *Service) complete(ctx context.Context, capability string, prompt func() Completion, out any, check func() error) string {
	if s.o.Provider == nil {
		return ReasonNotConfigured
	}
	c := prompt()
	key := AnswerCacheKey(s.o.Provider.Model(), c)
	if s.cachedAnswer(ctx, key, out, check) {
		s.o.Metrics.answerCacheHit(capability)
		return ""
	}
	var (
		mu        sync.Mutex
		abandoned bool
	)
	// accept decodes and checks an answer into out while the caller waits
	// for it, or, once the caller has answered from the fallback, only
	// checks that it decodes (out is the caller's again).
	accept := func(content []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			return decodeStrict(content, reflect.New(reflect.TypeOf(out).Elem()).Interface())
		}
		if err := decodeStrict(content, out); err != nil {
			return err
		}
		return check()
	}
	call := func(ctx context.Context) string {
		return s.guard.call(ctx, capability, func(ctx context.Context) error {
			content, u, err := s.o.Provider.Complete(ctx, c)
			s.o.Metrics.usage(u)
			if err != nil {
				return err
			}
			if err := accept(content); err != nil {
				return err
			}
			s.storeAnswer(ctx, key, content)
			return nil
		})
	}
	wait, detach := s.detach(ctx)
	if !detach {
		return call(ctx)
	}
	done := make(chan string, 1)
	go func() { done <- call(context.WithoutCancel(ctx)) }()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case reason := <-done:
		return reason
	case <-t.C:
	case <-ctx.Done():
	}
	mu.Lock()
	abandoned = true
	mu.Unlock()
	return ReasonDeadline
}

// detach reports whether a provider call must outlive the caller (its
// deadline, less the fallback reserve, is nearer than the provider
// timeout), and how long the caller may wait for it.
func (s *Service) detach(ctx context.Context) (time.Duration, bool) {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	left := time.Until(dl) - s.o.FallbackReserve
	if left <= 0 || left >= s.o.Timeout {
		return 0, false
	}
	return left, true
}

// AnswerCacheKey is the cache key of a provider's answer to a completion.
func AnswerCacheKey(model string, c Completion) string {
	h := sha256.New()
	for _, part := range []string{model, c.Name, mustJSON(c.Schema), c.System, c.User} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "answer:" + hex.EncodeToString(h.Sum(nil))
}

// cachedAnswer decodes and checks a cached answer into out; a missing,
// unreadable or no longer valid answer is a miss.
func (s *Service) cachedAnswer(ctx context.Context, key string, out any, check func() error) bool {
	if s.o.Cache == nil {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, s.o.CacheTimeout)
	b, ok, err := s.o.Cache.Get(cctx, key)
	cancel()
	if err != nil || !ok {
		return false
	}
	return decodeStrict(b, out) == nil && check() == nil
}

// storeAnswer caches an answer; a failure only costs the next ask a call.
func (s *Service) storeAnswer(ctx context.Context, key string, content []byte) {
	if s.o.Cache == nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, s.o.CacheTimeout)
	defer cancel()
	if err := s.o.Cache.Set(cctx, key, content, s.o.AnswerCacheTTL); err != nil {
		s.o.Log.DebugContext(ctx, "AI answer not cached", "error", err)
	}
}

// origin builds the Origin of an answer begun at start.
func (s *Service) origin(capability, reason string, start time.Time) Origin {
	if reason == "" {
		return Origin{Source: SourceProvider, Model: s.o.Provider.Model(), Elapsed: time.Since(start)}
	}
	s.o.Metrics.fallback(capability, reason)
	return Origin{Source: SourceFallback, Reason: reason, Elapsed: time.Since(start)}
}
