package load

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
)

// fakeGateway answers POST /api/v1/search like the gateway: the v1 envelope,
// cached when the query is "hot" and the request allowed the cache, 429 for
// the key "limited".
type fakeGateway struct {
	mu       sync.Mutex
	keys     []string
	noCache  []string
	bodies   []map[string]any
	requests int
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests++
	g.keys = append(g.keys, r.Header.Get("Authorization"))
	g.noCache = append(g.noCache, r.Header.Get("Cache-Control"))
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	g.bodies = append(g.bodies, body)
	g.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/api/v1/search":
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"success":false,"error":{"code":"NOT_FOUND","message":"no route"}}`))
	case r.Header.Get("Authorization") == "Bearer limited":
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"success":false,"error":{"code":"RATE_LIMIT_EXCEEDED","message":"Too many requests"}}`))
	case body["query"] == "broken":
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"success":tr`))
	default:
		cached := body["query"] == "hot" && r.Header.Get("Cache-Control") != "no-cache"
		_ = json.NewEncoder(w).Encode(map[string]any{
			"success": true,
			"data":    map[string]any{"results": []any{map[string]any{"id": "s:packages:bash"}}, "totalCount": 1, "cached": cached},
		})
	}
}

func TestRESTTargetPostsSearchesAndReadsTheEnvelope(t *testing.T) {
	gw := &fakeGateway{}
	srv := httptest.NewServer(gw)
	defer srv.Close()

	rest := NewREST(srv.URL+"/", []string{"k1", "k2"}, SearchOptions{Databases: []string{"src-1"}, Limit: 5}, 4)
	defer rest.Close()
	queries := []Query{{"hot", ModeNatural}, {`"web server" -apache`, ModeBoolean}, {"broken", ModeNatural}}
	if err := rest.Prepare(context.Background(), queries); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got := []Outcome{
		rest.Do(ctx, 0, false), // hot, cache allowed: a hit
		rest.Do(ctx, 0, true),  // hot, no-cache: a miss
		rest.Do(ctx, 1, true),
		rest.Do(ctx, 2, true), // a body that is not JSON
	}
	want := []Outcome{{Cached: true}, {}, {}, {Kind: "http bad body"}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Outcome{}, "Detail")); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Bearer k1", "Bearer k2", "Bearer k1", "Bearer k2"}, gw.keys); diff != "" {
		t.Errorf("keys are not used in turn (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"", "no-cache", "no-cache", "no-cache"}, gw.noCache); diff != "" {
		t.Errorf("Cache-Control headers (-want +got):\n%s", diff)
	}
	wantBody := map[string]any{"query": `"web server" -apache`, "searchMode": "boolean", "databases": []any{"src-1"}, "limit": float64(5)}
	if diff := cmp.Diff(wantBody, gw.bodies[2]); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
}

func TestRESTTargetNamesFailuresByStatusAndCode(t *testing.T) {
	srv := httptest.NewServer(&fakeGateway{})
	rest := NewREST(srv.URL, []string{"limited"}, SearchOptions{}, 1)
	if err := rest.Prepare(context.Background(), []Query{{"x", ModeNatural}}); err != nil {
		t.Fatal(err)
	}
	got := rest.Do(context.Background(), 0, true)
	if got.Kind != "http 429 RATE_LIMIT_EXCEEDED" {
		t.Errorf("kind = %q, want http 429 RATE_LIMIT_EXCEEDED", got.Kind)
	}
	rest.Close()
	srv.Close()

	// The gateway gone: a connection failure, not a panic or a success.
	if got := rest.Do(context.Background(), 0, true); got.Kind != "connection refused" {
		t.Errorf("kind with the server stopped = %q, want connection refused", got.Kind)
	}
}

func TestRESTTargetThroughTheRunnerCountsHitsAndFailures(t *testing.T) {
	gw := &fakeGateway{}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	rest := NewREST(srv.URL, []string{"ok", "limited"}, SearchOptions{}, 4)
	defer rest.Close()
	if err := rest.Prepare(context.Background(), []Query{{"hot", ModeNatural}}); err != nil {
		t.Fatal(err)
	}
	r := Run(context.Background(), Phase{Target: rest, Concurrency: 4, Requests: 40, Cache: Cached, Queries: []int{0}})
	if r.Total != 40 || r.Successes != 20 || r.FailureKinds["http 429 RATE_LIMIT_EXCEEDED"] != 20 || r.CacheHits != 20 {
		t.Errorf("total %d, ok %d, hits %d, failures %v: want 40, 20, 20 and 20 rate limited",
			r.Total, r.Successes, r.CacheHits, r.FailureKinds)
	}
}

// fakeSearch is a SearchService that records the caller's metadata.
type fakeSearch struct {
	searchv1.UnimplementedSearchServiceServer
	mu  sync.Mutex
	md  []metadata.MD
	req []*searchv1.SearchRequest
}

func (f *fakeSearch) Search(ctx context.Context, req *searchv1.SearchRequest) (*searchv1.SearchResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.md = append(f.md, md)
	f.req = append(f.req, req)
	f.mu.Unlock()
	if req.GetQuery() == "fail" {
		st, _ := status.New(codes.NotFound, "No such database.").WithDetails(&errdetails.ErrorInfo{Reason: "CONNECTION_NOT_FOUND"})
		return nil, st.Err()
	}
	return &searchv1.SearchResponse{TotalCount: 1, Cached: len(md.Get("cache-control")) == 0}, nil
}

func TestGRPCTargetSendsTheKeyAndNoCacheAsMetadata(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	fake := &fakeSearch{}
	searchv1.RegisterSearchServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	g, err := NewGRPC(lis.Addr().String(), []string{"altus4_sk_test_a", "altus4_sk_test_b"}, SearchOptions{Databases: []string{"s1"}, Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Prepare(context.Background(), []Query{{"bash", ModeExpansion}, {"fail", ModeNatural}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got := []Outcome{g.Do(ctx, 0, false), g.Do(ctx, 0, true), g.Do(ctx, 1, true)}
	want := []Outcome{{Cached: true}, {}, {Kind: "grpc NotFound CONNECTION_NOT_FOUND"}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Outcome{}, "Detail")); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	var auth, cache []string
	for _, md := range fake.md {
		auth = append(auth, md.Get("authorization")...)
		cache = append(cache, md.Get("cache-control")...)
	}
	if diff := cmp.Diff([]string{"Bearer altus4_sk_test_a", "Bearer altus4_sk_test_b", "Bearer altus4_sk_test_a"}, auth); diff != "" {
		t.Errorf("authorization metadata (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"no-cache", "no-cache"}, cache); diff != "" {
		t.Errorf("cache-control metadata (-want +got):\n%s", diff)
	}
	r := fake.req[0]
	if r.GetQuery() != "bash" || r.GetSearchMode() != "expansion" || r.GetLimit() != 7 || !cmp.Equal(r.GetDatabases(), []string{"s1"}) {
		t.Errorf("request = %v, want query bash, expansion, limit 7, databases [s1]", r)
	}
}
