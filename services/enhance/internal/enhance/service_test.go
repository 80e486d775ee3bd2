package enhance_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/enhance/internal/enhance"
	"github.com/altus4/altus/services/enhance/internal/openaiclient"
	"github.com/altus4/altus/services/enhance/internal/providertest"
)

const (
	chatPath  = "/v1/chat/completions"
	embedPath = "/v1/embeddings"
)

// clock is a settable clock for the rate limits.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type env struct {
	srv   *providertest.Server
	svc   *enhance.Service
	reg   *prometheus.Registry
	clock *clock
}

// newEnv starts a fake provider and a Service using it through the real
// client; mod adjusts the options.
func newEnv(t *testing.T, mod func(*enhance.Options)) *env {
	t.Helper()
	e := &env{srv: providertest.New(t), reg: prometheus.NewRegistry(), clock: &clock{t: time.Unix(1_800_000_000, 0)}}
	o := enhance.Options{
		Provider: openaiclient.New(openaiclient.Options{APIKey: "sk-test", BaseURL: e.srv.BaseURL(), Model: "gpt-test", EmbeddingModel: "embed-test"}),
		Timeout:  5 * time.Second,
		Metrics:  enhance.NewMetrics(e.reg),
		Now:      e.clock.Now,
	}
	if mod != nil {
		mod(&o)
	}
	e.svc = enhance.New(o)
	return e
}

func ctxWithin(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var docs = []enhance.Document{
	{ID: "pkg-1", Database: "shop_db", Table: "packages", Fields: []enhance.Field{{Name: "name", Text: "redis client"}, {Name: "description", Text: "A fast Redis client for Go. It supports clusters and pipelines."}}},
	{ID: "pkg-2", Database: "shop_db", Table: "packages", Fields: []enhance.Field{{Name: "name", Text: "mysql driver"}, {Name: "description", Text: "A MySQL driver for Go. It supports clusters of replicas."}}},
}

var insightsReq = enhance.InsightsRequest{Period: "week", TotalSearches: 200, PreviousTotalSearches: 100, AvgTimeMs: 120, ZeroResultSearches: 40, CacheHitRatio: 0.5, ClickThroughRate: 0.3,
	Queries: []enhance.QueryStat{{Query: "redis", Count: 50, PreviousCount: 10, AvgResults: 4}, {Query: "pyhton", Count: 9, ZeroResultCount: 9}}}

// answer is one capability's answer reduced to what every test checks.
type answer struct {
	Origin enhance.Origin
	Empty  bool
}

// capabilities calls every capability once.
var capabilities = []struct {
	name string
	call func(ctx context.Context, s *enhance.Service) (answer, error)
}{
	{"OptimizeQuery", func(ctx context.Context, s *enhance.Service) (answer, error) {
		r, err := s.OptimizeQuery(ctx, enhance.OptimizeRequest{Query: "how do I install redis clients"})
		if err != nil {
			return answer{}, err
		}
		return answer{r.Origin, len(r.Rewrites) == 0 || len(r.Variants) == 0 || r.Intent == ""}, nil
	}},
	{"Categorize", func(ctx context.Context, s *enhance.Service) (answer, error) {
		r, err := s.Categorize(ctx, enhance.CategorizeRequest{Documents: docs, Query: "go"})
		if err != nil {
			return answer{}, err
		}
		return answer{r.Origin, len(r.Documents) != len(docs) || len(r.Categories) == 0 || len(r.Documents[0].Categories) == 0}, nil
	}},
	{"Summarize", func(ctx context.Context, s *enhance.Service) (answer, error) {
		r, err := s.Summarize(ctx, enhance.SummarizeRequest{Documents: docs, Query: "clusters"})
		if err != nil {
			return answer{}, err
		}
		return answer{r.Origin, len(r.Summaries) != len(docs) || r.Summaries[0].Text == ""}, nil
	}},
	{"Suggest", func(ctx context.Context, s *enhance.Service) (answer, error) {
		r, err := s.Suggest(ctx, enhance.SuggestRequest{Query: "redsi clients", Vocabulary: []enhance.TermCount{{Term: "redis", Count: 10}, {Term: "client", Count: 4}, {Term: "clients", Count: 2}}})
		if err != nil {
			return answer{}, err
		}
		return answer{r.Origin, len(r.Suggestions) == 0}, nil
	}},
	{"Embed", func(ctx context.Context, s *enhance.Service) (answer, error) {
		r, err := s.Embed(ctx, enhance.EmbedRequest{Texts: []string{"redis client", "mysql driver"}})
		if err != nil {
			return answer{}, err
		}
		return answer{r.Origin, len(r.Vectors) != 2 || len(r.Vectors[0]) == 0}, nil
	}},
	{"GenerateInsights", func(ctx context.Context, s *enhance.Service) (answer, error) {
		r, err := s.GenerateInsights(ctx, insightsReq)
		if err != nil {
			return answer{}, err
		}
		return answer{r.Origin, len(r.Insights) == 0}, nil
	}},
}

func TestWithoutProviderEveryCapabilityAnswersFromTheFallback(t *testing.T) {
	reg := prometheus.NewRegistry()
	svc := enhance.New(enhance.Options{Metrics: enhance.NewMetrics(reg)})
	for _, c := range capabilities {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.call(context.Background(), svc)
			if err != nil {
				t.Fatal(err)
			}
			if got.Origin.Source != enhance.SourceFallback || got.Origin.Reason != enhance.ReasonNotConfigured || got.Empty {
				t.Errorf("origin %+v, empty answer %v; want a useful fallback answer (not_configured)", got.Origin, got.Empty)
			}
		})
	}
	if n := testutil.ToFloat64(fallbackCounter(t, reg, "embed", "not_configured")); n != 1 {
		t.Errorf("fallback counter of embed = %v, want 1", n)
	}
}

