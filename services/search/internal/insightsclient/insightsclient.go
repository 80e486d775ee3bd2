// Package insightsclient asks the enhance service to turn the analytics of
// a range into insights (EnhanceService.GenerateInsights), for the
// analytics domain.
package insightsclient

import (
	"context"
	"fmt"

	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	"github.com/altus4/altus/services/search/internal/analytics"
)

// Client implements analytics.InsightsGenerator over EnhanceService.
type Client struct {
	c enhancev1.EnhanceServiceClient
}

// New returns a Client over an enhance connection (pkg/grpcx.Dial).
func New(c enhancev1.EnhanceServiceClient) *Client { return &Client{c: c} }

// GenerateInsights sends the numbers and converts the insights back.
func (c *Client) GenerateInsights(ctx context.Context, in analytics.InsightsInput) (analytics.Insights, error) {
	req := &enhancev1.GenerateInsightsRequest{
		Period: in.Period, TotalSearches: in.Total, PreviousTotalSearches: in.PreviousTotal,
		AvgTimeMs: in.AvgMillis, ZeroResultSearches: in.ZeroResults, CacheHitRatio: in.CacheHitRatio,
		ClickThroughRate: in.ClickThroughRate,
	}
	for _, q := range in.Queries {
		req.Queries = append(req.Queries, &enhancev1.QueryStat{Query: q.Query, Count: q.Count, PreviousCount: q.PreviousCount,
			AvgTimeMs: q.AvgMillis, AvgResults: q.AvgResults, ZeroResultCount: q.ZeroResults})
	}
	for _, s := range in.Sources {
		req.Sources = append(req.Sources, &enhancev1.SourceStat{Id: s.ID, Searches: s.Searches,
			AvgTimeMs: s.AvgMillis, P95TimeMs: s.P95Millis, Failures: s.Failures})
	}
	resp, err := c.c.GenerateInsights(ctx, req)
	if err != nil {
		return analytics.Insights{}, fmt.Errorf("enhance: generate insights: %w", err)
	}
	out := analytics.Insights{Items: make([]analytics.Insight, 0, len(resp.GetInsights())), Source: resp.GetOrigin().GetSource()}
	if out.Source == "" {
		out.Source = "provider"
	}
	for _, ins := range resp.GetInsights() {
		out.Items = append(out.Items, analytics.Insight{Type: ins.GetType(), Confidence: ins.GetConfidence(),
			Description: ins.GetDescription(), Actionable: ins.GetActionable(), Data: ins.GetData().AsMap()})
	}
	return out, nil
}
