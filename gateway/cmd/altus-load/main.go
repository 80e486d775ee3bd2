// Command altus-load is the load tool of Altus (`make bench`), modelled on
// the scaling guide's PerformanceBenchmark: N concurrent users send searches
// for a duration or a request count, rotating through a query list, and it
// reports throughput, mean, p50, p95, p99 and max latency and the failures
// by kind, as a table and as JSON. In one run it can measure the REST
// gateway (rest), the search service over gRPC (grpc) and the raw SQL
// statement Altus runs, straight on the same database (sql), and it prints
// how the first two compare with the third.
//
// Defaults come from the env file that `make run` writes (.run/demo.env):
// the gateway URL, the search service's address, the API key, the demo
// packages database and its read-only DSN.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/altus4/altus/gateway/cmd/altus-load/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "altus-load:", err)
		os.Exit(1)
	}
}

// options are the parsed command line.
type options struct {
	targets     []string
	concurrency []int
	duration    time.Duration
	requests    int
	rounds      int
	think       time.Duration
	warmup      time.Duration
	timeout     time.Duration
	caches      []string
	hot         int
	queriesFile string
	mode        string
	limit       int
	databases   []string
	url         string
	grpcAddr    string
	keys        []string
	envFile     string
	// dsns are source DSNs by source id; "" serves any other source.
	dsns           map[string]string
	sqlText        string
	sqlArgs        []any
	sqlPrepare     bool
	sqlInterpolate bool
	jsonPath       string
	runDir         string
	rss            bool
	// scenario is "", ramp, spike or soak; steps are the ramp's levels.
	scenario      string
	steps         []int
	spikeFactor   int
	spikeBaseline time.Duration
	spikeBurst    time.Duration
	spikeRecovery time.Duration
	interval      time.Duration
	tolerance     float64
}

// dsnFlag collects -dsn values: "<source id>=<dsn>" or a bare DSN for any source.
type dsnFlag map[string]string

func (d dsnFlag) String() string { return "" }

func (d dsnFlag) Set(v string) error {
	if id, dsn, ok := strings.Cut(v, "="); ok && !strings.ContainsAny(id, "@:/(") {
		d[id] = dsn
		return nil
	}
	d[""] = v
	return nil
}

