package grpcapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/restjson"
	"github.com/altus4/altus/services/search/internal/grpcapi"
	"github.com/altus4/altus/services/search/internal/search"
	"github.com/altus4/altus/services/search/internal/wire"
)

func TestEverySearchAnswerCarriesItsOwnEventIdAsSearchIdOnEveryPath(t *testing.T) {
	cache := &memCache{values: map[string][]byte{}, stored: make(chan string, 10)}
	h := newHarness(t, func(o *search.Options) { o.Cache = cache; o.Codec = wire.Codec{} })
	ctx := h.as(searchKey)
	rest := metadata.AppendToOutgoingContext(ctx, grpcapi.RenderKey, "json")
	req := &searchv1.SearchRequest{Query: "pool", Limit: 2}
	var ids []string
	for _, step := range []struct {
		name     string
		ctx      context.Context
		rendered bool
		cached   bool
	}{
		{"fresh pre-rendered", rest, true, false},
		{"cached pre-rendered", rest, true, true},
		{"cached typed", ctx, false, true},
		{"fresh typed", metadata.AppendToOutgoingContext(ctx, grpcapi.CacheControlKey, "no-cache"), false, false},
	} {
		resp, err := h.client.Search(step.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if step.name == "fresh pre-rendered" {
			<-cache.stored
		}
		if got := len(resp.GetRenderedJson()) > 0; got != step.rendered || resp.GetCached() != step.cached {
			t.Fatalf("%s: rendered %v cached %v", step.name, got, resp.GetCached())
		}
		if strings.Contains(string(resp.GetRenderedJson()), "searchId") {
			t.Errorf("%s: the rendered bytes hold a searchId", step.name)
		}
		// The typed message as the edge renders it carries one searchId.
		if !step.rendered {
			b, err := restjson.Render(resp)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m["searchId"] != resp.GetSearchId() {
				t.Errorf("%s: rendered searchId %v, message %q", step.name, m["searchId"], resp.GetSearchId())
			}
		}
		ids = append(ids, resp.GetSearchId())
	}
	evs, err := h.store.History(context.Background(), "u1", 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{}
	for _, e := range evs {
		recorded[e.ID] = true
	}
	seen := map[string]bool{}
	for i, id := range ids {
		if id == "" || seen[id] || !recorded[id] {
			t.Errorf("answer %d: searchId %q (empty, repeated or not an event id; events %v)", i, id, recorded)
		}
		seen[id] = true
	}
}

func TestAnalyticsCallsNeedACallerAndTheAdminReportsTheAdminRole(t *testing.T) {
	h := newHarness(t)
	admin := identity.Principal{UserID: "a1", Role: identity.RoleAdmin}
	type call func(ctx context.Context) error
	user := map[string]call{
		"GetPerformance": func(ctx context.Context) error {
			_, err := h.analytics.GetPerformance(ctx, &searchv1.GetPerformanceRequest{})
			return err
		},
		"GetClickThrough": func(ctx context.Context) error {
			_, err := h.analytics.GetClickThrough(ctx, &searchv1.GetClickThroughRequest{})
			return err
		},
	}
	adminOnly := map[string]call{
		"GetSystemOverview": func(ctx context.Context) error {
			_, err := h.analytics.GetSystemOverview(ctx, &searchv1.GetSystemOverviewRequest{})
			return err
		},
		"GetUserActivity": func(ctx context.Context) error {
			_, err := h.analytics.GetUserActivity(ctx, &searchv1.GetUserActivityRequest{})
			return err
		},
		"GetSystemPerformance": func(ctx context.Context) error {
			_, err := h.analytics.GetSystemPerformance(ctx, &searchv1.GetSystemPerformanceRequest{})
			return err
		},
	}
	for name, c := range user {
		wantStatus(t, c(context.Background()), codes.Unauthenticated, grpcapi.ReasonNoToken)
		wantStatus(t, c(h.as(searchKey)), codes.PermissionDenied, grpcapi.ReasonInsufficientPermissions)
		if err := c(h.as(session)); err != nil {
			t.Errorf("%s as a session: %v", name, err)
		}
	}
	for name, c := range adminOnly {
		wantStatus(t, c(h.as(session)), codes.PermissionDenied, grpcapi.ReasonInsufficientPrivileges)
		if err := c(h.as(admin)); err != nil {
			t.Errorf("%s as an admin: %v", name, err)
		}
	}
}

func TestAnalyticsBadInputIsInvalidArgumentWithTheField(t *testing.T) {
	h := newHarness(t)
	ctx := h.as(session)
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"bad period", func() error {
			_, err := h.analytics.GetPerformance(ctx, &searchv1.GetPerformanceRequest{Period: "fortnight"})
			return err
		}, "period"},
		{"bad start date", func() error {
			_, err := h.analytics.GetSearchTrends(ctx, &searchv1.GetSearchTrendsRequest{StartDate: "2026-13-01", EndDate: "2026-12-31"})
			return err
		}, "startDate"},
		{"start after end", func() error {
			_, err := h.analytics.GetDashboard(ctx, &searchv1.GetDashboardRequest{StartDate: "2026-03-02", EndDate: "2026-03-01"})
			return err
		}, "startDate"},
		{"end without start", func() error {
			_, err := h.analytics.GetInsights(ctx, &searchv1.GetInsightsRequest{EndDate: "2026-03-01"})
			return err
		}, "startDate"},
		{"limit too big", func() error {
			_, err := h.analytics.GetPopularQueries(ctx, &searchv1.GetPopularQueriesRequest{Limit: 101})
			return err
		}, "limit"},
		{"negative offset", func() error {
			_, err := h.analytics.GetSearchHistory(ctx, &searchv1.GetSearchHistoryRequest{Offset: -1})
			return err
		}, "offset"},
		{"max position too big", func() error {
			_, err := h.analytics.GetClickThrough(ctx, &searchv1.GetClickThroughRequest{MaxPosition: 101})
			return err
		}, "maxPosition"},
		{"click position 0", func() error {
			_, err := h.client.RecordClick(h.as(searchKey), &searchv1.RecordClickRequest{SearchId: "0f8fad5b-d9cb-469f-a165-70867728950e", ResultId: "r", Position: 0})
			return err
		}, "position"},
		{"click search id not a uuid", func() error {
			_, err := h.client.RecordClick(h.as(searchKey), &searchv1.RecordClickRequest{SearchId: "x", ResultId: "r", Position: 1})
			return err
		}, "searchId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			wantStatus(t, err, codes.InvalidArgument, grpcx.ReasonValidation)
			var fields []string
			for _, d := range status.Convert(err).Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						fields = append(fields, v.GetField())
					}
				}
			}
			if len(fields) == 0 || fields[0] != tt.field {
				t.Errorf("fields %v, want %s first", fields, tt.field)
			}
		})
	}
}

