package enhance

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// InsightsRequest carries one user's search analytics over a period.
type InsightsRequest struct {
	Period                string
	TotalSearches         int64
	PreviousTotalSearches int64
	AvgTimeMs             float64
	ZeroResultSearches    int64
	CacheHitRatio         float64
	Queries               []QueryStat
	Sources               []SourceStat
	ClickThroughRate      float64
}

// QueryStat is one query's numbers over the period.
type QueryStat struct {
	Query                string
	Count, PreviousCount int64
	AvgTimeMs            float64
	AvgResults           float64
	ZeroResultCount      int64
}

// SourceStat is one source's numbers over the period.
type SourceStat struct {
	ID, Name             string
	Searches             int64
	AvgTimeMs, P95TimeMs float64
	Failures             int64
}

// Insight types of the local rules.
const (
	InsightZeroResults     = "zero_results"
	InsightSlowSource      = "slow_source"
	InsightRisingQuery     = "rising_query"
	InsightFallingVolume   = "falling_volume"
	InsightLowClickThrough = "low_click_through"
	InsightCache           = "cache"
	InsightPerformance     = "performance"
	InsightUsage           = "usage"
)

// Insight is one finding with the numbers behind it.
type Insight struct {
	Type        string
	Confidence  float64
	Description string
	Actionable  bool
	// Data holds numbers and strings (a JSON object).
	Data map[string]any
}

// Insights are findings, most useful first.
type Insights struct {
	Insights []Insight
	Origin   Origin
}

type insightsOutput struct {
	Insights []struct {
		Type        string  `json:"type"`
		Confidence  float64 `json:"confidence"`
		Description string  `json:"description"`
		Actionable  bool    `json:"actionable"`
		Data        []struct {
			Name  string  `json:"name"`
			Value float64 `json:"value"`
		} `json:"data"`
	} `json:"insights"`
}

var insightsSchema = object(map[string]any{
	"insights": array(object(map[string]any{
		"type":        stringSchema(),
		"confidence":  numberSchema(),
		"description": stringSchema(),
		"actionable":  boolSchema(),
		"data": array(object(map[string]any{
			"name":  stringSchema(),
			"value": numberSchema(),
		})),
	})),
})

// GenerateInsights turns search analytics into actionable insights.
func (s *Service) GenerateInsights(ctx context.Context, r InsightsRequest) (*Insights, error) {
	start := time.Now()
	if err := r.validate(); err != nil {
		return nil, err
	}
	var out insightsOutput
	var ins []Insight
	reason := s.complete(ctx, CapInsights, func() Completion {
		return Completion{
			Name:   "insights",
			Schema: insightsSchema,
			System: "You analyse a user's search analytics. Give the most useful findings first, each with a lower-case type " +
				"(zero_results, slow_source, rising_query, falling_volume, low_click_through, cache, performance, usage or your own), " +
				"a confidence between 0 and 1, a description a person can act on, whether it is actionable, and the numbers behind it.",
			User: mustJSON(r),
		}
	}, &out, func() error {
		for _, o := range out.Insights {
			if strings.TrimSpace(o.Type) == "" || strings.TrimSpace(o.Description) == "" || !unit(o.Confidence) {
				return malformed("insight %q confidence %v", o.Type, o.Confidence)
			}
			data := map[string]any{}
			for _, d := range o.Data {
				if d.Name == "" || math.IsNaN(d.Value) || math.IsInf(d.Value, 0) {
					return malformed("insight datum %q", d.Name)
				}
				data[d.Name] = d.Value
			}
			ins = append(ins, Insight{Type: strings.ToLower(strings.TrimSpace(o.Type)), Confidence: o.Confidence, Description: strings.TrimSpace(o.Description), Actionable: o.Actionable, Data: data})
		}
		return nil
	})
	if reason != "" {
		ins = ruleInsights(r, s.o.SlowSource)
	}
	return &Insights{Insights: ins, Origin: s.origin(CapInsights, reason, start)}, nil
}

// sampleConfidence grows with the number of observations: 20 give 0.5,
// 180 give 0.9.
func sampleConfidence(n int64) float64 {
	if n <= 0 {
		return 0
	}
	return round3(float64(n) / float64(n+20))
}

func pct(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }

