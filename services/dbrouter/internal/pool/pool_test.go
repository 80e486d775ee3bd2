package pool

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func settingsOf(cfg config.MySQL) Settings {
	return Settings{Host: cfg.Host, Port: cfg.Port, Database: cfg.Database, Username: cfg.Username, Password: cfg.Password}
}

// source creates a test database and returns settings to reach it and an
// administrative connection to the same server.
func source(t *testing.T) (Settings, *sql.DB) {
	t.Helper()
	admin, cfg := testenv.OpenDatabase(t)
	return settingsOf(cfg), admin
}

func newPool(t *testing.T, s Settings, o Options) *Pool {
	t.Helper()
	if o.ReapInterval == 0 {
		o.ReapInterval = -1
	}
	p, err := New(Key{ID: "src-" + testenv.RandomSuffix(6), Version: 1}, s, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		p.Close()
		<-p.Done()
	})
	return p
}

func connectionID(t *testing.T, c *Conn) int64 {
	t.Helper()
	var id int64
	if err := c.QueryRowContext(context.Background(), "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatalf("CONNECTION_ID: %v", err)
	}
	return id
}

func TestAcquireWaitsAtMostTheAcquireTimeoutWhenEveryConnectionIsInUse(t *testing.T) {
	s, _ := source(t)
	p := newPool(t, s, Options{MaxSize: 3, AcquireTimeout: 150 * time.Millisecond})
	ctx := context.Background()
	var held []*Conn
	for i := range 3 {
		c, err := p.Acquire(ctx)
		if err != nil {
			t.Fatalf("Acquire %d: %v", i, err)
		}
		held = append(held, c)
	}
	if got := p.Stat(); got.Acquired != 3 || got.Total != 3 {
		t.Fatalf("Stat = %+v, want 3 acquired of 3", got)
	}

	start := time.Now()
	_, err := p.Acquire(ctx)
	waited := time.Since(start)
	if !errors.Is(err, ErrAcquireTimeout) {
		t.Fatalf("4th Acquire error = %v, want ErrAcquireTimeout", err)
	}
	var te *AcquireTimeoutError
	if !errors.As(err, &te) || te.MaxSize != 3 {
		t.Errorf("error = %#v, want *AcquireTimeoutError with MaxSize 3", err)
	}
	if waited < 150*time.Millisecond {
		t.Errorf("4th Acquire gave up after %s, before the acquire timeout", waited)
	}

	held[0].Release()
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire after a release: %v", err)
	}
	c.Release()
	for _, c := range held[1:] {
		c.Release()
	}
	if got := p.Stat(); got.Total != 3 || got.Idle != 3 {
		t.Errorf("Stat after releases = %+v, want 3 idle of 3 (connections reused, not reopened)", got)
	}
}

func TestAcquireReturnsCallersContextErrorWhenItEndsFirst(t *testing.T) {
	s, _ := source(t)
	p := newPool(t, s, Options{MaxSize: 1, AcquireTimeout: time.Minute})
	c, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = p.Acquire(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrAcquireTimeout) {
		t.Errorf("Acquire error = %v, want the caller's context.DeadlineExceeded", err)
	}
}

func TestReapIdleClosesOnlyConnectionsIdleLongerThanIdleTimeout(t *testing.T) {
	s, _ := source(t)
	clock := newFakeClock()
	p := newPool(t, s, Options{MaxSize: 5, IdleTimeout: time.Minute, Now: clock.Now})
	ctx := context.Background()

	var old []*Conn
	oldIDs := map[int64]bool{}
	for range 3 {
		c, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		oldIDs[connectionID(t, c)] = true
		old = append(old, c)
	}
	fresh, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	freshID := connectionID(t, fresh)
	for _, c := range old {
		c.Release()
	}
	clock.Advance(50 * time.Second)
	fresh.Release()
	clock.Advance(20 * time.Second) // old ones idle 70s, fresh one 20s

	if got := p.ReapIdle(); got != 3 {
		t.Errorf("ReapIdle closed %d connections, want 3", got)
	}
	if got := p.Stat(); got.Total != 1 || got.Idle != 1 {
		t.Errorf("Stat after reaping = %+v, want the one recent connection left", got)
	}
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := connectionID(t, c); got != freshID || oldIDs[got] {
		t.Errorf("next Acquire got connection %d, want the kept one %d", got, freshID)
	}
	c.Release()
}

func TestAcquireReplacesAnIdleConnectionKilledOnTheServer(t *testing.T) {
	s, admin := source(t)
	clock := newFakeClock()
	p := newPool(t, s, Options{MaxSize: 2, Now: clock.Now})
	ctx := context.Background()

	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	killed := connectionID(t, c)
	c.Release()
	if _, err := admin.ExecContext(ctx, "KILL ?", killed); err != nil {
		t.Fatalf("KILL %d: %v", killed, err)
	}
	clock.Advance(DefaultHealthCheckAfter + time.Second)

	c, err = p.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire after KILL: %v", err)
	}
	defer c.Release()
	got := connectionID(t, c)
	if got == killed {
		t.Errorf("Acquire handed out the killed connection %d", killed)
	}
	if st := p.Stat(); st.Total != 1 {
		t.Errorf("Stat = %+v, want the dead connection gone and one live one", st)
	}
}

