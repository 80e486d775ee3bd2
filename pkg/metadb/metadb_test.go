package metadb_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/pkg/metadb"
	"github.com/altus4/altus/pkg/metadb/metadbtest"
	"github.com/altus4/altus/pkg/migrate"
)

// pair is the primary and replica every test of the package shares.
var pair *metadbtest.Pair

const rows = 10

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "altus-metadbtest-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	if pair, err = metadbtest.StartN(ctx, dir, 2); err != nil {
		return 1, err
	}
	defer pair.Close()
	stmts := []string{"CREATE TABLE " + metadbtest.Database + ".notes (id INT NOT NULL PRIMARY KEY, body VARCHAR(100) NOT NULL) ENGINE=InnoDB"}
	for i := 1; i <= rows; i++ {
		stmts = append(stmts, "INSERT INTO "+metadbtest.Database+".notes VALUES ("+strconv.Itoa(i)+", 'note')")
	}
	if err := pair.Primary.Exec(ctx, stmts...); err != nil {
		return 1, err
	}
	if err := pair.WaitCaughtUp(ctx); err != nil {
		return 1, err
	}
	return m.Run(), nil
}

// cfg is the metadata database with the pair's replica, a maximum lag of
// 1 s, and checks only when a test asks (Reader.Check).
func cfg(replicas ...string) config.MySQL {
	return config.MySQL{
		Host: "192.0.2.1", Port: 3306, // DB_WRITE_HOST replaces it.
		WriteHost:         pair.Primary.Addr(),
		ReadHosts:         replicas,
		Username:          metadbtest.User,
		Password:          metadbtest.Password,
		Database:          metadbtest.Database,
		MaxOpenConns:      5,
		ReadMaxLag:        time.Second,
		ReadCheckInterval: time.Hour,
	}
}

func newReader(t *testing.T, c config.MySQL) *metadb.Reader {
	t.Helper()
	ctx := context.Background()
	primary, err := migrate.Open(ctx, c.DSN(), c.MaxOpenConns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { primary.Close() })
	r, err := metadb.New(ctx, c, primary, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// metrics returns the Reader's metrics of its first replica, by name.
func metrics(t *testing.T, r *metadb.Reader) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(r); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		if m.GetLabel()[0].GetValue() != r.Statuses()[0].Addr {
			t.Fatalf("%s is labelled %v", mf.GetName(), m.GetLabel())
		}
		switch {
		case m.Gauge != nil:
			out[mf.GetName()] = m.GetGauge().GetValue()
		case m.Counter != nil:
			out[mf.GetName()] = m.GetCounter().GetValue()
		}
	}
	return out
}

// status returns a counter of each server.
func status(t *testing.T, name string) (primary, replica int64) {
	t.Helper()
	ctx := context.Background()
	p, err := pair.Primary.Status(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pair.Replica.Status(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

// reads runs n reads, alternating Query and QueryRow, and fails the test on
// any failed read or wrong answer.
func reads(t *testing.T, r *metadb.Reader, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		var got int
		if i%2 == 0 {
			if err := r.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes WHERE id <= ?", rows).Scan(&got); err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
		} else {
			rs, err := r.QueryContext(ctx, "SELECT id FROM notes WHERE id <= ?", rows)
			if err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
			for rs.Next() {
				got++
			}
			if err := rs.Err(); err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
			rs.Close()
		}
		if got != rows {
			t.Fatalf("read %d saw %d rows, want %d", i, got, rows)
		}
	}
}

// selects runs n reads and returns how many SELECTs each server answered.
func selects(t *testing.T, r *metadb.Reader, n int) (primary, replica int64) {
	t.Helper()
	p0, r0 := status(t, "Com_select")
	reads(t, r, n)
	p1, r1 := status(t, "Com_select")
	return p1 - p0, r1 - r0
}

// settle waits until the replica replicates again with no lag, so that its
// reconnection (which runs SELECTs on the primary) is over before the next
// test counts SELECTs.
func settle(t *testing.T, r *metadb.Reader) {
	t.Helper()
	waitStatus(t, r, "replicating with no lag", func(st metadb.Status) bool { return st.Healthy && st.Lag == 0 })
}

// waitHealthy checks r until its only replica's health is want (bounded).
func waitHealthy(t *testing.T, r *metadb.Reader, want bool) metadb.Status {
	t.Helper()
	return waitStatus(t, r, fmt.Sprintf("healthy=%v", want), func(st metadb.Status) bool { return st.Healthy == want })
}

// waitStatus checks r until its only replica's status satisfies ok (bounded).
func waitStatus(t *testing.T, r *metadb.Reader, want string, ok func(metadb.Status) bool) metadb.Status {
	t.Helper()
	deadline := time.Now().Add(metadbtest.ReadyTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		r.Check(context.Background())
		st := r.Statuses()[0]
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica still %+v after %s, want %s", st, metadbtest.ReadyTimeout, want)
		}
		<-tick.C
	}
}

func TestReadsGoToTheHealthyReplica(t *testing.T) {
	r := newReader(t, cfg(pair.Replica.Addr()))
	if diff := cmp.Diff([]metadb.Status{{Addr: pair.Replica.Addr(), Healthy: true, Lag: 0}}, r.Statuses()); diff != "" {
		t.Fatalf("status after New (-want +got):\n%s", diff)
	}
	p, rep := selects(t, r, 20)
	if p != 0 || rep != 20 {
		t.Errorf("SELECTs answered: primary %d, replica %d; want 0 and 20", p, rep)
	}
}

func TestReadsAreSharedRoundRobinBetweenHealthyReplicas(t *testing.T) {
	ctx := context.Background()
	r := newReader(t, cfg(pair.Replicas[0].Addr(), pair.Replicas[1].Addr()))
	var before []int64
	for _, s := range []*metadbtest.Server{pair.Primary, pair.Replicas[0], pair.Replicas[1]} {
		n, err := s.ComSelect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, n)
	}
	reads(t, r, 20)
	var got []int64
	for i, s := range []*metadbtest.Server{pair.Primary, pair.Replicas[0], pair.Replicas[1]} {
		n, err := s.ComSelect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n-before[i])
	}
	if diff := cmp.Diff([]int64{0, 10, 10}, got); diff != "" {
		t.Errorf("SELECTs answered [primary, replica 1, replica 2] (-want +got):\n%s", diff)
	}
}

