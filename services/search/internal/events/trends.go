package events

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Trend is the searching of one period: a UTC day ("2026-01-31") or an ISO
// week ("2026-W05").
type Trend struct {
	Period string
	// Kind is "day" or "week".
	Kind string
	// TopQueries are the most searched query texts, most searched first.
	TopQueries []string
	// Volume is the number of searches.
	Volume int
	// AvgResponseTime is the mean execution time (0 without searches).
	AvgResponseTime time.Duration
}

// Trend windows: one entry per day of the last week, one per week of the last four.
const (
	TrendDays  = 7
	TrendWeeks = 4
	// TopQueriesPerPeriod is how many query texts a Trend lists.
	TopQueriesPerPeriod = 5
)

// Trends returns the user's trends as of now: the last seven UTC days
// (today first), then the last four ISO weeks (this week first). Periods
// without searches are listed with zero volume so that series have no gaps.
func (s *Store) Trends(ctx context.Context, userID string, now time.Time) ([]Trend, error) {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	thisWeek := weekStart(today)
	since := thisWeek.AddDate(0, 0, -7*(TrendWeeks-1))
	if d := today.AddDate(0, 0, -(TrendDays - 1)); d.Before(since) {
		since = d
	}
	rows, err := s.DayQueries(ctx, userID, since)
	if err != nil {
		return nil, err
	}
	return BuildTrends(rows, today), nil
}

// BuildTrends aggregates per-day query counts into the day and week trends
// ending on today (a UTC midnight).
func BuildTrends(rows []DayQuery, today time.Time) []Trend {
	type bucket struct {
		volume  int
		total   time.Duration
		queries map[string]int
	}
	newBucket := func() *bucket { return &bucket{queries: map[string]int{}} }
	days := make([]*bucket, TrendDays)
	weeks := make([]*bucket, TrendWeeks)
	for i := range days {
		days[i] = newBucket()
	}
	for i := range weeks {
		weeks[i] = newBucket()
	}
	thisWeek := weekStart(today)
	add := func(b *bucket, r DayQuery) {
		b.volume += r.Count
		b.total += r.TotalTime
		b.queries[r.Query] += r.Count
	}
	for _, r := range rows {
		day := time.Date(r.Day.Year(), r.Day.Month(), r.Day.Day(), 0, 0, 0, 0, time.UTC)
		if i := int(today.Sub(day).Hours() / 24); i >= 0 && i < TrendDays {
			add(days[i], r)
		}
		if i := int(thisWeek.Sub(weekStart(day)).Hours() / (24 * 7)); i >= 0 && i < TrendWeeks {
			add(weeks[i], r)
		}
	}
	out := make([]Trend, 0, TrendDays+TrendWeeks)
	finish := func(period, kind string, b *bucket) Trend {
		t := Trend{Period: period, Kind: kind, Volume: b.volume, TopQueries: topQueries(b.queries, TopQueriesPerPeriod)}
		if b.volume > 0 {
			t.AvgResponseTime = b.total / time.Duration(b.volume)
		}
		return t
	}
	for i, b := range days {
		out = append(out, finish(today.AddDate(0, 0, -i).Format(time.DateOnly), "day", b))
	}
	for i, b := range weeks {
		y, w := thisWeek.AddDate(0, 0, -7*i).ISOWeek()
		out = append(out, finish(isoWeek(y, w), "week", b))
	}
	return out
}

// weekStart returns the Monday (UTC midnight) of day's ISO week.
func weekStart(day time.Time) time.Time {
	offset := (int(day.Weekday()) + 6) % 7 // Monday = 0
	return day.AddDate(0, 0, -offset)
}

func isoWeek(year, week int) string { return fmt.Sprintf("%04d-W%02d", year, week) }

// topQueries returns the n most counted texts (ties alphabetically).
func topQueries(counts map[string]int, n int) []string {
	qs := make([]string, 0, len(counts))
	for q := range counts {
		qs = append(qs, q)
	}
	sort.Slice(qs, func(i, j int) bool {
		if counts[qs[i]] != counts[qs[j]] {
			return counts[qs[i]] > counts[qs[j]]
		}
		return qs[i] < qs[j]
	})
	if len(qs) > n {
		qs = qs[:n]
	}
	return qs
}
