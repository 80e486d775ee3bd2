package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// The all-in-one binary answers a search as the separate binaries do, and
// each of its services keeps its own gRPC port, admin port and metrics.
func TestAllInOneBinarySearchesWithEveryServiceOnItsOwnPorts(t *testing.T) {
	s := StartOneProcess(t, nil)
	docs, _ := searchTenants(t)
	u := s.Register(t)
	_, key := s.CreateKey(t, u, map[string]any{"name": "one process", "permissions": []string{"search"}})
	conn := s.AddDatabase(t, u, "docs", docs)

	d := s.doSearch(t, key, map[string]any{"query": "connection pool", "databases": []string{conn.ID}})
	want := count(t, docs.DB, "SELECT COUNT(*) FROM articles WHERE MATCH(title, body) AGAINST('connection pool')")
	if want == 0 || d.TotalCount != want || len(d.Results) == 0 || d.source(conn.ID).Status != "ok" {
		t.Fatalf("total %d, %d results, docs %q; want total %d", d.TotalCount, len(d.Results), d.source(conn.ID).Status, want)
	}

	// Each service's registry is its own, on its own admin port.
	if n := metricSum(t, s, s.AdminPort("search"), "altus4_search_duration_seconds_count"); n < 1 {
		t.Errorf("search admin port: %d searches timed, want at least 1", n)
	}
	if n := metricSum(t, s, s.AdminPort("gateway"), "altus4_search_duration_seconds_count"); n != 0 {
		t.Errorf("gateway admin port shows the search service's metric (%d)", n)
	}
	if n := metricSum(t, s, s.AdminPort("cache"), "grpc_server_handled_total{", `grpc_method="GetVersioned"`); n < 1 {
		t.Errorf("cache admin port: %d GetVersioned calls handled, want at least 1", n)
	}

	// Every service answers health on its own gRPC port.
	for _, svc := range services {
		if svc == "gateway" {
			continue
		}
		port, ok := s.grpcPort[svc]
		if !ok {
			t.Fatalf("no port recorded for %s", svc)
		}
		cc, err := grpc.NewClient("127.0.0.1:"+port, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		cc.Close()
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("%s on :%s: health %v, %v", svc, port, resp.GetStatus(), err)
		}
	}

	// SIGTERM stops every service, the gateway first, and the process
	// exits cleanly.
	proc := s.procs["altus"]
	delete(s.procs, "altus")
	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- proc.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("altus exited with %v:\n%s", err, tail(s.Logs("altus"), 3000))
		}
	case <-time.After(20 * time.Second):
		_ = proc.Process.Kill()
		t.Fatalf("altus did not stop within 20s:\n%s", tail(s.Logs("altus"), 3000))
	}
	var stopped []string
	for _, line := range strings.Split(s.Logs("altus"), "\n") {
		if strings.Contains(line, `"msg":"stopped"`) {
			for _, svc := range services {
				if strings.Contains(line, `"service":"`+svc+`"`) {
					stopped = append(stopped, svc)
				}
			}
		}
	}
	if len(stopped) != len(services) || stopped[0] != "gateway" {
		t.Errorf("services stopped in the order %v; want all %d, the gateway first", stopped, len(services))
	}
}

// One request's trace crosses every hop inside the all-in-one binary: the
// services' server spans are there, under the process's service name.
func TestAllInOneBinaryCarriesOneTraceAcrossItsServices(t *testing.T) {
	capture, s := startTraced(t, StartOneProcess)
	docs, _ := searchTenants(t)
	u := s.Register(t)
	_, key := s.CreateKey(t, u, map[string]any{"name": "traced"})
	s.AddDatabase(t, u, "docs", docs)

	traceID := strings.Repeat("ef", 8) + randomHex(8)
	r := s.Call(t, http.MethodPost, "/api/v1/search", key, map[string]any{"query": "connection pool"},
		"traceparent", "00-"+traceID+"-"+randomHex(8)+"-01")
	Expect(t, r, http.StatusOK, "")

	want := []string{
		"altus.search.v1.SearchService/Search",
		"altus.cache.v1.CacheService/GetVersioned",
		"altus.dbrouter.v1.DBRouterService/ExecuteSearch",
	}
	var got map[string][]string
	ok := eventually(t, 15*time.Second, func() bool {
		got = capture.services(traceID)
		for _, name := range want {
			if !slices.Contains(got["altus"], name) {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("trace %s: spans %v, want %v under service altus", traceID, got, want)
	}
}
