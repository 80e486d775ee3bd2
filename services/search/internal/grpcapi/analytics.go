package grpcapi

import (
	"context"
	"fmt"
	"math"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/services/search/internal/analytics"
	"github.com/altus4/altus/services/search/internal/events"
	"github.com/altus4/altus/services/search/internal/wire"
)

// Reasons of the analytics calls.
const (
	ReasonInsufficientPrivileges = "INSUFFICIENT_PRIVILEGES"
	ReasonSearchNotFound         = "SEARCH_NOT_FOUND"
)

// analyticsErrors maps the analytics domain's errors.
var analyticsErrors = []grpcx.Mapping{
	{Err: analytics.ErrNotAdmin, Code: codes.PermissionDenied, Reason: ReasonInsufficientPrivileges},
	{Err: analytics.ErrSearchNotFound, Code: codes.NotFound, Reason: ReasonSearchNotFound},
	{Err: analytics.ErrUnavailable, Code: codes.Unavailable, Reason: grpcx.ReasonUnavailable},
}

func mapAnalyticsErr(err error) error { return grpcx.Map(err, analyticsErrors) }

// rangeRequest is what every analytics request has.
type rangeRequest interface {
	GetStartDate() string
	GetEndDate() string
	GetPeriod() string
}

func rangeOf(r rangeRequest) analytics.RangeRequest {
	return analytics.RangeRequest{StartDate: r.GetStartDate(), EndDate: r.GetEndDate(), Period: r.GetPeriod()}
}

// Analytics implements searchv1.AnalyticsServiceServer.
type Analytics struct {
	searchv1.UnimplementedAnalyticsServiceServer
	svc *analytics.Service
}

// NewAnalytics returns the adapter over svc.
func NewAnalytics(svc *analytics.Service) *Analytics { return &Analytics{svc: svc} }

// RecordClick records an opened result (SearchService.RecordClick).
func (s *Server) RecordClick(ctx context.Context, req *searchv1.RecordClickRequest) (*searchv1.RecordClickResponse, error) {
	p, err := caller(ctx, identity.PermSearch)
	if err != nil {
		return nil, err
	}
	if s.analytics == nil {
		return nil, mapAnalyticsErr(analytics.ErrUnavailable)
	}
	err = s.analytics.RecordClick(ctx, p, analytics.ClickRequest{SearchID: req.GetSearchId(), ResultID: req.GetResultId(), Position: int(req.GetPosition())})
	if err != nil {
		return nil, mapAnalyticsErr(err)
	}
	return &searchv1.RecordClickResponse{Recorded: true}, nil
}

// finite replaces NaN and infinities (never valid JSON numbers) by 0.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func trendProto(t analytics.Trend) *searchv1.TrendInsight {
	return &searchv1.TrendInsight{Period: t.Period, TopQueries: t.TopQueries, QueryVolume: int32(min(t.Volume, math.MaxInt32)),
		AvgResponseTime: finite(t.AvgMillis), PopularCategories: []string{}}
}

func dayProtos(ds []analytics.DayPoint) []*searchv1.PerformancePoint {
	out := make([]*searchv1.PerformancePoint, 0, len(ds))
	for _, d := range ds {
		out = append(out, &searchv1.PerformancePoint{Date: d.Date, TotalQueries: d.Total, AvgResponseTime: finite(d.AvgMillis),
			MaxResponseTime: finite(d.MaxMillis), MinResponseTime: finite(d.MinMillis), AvgResults: finite(d.AvgResults)})
	}
	return out
}

