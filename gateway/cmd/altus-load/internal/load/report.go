package load

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
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
	ThinkMs     float64  `json:"thinkMs,omitempty"`
	WarmupMs    float64  `json:"warmupMs,omitempty"`
	Databases   []string `json:"databases,omitempty"`
	Limit       int      `json:"limit"`
	Queries     []Query  `json:"queries"`
	HotQueries  int      `json:"hotQueries"`
	SQLSource   string   `json:"sqlStatements,omitempty"`
	Gateway     string   `json:"gateway,omitempty"`
	GRPC        string   `json:"grpc,omitempty"`
}

// Check adds the warnings that the results call for.
func (r *Report) Check() {
	for _, x := range r.Runs {
		name := fmt.Sprintf("%s c=%d %s", x.Target, x.Concurrency, x.Cache)
		switch {
		case x.Cache == Uncached && x.CacheHits > 0:
			r.Warnings = append(r.Warnings, fmt.Sprintf(
				"%s: %d of %d answers came from the result cache although the requests said %s: no-cache; "+
					"the server does not honour the option yet, so these numbers are not uncached",
				name, x.CacheHits, x.Successes, NoCacheHeader))
		case x.Cache == Cached && x.Successes > 0 && x.CacheHits*10 < x.Successes*9:
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