func fallbackCounter(t *testing.T, reg *prometheus.Registry, capability, reason string) prometheus.Collector {
	t.Helper()
	return counterOf(t, reg, enhance.MetricFallbacks, map[string]string{"capability": capability, "reason": reason})
}

// counterOf finds a counter by name and labels in reg, as a collector.
func counterOf(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue metrics
				}
			}
			v := m.GetCounter().GetValue()
			if m.GetHistogram() != nil {
				v = float64(m.GetHistogram().GetSampleCount())
			}
			if m.GetGauge() != nil {
				v = m.GetGauge().GetValue()
			}
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "probe"}, func() float64 { return v })
		}
	}
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "probe"}, func() float64 { return 0 })
}

func TestProviderAnswersEveryCapabilityWithStructuredOutput(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range capabilities {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.call(ctxWithin(t, 10*time.Second), e.svc)
			if err != nil {
				t.Fatal(err)
			}
			wantModel := "gpt-test"
			if c.name == "Embed" {
				wantModel = "embed-test"
			}
			if got.Origin.Source != enhance.SourceProvider || got.Origin.Reason != "" || got.Origin.Model != wantModel || got.Empty {
				t.Errorf("origin %+v, empty %v; want the provider's answer from %s", got.Origin, got.Empty, wantModel)
			}
		})
	}
	for _, r := range e.srv.Requests() {
		if r.Path == chatPath && (!r.Strict || r.Schema == "" || r.Model != "gpt-test") {
			t.Errorf("chat request without a strict named schema: %+v", r)
		}
	}
	if n := testutil.ToFloat64(counterOf(t, e.reg, enhance.MetricTokens, map[string]string{"kind": "completion"})); n != 5*7 {
		t.Errorf("completion tokens = %v, want 35 (5 completions of 7)", n)
	}
	if n := testutil.ToFloat64(counterOf(t, e.reg, enhance.MetricProviderDuration, map[string]string{"capability": "categorize", "outcome": "ok"})); n != 1 {
		t.Errorf("categorize calls observed = %v, want 1", n)
	}
}