func performanceProto(p analytics.Performance) *searchv1.GetPerformanceResponse {
	out := &searchv1.GetPerformanceResponse{TimeSeriesData: dayProtos(p.Days), SearchModeDistribution: []*searchv1.ModeShare{},
		Summary: &searchv1.PerformanceSummary{TotalQueries: p.Summary.Total, AverageResponseTime: finite(p.Summary.AvgMillis),
			AverageResults: finite(p.Summary.AvgResults), P95ResponseTime: finite(p.Summary.P95Millis),
			ZeroResultQueries: p.Summary.ZeroResults, CacheHitRatio: finite(p.Summary.CacheHitRatio)}}
	for _, m := range p.Modes {
		out.SearchModeDistribution = append(out.SearchModeDistribution, &searchv1.ModeShare{SearchMode: m.Mode, Count: m.Count, AvgTime: finite(m.AvgMillis)})
	}
	return out
}

func popularProtos(qs []events.QueryStats) []*searchv1.PopularQuery {
	out := make([]*searchv1.PopularQuery, 0, len(qs))
	for _, q := range qs {
		out = append(out, &searchv1.PopularQuery{Query: q.Query, Frequency: q.Count, AvgTime: finite(q.AvgMillis),
			AvgResults: finite(q.AvgResults), LastUsed: timestamppb.New(q.LastUsed)})
	}
	return out
}

func insightProtos(in analytics.Insights) ([]*searchv1.AnalyticsInsight, error) {
	out := make([]*searchv1.AnalyticsInsight, 0, len(in.Items))
	for _, i := range in.Items {
		data, err := structpb.NewStruct(i.Data)
		if err != nil {
			return nil, fmt.Errorf("analytics: encode insight data: %w", err)
		}
		out = append(out, &searchv1.AnalyticsInsight{Type: i.Type, Confidence: finite(i.Confidence), Description: i.Description,
			Actionable: i.Actionable, Data: data})
	}
	return out, nil
}

// GetSearchTrends reports the caller's searching over the range.
func (a *Analytics) GetSearchTrends(ctx context.Context, req *searchv1.GetSearchTrendsRequest) (*searchv1.GetSearchTrendsResponse, error) {
	p, err := caller(ctx, identity.PermAnalytics)
	if err != nil {
		return nil, err
	}
	t, err := a.svc.SearchTrends(ctx, p, rangeOf(req))
	if err != nil {
		return nil, mapAnalyticsErr(err)
	}
	return &searchv1.GetSearchTrendsResponse{Trends: []*searchv1.TrendInsight{trendProto(t)}}, nil
}

// GetPerformance reports the caller's response times.
func (a *Analytics) GetPerformance(ctx context.Context, req *searchv1.GetPerformanceRequest) (*searchv1.GetPerformanceResponse, error) {
	p, err := caller(ctx, identity.PermAnalytics)
	if err != nil {
		return nil, err
	}
	perf, err := a.svc.Performance(ctx, p, rangeOf(req))
	if err != nil {
		return nil, mapAnalyticsErr(err)
	}
	return performanceProto(perf), nil
}

// GetPopularQueries lists the caller's most frequent queries.
func (a *Analytics) GetPopularQueries(ctx context.Context, req *searchv1.GetPopularQueriesRequest) (*searchv1.GetPopularQueriesResponse, error) {
	p, err := caller(ctx, identity.PermAnalytics)
	if err != nil {
		return nil, err
	}
	qs, err := a.svc.Popular(ctx, p, analytics.PopularRequest{RangeRequest: rangeOf(req), Limit: int(req.GetLimit())})
	if err != nil {
		return nil, mapAnalyticsErr(err)
	}
	return &searchv1.GetPopularQueriesResponse{Queries: popularProtos(qs)}, nil
}

// GetSearchHistory pages through the caller's searches of the range.
func (a *Analytics) GetSearchHistory(ctx context.Context, req *searchv1.GetSearchHistoryRequest) (*searchv1.GetSearchHistoryResponse, error) {
	p, err := caller(ctx, identity.PermAnalytics)
	if err != nil {
		return nil, err
	}
	evs, total, err := a.svc.History(ctx, p, analytics.PageRequest{RangeRequest: rangeOf(req), Limit: int(req.GetLimit()), Offset: int(req.GetOffset())})
	if err != nil {
		return nil, mapAnalyticsErr(err)
	}
	out := &searchv1.GetSearchHistoryResponse{Items: make([]*searchv1.SearchEvent, 0, len(evs)), Total: total}
	for _, e := range evs {
		dbs := e.Databases
		if dbs == nil {
			dbs = []string{}
		}
		out.Items = append(out.Items, &searchv1.SearchEvent{Id: e.ID, Query: e.Query, SearchMode: e.Mode, Databases: dbs,
			ResultCount: int32(min(e.TotalCount, math.MaxInt32)), ExecutionTime: wire.Millis(e.ExecutionTime),
			CreatedAt: timestamppb.New(e.CreatedAt)})
	}
	return out, nil
}

