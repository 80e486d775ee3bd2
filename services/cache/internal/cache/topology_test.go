package cache_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/rueidis"

	shared "github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/cache/internal/cache"
	"github.com/altus4/altus/services/cache/internal/config"
	"github.com/altus4/altus/services/cache/internal/redistest"
	"github.com/altus4/altus/services/cache/internal/redisx"
)

// The Cluster (and, for benchmarks, a Sentinel deployment) is started once
// for the package, when a test first needs it, and stopped by TestMain.
var (
	clusterOnce sync.Once
	cluster     *redistest.Cluster
	clusterErr  error
	clusterDir  string

	sentinelOnce sync.Once
	sentinel     *redistest.Sentinel
	sentinelErr  error
	sentinelDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	if sentinel != nil {
		sentinel.Stop()
	}
	for _, d := range []string{clusterDir, sentinelDir} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	os.Exit(code)
}

// sharedCluster returns the package's Redis Cluster (3 masters, 3 replicas).
func sharedCluster(t testing.TB) *redistest.Cluster {
	t.Helper()
	clusterOnce.Do(func() {
		if clusterDir, clusterErr = os.MkdirTemp("", "altus-redis-cluster-"); clusterErr != nil {
			return
		}
		cluster, clusterErr = redistest.StartCluster(clusterDir)
	})
	if clusterErr != nil {
		t.Fatalf("Redis Cluster on loopback: %v", clusterErr)
	}
	return cluster
}

// sharedSentinel returns a Sentinel deployment nobody fails over (benchmarks).
func sharedSentinel(t testing.TB) *redistest.Sentinel {
	t.Helper()
	sentinelOnce.Do(func() {
		if sentinelDir, sentinelErr = os.MkdirTemp("", "altus-redis-sentinel-"); sentinelErr != nil {
			return
		}
		sentinel, sentinelErr = redistest.StartSentinel(sentinelDir)
	})
	if sentinelErr != nil {
		t.Fatalf("Redis Sentinel deployment on loopback: %v", sentinelErr)
	}
	return sentinel
}

// topologyStore opens the deployment topo names, as the service does, and
// returns a Store on it under a fresh prefix.
func topologyStore(t testing.TB, topo config.Topology, prefix string, o cache.Options) (*cache.Store, *redisx.Conn) {
	t.Helper()
	conn, err := redisx.Open(shared.Redis{Host: "127.0.0.1", Port: 6379, Prefix: prefix}, topo, redisx.Options{ClientCacheBytes: 8 << 20})
	if err != nil {
		t.Fatalf("redisx.Open(%+v): %v", topo, err)
	}
	t.Cleanup(conn.Close)
	o.Prefix = prefix
	if o.Log == nil {
		o.Log = quiet
	}
	return cache.NewFromSource(conn, o), conn
}

func clusterStore(t testing.TB, prefix string) (*cache.Store, *redisx.Conn) {
	return topologyStore(t, config.Topology{ClusterNodes: sharedCluster(t).Addrs()}, prefix, cache.Options{})
}

func freshPrefix() string { return "altus_test_" + testenv.RandomSuffix(12) + ":" }

// masterOf returns the address of the Cluster master that serves key: the
// one master that answers EXISTS without a MOVED redirection.
func masterOf(t testing.TB, c *redistest.Cluster, key string) string {
	t.Helper()
	for _, n := range c.Nodes {
		if n.Info("replication", "role") != "master" {
			continue
		}
		if err := n.Do("EXISTS", key); err == nil {
			return n.Addr
		}
	}
	t.Fatalf("no master serves %q", key)
	return ""
}

// onEveryMaster picks names name(0), name(1), … until each of the three
// masters serves perMaster of them (full maps a name to its Redis key), so
// that a test spans every master whatever its random prefix.
func onEveryMaster(t testing.TB, c *redistest.Cluster, perMaster int, name func(int) string, full func(string) string) []string {
	t.Helper()
	count := map[string]int{}
	var out []string
	for i := 0; len(out) < 3*perMaster; i++ {
		if i > 1000 {
			t.Fatalf("no %d names per master among 1000", perMaster)
		}
		n := name(i)
		m := masterOf(t, c, full(n))
		if count[m] < perMaster {
			count[m]++
			out = append(out, n)
		}
	}
	return out
}

