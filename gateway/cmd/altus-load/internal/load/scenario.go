package load

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Scenarios of the scaling guide, besides the plain runs of Run.
const (
	// ScenarioRamp holds each of a list of concurrencies in turn: the
	// throughput/latency curve.
	ScenarioRamp = "ramp"
	// ScenarioSpike holds a baseline, bursts to a multiple of it, and goes
	// back to the baseline: how a sudden burst is absorbed and how fast
	// latency recovers.
	ScenarioSpike = "spike"
	// ScenarioSoak holds one concurrency for a long time, reported per
	// interval: drift of latency, throughput and memory.
	ScenarioSoak = "soak"
)

// Step is one stage of a scenario: a number of users held for a duration.
type Step struct {
	// Name says what the step is ("c=8", "baseline", "burst", "recovery",
	// "interval 3").
	Name        string
	Concurrency int
	Duration    time.Duration
}

// RampSteps holds each concurrency for d, in the order given.
func RampSteps(levels []int, d time.Duration) []Step {
	out := make([]Step, 0, len(levels))
	for _, c := range levels {
		out = append(out, Step{Name: fmt.Sprintf("c=%d", c), Concurrency: c, Duration: d})
	}
	return out
}

// SpikeSteps holds base users for baseline, factor times as many for burst,
// then base users again for recovery.
func SpikeSteps(base, factor int, baseline, burst, recovery time.Duration) []Step {
	return []Step{
		{Name: "baseline", Concurrency: base, Duration: baseline},
		{Name: "burst", Concurrency: base * factor, Duration: burst},
		{Name: "recovery", Concurrency: base, Duration: recovery},
	}
}

// SoakSteps holds c users for total, cut into intervals of interval (the
// last one shorter when total is not a multiple).
func SoakSteps(c int, total, interval time.Duration) []Step {
	if interval <= 0 || interval > total {
		interval = total
	}
	var out []Step
	for left, i := total, 1; left > 0; i++ {
		d := min(interval, left)
		out = append(out, Step{Name: fmt.Sprintf("interval %d", i), Concurrency: c, Duration: d})
		left -= d
	}
	return out
}

// Schedule is a scenario's load: the steps run back to back under
// continuous load (users are added or retired at each step boundary, the
// others keep going), and each request counts in the step it started in.
type Schedule struct {
	Target  Target
	Steps   []Step
	Think   time.Duration
	Timeout time.Duration
	// Cache is Uncached or Cached (the queries are primed first).
	Cache   string
	Queries []int
	// StepEnded, when set, is called as each step ends, before the next
	// begins (e.g. to read the memory and CPU of the suite for the step).
	StepEnded func(i int)
	// wait holds step i for d; tests replace it (default: a timer that
	// ctx cuts short).
	wait func(ctx context.Context, i int, d time.Duration)
	// observe, when set, is told as a request of step i begins and ends
	// (tests).
	observe func(i int, begin bool)
}

// sample is one request.
type sample struct {
	step    int
	at      time.Duration // start, since the step began
	latency time.Duration
	out     Outcome
}

// StepResult is the outcome of one step.
type StepResult struct {
	Name string `json:"name"`
	Result
	// ErrorRate is failures / requests.
	ErrorRate float64 `json:"errorRate"`
	// PerSecond is the step cut into one-second windows by request start.
	PerSecond []Window `json:"perSecond,omitempty"`
	// CPU is the CPU time each suite process used during the step, when
	// sampled.
	CPU *CPUUse `json:"cpu,omitempty"`
}

