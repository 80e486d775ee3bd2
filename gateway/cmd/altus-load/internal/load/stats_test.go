package load

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func msList(vs ...int) []time.Duration {
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentileIsTheNearestRank(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty is zero", nil, 50, 0},
		{"one value is every percentile", msList(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100 is 50", hundred, 50, 50 * time.Millisecond},
		{"p95 of 1..100 is 95", hundred, 95, 95 * time.Millisecond},
		{"p99 of 1..100 is 99", hundred, 99, 99 * time.Millisecond},
		{"p100 is the max", hundred, 100, 100 * time.Millisecond},
		{"p50 of four values is the second", msList(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of four values is the last", msList(1, 2, 3, 4), 99, 4 * time.Millisecond},
		{"p1 of four values is the first", msList(1, 2, 3, 4), 1, 1 * time.Millisecond},
		{"p0 rounds up to the first", msList(5, 6), 0, 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(p%.0f) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeSortsAndReportsMilliseconds(t *testing.T) {
	ds := []time.Duration{
		4 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond,
		1500 * time.Microsecond,
	}
	got := Summarize(ds)
	want := Latency{Mean: 2.3, Min: 1, P50: 2, P95: 4, P99: 4, Max: 4}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Latency{}, Summarize(nil)); diff != "" {
		t.Errorf("Summarize(nil) (-want +got):\n%s", diff)
	}
}

func TestThroughputIsRequestsPerSecond(t *testing.T) {
	tests := []struct {
		name     string
		requests int
		elapsed  time.Duration
		want     float64
	}{
		{"1000 in 2s", 1000, 2 * time.Second, 500},
		{"10 in 250ms", 10, 250 * time.Millisecond, 40},
		{"nothing elapsed", 10, 0, 0},
		{"no requests", 0, time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Throughput(tt.requests, tt.elapsed); got != tt.want {
				t.Errorf("Throughput(%d, %v) = %v, want %v", tt.requests, tt.elapsed, got, tt.want)
			}
		})
	}
}

func TestRatiosCompareWithTheSQLRunOfTheSameConcurrency(t *testing.T) {
	results := []Result{
		{Target: "sql", Concurrency: 1, Cache: "-", Successes: 100, SuccessThroughput: 200, LatencyMs: Latency{P50: 4, P99: 10}},
		{Target: "rest", Concurrency: 1, Cache: Uncached, Successes: 90, SuccessThroughput: 180, LatencyMs: Latency{P50: 5.5, P99: 13}},
		{Target: "grpc", Concurrency: 1, Cache: Cached, Successes: 90, SuccessThroughput: 1000, LatencyMs: Latency{P50: 1, P99: 2}},
		{Target: "sql", Concurrency: 16, Cache: "-", Successes: 100, SuccessThroughput: 400, LatencyMs: Latency{P50: 30, P99: 80}},
		{Target: "rest", Concurrency: 16, Cache: Uncached, Successes: 0},                      // nothing succeeded: no ratio
		{Target: "rest", Concurrency: 4, Cache: Uncached, Successes: 5, SuccessThroughput: 9}, // no sql at c=4
	}
	got := Ratios(results)
	want := []Ratio{
		{Target: "rest", Concurrency: 1, Cache: Uncached, Throughput: 0.9, P50OverheadMs: 1.5, P99OverheadMs: 3},
		{Target: "grpc", Concurrency: 1, Cache: Cached, Throughput: 5, P50OverheadMs: -3, P99OverheadMs: -8},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Ratios (-want +got):\n%s", diff)
	}
}
