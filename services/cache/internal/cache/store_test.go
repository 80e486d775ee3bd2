package cache_test

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"

	"github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/cache/internal/cache"
	"github.com/altus4/altus/services/cache/internal/redisx"
)

// clock is a settable clock for rate-limit windows.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newClock returns a clock 17.25s into the window (of length window) after
// the current one, so that counters expire in the future by Redis's clock.
func newClock(window time.Duration) *clock {
	return &clock{t: time.Now().Truncate(window).Add(window + 17250*time.Millisecond)}
}

type env struct {
	store *cache.Store
	raw   rueidis.Client
	cfg   config.Redis
}

// newEnv returns a Store on the test Redis under a fresh prefix, and a raw
// client to look at what it wrote.
func newEnv(t testing.TB, o cache.Options) env {
	t.Helper()
	cfg := testenv.RedisConfig(t)
	client, err := redisx.New(cfg, redisx.Options{ClientCacheBytes: 8 << 20})
	if err != nil {
		t.Fatalf("redisx.New: %v", err)
	}
	t.Cleanup(client.Close)
	raw, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{cfg.Addr()}, DisableCache: true})
	if err != nil {
		t.Fatalf("raw client: %v", err)
	}
	t.Cleanup(raw.Close)
	o.Prefix = cfg.Prefix
	return env{store: cache.New(client, o), raw: raw, cfg: cfg}
}

// deadStore returns a Store whose Redis address has nothing listening.
func deadStore(t testing.TB, timeout time.Duration) *cache.Store {
	t.Helper()
	cfg := config.Redis{Host: "127.0.0.1", Port: testenv.FreePort(t), Prefix: "dead:"}
	client, err := redisx.New(cfg, redisx.Options{})
	if err != nil {
		t.Fatalf("redisx.New with Redis down must still give a client: %v", err)
	}
	t.Cleanup(client.Close)
	return cache.New(client, cache.Options{Prefix: cfg.Prefix, Timeout: timeout, Log: quiet})
}

func TestSetGetDeleteRoundTrip(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cache.Options{})
	value := []byte("v\x00\xffbinary")
	if err := e.store.Set(ctx, "k1", value, time.Minute); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := e.store.Set(ctx, "k2", []byte("two"), time.Minute); err != nil {
		t.Fatalf("Set: %v", err)
	}

	got, found, err := e.store.Get(ctx, "k1")
	if err != nil || !found {
		t.Fatalf("Get(k1) = found %v, err %v; want found", found, err)
	}
	if diff := cmp.Diff(value, got); diff != "" {
		t.Errorf("Get(k1) value (-want +got):\n%s", diff)
	}
	if _, found, err := e.store.Get(ctx, "missing"); err != nil || found {
		t.Errorf("Get(missing) = found %v, err %v; want not found", found, err)
	}

	n, err := e.store.Delete(ctx, []string{"k1", "k2", "missing"})
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if n != 2 {
		t.Errorf("Delete reported %d deleted; want 2 (the missing key does not count)", n)
	}
	if _, found, _ := e.store.Get(ctx, "k1"); found {
		t.Errorf("Get(k1) after Delete found a value")
	}
}

func TestSetOverwritesValue(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cache.Options{})
	for _, v := range []string{"first", "second"} {
		if err := e.store.Set(ctx, "k", []byte(v), time.Minute); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	got, _, err := e.store.Get(ctx, "k")
	if err != nil || string(got) != "second" {
		t.Errorf("Get = %q, %v; want \"second\"", got, err)
	}
}

func TestSetStoresUnderPrefixWithTTL(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cache.Options{})
	tests := []struct {
		name string
		ttl  time.Duration
		// The PTTL Redis reports is in (min, ttl].
		min time.Duration
	}{
		{"minutes", 90 * time.Second, 85 * time.Second},
		{"maximum 24h", 24 * time.Hour, 24*time.Hour - 5*time.Second},
		{"sub-millisecond rounds up to 1ms", time.Microsecond, -time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "ttl-" + tt.name
			if err := e.store.Set(ctx, key, []byte("x"), tt.ttl); err != nil {
				t.Fatalf("Set: %v", err)
			}
			pttl, err := e.raw.Do(ctx, e.raw.B().Pttl().Key(e.cfg.Prefix+key).Build()).AsInt64()
			if err != nil {
				t.Fatalf("PTTL: %v", err)
			}
			got := time.Duration(pttl) * time.Millisecond
			// -2 (no such key) is allowed only when the 1ms value already expired.
			if pttl == -2 && tt.ttl < time.Millisecond {
				return
			}
			if got > tt.ttl.Round(time.Millisecond)+time.Millisecond || got <= tt.min {
				t.Errorf("PTTL of %s%s = %v; want in (%v, %v]", e.cfg.Prefix, key, got, tt.min, tt.ttl)
			}
		})
	}
}

