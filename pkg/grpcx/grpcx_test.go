package grpcx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/requestid"
	"github.com/altus4/altus/pkg/validate"
)

var errDomain = errors.New("thing not found")

// probe is a SearchService whose Search behaves as the query says, so the
// interceptor chain can be driven through a real generated client.
type probe struct {
	searchv1.UnimplementedSearchServiceServer
	seen chan context.Context
}

func (p *probe) Search(ctx context.Context, req *searchv1.SearchRequest) (*searchv1.SearchResponse, error) {
	if p.seen != nil {
		p.seen <- ctx
	}
	switch req.GetQuery() {
	case "panic":
		panic("boom")
	case "internal":
		return nil, fmt.Errorf("query failed: dial tcp 10.0.0.5:3306: secret detail")
	case "domain":
		return nil, Map(fmt.Errorf("lookup: %w", errDomain), []Mapping{{Err: errDomain, Code: codes.NotFound, Reason: "THING_NOT_FOUND"}})
	case "validation":
		return nil, Map(validate.Field("query", "TOO_SHORT", "too short"), nil)
	}
	return &searchv1.SearchResponse{}, nil
}

func start(t *testing.T, opts ServerOptions, p *probe) searchv1.SearchServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := NewServer(opts)
	searchv1.RegisterSearchServiceServer(srv, p)
	srv.Ready()
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := Dial("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return searchv1.NewSearchServiceClient(conn)
}

func TestInterceptorsGiveEveryErrorACodeAndReasonAndMaskInternals(t *testing.T) {
	var logs bytes.Buffer
	client := start(t, ServerOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}, &probe{})
	tests := []struct {
		query      string
		wantCode   codes.Code
		wantReason string
	}{
		{"panic", codes.Internal, ReasonInternal},
		{"internal", codes.Internal, ReasonInternal},
		{"domain", codes.NotFound, "THING_NOT_FOUND"},
		{"validation", codes.InvalidArgument, ReasonValidation},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, err := client.Search(context.Background(), &searchv1.SearchRequest{Query: tt.query})
			if status.Code(err) != tt.wantCode || Reason(err) != tt.wantReason {
				t.Fatalf("got %v %q, want %v %q", status.Code(err), Reason(err), tt.wantCode, tt.wantReason)
			}
			if strings.Contains(status.Convert(err).Message(), "10.0.0.5") {
				t.Fatalf("internal detail leaked to the caller: %v", err)
			}
		})
	}
	if !strings.Contains(logs.String(), "10.0.0.5") {
		t.Fatal("the masked error was not logged in full")
	}
}

func TestRequestIDAndIdentityTravelToTheServer(t *testing.T) {
	signer := identity.NewSigner(strings.Repeat("k", 32))
	p := &probe{seen: make(chan context.Context, 1)}
	client := start(t, ServerOptions{Signer: signer}, p)
	who := identity.Principal{UserID: "user-1", Role: identity.RoleUser}
	ctx := requestid.With(context.Background(), "req-42")
	ctx = identity.With(ctx, who, signer.Sign(who, time.Minute))
	var header metadata.MD
	if _, err := client.Search(ctx, &searchv1.SearchRequest{Query: "ok"}, grpc.Header(&header)); err != nil {
		t.Fatal(err)
	}
	got := <-p.seen
	if id := requestid.From(got); id != "req-42" {
		t.Errorf("server saw request id %q", id)
	}
	if gotWho, ok := identity.From(got); !ok || gotWho.UserID != "user-1" {
		t.Errorf("server saw principal %+v, %v", gotWho, ok)
	}
	if h := header.Get(requestid.MetadataKey); len(h) != 1 || h[0] != "req-42" {
		t.Errorf("response header request id = %v", h)
	}
}