func TestProviderAnswersAreTheProvidersAndVariantsAlwaysSnowball(t *testing.T) {
	e := newEnv(t, nil)
	opt, err := e.svc.OptimizeQuery(context.Background(), enhance.OptimizeRequest{Query: "running shoes"})
	if err != nil {
		t.Fatal(err)
	}
	want := &enhance.Optimization{Rewrites: []string{"provider rewrite of running shoes"}, Synonyms: []string{"provider synonym"}, Intent: "informational",
		Variants: []string{"run", "runnings", "shoe"}, Origin: opt.Origin}
	if diff := cmp.Diff(want, opt); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	cat, err := e.svc.Categorize(context.Background(), enhance.CategorizeRequest{Documents: docs})
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := []enhance.CategoryCount{{Name: "provider category", Count: 2, Confidence: 0.9}}
	if diff := cmp.Diff(wantCounts, cat.Categories); diff != "" {
		t.Errorf("categories (-want +got):\n%s", diff)
	}
	sum, err := e.svc.Summarize(context.Background(), enhance.SummarizeRequest{Documents: docs})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]enhance.Summary{{ID: "pkg-1", Text: "provider summary 0"}, {ID: "pkg-2", Text: "provider summary 1"}}, sum.Summaries); diff != "" {
		t.Errorf("summaries (-want +got):\n%s", diff)
	}
}

func TestOnlyDocumentFieldsCutToTheBoundReachTheProvider(t *testing.T) {
	e := newEnv(t, func(o *enhance.Options) { o.MaxDocumentChars = 100 })
	long := strings.Repeat("word ", 200)
	d := []enhance.Document{{ID: "secret-id-77", Database: "secret_db", Table: "secret_table", Fields: []enhance.Field{{Name: "body", Text: long}}}}
	if _, err := e.svc.Summarize(context.Background(), enhance.SummarizeRequest{Documents: d}); err != nil {
		t.Fatal(err)
	}
	reqs := e.srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	body := string(reqs[0].Body)
	for _, s := range []string{"secret-id-77", "secret_db", "secret_table"} {
		if strings.Contains(body, s) {
			t.Errorf("the provider received %q, which is not a field of the document", s)
		}
	}
	if !strings.Contains(reqs[0].User, strings.Repeat("word ", 20)) || strings.Contains(reqs[0].User, strings.Repeat("word ", 21)) {
		t.Errorf("the document's text was not cut to 100 characters: %s", reqs[0].User)
	}
}