// ruleInsights is the local fallback: each rule looks at one number
// against a threshold and says what to do about it.
func ruleInsights(r InsightsRequest, slow time.Duration) []Insight {
	var out []Insight
	period := r.Period
	if period == "" {
		period = "period"
	}
	if r.TotalSearches > 0 && r.ZeroResultSearches > 0 {
		ratio := float64(r.ZeroResultSearches) / float64(r.TotalSearches)
		var worst []string
		for _, q := range r.Queries {
			if q.ZeroResultCount > 0 && len(worst) < 5 {
				worst = append(worst, fmt.Sprintf("%q (%d)", q.Query, q.ZeroResultCount))
			}
		}
		if ratio >= 0.05 || len(worst) > 0 {
			d := fmt.Sprintf("%s of searches (%d of %d) found nothing.", pct(ratio), r.ZeroResultSearches, r.TotalSearches)
			if len(worst) > 0 {
				d += " Most often: " + strings.Join(worst, ", ") + ". Index the columns these words are in, add synonyms, or check their spelling against your data."
			} else {
				d += " Check that the columns people search are FULLTEXT indexed."
			}
			out = append(out, Insight{Type: InsightZeroResults, Confidence: sampleConfidence(r.TotalSearches), Description: d, Actionable: true,
				Data: map[string]any{"zero_result_searches": r.ZeroResultSearches, "total_searches": r.TotalSearches, "ratio": round3(ratio)}})
		}
	}
	slowMs := float64(slow.Milliseconds())
	for _, src := range r.Sources {
		name := cmp.Or(src.Name, src.ID)
		if src.P95TimeMs > slowMs {
			out = append(out, Insight{Type: InsightSlowSource, Confidence: sampleConfidence(src.Searches),
				Description: fmt.Sprintf("Database %q answers slowly: p95 %.0f ms (over %.0f ms) across %d searches. Add a read replica, check its FULLTEXT indexes, or narrow the tables searched.", name, src.P95TimeMs, slowMs, src.Searches),
				Actionable:  true,
				Data:        map[string]any{"source_id": src.ID, "p95_time_ms": src.P95TimeMs, "avg_time_ms": src.AvgTimeMs, "threshold_ms": slowMs, "searches": src.Searches}})
		}
		if src.Searches > 0 && src.Failures > 0 {
			rate := float64(src.Failures) / float64(src.Searches)
			if rate >= 0.05 {
				out = append(out, Insight{Type: InsightPerformance, Confidence: sampleConfidence(src.Searches),
					Description: fmt.Sprintf("Database %q failed or timed out in %s of searches (%d of %d); its results were missing. Check its availability and credentials.", name, pct(rate), src.Failures, src.Searches),
					Actionable:  true,
					Data:        map[string]any{"source_id": src.ID, "failures": src.Failures, "searches": src.Searches, "failure_rate": round3(rate)}})
			}
		}
	}
	for _, q := range r.Queries {
		if q.Count >= 5 && q.Count >= 2*q.PreviousCount {
			growth := "new this " + period
			if q.PreviousCount > 0 {
				growth = fmt.Sprintf("up %.0f%%", 100*float64(q.Count-q.PreviousCount)/float64(q.PreviousCount))
			}
			out = append(out, Insight{Type: InsightRisingQuery, Confidence: sampleConfidence(q.Count),
				Description: fmt.Sprintf("%q is rising: %d searches, %s (%d before). Make sure its best results are easy to find.", q.Query, q.Count, growth, q.PreviousCount),
				Actionable:  q.AvgResults < 1,
				Data:        map[string]any{"query": q.Query, "count": q.Count, "previous_count": q.PreviousCount, "avg_results": q.AvgResults}})
		}
	}
	if r.PreviousTotalSearches >= 20 && float64(r.TotalSearches) < 0.7*float64(r.PreviousTotalSearches) {
		drop := 1 - float64(r.TotalSearches)/float64(r.PreviousTotalSearches)
		out = append(out, Insight{Type: InsightFallingVolume, Confidence: sampleConfidence(r.PreviousTotalSearches),
			Description: fmt.Sprintf("Searches fell %s: %d this %s against %d before. Check that clients still reach search and that results are useful.", pct(drop), r.TotalSearches, period, r.PreviousTotalSearches),
			Actionable:  true,
			Data:        map[string]any{"total_searches": r.TotalSearches, "previous_total_searches": r.PreviousTotalSearches, "drop": round3(drop)}})
	}
	withResults := r.TotalSearches - r.ZeroResultSearches
	if withResults >= 20 && r.ClickThroughRate < 0.1 {
		out = append(out, Insight{Type: InsightLowClickThrough, Confidence: sampleConfidence(withResults),
			Description: fmt.Sprintf("Only %s of searches with results led to a click. Results may rank poorly: try boolean or semantic mode, or show better snippets.", pct(r.ClickThroughRate)),
			Actionable:  true,
			Data:        map[string]any{"click_through_rate": r.ClickThroughRate, "searches_with_results": withResults}})
	}
	if r.TotalSearches >= 50 && r.CacheHitRatio < 0.2 {
		out = append(out, Insight{Type: InsightCache, Confidence: sampleConfidence(r.TotalSearches),
			Description: fmt.Sprintf("Only %s of searches were served from the cache. Repeated searches are rare or the cache TTL is short; a longer ALTUS_SEARCH_CACHE_TTL would spare the databases.", pct(r.CacheHitRatio)),
			Actionable:  true,
			Data:        map[string]any{"cache_hit_ratio": r.CacheHitRatio, "total_searches": r.TotalSearches}})
	}
	if r.TotalSearches > 0 && r.AvgTimeMs > 500 {
		out = append(out, Insight{Type: InsightPerformance, Confidence: sampleConfidence(r.TotalSearches),
			Description: fmt.Sprintf("Searches take %.0f ms on average (over 500 ms). Look at the slowest databases and the number of tables searched at once.", r.AvgTimeMs),
			Actionable:  true,
			Data:        map[string]any{"avg_time_ms": r.AvgTimeMs}})
	}
	if r.TotalSearches > 0 || r.PreviousTotalSearches > 0 {
		d := fmt.Sprintf("%d searches this %s", r.TotalSearches, period)
		if r.PreviousTotalSearches > 0 {
			d += fmt.Sprintf(" (%+.0f%% against %d before)", 100*(float64(r.TotalSearches)/float64(r.PreviousTotalSearches)-1), r.PreviousTotalSearches)
		}
		d += fmt.Sprintf(", %.0f ms on average.", r.AvgTimeMs)
		out = append(out, Insight{Type: InsightUsage, Confidence: 1, Description: d, Actionable: false,
			Data: map[string]any{"total_searches": r.TotalSearches, "previous_total_searches": r.PreviousTotalSearches, "avg_time_ms": r.AvgTimeMs}})
	}
	// Actionable first, the usage summary last, more confident first.
	slices.SortStableFunc(out, func(a, b Insight) int {
		if (a.Type == InsightUsage) != (b.Type == InsightUsage) {
			if a.Type == InsightUsage {
				return 1
			}
			return -1
		}
		if a.Actionable != b.Actionable {
			if a.Actionable {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.Confidence, a.Confidence)
	})
	return out
}
