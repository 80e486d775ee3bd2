package dbrouterclient_test

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

	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/services/account/internal/dbrouterclient"
)

const secret = "dbrouterclient-test-secret-0123456789"

// fakeRouter answers the sources of the user the call acts for.
type fakeRouter struct {
	dbrouterv1.UnimplementedDBRouterServiceServer
	sources map[string][]string
}

func (f *fakeRouter) ListDataSources(ctx context.Context, _ *dbrouterv1.ListDataSourcesRequest) (*dbrouterv1.ListDataSourcesResponse, error) {
	p, ok := identity.From(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no caller")
	}
	resp := &dbrouterv1.ListDataSourcesResponse{}
	for _, id := range f.sources[p.UserID] {
		resp.Connections = append(resp.Connections, &dbrouterv1.Connection{Id: id, Name: "db " + id})
	}
	return resp, nil
}

func newClient(t *testing.T, signer *identity.Signer) *dbrouterclient.Client {
	t.Helper()
	srv := grpcx.NewServer(grpcx.ServerOptions{Logger: slog.New(slog.DiscardHandler), Signer: signer})
	dbrouterv1.RegisterDBRouterServiceServer(srv, &fakeRouter{sources: map[string][]string{"u1": {"a", "b"}}})
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
	return dbrouterclient.New(dbrouterv1.NewDBRouterServiceClient(conn))
}

func TestDataSourceIDsActsForTheUserInTheContext(t *testing.T) {
	signer := identity.NewSigner(secret)
	c := newClient(t, signer)
	tests := []struct {
		name string
		user string
		want []string
	}{
		{"user with sources", "u1", []string{"a", "b"}},
		{"user without sources", "u2", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := identity.Principal{UserID: tt.user, Role: identity.RoleUser}
			ctx := identity.With(context.Background(), p, signer.Sign(p, time.Minute))
			got, err := c.DataSourceIDs(ctx)
			if err != nil {
				t.Fatalf("DataSourceIDs: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDataSourceIDsFailsWithoutIdentity(t *testing.T) {
	c := newClient(t, identity.NewSigner(secret))
	_, err := c.DataSourceIDs(context.Background())
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("error = %v, want Unauthenticated", err)
	}
}