func TestEveryProviderFailureAnswersFromTheFallbackWithinTheDeadline(t *testing.T) {
	tests := []struct {
		name  string
		reply providertest.Reply
		// embed is the embeddings' version of reply, when it differs.
		embed *providertest.Reply
		want  string
	}{
		{"server error", providertest.Reply{Status: http.StatusInternalServerError}, nil, enhance.ReasonProviderError},
		{"bad gateway", providertest.Reply{Status: http.StatusBadGateway}, nil, enhance.ReasonProviderError},
		{"unauthorized", providertest.Reply{Status: http.StatusUnauthorized}, nil, enhance.ReasonProviderError},
		{"slower than the deadline", providertest.Reply{Delay: 30 * time.Second}, nil, enhance.ReasonDeadline},
		{"content not JSON", providertest.Reply{Content: `{"rewrites": [`},
			&providertest.Reply{Body: `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,`}, enhance.ReasonMalformed},
		{"content of another schema", providertest.Reply{Content: `{"answer":"42"}`},
			&providertest.Reply{Body: `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1,0]}],"model":"embed-test","usage":{"prompt_tokens":1,"total_tokens":1}}`}, enhance.ReasonMalformed},
		{"content violating the schema", providertest.Reply{Content: `{"documents":[{"index":9,"categories":[]}]}`},
			&providertest.Reply{Body: `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1,0]},{"object":"embedding","index":1,"embedding":[1,0,0]}],"model":"embed-test","usage":{"prompt_tokens":1,"total_tokens":1}}`}, enhance.ReasonMalformed},
		{"body not JSON", providertest.Reply{Body: `<html>oops</html>`}, nil, enhance.ReasonMalformed},
		{"rate limited", providertest.Reply{Status: http.StatusTooManyRequests, RetryAfter: "20"}, nil, enhance.ReasonRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range capabilities {
				e := newEnv(t, func(o *enhance.Options) { o.FallbackReserve = 100 * time.Millisecond })
				if c.name == "Embed" && tt.embed != nil {
					e.srv.Script(*tt.embed)
				} else {
					e.srv.Script(tt.reply)
				}
				ctx := ctxWithin(t, 600*time.Millisecond)
				got, err := c.call(ctx, e.svc)
				if err != nil {
					t.Fatalf("%s: the call failed because of the provider: %v", c.name, err)
				}
				if ctx.Err() != nil {
					t.Errorf("%s: answered after the caller's deadline", c.name)
				}
				if got.Origin.Source != enhance.SourceFallback || got.Origin.Reason != tt.want || got.Empty {
					t.Errorf("%s: origin %+v empty %v; want a fallback answer for %s", c.name, got.Origin, got.Empty, tt.want)
				}
			}
		})
	}
}

func TestRetryAfterStopsProviderCallsUntilItHasPassed(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.Script(providertest.Reply{Status: http.StatusTooManyRequests, RetryAfter: "30"})
	call := func() enhance.Origin {
		r, err := e.svc.Suggest(context.Background(), enhance.SuggestRequest{Query: "redis"})
		if err != nil {
			t.Fatal(err)
		}
		return r.Origin
	}
	if o := call(); o.Reason != enhance.ReasonRateLimited {
		t.Fatalf("429: origin %+v, want rate_limited", o)
	}
	e.clock.Advance(29 * time.Second)
	if o := call(); o.Reason != enhance.ReasonRateLimited {
		t.Errorf("within Retry-After: origin %+v, want rate_limited", o)
	}
	if n := e.srv.Count(chatPath); n != 1 {
		t.Errorf("the provider got %d requests within Retry-After, want only the first", n)
	}
	e.clock.Advance(2 * time.Second)
	if o := call(); o.Source != enhance.SourceProvider {
		t.Errorf("after Retry-After: origin %+v, want the provider", o)
	}
}

func TestLocalTokenBucketLimitsProviderCalls(t *testing.T) {
	e := newEnv(t, func(o *enhance.Options) { o.RateLimit = 2 })
	call := func() string {
		r, err := e.svc.OptimizeQuery(context.Background(), enhance.OptimizeRequest{Query: "redis"})
		if err != nil {
			t.Fatal(err)
		}
		return r.Origin.Source + "/" + r.Origin.Reason
	}
	got := []string{call(), call(), call()}
	want := []string{"provider/", "provider/", "fallback/rate_limited"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// 2 per minute: one token is back after 30 s.
	e.clock.Advance(30 * time.Second)
	if got := call(); got != "provider/" {
		t.Errorf("after 30s: %s, want the provider", got)
	}
	if n := e.srv.Count(chatPath); n != 3 {
		t.Errorf("%d provider requests, want 3", n)
	}
}

// sharedLimiter is a shared window answering as told.
type sharedLimiter struct {
	mu      sync.Mutex
	allowed bool
	err     error
	calls   int
	key     string
	limit   int
}

func (s *sharedLimiter) Allow(_ context.Context, key string, limit int, window time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.key, s.limit = key, limit
	return s.allowed, s.err
}

func TestSharedLimitDeniesAndTheLocalBucketDecidesWhenItIsUnavailable(t *testing.T) {
	tests := []struct {
		name    string
		allowed bool
		err     error
		want    string
	}{
		{"shared window allows", true, nil, enhance.SourceProvider},
		{"shared window exhausted", false, nil, enhance.ReasonRateLimited},
		{"cache service unavailable", false, errors.New("cache: allow: unavailable"), enhance.SourceProvider},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := &sharedLimiter{allowed: tt.allowed, err: tt.err}
			e := newEnv(t, func(o *enhance.Options) { o.Shared = sh; o.RateLimit = 7 })
			r, err := e.svc.OptimizeQuery(context.Background(), enhance.OptimizeRequest{Query: "redis"})
			if err != nil {
				t.Fatal(err)
			}
			got := r.Origin.Source
			if r.Origin.Reason != "" {
				got = r.Origin.Reason
			}
			if got != tt.want || sh.calls != 1 || sh.key != enhance.SharedLimitKey || sh.limit != 7 {
				t.Errorf("got %s (shared calls %d key %q limit %d), want %s", got, sh.calls, sh.key, sh.limit, tt.want)
			}
		})
	}
}

