package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// getJSON calls a GET route with a session token and decodes its data into
// a generic JSON value, failing unless the answer is 200.
func (s *Suite) getJSON(t *testing.T, path, token string) (any, *Response) {
	t.Helper()
	r := s.Call(t, http.MethodGet, path, token, nil)
	Expect(t, r, http.StatusOK, "")
	var v any
	if err := json.Unmarshal(r.Data, &v); err != nil {
		t.Fatalf("%s: data is not JSON: %s", path, r.Raw)
	}
	for _, bad := range []string{"null", "NaN", "Infinity"} {
		if bytes.Contains(r.Data, []byte(bad)) {
			t.Errorf("%s: the data holds %s: %s", path, bad, r.Data)
		}
	}
	return v, r
}

// at returns the member path of a decoded JSON value (object keys or list
// indexes), failing the test when it is missing.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("not an object at %v: %v", p, v)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("no member %q in %v", k, m)
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("no element %d in %v", k, v)
			}
			v = l[k]
		}
	}
	return v
}

// login signs u in again (after a role change) and returns the new token.
func (s *Suite) login(t *testing.T, u User) string {
	t.Helper()
	r := s.Call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": u.Password})
	Expect(t, r, http.StatusOK, "")
	var d authData
	r.Decode(t, &d)
	return d.Token
}

