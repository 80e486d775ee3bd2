package load

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Cache modes of a phase.
const (
	// Uncached sends every query with the no-cache request option.
	Uncached = "uncached"
	// Cached repeats a few queries, primed once, to measure cache hits.
	Cached = "cached"
)

// Phase is one measured run: concurrent users calling one target.
type Phase struct {
	Target Target
	// Concurrency is the number of simulated users.
	Concurrency int
	// Duration bounds the run when Requests is zero; Requests, when set,
	// is the total number of requests to send.
	Duration time.Duration
	Requests int
	// Think is the most a user waits between two requests (a uniformly
	// random pause, as the scaling guide's simulateUser does); zero: none.
	Think time.Duration
	// Warmup is run first and not measured.
	Warmup time.Duration
	// Timeout bounds each request.
	Timeout time.Duration
	// Cache is Uncached or Cached.
	Cache string
	// Queries are the indexes of the queries the users rotate through.
	Queries []int
	// Label names the queries' mode mix in the report.
	Label string
}

// Result is the outcome of one phase.
type Result struct {
	Target      string  `json:"target"`
	Concurrency int     `json:"concurrency"`
	Cache       string  `json:"cache"`
	Queries     int     `json:"distinctQueries"`
	Seconds     float64 `json:"seconds"`
	Total       int     `json:"total"`
	Successes   int     `json:"successes"`
	Failures    int     `json:"failures"`
	// FailureKinds counts failures by kind; Examples holds one message per kind.
	FailureKinds map[string]int    `json:"failureKinds,omitempty"`
	Examples     map[string]string `json:"failureExamples,omitempty"`
	// CacheHits counts successful answers that said they came from the cache.
	CacheHits int `json:"cacheHits"`
	// Throughput is requests (successes and failures) per second.
	Throughput float64 `json:"throughput"`
	// SuccessThroughput is successful requests per second.
	SuccessThroughput float64 `json:"successThroughput"`
	// LatencyMs summarises the successful requests.
	LatencyMs Latency `json:"latencyMs"`
	// RSS is the suite's memory during the phase, when sampled.
	RSS *RSSPeak `json:"rss,omitempty"`
	// Rounds is how many slices the run was made of (Merge), 1 for one.
	Rounds int `json:"rounds,omitempty"`

	// latencies are the successful requests' latencies (for Merge).
	latencies []time.Duration
	elapsed   time.Duration
}

// worker is one user's tally.
type tally struct {
	latencies []time.Duration
	kinds     map[string]int
	examples  map[string]string
	hits      int
}

// Run runs the phase: warm-up (unmeasured), then the measured requests.
// In-flight requests finish when the duration ends; elapsed time runs to
// the last of them.
func Run(ctx context.Context, p Phase) Result {
	if p.Concurrency < 1 {
		p.Concurrency = 1
	}
	if p.Timeout <= 0 {
		p.Timeout = 30 * time.Second
	}
	noCache := p.Cache != Cached
	if p.Cache == Cached {
		// Prime: each hot query once, so that the measured requests are hits.
		for _, qi := range p.Queries {
			rctx, cancel := context.WithTimeout(ctx, p.Timeout)
			p.Target.Do(rctx, qi, false)
			cancel()
		}
	}
	if p.Warmup > 0 {
		users(ctx, p, noCache, p.Warmup, 0)
	}
	start := time.Now()
	tallies := users(ctx, p, noCache, p.Duration, p.Requests)
	elapsed := time.Since(start)

	r := Result{
		Target: p.Target.Name(), Concurrency: p.Concurrency, Cache: p.Cache, Queries: len(p.Queries),
		Seconds: round3(elapsed.Seconds()), FailureKinds: map[string]int{}, Examples: map[string]string{},
	}
	if r.Target == "sql" {
		r.Cache = "-"
	}
	var all []time.Duration
	for _, t := range tallies {
		all = append(all, t.latencies...)
		r.CacheHits += t.hits
		for k, n := range t.kinds {
			r.FailureKinds[k] += n
			r.Failures += n
			if _, ok := r.Examples[k]; !ok && t.examples[k] != "" {
				r.Examples[k] = t.examples[k]
			}
		}
	}
	r.latencies, r.elapsed, r.Rounds = all, elapsed, 1
	r.summarize()
	return r
}

// summarize fills the counts, throughputs and latency summary from the
// latencies, failures and elapsed time.
func (r *Result) summarize() {
	r.Successes = len(r.latencies)
	r.Total = r.Successes + r.Failures
	r.Seconds = round3(r.elapsed.Seconds())
	r.Throughput = round3(Throughput(r.Total, r.elapsed))
	r.SuccessThroughput = round3(Throughput(r.Successes, r.elapsed))
	r.LatencyMs = Summarize(r.latencies)
}