func TestReleaseClosesAConnectionThatBrokeDuringUse(t *testing.T) {
	s, admin := source(t)
	p := newPool(t, s, Options{MaxSize: 2})
	ctx := context.Background()

	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	killed := connectionID(t, c)
	if _, err := admin.ExecContext(ctx, "KILL ?", killed); err != nil {
		t.Fatalf("KILL %d: %v", killed, err)
	}
	if _, err := c.QueryContext(ctx, "SELECT 1"); err == nil {
		t.Fatal("query on a killed connection succeeded")
	}
	c.Release()
	if st := p.Stat(); st.Total != 0 {
		t.Fatalf("Stat after releasing a broken connection = %+v, want it closed", st)
	}
	c, err = p.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	defer c.Release()
	if got := connectionID(t, c); got == killed {
		t.Errorf("got the killed connection back")
	}
}

func TestCloseFailsAcquiresAtOnceAndDoesNotWaitForConnectionsInUse(t *testing.T) {
	s, _ := source(t)
	p := newPool(t, s, Options{MaxSize: 1, AcquireTimeout: time.Minute})
	ctx := context.Background()
	inUse, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waiterErr := make(chan error, 1)
	waiting := make(chan struct{})
	go func() {
		close(waiting)
		_, err := p.Acquire(ctx)
		waiterErr <- err
	}()
	<-waiting

	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked while a connection was in use")
	}
	if _, err := p.Acquire(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire after Close = %v, want ErrClosed", err)
	}
	select {
	case err := <-waiterErr:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("waiting Acquire = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting Acquire did not fail when the pool closed")
	}
	select {
	case <-p.Done():
		t.Fatal("Done before the connection in use was released")
	default:
	}
	// The query in flight still completes on its connection.
	if err := inUse.PingContext(ctx); err != nil {
		t.Errorf("connection in use stopped working at Close: %v", err)
	}
	inUse.Release()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the last connection was released")
	}
}

func TestAcquireFromUnreachableSourceIsAConnectError(t *testing.T) {
	s, _ := source(t)
	s.Port = testenv.FreePort(t)
	p := newPool(t, s, Options{})
	_, err := p.Acquire(context.Background())
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("Acquire error = %v, want *ConnectError", err)
	}
	if !strings.Contains(ce.PublicMessage(), s.Addr()) {
		t.Errorf("public message %q does not name the source address", ce.PublicMessage())
	}
}

func TestProbe(t *testing.T) {
	s, _ := source(t)
	wrongPassword := s
	wrongPassword.Password = "definitely-wrong"
	unknownDB := s
	unknownDB.Database = "altus_missing_" + testenv.RandomSuffix(8)
	closedPort := s
	closedPort.Port = testenv.FreePort(t)
	noHost := s
	noHost.Host = "no-such-host.invalid"

	tests := []struct {
		name       string
		settings   Settings
		wantOK     bool
		wantReason string
	}{
		{"working settings", s, true, ""},
		{"wrong password", wrongPassword, false, "access denied for user '" + s.Username + "' (check the username and password)"},
		{"unknown database", unknownDB, false, "unknown database '" + unknownDB.Database + "'"},
		{"nothing listening", closedPort, false, "connection refused (is the server running and listening on that port?)"},
		{"unknown host", noHost, false, "host 'no-such-host.invalid' was not found (check the host name)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Probe(context.Background(), tt.settings, Options{})
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Probe: %v", err)
				}
				if res.ServerVersion == "" || res.Latency <= 0 {
					t.Errorf("Probe = %+v, want a version and a latency", res)
				}
				return
			}
			var ce *ConnectError
			if !errors.As(err, &ce) {
				t.Fatalf("Probe error = %v, want *ConnectError", err)
			}
			if diff := cmp.Diff(tt.wantReason, ce.Reason); diff != "" {
				t.Errorf("reason (-want +got):\n%s", diff)
			}
		})
	}
}