// GetInsights turns the caller's analytics into insights.
func (a *Analytics) GetInsights(ctx context.Context, req *searchv1.GetInsightsRequest) (*searchv1.GetInsightsResponse, error) {
	p, err := caller(ctx, identity.PermAnalytics)
	if err != nil {
		return nil, err
	}
	in, err := a.svc.Insights(ctx, p, rangeOf(req))
	if err != nil {
		return nil, mapAnalyticsErr(err)
	}
	items, err := insightProtos(in)
	if err != nil {
		return nil, err
	}
	return &searchv1.GetInsightsResponse{Insights: items, Source: in.Source}, nil
}

// GetDashboard gathers the caller's reports.
func (a *Analytics) GetDashboard(ctx context.Context, req *searchv1.GetDashboardRequest) (*searchv1.GetDashboardResponse, error) {
	p, err := caller(ctx, identity.PermAnalytics)
	if err != nil {
		return nil, err
	}
	d, err := a.svc.Dashboard(ctx, p, rangeOf(req))
	if err != nil {
		return nil, mapAnalyticsErr(err)
	}
	items, err := insightProtos(d.Insights)
	if err != nil {
		return nil, err
	}
	return &searchv1.GetDashboardResponse{
		Trends: trendProto(d.Trend), Performance: performanceProto(d.Performance), PopularQueries: popularProtos(d.Popular),
		Insights: items,
		Summary: &searchv1.DashboardSummary{Period: d.Period, TotalQueries: d.Performance.Summary.Total,
			AverageResponseTime: finite(d.Performance.Summary.AvgMillis), TopQuery: d.TopQuery},
	}, nil
}

// GetZeroResultQueries lists the caller's queries that found nothing.
func (a *Analytics) GetZeroResultQueries(ctx context.Context, req *searchv1.GetZeroResultQueriesRequest) (*searchv1.GetZeroResultQueriesResponse, error) {
	p, err := caller(ctx, identity.PermAnalytics)
	if err != nil {
		return nil, err
	}
	qs, err := a.svc.ZeroResults(ctx, p, analytics.PopularRequest{RangeRequest: rangeOf(req), Limit: int(req.GetLimit())})
	if err != nil {
		return nil, mapAnalyticsErr(err)
	}
	out := &searchv1.GetZeroResultQueriesResponse{Queries: make([]*searchv1.ZeroResultQuery, 0, len(qs))}
	for _, q := range qs {
		out.Queries = append(out.Queries, &searchv1.ZeroResultQuery{Query: q.Query, Frequency: q.Count,
			LastUsed: timestamppb.New(q.LastUsed), SearchModes: q.Modes})
	}
	return out, nil
}

// GetClickThrough reports click-through by position.
func (a *Analytics) GetClickThrough(ctx context.Context, req *searchv1.GetClickThroughRequest) (*searchv1.GetClickThroughResponse, error) {
	p, err := caller(ctx, identity.PermAnalytics)
	if err != nil {
		return nil, err
	}
	ct, err := a.svc.ClickThrough(ctx, p, analytics.ClickThroughRequest{RangeRequest: rangeOf(req), MaxPosition: int(req.GetMaxPosition())})
	if err != nil {
		return nil, mapAnalyticsErr(err)
	}
	out := &searchv1.GetClickThroughResponse{Positions: make([]*searchv1.PositionClicks, 0, len(ct.Positions)),
		SearchesWithResults: ct.SearchesWithResults, SearchesWithClicks: ct.SearchesWithClicks, ClickThroughRate: finite(ct.Rate)}
	for _, pc := range ct.Positions {
		out.Positions = append(out.Positions, &searchv1.PositionClicks{Position: int32(pc.Position), Impressions: pc.Impressions,
			Clicks: pc.Clicks, ClickThroughRate: finite(pc.Rate)})
	}
	return out, nil
}