// Merge returns the result of a run made of slices of the same target,
// concurrency and cache mode run at different times (interleaved with
// other targets' slices): its requests are all the slices' requests, its
// time the sum of theirs, its memory the peak over them.
func Merge(slices []Result) Result {
	if len(slices) == 0 {
		return Result{}
	}
	out := slices[0]
	out.FailureKinds, out.Examples, out.latencies, out.RSS = map[string]int{}, map[string]string{}, nil, nil
	out.Failures, out.CacheHits, out.elapsed, out.Rounds = 0, 0, 0, 0
	for _, s := range slices {
		out.latencies = append(out.latencies, s.latencies...)
		out.elapsed += s.elapsed
		out.CacheHits += s.CacheHits
		out.Rounds += max(s.Rounds, 1)
		for k, n := range s.FailureKinds {
			out.FailureKinds[k] += n
			out.Failures += n
			if _, ok := out.Examples[k]; !ok && s.Examples[k] != "" {
				out.Examples[k] = s.Examples[k]
			}
		}
		out.RSS = peakOf(out.RSS, s.RSS)
	}
	out.summarize()
	return out
}

// peakOf returns the larger of two memory peaks, process by process.
func peakOf(a, b *RSSPeak) *RSSPeak {
	if a == nil || b == nil {
		if a == nil {
			return b
		}
		return a
	}
	p := &RSSPeak{MaxKiB: map[string]int64{}, TotalMaxKiB: max(a.TotalMaxKiB, b.TotalMaxKiB), Samples: a.Samples + b.Samples}
	for _, m := range []map[string]int64{a.MaxKiB, b.MaxKiB} {
		for k, v := range m {
			p.MaxKiB[k] = max(p.MaxKiB[k], v)
		}
	}
	return p
}

// users runs p.Concurrency users until d has passed (n == 0) or n requests
// were sent, and returns each user's tally.
func users(ctx context.Context, p Phase, noCache bool, d time.Duration, n int) []*tally {
	stop := make(chan struct{})
	var once sync.Once
	halt := func() { once.Do(func() { close(stop) }) }
	if n <= 0 {
		t := time.AfterFunc(d, halt)
		defer t.Stop()
	}
	go func() {
		select {
		case <-ctx.Done():
			halt()
		case <-stop:
		}
	}()
	var (
		sent atomic.Int64
		seq  atomic.Uint64
		wg   sync.WaitGroup
	)
	tallies := make([]*tally, p.Concurrency)
	for w := range tallies {
		t := &tally{kinds: map[string]int{}, examples: map[string]string{}}
		tallies[w] = t
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for {
				select {
				case <-stop:
					return
				default:
				}
				if n > 0 && sent.Add(1) > int64(n) {
					halt()
					return
				}
				qi := p.Queries[int((seq.Add(1)-1)%uint64(len(p.Queries)))]
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.Timeout)
				t0 := time.Now()
				out := p.Target.Do(rctx, qi, noCache)
				lat := time.Since(t0)
				cancel()
				if out.OK() {
					t.latencies = append(t.latencies, lat)
					if out.Cached {
						t.hits++
					}
				} else {
					t.kinds[out.Kind]++
					if _, ok := t.examples[out.Kind]; !ok {
						t.examples[out.Kind] = out.Detail
					}
				}
				if p.Think > 0 {
					pause := time.NewTimer(time.Duration(rng.Int64N(int64(p.Think))))
					select {
					case <-stop:
						pause.Stop()
						return
					case <-pause.C:
					}
				}
			}
		}()
	}
	wg.Wait()
	halt()
	return tallies
}

// Ratio compares a target with the raw SQL at the same concurrency.
type Ratio struct {
	Target      string `json:"target"`
	Concurrency int    `json:"concurrency"`
	Cache       string `json:"cache"`
	// Throughput is the target's successful requests per second divided by
	// the raw SQL's.
	Throughput float64 `json:"throughputVsSql"`
	// P50OverheadMs and P99OverheadMs are the target's latency minus the
	// raw SQL's.
	P50OverheadMs float64 `json:"p50OverheadMs"`
	P99OverheadMs float64 `json:"p99OverheadMs"`
}

// Ratios compares every rest and grpc result with the sql result of the
// same concurrency (when there is one with successes).
func Ratios(results []Result) []Ratio {
	base := map[int]Result{}
	for _, r := range results {
		if r.Target == "sql" && r.Successes > 0 {
			base[r.Concurrency] = r
		}
	}
	var out []Ratio
	for _, r := range results {
		b, ok := base[r.Concurrency]
		if r.Target == "sql" || !ok || r.Successes == 0 {
			continue
		}
		out = append(out, Ratio{
			Target: r.Target, Concurrency: r.Concurrency, Cache: r.Cache,
			Throughput:    round3(r.SuccessThroughput / b.SuccessThroughput),
			P50OverheadMs: round3(r.LatencyMs.P50 - b.LatencyMs.P50),
			P99OverheadMs: round3(r.LatencyMs.P99 - b.LatencyMs.P99),
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Concurrency != out[j].Concurrency {
			return out[i].Concurrency < out[j].Concurrency
		}
		return out[i].Cache > out[j].Cache // uncached first
	})
	return out
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