func TestManagerReplacesPoolsOfOlderVersionsAndDropsStaleOnes(t *testing.T) {
	s, _ := source(t)
	m := NewManager(Options{ReapInterval: -1})
	t.Cleanup(func() { _ = m.Close(context.Background()) })

	p1, err := m.Get(Key{ID: "a", Version: 1}, s)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := m.Get(Key{ID: "a", Version: 1}, s); again != p1 {
		t.Error("Get of the same key opened a second pool")
	}
	p2, _ := m.Get(Key{ID: "a", Version: 2}, s)
	if p2 == p1 || !p1.Closed() {
		t.Error("Get of a newer version did not replace and close the old pool")
	}
	if older, _ := m.Get(Key{ID: "a", Version: 1}, s); older != p2 {
		t.Error("Get of an older version replaced a newer pool")
	}
	b, _ := m.Get(Key{ID: "b", Version: 1}, s)
	c, _ := m.Get(Key{ID: "c", Version: 3}, s)

	dropped := m.DropStale(map[string]int{"a": 2, "c": 4})
	if diff := cmp.Diff([]string{"b", "c"}, dropped); diff != "" {
		t.Errorf("DropStale dropped (-want +got):\n%s", diff)
	}
	if !b.Closed() || !c.Closed() || p2.Closed() {
		t.Error("DropStale closed the wrong pools")
	}
	if diff := cmp.Diff([]Key{{ID: "a", Version: 2}}, m.Keys()); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}

	if err := m.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !p2.Closed() {
		t.Error("Close left a pool open")
	}
	if _, err := m.Get(Key{ID: "d", Version: 1}, s); !errors.Is(err, ErrManagerClosed) {
		t.Errorf("Get after Close = %v, want ErrManagerClosed", err)
	}
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]map[string]*dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]map[string]*dto.Metric{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			id := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "database_id" {
					id = l.GetValue()
				}
			}
			if out[mf.GetName()] == nil {
				out[mf.GetName()] = map[string]*dto.Metric{}
			}
			out[mf.GetName()][id] = m
		}
	}
	return out
}

func TestManagerMetricsFollowPoolsAndDisappearWhenTheyClose(t *testing.T) {
	s, _ := source(t)
	reg := prometheus.NewRegistry()
	m := NewManager(Options{ReapInterval: -1})
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	p, err := m.Get(Key{ID: "src-1", Version: 1}, s)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.Release()

	got := gather(t, reg)
	if v := got[MetricActive]["src-1"].GetGauge().GetValue(); v != 1 {
		t.Errorf("%s = %v, want 1", MetricActive, v)
	}
	if v := got[MetricIdle]["src-1"].GetGauge().GetValue(); v != 1 {
		t.Errorf("%s = %v, want 1", MetricIdle, v)
	}
	if n := got[MetricWait]["src-1"].GetHistogram().GetSampleCount(); n != 2 {
		t.Errorf("%s sample count = %d, want 2", MetricWait, n)
	}
	a.Release()

	m.Drop("src-1")
	got = gather(t, reg)
	for _, name := range []string{MetricActive, MetricIdle, MetricWait} {
		if _, ok := got[name]["src-1"]; ok {
			t.Errorf("%s still has a series for a dropped pool", name)
		}
	}
}

// silentServer accepts TCP connections and never answers, like a firewall
// that drops packets after the handshake.
func silentServer(t *testing.T) Settings {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	addr := lis.Addr().(*net.TCPAddr)
	return Settings{Host: "127.0.0.1", Port: addr.Port, Database: "d", Username: "u"}
}

func TestAcquireFromASourceThatNeverAnswersIsAConnectErrorNotABusyPool(t *testing.T) {
	s := silentServer(t)
	p := newPool(t, s, Options{MaxSize: 2, AcquireTimeout: 100 * time.Millisecond, ConnectTimeout: 200 * time.Millisecond})
	_, err := p.Acquire(context.Background())
	var ce *ConnectError
	if !errors.As(err, &ce) || errors.Is(err, ErrAcquireTimeout) {
		t.Fatalf("Acquire = %v, want a *ConnectError", err)
	}
}

func TestProbeOfASourceThatNeverAnswersGivesUpAfterTheConnectTimeout(t *testing.T) {
	s := silentServer(t)
	start := time.Now()
	_, err := Probe(context.Background(), s, Options{ConnectTimeout: 200 * time.Millisecond})
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("Probe = %v, want *ConnectError", err)
	}
	if diff := cmp.Diff("no answer within 200ms (check the host, the port and any firewall)", ce.Reason); diff != "" {
		t.Errorf("reason (-want +got):\n%s", diff)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("Probe took %s, want about the connect timeout", waited)
	}
}

func TestPooledSessionsAreReadOnlyEvenForAnAccountThatMayWrite(t *testing.T) {
	// The test account is root: only the session setting can refuse the write.
	s, admin := source(t)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT)"); err != nil {
		t.Fatal(err)
	}
	p := newPool(t, s, Options{MaxSize: 1})
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	for _, stmt := range []string{
		"INSERT INTO notes VALUES (1, 'written through Altus')",
		"UPDATE notes SET body = 'x'",
		"DELETE FROM notes",
	} {
		_, err := c.ExecContext(ctx, stmt)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1792 {
			t.Errorf("%s through a pooled connection = %v, want MySQL error 1792 (read-only transaction)", stmt, err)
		}
	}
	var n int
	if err := admin.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes").Scan(&n); err != nil || n != 0 {
		t.Errorf("rows after the writes = %d (%v), want 0", n, err)
	}
	// Reads still work on the same connection.
	if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes").Scan(&n); err != nil {
		t.Errorf("read through the pooled connection: %v", err)
	}
}
