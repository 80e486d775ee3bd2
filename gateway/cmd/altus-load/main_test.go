package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/gateway/cmd/altus-load/internal/load"
)

func envFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "demo.env")
	content := `# Made by altus-demo provision
ALTUS_DEMO_URL='http://127.0.0.1:3999'
ALTUS_DEMO_GRPC_ADDR='127.0.0.1:59999'
ALTUS_DEMO_API_KEY='altus4_sk_test_a,altus4_sk_test_b'
ALTUS_DEMO_PACKAGES_ID='pkg-id'
ALTUS_DEMO_PACKAGES_DSN='altus_demo:pw@tcp(127.0.0.1:3306)/altus_demo_packages'
ALTUS_DEMO_CHANGELOGS_ID='ch-id'
ALTUS_DEMO_CHANGELOGS_DSN='altus_demo:pw@tcp(127.0.0.1:3306)/altus_demo_changelogs'
`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func noEnv(string) string { return "" }

func TestParseOptionsTakesConnectionSettingsFromTheEnvFile(t *testing.T) {
	o, err := parseOptions([]string{"-env-file", envFile(t), "-targets", "rest,grpc,sql", "-c", "1,16", "-d", "20s",
		"-cache", "uncached,cached"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"targets": o.targets, "c": o.concurrency, "d": o.duration, "cache": o.caches, "url": o.url,
		"grpc": o.grpcAddr, "keys": o.keys, "databases": o.databases, "dsns": o.dsns, "limit": o.limit, "hot": o.hot,
	}
	want := map[string]any{
		"targets": []string{"rest", "grpc", "sql"}, "c": []int{1, 16}, "d": 20 * time.Second,
		"cache": []string{"uncached", "cached"}, "url": "http://127.0.0.1:3999", "grpc": "127.0.0.1:59999",
		"keys": []string{"altus4_sk_test_a", "altus4_sk_test_b"}, "databases": []string{"pkg-id"},
		"dsns": map[string]string{
			"":       "altus_demo:pw@tcp(127.0.0.1:3306)/altus_demo_packages",
			"pkg-id": "altus_demo:pw@tcp(127.0.0.1:3306)/altus_demo_packages",
			"ch-id":  "altus_demo:pw@tcp(127.0.0.1:3306)/altus_demo_changelogs",
		},
		"limit": 20, "hot": 5,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}

func TestParseOptionsFlagsWinOverTheEnvFile(t *testing.T) {
	env := func(k string) string {
		if k == "ALTUS_API_KEY" {
			return "from-env"
		}
		return ""
	}
	o, err := parseOptions([]string{"-env-file", envFile(t), "-url", "http://gw:3000", "-grpc", "search:50051",
		"-databases", "x,y", "-dsn", "x=u:p@tcp(db:3306)/x", "-dsn", "u:p@tcp(db:3306)/any", "-n", "500", "-targets", "rest,sql",
		"-sql", "SELECT 1 FROM t WHERE MATCH(a) AGAINST(?)", "-args", `["{query}", 3]`}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"url": o.url, "grpc": o.grpcAddr, "keys": o.keys, "databases": o.databases,
		"dsnx": o.dsns["x"], "dsn": o.dsns[""], "n": o.requests, "args": o.sqlArgs}
	want := map[string]any{"url": "http://gw:3000", "grpc": "search:50051", "keys": []string{"from-env"},
		"databases": []string{"x", "y"}, "dsnx": "u:p@tcp(db:3306)/x", "dsn": "u:p@tcp(db:3306)/any", "n": 500,
		"args": []any{"{query}", float64(3)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}

func TestParseOptionsRejectsWhatCannotRun(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.env")
	tests := []struct {
		name string
		args []string
	}{
		{"unknown target", []string{"-targets", "rest,soap", "-key", "k"}},
		{"no target", []string{"-targets", ",", "-key", "k"}},
		{"zero users", []string{"-c", "0", "-key", "k"}},
		{"users not a number", []string{"-c", "1,many", "-key", "k"}},
		{"no duration and no count", []string{"-d", "0", "-key", "k"}},
		{"negative count", []string{"-n", "-1", "-key", "k"}},
		{"unknown cache mode", []string{"-cache", "warm", "-key", "k"}},
		{"unknown search mode", []string{"-mode", "fuzzy", "-key", "k"}},
		{"limit over 100", []string{"-limit", "101", "-key", "k"}},
		{"args that are not a JSON array", []string{"-targets", "sql", "-dsn", "u@tcp(h)/d", "-sql", "SELECT 1", "-args", "{query}"}},
		{"args without sql", []string{"-key", "k", "-args", "[]"}},
		{"no key for rest", []string{"-targets", "rest"}},
		{"no DSN for sql", []string{"-targets", "sql", "-key", "k"}},
		{"sql with neither key nor statement", []string{"-targets", "sql", "-dsn", "u@tcp(h)/d"}},
		{"stray argument", []string{"-key", "k", "extra"}},
		{"unknown scenario", []string{"-key", "k", "-scenario", "stampede"}},
		{"scenario over two targets", []string{"-key", "k", "-scenario", "ramp", "-targets", "rest,grpc"}},
		{"scenario over both cache modes", []string{"-key", "k", "-scenario", "ramp", "-cache", "uncached,cached"}},
		{"scenario with a request count", []string{"-key", "k", "-scenario", "soak", "-n", "100"}},
		{"ramp step not a number", []string{"-key", "k", "-scenario", "ramp", "-steps", "1,lots"}},
		{"spike factor below 2", []string{"-key", "k", "-scenario", "spike", "-spike-factor", "1"}},
		{"soak interval not positive", []string{"-key", "k", "-scenario", "soak", "-interval", "0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseOptions(append([]string{"-env-file", missing}, tt.args...), noEnv, io.Discard); err == nil {
				t.Errorf("parseOptions(%q) gave no error", tt.args)
			}
		})
	}
}

func TestParseOptionsDefaultsWithoutAnEnvFile(t *testing.T) {
	o, err := parseOptions([]string{"-env-file", filepath.Join(t.TempDir(), "none.env"), "-key", "k"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{o.targets, o.concurrency, o.duration, o.caches, o.url, o.grpcAddr, o.databases, o.timeout, o.rss}
	want := []any{[]string{"rest"}, []int{1}, 10 * time.Second, []string{"uncached"}, "http://127.0.0.1:3000",
		"127.0.0.1:50051", []string(nil), 10 * time.Second, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestScenarioStepsFollowTheOptions(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.env")
	tests := []struct {
		args []string
		want []load.Step
	}{
		{[]string{"-scenario", "ramp", "-steps", "1,8", "-d", "5s"},
			[]load.Step{{Name: "c=1", Concurrency: 1, Duration: 5 * time.Second}, {Name: "c=8", Concurrency: 8, Duration: 5 * time.Second}}},
		{[]string{"-scenario", "spike", "-c", "3", "-spike-factor", "5", "-spike-baseline", "2s", "-spike-burst", "1s", "-spike-recovery", "4s"},
			[]load.Step{{Name: "baseline", Concurrency: 3, Duration: 2 * time.Second}, {Name: "burst", Concurrency: 15, Duration: time.Second},
				{Name: "recovery", Concurrency: 3, Duration: 4 * time.Second}}},
		{[]string{"-scenario", "soak", "-c", "2", "-d", "1m", "-interval", "30s"},
			[]load.Step{{Name: "interval 1", Concurrency: 2, Duration: 30 * time.Second}, {Name: "interval 2", Concurrency: 2, Duration: 30 * time.Second}}},
	}
	for _, tt := range tests {
		o, err := parseOptions(append([]string{"-env-file", missing, "-key", "k"}, tt.args...), noEnv, io.Discard)
		if err != nil {
			t.Fatalf("parseOptions(%q): %v", tt.args, err)
		}
		if diff := cmp.Diff(tt.want, scenarioSteps(o)); diff != "" {
			t.Errorf("steps of %q (-want +got):\n%s", tt.args, diff)
		}
	}
}

func TestRoundsTakeTurnsStartingOneTargetFurtherOnEachRound(t *testing.T) {
	names := []string{"rest", "grpc", "sql"}
	var got [][]string
	for round := range 4 {
		got = append(got, turns(names, round))
	}
	want := [][]string{{"rest", "grpc", "sql"}, {"grpc", "sql", "rest"}, {"sql", "rest", "grpc"}, {"rest", "grpc", "sql"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("turns (-want +got):\n%s", diff)
	}
}

func TestSlicesOfARequestCountAddUpToIt(t *testing.T) {
	o := options{requests: 10, rounds: 4}
	var got []int
	sum := 0
	for round := range o.rounds {
		got = append(got, sliceRequests(o, round))
		sum += got[round]
	}
	if sum != 10 || !slices.Equal(got, []int{3, 3, 2, 2}) {
		t.Errorf("slices %v (sum %d), want 3 3 2 2", got, sum)
	}
	if _, err := parseOptions([]string{"-rounds", "0"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("-rounds 0 accepted")
	}
	if _, err := parseOptions([]string{"-rounds", "4", "-n", "3"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("-n smaller than -rounds accepted")
	}
}
