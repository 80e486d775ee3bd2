package replicatest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/dbrouter/internal/credential"
	"github.com/altus4/altus/services/dbrouter/internal/datasource"
	"github.com/altus4/altus/services/dbrouter/internal/fulltext"
	"github.com/altus4/altus/services/dbrouter/internal/migrations"
	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/replicatest"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
	"github.com/altus4/altus/services/dbrouter/internal/sqlbuild"
	"github.com/altus4/altus/services/dbrouter/internal/store"
)

// pair is the primary and replica shared by every test of the package.
var pair *replicatest.Pair

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "altus-replicatest-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	if pair, err = replicatest.Start(ctx, dir); err != nil {
		return 1, err
	}
	defer pair.Close()
	stmts := []string{
		"CREATE TABLE " + replicatest.Database + ".posts (id INT NOT NULL PRIMARY KEY, title VARCHAR(200) NOT NULL, FULLTEXT KEY ft_title (title)) ENGINE=InnoDB",
	}
	for i := 1; i <= 50; i++ {
		stmts = append(stmts, "INSERT INTO "+replicatest.Database+".posts VALUES ("+strconv.Itoa(i)+", 'replicated galaxy post number "+strconv.Itoa(i)+"')")
	}
	if err := pair.Primary.Exec(ctx, stmts...); err != nil {
		return 1, err
	}
	if err := pair.WaitCaughtUp(ctx); err != nil {
		return 1, err
	}
	return m.Run(), nil
}

// env is the data source domain and the search executor over a fresh
// metadata database, with fast replica checks.
type env struct {
	svc  *datasource.Service
	exec *fulltext.Executor
	reg  *prometheus.Registry
}

const user = "u-1"

func newEnv(t *testing.T, maxLag time.Duration) *env {
	t.Helper()
	ctx := context.Background()
	meta, _ := testenv.OpenDatabase(t)
	if _, err := migrate.Up(ctx, meta, migrations.Service, migrations.FS, nil); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, credential.KeySize)
	cipher, err := credential.New(key)
	if err != nil {
		t.Fatal(err)
	}
	pools := pool.NewManager(pool.Options{MaxSize: 8, AcquireTimeout: 2 * time.Second, ConnectTimeout: time.Second, ReapInterval: -1})
	pools.SetReplicaOptions(pool.ReplicaOptions{CheckInterval: 100 * time.Millisecond, MaxLag: maxLag})
	t.Cleanup(func() { _ = pools.Close(context.Background()) })
	reg := prometheus.NewRegistry()
	if err := pools.Register(reg); err != nil {
		t.Fatal(err)
	}
	schemas := schema.NewCache(schema.CacheOptions{TTL: 5 * time.Minute})
	t.Cleanup(schemas.Wait)
	svc, err := datasource.New(datasource.Options{Store: store.New(meta), Cipher: cipher, Pools: pools, Schemas: schemas})
	if err != nil {
		t.Fatal(err)
	}
	exec, err := fulltext.New(fulltext.Options{Sources: svc, MaxConcurrency: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Register(reg); err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, exec: exec, reg: reg}
}

func (e *env) create(t *testing.T, replicas ...*replicatest.Server) datasource.Connection {
	t.Helper()
	port := pair.Primary.Port
	in := datasource.CreateInput{Name: "shop", Host: "127.0.0.1", Port: &port, Database: replicatest.Database,
		Username: replicatest.User, Password: replicatest.Password}
	for _, r := range replicas {
		in.Replicas = append(in.Replicas, datasource.Replica{Host: "127.0.0.1", Port: r.Port})
	}
	c, err := e.svc.Create(context.Background(), user, in)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return c
}

