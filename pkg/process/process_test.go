package process_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/altus4/altus/pkg/config"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/pkg/testenv"
)

// stuck is a SearchService whose "stuck" query never returns on its own,
// as a handler blocked on a dependency would.
type stuck struct {
	searchv1.UnimplementedSearchServiceServer
	entered chan struct{}
	release chan struct{}
}

func (s *stuck) Search(_ context.Context, req *searchv1.SearchRequest) (*searchv1.SearchResponse, error) {
	if req.GetQuery() == "stuck" {
		close(s.entered)
		<-s.release
	}
	return &searchv1.SearchResponse{}, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// On shutdown a process reports NOT_SERVING at once, keeps answering through
// the drain window, then stops gracefully but no longer than the stop
// timeout even when a call ignores its cancelled context (it is cut off),
// and closes what it opened.
func TestShutdownReportsNotServingDrainsThenStopsWithinTheStopTimeoutDespiteAStuckCall(t *testing.T) {
	const drain, stop = 600 * time.Millisecond, 400 * time.Millisecond
	var logs syncBuffer
	port, admin := testenv.FreePort(t), testenv.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := process.Start(ctx, process.Options{
		Service:          "probe",
		Runtime:          config.Runtime{Env: "test", LogLevel: "info", AdminPort: admin, DrainDelay: drain, StopTimeout: stop},
		DefaultAdminPort: admin,
		Stdout:           &logs,
		Getenv:           func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	var closed []string
	var closedMu sync.Mutex
	p.App.AddCloser("pool", func(context.Context) error {
		closedMu.Lock()
		closed = append(closed, "pool")
		closedMu.Unlock()
		return nil
	})
	svc := &stuck{entered: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() { close(svc.release) })
	srv := grpcx.NewServer(grpcx.ServerOptions{Logger: p.Log})
	searchv1.RegisterSearchServiceServer(srv, svc)
	if err := p.ServeGRPC(srv, port); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	conn := testenv.DialServing(t, context.Background(), port, searchv1.SearchService_ServiceDesc.ServiceName)
	health := healthpb.NewHealthClient(conn)
	search := searchv1.NewSearchServiceClient(conn)

	stuckErr := make(chan error, 1)
	go func() {
		_, err := search.Search(context.Background(), &searchv1.SearchRequest{Query: "stuck"})
		stuckErr <- err
	}()
	<-svc.entered

	cancel()
	began := time.Now()
	time.Sleep(100 * time.Millisecond)
	for _, name := range []string{"", searchv1.SearchService_ServiceDesc.ServiceName} {
		r, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
		if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("health of %q while draining = %v, %v; want NOT_SERVING", name, r.GetStatus(), err)
		}
	}
	if _, err := search.Search(context.Background(), &searchv1.SearchRequest{Query: "quick"}); err != nil {
		t.Fatalf("a call during the drain window failed: %v", err)
	}

	select {
	case err := <-done:
		took := time.Since(began)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if took < drain {
			t.Errorf("stopped after %s, before the drain window of %s ended", took, drain)
		}
	case <-time.After(drain + stop + 5*time.Second):
		t.Fatalf("Run did not return within the drain window and the stop timeout (+5s)")
	}
	if err := <-stuckErr; status.Code(err) != codes.Unavailable {
		t.Errorf("the stuck call ended with %v, want UNAVAILABLE (cut off at the stop timeout)", err)
	}
	closedMu.Lock()
	defer closedMu.Unlock()
	if strings.Join(closed, ",") != "pool" {
		t.Errorf("closed = %v, want the pool closed", closed)
	}
	if !strings.Contains(logs.String(), `"msg":"shutting down: draining"`) || !strings.Contains(logs.String(), `"admin_port":`+strconv.Itoa(admin)) {
		t.Errorf("logs lack the drain or the admin port:\n%s", logs.String())
	}
}