// fieldCode is a violation without its message (tests never assert text).
type fieldCode struct{ Field, Code string }

func violations(err error) []fieldCode {
	var ve *validate.Error
	if !errors.As(err, &ve) {
		return nil
	}
	out := make([]fieldCode, len(ve.Violations))
	for i, v := range ve.Violations {
		out[i] = fieldCode{v.Field, v.Code}
	}
	return out
}

func TestInvalidRequestsReportEveryField(t *testing.T) {
	ctx := context.Background()
	// Validation happens before Redis is called: a dead Redis proves it.
	s := deadStore(t, 50*time.Millisecond)
	long := strings.Repeat("k", cache.MaxKeyBytes+1)
	max := strings.Repeat("k", cache.MaxKeyBytes)
	type v = fieldCode
	tests := []struct {
		name string
		call func() error
		want []v
	}{
		{"get empty key", func() error { _, _, err := s.Get(ctx, ""); return err }, []v{{"key", "REQUIRED"}}},
		{"get key too long", func() error { _, _, err := s.Get(ctx, long); return err }, []v{{"key", "TOO_LONG"}}},
		{"get reserved key", func() error { _, _, err := s.Get(ctx, "rl:x:1"); return err }, []v{{"key", "RESERVED"}}},
		{"set everything wrong", func() error { return s.Set(ctx, "", make([]byte, cache.MaxValueBytes+1), 0) },
			[]v{{"key", "REQUIRED"}, {"value", "TOO_LONG"}, {"ttl", "REQUIRED"}}},
		{"set negative ttl", func() error { return s.Set(ctx, "k", nil, -time.Second) }, []v{{"ttl", "REQUIRED"}}},
		{"set ttl over 24h", func() error { return s.Set(ctx, "k", nil, 24*time.Hour+time.Millisecond) }, []v{{"ttl", "OUT_OF_RANGE"}}},
		{"delete no keys", func() error { _, err := s.Delete(ctx, nil); return err }, []v{{"keys", "REQUIRED"}}},
		{"delete too many keys", func() error { _, err := s.Delete(ctx, make([]string, cache.MaxDeleteKeys+1)); return err }, []v{{"keys", "TOO_MANY"}}},
		{"delete one bad key", func() error { _, err := s.Delete(ctx, []string{"ok", ""}); return err }, []v{{"keys", "REQUIRED"}}},
		{"allow everything wrong", func() error { _, err := s.Allow(ctx, "", 0, 0); return err },
			[]v{{"key", "REQUIRED"}, {"limit", "OUT_OF_RANGE"}, {"window", "REQUIRED"}}},
		{"allow window too short", func() error { _, err := s.Allow(ctx, "k", 1, 999*time.Millisecond); return err }, []v{{"window", "OUT_OF_RANGE"}}},
		{"allow window too long", func() error { _, err := s.Allow(ctx, "k", 1, 25*time.Hour); return err }, []v{{"window", "OUT_OF_RANGE"}}},
		{"allow negative limit", func() error { _, err := s.Allow(ctx, "k", -1, time.Minute); return err }, []v{{"limit", "OUT_OF_RANGE"}}},
		{"peek key too long", func() error { _, err := s.Peek(ctx, long, 1, time.Minute); return err }, []v{{"key", "TOO_LONG"}}},
		{"largest valid set reaches Redis", func() error { return s.Set(ctx, max, make([]byte, cache.MaxValueBytes), 24*time.Hour) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if diff := cmp.Diff(tt.want, violations(err)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			if tt.want == nil && !errors.Is(err, cache.ErrUnavailable) {
				t.Errorf("a valid request to a dead Redis returned %v; want ErrUnavailable", err)
			}
		})
	}
}

func TestAllowCountsExactlyLimitThenDenies(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Minute)
	e := newEnv(t, cache.Options{Now: clk.Now})
	const limit = 5
	wantReset := clk.Now().Truncate(time.Minute).Add(time.Minute)
	for i := 1; i <= limit+2; i++ {
		w, err := e.store.Allow(ctx, "apikey:a", limit, time.Minute)
		if err != nil {
			t.Fatalf("Allow #%d: %v", i, err)
		}
		want := cache.Window{Allowed: i <= limit, Limit: limit, Used: int64(i), Remaining: max(limit-i, 0), Reset: wantReset}
		if diff := cmp.Diff(want, w); diff != "" {
			t.Errorf("Allow #%d (-want +got):\n%s", i, diff)
		}
	}
}

