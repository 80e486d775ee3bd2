package enhanceclient_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/localai"
	"github.com/altus4/altus/services/search/internal/enhanceclient"
	"github.com/altus4/altus/services/search/internal/search"
)

// fake is an enhance service answering with fixed messages or an error;
// notConfigured makes it answer Categorize as a service without a
// provider does, with the local method.
type fake struct {
	enhancev1.UnimplementedEnhanceServiceServer
	err            error
	block          bool
	notConfigured  bool
	categorizes    atomic.Int32
	lastCategorize *enhancev1.CategorizeRequest
}

var fallback = &enhancev1.Origin{Source: "fallback", Reason: "circuit_open", ElapsedMs: 1}

func (f *fake) fail(ctx context.Context) error {
	if f.block {
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	return f.err
}

func (f *fake) Embed(ctx context.Context, req *enhancev1.EmbedRequest) (*enhancev1.EmbedResponse, error) {
	if err := f.fail(ctx); err != nil {
		return nil, err
	}
	out := &enhancev1.EmbedResponse{Origin: &enhancev1.Origin{Source: "provider", Model: "m"}}
	for i := range req.GetTexts() {
		out.Embeddings = append(out.Embeddings, &enhancev1.Embedding{Values: []float32{float32(i), 1}})
	}
	return out, nil
}

func (f *fake) Categorize(ctx context.Context, req *enhancev1.CategorizeRequest) (*enhancev1.CategorizeResponse, error) {
	f.categorizes.Add(1)
	f.lastCategorize = req
	if err := f.fail(ctx); err != nil {
		return nil, err
	}
	if f.notConfigured {
		docs := localai.Categorize(localai.CategorizeRequestFromProto(req))
		return localai.CategorizeResponseProto(docs, localai.Aggregate(docs), &enhancev1.Origin{Source: "fallback", Reason: "not_configured", ElapsedMs: 1}), nil
	}
	return &enhancev1.CategorizeResponse{
		Documents:  []*enhancev1.DocumentCategories{{Id: "d1", Categories: []*enhancev1.Category{{Name: "db", Confidence: 0.7}}}},
		Categories: []*enhancev1.CategoryCount{{Name: "db", Count: 1, Confidence: 0.7}},
		Origin:     fallback,
	}, nil
}

func (f *fake) OptimizeQuery(ctx context.Context, req *enhancev1.OptimizeQueryRequest) (*enhancev1.OptimizeQueryResponse, error) {
	if err := f.fail(ctx); err != nil {
		return nil, err
	}
	return &enhancev1.OptimizeQueryResponse{Rewrites: []string{"r"}, Synonyms: []string{"s"}, Intent: "informational", Variants: []string{"pool"}, Origin: fallback}, nil
}

func (f *fake) Suggest(ctx context.Context, req *enhancev1.SuggestRequest) (*enhancev1.SuggestResponse, error) {
	if err := f.fail(ctx); err != nil {
		return nil, err
	}
	return &enhancev1.SuggestResponse{Suggestions: []*enhancev1.Suggestion{{Text: "pool", Score: 0.5, Type: "spelling"}}, Origin: fallback}, nil
}

func dial(t *testing.T, f *fake) *enhanceclient.Client {
	t.Helper()
	srv := grpc.NewServer()
	enhancev1.RegisterEnhanceServiceServer(srv, f)
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
	return enhanceclient.New(enhancev1.NewEnhanceServiceClient(conn))
}

func TestEveryCapabilityConvertsItsAnswer(t *testing.T) {
	f := &fake{}
	c := dial(t, f)
	ctx := context.Background()
	want := search.Origin{Source: "fallback", Reason: "circuit_open"}

	emb, err := c.Embed(ctx, []string{"q", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(search.Embedding{Vectors: [][]float32{{0, 1}, {1, 1}}, Origin: search.Origin{Source: "provider", Model: "m"}}, emb); diff != "" {
		t.Errorf("Embed (-want +got):\n%s", diff)
	}

	cats, err := c.Categorize(ctx, "pools", []search.Document{{ID: "d1", Database: "s1", Table: "t", Fields: []search.DocField{{Name: "title", Text: "Pools"}}}, {ID: "d2"}})
	if err != nil {
		t.Fatal(err)
	}
	wantCats := search.Categorization{
		Documents:  map[string][]search.DocumentCategory{"d1": {{Name: "db", Confidence: 0.7}}},
		Categories: []search.Category{{Name: "db", Count: 1, Confidence: 0.7}}, Origin: want,
	}
	if diff := cmp.Diff(wantCats, cats); diff != "" {
		t.Errorf("Categorize (-want +got):\n%s", diff)
	}
	docs := f.lastCategorize.GetDocuments()
	if len(docs) != 2 || docs[0].GetFields()[0].GetText() != "Pools" || len(docs[1].GetFields()) != 0 || f.lastCategorize.GetQuery() != "pools" {
		t.Errorf("Categorize request %v", f.lastCategorize)
	}

	rw, err := c.OptimizeQuery(ctx, "pools", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(search.QueryRewrite{Rewrites: []string{"r"}, Synonyms: []string{"s"}, Intent: "informational", Variants: []string{"pool"}, Origin: want}, rw); diff != "" {
		t.Errorf("OptimizeQuery (-want +got):\n%s", diff)
	}

	sg, err := c.Suggest(ctx, "pol", map[string]int{"pool": 3}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(search.Suggestions{Suggestions: []search.Suggestion{{Text: "pool", Score: 0.5, Type: "spelling"}}, Origin: want}, sg); diff != "" {
		t.Errorf("Suggest (-want +got):\n%s", diff)
	}
}

func TestFailuresAreClassifiedForTheDomain(t *testing.T) {
	tests := []struct {
		name string
		f    *fake
		// within is the caller's deadline: generous where the answer is
		// an error, short where the service never answers.
		within time.Duration
		want   error
	}{
		{"unavailable", &fake{err: status.Error(codes.Unavailable, "down")}, 10 * time.Second, search.ErrEnhanceUnavailable},
		{"unimplemented", &fake{err: status.Error(codes.Unimplemented, "no")}, 10 * time.Second, search.ErrEnhanceUnavailable},
		{"out of time", &fake{block: true}, 50 * time.Millisecond, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, tt.f)
			ctx, cancel := context.WithTimeout(context.Background(), tt.within)
			defer cancel()
			_, err := c.Embed(ctx, []string{"q"})
			if !errors.Is(err, tt.want) {
				t.Errorf("Embed error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCategorizeIsAnsweredInProcessOnceTheServiceSaysItHasNoProvider(t *testing.T) {
	f := &fake{notConfigured: true}
	c := dial(t, f)
	ctx := context.Background()
	docs := []search.Document{
		{ID: "d1", Database: "s1", Table: "packages", Fields: []search.DocField{{Name: "title", Text: "Redis client with cluster support"}}},
		{ID: "d2", Database: "s1", Table: "packages", Fields: []search.DocField{{Name: "title", Text: "MySQL driver with cluster support"}}},
	}
	remote, err := c.Categorize(ctx, "redis", docs)
	if err != nil {
		t.Fatal(err)
	}
	local, err := c.Categorize(ctx, "redis", docs)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.categorizes.Load(); n != 1 {
		t.Errorf("the service got %d calls; want the first only", n)
	}
	if diff := cmp.Diff(remote, local); diff != "" {
		t.Errorf("in-process answer (-service +in-process):\n%s", diff)
	}
	if want := (search.Origin{Source: "fallback", Reason: search.ReasonNotConfigured}); local.Origin != want || len(local.Documents["d1"]) == 0 {
		t.Errorf("in-process answer %+v; want categories from the fallback, not configured", local)
	}
}

func TestCategorizeAsksTheServiceWhileItsFallbackIsForAnotherReason(t *testing.T) {
	f := &fake{}
	c := dial(t, f)
	for range 3 {
		if _, err := c.Categorize(context.Background(), "pools", []search.Document{{ID: "d1"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.categorizes.Load(); n != 3 {
		t.Errorf("the service got %d of 3 calls (its answers were a fallback because its circuit is open)", n)
	}
}
