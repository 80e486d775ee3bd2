package cacheclient_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/services/account/internal/account"
	"github.com/altus4/altus/services/account/internal/cacheclient"
)

var reset = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// fakeCache echoes the request back in its answer.
type fakeCache struct {
	cachev1.UnimplementedCacheServiceServer
	got *cachev1.PeekRateLimitRequest
}

func (f *fakeCache) PeekRateLimit(_ context.Context, req *cachev1.PeekRateLimitRequest) (*cachev1.PeekRateLimitResponse, error) {
	if req.GetKey() == "down" {
		return nil, status.Error(codes.Unavailable, "redis down")
	}
	f.got = req
	return &cachev1.PeekRateLimitResponse{Limit: req.GetLimit(), Remaining: req.GetLimit() - 7, Used: 7, ResetTime: timestamppb.New(reset)}, nil
}

func newClient(t *testing.T) (*cacheclient.Client, *fakeCache) {
	t.Helper()
	fake := &fakeCache{}
	srv := grpcx.NewServer(grpcx.ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	cachev1.RegisterCacheServiceServer(srv, fake)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpcx.Dial("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return cacheclient.New(cachev1.NewCacheServiceClient(conn)), fake
}

func TestPeekRateLimitSendsKeyLimitWindowAndReadsTheWindow(t *testing.T) {
	c, fake := newClient(t)
	got, err := c.PeekRateLimit(context.Background(), "apikey:k1", 1000, time.Hour)
	if err != nil {
		t.Fatalf("peek: %v", err)
	}
	if diff := cmp.Diff(account.RateWindow{Remaining: 993, ResetTime: reset}, got); diff != "" {
		t.Errorf("window (-want +got):\n%s", diff)
	}
	sent := []any{fake.got.GetKey(), fake.got.GetLimit(), fake.got.GetWindow().AsDuration()}
	if diff := cmp.Diff([]any{"apikey:k1", int32(1000), time.Hour}, sent); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

func TestPeekRateLimitReportsAnUnreachableLimiter(t *testing.T) {
	c, _ := newClient(t)
	if _, err := c.PeekRateLimit(context.Background(), "down", 1000, time.Hour); status.Code(err) != codes.Unavailable {
		t.Errorf("error = %v, want Unavailable", err)
	}
}