// parseOptions parses args; unset connection settings come from the env
// file (-env-file, default .run/demo.env) that `make run` writes.
func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("altus-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	targets := fs.String("targets", "rest", "what to load, any of rest,grpc,sql (comma-separated, run in this order)")
	conc := fs.String("c", "1", "concurrent users; a comma-separated list runs each in turn (1,16)")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "how long each run lasts (unless -n)")
	fs.IntVar(&o.requests, "n", 0, "total requests per run instead of a duration")
	fs.IntVar(&o.rounds, "rounds", 1, "split each run into this many slices, the targets taking turns (rest grpc sql, grpc sql rest, ...), so that a machine whose speed drifts weighs on every target alike")
	fs.DurationVar(&o.think, "think", 0, "most a user waits between requests (random, uniform); 0: none")
	fs.DurationVar(&o.warmup, "warmup", 0, "unmeasured warm-up before each run")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "bound on each request")
	caches := fs.String("cache", load.Uncached, "uncached (every request says Cache-Control: no-cache), cached (a few queries repeated), or both: uncached,cached")
	fs.IntVar(&o.hot, "hot", 5, "how many queries the cached runs repeat")
	fs.StringVar(&o.queriesFile, "queries", "", "query list file: one per line, plain or <mode><TAB><query> (default: 50 built-in queries for the Debian packages)")
	fs.StringVar(&o.mode, "mode", "", "send every query in this mode (natural, boolean, expansion, semantic)")
	fs.IntVar(&o.limit, "limit", 20, "results per page")
	dbs := fs.String("databases", "", "source ids to search, comma-separated (default: the demo packages database)")
	fs.StringVar(&o.url, "url", "", "gateway base URL (default from the env file, else http://127.0.0.1:3000)")
	fs.StringVar(&o.grpcAddr, "grpc", "", "search service gRPC address (default from the env file, else 127.0.0.1:50051)")
	keys := fs.String("key", "", "API key(s), comma-separated, used in turn (default $ALTUS_API_KEY, else the env file's)")
	fs.StringVar(&o.envFile, "env-file", ".run/demo.env", "env file written by make run (ALTUS_DEMO_* settings)")
	dsns := dsnFlag{}
	fs.Var(dsns, "dsn", "source database DSN for the sql target: <source id>=<dsn>, or a DSN for every source (repeatable)")
	fs.StringVar(&o.sqlText, "sql", "", "statement for the sql target instead of asking the analyze route")
	sqlArgs := fs.String("args", "", `its arguments as a JSON array; "{query}" in a string is replaced by the query text`)
	fs.BoolVar(&o.sqlPrepare, "sql-prepare", false, "sql target: reuse prepared statements instead of prepare/execute/close per request")
	fs.BoolVar(&o.sqlInterpolate, "sql-interpolate", false, "sql target: substitute arguments client-side (no server-side prepare)")
	fs.StringVar(&o.jsonPath, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&o.runDir, "run-dir", ".run", "folder(s) of the suite's pid files, comma-separated, for its memory (RSS) and, in scenarios, CPU")
	fs.BoolVar(&o.rss, "rss", true, "sample the suite's memory (VmRSS of the processes in -run-dir/*.pid)")
	fs.StringVar(&o.scenario, "scenario", "", "ramp (each of -steps users for -d), spike (-c users, a burst of -spike-factor times as many, back to -c) or soak (-c users for -d, reported per -interval); one target and one cache mode")
	steps := fs.String("steps", "1,2,4,8,16,32", "ramp: the concurrencies, each held for -d")
	fs.IntVar(&o.spikeFactor, "spike-factor", 4, "spike: the burst's users as a multiple of -c")
	fs.DurationVar(&o.spikeBaseline, "spike-baseline", 10*time.Second, "spike: how long the baseline lasts before the burst")
	fs.DurationVar(&o.spikeBurst, "spike-burst", 5*time.Second, "spike: how long the burst lasts")
	fs.DurationVar(&o.spikeRecovery, "spike-recovery", 15*time.Second, "spike: how long the baseline lasts after the burst")
	fs.DurationVar(&o.interval, "interval", 30*time.Second, "soak: the reporting interval")
	fs.Float64Var(&o.tolerance, "tolerance", 1.5, "spike: recovered once a second's p95 is within this multiple of the baseline p95")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	o.targets = splitList(*targets)
	for _, t := range o.targets {
		if t != "rest" && t != "grpc" && t != "sql" {
			bad("-targets: unknown target %q (rest, grpc, sql)", t)
		}
	}
	if len(o.targets) == 0 {
		bad("-targets: name at least one of rest, grpc, sql")
	}
	for _, c := range splitList(*conc) {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 || n > 10000 {
			bad("-c: %q is not a number of users (1..10000)", c)
			continue
		}
		o.concurrency = append(o.concurrency, n)
	}
	if len(o.concurrency) == 0 {
		bad("-c: give at least one number of users")
	}
	if o.requests < 0 {
		bad("-n must not be negative")
	}
	if o.rounds < 1 || o.rounds > 100 {
		bad("-rounds must be 1..100")
	}
	if o.requests > 0 && o.requests < o.rounds {
		bad("-n must be at least -rounds (each slice sends n/rounds requests)")
	}
	if o.requests == 0 && o.duration <= 0 {
		bad("-d must be positive (or give -n)")
	}
	if o.think < 0 || o.warmup < 0 || o.timeout <= 0 {
		bad("-think and -warmup must not be negative, -timeout must be positive")
	}
	o.caches = splitList(*caches)
	for _, c := range o.caches {
		if c != load.Uncached && c != load.Cached {
			bad("-cache: unknown mode %q (uncached, cached)", c)
		}
	}
	if len(o.caches) == 0 {
		bad("-cache: give uncached, cached or both")
	}
	if o.hot < 1 {
		bad("-hot must be at least 1")
	}
	if o.mode != "" && !slices.Contains([]string{load.ModeNatural, load.ModeBoolean, load.ModeExpansion, load.ModeSemantic}, o.mode) {
		bad("-mode: unknown mode %q", o.mode)
	}
	if o.limit < 1 || o.limit > 100 {
		bad("-limit must be 1..100")
	}
	if *sqlArgs != "" {
		if err := json.Unmarshal([]byte(*sqlArgs), &o.sqlArgs); err != nil {
			bad("-args must be a JSON array: %v", err)
		}
	}
	if *sqlArgs != "" && o.sqlText == "" {
		bad("-args needs -sql")
	}

	env := readEnvFile(o.envFile)
	o.url = firstOf(o.url, env["ALTUS_DEMO_URL"], "http://127.0.0.1:3000")
	o.grpcAddr = firstOf(o.grpcAddr, env["ALTUS_DEMO_GRPC_ADDR"], "127.0.0.1:50051")
	o.keys = splitList(firstOf(*keys, getenv("ALTUS_API_KEY"), env["ALTUS_DEMO_API_KEY"]))
	o.databases = splitList(firstOf(*dbs, env["ALTUS_DEMO_PACKAGES_ID"]))
	o.dsns = map[string]string{}
	for _, s := range []string{"PACKAGES", "CHANGELOGS"} {
		if id, dsn := env["ALTUS_DEMO_"+s+"_ID"], env["ALTUS_DEMO_"+s+"_DSN"]; id != "" && dsn != "" {
			o.dsns[id] = dsn
		}
	}
	if dsn := env["ALTUS_DEMO_PACKAGES_DSN"]; dsn != "" {
		o.dsns[""] = dsn
	}
	for id, dsn := range dsns {
		o.dsns[id] = dsn
	}
	if (slices.Contains(o.targets, "rest") || slices.Contains(o.targets, "grpc")) && len(o.keys) == 0 {
		bad("no API key: give -key (or ALTUS_API_KEY), or run make run, which writes one to %s", o.envFile)
	}
	if slices.Contains(o.targets, "sql") {
		if len(o.dsns) == 0 {
			bad("the sql target needs the source database: give -dsn, or run make run (it writes %s)", o.envFile)
		}
		if o.sqlText == "" && len(o.keys) == 0 {
			bad("the sql target asks the analyze route for its statements with an API key (analytics permission); give -key, or -sql and -args")
		}
	}
	switch o.scenario {
	case "":
	case load.ScenarioRamp, load.ScenarioSpike, load.ScenarioSoak:
		if len(o.targets) != 1 || len(o.caches) != 1 {
			bad("-scenario %s: give one target (-targets) and one cache mode (-cache)", o.scenario)
		}
		if o.requests > 0 {
			bad("-scenario %s runs for durations: -n does not apply", o.scenario)
		}
		for _, c := range splitList(*steps) {
			n, err := strconv.Atoi(c)
			if err != nil || n < 1 || n > 10000 {
				bad("-steps: %q is not a number of users (1..10000)", c)
				continue
			}
			o.steps = append(o.steps, n)
		}
		if o.scenario == load.ScenarioRamp && len(o.steps) == 0 {
			bad("-steps: give at least one number of users")
		}
		if o.spikeFactor < 2 || o.spikeBaseline <= 0 || o.spikeBurst <= 0 || o.spikeRecovery <= 0 || o.tolerance < 1 {
			bad("-spike-factor must be at least 2, the spike durations positive and -tolerance at least 1")
		}
		if o.interval <= 0 {
			bad("-interval must be positive")
		}
	default:
		bad("-scenario: unknown scenario %q (ramp, spike, soak)", o.scenario)
	}
	if len(problems) > 0 {
		return o, errors.New(strings.Join(problems, "\n"))
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// readEnvFile reads KEY=VALUE lines (values optionally single-quoted); a
// missing file reads as empty.
func readEnvFile(path string) map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = strings.ReplaceAll(v[1:len(v)-1], `'\''`, `'`)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "compare" {
		return compare(args[1:], stdout)
	}
	o, err := parseOptions(args, getenv, stderr)
	if err != nil {
		return err
	}
	queries := load.BuiltinQueries()
	if o.queriesFile != "" {
		f, err := os.Open(o.queriesFile)
		if err != nil {
			return err
		}
		queries, err = load.ParseQueries(f, firstOf(o.mode, load.ModeNatural))
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", o.queriesFile, err)
		}
	}
	if o.mode != "" {
		for i := range queries {
			queries[i].Mode = o.mode
		}
	}
	opts := load.SearchOptions{Databases: o.databases, Limit: o.limit}
	maxConc := slices.Max(o.concurrency)

	report := &load.Report{
		StartedAt: time.Now().UTC(),
		Host:      load.Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()},
		Settings: load.Settings{
			Targets: o.targets, Concurrency: o.concurrency, Cache: o.caches, Requests: o.requests, Rounds: o.rounds,
			ThinkMs: float64(o.think) / 1e6, WarmupMs: float64(o.warmup) / 1e6, Databases: o.databases,
			Limit: o.limit, Queries: queries, HotQueries: min(o.hot, len(queries)), Gateway: o.url, GRPC: o.grpcAddr,
		},
	}
	report.Host.Hostname, _ = os.Hostname()
	if o.requests == 0 {
		report.Settings.Seconds = o.duration.Seconds()
	}

	targets := map[string]load.Target{}
	defer func() {
		for _, t := range targets {
			_ = t.Close()
		}
	}()
	for _, name := range o.targets {
		var t load.Target
		switch name {
		case "rest":
			t = load.NewREST(o.url, o.keys, opts, maxConc)
		case "grpc":
			g, err := load.NewGRPC(o.grpcAddr, o.keys, opts)
			if err != nil {
				return err
			}
			t = g
		case "sql":
			so := load.SQLOptions{DSNs: o.dsns, Prepare: o.sqlPrepare, Interpolate: o.sqlInterpolate, MaxConns: 4 * maxConc}
			if o.sqlText != "" {
				source := ""
				if len(o.databases) > 0 {
					source = o.databases[0]
				}
				so.Resolve = load.OverrideResolver(source, o.sqlText, o.sqlArgs)
				report.Settings.SQLSource = "-sql"
			} else {
				so.Resolve = load.AnalyzeResolver(o.url, o.keys[0], o.databases, o.limit)
				report.Settings.SQLSource = "analyze route"
			}
			t = load.NewSQL(so)
		}
		if name == "sql" && o.sqlText == "" {
			fmt.Fprintf(stderr, "altus-load: asking the analyze route for the statements of %d queries ...\n", len(queries))
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		err := t.Prepare(pctx, queries)
		cancel()
		if err != nil {
			_ = t.Close()
			msg := fmt.Sprintf("%s target left out: %v", name, err)
			fmt.Fprintln(stderr, "altus-load: "+msg)
			report.Warnings = append(report.Warnings, msg)
			continue
		}
		targets[name] = t
	}
	if len(targets) == 0 {
		return errors.New("no target could be prepared (reasons above)")
	}

	if o.scenario != "" {
		return runScenario(ctx, o, report, targets, len(queries), stdout, stderr)
	}

	var sampler *load.RSSSampler
	if o.rss {
		s := load.NewRSSSampler(o.runDir, 250*time.Millisecond)
		if len(s.Processes()) > 0 {
			sampler = s
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go s.Run(sctx)
		}
	}

	all := make([]int, len(queries))
	for i := range all {
		all[i] = i
	}
	hot := all[:min(o.hot, len(all))]
	for _, c := range o.concurrency {
		for ci, cache := range o.caches {
			var names []string
			for _, name := range o.targets {
				if _, ok := targets[name]; ok && !(name == "sql" && ci > 0) {
					names = append(names, name)
				}
			}
			parts := map[string][]load.Result{}
			for round := range o.rounds {
				for _, name := range turns(names, round) {
					if ctx.Err() != nil {
						break
					}
					qs := all
					if cache == load.Cached && name != "sql" {
						qs = hot
					}
					mode := cache
					if name == "sql" {
						mode = load.Uncached
					}
					if o.rounds == 1 {
						fmt.Fprintf(stderr, "altus-load: %s, %d user(s), %s, %s ...", name, c, mode, runLength(o))
					} else {
						fmt.Fprintf(stderr, "altus-load: round %d/%d: %s, %d user(s), %s, %s ...", round+1, o.rounds, name, c, mode, sliceLength(o, round))
					}
					if sampler != nil {
						sampler.Phase()
					}
					ph := load.Phase{
						Target: targets[name], Concurrency: c, Duration: o.duration / time.Duration(o.rounds), Think: o.think,
						Timeout: o.timeout, Cache: mode, Queries: qs,
					}
					if o.requests > 0 {
						ph.Requests = sliceRequests(o, round)
					}
					if round == 0 {
						ph.Warmup = o.warmup
					}
					r := load.Run(ctx, ph)
					if sampler != nil {
						r.RSS = sampler.Phase()
					}
					fmt.Fprintf(stderr, " %.1f req/s, p50 %.2f ms, %d failed\n", r.Throughput, r.LatencyMs.P50, r.Failures)
					parts[name] = append(parts[name], r)
				}
			}
			for _, name := range names {
				if len(parts[name]) > 0 {
					report.Runs = append(report.Runs, load.Merge(parts[name]))
				}
			}
		}
	}
	report.Ratios = load.Ratios(report.Runs)
	if sampler != nil {
		report.RSS = sampler.Overall()
	}
	report.Check()
	fmt.Fprintln(stdout)
	report.WriteText(stdout)
	if o.jsonPath != "" {
		if err := report.WriteJSON(o.jsonPath); err != nil {
			return fmt.Errorf("write %s: %w", o.jsonPath, err)
		}
		fmt.Fprintf(stdout, "\nJSON report: %s\n", o.jsonPath)
	}
	return ctx.Err()
}

