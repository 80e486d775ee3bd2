package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func serveHealth(t *testing.T) (*grpchealth.Server, *grpc.ClientConn) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := grpchealth.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return hs, conn
}

func status(t *testing.T, c *Checker) (int, Report) {
	t.Helper()
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
	rep, _ := c.Snapshot()
	return rec.Code, rep
}

func TestHealthIsUnavailableUntilRequiredDependenciesServe(t *testing.T) {
	required, reqConn := serveHealth(t)
	optional, optConn := serveHealth(t)
	required.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	c := New([]Dependency{
		{Name: "account", Conn: reqConn, Required: true},
		{Name: "enhance", Conn: optConn},
	}, time.Hour, "test", nil, nil)
	ctx := context.Background()

	if code, rep := status(t, c); code != http.StatusServiceUnavailable || rep.Status != "starting" {
		t.Fatalf("before the first poll: %d %s, want 503 starting", code, rep.Status)
	}
	c.Poll(ctx)
	if code, rep := status(t, c); code != http.StatusServiceUnavailable || rep.Dependencies["account"] != "down" {
		t.Fatalf("required down: %d %+v, want 503", code, rep)
	}
	required.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	c.Poll(ctx)
	if code, rep := status(t, c); code != http.StatusOK || rep.Status != "ok" {
		t.Fatalf("all serving: %d %+v, want 200 ok", code, rep)
	}
	optional.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	c.Poll(ctx)
	if code, rep := status(t, c); code != http.StatusOK || rep.Status != "degraded" {
		t.Fatalf("optional down: %d %+v, want 200 degraded", code, rep)
	}
	c.Drain()
	if code, rep := status(t, c); code != http.StatusServiceUnavailable || rep.Status != "draining" {
		t.Fatalf("draining: %d %+v, want 503 draining", code, rep)
	}
}