func TestRoundRobinSkipsAnUnreachableReplica(t *testing.T) {
	// 127.0.0.1:1 refuses connections: that replica is out from the start.
	r := newReader(t, cfg("127.0.0.1:1", pair.Replica.Addr()))
	if st := r.Statuses(); st[0].Healthy || !st[1].Healthy {
		t.Fatalf("statuses %+v, want only the second healthy", st)
	}
	p, rep := selects(t, r, 20)
	if p != 0 || rep != 20 {
		t.Errorf("SELECTs answered: primary %d, replica %d; want 0 and 20", p, rep)
	}
}

func TestWritesGoToThePrimary(t *testing.T) {
	ctx := context.Background()
	r := newReader(t, cfg(pair.Replica.Addr()))
	p0, _ := status(t, "Com_insert")
	for i := range 5 {
		if _, err := r.Primary().ExecContext(ctx, "INSERT INTO notes VALUES (?, 'written')", 1000+i); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_, _ = r.Primary().ExecContext(context.Background(), "DELETE FROM notes WHERE id >= 1000")
	})
	// The replica's own counter also counts the replicated rows it
	// applies, so only the primary's is compared; the replica is
	// read_only for this account, so a write there would have failed.
	p1, _ := status(t, "Com_insert")
	if p1-p0 != 5 {
		t.Errorf("the primary executed %d INSERTs, want 5", p1-p0)
	}
	var id int
	if err := r.Primary().QueryRowContext(ctx, "SELECT @@server_id").Scan(&id); err != nil || id != 1 {
		t.Errorf("Primary() is server %d (err %v), want the primary (1)", id, err)
	}
	if err := pair.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := r.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes WHERE id >= 1000").Scan(&n); err != nil || n != 5 {
		t.Errorf("the replica sees %d replicated rows (err %v), want 5", n, err)
	}
}

func TestStoppedReplicaFailsOverToThePrimaryAndIsReadmittedWhenBack(t *testing.T) {
	ctx := context.Background()
	r := newReader(t, cfg(pair.Replica.Addr()))
	pair.Replica.Kill()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = pair.Replica.Start(context.Background())
		}
	})

	// No check has run yet: the first read hits the dead replica and is
	// retried on the primary; the replica is out of rotation from then on.
	p0, err := pair.Primary.ComSelect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reads(t, r, 20)
	p1, err := pair.Primary.ComSelect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p1-p0 != 20 {
		t.Errorf("the primary answered %d SELECTs, want 20", p1-p0)
	}
	if st := waitHealthy(t, r, false); st.Lag != -1 {
		t.Errorf("a dead replica reports lag %s, want -1", st.Lag)
	}
	want := map[string]float64{metadb.MetricReplicaHealthy: 0, metadb.MetricReplicaLag: -1, metadb.MetricReadFailovers: 1}
	if diff := cmp.Diff(want, metrics(t, r)); diff != "" {
		t.Errorf("metrics of the dead replica (-want +got):\n%s", diff)
	}

	if err := pair.Replica.Start(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if err := pair.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, r, true)
	if got := metrics(t, r)[metadb.MetricReplicaHealthy]; got != 1 {
		t.Errorf("%s = %v after re-admission, want 1", metadb.MetricReplicaHealthy, got)
	}
	p, rep := selects(t, r, 10)
	if p != 0 || rep != 10 {
		t.Errorf("after re-admission SELECTs answered: primary %d, replica %d; want 0 and 10", p, rep)
	}
}

