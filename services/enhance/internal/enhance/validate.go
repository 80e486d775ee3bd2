package enhance

import (
	"fmt"
	"strings"

	"github.com/altus4/altus/pkg/localai"
	"github.com/altus4/altus/pkg/validate"
)

// Request bounds: larger requests are refused with field details. Those
// of documents and queries are the local method's (localai), whose
// requests the search service checks as this service does.
const (
	MaxQueryChars     = localai.MaxQueryChars
	MaxContextEntries = 100
	MaxDocuments      = localai.MaxDocuments
	MaxFields         = localai.MaxFields
	MaxFieldBytes     = localai.MaxFieldBytes
	MaxIDChars        = localai.MaxIDChars
	MaxTexts          = 256
	MaxTextBytes      = 32 << 10
	MaxVocabulary     = 10000
	MaxStats          = 1000
	// MaxEmbedChars is the model input bound each text is cut to.
	MaxEmbedChars = 8000
)

// Periods of GenerateInsights.
var Periods = []string{"day", "week", "month", "3months", "6months", "year"}

func (r OptimizeRequest) validate() error {
	var c validate.Collector
	localai.CheckQuery(&c, r.Query, true)
	localai.CheckRange(&c, "max_rewrites", r.MaxRewrites, 10)
	c.Check(len(r.Context) <= MaxContextEntries, "context", "TOO_MANY", "at most %d context entries", MaxContextEntries)
	return c.Err()
}

func (r SummarizeRequest) validate() error {
	var c validate.Collector
	localai.CheckDocuments(&c, r.Documents)
	localai.CheckQuery(&c, r.Query, false)
	localai.CheckRange(&c, "max_chars", r.MaxChars, 2000)
	return c.Err()
}

func (r SuggestRequest) validate() error {
	var c validate.Collector
	localai.CheckQuery(&c, r.Query, true)
	localai.CheckRange(&c, "limit", r.Limit, 20)
	c.Check(len(r.Vocabulary) <= MaxVocabulary, "vocabulary", "TOO_MANY", "at most %d vocabulary terms; got %d", MaxVocabulary, len(r.Vocabulary))
	return c.Err()
}

func (r EmbedRequest) validate() error {
	var c validate.Collector
	if len(r.Texts) == 0 {
		c.Add("texts", "REQUIRED", "texts must not be empty")
	} else if c.Check(len(r.Texts) <= MaxTexts, "texts", "TOO_MANY", "at most %d texts; got %d", MaxTexts, len(r.Texts)) {
		for i, t := range r.Texts {
			f := fmt.Sprintf("texts[%d]", i)
			if strings.TrimSpace(t) == "" {
				c.Add(f, "REQUIRED", "%s must not be empty", f)
			} else {
				c.Check(len(t) <= MaxTextBytes, f, "TOO_LONG", "%s must be at most %d bytes", f, MaxTextBytes)
			}
		}
	}
	return c.Err()
}

func (r InsightsRequest) validate() error {
	var c validate.Collector
	if r.Period != "" {
		ok := false
		for _, p := range Periods {
			ok = ok || p == r.Period
		}
		c.Check(ok, "period", "INVALID", "period must be one of %s; got %q", strings.Join(Periods, ", "), r.Period)
	}
	c.Check(r.TotalSearches >= 0, "total_searches", "OUT_OF_RANGE", "total_searches must not be negative")
	c.Check(r.PreviousTotalSearches >= 0, "previous_total_searches", "OUT_OF_RANGE", "previous_total_searches must not be negative")
	c.Check(r.ZeroResultSearches >= 0, "zero_result_searches", "OUT_OF_RANGE", "zero_result_searches must not be negative")
	c.Check(r.AvgTimeMs >= 0, "avg_time_ms", "OUT_OF_RANGE", "avg_time_ms must not be negative")
	c.Check(unit(r.CacheHitRatio), "cache_hit_ratio", "OUT_OF_RANGE", "cache_hit_ratio must be between 0 and 1")
	c.Check(unit(r.ClickThroughRate), "click_through_rate", "OUT_OF_RANGE", "click_through_rate must be between 0 and 1")
	c.Check(len(r.Queries) <= MaxStats, "queries", "TOO_MANY", "at most %d queries", MaxStats)
	c.Check(len(r.Sources) <= MaxStats, "sources", "TOO_MANY", "at most %d sources", MaxStats)
	for i, q := range r.Queries {
		c.Check(q.Count >= 0 && q.PreviousCount >= 0 && q.ZeroResultCount >= 0, fmt.Sprintf("queries[%d]", i), "OUT_OF_RANGE", "queries[%d] counts must not be negative", i)
	}
	for i, s := range r.Sources {
		c.Check(s.Searches >= 0 && s.Failures >= 0 && s.P95TimeMs >= 0 && s.AvgTimeMs >= 0, fmt.Sprintf("sources[%d]", i), "OUT_OF_RANGE", "sources[%d] numbers must not be negative", i)
	}
	return c.Err()
}
