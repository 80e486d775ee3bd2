package search

import (
	"context"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/search/internal/events"
)

// HistoryLimit bounds a history page (default DefaultLimit).
const HistoryLimit = 100

// History returns the caller's recorded searches, newest first.
func (s *Service) History(ctx context.Context, p identity.Principal, limit, offset int) ([]events.Event, error) {
	var c validate.Collector
	if limit == 0 {
		limit = DefaultLimit
	}
	c.Check(limit >= 1 && limit <= HistoryLimit, "limit", codeOutOfRange, "limit must be between 1 and %d (default %d); got %d.", HistoryLimit, DefaultLimit, limit)
	c.Check(offset >= 0, "offset", codeOutOfRange, "offset must be zero or more; got %d.", offset)
	if err := c.Err(); err != nil {
		return nil, err
	}
	if s.o.Store == nil {
		return nil, nil
	}
	return s.o.Store.History(ctx, p.UserID, limit, offset)
}

// Trends returns the caller's searching per day of the last week and per
// week of the last four, newest first.
func (s *Service) Trends(ctx context.Context, p identity.Principal) ([]Trend, error) {
	if s.o.Store == nil {
		return nil, nil
	}
	ts, err := s.o.Store.Trends(ctx, p.UserID, s.o.Now())
	if err != nil {
		return nil, err
	}
	out := make([]Trend, len(ts))
	for i, t := range ts {
		out[i] = Trend{Period: t.Period, TopQueries: t.TopQueries, Volume: t.Volume, AvgResponseTime: t.AvgResponseTime}
	}
	return out, nil
}