// turns is the order the targets take in a round: each round starts one
// target further on, so that no target always follows the same one.
func turns(names []string, round int) []string {
	out := make([]string, len(names))
	for k := range names {
		out[k] = names[(k+round)%len(names)]
	}
	return out
}

// sliceRequests is how many requests slice round of a run of -n sends:
// n/rounds, the remainder going to the first slices.
func sliceRequests(o options, round int) int {
	n := o.requests / o.rounds
	if round < o.requests%o.rounds {
		n++
	}
	return n
}

// sliceLength describes one slice of a run.
func sliceLength(o options, round int) string {
	if o.requests > 0 {
		return fmt.Sprintf("%d requests", sliceRequests(o, round))
	}
	return (o.duration / time.Duration(o.rounds)).String()
}

func runLength(o options) string {
	if o.requests > 0 {
		return fmt.Sprintf("%d requests", o.requests)
	}
	return o.duration.String()
}

// scenarioSteps are the steps of o's scenario.
func scenarioSteps(o options) []load.Step {
	switch o.scenario {
	case load.ScenarioRamp:
		return load.RampSteps(o.steps, o.duration)
	case load.ScenarioSpike:
		return load.SpikeSteps(o.concurrency[0], o.spikeFactor, o.spikeBaseline, o.spikeBurst, o.spikeRecovery)
	default:
		return load.SoakSteps(o.concurrency[0], o.duration, o.interval)
	}
}

