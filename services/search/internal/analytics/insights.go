package analytics

import (
	"context"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/services/search/internal/events"
)

// QueryStat is one frequent query with its count in the previous period.
type QueryStat struct {
	Query         string
	Count         int64
	PreviousCount int64
	AvgMillis     float64
	AvgResults    float64
	ZeroResults   int64
}

// SourceStat is one source's timings over the range.
type SourceStat struct {
	ID        string
	Searches  int64
	AvgMillis float64
	P95Millis float64
	Failures  int64
}

// InsightsInput is what the insights are drawn from.
type InsightsInput struct {
	Period               string
	Total, PreviousTotal int64
	AvgMillis            float64
	ZeroResults          int64
	CacheHitRatio        float64
	Queries              []QueryStat
	Sources              []SourceStat
	ClickThroughRate     float64
}

// Insight is one finding.
type Insight struct {
	Type        string
	Confidence  float64
	Description string
	Actionable  bool
	Data        map[string]any
}

// Insights are the findings and which path produced them: "provider" or
// "fallback" (the enhance service's), or SourceUnavailable.
type Insights struct {
	Items  []Insight
	Source string
}

// SourceUnavailable is the source of the insights when the generator
// failed or is not configured: the list is then empty.
const SourceUnavailable = "unavailable"

// InsightsGenerator turns numbers into insights (the enhance service).
type InsightsGenerator interface {
	GenerateInsights(ctx context.Context, in InsightsInput) (Insights, error)
}

// InsightQueries is how many frequent queries the insights are given.
const InsightQueries = 10

// previousLookup is how many of the previous period's queries are read to
// find the previous counts of the current top queries.
const previousLookup = 1000

// Insights turns the caller's analytics of the range into insights. When
// the generator fails or is not configured the answer is an empty list
// with source "unavailable", never an error.
func (s *Service) Insights(ctx context.Context, p identity.Principal, r RangeRequest) (Insights, error) {
	w, err := s.window(r)
	if err != nil {
		return Insights{}, err
	}
	return s.insights(ctx, p.UserID, w)
}

func (s *Service) insights(ctx context.Context, user string, w Window) (Insights, error) {
	sum, err := s.summary(ctx, user, w.Range)
	if err != nil {
		return Insights{}, err
	}
	top, err := s.o.Store.UserPopular(ctx, user, w.Range, InsightQueries)
	if err != nil {
		return Insights{}, err
	}
	in, err := s.insightsInputWith(ctx, user, w, sum, top)
	if err != nil {
		return Insights{}, err
	}
	return s.generate(ctx, in), nil
}

// insightsInputWith computes what the insights of the caller's range are
// drawn from, given its summary and most frequent queries.
func (s *Service) insightsInputWith(ctx context.Context, user string, w Window, sum Summary, top []events.QueryStats) (InsightsInput, error) {
	prev, err := s.o.Store.UserSummary(ctx, user, w.Previous())
	if err != nil {
		return InsightsInput{}, err
	}
	in := InsightsInput{Period: w.Period, Total: sum.Total, PreviousTotal: prev.Total, AvgMillis: sum.AvgMillis,
		ZeroResults: sum.ZeroResults, CacheHitRatio: sum.CacheHitRatio, Queries: []QueryStat{}, Sources: []SourceStat{}}
	counts := map[string]int64{}
	if len(top) > 0 && prev.Total > 0 {
		before, err := s.o.Store.UserPopular(ctx, user, w.Previous(), previousLookup)
		if err != nil {
			return InsightsInput{}, err
		}
		for _, q := range before {
			counts[q.Query] = q.Count
		}
	}
	for _, q := range top {
		in.Queries = append(in.Queries, QueryStat{Query: q.Query, Count: q.Count, PreviousCount: counts[q.Query],
			AvgMillis: q.AvgMillis, AvgResults: q.AvgResults, ZeroResults: q.Zero})
	}
	timings, err := s.o.Store.UserSourceTimings(ctx, user, w.Range)
	if err != nil {
		return InsightsInput{}, err
	}
	in.Sources = sourceStats(timings)
	ct, err := s.clickThrough(ctx, user, w.Range, 1)
	if err != nil {
		return InsightsInput{}, err
	}
	in.ClickThroughRate = ct.Rate
	return in, nil
}

// generate asks the generator; when it fails or is not configured the
// answer is an empty list with source "unavailable", never an error.
func (s *Service) generate(ctx context.Context, in InsightsInput) Insights {
	unavailable := Insights{Items: []Insight{}, Source: SourceUnavailable}
	if s.o.Insights == nil {
		return unavailable
	}
	ictx, cancel := context.WithTimeout(ctx, s.o.InsightsTimeout)
	defer cancel()
	out, err := s.o.Insights.GenerateInsights(ictx, in)
	if err != nil {
		s.o.Log.WarnContext(ctx, "insights unavailable", "error", err)
		return unavailable
	}
	if out.Items == nil {
		out.Items = []Insight{}
	}
	return out
}