func TestQueueShedsBeyondItsBoundAndServesCallsWithinIt(t *testing.T) {
	const workers, queue, burst = 2, 3, 10
	e := newEnv(t, func(o *enhance.Options) { o.Concurrency = workers; o.QueueSize = queue; o.RateLimit = 1000 })
	e.srv.Hold()
	results := make(chan enhance.Origin, burst)
	for range burst {
		go func() {
			r, err := e.svc.OptimizeQuery(ctxWithin(t, 20*time.Second), enhance.OptimizeRequest{Query: "redis"})
			if err != nil {
				t.Error(err)
				results <- enhance.Origin{}
				return
			}
			results <- r.Origin
		}()
	}
	// Calls beyond workers+queue are shed at once, while the others wait.
	for range burst - workers - queue {
		if o := <-results; o.Reason != enhance.ReasonQueueFull {
			t.Fatalf("a call beyond the bound: origin %+v, want queue_full", o)
		}
	}
	if d := testutil.ToFloat64(counterOf(t, e.reg, enhance.MetricQueueDepth, nil)); d != queue {
		t.Errorf("queue depth gauge = %v while the bound is reached, want %d", d, queue)
	}
	e.srv.Release()
	for range workers + queue {
		if o := <-results; o.Source != enhance.SourceProvider {
			t.Errorf("a call within the bound: origin %+v, want the provider", o)
		}
	}
	if n := e.srv.Count(chatPath); n != workers+queue {
		t.Errorf("%d provider requests, want %d", n, workers+queue)
	}
}