// runScenario runs a ramp, spike or soak against the one prepared target,
// reading the suite's memory and CPU per step, and reports it.
func runScenario(ctx context.Context, o options, report *load.Report, targets map[string]load.Target, nq int, stdout, stderr io.Writer) error {
	name, cache := o.targets[0], o.caches[0]
	t, ok := targets[name]
	if !ok {
		return fmt.Errorf("the %s target could not be prepared", name)
	}
	qs := make([]int, nq)
	for i := range qs {
		qs[i] = i
	}
	if cache == load.Cached && name != "sql" {
		qs = qs[:min(o.hot, nq)]
	}
	steps := scenarioSteps(o)
	report.Settings.Scenario = o.scenario
	for _, st := range steps {
		report.Settings.Steps = append(report.Settings.Steps, st.Concurrency)
		report.Settings.StepSecs = append(report.Settings.StepSecs, st.Duration.Seconds())
	}

	var (
		sampler *load.RSSSampler
		cpu     *load.CPUMeter
		rss     []*load.RSSPeak
		cpus    []*load.CPUUse
	)
	if o.rss {
		s := load.NewRSSSampler(o.runDir, 250*time.Millisecond)
		if len(s.Processes()) > 0 {
			sampler = s
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go s.Run(sctx)
			cpu = load.NewCPUMeter(o.runDir)
		}
	}
	var total time.Duration
	for _, st := range steps {
		total += st.Duration
	}
	fmt.Fprintf(stderr, "altus-load: %s of %s, %s, %d steps, %s ...\n", o.scenario, name, cache, len(steps), total)
	results := load.RunSchedule(ctx, load.Schedule{
		Target: t, Steps: steps, Think: o.think, Timeout: o.timeout, Cache: cache, Queries: qs,
		StepEnded: func(i int) {
			if sampler != nil {
				rss = append(rss, sampler.Phase())
				cpus = append(cpus, cpu.Step(0))
			}
			fmt.Fprintf(stderr, "altus-load:   %s done\n", steps[i].Name)
		},
	})
	for i := range results {
		if i < len(rss) {
			results[i].RSS = rss[i]
			c := cpus[i]
			if results[i].Total > 0 {
				c.MsPerRequest = map[string]float64{}
				for n, s := range c.Seconds {
					c.MsPerRequest[n] = math.Round(s*1e6/float64(results[i].Total)) / 1e3
				}
			}
			results[i].CPU = c
		}
	}
	sr := &load.ScenarioReport{Name: o.scenario, Target: name, Cache: cache, Steps: results}
	switch o.scenario {
	case load.ScenarioSpike:
		sr.Recovery = load.SpikeRecovery(results, o.tolerance)
	case load.ScenarioSoak:
		sr.Drift = load.SoakDrift(results)
	}
	report.Scenario = sr
	if sampler != nil {
		report.RSS = sampler.Overall()
	}
	report.Check()
	fmt.Fprintln(stdout)
	report.WriteText(stdout)
	if o.jsonPath != "" {
		if err := report.WriteJSON(o.jsonPath); err != nil {
			return fmt.Errorf("write %s: %w", o.jsonPath, err)
		}
		fmt.Fprintf(stdout, "\nJSON report: %s\n", o.jsonPath)
	}
	return ctx.Err()
}

// compare prints the scenarios of JSON reports side by side:
// altus-load compare [label=]report.json ...
func compare(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("compare: give JSON reports of scenarios, as [label=]file")
	}
	var labels []string
	var reports []*load.Report
	for _, a := range args {
		label, path, ok := strings.Cut(a, "=")
		if !ok {
			label, path = strings.TrimSuffix(filepath.Base(a), ".json"), a
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var r load.Report
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if r.Scenario == nil {
			return fmt.Errorf("%s holds no scenario (ramp, spike, soak)", path)
		}
		labels = append(labels, label)
		reports = append(reports, &r)
	}
	load.Compare(stdout, labels, reports)
	return nil
}
