package analytics_test

import (
	"context"
	"testing"
	"time"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/services/search/internal/analytics"
	"github.com/altus4/altus/services/search/internal/events/eventstest"
)

// BenchmarkRoutes runs every analytics route over 100,000 events of ten
// users spread over a year (seeded once): one user's week and year, and
// the admin routes system-wide.
func BenchmarkRoutes(b *testing.B) {
	st, db := openStore(b)
	ctx := context.Background()
	seedNow := time.Now().UTC()
	users := eventstest.Users(10)
	if _, err := eventstest.Seed(ctx, db, st, users, 100000, seedNow); err != nil {
		b.Fatal(err)
	}
	svc := analytics.New(analytics.Options{Store: st, Log: quiet, Now: func() time.Time { return seedNow }})
	user := identity.Principal{UserID: users[3], Role: identity.RoleUser}
	adm := identity.Principal{UserID: users[0], Role: identity.RoleAdmin}
	routes := map[string]func(r analytics.RangeRequest) error{
		"search-trends": func(r analytics.RangeRequest) error { _, err := svc.SearchTrends(ctx, user, r); return err },
		"performance":   func(r analytics.RangeRequest) error { _, err := svc.Performance(ctx, user, r); return err },
		"popular-queries": func(r analytics.RangeRequest) error {
			_, err := svc.Popular(ctx, user, analytics.PopularRequest{RangeRequest: r})
			return err
		},
		"search-history": func(r analytics.RangeRequest) error {
			_, _, err := svc.History(ctx, user, analytics.PageRequest{RangeRequest: r})
			return err
		},
		"insights":  func(r analytics.RangeRequest) error { _, err := svc.Insights(ctx, user, r); return err },
		"dashboard": func(r analytics.RangeRequest) error { _, err := svc.Dashboard(ctx, user, r); return err },
		"zero-result-queries": func(r analytics.RangeRequest) error {
			_, err := svc.ZeroResults(ctx, user, analytics.PopularRequest{RangeRequest: r})
			return err
		},
		"click-through": func(r analytics.RangeRequest) error {
			_, err := svc.ClickThrough(ctx, user, analytics.ClickThroughRequest{RangeRequest: r})
			return err
		},
		"admin-system-overview": func(r analytics.RangeRequest) error { _, err := svc.SystemOverview(ctx, adm, r); return err },
		"admin-user-activity": func(r analytics.RangeRequest) error {
			_, err := svc.UserActivity(ctx, adm, analytics.PageRequest{RangeRequest: r})
			return err
		},
		"admin-performance-metrics": func(r analytics.RangeRequest) error { _, err := svc.SystemPerformance(ctx, adm, r); return err },
	}
	for _, name := range []string{"search-trends", "performance", "popular-queries", "search-history", "insights", "dashboard",
		"zero-result-queries", "click-through", "admin-system-overview", "admin-user-activity", "admin-performance-metrics"} {
		for _, period := range []string{"week", "year"} {
			b.Run(name+"/"+period, func(b *testing.B) {
				for b.Loop() {
					if err := routes[name](analytics.RangeRequest{Period: period}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