func TestWaitingInTheQueueHonoursTheCallersDeadline(t *testing.T) {
	e := newEnv(t, func(o *enhance.Options) { o.Concurrency = 1; o.QueueSize = 5 })
	e.srv.Hold()
	first := make(chan enhance.Origin, 1)
	go func() {
		r, _ := e.svc.Suggest(ctxWithin(t, 20*time.Second), enhance.SuggestRequest{Query: "redis"})
		first <- r.Origin
	}()
	<-e.srv.Arrived()
	ctx := ctxWithin(t, 300*time.Millisecond)
	r, err := e.svc.Suggest(ctx, enhance.SuggestRequest{Query: "redis"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Origin.Reason != enhance.ReasonDeadline || ctx.Err() != nil {
		t.Errorf("queued past its deadline: origin %+v, ctx err %v; want deadline, answered in time", r.Origin, ctx.Err())
	}
	e.srv.Release()
	if o := <-first; o.Source != enhance.SourceProvider {
		t.Errorf("the call holding the worker: %+v", o)
	}
}

func TestBreakerOpensHalfOpensAndCloses(t *testing.T) {
	const cooldown = 200 * time.Millisecond
	e := newEnv(t, func(o *enhance.Options) { o.BreakerFailures = 2; o.BreakerCooldown = cooldown })
	state := func() float64 {
		return testutil.ToFloat64(counterOf(t, e.reg, enhance.MetricBreakerState, nil))
	}
	call := func() string {
		r, err := e.svc.Suggest(context.Background(), enhance.SuggestRequest{Query: "redis"})
		if err != nil {
			t.Fatal(err)
		}
		return r.Origin.Source + "/" + r.Origin.Reason
	}
	e.srv.Script(providertest.Reply{Status: 500}, providertest.Reply{Status: 503})
	got := []string{call(), call(), call()}
	want := []string{"fallback/provider_error", "fallback/provider_error", "fallback/circuit_open"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("opening (-want +got):\n%s", diff)
	}
	if s := state(); s != 2 {
		t.Errorf("breaker state %v, want 2 (open)", s)
	}
	if n := e.srv.Count(chatPath); n != 2 {
		t.Errorf("%d requests while open, want 2", n)
	}
	time.Sleep(cooldown) // the cool-down itself, not a readiness wait
	if s := state(); s != 1 {
		t.Errorf("after the cool-down: breaker state %v, want 1 (half-open)", s)
	}
	// A failed trial opens it again.
	e.srv.Script(providertest.Reply{Content: "not json"})
	if got := call(); got != "fallback/malformed_output" {
		t.Errorf("failed trial: %s", got)
	}
	if s := state(); s != 2 {
		t.Errorf("after a failed trial: state %v, want 2 (open)", s)
	}
	time.Sleep(cooldown)
	if got := call(); got != "provider/" {
		t.Errorf("successful trial: %s", got)
	}
	if s := state(); s != 0 {
		t.Errorf("after a successful trial: state %v, want 0 (closed)", s)
	}
	if got := call(); got != "provider/" {
		t.Errorf("closed: %s", got)
	}
}

// memoryCache is the in-memory implementation of the embeddings cache port.
type memoryCache struct {
	mu   sync.Mutex
	m    map[string][]byte
	ttl  time.Duration
	down bool
}

func (c *memoryCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, false, errors.New("cache down")
	}
	v, ok := c.m[key]
	return v, ok, nil
}

func (c *memoryCache) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return errors.New("cache down")
	}
	c.m[key] = value
	c.ttl = ttl
	return nil
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestEmbedBatchesMissesCachesThemAndCountsHits(t *testing.T) {
	cache := &memoryCache{m: map[string][]byte{}}
	e := newEnv(t, func(o *enhance.Options) { o.Cache = cache; o.EmbedCacheTTL = time.Hour })
	texts := []string{"redis client", "mysql driver", "search engine"}
	first, err := e.svc.Embed(context.Background(), enhance.EmbedRequest{Texts: texts})
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached != 0 || first.Origin.Source != enhance.SourceProvider || first.Origin.Model != "embed-test" || cache.ttl != time.Hour {
		t.Errorf("first call: cached %d origin %+v ttl %s", first.Cached, first.Origin, cache.ttl)
	}
	reqs := e.srv.Requests()
	if len(reqs) != 1 || len(reqs[0].Inputs) != 3 {
		t.Fatalf("first call: want one batched request of 3 texts, got %+v", reqs)
	}
	for i, v := range first.Vectors {
		if math.Abs(norm(v)-1) > 1e-5 {
			t.Errorf("vector %d has norm %v, want 1", i, norm(v))
		}
	}
	second, err := e.svc.Embed(context.Background(), enhance.EmbedRequest{Texts: texts})
	if err != nil {
		t.Fatal(err)
	}
	if second.Cached != 3 || e.srv.Count(embedPath) != 1 || second.Origin.Model != "embed-test" {
		t.Errorf("second call: cached %d, %d provider requests, origin %+v; want 3 cached and no new request", second.Cached, e.srv.Count(embedPath), second.Origin)
	}
	if diff := cmp.Diff(first.Vectors, second.Vectors); diff != "" {
		t.Errorf("cached vectors differ (-first +second):\n%s", diff)
	}
	third, err := e.svc.Embed(context.Background(), enhance.EmbedRequest{Texts: []string{"redis client", "new text", "mysql driver"}})
	if err != nil {
		t.Fatal(err)
	}
	reqs = e.srv.Requests()
	if third.Cached != 2 || len(reqs) != 2 || !cmp.Equal(reqs[1].Inputs, []string{"new text"}) {
		t.Errorf("partial hit: cached %d, requests %+v; want 2 cached and one request for the new text", third.Cached, reqs)
	}
	if n := testutil.ToFloat64(counterOf(t, e.reg, enhance.MetricEmbedCacheHits, nil)); n != 5 {
		t.Errorf("embed cache hits = %v, want 5", n)
	}
}