func TestClusterNodesGiveAClusterClient(t *testing.T) {
	_, conn := clusterStore(t, freshPrefix())
	c, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode() != rueidis.ClientModeCluster {
		t.Errorf("client mode = %v; want %v", c.Mode(), rueidis.ClientModeCluster)
	}
	if got := len(c.Nodes()); got != 3 {
		t.Errorf("the client is connected to %d nodes; want the 3 masters", got)
	}
}

// REDIS_URL naming several nodes (?addr=) also gives a Cluster client.
func TestClusterURLWithSeveralNodesGivesAClusterClient(t *testing.T) {
	addrs := sharedCluster(t).Addrs()
	s, conn := topologyStore(t, config.Topology{URL: "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]}, freshPrefix(), cache.Options{})
	c, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode() != rueidis.ClientModeCluster {
		t.Errorf("client mode = %v; want %v", c.Mode(), rueidis.ClientModeCluster)
	}
	if err := s.Check(context.Background()); err != nil {
		t.Errorf("Check = %v; want up", err)
	}
}

func TestClusterValuesAndDeleteAcrossSlots(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix()
	s, _ := clusterStore(t, prefix)
	keys := onEveryMaster(t, sharedCluster(t), 4, func(i int) string { return "k" + strconv.Itoa(i) },
		func(k string) string { return prefix + k })
	for i, k := range keys {
		if err := s.Set(ctx, k, []byte("value "+strconv.Itoa(i)), time.Minute); err != nil {
			t.Fatalf("Set(%s): %v", k, err)
		}
	}
	for i, k := range keys {
		v, found, err := s.Get(ctx, k)
		if err != nil || !found || string(v) != "value "+strconv.Itoa(i) {
			t.Errorf("Get(%s) = %q, %v, %v; want %q", k, v, found, err, "value "+strconv.Itoa(i))
		}
	}
	n, err := s.Delete(ctx, append(slices.Clone(keys), "missing-1", "missing-2"))
	if err != nil {
		t.Fatalf("Delete of keys on three masters: %v", err)
	}
	if n != len(keys) {
		t.Errorf("Delete reported %d deleted; want %d", n, len(keys))
	}
	for _, k := range keys {
		if _, found, err := s.Get(ctx, k); err != nil || found {
			t.Errorf("Get(%s) after Delete = found %v, err %v; want not found", k, found, err)
		}
	}
}

func TestClusterVersionedEntriesAcrossSlots(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix()
	a, _ := clusterStore(t, prefix)
	b, _ := clusterStore(t, prefix) // another replica of the service
	counter := func(k string) string { return prefix + "ver:" + k }
	// Two counters on each master; the value's key is elsewhere again.
	versionKeys := onEveryMaster(t, sharedCluster(t), 2, func(i int) string { return "sources:u" + strconv.Itoa(i) }, counter)

	v0, _, found, err := a.GetVersioned(ctx, versionKeys, "page1")
	if err != nil || found {
		t.Fatalf("first GetVersioned = found %v, err %v; want a miss", found, err)
	}
	for i, v := range v0 {
		if v < time.Now().Add(-time.Minute).UnixMilli() {
			t.Errorf("unset counter %s reads %d; want it started at the clock", versionKeys[i], v)
		}
	}
	if err := a.SetVersioned(ctx, "page1", v0, []byte("results"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := readEventually(t, a, versionKeys, "page1"); string(got) != "results" {
		t.Fatalf("GetVersioned = %q; want %q", got, "results")
	}
	// Hot: the counters (three masters) and the value come from memory.
	before := a.LocalHits()
	if _, v, found, err := a.GetVersioned(ctx, versionKeys, "page1"); err != nil || !found || string(v) != "results" {
		t.Fatalf("hot GetVersioned = %q, %v, %v", v, found, err)
	}
	if a.LocalHits() != before+1 {
		t.Errorf("the hot versioned read went to Redis (local hits %d -> %d)", before, a.LocalHits())
	}
	readEventually(t, b, versionKeys, "page1") // replica B holds the counters in memory too

	// Move one counter of each master through replica B, in one call: the
	// first of each master's pair (onEveryMaster fills masters in turn, so
	// pick by master).
	seen := map[string]bool{}
	var bumped []string
	var wantBumped []int64
	want := slices.Clone(v0)
	for i, k := range versionKeys {
		if m := masterOf(t, sharedCluster(t), counter(k)); !seen[m] {
			seen[m] = true
			bumped = append(bumped, k)
			want[i] = v0[i] + 1
			wantBumped = append(wantBumped, want[i])
		}
	}
	got, err := b.BumpVersions(ctx, bumped)
	if err != nil {
		t.Fatalf("BumpVersions over three masters: %v", err)
	}
	if diff := cmp.Diff(wantBumped, got); diff != "" {
		t.Errorf("BumpVersions (-want +got):\n%s", diff)
	}
	// Replica A sees every move (Redis invalidated its memory copies) and
	// no longer finds the entry stored under the old versions.
	var v []int64
	err = redistest.Wait(2*time.Second, func() bool {
		v, _, found, err = a.GetVersioned(ctx, versionKeys, "page1")
		return err == nil && slices.Equal(v, want) && !found
	})
	if err != nil {
		t.Fatalf("replica A reads versions %v (found %v, err %v) two seconds after the bump; want %v and a miss", v, found, err, want)
	}
	// Replica B, which moved them, reads the new versions at once.
	if v, _, _, err := b.GetVersioned(ctx, versionKeys, "page1"); err != nil || !slices.Equal(v, want) {
		t.Errorf("replica B reads %v, %v; want %v", v, err, want)
	}
}

func TestClusterRateLimitsAcrossSlots(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix()
	now := newClock(time.Minute)
	s, _ := topologyStore(t, config.Topology{ClusterNodes: sharedCluster(t).Addrs()}, prefix, cache.Options{Now: now.Now})
	window := strconv.FormatInt(now.Now().Truncate(time.Minute).Unix(), 10)
	subjects := onEveryMaster(t, sharedCluster(t), 2, func(i int) string { return "apikey:" + strconv.Itoa(i) },
		func(sub string) string { return prefix + "rl:" + sub + ":" + window })
	for _, sub := range subjects {
		for i := 1; i <= 4; i++ {
			w, err := s.Allow(ctx, sub, 3, time.Minute)
			if err != nil {
				t.Fatalf("Allow(%s) #%d: %v", sub, i, err)
			}
			if w.Allowed != (i <= 3) || w.Used != int64(i) {
				t.Errorf("Allow(%s) #%d = allowed %v used %d; want allowed %v used %d", sub, i, w.Allowed, w.Used, i <= 3, i)
			}
		}
		w, err := s.Peek(ctx, sub, 3, time.Minute)
		if err != nil || w.Used != 4 || w.Allowed || w.Remaining != 0 {
			t.Errorf("Peek(%s) = %+v, %v; want used 4, not allowed, 0 remaining", sub, w, err)
		}
	}
	// Concurrent requests of one subject: exactly the limit is allowed.
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if w, err := s.Allow(ctx, "apikey:burst", 25, time.Minute); err == nil && w.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 25 {
		t.Errorf("%d of 40 concurrent requests allowed; want 25", allowed.Load())
	}
}

func TestClusterHealthCheckReportsUp(t *testing.T) {
	s, _ := clusterStore(t, freshPrefix())
	if err := s.Check(context.Background()); err != nil || !s.Up() {
		t.Errorf("Check = %v, Up = %v; want nil, true", err, s.Up())
	}
}

// With no Sentinel or Cluster node answering, the service still gets a
// Store: every call fails at once with ErrUnavailable.
func TestUnreachableSentinelsAndClusterFailFastWithUnavailable(t *testing.T) {
	tests := []struct {
		name string
		topo config.Topology
	}{
		{"sentinel", config.Topology{Sentinels: []string{"127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))}, SentinelMaster: "m"}},
		{"cluster", config.Topology{ClusterNodes: []string{"127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := topologyStore(t, tt.topo, "dead:", cache.Options{Timeout: 200 * time.Millisecond})
			if err := s.Check(ctx); !errors.Is(err, cache.ErrUnavailable) || s.Up() {
				t.Errorf("Check = %v, Up %v; want ErrUnavailable, down", err, s.Up())
			}
			start := time.Now()
			_, _, err := s.Get(ctx, "k")
			if !errors.Is(err, cache.ErrUnavailable) {
				t.Errorf("Get = %v; want ErrUnavailable", err)
			}
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("Get took %s with Redis down; want an immediate failure", d)
			}
		})
	}
}

// A service started before its Sentinels runs degraded, then serves once
// they answer, with no restart.
func TestStoreStartedBeforeTheSentinelsServesOnceTheyAnswer(t *testing.T) {
	ctx := context.Background()
	ports := []int{testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)}
	var addrs []string
	for _, p := range ports {
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(p))
	}
	s, _ := topologyStore(t, config.Topology{Sentinels: addrs, SentinelMaster: "altusmaster"}, freshPrefix(), cache.Options{})
	if err := s.Check(ctx); !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("Check before the Sentinels start = %v; want ErrUnavailable", err)
	}
	if err := s.Set(ctx, "k", []byte("v"), time.Minute); !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("Set before the Sentinels start = %v; want ErrUnavailable", err)
	}
	d, err := redistest.StartSentinel(t.TempDir(), ports...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	// The client is built again at most once a second: bounded wait.
	if err := redistest.Wait(5*time.Second, func() bool { return s.Check(ctx) == nil }); err != nil {
		t.Fatalf("the Store did not reach the Sentinels' master within 5 s of their start")
	}
	if err := s.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatalf("Set once the Sentinels answer: %v", err)
	}
	if v, found, err := s.Get(ctx, "k"); err != nil || !found || string(v) != "v" {
		t.Errorf("Get = %q, %v, %v; want v", v, found, err)
	}
}

// A Cluster master dies: its replica takes over and the Store serves that
// master's slots again without a restart. When the promoted replica dies
// too, no node serves those slots, the cluster reports cluster_state:fail
// and the health check says Redis is down.
func TestClusterMasterFailoverAndLossOfAShard(t *testing.T) {
	c, err := redistest.StartCluster(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	ctx := context.Background()
	prefix := freshPrefix()
	s, _ := topologyStore(t, config.Topology{ClusterNodes: c.Addrs()}, prefix, cache.Options{})
	if err := s.Set(ctx, "doomed", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	nodeAt := func(addr string) *redistest.Server {
		for _, n := range c.Nodes {
			if n.Addr == addr {
				return n
			}
		}
		t.Fatalf("no node %s", addr)
		return nil
	}
	master := nodeAt(masterOf(t, c, prefix+"doomed"))
	killed := time.Now()
	master.Kill()
	alive := func(n *redistest.Server) bool { return n != master }

	// The replica is promoted (cluster-node-timeout 2 s) and the Store
	// reaches the slot through it: a write lands, within 15 s.
	err = redistest.Wait(15*time.Second, func() bool {
		return s.Set(ctx, "doomed", []byte("after"), time.Minute) == nil
	})
	if err != nil {
		t.Fatalf("writes to the dead master's slots did not succeed within 15 s")
	}
	recovered := time.Since(killed)
	if v, found, err := s.Get(ctx, "doomed"); err != nil || !found || string(v) != "after" {
		t.Errorf("Get after the failover = %q, %v, %v; want after", v, found, err)
	}
	if err := redistest.Wait(5*time.Second, func() bool { return s.Check(ctx) == nil }); err != nil {
		t.Errorf("health check after the failover = %v; want up", s.Check(ctx))
	}
	t.Logf("Cluster master %s killed; its slots served again after %s", master.Addr, recovered.Round(time.Millisecond))

	// Now the promoted replica dies too: the shard is gone.
	var promoted *redistest.Server
	for _, n := range c.Nodes {
		if alive(n) && n.Info("replication", "role") == "master" && n.Do("EXISTS", prefix+"doomed") == nil {
			promoted = n
		}
	}
	if promoted == nil {
		t.Fatal("no live master serves the dead master's slot")
	}
	promoted.Kill()
	lost := time.Now()
	if err := redistest.Wait(15*time.Second, func() bool { return errors.Is(s.Check(ctx), cache.ErrUnavailable) && !s.Up() }); err != nil {
		t.Fatalf("the health check still says up 15 s after a shard lost every node")
	}
	t.Logf("shard lost; health check down after %s", time.Since(lost).Round(time.Millisecond))
	start := time.Now()
	if _, _, err := s.Get(ctx, "other"); !errors.Is(err, cache.ErrUnavailable) {
		t.Errorf("Get with the cluster down = %v; want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Get took %s with the cluster down; want an immediate failure", d)
	}
}

// failoverStats counts the operations of the load during a failover.
type failoverStats struct {
	mu sync.Mutex
	// failed and wrong count operations that failed, and reads of a value
	// just written that returned something else, by phase.
	failed, wrong, ok   [2]int
	firstFail, lastFail time.Time
	errs                map[string]int
}

func (f *failoverStats) record(phase int, err error, wrong bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err != nil:
		f.failed[phase]++
		now := time.Now()
		if f.firstFail.IsZero() {
			f.firstFail = now
		}
		f.lastFail = now
		msg := err.Error()
		if len(msg) > 90 {
			msg = msg[:90]
		}
		f.errs[msg]++
	case wrong:
		f.wrong[phase]++
	default:
		f.ok[phase]++
	}
}

// A master with one replica and three Sentinels: the master is killed
// while several goroutines use the Store. Sentinel promotes the replica,
// the client follows on its own, and from then on every operation succeeds,
// values written after the failover are read back, and client-side caching
// is invalidated by the new master.
func TestSentinelFailoverRecoversWithoutRestart(t *testing.T) {
	d, err := redistest.StartSentinel(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	ctx := context.Background()
	prefix := freshPrefix()
	topo := config.Topology{Sentinels: d.Addrs(), SentinelMaster: d.MasterName}
	a, _ := topologyStore(t, topo, prefix, cache.Options{})
	b, _ := topologyStore(t, topo, prefix, cache.Options{}) // another replica of the service

	// The service's health check, at the service's default interval.
	interval := config.Default().RedisCheckInterval
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	for _, s := range []*cache.Store{a, b} {
		go func() { _ = s.Watch(watchCtx, interval, func(bool) {}) }()
	}

	if err := a.Set(ctx, "before", []byte("x"), time.Minute); err != nil {
		t.Fatalf("Set through the Sentinels: %v", err)
	}
	if v, found, err := b.Get(ctx, "before"); err != nil || !found || string(v) != "x" {
		t.Fatalf("Get through the Sentinels = %q, %v, %v", v, found, err)
	}

	stats := &failoverStats{errs: map[string]int{}}
	var phase atomic.Int32 // 0: until recovery is seen, 1: after
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			vkeys := []string{"sources:g" + strconv.Itoa(g)}
			// Paced like a busy service (200 rounds a second per goroutine),
			// so that fail-fast errors do not spin and the counts mean
			// something.
			pace := time.NewTicker(5 * time.Millisecond)
			defer pace.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-pace.C:
				}
				p := int(phase.Load())
				key := fmt.Sprintf("g%d:%d", g, i)
				want := []byte(key)
				err := a.Set(ctx, key, want, time.Minute)
				wrong := false
				if err == nil {
					var got []byte
					var found bool
					got, found, err = a.Get(ctx, key)
					wrong = err == nil && (!found || string(got) != key)
				}
				stats.record(p, err, wrong)
				_, err = a.Allow(ctx, "subject"+strconv.Itoa(g), 1<<30, time.Minute)
				stats.record(p, err, false)
				_, _, _, err = a.GetVersioned(ctx, vkeys, "page")
				stats.record(p, err, false)
				if i%10 == 0 {
					_, err = a.BumpVersions(ctx, vkeys)
					stats.record(p, err, false)
				}
			}
		})
	}
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	})

	// Let the load run, then kill the master.
	if err := redistest.Wait(5*time.Second, func() bool { stats.mu.Lock(); defer stats.mu.Unlock(); return stats.ok[0] > 400 }); err != nil {
		t.Fatalf("the load did not get going: %v", err)
	}
	oldMaster := d.Master.Addr
	killed := time.Now()
	d.Master.Kill()

	// Recovered: the Sentinels name the replica as master, the health check
	// says up, and an operation succeeds — within 15 s, without a restart.
	if err := redistest.Wait(15*time.Second, func() bool { return d.MasterAddr() == d.Replica.Addr }); err != nil {
		t.Fatalf("the Sentinels did not promote the replica within 15 s (they name %q)", d.MasterAddr())
	}
	promoted := time.Since(killed)
	// Recovered means: health up, a write succeeds, and the load has seen
	// no failure for half a second (connections to the dead master that
	// the client had open or was dialling are gone by then).
	err = redistest.Wait(15*time.Second-promoted, func() bool {
		if !a.Up() || a.Set(ctx, "probe", []byte("p"), time.Minute) != nil {
			return false
		}
		stats.mu.Lock()
		defer stats.mu.Unlock()
		return time.Since(stats.lastFail) > 500*time.Millisecond
	})
	if err != nil {
		t.Fatalf("the Store did not recover within 15 s of the master's death (up %v)", a.Up())
	}
	recovered := time.Since(killed)
	phase.Store(1)
	// After the failover: two more seconds of load, none of it may fail.
	steady := time.NewTimer(2 * time.Second)
	<-steady.C
	close(stop)
	wg.Wait()

	stats.mu.Lock()
	defer stats.mu.Unlock()
	var window time.Duration
	if !stats.lastFail.IsZero() {
		window = stats.lastFail.Sub(stats.firstFail)
	}
	t.Logf("master %s killed; Sentinels named %s after %s; the Store recovered (health up, a write succeeds, no failure for 500ms) after %s "+
		"(health check every %s); "+
		"from the start of the load to the recovery %d operations failed and %d succeeded (failures over %s), %d reads of a value just written missed it; "+
		"after it %d succeeded, %d failed, %d reads missed; errors: %v",
		oldMaster, d.Replica.Addr, promoted.Round(time.Millisecond), recovered.Round(time.Millisecond), interval, stats.failed[0], stats.ok[0], window.Round(time.Millisecond),
		stats.wrong[0], stats.ok[1], stats.failed[1], stats.wrong[1], stats.errs)
	if stats.failed[1] != 0 || stats.wrong[1] != 0 {
		t.Errorf("after the failover %d operations failed and %d reads missed the value just written; want none", stats.failed[1], stats.wrong[1])
	}
	if stats.ok[1] == 0 {
		t.Errorf("no operation ran after the failover")
	}

	// Values written after the failover are readable through another replica.
	if v, found, err := b.Get(ctx, "probe"); err != nil || !found || string(v) != "p" {
		t.Errorf("replica B reads the value written after the failover as %q, %v, %v", v, found, err)
	}
	// Client-side caching on the new master: B holds a counter in memory,
	// A bumps it, and B sees the bump.
	keys := []string{"sources:after"}
	v0, _, _, err := b.GetVersioned(ctx, keys, "k")
	if err != nil {
		t.Fatal(err)
	}
	before := b.LocalHits()
	if err := redistest.Wait(2*time.Second, func() bool {
		_, _, _, err := b.GetVersioned(ctx, keys, "k")
		return err == nil && b.LocalHits() > before
	}); err != nil {
		t.Fatalf("replica B does not serve the versioned read from memory after the failover")
	}
	if _, err := a.BumpVersions(ctx, keys); err != nil {
		t.Fatal(err)
	}
	var v []int64
	if err := redistest.Wait(2*time.Second, func() bool {
		v, _, _, err = b.GetVersioned(ctx, keys, "k")
		return err == nil && v[0] == v0[0]+1
	}); err != nil {
		t.Errorf("replica B reads version %v two seconds after A moved it from %d on the new master", v, v0[0])
	}
}

