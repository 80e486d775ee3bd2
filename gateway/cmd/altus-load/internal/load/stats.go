// Package load is the load tool of Altus: N concurrent users sending
// searches to a target (the REST gateway, the gRPC search service, or the
// raw SQL statement on the source database) for a duration or a request
// count, measured like the scaling guide's PerformanceBenchmark.
package load

import (
	"math"
	"slices"
	"time"
)

// Latency summarises the latencies of the successful requests of a run, in
// milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value such that at least p% of the
// values are less than or equal to it. Zero for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Summarize computes the latency summary of ds (sorted in place).
func Summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Latency{
		Mean: ms(sum / time.Duration(len(ds))),
		Min:  ms(ds[0]),
		P50:  ms(Percentile(ds, 50)),
		P95:  ms(Percentile(ds, 95)),
		P99:  ms(Percentile(ds, 99)),
		Max:  ms(ds[len(ds)-1]),
	}
}

// Throughput is requests per second over elapsed; zero when nothing elapsed.
func Throughput(requests int, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(requests) / elapsed.Seconds()
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