// RunSchedule runs the steps and returns one result per step (fewer when ctx
// ends early).
func RunSchedule(ctx context.Context, s Schedule) []StepResult {
	if len(s.Steps) == 0 {
		return nil
	}
	if s.Timeout <= 0 {
		s.Timeout = 30 * time.Second
	}
	if s.wait == nil {
		s.wait = func(ctx context.Context, _ int, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
	}
	noCache := s.Cache != Cached
	if s.Cache == Cached {
		for _, qi := range s.Queries {
			rctx, cancel := context.WithTimeout(ctx, s.Timeout)
			s.Target.Do(rctx, qi, false)
			cancel()
		}
	}
	maxC := 0
	for _, st := range s.Steps {
		maxC = max(maxC, st.Concurrency)
	}

	var (
		mu      sync.Mutex
		cur     = 0
		begun   = time.Now()
		changed = make(chan struct{})
		seq     uint64
	)
	state := func() (int, time.Time, chan struct{}) {
		mu.Lock()
		defer mu.Unlock()
		return cur, begun, changed
	}
	advance := func(to int) {
		mu.Lock()
		cur, begun = to, time.Now()
		close(changed)
		changed = make(chan struct{})
		mu.Unlock()
	}
	nextQuery := func() int {
		mu.Lock()
		defer mu.Unlock()
		seq++
		return s.Queries[int((seq-1)%uint64(len(s.Queries)))]
	}

	samples := make([][]sample, maxC)
	var wg sync.WaitGroup
	for w := 0; w < maxC; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for {
				i, stepStart, ch := state()
				if i >= len(s.Steps) {
					return
				}
				if w >= s.Steps[i].Concurrency {
					<-ch
					continue
				}
				qi := nextQuery()
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.Timeout)
				if s.observe != nil {
					s.observe(i, true)
				}
				t0 := time.Now()
				out := s.Target.Do(rctx, qi, noCache)
				lat := time.Since(t0)
				cancel()
				if s.observe != nil {
					s.observe(i, false)
				}
				samples[w] = append(samples[w], sample{step: i, at: t0.Sub(stepStart), latency: lat, out: out})
				if s.Think > 0 {
					pause := time.NewTimer(time.Duration(rng.Int64N(int64(s.Think))))
					select {
					case <-ch:
						pause.Stop()
					case <-pause.C:
					}
				}
			}
		}()
	}

	elapsed := make([]time.Duration, 0, len(s.Steps))
	for i, st := range s.Steps {
		if i > 0 {
			advance(i)
		}
		_, start, _ := state()
		s.wait(ctx, i, st.Duration)
		elapsed = append(elapsed, time.Since(start))
		if s.StepEnded != nil {
			s.StepEnded(i)
		}
		if ctx.Err() != nil {
			break
		}
	}
	advance(len(s.Steps))
	wg.Wait()

	byStep := make([][]sample, len(elapsed))
	for _, ws := range samples {
		for _, x := range ws {
			if x.step < len(byStep) {
				byStep[x.step] = append(byStep[x.step], x)
			}
		}
	}
	out := make([]StepResult, len(elapsed))
	for i := range elapsed {
		st := s.Steps[i]
		r := summarizeStep(byStep[i], elapsed[i])
		r.Name, r.Target, r.Concurrency, r.Cache, r.Queries = st.Name, s.Target.Name(), st.Concurrency, s.Cache, len(s.Queries)
		if r.Target == "sql" {
			r.Cache = "-"
		}
		out[i] = r
	}
	return out
}

// summarizeStep computes a step's result from its requests.
func summarizeStep(xs []sample, elapsed time.Duration) StepResult {
	r := StepResult{Result: Result{Seconds: round3(elapsed.Seconds()), FailureKinds: map[string]int{}, Examples: map[string]string{}}}
	var lats []time.Duration
	for _, x := range xs {
		if x.out.OK() {
			lats = append(lats, x.latency)
			if x.out.Cached {
				r.CacheHits++
			}
			continue
		}
		r.Failures++
		r.FailureKinds[x.out.Kind]++
		if _, ok := r.Examples[x.out.Kind]; !ok {
			r.Examples[x.out.Kind] = x.out.Detail
		}
	}
	r.Successes = len(lats)
	r.Total = len(xs)
	r.Throughput = round3(Throughput(r.Total, elapsed))
	r.SuccessThroughput = round3(Throughput(r.Successes, elapsed))
	r.LatencyMs = Summarize(lats)
	if r.Total > 0 {
		r.ErrorRate = round3(float64(r.Failures) / float64(r.Total))
	}
	r.PerSecond = Windows(xs, time.Second, elapsed)
	return r
}

// Window is one slice of a step by request start time.
type Window struct {
	// StartS is the window's start in seconds since the step began.
	StartS   float64 `json:"startS"`
	Requests int     `json:"requests"`
	Failures int     `json:"failures"`
	// P95Ms is the 95th percentile latency of the window's successes.
	P95Ms float64 `json:"p95Ms"`
}

