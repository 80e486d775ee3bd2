package load

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStepsOfEachScenario(t *testing.T) {
	s := time.Second
	tests := []struct {
		name string
		got  []Step
		want []Step
	}{
		{"ramp holds each level in order", RampSteps([]int{1, 4, 16}, 10*s), []Step{
			{"c=1", 1, 10 * s}, {"c=4", 4, 10 * s}, {"c=16", 16, 10 * s}}},
		{"spike bursts to a multiple and returns to the baseline", SpikeSteps(4, 8, 10*s, 5*s, 15*s), []Step{
			{"baseline", 4, 10 * s}, {"burst", 32, 5 * s}, {"recovery", 4, 15 * s}}},
		{"soak is cut into intervals, the last one shorter", SoakSteps(8, 70*s, 30*s), []Step{
			{"interval 1", 8, 30 * s}, {"interval 2", 8, 30 * s}, {"interval 3", 8, 10 * s}}},
		{"soak with an interval longer than the run is one interval", SoakSteps(2, 5*s, time.Minute), []Step{
			{"interval 1", 2, 5 * s}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

// stepCounter counts, per schedule step, the requests in flight at once,
// and lets a step end once it has started enough requests (no clock).
type stepCounter struct {
	mu       sync.Mutex
	inFlight map[int]int
	peak     map[int]int
	started  map[int]int
	enough   map[int]chan struct{}
	want     int
}

func (c *stepCounter) observe(i int, begin bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !begin {
		c.inFlight[i]--
		return
	}
	c.inFlight[i]++
	c.peak[i] = max(c.peak[i], c.inFlight[i])
	c.started[i]++
	if c.started[i] == c.want {
		close(c.enough[i])
	}
}

func TestRunScheduleCountsEachRequestInItsStepAndNeverExceedsTheStepsUsers(t *testing.T) {
	steps := SpikeSteps(2, 4, time.Hour, time.Hour, time.Hour)
	c := &stepCounter{inFlight: map[int]int{}, peak: map[int]int{}, started: map[int]int{}, want: 200,
		enough: map[int]chan struct{}{0: make(chan struct{}), 1: make(chan struct{}), 2: make(chan struct{})}}
	// Each request takes a moment, so that the users' requests overlap.
	target := &fakeTarget{delay: 100 * time.Microsecond}
	var ended []int
	sched := Schedule{Target: target, Steps: steps, Cache: Uncached, Queries: []int{0, 1, 2},
		StepEnded: func(i int) { ended = append(ended, i) },
		// A step lasts until it has started 200 requests.
		wait:    func(ctx context.Context, i int, _ time.Duration) { <-c.enough[i] },
		observe: c.observe,
	}
	res := RunSchedule(context.Background(), sched)

	if diff := cmp.Diff([]int{0, 1, 2}, ended); diff != "" {
		t.Errorf("StepEnded calls (-want +got):\n%s", diff)
	}
	if len(res) != 3 {
		t.Fatalf("%d results, want 3", len(res))
	}
	for i, r := range res {
		if r.Name != steps[i].Name || r.Concurrency != steps[i].Concurrency {
			t.Errorf("result %d is %s c=%d, want %s c=%d", i, r.Name, r.Concurrency, steps[i].Name, steps[i].Concurrency)
		}
		if r.Total != c.started[i] || r.Total < 200 || r.Total != r.Successes+r.Failures {
			t.Errorf("%s: %d requests (%d ok, %d failed), %d started in it; want the same, at least the 200 that ended it",
				r.Name, r.Total, r.Successes, r.Failures, c.started[i])
		}
		if c.peak[i] > steps[i].Concurrency {
			t.Errorf("%s: %d of its requests in flight at once, more than its %d users", r.Name, c.peak[i], steps[i].Concurrency)
		}
	}
	if c.peak[1] <= steps[0].Concurrency {
		t.Errorf("the burst never had more than %d requests in flight: its extra users did not start", c.peak[1])
	}
}

func TestRunScheduleStopsAtTheStepWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	target := &fakeTarget{}
	res := RunSchedule(ctx, Schedule{Target: target, Steps: RampSteps([]int{1, 2, 4}, time.Hour), Queries: []int{0},
		wait: func(ctx context.Context, i int, _ time.Duration) {
			if i == 1 {
				cancel()
			}
		}})
	if len(res) != 2 {
		t.Fatalf("%d results, want 2 (the step during which the run was cancelled is reported, the rest not)", len(res))
	}
}

func ok(at, lat time.Duration) sample { return sample{at: at, latency: lat} }
func failed(at time.Duration) sample {
	return sample{at: at, out: Outcome{Kind: "timeout"}}
}

func TestWindowsCutAStepBySecondOfRequestStart(t *testing.T) {
	ms := time.Millisecond
	xs := []sample{ok(100*ms, 10*ms), ok(900*ms, 30*ms), failed(1500 * ms), ok(1999*ms, 5*ms), ok(2600*ms, 7*ms)}
	got := Windows(xs, time.Second, 2500*ms)
	want := []Window{
		{StartS: 0, Requests: 2, P95Ms: 30},
		{StartS: 1, Requests: 2, Failures: 1, P95Ms: 5},
		{StartS: 2, Requests: 1, P95Ms: 7}, // started after the step's end: the last window
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("windows (-want +got):\n%s", diff)
	}
}

func step(name string, tput, p95 float64, failures int, windows ...Window) StepResult {
	return StepResult{Name: name, PerSecond: windows,
		Result: Result{SuccessThroughput: tput, Failures: failures, LatencyMs: Latency{P95: p95}}}
}

func TestSpikeRecoveryFindsTheFirstCalmSecondAfterTheBurst(t *testing.T) {
	tests := []struct {
		name     string
		recovery StepResult
		want     float64
	}{
		{"p95 back within tolerance in the third second", step("recovery", 90, 12, 0,
			Window{StartS: 0, Requests: 9, P95Ms: 80}, Window{StartS: 1, Requests: 9, P95Ms: 16}, Window{StartS: 2, Requests: 9, P95Ms: 14}), 2},
		{"a calm second with a failure does not count", step("recovery", 90, 12, 1,
			Window{StartS: 0, Requests: 9, Failures: 1, P95Ms: 10}, Window{StartS: 1, Requests: 9, P95Ms: 11}), 1},
		{"never recovered", step("recovery", 90, 50, 0,
			Window{StartS: 0, Requests: 9, P95Ms: 80}, Window{StartS: 1, Requests: 9, P95Ms: 60}), -1},
		{"an empty second does not count", step("recovery", 90, 12, 0,
			Window{StartS: 0, Requests: 0}, Window{StartS: 1, Requests: 3, P95Ms: 9}), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := []StepResult{step("baseline", 100, 10, 0), step("burst", 120, 90, 3), tt.recovery}
			got := SpikeRecovery(steps, 1.5)
			if got.Seconds != tt.want {
				t.Errorf("recovery after %v s, want %v", got.Seconds, tt.want)
			}
			if got.ThroughputRatio != 0.9 || got.BurstFailures != 3 || got.BaselineP95Ms != 10 || got.BurstP95Ms != 90 {
				t.Errorf("recovery = %+v", got)
			}
		})
	}
	if SpikeRecovery([]StepResult{step("baseline", 1, 1, 0)}, 1.5) != nil {
		t.Error("a spike without its three phases has no recovery")
	}
}

func TestSoakDriftComparesTheLastIntervalWithTheFirst(t *testing.T) {
	first := step("interval 1", 200, 10, 0)
	first.RSS = &RSSPeak{TotalMaxKiB: 1000}
	mid := step("interval 2", 190, 11, 2)
	last := step("interval 3", 150, 15, 1)
	last.RSS = &RSSPeak{TotalMaxKiB: 1500}
	got := SoakDrift([]StepResult{first, mid, last})
	want := &Drift{Intervals: 3, ThroughputChange: -0.25, P95Change: 0.5, Failures: 3, RSSFirstKiB: 1000, RSSLastKiB: 1500}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("drift (-want +got):\n%s", diff)
	}
}

func TestCPUDeltaPerProcessAndPerRequest(t *testing.T) {
	before := map[string]float64{"gateway": 10, "search": 5, "restarted": 9}
	after := map[string]float64{"gateway": 12, "search": 5.5, "restarted": 1, "new": 3}
	got := CPUDelta(before, after, 1000)
	want := &CPUUse{
		Seconds:      map[string]float64{"gateway": 2, "search": 0.5},
		MsPerRequest: map[string]float64{"gateway": 2, "search": 0.5},
		TotalSeconds: 2.5,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CPU (-want +got):\n%s", diff)
	}
}

func TestParseStatCPUReadsUtimeAndStime(t *testing.T) {
	tests := []struct {
		stat string
		want float64
		ok   bool
	}{
		{"1234 (gateway) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 9 0 100 0 0", 4, true},
		{"77 (a name) with) R 1 77 77 0 -1 0 0 0 0 0 3 7 0 0", 0.1, true},
		{"1 (short) S 1 2", 0, false},
		{"no parenthesis", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseStatCPU(tt.stat)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseStatCPU(%q) = %v, %v; want %v, %v", tt.stat, got, ok, tt.want, tt.ok)
		}
	}
}
