package cacheclient_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/services/enhance/internal/cacheclient"
)

// server is a cache service in memory: a fixed window per key and values.
type server struct {
	cachev1.UnimplementedCacheServiceServer
	mu     sync.Mutex
	counts map[string]int32
	values map[string][]byte
	window time.Duration
	ttl    time.Duration
	down   bool
}

func (s *server) Allow(_ context.Context, req *cachev1.AllowRequest) (*cachev1.AllowResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, status.Error(codes.Unavailable, "redis down")
	}
	s.counts[req.GetKey()]++
	s.window = req.GetWindow().AsDuration()
	return &cachev1.AllowResponse{Allowed: s.counts[req.GetKey()] <= req.GetLimit(), Limit: req.GetLimit()}, nil
}

func (s *server) Get(_ context.Context, req *cachev1.GetRequest) (*cachev1.GetResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[req.GetKey()]
	return &cachev1.GetResponse{Found: ok, Value: v}, nil
}

func (s *server) Set(_ context.Context, req *cachev1.SetRequest) (*cachev1.SetResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[req.GetKey()] = req.GetValue()
	s.ttl = req.GetTtl().AsDuration()
	return &cachev1.SetResponse{}, nil
}

func TestAllowGetAndSetGoThroughTheCacheService(t *testing.T) {
	fake := &server{counts: map[string]int32{}, values: map[string][]byte{}}
	srv := grpcx.NewServer(grpcx.ServerOptions{})
	cachev1.RegisterCacheServiceServer(srv, fake)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpcx.Dial("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := cacheclient.New(cachev1.NewCacheServiceClient(conn))
	ctx := context.Background()

	var got []bool
	for range 3 {
		ok, err := c.Allow(ctx, "enhance:provider", 2, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ok)
	}
	if got[0] != true || got[1] != true || got[2] != false || fake.window != time.Minute {
		t.Errorf("allow %v window %s; want true true false over 1m", got, fake.window)
	}
	if _, found, err := c.Get(ctx, "embed:x"); err != nil || found {
		t.Errorf("get of a missing key: found %v err %v", found, err)
	}
	if err := c.Set(ctx, "embed:x", []byte{1, 2}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, found, err := c.Get(ctx, "embed:x"); err != nil || !found || string(v) != "\x01\x02" || fake.ttl != time.Hour {
		t.Errorf("get: %v %v %v ttl %s", v, found, err, fake.ttl)
	}
	fake.mu.Lock()
	fake.down = true
	fake.mu.Unlock()
	if _, err := c.Allow(ctx, "enhance:provider", 2, time.Minute); status.Code(err) != codes.Unavailable {
		t.Errorf("cache down: err = %v, want the Unavailable status", err)
	}
}