func TestForgedIdentityIsRejected(t *testing.T) {
	client := start(t, ServerOptions{Signer: identity.NewSigner(strings.Repeat("k", 32))}, &probe{})
	forger := identity.NewSigner(strings.Repeat("f", 32))
	who := identity.Principal{UserID: "victim", Role: identity.RoleAdmin}
	ctx := identity.With(context.Background(), who, forger.Sign(who, time.Minute))
	_, err := client.Search(ctx, &searchv1.SearchRequest{Query: "ok"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("forged assertion: %v, want Unauthenticated", err)
	}
}

// Every server answers grpc.health.v1 (SERVING once Ready) and lists its
// services through server reflection, as grpcurl uses it.
func TestEveryServerAnswersHealthAndReflection(t *testing.T) {
	lis := bufconn.Listen(1 << 20)
	srv := NewServer(ServerOptions{})
	searchv1.RegisterSearchServiceServer(srv, &probe{})
	srv.Ready()
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := Dial("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, name := range []string{"", searchv1.SearchService_ServiceDesc.ServiceName} {
		r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: name})
		if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health of %q = %v, %v", name, r.GetStatus(), err)
		}
	}

	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{searchv1.SearchService_ServiceDesc.ServiceName, "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, want %s among them", names, want)
		}
	}
}

// Messages above MaxMessageSize are refused (RESOURCE_EXHAUSTED) by the
// client's send limit and, from a client without it, by the server's
// receive limit.
func TestMessagesAboveTheSizeLimitAreRefused(t *testing.T) {
	lis := bufconn.Listen(1 << 20)
	srv := NewServer(ServerOptions{})
	searchv1.RegisterSearchServiceServer(srv, &probe{})
	srv.Ready()
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	dialer := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	big := &searchv1.SearchRequest{Query: strings.Repeat("x", MaxMessageSize+1)}

	ours, err := Dial("passthrough:///bufnet", dialer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ours.Close() })
	if _, err := searchv1.NewSearchServiceClient(ours).Search(ctx, big); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("our client sent an oversized message: %v", err)
	}
	if _, err := searchv1.NewSearchServiceClient(ours).Search(ctx, &searchv1.SearchRequest{Query: strings.Repeat("x", 4<<20)}); err != nil {
		t.Fatalf("a 4 MiB message (above gRPC's default) was refused: %v", err)
	}

	plain, err := grpc.NewClient("passthrough:///bufnet", dialer, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	if _, err := searchv1.NewSearchServiceClient(plain).Search(ctx, big); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("the server accepted an oversized message: %v", err)
	}
}

func TestCallsAreLoggedAtTheLevelOfTheirOutcome(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			var logs bytes.Buffer
			client := start(t, ServerOptions{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: level}))}, &probe{})
			if _, err := client.Search(context.Background(), &searchv1.SearchRequest{Query: "fine"}); err != nil {
				t.Fatal(err)
			}
			if _, err := client.Search(context.Background(), &searchv1.SearchRequest{Query: "domain"}); status.Code(err) != codes.NotFound {
				t.Fatal(err)
			}
			var calls []map[string]any
			for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
				var m map[string]any
				if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "finished call" {
					calls = append(calls, m)
				}
			}
			want := 1 // the failure (NotFound logs at info)
			if level == slog.LevelDebug {
				want = 2 // and the success
			}
			if len(calls) != want {
				t.Fatalf("%d call lines at %s; want %d:\n%s", len(calls), level, want, logs.String())
			}
			failed := calls[len(calls)-1]
			for k, v := range map[string]string{"grpc.service": "altus.search.v1.SearchService", "grpc.method": "Search", "grpc.code": "NotFound", "level": "INFO"} {
				if failed[k] != v {
					t.Errorf("%s = %v; want %s (line %v)", k, failed[k], v, failed)
				}
			}
			if _, ok := failed["grpc.time_ms"]; !ok || failed["grpc.error"] == nil {
				t.Errorf("the failure's line lacks its time or error: %v", failed)
			}
		})
	}
}