// benchTopologies are the deployments the benchmarks compare.
func benchTopologies(b *testing.B) map[string]func(b *testing.B) *cache.Store {
	return map[string]func(b *testing.B) *cache.Store{
		"standalone": func(b *testing.B) *cache.Store {
			return newEnv(b, cache.Options{}).store
		},
		"sentinel": func(b *testing.B) *cache.Store {
			s, _ := topologyStore(b, config.Topology{Sentinels: sharedSentinel(b).Addrs(), SentinelMaster: sharedSentinel(b).MasterName}, freshPrefix(), cache.Options{})
			return s
		},
		"cluster": func(b *testing.B) *cache.Store {
			s, _ := clusterStore(b, freshPrefix())
			return s
		},
	}
}

func benchEach(b *testing.B, op func(b *testing.B, s *cache.Store)) {
	topos := benchTopologies(b)
	for _, name := range []string{"standalone", "sentinel", "cluster"} {
		b.Run(name, func(b *testing.B) { op(b, topos[name](b)) })
	}
}

func BenchmarkStoreGet(b *testing.B) {
	ctx := context.Background()
	benchEach(b, func(b *testing.B, s *cache.Store) {
		if err := s.Set(ctx, "bench", []byte(strings.Repeat("x", 512)), time.Hour); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, _, err := s.Get(ctx, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkStoreAllow(b *testing.B) {
	ctx := context.Background()
	benchEach(b, func(b *testing.B, s *cache.Store) {
		for b.Loop() {
			if _, err := s.Allow(ctx, "bench", 1<<30, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStoreGetVersioned reads a hot entry depending on three counters
// (in three Cluster slots): served from the client-side cache.
func BenchmarkStoreGetVersioned(b *testing.B) {
	ctx := context.Background()
	keys := []string{"sources:u1", "sources:u2", "sources:u3"}
	benchEach(b, func(b *testing.B, s *cache.Store) {
		v, _, _, err := s.GetVersioned(ctx, keys, "page")
		if err != nil {
			b.Fatal(err)
		}
		if err := s.SetVersioned(ctx, "page", v, []byte(strings.Repeat("r", 2048)), time.Hour); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, _, _, err := s.GetVersioned(ctx, keys, "page"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
