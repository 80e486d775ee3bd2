package grpcapi_test

import (
	"context"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/services/enhance/internal/enhance"
	"github.com/altus4/altus/services/enhance/internal/grpcapi"
	"github.com/altus4/altus/services/enhance/internal/openaiclient"
	"github.com/altus4/altus/services/enhance/internal/providertest"
)

// client serves svc over bufconn and returns the generated client.
func client(t *testing.T, svc *enhance.Service) enhancev1.EnhanceServiceClient {
	t.Helper()
	return clientWithMetrics(t, svc, nil)
}

// clientWithMetrics is client with the server's gRPC metrics on reg.
func clientWithMetrics(t *testing.T, svc *enhance.Service, reg prometheus.Registerer) enhancev1.EnhanceServiceClient {
	t.Helper()
	srv := grpcx.NewServer(grpcx.ServerOptions{Registry: reg})
	enhancev1.RegisterEnhanceServiceServer(srv, grpcapi.New(svc))
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
	return enhancev1.NewEnhanceServiceClient(conn)
}

var docs = []*enhancev1.Document{
	{Id: "1", Table: "packages", Fields: []*enhancev1.Field{{Name: "description", Text: "Redis client. Supports clusters."}}},
	{Id: "2", Table: "packages", Fields: []*enhancev1.Field{{Name: "description", Text: "MySQL driver. Supports clusters."}}},
}

func TestEveryRPCAnswersFromTheFallbackWithoutAProvider(t *testing.T) {
	c := client(t, enhance.New(enhance.Options{}))
	ctx := context.Background()
	origins := map[string]*enhancev1.Origin{}
	opt, err := c.OptimizeQuery(ctx, &enhancev1.OptimizeQueryRequest{Query: "running shoes"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"run", "runnings", "shoe"}, opt.GetVariants()); diff != "" {
		t.Errorf("variants (-want +got):\n%s", diff)
	}
	origins["OptimizeQuery"] = opt.GetOrigin()
	cat, err := c.Categorize(ctx, &enhancev1.CategorizeRequest{Documents: docs})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int32{}
	for _, cc := range cat.GetCategories() {
		counts[cc.GetName()] = cc.GetCount()
	}
	if len(cat.GetDocuments()) != 2 || counts["packages"] != 2 || counts["clusters"] != 2 {
		t.Errorf("categorize: %v; want the table and the shared term in both documents", cat)
	}
	origins["Categorize"] = cat.GetOrigin()
	sum, err := c.Summarize(ctx, &enhancev1.SummarizeRequest{Documents: docs, MaxChars: 14})
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{sum.GetSummaries()[0].GetText(), sum.GetSummaries()[1].GetId()}; !cmp.Equal(got, []string{"Redis client.", "2"}) {
		t.Errorf("summaries %v", sum.GetSummaries())
	}
	origins["Summarize"] = sum.GetOrigin()
	sug, err := c.Suggest(ctx, &enhancev1.SuggestRequest{Query: "redsi", Vocabulary: []*enhancev1.TermCount{{Term: "redis", Count: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sug.GetSuggestions()) == 0 || sug.GetSuggestions()[0].GetText() != "redis" || sug.GetSuggestions()[0].GetType() != "spelling" {
		t.Errorf("suggestions %v", sug.GetSuggestions())
	}
	origins["Suggest"] = sug.GetOrigin()
	emb, err := c.Embed(ctx, &enhancev1.EmbedRequest{Texts: []string{"redis client", "mysql"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.GetEmbeddings()) != 2 || len(emb.GetEmbeddings()[0].GetValues()) != enhance.FallbackDimensions || emb.GetOrigin().GetModel() != enhance.FallbackEmbeddingModel {
		t.Errorf("embed: %d embeddings, origin %v", len(emb.GetEmbeddings()), emb.GetOrigin())
	}
	origins["Embed"] = emb.GetOrigin()
	ins, err := c.GenerateInsights(ctx, &enhancev1.GenerateInsightsRequest{Period: "week", TotalSearches: 100, ZeroResultSearches: 50,
		Queries: []*enhancev1.QueryStat{{Query: "pyhton", Count: 50, ZeroResultCount: 50}}})
	if err != nil {
		t.Fatal(err)
	}
	if ins.GetInsights()[0].GetType() != "zero_results" || ins.GetInsights()[0].GetData().GetFields()["zero_result_searches"].GetNumberValue() != 50 {
		t.Errorf("insights %v", ins.GetInsights())
	}
	origins["GenerateInsights"] = ins.GetOrigin()
	for rpc, o := range origins {
		if o.GetSource() != "fallback" || o.GetReason() != "not_configured" || o.GetElapsedMs() <= 0 {
			t.Errorf("%s: origin %v", rpc, o)
		}
	}
}

func TestProviderOriginCarriesTheModel(t *testing.T) {
	srv := providertest.New(t)
	c := client(t, enhance.New(enhance.Options{Provider: openaiclient.New(openaiclient.Options{APIKey: "k", BaseURL: srv.BaseURL(), Model: "gpt-test", EmbeddingModel: "embed-test"})}))
	r, err := c.Embed(context.Background(), &enhancev1.EmbedRequest{Texts: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if o := r.GetOrigin(); o.GetSource() != "provider" || o.GetModel() != "embed-test" || o.GetReason() != "" || len(r.GetEmbeddings()[0].GetValues()) != 8 {
		t.Errorf("origin %v, %d values", o, len(r.GetEmbeddings()[0].GetValues()))
	}
}

func TestInvalidRequestsAreInvalidArgumentWithFieldViolations(t *testing.T) {
	c := client(t, enhance.New(enhance.Options{}))
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want []string
	}{
		{"empty query", func() error { _, err := c.OptimizeQuery(ctx, &enhancev1.OptimizeQueryRequest{}); return err }, []string{"query"}},
		{"limit out of range", func() error {
			_, err := c.Suggest(ctx, &enhancev1.SuggestRequest{Query: "q", Limit: 21})
			return err
		}, []string{"limit"}},
		{"too many texts", func() error {
			_, err := c.Embed(ctx, &enhancev1.EmbedRequest{Texts: make([]string, enhance.MaxTexts+1)})
			return err
		}, []string{"texts"}},
		{"no documents", func() error { _, err := c.Summarize(ctx, &enhancev1.SummarizeRequest{}); return err }, []string{"documents"}},
		{"categories out of range", func() error {
			_, err := c.Categorize(ctx, &enhancev1.CategorizeRequest{Documents: docs, MaxCategories: -1})
			return err
		}, []string{"max_categories"}},
		{"bad period", func() error {
			_, err := c.GenerateInsights(ctx, &enhancev1.GenerateInsightsRequest{Period: "fortnight"})
			return err
		}, []string{"period"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if status.Code(err) != codes.InvalidArgument || grpcx.Reason(err) != grpcx.ReasonValidation {
				t.Fatalf("err = %v, want INVALID_ARGUMENT with VALIDATION_ERROR", err)
			}
			var got []string
			for _, d := range status.Convert(err).Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						got = append(got, v.GetField())
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}