func TestAnEmptyRangeRendersZerosAndEmptyListsNeverNulls(t *testing.T) {
	h := newHarness(t)
	ctx := h.as(session)
	dash, err := h.analytics.GetDashboard(ctx, &searchv1.GetDashboardRequest{Period: "day"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := restjson.Render(dash)
	if err != nil {
		t.Fatal(err)
	}
	if b, err = restjson.Int64sAsNumbers(dash, b); err != nil { // as the edge renders it
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"trends": map[string]any{"period": "day", "topQueries": []any{}, "queryVolume": 0.0, "avgResponseTime": 0.0, "popularCategories": []any{}},
		"performance": map[string]any{"timeSeriesData": []any{}, "searchModeDistribution": []any{},
			"summary": map[string]any{"totalQueries": 0.0, "averageResponseTime": 0.0, "averageResults": 0.0, "p95ResponseTime": 0.0,
				"zeroResultQueries": 0.0, "cacheHitRatio": 0.0}},
		"popularQueries": []any{},
		"insights":       []any{},
		"summary":        map[string]any{"period": "day", "totalQueries": 0.0, "averageResponseTime": 0.0, "topQuery": ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("empty dashboard (-want +got):\n%s", diff)
	}
	ct, err := h.analytics.GetClickThrough(ctx, &searchv1.GetClickThroughRequest{MaxPosition: 3})
	if err != nil {
		t.Fatal(err)
	}
	wantCT := &searchv1.GetClickThroughResponse{Positions: []*searchv1.PositionClicks{{Position: 1}, {Position: 2}, {Position: 3}}}
	if !proto.Equal(wantCT, ct) {
		t.Errorf("empty click-through = %v, want %v", ct, wantCT)
	}
}

func TestClicksAreAcceptedOnTheCallersOwnSearchesOnly(t *testing.T) {
	h := newHarness(t)
	resp, err := h.client.Search(h.as(searchKey), &searchv1.SearchRequest{Query: "pool", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	click := &searchv1.RecordClickRequest{SearchId: resp.GetSearchId(), ResultId: resp.GetResults()[1].GetId(), Position: 2}
	other := identity.Principal{UserID: "u2", APIKeyID: "k9", Permissions: []string{identity.PermSearch}}
	_, err = h.client.RecordClick(h.as(other), click)
	wantStatus(t, err, codes.NotFound, grpcapi.ReasonSearchNotFound)
	_, err = h.client.RecordClick(h.as(searchKey), &searchv1.RecordClickRequest{SearchId: "0f8fad5b-d9cb-469f-a165-70867728950e", ResultId: "r", Position: 1})
	wantStatus(t, err, codes.NotFound, grpcapi.ReasonSearchNotFound)
	got, err := h.client.RecordClick(h.as(searchKey), click)
	if err != nil || !got.GetRecorded() {
		t.Fatalf("own click: %v, %v", got, err)
	}
	ct, err := h.analytics.GetClickThrough(h.as(session), &searchv1.GetClickThroughRequest{MaxPosition: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := &searchv1.GetClickThroughResponse{
		Positions: []*searchv1.PositionClicks{
			{Position: 1, Impressions: 1}, {Position: 2, Impressions: 1, Clicks: 1, ClickThroughRate: 1}, {Position: 3},
		},
		SearchesWithResults: 1, SearchesWithClicks: 1, ClickThroughRate: 1,
	}
	if !proto.Equal(want, ct) {
		t.Errorf("click-through = %v\nwant %v", ct, want)
	}
}