// GetSystemOverview reports system-wide usage (admin role).
func (a *Analytics) GetSystemOverview(ctx context.Context, req *searchv1.GetSystemOverviewRequest) (*searchv1.GetSystemOverviewResponse, error) {
	p, err := caller(ctx, identity.PermAdmin)
	if err != nil {
		return nil, err
	}
	o, err := a.svc.SystemOverview(ctx, p, rangeOf(req))
	if err != nil {
		return nil, mapAnalyticsErr(err)
	}
	out := &searchv1.GetSystemOverviewResponse{Period: o.Period, QueryVolume: make([]*searchv1.VolumePoint, 0, len(o.Volume)),
		Summary: &searchv1.SystemSummary{ActiveUsers: o.Summary.Users, TotalQueries: o.Summary.Total,
			AvgResponseTime: finite(o.Summary.AvgMillis), AvgResults: finite(o.Summary.AvgResults)}}
	for _, v := range o.Volume {
		out.QueryVolume = append(out.QueryVolume, &searchv1.VolumePoint{Date: v.Day.Format("2006-01-02"), QueryCount: v.Count, ActiveUsers: v.Users})
	}
	return out, nil
}

// GetUserActivity lists users by searches (admin role).
func (a *Analytics) GetUserActivity(ctx context.Context, req *searchv1.GetUserActivityRequest) (*searchv1.GetUserActivityResponse, error) {
	p, err := caller(ctx, identity.PermAdmin)
	if err != nil {
		return nil, err
	}
	us, err := a.svc.UserActivity(ctx, p, analytics.PageRequest{RangeRequest: rangeOf(req), Limit: int(req.GetLimit()), Offset: int(req.GetOffset())})
	if err != nil {
		return nil, mapAnalyticsErr(err)
	}
	out := &searchv1.GetUserActivityResponse{Users: make([]*searchv1.UserActivity, 0, len(us))}
	for _, u := range us {
		out.Users = append(out.Users, &searchv1.UserActivity{Id: u.UserID, Email: u.Email, Name: u.Name, Role: u.Role,
			QueryCount: u.Count, AvgResponseTime: finite(u.AvgMillis), LastQuery: timestamppb.New(u.Last)})
	}
	return out, nil
}

// GetSystemPerformance reports system-wide response times (admin role).
func (a *Analytics) GetSystemPerformance(ctx context.Context, req *searchv1.GetSystemPerformanceRequest) (*searchv1.GetSystemPerformanceResponse, error) {
	p, err := caller(ctx, identity.PermAdmin)
	if err != nil {
		return nil, err
	}
	sp, err := a.svc.SystemPerformance(ctx, p, rangeOf(req))
	if err != nil {
		return nil, mapAnalyticsErr(err)
	}
	out := &searchv1.GetSystemPerformanceResponse{TimeSeriesData: dayProtos(sp.Days), SlowestQueries: make([]*searchv1.SlowQuery, 0, len(sp.Slowest)),
		Summary: &searchv1.SystemPerformanceSummary{TotalQueries: sp.Total, AverageResponseTime: finite(sp.Avg), PeakResponseTime: finite(sp.Peak)}}
	for _, q := range sp.Slowest {
		out.SlowestQueries = append(out.SlowestQueries, &searchv1.SlowQuery{Query: q.Query, ExecutionTime: q.Millis,
			ResultCount: q.TotalCount, CreatedAt: timestamppb.New(q.CreatedAt), UserId: q.UserID})
	}
	return out, nil
}