func TestAnalytics(t *testing.T) {
	s := StartSuite(t, map[string]string{"ALTUS_SEARCH_EVENT_FLUSH_INTERVAL": "50ms"})
	docs := TenantDatabase(t) // two articles, one about pooling
	u := s.Register(t)
	_, key := s.CreateKey(t, u, map[string]any{"name": "search key", "permissions": []string{"search"}})
	s.AddDatabase(t, u, "docs", docs)
	other := s.Register(t)
	_, otherKey := s.CreateKey(t, other, map[string]any{"name": "other key", "permissions": []string{"search"}})

	t.Run("an empty range answers zeros and empty lists", func(t *testing.T) {
		perf, _ := s.getJSON(t, "/api/v1/analytics/performance", u.Token)
		want := map[string]any{"timeSeriesData": []any{}, "searchModeDistribution": []any{},
			"summary": map[string]any{"totalQueries": 0.0, "averageResponseTime": 0.0, "averageResults": 0.0,
				"p95ResponseTime": 0.0, "zeroResultQueries": 0.0, "cacheHitRatio": 0.0}}
		if diff := cmp.Diff(want, perf); diff != "" {
			t.Errorf("performance (-want +got):\n%s", diff)
		}
		for _, path := range []string{"/api/v1/analytics/popular-queries", "/api/v1/analytics/insights", "/api/v1/analytics/zero-result-queries"} {
			if got, _ := s.getJSON(t, path, u.Token); !cmp.Equal([]any{}, got) {
				t.Errorf("%s = %v, want []", path, got)
			}
		}
		hist, _ := s.getJSON(t, "/api/v1/analytics/search-history", u.Token)
		if diff := cmp.Diff(map[string]any{"items": []any{}, "total": 0.0}, hist); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}
		dash, _ := s.getJSON(t, "/api/v1/analytics/dashboard?period=month", u.Token)
		if diff := cmp.Diff(map[string]any{"period": "month", "totalQueries": 0.0, "averageResponseTime": 0.0, "topQuery": ""}, at(t, dash, "summary")); diff != "" {
			t.Errorf("dashboard summary (-want +got):\n%s", diff)
		}
	})

	// Four searches: "pooling" twice (the second from the result cache),
	// "xyzzy" in two modes (nothing found).
	var ids []string
	var first searchData
	for i, body := range []map[string]any{
		{"query": "pooling", "limit": 1},
		{"query": "pooling", "limit": 1},
		{"query": "xyzzy"},
		{"query": "xyzzy", "searchMode": "boolean"},
	} {
		r := s.Call(t, http.MethodPost, "/api/v1/search", key, body)
		Expect(t, r, http.StatusOK, "")
		if n := bytes.Count(r.Raw, []byte(`"searchId"`)); n != 1 {
			t.Fatalf("search %d: searchId appears %d times: %s", i, n, r.Raw)
		}
		var d struct {
			searchData
			SearchID string `json:"searchId"`
		}
		r.Decode(t, &d)
		if len(d.SearchID) != 36 {
			t.Fatalf("search %d: searchId %q", i, d.SearchID)
		}
		if i == 0 {
			first = d.searchData
		}
		if i == 1 && !d.Cached {
			t.Errorf("the repeated search was not served from the cache")
		}
		ids = append(ids, d.SearchID)
	}
	if len(first.Results) != 1 {
		t.Fatalf("the pooling search found %d results", len(first.Results))
	}

	t.Run("clicks", func(t *testing.T) {
		// Right after the search: its event may still be queued.
		click := map[string]any{"searchId": ids[0], "resultId": first.Results[0].ID, "position": 1}
		r := s.Call(t, http.MethodPost, "/api/v1/search/clicks", key, click)
		Expect(t, r, http.StatusOK, "")
		var d struct {
			Recorded bool `json:"recorded"`
		}
		r.Decode(t, &d)
		if !d.Recorded {
			t.Errorf("click answer %s", r.Raw)
		}
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/search/clicks", otherKey, click), http.StatusNotFound, "SEARCH_NOT_FOUND")
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/search/clicks", key,
			map[string]any{"searchId": "0f8fad5b-d9cb-469f-a165-70867728950e", "resultId": "x", "position": 1}), http.StatusNotFound, "SEARCH_NOT_FOUND")
		for field, body := range map[string]map[string]any{
			"position": {"searchId": ids[0], "resultId": "x", "position": 0},
			"searchId": {"searchId": "not-an-id", "resultId": "x", "position": 1},
			"resultId": {"searchId": ids[0], "resultId": "", "position": 1},
		} {
			r := s.Call(t, http.MethodPost, "/api/v1/search/clicks", key, body)
			Expect(t, r, http.StatusBadRequest, "VALIDATION_ERROR")
			if got := detailFields(t, r); !cmp.Equal([]string{field}, got) {
				t.Errorf("bad %s: fields %v", field, got)
			}
		}
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/search/clicks", u.Token, click), http.StatusUnauthorized, "")
	})

	// Events are written asynchronously: wait (bounded) until all four are.
	if !eventually(t, 15*time.Second, func() bool {
		r := s.Call(t, http.MethodGet, "/api/v1/analytics/search-history", u.Token, nil)
		var h struct {
			Total int `json:"total"`
		}
		r.Decode(t, &h)
		return r.Status == http.StatusOK && h.Total == 4
	}) {
		t.Fatal("the four searches were not recorded within 15s")
	}

	t.Run("reports over the recorded searches", func(t *testing.T) {
		trends, _ := s.getJSON(t, "/api/v1/analytics/search-trends", u.Token)
		if diff := cmp.Diff([]any{"pooling", "xyzzy"}, at(t, trends, 0, "topQueries")); diff != "" || at(t, trends, 0, "queryVolume") != 4.0 {
			t.Errorf("trends %v (-want +got top queries):\n%s", trends, diff)
		}

		perf, _ := s.getJSON(t, "/api/v1/analytics/performance", u.Token)
		sum := at(t, perf, "summary").(map[string]any)
		if sum["totalQueries"] != 4.0 || sum["zeroResultQueries"] != 2.0 || sum["cacheHitRatio"] != 0.25 || sum["averageResults"] != 0.5 {
			t.Errorf("performance summary %v", sum)
		}
		if at(t, perf, "timeSeriesData", 0, "totalQueries") != 4.0 {
			t.Errorf("time series %v", at(t, perf, "timeSeriesData"))
		}
		modes := map[string]any{}
		for _, m := range at(t, perf, "searchModeDistribution").([]any) {
			modes[at(t, m, "searchMode").(string)] = at(t, m, "count")
		}
		if diff := cmp.Diff(map[string]any{"natural": 3.0, "boolean": 1.0}, modes); diff != "" {
			t.Errorf("modes (-want +got):\n%s", diff)
		}

		pop, _ := s.getJSON(t, "/api/v1/analytics/popular-queries?limit=1", u.Token)
		if len(pop.([]any)) != 1 || at(t, pop, 0, "query") != "pooling" || at(t, pop, 0, "frequency") != 2.0 || at(t, pop, 0, "avgResults") != 1.0 {
			t.Errorf("popular queries %v", pop)
		}
		if _, err := time.Parse(time.RFC3339, at(t, pop, 0, "lastUsed").(string)); err != nil {
			t.Errorf("lastUsed: %v", err)
		}

		hist, _ := s.getJSON(t, "/api/v1/analytics/search-history?limit=2&offset=1", u.Token)
		if at(t, hist, "total") != 4.0 || len(at(t, hist, "items").([]any)) != 2 || at(t, hist, "items", 0, "id") != ids[2] {
			t.Errorf("history page %v (ids %v)", hist, ids)
		}

		zero, _ := s.getJSON(t, "/api/v1/analytics/zero-result-queries", u.Token)
		if len(zero.([]any)) != 1 || at(t, zero, 0, "query") != "xyzzy" || at(t, zero, 0, "frequency") != 2.0 ||
			!cmp.Equal([]any{"boolean", "natural"}, at(t, zero, 0, "searchModes")) {
			t.Errorf("zero-result queries %v", zero)
		}

		// No provider is configured: the enhance service's rules find the
		// zero-result searches among these four.
		ins, _ := s.getJSON(t, "/api/v1/analytics/insights", u.Token)
		var zeroInsight any
		for _, in := range ins.([]any) {
			if at(t, in, "type") == "zero_results" {
				zeroInsight = in
			}
		}
		if zeroInsight == nil || at(t, zeroInsight, "data", "zero_result_searches") != 2.0 ||
			at(t, zeroInsight, "data", "total_searches") != 4.0 || at(t, zeroInsight, "actionable") != true {
			t.Errorf("insights %v: want a zero_results insight over 2 of 4 searches", ins)
		}
		dash, _ := s.getJSON(t, "/api/v1/analytics/dashboard", u.Token)
		if at(t, dash, "summary", "totalQueries") != 4.0 || at(t, dash, "summary", "topQuery") != "pooling" ||
			at(t, dash, "trends", "queryVolume") != 4.0 || at(t, dash, "performance", "summary", "totalQueries") != 4.0 ||
			len(at(t, dash, "popularQueries").([]any)) != 2 || !cmp.Equal(ins, at(t, dash, "insights")) {
			t.Errorf("dashboard %v", dash)
		}

		ct, _ := s.getJSON(t, "/api/v1/analytics/click-through?maxPosition=2", u.Token)
		want := map[string]any{
			"positions": []any{
				map[string]any{"position": 1.0, "impressions": 2.0, "clicks": 1.0, "clickThroughRate": 0.5},
				map[string]any{"position": 2.0, "impressions": 0.0, "clicks": 0.0, "clickThroughRate": 0.0},
			},
			"searchesWithResults": 2.0, "searchesWithClicks": 1.0, "clickThroughRate": 0.5,
		}
		if diff := cmp.Diff(want, ct); diff != "" {
			t.Errorf("click-through (-want +got):\n%s", diff)
		}
	})

	t.Run("ranges by date", func(t *testing.T) {
		today := time.Now().UTC().Format(time.DateOnly)
		q := url.Values{"startDate": {today}, "endDate": {today}}.Encode()
		perf, _ := s.getJSON(t, "/api/v1/analytics/performance?"+q, u.Token)
		if at(t, perf, "summary", "totalQueries") != 4.0 {
			t.Errorf("today's searches: %v", at(t, perf, "summary"))
		}
		past, _ := s.getJSON(t, "/api/v1/analytics/performance?startDate=2020-01-01&endDate=2020-01-31", u.Token)
		if at(t, past, "summary", "totalQueries") != 0.0 || len(at(t, past, "timeSeriesData").([]any)) != 0 {
			t.Errorf("a past month: %v", past)
		}
	})

	t.Run("bad input is a 400 naming the field", func(t *testing.T) {
		for path, field := range map[string]string{
			"/api/v1/analytics/performance?period=fortnight":                          "period",
			"/api/v1/analytics/search-trends?startDate=2026-03-02&endDate=2026-03-01": "startDate",
			"/api/v1/analytics/dashboard?startDate=soon&endDate=2026-03-01":           "startDate",
			"/api/v1/analytics/popular-queries?limit=500":                             "limit",
			"/api/v1/analytics/search-history?offset=-1":                              "offset",
			"/api/v1/analytics/click-through?maxPosition=1000":                        "maxPosition",
			"/api/v1/analytics/zero-result-queries?endDate=2026-03-01":                "startDate",
		} {
			r := s.Call(t, http.MethodGet, path, u.Token, nil)
			Expect(t, r, http.StatusBadRequest, "VALIDATION_ERROR")
			if got := detailFields(t, r); len(got) == 0 || got[0] != field {
				t.Errorf("%s: fields %v, want %s", path, got, field)
			}
		}
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/analytics/performance", "", nil), http.StatusUnauthorized, "NO_TOKEN")
	})

	t.Run("admin routes", func(t *testing.T) {
		for _, path := range []string{"/api/v1/analytics/admin/system-overview", "/api/v1/analytics/admin/user-activity", "/api/v1/analytics/admin/performance-metrics"} {
			Expect(t, s.Call(t, http.MethodGet, path, u.Token, nil), http.StatusForbidden, "INSUFFICIENT_PRIVILEGES")
		}
		boss := s.Register(t)
		if _, err := s.DB.Exec("UPDATE users SET role = 'admin' WHERE id = ?", boss.ID); err != nil {
			t.Fatal(err)
		}
		token := s.login(t, boss)

		ov, _ := s.getJSON(t, "/api/v1/analytics/admin/system-overview", token)
		if diff := cmp.Diff(map[string]any{"activeUsers": 1.0, "totalQueries": 4.0, "avgResponseTime": at(t, ov, "summary", "avgResponseTime"), "avgResults": 0.5},
			at(t, ov, "summary")); diff != "" || at(t, ov, "period") != "week" || at(t, ov, "queryVolume", 0, "queryCount") != 4.0 {
			t.Errorf("system overview %v (-want +got summary):\n%s", ov, diff)
		}
		ua, _ := s.getJSON(t, "/api/v1/analytics/admin/user-activity", token)
		if len(ua.([]any)) != 1 || at(t, ua, 0, "id") != u.ID || at(t, ua, 0, "email") != u.Email || at(t, ua, 0, "name") != u.Name ||
			at(t, ua, 0, "role") != "user" || at(t, ua, 0, "queryCount") != 4.0 {
			t.Errorf("user activity %v", ua)
		}
		pm, _ := s.getJSON(t, "/api/v1/analytics/admin/performance-metrics", token)
		if at(t, pm, "summary", "totalQueries") != 4.0 || len(at(t, pm, "slowestQueries").([]any)) != 4 ||
			at(t, pm, "slowestQueries", 0, "userId") != u.ID {
			t.Errorf("performance metrics %v", pm)
		}
		r := s.Call(t, http.MethodGet, "/api/v1/analytics/admin/user-activity?limit=0&period=year", token, nil)
		Expect(t, r, http.StatusOK, "")
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/analytics/admin/user-activity?limit=101", token, nil), http.StatusBadRequest, "VALIDATION_ERROR")
	})
}
