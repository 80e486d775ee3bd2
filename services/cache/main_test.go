package main

import (
	"bufio"
	"context"
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
