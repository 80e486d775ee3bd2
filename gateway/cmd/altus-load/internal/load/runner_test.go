package load

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeTarget answers from a function and records what it was asked.
type fakeTarget struct {
	mu      sync.Mutex
	calls   []int
	noCache []bool
	answer  func(qi int) Outcome
	delay   time.Duration
}

func (f *fakeTarget) Name() string                           { return "rest" }
func (f *fakeTarget) Prepare(context.Context, []Query) error { return nil }
func (f *fakeTarget) Close() error                           { return nil }
func (f *fakeTarget) Do(ctx context.Context, qi int, noCache bool) Outcome {
	f.mu.Lock()
	f.calls = append(f.calls, qi)
	f.noCache = append(f.noCache, noCache)
	f.mu.Unlock()
	if f.delay > 0 {
		time.Sleep(f.delay) // the request's own latency
	}
	if f.answer != nil {
		return f.answer(qi)
	}
	return Outcome{}
}

func TestRunWithARequestCountSendsExactlyThatMany(t *testing.T) {
	f := &fakeTarget{answer: func(qi int) Outcome {
		if qi == 2 {
			return Outcome{Kind: "http 503 SERVICE_UNAVAILABLE", Detail: "every source failed"}
		}
		return Outcome{Cached: qi == 1}
	}}
	r := Run(context.Background(), Phase{Target: f, Concurrency: 4, Requests: 30, Cache: Uncached, Queries: []int{0, 1, 2}})

	if got := len(f.calls); got != 30 {
		t.Fatalf("target called %d times, want 30", got)
	}
	got := Result{Target: r.Target, Concurrency: r.Concurrency, Cache: r.Cache, Queries: r.Queries, Total: r.Total,
		Successes: r.Successes, Failures: r.Failures, FailureKinds: r.FailureKinds, Examples: r.Examples, CacheHits: r.CacheHits}
	want := Result{Target: "rest", Concurrency: 4, Cache: Uncached, Queries: 3, Total: 30, Successes: 20, Failures: 10,
		FailureKinds: map[string]int{"http 503 SERVICE_UNAVAILABLE": 10},
		Examples:     map[string]string{"http 503 SERVICE_UNAVAILABLE": "every source failed"}, CacheHits: 10}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Result{})); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	for i, nc := range f.noCache {
		if !nc {
			t.Fatalf("request %d of an uncached run did not ask for no-cache", i)
		}
	}
	if r.Throughput <= 0 || r.LatencyMs.Max <= 0 {
		t.Errorf("throughput %v, max latency %v: want both positive", r.Throughput, r.LatencyMs.Max)
	}
}

func TestRunRotatesThroughTheQueriesInOrder(t *testing.T) {
	f := &fakeTarget{}
	Run(context.Background(), Phase{Target: f, Concurrency: 1, Requests: 7, Cache: Uncached, Queries: []int{4, 5, 6}})
	if diff := cmp.Diff([]int{4, 5, 6, 4, 5, 6, 4}, f.calls); diff != "" {
		t.Errorf("queries sent (-want +got):\n%s", diff)
	}
}

func TestRunCachedPrimesEachQueryOnceAndAllowsTheCache(t *testing.T) {
	f := &fakeTarget{answer: func(int) Outcome { return Outcome{Cached: true} }}
	r := Run(context.Background(), Phase{Target: f, Concurrency: 2, Requests: 10, Cache: Cached, Queries: []int{0, 1}})
	if got := len(f.calls); got != 12 {
		t.Errorf("target called %d times, want 2 primes + 10 measured", got)
	}
	for i, nc := range f.noCache {
		if nc {
			t.Fatalf("request %d of a cached run asked for no-cache", i)
		}
	}
	if r.Total != 10 || r.CacheHits != 10 {
		t.Errorf("measured %d requests with %d hits, want 10 and 10 (primes not counted)", r.Total, r.CacheHits)
	}
}

func TestRunForADurationStopsAfterIt(t *testing.T) {
	f := &fakeTarget{delay: time.Millisecond}
	start := time.Now()
	r := Run(context.Background(), Phase{Target: f, Concurrency: 3, Duration: 100 * time.Millisecond, Cache: Uncached, Queries: []int{0}})
	took := time.Since(start)
	if took < 100*time.Millisecond || took > 2*time.Second {
		t.Errorf("a 100ms run took %v", took)
	}
	if r.Total == 0 || r.Total != len(f.calls) {
		t.Errorf("measured %d requests, target saw %d: want equal and positive", r.Total, len(f.calls))
	}
	if r.Seconds < 0.1 {
		t.Errorf("elapsed %vs, want at least the duration", r.Seconds)
	}
}

func TestRunStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeTarget{answer: func(int) Outcome { cancel(); return Outcome{} }}
	done := make(chan Result)
	go func() {
		done <- Run(ctx, Phase{Target: f, Concurrency: 2, Duration: time.Hour, Cache: Uncached, Queries: []int{0}})
	}()
	select {
	case r := <-done:
		if r.Failures != 0 {
			t.Errorf("in-flight requests failed on cancel: %v", r.FailureKinds)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func TestReportWarnsWhenNoCacheWasIgnoredAndWhenRateLimited(t *testing.T) {
	rep := &Report{Runs: []Result{
		{Target: "rest", Concurrency: 1, Cache: Uncached, Total: 10, Successes: 10, CacheHits: 3},
		{Target: "rest", Concurrency: 1, Cache: Cached, Total: 10, Successes: 10, CacheHits: 10},
		{Target: "rest", Concurrency: 16, Cache: Cached, Total: 10, Successes: 5, CacheHits: 1, Failures: 5,
			FailureKinds: map[string]int{"http 429 RATE_LIMIT_EXCEEDED": 5}},
		{Target: "grpc", Concurrency: 1, Cache: Uncached, Total: 4, Failures: 4, FailureKinds: map[string]int{"grpc Unimplemented": 4}},
	}}
	rep.Check()
	if got := len(rep.Warnings); got != 4 {
		t.Errorf("got %d warnings, want 4 (no-cache ignored, few hits, rate limited, all failed): %q", got, rep.Warnings)
	}
}

func TestMergeAddsTheSlicesRequestsAndTimeAndKeepsThePeakMemory(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var out []time.Duration
		for _, v := range n {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	a := Result{Target: "grpc", Concurrency: 1, Cache: Uncached, latencies: ms(1, 2, 3), elapsed: time.Second, CacheHits: 1,
		FailureKinds: map[string]int{"timeout": 1}, Examples: map[string]string{"timeout": "slow"}, Failures: 1, Rounds: 1,
		RSS: &RSSPeak{MaxKiB: map[string]int64{"search": 100, "gateway": 50}, TotalMaxKiB: 150, Samples: 4}}
	b := Result{Target: "grpc", Concurrency: 1, Cache: Uncached, latencies: ms(4, 5), elapsed: time.Second, Rounds: 1,
		FailureKinds: map[string]int{"timeout": 2, "http 503": 1}, Examples: map[string]string{"timeout": "later", "http 503": "down"}, Failures: 3,
		RSS: &RSSPeak{MaxKiB: map[string]int64{"search": 90, "gateway": 70}, TotalMaxKiB: 160, Samples: 4}}
	m := Merge([]Result{a, b})
	if m.Successes != 5 || m.Failures != 4 || m.Total != 9 || m.CacheHits != 1 || m.Rounds != 2 || m.Seconds != 2 {
		t.Errorf("merged counts: %+v", m)
	}
	if m.Throughput != 4.5 || m.SuccessThroughput != 2.5 {
		t.Errorf("throughput %v, successes %v per s; want 4.5 and 2.5 (over the 2 s of both slices)", m.Throughput, m.SuccessThroughput)
	}
	if m.LatencyMs.P50 != 3 || m.LatencyMs.Max != 5 {
		t.Errorf("latency summary %+v, want p50 3 and max 5 over both slices", m.LatencyMs)
	}
	if diff := cmp.Diff(map[string]int{"timeout": 3, "http 503": 1}, m.FailureKinds); diff != "" || m.Examples["timeout"] != "slow" {
		t.Errorf("failure kinds (-want +got):\n%s examples %v", diff, m.Examples)
	}
	want := &RSSPeak{MaxKiB: map[string]int64{"search": 100, "gateway": 70}, TotalMaxKiB: 160, Samples: 8}
	if diff := cmp.Diff(want, m.RSS); diff != "" {
		t.Errorf("memory (-want +got):\n%s", diff)
	}
	if a.Successes != 0 || len(a.latencies) != 3 {
		t.Error("Merge changed a slice")
	}
}
