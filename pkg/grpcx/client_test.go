package grpcx

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func TestStaticAddressesSplitsOnlyPlainLists(t *testing.T) {
	tests := []struct {
		target string
		want   []string
		ok     bool
	}{
		{"127.0.0.1:50051", nil, false},
		{"dns:///search:50051", nil, false},
		{"127.0.0.1:50051,127.0.0.1:50061", []string{"127.0.0.1:50051", "127.0.0.1:50061"}, true},
		{" a:1 , b:2 ,", []string{"a:1", "b:2"}, true},
		{",", nil, false},
	}
	for _, tt := range tests {
		got, ok := StaticAddresses(tt.target)
		if ok != tt.ok {
			t.Errorf("StaticAddresses(%q) ok = %v, want %v", tt.target, ok, tt.ok)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("StaticAddresses(%q) (-want +got):\n%s", tt.target, diff)
		}
	}
}

// replica is a health server on a loopback port that counts its calls and
// can be made to answer UNAVAILABLE.
type replica struct {
	addr        string
	calls       atomic.Int64
	unavailable atomic.Bool
	// reason makes its UNAVAILABLE an answer of the server (with an
	// ErrorInfo reason) rather than a transport failure.
	reason atomic.Bool
	srv    *grpc.Server
}

func startReplica(t *testing.T) *replica {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{addr: lis.Addr().String()}
	r.srv = grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		r.calls.Add(1)
		if r.unavailable.Load() {
			if r.reason.Load() {
				return nil, Error(codes.Unavailable, "ALL_SOURCES_FAILED", "every source failed")
			}
			return nil, status.Error(codes.Unavailable, "replica going away")
		}
		return h(ctx, req)
	}))
	healthpb.RegisterHealthServer(r.srv, health.NewServer())
	go r.srv.Serve(lis)
	t.Cleanup(r.srv.Stop)
	return r
}

func check(t *testing.T, c healthpb.HealthClient, n int) (failed int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			failed++
		}
	}
	return failed
}

// checkUntil calls until r has answered at least n calls (the balancer
// adds a replica once its connection is up, which may come after the
// other's), at most 5000 calls, and returns the calls made and failed.
func checkUntil(t *testing.T, c healthpb.HealthClient, r *replica, n int64) (calls, failed int) {
	t.Helper()
	for calls < 5000 && r.calls.Load() < n {
		failed += check(t, c, 1)
		calls++
	}
	if r.calls.Load() < n {
		t.Fatalf("replica %s answered %d of %d calls; the balancer never used it", r.addr, r.calls.Load(), calls)
	}
	return calls, failed
}

func TestDialOfAStaticListBalancesOverEveryReplicaAndSkipsOneThatStops(t *testing.T) {
	a, b := startReplica(t), startReplica(t)
	conn, err := Dial(a.addr + "," + b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := healthpb.NewHealthClient(conn)

	// Both replicas answer (checkUntil fails the test otherwise), and no
	// call fails.
	_, failedA := checkUntil(t, c, a, 5)
	_, failedB := checkUntil(t, c, b, 5)
	if failedA+failedB != 0 {
		t.Fatalf("%d calls failed with both replicas up", failedA+failedB)
	}

	// A replica that stops gracefully (GOAWAY first) is left out before its
	// connection closes: no call fails. (A crash, whose in-flight calls do
	// fail, is what RetryUnavailable is for.)
	a.srv.GracefulStop()
	before := b.calls.Load()
	if failed := check(t, c, 40); failed != 0 {
		t.Fatalf("%d of 40 calls failed after one replica stopped", failed)
	}
	if got := b.calls.Load() - before; got < 40 {
		t.Fatalf("the remaining replica served %d calls, want at least 40", got)
	}
}

func TestRetryUnavailableMovesAFailedCallToAnotherReplica(t *testing.T) {
	tests := []struct {
		name       string
		opts       []grpc.DialOption
		reason     bool
		wantFailed bool
	}{
		{"without the retry a replica's UNAVAILABLE reaches the caller", nil, false, true},
		{"with it every call succeeds on the other replica", []grpc.DialOption{RetryUnavailable("grpc.health.v1.Health")}, false, false},
		{"a method named alone is retried", []grpc.DialOption{RetryUnavailable("grpc.health.v1.Health/Check")}, false, false},
		{"a retry of another method does not retry this one", []grpc.DialOption{RetryUnavailable("grpc.health.v1.Health/Watch")}, false, true},
		{"an UNAVAILABLE the server answered with a reason is not retried", []grpc.DialOption{RetryUnavailable("grpc.health.v1.Health")}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := startReplica(t), startReplica(t)
			a.unavailable.Store(true)
			a.reason.Store(tt.reason)
			conn, err := Dial(a.addr+","+b.addr, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// Call until the failing replica has answered 5 calls.
			calls, failed := checkUntil(t, healthpb.NewHealthClient(conn), a, 5)
			if (failed > 0) != tt.wantFailed {
				t.Fatalf("%d of %d calls failed (replica a answered %d, b %d); want failures: %v",
					failed, calls, a.calls.Load(), b.calls.Load(), tt.wantFailed)
			}
		})
	}
}

func TestRetryUnavailableStopsRetryingWhenEveryReplicaFails(t *testing.T) {
	a, b := startReplica(t), startReplica(t)
	a.unavailable.Store(true)
	b.unavailable.Store(true)
	conn, err := Dial(a.addr+","+b.addr, RetryUnavailable("grpc.health.v1.Health"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// 100 tokens, one per failed attempt, no retry once 50 or fewer are
	// left: calls 1-16 take 3 attempts (48 tokens), call 17 two (52 -> 50),
	// every later call one.
	failed := check(t, healthpb.NewHealthClient(conn), 60)
	attempts := a.calls.Load() + b.calls.Load()
	if failed != 60 {
		t.Fatalf("%d of 60 calls failed, want all", failed)
	}
	if want := int64(16*3 + 2 + 43); attempts != want {
		t.Fatalf("%d attempts for 60 calls, want %d: retries until the bucket is half empty, then one attempt each", attempts, want)
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

func TestClientsReconnectOnceAConnectionReachesItsMaximumAgeWithoutFailingACall(t *testing.T) {
	srv := NewServer(ServerOptions{Logger: slog.New(slog.DiscardHandler), MaxConnectionAge: 200 * time.Millisecond})
	srv.Ready()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lis := &countingListener{Listener: raw}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := Dial(raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(1500 * time.Millisecond)
	calls, failed := 0, 0
	for time.Now().Before(deadline) {
		failed += check(t, c, 1)
		calls++
		time.Sleep(5 * time.Millisecond)
	}
	if failed != 0 {
		t.Errorf("%d of %d calls failed while connections aged out", failed, calls)
	}
	if n := lis.accepted.Load(); n < 3 {
		t.Errorf("%d connections over 1.5 s with a 200 ms maximum age; want the client to have reconnected", n)
	}
}