func TestAllowKeyAndExpiry(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Hour)
	e := newEnv(t, cache.Options{Now: clk.Now})
	w, err := e.store.Allow(ctx, "ip:login:10.0.0.1", 10, time.Hour)
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	start := clk.Now().Truncate(time.Hour)
	if !w.Reset.Equal(start.Add(time.Hour)) {
		t.Errorf("Reset = %v; want the window's end %v", w.Reset, start.Add(time.Hour))
	}
	key := e.cfg.Prefix + "rl:ip:login:10.0.0.1:" + strconv.FormatInt(start.Unix(), 10)
	got, err := e.raw.Do(ctx, e.raw.B().Get().Key(key).Build()).ToString()
	if err != nil || got != "1" {
		t.Fatalf("GET %s = %q, %v; want \"1\"", key, got, err)
	}
	at, err := e.raw.Do(ctx, e.raw.B().Pexpiretime().Key(key).Build()).AsInt64()
	if err != nil {
		t.Fatalf("PEXPIRETIME: %v", err)
	}
	if want := start.Add(time.Hour + time.Second).UnixMilli(); at != want {
		t.Errorf("counter expires at %d; want the window end + 1s, %d", at, want)
	}
}

func TestAllowSeparateKeysAreIndependent(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Minute)
	e := newEnv(t, cache.Options{Now: clk.Now})
	for i := 0; i < 3; i++ {
		if _, err := e.store.Allow(ctx, "apikey:a", 3, time.Minute); err != nil {
			t.Fatalf("Allow a: %v", err)
		}
	}
	a, _ := e.store.Allow(ctx, "apikey:a", 3, time.Minute)
	b, err := e.store.Allow(ctx, "apikey:b", 3, time.Minute)
	if err != nil {
		t.Fatalf("Allow b: %v", err)
	}
	if a.Allowed || !b.Allowed || b.Remaining != 2 {
		t.Errorf("a exhausted: allowed=%v; b first request: allowed=%v remaining=%d; want false, true, 2", a.Allowed, b.Allowed, b.Remaining)
	}
}

func TestAllowNewWindowStartsFresh(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Minute)
	e := newEnv(t, cache.Options{Now: clk.Now})
	for i := 0; i < 3; i++ {
		if _, err := e.store.Allow(ctx, "k", 2, time.Minute); err != nil {
			t.Fatalf("Allow: %v", err)
		}
	}
	first := clk.Now().Truncate(time.Minute)
	clk.Add(time.Minute)
	w, err := e.store.Allow(ctx, "k", 2, time.Minute)
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	want := cache.Window{Allowed: true, Limit: 2, Used: 1, Remaining: 1, Reset: first.Add(2 * time.Minute)}
	if diff := cmp.Diff(want, w); diff != "" {
		t.Errorf("first Allow of the next window (-want +got):\n%s", diff)
	}
}

