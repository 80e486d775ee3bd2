package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/durationpb"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/cache/internal/redistest"
)

// runMainEnv makes the test binary act as the cache binary, so that the
// real main runs in a child process.
const runMainEnv = "ALTUS_CACHE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Args = os.Args[:1] // the test flags are not the binary's arguments
		main()
		return
	}
	os.Exit(m.Run())
}

// startMain runs main in a child process with env and waits until its gRPC
// port answers the health service.
func startMain(t *testing.T, env ...string) (grpcPort, adminPort int, conn *grpc.ClientConn) {
	t.Helper()
	grpcPort, adminPort = testenv.FreePort(t), testenv.FreePort(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "ALTUS_ENV=test", "JWT_SECRET=0123456789abcdef0123456789abcdef",
		"ALTUS_GRPC_PORT="+strconv.Itoa(grpcPort), "ALTUS_ADMIN_PORT="+strconv.Itoa(adminPort), "ALTUS_DRAIN_DELAY=0s")
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		<-logsDone
		if t.Failed() {
			t.Logf("cache logs:\n%s", logs.String())
		}
	})
	conn, err = grpc.NewClient("127.0.0.1:"+strconv.Itoa(grpcPort), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// WaitForReady blocks until the server accepts connections: no polling.
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Fatalf("cache did not start: %v", err)
	}
	return grpcPort, adminPort, conn
}

func redisHealth(t *testing.T, conn *grpc.ClientConn) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	r, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "redis"})
	if err != nil {
		t.Fatalf("health redis: %v", err)
	}
	return r.GetStatus()
}

func metrics(t *testing.T, adminPort int) string {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(adminPort) + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestBinaryServesCacheAndReportsRedisUp(t *testing.T) {
	redis := testenv.RedisConfig(t)
	_, adminPort, conn := startMain(t, "REDIS_HOST="+redis.Host, "REDIS_PORT="+strconv.Itoa(redis.Port), "ALTUS_REDIS_PREFIX="+redis.Prefix)
	if got := redisHealth(t, conn); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health redis = %v; want SERVING", got)
	}
	c := cachev1.NewCacheServiceClient(conn)
	r, err := c.Allow(context.Background(), &cachev1.AllowRequest{Key: "main", Limit: 1, Window: durationpb.New(time.Minute)})
	if err != nil || !r.GetAllowed() {
		t.Fatalf("Allow = %v, %v; want allowed", r, err)
	}
	m := metrics(t, adminPort)
	for _, want := range []string{"altus4_redis_up 1", `altus4_cache_hit_ratio{cache_type="results"}`, `altus4_ratelimit_requests_total{decision="allowed"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestBinaryStartsWithRedisDownAndReportsIt(t *testing.T) {
	_, adminPort, conn := startMain(t, "REDIS_HOST=127.0.0.1", "REDIS_PORT="+strconv.Itoa(testenv.FreePort(t)))
	if got := redisHealth(t, conn); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health redis = %v; want NOT_SERVING", got)
	}
	r, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: cachev1.CacheService_ServiceDesc.ServiceName})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health of the CacheService = %v, %v; want SERVING", r.GetStatus(), err)
	}
	if m := metrics(t, adminPort); !strings.Contains(m, "altus4_redis_up 0") {
		t.Errorf("/metrics lacks altus4_redis_up 0")
	}
}

// The binary reaches a Redis Cluster and a Sentinel-managed master from
// the topology settings alone, and reports Redis up.
func TestBinaryServesThroughClusterAndSentinel(t *testing.T) {
	cluster, err := redistest.StartCluster(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Stop)
	sentinel, err := redistest.StartSentinel(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sentinel.Stop)
	tests := []struct {
		name string
		env  []string
	}{
		{"cluster", []string{"REDIS_CLUSTER_NODES=" + strings.Join(cluster.Addrs(), ",")}},
		{"sentinel", []string{"REDIS_SENTINELS=" + strings.Join(sentinel.Addrs(), ","), "REDIS_SENTINEL_MASTER=" + sentinel.MasterName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, adminPort, conn := startMain(t, append(tt.env, "ALTUS_REDIS_PREFIX=main_"+tt.name+":")...)
			if got := redisHealth(t, conn); got != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health redis = %v; want SERVING", got)
			}
			c := cachev1.NewCacheServiceClient(conn)
			for i := 1; i <= 3; i++ {
				r, err := c.Allow(context.Background(), &cachev1.AllowRequest{Key: "main", Limit: 2, Window: durationpb.New(time.Minute)})
				if err != nil || r.GetAllowed() != (i <= 2) {
					t.Fatalf("Allow #%d = %v, %v; want allowed %v", i, r, err, i <= 2)
				}
			}
			if m := metrics(t, adminPort); !strings.Contains(m, "altus4_redis_up 1") {
				t.Errorf("/metrics lacks altus4_redis_up 1")
			}
		})
	}
}

func TestBinaryRefusesConflictingTopologies(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "ALTUS_ENV=test", "JWT_SECRET=0123456789abcdef0123456789abcdef",
		"REDIS_SENTINELS=127.0.0.1:26379", "REDIS_SENTINEL_MASTER=m", "REDIS_CLUSTER_NODES=127.0.0.1:7000")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the binary did not fail: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "REDIS_SENTINELS and REDIS_CLUSTER_NODES") {
		t.Errorf("the binary's output does not name both settings:\n%s", out)
	}
}