func (e *env) search(ctx context.Context, id string) error {
	resp, err := e.exec.Execute(ctx, user, fulltext.Request{SourceID: id, Plans: []fulltext.Plan{
		{Table: "posts", Index: "ft_title", Mode: sqlbuild.ModeNatural, Against: "galaxy", Limit: 5},
	}})
	if err != nil {
		return err
	}
	if perr := resp.Plans[0].Err; perr != nil {
		return perr
	}
	if n := len(resp.Plans[0].Rows); n != 5 {
		return fmt.Errorf("search returned %d rows, want 5", n)
	}
	return nil
}

// waitState polls (every 20 ms, at most 30 s) until the source's first
// replica is in state (with reason, when not empty), and returns how long
// that took.
func (e *env) waitState(t *testing.T, id, state, reason string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last datasource.ReplicaHealth
	for time.Now().Before(deadline) {
		c, err := e.svc.Get(context.Background(), user, id)
		if err != nil {
			t.Fatal(err)
		}
		last = c.ReplicaStatus[0]
		if last.State == state && (reason == "" || last.Reason == reason) {
			return time.Since(start)
		}
		<-tick.C
	}
	t.Fatalf("replica still %+v after 30s; want %s %s", last, state, reason)
	return 0
}

func comSelect(t *testing.T, s *replicatest.Server) int64 {
	t.Helper()
	n, err := s.ComSelect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// metric returns the value of the counter or gauge name with labels.
func (e *env) metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func TestSearchesReadFromTheReplicaAndSchemaDiscoveryFromThePrimary(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	ctx := context.Background()
	c := e.create(t, pair.Replica)
	if _, err := e.svc.Schema(ctx, user, c.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := e.search(ctx, c.ID); err != nil { // opens the replicas
		t.Fatal(err)
	}
	e.waitState(t, c.ID, pool.ReplicaHealthy, "")

	p0, r0 := comSelect(t, pair.Primary), comSelect(t, pair.Replica)
	const n = 40
	for range n {
		if err := e.search(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	p1, r1 := comSelect(t, pair.Primary), comSelect(t, pair.Replica)
	// The counters' own SHOW statements are not SELECTs.
	if got := p1 - p0; got != 0 {
		t.Errorf("the primary answered %d SELECTs during %d searches, want 0", got, n)
	}
	if got := r1 - r0; got < n {
		t.Errorf("the replica answered %d SELECTs during %d searches, want at least %d", got, n, n)
	}
	if got := e.metric(t, fulltext.MetricReads, map[string]string{"database_id": c.ID, "server": pair.Replica.Addr()}); got < n {
		t.Errorf("%s{server=replica} = %v, want at least %d", fulltext.MetricReads, got, n)
	}

	// Schema discovery (refresh) reads the primary only.
	if _, err := e.svc.Schema(ctx, user, c.ID, true); err != nil {
		t.Fatal(err)
	}
	p2, r2 := comSelect(t, pair.Primary), comSelect(t, pair.Replica)
	if p2 == p1 || r2 != r1 {
		t.Errorf("schema discovery: primary SELECTs +%d, replica +%d; want >0 and 0", p2-p1, r2-r1)
	}
}

func TestKillingTheReplicaUnderLoadFailsNoSearchAndItIsReadmittedAfterRestart(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	ctx := context.Background()
	c := e.create(t, pair.Replica)
	if err := e.search(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, c.ID, pool.ReplicaHealthy, "")

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := e.search(ctx, c.ID); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for !cond() {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				t.Fatalf("timed out waiting for %s", what)
			}
			<-tick.C
		}
	}
	onReplica := func() float64 {
		return e.metric(t, fulltext.MetricReads, map[string]string{"database_id": c.ID, "server": pair.Replica.Addr()})
	}
	onPrimary := func() float64 {
		return e.metric(t, fulltext.MetricReads, map[string]string{"database_id": c.ID, "server": fulltext.ServerPrimary})
	}
	waitFor("searches on the replica", func() bool { return onReplica() >= 200 })

	pair.Replica.Kill()
	killedAt := ok.Load()
	primaryAtKill := onPrimary()
	e.waitState(t, c.ID, pool.ReplicaEjected, pool.ReasonConnection)
	waitFor("searches on the primary", func() bool { return onPrimary() >= primaryAtKill+200 })
	duringOutage := ok.Load() - killedAt

	if err := pair.Replica.Start(ctx); err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	readmit := e.waitState(t, c.ID, pool.ReplicaHealthy, "")
	replicaAtReadmit := onReplica()
	waitFor("searches on the replica again", func() bool { return onReplica() >= replicaAtReadmit+100 })
	close(stop)
	wg.Wait()

	retries := e.metric(t, fulltext.MetricReplicaRetries, map[string]string{"database_id": c.ID})
	ejections := e.metric(t, pool.MetricReplicaEjections, map[string]string{"database_id": c.ID, "reason": pool.ReasonConnection})
	t.Logf("searches: %d ok, %d failed; %d during the outage; %v retried on the primary; %v ejections; re-admitted %s after the replica accepted connections",
		ok.Load(), failed.Load(), duringOutage, retries, ejections, readmit.Round(time.Millisecond))
	if n := failed.Load(); n != 0 {
		t.Errorf("%d searches failed, first: %v", n, firstErr.Load())
	}
	if ejections < 1 {
		t.Errorf("%s{reason=connection} = %v, want at least 1", pool.MetricReplicaEjections, ejections)
	}
	if err := pair.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestALaggingReplicaIsEjectedForLagAndReadmittedOnceCaughtUp(t *testing.T) {
	e := newEnv(t, time.Second)
	ctx := context.Background()
	c := e.create(t, pair.Replica)
	if err := e.search(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, c.ID, pool.ReplicaHealthy, "")

	// The replica applies each event 4 s after the primary wrote it, so
	// its lag climbs to 4 s (above the maximum of 1 s) and then falls to 0.
	if err := pair.Replica.Exec(ctx, "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY=4", "START SLAVE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pair.Replica.Exec(context.Background(), "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY=0", "START SLAVE")
	})
	if err := pair.Primary.Exec(ctx, "INSERT INTO "+replicatest.Database+".posts VALUES (1000, 'late galaxy post')"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pair.Primary.Exec(context.Background(), "DELETE FROM "+replicatest.Database+".posts WHERE id = 1000")
	})
	e.waitState(t, c.ID, pool.ReplicaEjected, pool.ReasonLag)
	got, err := e.svc.Get(ctx, user, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if lag := got.ReplicaStatus[0].Lag; lag <= time.Second {
		t.Errorf("an ejected replica reports lag %s, want more than 1s", lag)
	}
	r0 := comSelect(t, pair.Replica)
	for range 10 {
		if err := e.search(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if d := comSelect(t, pair.Replica) - r0; d != 0 {
		t.Errorf("the lagging replica answered %d SELECTs, want 0", d)
	}
	if got := e.metric(t, pool.MetricReplicaEjections, map[string]string{"database_id": c.ID, "reason": pool.ReasonLag}); got != 1 {
		t.Errorf("%s{reason=lag} = %v, want 1", pool.MetricReplicaEjections, got)
	}
	readmit := e.waitState(t, c.ID, pool.ReplicaHealthy, "")
	t.Logf("re-admitted %s after the lag ejection was seen", readmit.Round(time.Millisecond))
}

func TestAServerThatIsNotReplicatingIsNeverRead(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	ctx := context.Background()
	// The primary replicates from nobody: as a "replica" it reports no
	// replication status.
	c := e.create(t, pair.Primary)
	if err := e.search(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, c.ID, pool.ReplicaEjected, pool.ReasonNotReplicating)
	if got := e.metric(t, fulltext.MetricReads, map[string]string{"database_id": c.ID, "server": pair.Primary.Addr()}); got != 0 {
		t.Errorf("reads from the non-replicating replica = %v, want 0", got)
	}
}

func TestReplicasAreValidatedAndTestedBeforeSaving(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	ctx := context.Background()
	port := pair.Primary.Port
	base := datasource.CreateInput{Name: "shop", Host: "127.0.0.1", Port: &port, Database: replicatest.Database,
		Username: replicatest.User, Password: replicatest.Password}
	many := make([]datasource.Replica, datasource.MaxReplicas+1)
	for i := range many {
		many[i] = datasource.Replica{Host: "r" + strconv.Itoa(i) + ".example"}
	}
	tests := []struct {
		name       string
		replicas   []datasource.Replica
		wantFields []string
	}{
		{"too many", many, []string{"replicas"}},
		{"a host with a scheme and a bad port", []datasource.Replica{{Host: "mysql://x", Port: 70000}}, []string{"replicas[0].host", "replicas[0].port"}},
		{"listed twice", []datasource.Replica{{Host: "127.0.0.1", Port: 3307}, {Host: "127.0.0.1", Port: 3307}}, []string{"replicas[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			in.Replicas = tt.replicas
			_, err := e.svc.Create(ctx, user, in)
			var ve *validate.Error
			if !errors.As(err, &ve) {
				t.Fatalf("Create = %v, want a validation error", err)
			}
			var fields []string
			for _, v := range ve.Violations {
				fields = append(fields, v.Field)
			}
			if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}

	in := base
	in.Replicas = []datasource.Replica{{Host: "127.0.0.1", Port: pair.Replica.Port}, {Host: "127.0.0.1", Port: testenv.FreePort(t)}}
	if _, err := e.svc.Create(ctx, user, in); !errors.Is(err, datasource.ErrConnectionFailed) {
		t.Fatalf("Create with an unreachable replica = %v, want ErrConnectionFailed", err)
	}
	if list, err := e.svc.List(ctx, user); err != nil || len(list) != 0 {
		t.Fatalf("after a failed replica test the user has %d sources (%v), want 0", len(list), err)
	}

	// Update replaces the replicas, and clears them.
	c := e.create(t)
	up, err := e.svc.Update(ctx, user, c.ID, datasource.UpdateInput{Replicas: []datasource.Replica{{Host: "127.0.0.1", Port: pair.Replica.Port}}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]datasource.Replica{{Host: "127.0.0.1", Port: pair.Replica.Port}}, up.Replicas); diff != "" {
		t.Errorf("replicas after update (-want +got):\n%s", diff)
	}
	if _, err := e.svc.Update(ctx, user, c.ID, datasource.UpdateInput{ClearReplicas: true, Replicas: up.Replicas}); err == nil {
		t.Error("Update with replicas and clearReplicas succeeded, want a validation error")
	}
	cleared, err := e.svc.Update(ctx, user, c.ID, datasource.UpdateInput{ClearReplicas: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(cleared.Replicas) != 0 || cleared.Version != up.Version+1 {
		t.Errorf("after clearReplicas: replicas %v, version %d; want none, %d", cleared.Replicas, cleared.Version, up.Version+1)
	}
}

func TestReplicaSessionsAreReadOnlyWithTheSourcesCredentials(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	ctx := context.Background()
	c := e.create(t, pair.Replica)
	src, err := e.svc.Open(ctx, user, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if src.Replicas == nil || len(src.Replicas.Replicas()) != 1 {
		t.Fatalf("opened source has replicas %v, want one", src.Replicas)
	}
	conn, err := src.Replicas.Replicas()[0].Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var readOnly int
	var who string
	if err := conn.QueryRowContext(ctx, "SELECT @@session.tx_read_only, CURRENT_USER()").Scan(&readOnly, &who); err != nil {
		t.Fatal(err)
	}
	if readOnly != 1 || who != replicatest.User+"@%" {
		t.Errorf("replica session: read only %d as %s, want 1 as %s@%%", readOnly, who, replicatest.User)
	}
	if got := conn.Settings().Port; got != pair.Replica.Port {
		t.Errorf("replica connection to port %d, want %d", got, pair.Replica.Port)
	}
}