func TestPeekDoesNotCount(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Minute)
	e := newEnv(t, cache.Options{Now: clk.Now})
	reset := clk.Now().Truncate(time.Minute).Add(time.Minute)

	w, err := e.store.Peek(ctx, "k", 5, time.Minute)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	if diff := cmp.Diff(cache.Window{Allowed: true, Limit: 5, Used: 0, Remaining: 5, Reset: reset}, w); diff != "" {
		t.Errorf("Peek of an unused window (-want +got):\n%s", diff)
	}
	for i := 0; i < 3; i++ {
		if _, err := e.store.Allow(ctx, "k", 5, time.Minute); err != nil {
			t.Fatalf("Allow: %v", err)
		}
	}
	for i := 0; i < 3; i++ {
		w, err := e.store.Peek(ctx, "k", 5, time.Minute)
		if err != nil {
			t.Fatalf("Peek: %v", err)
		}
		if diff := cmp.Diff(cache.Window{Allowed: true, Limit: 5, Used: 3, Remaining: 2, Reset: reset}, w); diff != "" {
			t.Errorf("Peek #%d after 3 Allows (-want +got):\n%s", i+1, diff)
		}
	}
	a, _ := e.store.Allow(ctx, "k", 5, time.Minute)
	if a.Used != 4 {
		t.Errorf("Allow after Peeks counted %d; want 4 (Peek counts nothing)", a.Used)
	}
	for i := 0; i < 2; i++ {
		_, _ = e.store.Allow(ctx, "k", 5, time.Minute)
	}
	w, _ = e.store.Peek(ctx, "k", 5, time.Minute)
	if w.Allowed || w.Remaining != 0 || w.Used != 6 {
		t.Errorf("Peek of an exhausted window = %+v; want not allowed, 0 remaining, 6 used", w)
	}
}

func TestAllowConcurrentAllowsExactlyLimit(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Minute)
	e := newEnv(t, cache.Options{Now: clk.Now})
	const callers, limit = 100, 50
	var allowed, failed atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < callers; i++ {
		wg.Go(func() {
			w, err := e.store.Allow(ctx, "shared", limit, time.Minute)
			if err != nil {
				failed.Add(1)
				return
			}
			if w.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || allowed.Load() != limit {
		t.Errorf("%d concurrent Allows on limit %d: %d allowed, %d failed; want exactly %d allowed", callers, limit, allowed.Load(), failed.Load(), limit)
	}
}

func TestRedisUnreachableFailsFastWithUnavailable(t *testing.T) {
	ctx := context.Background()
	const bound = 300 * time.Millisecond
	s := deadStore(t, bound)
	calls := map[string]func() error{
		"get":    func() error { _, _, err := s.Get(ctx, "k"); return err },
		"set":    func() error { return s.Set(ctx, "k", []byte("v"), time.Minute) },
		"delete": func() error { _, err := s.Delete(ctx, []string{"k"}); return err },
		"allow":  func() error { _, err := s.Allow(ctx, "k", 1, time.Minute); return err },
		"peek":   func() error { _, err := s.Peek(ctx, "k", 1, time.Minute); return err },
	}
	check := func(phase string) {
		for name, call := range calls {
			start := time.Now()
			err := call()
			took := time.Since(start)
			if !errors.Is(err, cache.ErrUnavailable) {
				t.Errorf("%s %s: err = %v; want ErrUnavailable", phase, name, err)
			}
			// The bound plus scheduling slack: never the dial timeout or longer.
			if took > bound+200*time.Millisecond {
				t.Errorf("%s %s took %v; want within the %v bound", phase, name, took, bound)
			}
		}
	}
	check("before the health check")
	if err := s.Check(ctx); !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("Check = %v; want ErrUnavailable", err)
	}
	if s.Up() {
		t.Fatalf("Up() = true after a failed check")
	}
	check("after the health check")
}

func TestCallerDeadlineIsNotReportedAsUnavailable(t *testing.T) {
	e := newEnv(t, cache.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := e.store.Get(ctx, "k")
	if !errors.Is(err, context.Canceled) || errors.Is(err, cache.ErrUnavailable) {
		t.Errorf("Get with a cancelled context = %v; want context.Canceled, not ErrUnavailable", err)
	}
}

func TestWatchReportsEachCheckUntilCancelled(t *testing.T) {
	s := deadStore(t, 50*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	reports := make(chan bool)
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, 100*time.Millisecond, func(up bool) { reports <- up }) }()
	for i := 0; i < 2; i++ {
		if up := <-reports; up {
			t.Errorf("report #%d: up = true for a dead Redis", i+1)
		}
	}
	cancel()
	for {
		select {
		case <-reports: // a check that raced with the cancellation
		case err := <-done:
			if err != nil {
				t.Errorf("Watch returned %v after cancellation; want nil", err)
			}
			return
		}
	}
}

// privateRedis starts a redis-server on a free port, waiting for it to say
// it is ready, and returns its port and a function that stops it.
func privateRedis(t *testing.T, port int) (stop func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is needed for this test (deploy/local/deps.sh installs it): %v", err)
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "notice")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- true
				signalled = true
			}
		}
		if !signalled {
			ready <- false
		}
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	t.Cleanup(stop)
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("redis-server on port %d exited before it was ready", port)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("redis-server on port %d not ready after 10s", port)
	}
	return stop
}

