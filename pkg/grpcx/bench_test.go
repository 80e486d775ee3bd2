package grpcx

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
)

// BenchmarkUnaryCallOverLoopback measures one hop between two services on
// one machine: a unary call over loopback TCP through this package's
// server and client (interceptors, OpenTelemetry stats handlers, metrics),
// against bare grpc-go with neither.
func BenchmarkUnaryCallOverLoopback(b *testing.B) {
	req := &searchv1.SearchRequest{Query: "connection pools"}
	b.Run("grpcx", func(b *testing.B) {
		srv := NewServer(ServerOptions{})
		client := serveLoopback(b, srv.Server, func(addr string) (*grpc.ClientConn, error) { return Dial(addr) })
		srv.Ready()
		benchCalls(b, client, req)
	})
	b.Run("bare", func(b *testing.B) {
		srv := grpc.NewServer()
		client := serveLoopback(b, srv, func(addr string) (*grpc.ClientConn, error) {
			return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		})
		benchCalls(b, client, req)
	})
}

func serveLoopback(b *testing.B, srv *grpc.Server, dial func(string) (*grpc.ClientConn, error)) searchv1.SearchServiceClient {
	b.Helper()
	searchv1.RegisterSearchServiceServer(srv, &probe{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(lis)
	b.Cleanup(srv.Stop)
	conn, err := dial(lis.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return searchv1.NewSearchServiceClient(conn)
}

func benchCalls(b *testing.B, client searchv1.SearchServiceClient, req *searchv1.SearchRequest) {
	ctx := context.Background()
	if _, err := client.Search(ctx, req); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := client.Search(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