// Windows cuts a step's requests into windows of width by start time,
// covering [0, elapsed) (a request started at or after elapsed goes in the
// last window).
func Windows(xs []sample, width, elapsed time.Duration) []Window {
	if width <= 0 || elapsed <= 0 {
		return nil
	}
	n := int(math.Ceil(float64(elapsed) / float64(width)))
	lats := make([][]time.Duration, n)
	out := make([]Window, n)
	for i := range out {
		out[i].StartS = round3((time.Duration(i) * width).Seconds())
	}
	for _, x := range xs {
		i := min(max(int(x.at/width), 0), n-1)
		out[i].Requests++
		if x.out.OK() {
			lats[i] = append(lats[i], x.latency)
		} else {
			out[i].Failures++
		}
	}
	for i := range out {
		slices.Sort(lats[i])
		out[i].P95Ms = ms(Percentile(lats[i], 95))
	}
	return out
}

// Recovery says how the load after a burst compares with the load before.
type Recovery struct {
	// BaselineP95Ms and RecoveryP95Ms are the p95 latencies of the
	// baseline and recovery steps; BurstP95Ms of the burst.
	BaselineP95Ms float64 `json:"baselineP95Ms"`
	BurstP95Ms    float64 `json:"burstP95Ms"`
	RecoveryP95Ms float64 `json:"recoveryP95Ms"`
	// ThroughputRatio is the recovery step's successful requests per second
	// over the baseline's.
	ThroughputRatio float64 `json:"throughputRatio"`
	// BurstFailures and RecoveryFailures count failed requests.
	BurstFailures    int `json:"burstFailures"`
	RecoveryFailures int `json:"recoveryFailures"`
	// Seconds is how long after the burst ended the first one-second
	// window came whose p95 was within Tolerance times the baseline p95
	// with no failures (-1: none did).
	Seconds   float64 `json:"recoverySeconds"`
	Tolerance float64 `json:"tolerance"`
}

// SpikeRecovery compares the recovery step with the baseline step of a
// spike (steps in SpikeSteps order).
func SpikeRecovery(steps []StepResult, tolerance float64) *Recovery {
	if len(steps) < 3 {
		return nil
	}
	base, burst, rec := steps[0], steps[1], steps[2]
	r := &Recovery{
		BaselineP95Ms: base.LatencyMs.P95, BurstP95Ms: burst.LatencyMs.P95, RecoveryP95Ms: rec.LatencyMs.P95,
		BurstFailures: burst.Failures, RecoveryFailures: rec.Failures, Seconds: -1, Tolerance: tolerance,
	}
	if base.SuccessThroughput > 0 {
		r.ThroughputRatio = round3(rec.SuccessThroughput / base.SuccessThroughput)
	}
	for _, w := range rec.PerSecond {
		if w.Requests > 0 && w.Failures == 0 && w.P95Ms <= tolerance*base.LatencyMs.P95 {
			r.Seconds = w.StartS
			break
		}
	}
	return r
}

// Drift compares the last interval of a soak with the first.
type Drift struct {
	Intervals int `json:"intervals"`
	// ThroughputChange and P95Change are (last - first) / first.
	ThroughputChange float64 `json:"throughputChange"`
	P95Change        float64 `json:"p95Change"`
	// Failures over every interval.
	Failures int `json:"failures"`
	// RSSFirstKiB and RSSLastKiB are the suite's largest total VmRSS in the
	// first and the last interval, when sampled.
	RSSFirstKiB int64 `json:"rssFirstKiB,omitempty"`
	RSSLastKiB  int64 `json:"rssLastKiB,omitempty"`
}

// SoakDrift compares the last interval with the first.
func SoakDrift(steps []StepResult) *Drift {
	if len(steps) == 0 {
		return nil
	}
	first, last := steps[0], steps[len(steps)-1]
	d := &Drift{Intervals: len(steps)}
	for _, s := range steps {
		d.Failures += s.Failures
	}
	if first.SuccessThroughput > 0 {
		d.ThroughputChange = round3((last.SuccessThroughput - first.SuccessThroughput) / first.SuccessThroughput)
	}
	if first.LatencyMs.P95 > 0 {
		d.P95Change = round3((last.LatencyMs.P95 - first.LatencyMs.P95) / first.LatencyMs.P95)
	}
	if first.RSS != nil && last.RSS != nil {
		d.RSSFirstKiB, d.RSSLastKiB = first.RSS.TotalMaxKiB, last.RSS.TotalMaxKiB
	}
	return d
}
