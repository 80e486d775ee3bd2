package cacheclient_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/services/search/internal/cacheclient"
	"github.com/altus4/altus/services/search/internal/search"
)

// fake is a versioned cache in memory.
type fake struct {
	cachev1.UnimplementedCacheServiceServer
	mu       sync.Mutex
	versions map[string]int64
	values   map[string][]byte
	ttl      time.Duration
	down     bool
}

func (f *fake) key(base string, versions []int64) string {
	for _, v := range versions {
		base += "|" + string(rune('0'+v))
	}
	return base
}

func (f *fake) GetVersioned(ctx context.Context, req *cachev1.GetVersionedRequest) (*cachev1.GetVersionedResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, status.Error(codes.Unavailable, "redis down")
	}
	var vs []int64
	for _, k := range req.GetVersionKeys() {
		vs = append(vs, f.versions[k])
	}
	if req.GetVersionsOnly() {
		return &cachev1.GetVersionedResponse{Versions: vs}, nil
	}
	v, ok := f.values[f.key(req.GetKey(), vs)]
	return &cachev1.GetVersionedResponse{Versions: vs, Found: ok, Value: v}, nil
}

func (f *fake) SetVersioned(ctx context.Context, req *cachev1.SetVersionedRequest) (*cachev1.SetVersionedResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values[f.key(req.GetKey(), req.GetVersions())] = req.GetValue()
	for _, e := range req.GetAlso() {
		f.values[f.key(e.GetKey(), req.GetVersions())] = e.GetValue()
	}
	f.ttl = req.GetTtl().AsDuration()
	return &cachev1.SetVersionedResponse{}, nil
}

func TestGetSetRoundTripUnderVersions(t *testing.T) {
	f := &fake{versions: map[string]int64{"sources:u1": 2}, values: map[string][]byte{}}
	srv := grpcx.NewServer(grpcx.ServerOptions{})
	cachev1.RegisterCacheServiceServer(srv, f)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpcx.Dial("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := cacheclient.New(cachev1.NewCacheServiceClient(conn))
	ctx := context.Background()

	_, vs, found, _, err := c.Get(ctx, []string{"sources:u1"}, "search:k")
	if err != nil || found || !slices.Equal(vs, []int64{2}) {
		t.Fatalf("first get: versions %v found %v err %v", vs, found, err)
	}
	if err := c.Set(ctx, vs, time.Minute, search.CacheEntry{Key: "search:k", Value: []byte("page")}, search.CacheEntry{Key: "search-edge:k", Value: []byte("edge page")}); err != nil {
		t.Fatal(err)
	}
	if v, _, found, _, err := c.Get(ctx, []string{"sources:u1"}, "search-edge:k"); err != nil || !found || string(v) != "edge page" {
		t.Fatalf("the value stored with the first: %q found %v err %v", v, found, err)
	}
	v, _, found, _, err := c.Get(ctx, []string{"sources:u1"}, "search:k")
	if err != nil || !found || string(v) != "page" || f.ttl != time.Minute {
		t.Fatalf("second get: %q found %v err %v ttl %s", v, found, err, f.ttl)
	}
	if vs, err := c.Versions(ctx, []string{"sources:u1"}); err != nil || !slices.Equal(vs, []int64{2}) {
		t.Fatalf("versions only: %v, %v; want [2]", vs, err)
	}
	f.mu.Lock()
	f.versions["sources:u1"] = 3
	f.down = false
	f.mu.Unlock()
	if _, _, found, _, _ := c.Get(ctx, []string{"sources:u1"}, "search:k"); found {
		t.Error("a value stored under older versions was found")
	}
	f.mu.Lock()
	f.down = true
	f.mu.Unlock()
	if _, _, _, _, err := c.Get(ctx, []string{"sources:u1"}, "search:k"); status.Code(err) != codes.Unavailable {
		t.Errorf("cache down: err = %v, want the Unavailable status", err)
	}
}
