package cacheclient_test

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/services/dbrouter/internal/cacheclient"
)

// recordingCache records the BumpVersions requests it answers; "sources:down"
// answers UNAVAILABLE as the cache service does when Redis is down.
type recordingCache struct {
	cachev1.UnimplementedCacheServiceServer
	got [][]string
}

func (r *recordingCache) BumpVersions(_ context.Context, req *cachev1.BumpVersionsRequest) (*cachev1.BumpVersionsResponse, error) {
	r.got = append(r.got, req.GetVersionKeys())
	if len(req.GetVersionKeys()) == 1 && req.GetVersionKeys()[0] == "sources:down" {
		return nil, status.Error(codes.Unavailable, "redis down")
	}
	return &cachev1.BumpVersionsResponse{Versions: []int64{int64(len(r.got))}}, nil
}

func TestBumpSourcesBumpsTheUsersSourcesVersionThroughTheGeneratedClient(t *testing.T) {
	rec := &recordingCache{}
	srv := grpcx.NewServer(grpcx.ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	cachev1.RegisterCacheServiceServer(srv, rec)
	lis := bufconn.Listen(1 << 16)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	b := cacheclient.New(cachev1.NewCacheServiceClient(conn))

	if err := b.BumpSources(context.Background(), "u-1"); err != nil {
		t.Fatalf("BumpSources: %v", err)
	}
	if err := b.BumpSources(context.Background(), "down"); status.Code(err) != codes.Unavailable {
		t.Errorf("BumpSources with the cache down = %v, want the UNAVAILABLE error", err)
	}
	if diff := cmp.Diff([][]string{{"sources:u-1"}, {"sources:down"}}, rec.got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