func TestEmbedNeverMixesModelsWhenTheProviderFailsForSomeTexts(t *testing.T) {
	cache := &memoryCache{m: map[string][]byte{}}
	e := newEnv(t, func(o *enhance.Options) { o.Cache = cache })
	if _, err := e.svc.Embed(context.Background(), enhance.EmbedRequest{Texts: []string{"redis client", "mysql driver"}}); err != nil {
		t.Fatal(err)
	}
	e.srv.Script(providertest.Reply{Status: http.StatusInternalServerError})
	r, err := e.svc.Embed(context.Background(), enhance.EmbedRequest{Texts: []string{"redis client", "mysql driver", "uncached text"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Origin.Source != enhance.SourceFallback || r.Origin.Model != enhance.FallbackEmbeddingModel || r.Origin.Reason != enhance.ReasonProviderError || r.Cached != 0 {
		t.Fatalf("origin %+v cached %d; want the whole response from the local model", r.Origin, r.Cached)
	}
	for i, v := range r.Vectors {
		if len(v) != enhance.FallbackDimensions || math.Abs(norm(v)-1) > 1e-5 {
			t.Errorf("vector %d: %d dims, norm %v; want every vector from the local model", i, len(v), norm(v))
		}
	}
}

func TestEmbedWithTheCacheDownStillAsksTheProvider(t *testing.T) {
	cache := &memoryCache{m: map[string][]byte{}, down: true}
	e := newEnv(t, func(o *enhance.Options) { o.Cache = cache })
	r, err := e.svc.Embed(context.Background(), enhance.EmbedRequest{Texts: []string{"a text"}})
	if err != nil || r.Origin.Source != enhance.SourceProvider || r.Cached != 0 {
		t.Errorf("origin %+v cached %d err %v", r.Origin, r.Cached, err)
	}
}

func TestInvalidRequestsNameTheirFields(t *testing.T) {
	svc := enhance.New(enhance.Options{})
	ctx := context.Background()
	many := make([]string, enhance.MaxTexts+1)
	for i := range many {
		many[i] = "t"
	}
	tests := []struct {
		name string
		call func() error
		want []string
	}{
		{"empty query", func() error { _, err := svc.OptimizeQuery(ctx, enhance.OptimizeRequest{Query: "  "}); return err }, []string{"query"}},
		{"rewrites out of range", func() error {
			_, err := svc.OptimizeQuery(ctx, enhance.OptimizeRequest{Query: "q", MaxRewrites: 11})
			return err
		}, []string{"max_rewrites"}},
		{"oversized query", func() error {
			_, err := svc.Suggest(ctx, enhance.SuggestRequest{Query: strings.Repeat("q", enhance.MaxQueryChars+1), Limit: -1})
			return err
		}, []string{"query", "limit"}},
		{"no documents", func() error { _, err := svc.Categorize(ctx, enhance.CategorizeRequest{MaxCategories: 11}); return err }, []string{"documents", "max_categories"}},
		{"document without id, oversized field", func() error {
			_, err := svc.Summarize(ctx, enhance.SummarizeRequest{Documents: []enhance.Document{{Fields: []enhance.Field{{Text: strings.Repeat("x", enhance.MaxFieldBytes+1)}}}}, MaxChars: 2001})
			return err
		}, []string{"documents[0].id", "documents[0].fields[0].text", "max_chars"}},
		{"too many texts", func() error { _, err := svc.Embed(ctx, enhance.EmbedRequest{Texts: many}); return err }, []string{"texts"}},
		{"empty text", func() error { _, err := svc.Embed(ctx, enhance.EmbedRequest{Texts: []string{"a", ""}}); return err }, []string{"texts[1]"}},
		{"bad period and ratio", func() error {
			_, err := svc.GenerateInsights(ctx, enhance.InsightsRequest{Period: "decade", CacheHitRatio: 2})
			return err
		}, []string{"period", "cache_hit_ratio"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ve *validate.Error
			if err := tt.call(); !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a validation error", err)
			}
			var got []string
			for _, v := range ve.Violations {
				got = append(got, v.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTheProviderTimeoutBoundsACallWithoutACallerDeadline(t *testing.T) {
	e := newEnv(t, func(o *enhance.Options) { o.Timeout = 200 * time.Millisecond })
	e.srv.Script(providertest.Reply{Delay: time.Minute})
	r, err := e.svc.GenerateInsights(context.Background(), insightsReq)
	if err != nil {
		t.Fatal(err)
	}
	if r.Origin.Reason != enhance.ReasonDeadline || len(r.Insights) == 0 {
		t.Errorf("origin %+v, %d insights; want the fallback's insights for deadline", r.Origin, len(r.Insights))
	}
	if n := testutil.ToFloat64(counterOf(t, e.reg, enhance.MetricProviderDuration, map[string]string{"capability": "insights", "outcome": "deadline"})); n != 1 {
		t.Errorf("provider calls observed with outcome deadline = %v, want 1", n)
	}
}

func TestAnAnswerSlowerThanTheCallerIsCachedForTheNextAsk(t *testing.T) {
	cache := &memoryCache{m: map[string][]byte{}}
	e := newEnv(t, func(o *enhance.Options) {
		o.Cache = cache
		o.FallbackReserve = 50 * time.Millisecond
	})
	// The provider answers well, but after the caller's deadline.
	e.srv.Script(providertest.Reply{Delay: 600 * time.Millisecond})
	ask := func() *enhance.Categorization {
		t.Helper()
		ctx := ctxWithin(t, 250*time.Millisecond)
		r, err := e.svc.Categorize(ctx, enhance.CategorizeRequest{Documents: docs, Query: "go"})
		if err != nil {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatal("answered after the caller's deadline")
		}
		return r
	}
	first := ask()
	if first.Origin.Source != enhance.SourceFallback || first.Origin.Reason != enhance.ReasonDeadline {
		t.Fatalf("first ask: origin %+v; want the fallback at the deadline", first.Origin)
	}
	// The call runs on without the caller and its answer lands in the cache.
	deadline := time.Now().Add(5 * time.Second)
	for {
		cache.mu.Lock()
		n := len(cache.m)
		cache.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the provider's answer was not cached within 5 s (%d entries)", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	second := ask()
	if second.Origin.Source != enhance.SourceProvider || e.srv.Count(chatPath) != 1 {
		t.Errorf("second ask: origin %+v after %d provider requests; want the cached provider answer and no new request",
			second.Origin, e.srv.Count(chatPath))
	}
	if len(second.Documents) != len(docs) || len(second.Categories) == 0 {
		t.Errorf("second ask: %+v; want the provider's categories of every document", second)
	}
	if n := testutil.ToFloat64(counterOf(t, e.reg, enhance.MetricAnswerCacheHits, map[string]string{"capability": enhance.CapCategorize})); n != 1 {
		t.Errorf("answer cache hits = %v, want 1", n)
	}
}
