package grpcx

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/requestid"
)

type callerKey struct{}

// localProbe is a SearchService that reports what its handler saw.
type localProbe struct {
	searchv1.UnimplementedSearchServiceServer
	seen chan context.Context
}

func (p *localProbe) Search(ctx context.Context, req *searchv1.SearchRequest) (*searchv1.SearchResponse, error) {
	p.seen <- ctx
	switch req.GetQuery() {
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	case "internal":
		return nil, context.DeadlineExceeded // a bare error the chain maps
	case "nothing":
		return nil, nil
	}
	req.Query = "changed by the server"
	return &searchv1.SearchResponse{SearchMode: "natural", TotalCount: 7}, nil
}

// startLocal opens a server to in-process calls on the port of a TCP
// listener that nothing serves: a call that went through the network
// would not be answered.
func startLocal(t *testing.T, opts ServerOptions) (*localProbe, searchv1.SearchServiceClient, func(), string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	p := &localProbe{seen: make(chan context.Context, 4)}
	srv := NewServer(opts)
	searchv1.RegisterSearchServiceServer(srv, p)
	srv.Ready()
	stop := srv.ServeLocal(port)
	t.Cleanup(stop)
	conn, err := Dial("127.0.0.1:" + port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return p, searchv1.NewSearchServiceClient(conn), stop, port
}

func TestAnInProcessCallRunsTheHandlerThroughTheServersChainWithWhatCrossesANetworkOnly(t *testing.T) {
	signer := identity.NewSigner(strings.Repeat("k", 32))
	p, client, _, _ := startLocal(t, ServerOptions{Signer: signer})
	who := identity.Principal{UserID: "user-1", Role: identity.RoleUser}
	ctx := requestid.With(context.Background(), "req-7")
	ctx = identity.With(ctx, who, signer.Sign(who, time.Minute))
	ctx = context.WithValue(ctx, callerKey{}, "the caller's own value")
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	req := &searchv1.SearchRequest{Query: "ok"}
	var header metadata.MD
	resp, err := client.Search(ctx, req, grpc.Header(&header))
	if err != nil {
		t.Fatal(err)
	}
	got := <-p.seen
	if id := requestid.From(got); id != "req-7" {
		t.Errorf("handler saw request id %q, want req-7", id)
	}
	if w, ok := identity.From(got); !ok || w.UserID != "user-1" {
		t.Errorf("handler saw principal %+v (%v), want user-1 (verified by the server's chain)", w, ok)
	}
	if v := got.Value(callerKey{}); v != nil {
		t.Errorf("handler saw the caller's context value %v", v)
	}
	if d, ok := got.Deadline(); !ok || time.Until(d) < 50*time.Second {
		t.Errorf("handler deadline %v (%v), want the caller's", d, ok)
	}
	if pr, ok := peer.FromContext(got); !ok || pr.Addr.String() != "in-process" {
		t.Errorf("handler peer %v", pr)
	}
	if req.GetQuery() != "ok" {
		t.Errorf("the server changed the caller's request: %q", req.GetQuery())
	}
	if resp.GetTotalCount() != 7 || resp.GetSearchMode() != "natural" {
		t.Errorf("answer %v", resp)
	}
	if h := header.Get(requestid.MetadataKey); len(h) != 1 || h[0] != "req-7" {
		t.Errorf("response header request id = %v, want [req-7]", h)
	}
}

func TestAnInProcessCallFailsAsTheSameCallOverTheNetwork(t *testing.T) {
	var logs bytes.Buffer
	signer := identity.NewSigner(strings.Repeat("k", 32))
	_, client, _, _ := startLocal(t, ServerOptions{Signer: signer, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	who := identity.Principal{UserID: "user-1", Role: identity.RoleUser}
	signed := identity.With(context.Background(), who, signer.Sign(who, time.Minute))

	ctx, cancel := context.WithTimeout(signed, 50*time.Millisecond)
	defer cancel()
	if _, err := client.Search(ctx, &searchv1.SearchRequest{Query: "slow"}); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("past the deadline: %v, want DeadlineExceeded", err)
	}
	if _, err := client.Search(signed, &searchv1.SearchRequest{Query: "internal"}); status.Code(err) != codes.DeadlineExceeded || Reason(err) != ReasonTimeout {
		t.Errorf("a bare error: %v (%s), want the chain's DeadlineExceeded %s", err, Reason(err), ReasonTimeout)
	}
	if _, err := client.Search(signed, &searchv1.SearchRequest{Query: "nothing"}); status.Code(err) != codes.Internal {
		t.Errorf("no answer and no error: %v, want Internal", err)
	}
	forger := identity.NewSigner(strings.Repeat("f", 32))
	forged := identity.With(context.Background(), who, forger.Sign(who, time.Minute))
	if _, err := client.Search(forged, &searchv1.SearchRequest{Query: "ok"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("forged assertion: %v, want Unauthenticated", err)
	}
}

func TestOnceStoppedCallsGoThroughTheNetwork(t *testing.T) {
	_, client, stop, _ := startLocal(t, ServerOptions{})
	stop()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// Nothing serves the port: the call can only fail.
	if _, err := client.Search(ctx, &searchv1.SearchRequest{Query: "ok"}); status.Code(err) != codes.Unavailable && status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("after stop: %v, want a network failure", err)
	}
}

func TestOnlyLoopbackAddressesOfOneServerAreLocal(t *testing.T) {
	for target, want := range map[string]string{
		"127.0.0.1:50051":             "50051",
		"localhost:50052":             "50052",
		"[::1]:50053":                 "50053",
		"10.0.0.4:50051":              "",
		"dns:///search:50051":         "",
		"127.0.0.1:50051,127.0.0.1:2": "",
		"search:50051":                "",
	} {
		if got := localPort(target); got != want {
			t.Errorf("localPort(%q) = %q, want %q", target, got, want)
		}
	}
}