func TestLaggingReplicaIsAvoidedUntilItCatchesUp(t *testing.T) {
	ctx := context.Background()
	r := newReader(t, cfg(pair.Replica.Addr()))
	// The replica applies each event 4 s after the primary wrote it, so
	// its lag climbs above the maximum of 1 s.
	if err := pair.Replica.Exec(ctx, "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY=4", "START SLAVE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pair.Replica.Exec(context.Background(), "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY=0", "START SLAVE")
		settle(t, r)
	})
	if _, err := r.Primary().ExecContext(ctx, "INSERT INTO notes VALUES (2000, 'late')"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = r.Primary().ExecContext(context.Background(), "DELETE FROM notes WHERE id = 2000")
	})
	// Just after START SLAVE the lag is NULL for a moment (not yet
	// connected): wait for the lag itself to be seen.
	st := waitStatus(t, r, "lag above 1s", func(st metadb.Status) bool { return st.Lag > time.Second })
	if st.Healthy {
		t.Errorf("a replica %s behind serves reads, the maximum is 1s", st.Lag)
	}
	p, rep := selects(t, r, 10)
	if p != 10 || rep != 0 {
		t.Errorf("SELECTs answered: primary %d, replica %d; want 10 and 0", p, rep)
	}
	// Once the delayed event is applied the lag falls to 0 and it is back.
	waitHealthy(t, r, true)
	p, rep = selects(t, r, 10)
	if p != 0 || rep != 10 {
		t.Errorf("after catching up SELECTs answered: primary %d, replica %d; want 0 and 10", p, rep)
	}
}

func TestReplicaThatStoppedReplicatingIsNotServing(t *testing.T) {
	ctx := context.Background()
	r := newReader(t, cfg(pair.Replica.Addr()))
	if err := pair.Replica.Exec(ctx, "STOP SLAVE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pair.Replica.Exec(context.Background(), "START SLAVE")
		settle(t, r)
	})
	if st := waitHealthy(t, r, false); st.Lag != -1 {
		t.Errorf("a replica that does not replicate reports lag %s, want -1 (NULL)", st.Lag)
	}
	p, rep := selects(t, r, 6)
	if p != 6 || rep != 0 {
		t.Errorf("SELECTs answered: primary %d, replica %d; want 6 and 0", p, rep)
	}
	if err := pair.Replica.Exec(ctx, "START SLAVE"); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, r, true)
}

func TestWithoutReplicasEveryReadGoesToThePrimary(t *testing.T) {
	r := newReader(t, cfg())
	p, rep := selects(t, r, 6)
	if p != 6 || rep != 0 {
		t.Errorf("SELECTs answered: primary %d, replica %d; want 6 and 0", p, rep)
	}
}

func TestStatementErrorsAreNotRetriedOnThePrimary(t *testing.T) {
	r := newReader(t, cfg(pair.Replica.Addr()))
	p0, _ := status(t, "Com_select")
	_, err := r.QueryContext(context.Background(), "SELECT no_such_column FROM notes")
	var me *mysql.MySQLError
	if !errorsAs(err, &me) || me.Number != 1054 {
		t.Fatalf("error %v, want MySQL error 1054", err)
	}
	if metadb.IsConnError(err) {
		t.Error("a statement error counts as a connection error")
	}
	if p1, _ := status(t, "Com_select"); p1 != p0 {
		t.Errorf("the primary ran %d SELECTs, want 0", p1-p0)
	}
	if !r.Statuses()[0].Healthy {
		t.Error("a statement error took the replica out of rotation")
	}
}

// errorsAs is errors.As for the driver's error type.
func errorsAs(err error, target **mysql.MySQLError) bool {
	e, ok := err.(*mysql.MySQLError)
	if ok {
		*target = e
	}
	return ok
}

var _ metadb.Querier = (*sql.DB)(nil)
var _ metadb.Querier = (*metadb.Reader)(nil)
