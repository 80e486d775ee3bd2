package load

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything one invocation measured.
type Report struct {
	StartedAt time.Time `json:"startedAt"`
	// Host describes where the tool ran.
	Host Host `json:"host"`
	// Settings echo the options that shaped the runs.
	Settings Settings `json:"settings"`
	Runs     []Result `json:"runs"`
	Ratios   []Ratio  `json:"ratios"`
	// RSS is the suite's peak memory over every run, when sampled.
	RSS *RSSPeak `json:"rss,omitempty"`
	// Scenario is the ramp, spike or soak, when one was run instead of runs.
	Scenario *ScenarioReport `json:"scenario,omitempty"`
	// Warnings are things that make a number mean less than it seems.
	Warnings []string `json:"warnings,omitempty"`
}

// Host describes the machine of a report.
type Host struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"goVersion"`
	Hostname  string `json:"hostname"`
}

// Settings are the options of a report.
type Settings struct {
	Targets     []string `json:"targets"`
	Concurrency []int    `json:"concurrency"`
	Cache       []string `json:"cache"`
	Seconds     float64  `json:"durationSeconds,omitempty"`
	Requests    int      `json:"requests,omitempty"`
	// Rounds is how many slices each run was split into, the targets
	// taking turns.
	Rounds     int      `json:"rounds,omitempty"`
	ThinkMs    float64  `json:"thinkMs,omitempty"`
	WarmupMs   float64  `json:"warmupMs,omitempty"`
	Databases  []string `json:"databases,omitempty"`
	Limit      int      `json:"limit"`
	Queries    []Query  `json:"queries"`
	HotQueries int      `json:"hotQueries"`
	SQLSource  string   `json:"sqlStatements,omitempty"`
	Gateway    string   `json:"gateway,omitempty"`
	// Scenario and its shape: the steps' concurrencies and seconds.
	Scenario string    `json:"scenario,omitempty"`
	Steps    []int     `json:"stepConcurrency,omitempty"`
	StepSecs []float64 `json:"stepSeconds,omitempty"`
	GRPC     string    `json:"grpc,omitempty"`
}

// Check adds the warnings that the results call for.
func (r *Report) Check() {
	runs := r.Runs
	if r.Scenario != nil {
		for _, st := range r.Scenario.Steps {
			x := st.Result
			x.Cache = st.Name + " " + x.Cache
			runs = append(runs, x)
		}
	}
	for _, x := range runs {
		name := fmt.Sprintf("%s c=%d %s", x.Target, x.Concurrency, x.Cache)
		switch {
		case strings.HasSuffix(x.Cache, Uncached) && x.CacheHits > 0:
			r.Warnings = append(r.Warnings, fmt.Sprintf(
				"%s: %d of %d answers came from the result cache although the requests said %s: no-cache; "+
					"the server does not honour the option yet, so these numbers are not uncached",
				name, x.CacheHits, x.Successes, NoCacheHeader))
		case strings.HasSuffix(x.Cache, Cached) && !strings.HasSuffix(x.Cache, Uncached) && x.Successes > 0 && x.CacheHits*10 < x.Successes*9:
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: only %d of %d answers were cache hits", name, x.CacheHits, x.Successes))
		}
		for kind, n := range x.FailureKinds {
			if strings.Contains(kind, "429") || strings.Contains(kind, "RATE_LIMIT") {
				r.Warnings = append(r.Warnings, fmt.Sprintf(
					"%s: %d requests were rate limited: use API keys with a larger tier, or more keys (make bench makes 16 enterprise keys)", name, n))
			}
		}
		if x.Total > 0 && x.Successes == 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: every request failed", name))
		}
	}
}

// WriteJSON writes the report to path (indented).
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteText writes the report as tables.
func (r *Report) WriteText(w io.Writer) {
	if r.Scenario != nil {
		r.Scenario.WriteText(w)
		for _, warn := range r.Warnings {
			fmt.Fprintln(w, "\nwarning: "+warn)
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tusers\tcache\trequests\tok\tfailed\thits\treq/s\tmean\tp50\tp95\tp99\tmax ms\t")
	for _, x := range r.Runs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%s\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n",
			x.Target, x.Concurrency, x.Cache, x.Total, x.Successes, x.Failures, hits(x),
			x.Throughput, x.LatencyMs.Mean, x.LatencyMs.P50, x.LatencyMs.P95, x.LatencyMs.P99, x.LatencyMs.Max)
	}
	tw.Flush()

	var failures []string
	for _, x := range r.Runs {
		kinds := make([]string, 0, len(x.FailureKinds))
		for k := range x.FailureKinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			line := fmt.Sprintf("  %s c=%d %s: %d × %s", x.Target, x.Concurrency, x.Cache, x.FailureKinds[k], k)
			if ex := x.Examples[k]; ex != "" {
				line += " (" + truncate(ex, 160) + ")"
			}
			failures = append(failures, line)
		}
	}
	if len(failures) > 0 {
		fmt.Fprintln(w, "\nfailures:")
		for _, l := range failures {
			fmt.Fprintln(w, l)
		}
	}

	if len(r.Ratios) > 0 {
		fmt.Fprintln(w, "\ncompared with the raw SQL at the same concurrency:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target\tusers\tcache\tthroughput\tp50 overhead\tp99 overhead\t")
		for _, x := range r.Ratios {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.2fx\t%+.2f ms\t%+.2f ms\t\n", x.Target, x.Concurrency, x.Cache,
				x.Throughput, x.P50OverheadMs, x.P99OverheadMs)
		}
		tw.Flush()
	}

	if r.RSS != nil && len(r.RSS.MaxKiB) > 0 {
		fmt.Fprintf(w, "\nsuite memory, largest VmRSS over %d samples:", r.RSS.Samples)
		for _, n := range r.RSS.Names() {
			fmt.Fprintf(w, " %s %.1f MiB,", n, float64(r.RSS.MaxKiB[n])/1024)
		}
		fmt.Fprintf(w, " all together at most %.1f MiB\n", float64(r.RSS.TotalMaxKiB)/1024)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintln(w, "\nwarning: "+warn)
	}
}

func hits(x Result) string {
	if x.Target == "sql" {
		return "-"
	}
	return fmt.Sprint(x.CacheHits)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// ScenarioReport is the outcome of a ramp, spike or soak.
type ScenarioReport struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Cache  string `json:"cache"`
	// Steps are the ramp's concurrencies, the spike's phases or the soak's
	// intervals, in order.
	Steps []StepResult `json:"steps"`
	// Recovery is a spike's recovery; Drift a soak's.
	Recovery *Recovery `json:"recovery,omitempty"`
	Drift    *Drift    `json:"drift,omitempty"`
}

// WriteText writes the scenario as tables: one line per step, then the CPU
// milliseconds per request of each process per step when measured.
func (s *ScenarioReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s of %s (%s):\n", s.Name, s.Target, s.Cache)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tusers\trequests\tfailed\terror %\treq/s\tp50\tp95\tp99\tmax ms\tsuite RSS MiB\t")
	for _, x := range s.Steps {
		rss := "-"
		if x.RSS != nil && x.RSS.Samples > 0 {
			rss = fmt.Sprintf("%.1f", float64(x.RSS.TotalMaxKiB)/1024)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t\n", x.Name, x.Concurrency, x.Total, x.Failures,
			100*x.ErrorRate, x.SuccessThroughput, x.LatencyMs.P50, x.LatencyMs.P95, x.LatencyMs.P99, x.LatencyMs.Max, rss)
	}
	tw.Flush()

	var names []string
	for _, x := range s.Steps {
		if x.CPU != nil {
			for _, n := range x.CPU.Names() {
				if !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		fmt.Fprintln(w, "\nCPU ms per request by process (and CPU seconds of the step, all processes):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "step\t%s\tall\tCPU s\t\n", strings.Join(names, "\t"))
		for _, x := range s.Steps {
			if x.CPU == nil {
				continue
			}
			fmt.Fprintf(tw, "%s\t", x.Name)
			var all float64
			for _, n := range names {
				v := x.CPU.MsPerRequest[n]
				all += v
				fmt.Fprintf(tw, "%.2f\t", v)
			}
			fmt.Fprintf(tw, "%.2f\t%.1f\t\n", all, x.CPU.TotalSeconds)
		}
		tw.Flush()
	}

	if r := s.Recovery; r != nil {
		rec := "not within the recovery phase"
		if r.Seconds >= 0 {
			rec = fmt.Sprintf("%.0f s after the burst", r.Seconds)
		}
		fmt.Fprintf(w, "\nspike: p95 %.2f ms before, %.2f ms in the burst, %.2f ms after; %d failed in the burst, %d after;"+
			" throughput after / before %.2f; p95 back within %.1f× the baseline %s\n",
			r.BaselineP95Ms, r.BurstP95Ms, r.RecoveryP95Ms, r.BurstFailures, r.RecoveryFailures, r.ThroughputRatio, r.Tolerance, rec)
	}
	if d := s.Drift; d != nil {
		fmt.Fprintf(w, "\nsoak: %d intervals, last vs first: throughput %+.1f%%, p95 %+.1f%%, %d failed", d.Intervals,
			100*d.ThroughputChange, 100*d.P95Change, d.Failures)
		if d.RSSFirstKiB > 0 {
			fmt.Fprintf(w, ", suite RSS %.1f → %.1f MiB", float64(d.RSSFirstKiB)/1024, float64(d.RSSLastKiB)/1024)
		}
		fmt.Fprintln(w)
	}
}

// Compare writes the scenarios of several reports side by side, one line
// per step: successful req/s, p50, p95 and error rate under each label, and
// the throughput of each report over the first's.
func Compare(w io.Writer, labels []string, reports []*Report) {
	if len(reports) == 0 {
		return
	}
	var names []string
	for _, r := range reports {
		if r.Scenario == nil {
			continue
		}
		for _, st := range r.Scenario.Steps {
			if !slices.Contains(names, st.Name) {
				names = append(names, st.Name)
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "step\t")
	for i, l := range labels {
		fmt.Fprintf(tw, "%s req/s\tp50\tp95\terr %%\t", l)
		if i > 0 {
			fmt.Fprintf(tw, "×%s\t", labels[0])
		}
	}
	fmt.Fprintln(tw)
	find := func(r *Report, name string) *StepResult {
		if r.Scenario == nil {
			return nil
		}
		for i := range r.Scenario.Steps {
			if r.Scenario.Steps[i].Name == name {
				return &r.Scenario.Steps[i]
			}
		}
		return nil
	}
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t", n)
		base := find(reports[0], n)
		for i, r := range reports {
			st := find(r, n)
			if st == nil {
				fmt.Fprint(tw, "-\t-\t-\t-\t")
			} else {
				fmt.Fprintf(tw, "%.1f\t%.2f\t%.2f\t%.2f\t", st.SuccessThroughput, st.LatencyMs.P50, st.LatencyMs.P95, 100*st.ErrorRate)
			}
			if i > 0 {
				if st != nil && base != nil && base.SuccessThroughput > 0 {
					fmt.Fprintf(tw, "%.2f\t", st.SuccessThroughput/base.SuccessThroughput)
				} else {
					fmt.Fprint(tw, "-\t")
				}
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