func TestEveryCallRecoversWhenRedisComesBack(t *testing.T) {
	ctx := context.Background()
	calls := []struct {
		name string
		call func(s *cache.Store) error
	}{
		{"get", func(s *cache.Store) error { _, _, err := s.Get(ctx, "k"); return err }},
		{"set", func(s *cache.Store) error { return s.Set(ctx, "k", []byte("v"), time.Minute) }},
		{"delete", func(s *cache.Store) error { _, err := s.Delete(ctx, []string{"k"}); return err }},
		{"allow", func(s *cache.Store) error { _, err := s.Allow(ctx, "k", 1, time.Minute); return err }},
		{"peek", func(s *cache.Store) error { _, err := s.Peek(ctx, "k", 1, time.Minute); return err }},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			port := testenv.FreePort(t)
			stop := privateRedis(t, port)
			cfg := config.Redis{Host: "127.0.0.1", Port: port, Prefix: "p:"}
			client, err := redisx.New(cfg, redisx.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(client.Close)
			s := cache.New(client, cache.Options{Prefix: cfg.Prefix, Timeout: 300 * time.Millisecond, Log: quiet})

			// Open every pooled connection, so that each goes stale.
			var wg sync.WaitGroup
			for i := 0; i < 20; i++ {
				wg.Go(func() { _ = s.Set(ctx, "k", []byte("v"), time.Minute) })
			}
			wg.Wait()
			stop()
			if err := s.Check(ctx); !errors.Is(err, cache.ErrUnavailable) {
				t.Fatalf("Check after Redis stopped = %v; want ErrUnavailable", err)
			}
			if err := tt.call(s); !errors.Is(err, cache.ErrUnavailable) {
				t.Fatalf("%s while Redis is down = %v; want ErrUnavailable", tt.name, err)
			}

			privateRedis(t, port)
			if err := s.Check(ctx); err != nil {
				t.Fatalf("Check after Redis came back = %v; want nil", err)
			}
			if err := tt.call(s); err != nil {
				t.Errorf("first %s after Redis came back: %v; want success", tt.name, err)
			}
		})
	}
}

// gauge returns the value of a metric; name may select one series with a
// single label, as in `altus4_cache_hit_ratio{cache_type="values"}`.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	base, sel, _ := strings.Cut(name, "{")
	for _, mf := range mfs {
		if mf.GetName() != base {
			continue
		}
		for _, m := range mf.GetMetric() {
			if sel != "" {
				match := false
				for _, l := range m.GetLabel() {
					if l.GetName()+`="`+l.GetValue()+`"}` == sel {
						match = true
					}
				}
				if !match {
					continue
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func TestMetricsCountHitsMissesAndRedisUp(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cache.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.store.Collectors()...)
	if got := gauge(t, reg, `altus4_cache_hit_ratio{cache_type="values"}`); got != 0 {
		t.Errorf("hit ratio before any Get = %v; want 0", got)
	}
	if err := e.store.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k", "k", "k", "missing"} {
		if _, _, err := e.store.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]float64{}
	for _, name := range []string{"altus4_cache_hits_total", "altus4_cache_misses_total", `altus4_cache_hit_ratio{cache_type="values"}`, "altus4_redis_up"} {
		got[name] = gauge(t, reg, name)
	}
	want := map[string]float64{"altus4_cache_hits_total": 3, "altus4_cache_misses_total": 1, `altus4_cache_hit_ratio{cache_type="values"}`: 0.75, "altus4_redis_up": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}

	dead := deadStore(t, 50*time.Millisecond)
	reg2 := prometheus.NewRegistry()
	reg2.MustRegister(dead.Collectors()...)
	_ = dead.Check(ctx)
	if got := gauge(t, reg2, "altus4_redis_up"); got != 0 {
		t.Errorf("altus4_redis_up with Redis down = %v; want 0", got)
	}
}

func BenchmarkAllow(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, cache.Options{})
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.store.Allow(ctx, "bench-serial", 1<<30, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := e.store.Allow(ctx, "bench-parallel", 1<<30, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// quiet drops the Redis up/down log lines tests provoke on purpose.
var quiet = slog.New(slog.DiscardHandler)
