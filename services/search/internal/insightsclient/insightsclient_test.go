package insightsclient_test

import (
	"context"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/services/search/internal/analytics"
	"github.com/altus4/altus/services/search/internal/insightsclient"
)

// enhance answers GenerateInsights with a fixed answer, or Unimplemented
// when it has none (as the service does before it implements the call).
type enhance struct {
	enhancev1.UnimplementedEnhanceServiceServer
	got    *enhancev1.GenerateInsightsRequest
	answer *enhancev1.GenerateInsightsResponse
}

func (e *enhance) GenerateInsights(_ context.Context, req *enhancev1.GenerateInsightsRequest) (*enhancev1.GenerateInsightsResponse, error) {
	e.got = req
	if e.answer == nil {
		return nil, status.Error(codes.Unimplemented, "not yet")
	}
	return e.answer, nil
}

func dial(t *testing.T, srv enhancev1.EnhanceServiceServer) *insightsclient.Client {
	t.Helper()
	s := grpc.NewServer()
	enhancev1.RegisterEnhanceServiceServer(s, srv)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpcx.Dial("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return insightsclient.New(enhancev1.NewEnhanceServiceClient(conn))
}

func TestGenerateInsightsSendsEveryNumberAndConvertsTheInsightsBack(t *testing.T) {
	data, _ := structpb.NewStruct(map[string]any{"query": "xyzzy", "count": 2.0})
	srv := &enhance{answer: &enhancev1.GenerateInsightsResponse{
		Insights: []*enhancev1.Insight{{Type: "zero_results", Confidence: 0.8, Description: "Nothing found for xyzzy.", Actionable: true, Data: data}},
		Origin:   &enhancev1.Origin{Source: "fallback", Reason: "not_configured"},
	}}
	c := dial(t, srv)
	in := analytics.InsightsInput{Period: "week", Total: 10, PreviousTotal: 4, AvgMillis: 12.5, ZeroResults: 2, CacheHitRatio: 0.3,
		Queries:          []analytics.QueryStat{{Query: "xyzzy", Count: 2, PreviousCount: 1, AvgMillis: 3, AvgResults: 0, ZeroResults: 2}},
		Sources:          []analytics.SourceStat{{ID: "s1", Searches: 10, AvgMillis: 40, P95Millis: 90, Failures: 1}},
		ClickThroughRate: 0.25}
	got, err := c.GenerateInsights(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := analytics.Insights{Source: "fallback", Items: []analytics.Insight{{Type: "zero_results", Confidence: 0.8,
		Description: "Nothing found for xyzzy.", Actionable: true, Data: map[string]any{"query": "xyzzy", "count": 2.0}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("insights (-want +got):\n%s", diff)
	}
	wantReq := &enhancev1.GenerateInsightsRequest{Period: "week", TotalSearches: 10, PreviousTotalSearches: 4, AvgTimeMs: 12.5,
		ZeroResultSearches: 2, CacheHitRatio: 0.3, ClickThroughRate: 0.25,
		Queries: []*enhancev1.QueryStat{{Query: "xyzzy", Count: 2, PreviousCount: 1, AvgTimeMs: 3, ZeroResultCount: 2}},
		Sources: []*enhancev1.SourceStat{{Id: "s1", Searches: 10, AvgTimeMs: 40, P95TimeMs: 90, Failures: 1}}}
	if !proto.Equal(wantReq, srv.got) {
		t.Errorf("request = %v\nwant %v", srv.got, wantReq)
	}
}

func TestGenerateInsightsReturnsTheErrorOfAServiceThatCannotAnswer(t *testing.T) {
	c := dial(t, &enhance{})
	if _, err := c.GenerateInsights(context.Background(), analytics.InsightsInput{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("error = %v, want Unimplemented", err)
	}
}
