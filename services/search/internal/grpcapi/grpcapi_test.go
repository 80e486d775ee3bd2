package grpcapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/altus4/altus/pkg/edgecache"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/restjson"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/search/internal/analytics"
	"github.com/altus4/altus/services/search/internal/events"
	"github.com/altus4/altus/services/search/internal/grpcapi"
	"github.com/altus4/altus/services/search/internal/search"
	"github.com/altus4/altus/services/search/internal/wire"
)

const secret = "grpcapi-test-secret-grpcapi-test-secret"

var quiet = slog.New(slog.DiscardHandler)

// sources is one user's fake dbrouter: source "s1" has a table of three
// rows with one FULLTEXT index; "down" fails every execution.
type sources struct{}

var table = search.Table{Name: "posts", Engine: "InnoDB", PrimaryKey: []string{"id"},
	Columns: []search.Column{
		{Name: "id", Type: "bigint", IsPrimaryKey: true},
		{Name: "subject", Type: "varchar", IsSearchable: true, IsFullText: true},
		{Name: "note", Type: "text", IsSearchable: true},
	},
	Indexes: []search.Index{{Name: "ft_subject", Columns: []string{"subject"}}},
}

var server = search.ServerInfo{InnoDBMinTokenSize: 3, InnoDBMaxTokenSize: 84}

func (sources) Describe(ctx context.Context, ids []string) ([]search.Source, error) {
	p, _ := identity.From(ctx)
	all := map[string]search.Source{
		"s1":   {ID: "s1", Name: "kb", Database: "kb", Server: server, Tables: []search.Table{table}},
		"down": {ID: "down", Name: "down", Database: "down", Server: server, Tables: []search.Table{table}},
	}
	if p.UserID != "u1" {
		all = nil
	}
	if len(ids) == 0 {
		ids = []string{"s1"}
	}
	var out []search.Source
	for _, id := range ids {
		s, ok := all[id]
		if !ok {
			return nil, search.ErrSourceNotFound
		}
		out = append(out, s)
	}
	return out, nil
}

func (sources) Execute(ctx context.Context, req search.ExecRequest) (search.ExecResponse, error) {
	if req.SourceID == "down" {
		return search.ExecResponse{}, &search.SourceError{Code: "DATABASE_CONNECTION_FAILED", Message: "refused"}
	}
	var resp search.ExecResponse
	for _, p := range req.Plans {
		r := search.PlanResult{Columns: []string{"id", "subject", "note"}, Total: -1, Statement: "SELECT `id` FROM `kb`.`posts` WHERE MATCH(`subject`) AGAINST(?)"}
		if p.Explain {
			r.Explain = []map[string]string{{"type": "fulltext", "key": "ft_subject"}}
		} else {
			for i, subject := range []string{"Pool sizing", "Pool tuning", "Pooling"} {
				if i < p.Offset || i >= p.Offset+p.Limit {
					continue
				}
				r.Rows = append(r.Rows, search.Row{Values: []string{[]string{"1001", "1002", "1003"}[i], subject, ""}, Nulls: []bool{false, false, true}, Score: float64(3 - i)})
			}
			if p.Count {
				r.Total = 3
			}
		}
		resp.Plans = append(resp.Plans, r)
	}
	return resp, nil
}

// syncRecorder writes each event at once (the batching is tested in package events).
type syncRecorder struct{ st *events.Store }

func (r syncRecorder) Record(e events.Event) bool {
	return r.st.Insert(context.Background(), []events.Event{e}) == nil
}

type harness struct {
	client    searchv1.SearchServiceClient
	analytics searchv1.AnalyticsServiceClient
	signer    *identity.Signer
	store     *events.Store
}

func newHarness(t *testing.T, opts ...func(*search.Options)) *harness {
	t.Helper()
	return newHarnessWith(t, false, opts...)
}

// newHarnessWith serves the search service, storing edge pages and
// recording edge-answered searches when edge is set.
func newHarnessWith(t *testing.T, edge bool, opts ...func(*search.Options)) *harness {
	t.Helper()
	db, _ := testenv.OpenDatabase(t)
	if _, err := migrate.Up(context.Background(), db, events.Service, events.Migrations(), nil); err != nil {
		t.Fatal(err)
	}
	st := events.NewStore(db)
	o := search.Options{Sources: sources{}, Events: syncRecorder{st}, Store: st, Log: quiet, SourceTimeout: time.Second}
	for _, fn := range opts {
		fn(&o)
	}
	svc := search.New(o)
	h := &harness{signer: identity.NewSigner(secret), store: st}
	srv := grpcx.NewServer(grpcx.ServerOptions{Logger: quiet, Signer: h.signer})
	reports := analytics.New(analytics.Options{Store: st, Log: quiet})
	api := grpcapi.New(svc).WithClicks(reports)
	if edge {
		api = api.WithEdgeHits(h.signer)
	}
	searchv1.RegisterSearchServiceServer(srv, api)
	searchv1.RegisterAnalyticsServiceServer(srv, grpcapi.NewAnalytics(reports))
	srv.Ready()
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpcx.Dial("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h.client = searchv1.NewSearchServiceClient(conn)
	h.analytics = searchv1.NewAnalyticsServiceClient(conn)
	return h
}

func (h *harness) as(p identity.Principal) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), identity.MetadataKey, h.signer.Sign(p, time.Minute))
}

var (
	searchKey    = identity.Principal{UserID: "u1", APIKeyID: "k1", Permissions: []string{identity.PermSearch}}
	analyticsKey = identity.Principal{UserID: "u1", APIKeyID: "k2", Permissions: []string{identity.PermAnalytics}}
	session      = identity.Principal{UserID: "u1", Role: identity.RoleUser}
)

func wantStatus(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	if status.Code(err) != code || grpcx.Reason(err) != reason {
		t.Fatalf("got %v (reason %q), want %s %s", err, grpcx.Reason(err), code, reason)
	}
}

func TestCallsNeedACallerWithThePermissionOfTheRoute(t *testing.T) {
	h := newHarness(t)
	calls := map[string]func(ctx context.Context) error{
		"Search": func(ctx context.Context) error {
			_, err := h.client.Search(ctx, &searchv1.SearchRequest{Query: "pool"})
			return err
		},
		"GetSuggestions": func(ctx context.Context) error {
			_, err := h.client.GetSuggestions(ctx, &searchv1.GetSuggestionsRequest{Query: "po"})
			return err
		},
		"GetHistory": func(ctx context.Context) error {
			_, err := h.client.GetHistory(ctx, &searchv1.GetHistoryRequest{})
			return err
		},
		"Analyze": func(ctx context.Context) error {
			_, err := h.client.Analyze(ctx, &searchv1.AnalyzeRequest{Query: "pool"})
			return err
		},
		"GetTrends": func(ctx context.Context) error {
			_, err := h.client.GetTrends(ctx, &searchv1.GetTrendsRequest{})
			return err
		},
	}
	needs := map[string]string{"Search": identity.PermSearch, "GetSuggestions": identity.PermSearch, "GetHistory": identity.PermSearch,
		"Analyze": identity.PermAnalytics, "GetTrends": identity.PermAnalytics}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			wantStatus(t, call(context.Background()), codes.Unauthenticated, grpcapi.ReasonNoToken)
			for _, p := range []identity.Principal{searchKey, analyticsKey} {
				err := call(h.as(p))
				if slices.Contains(p.Permissions, needs[name]) {
					if err != nil {
						t.Errorf("key with %v: %v", p.Permissions, err)
					}
					continue
				}
				wantStatus(t, err, codes.PermissionDenied, grpcapi.ReasonInsufficientPermissions)
			}
			if err := call(h.as(session)); err != nil {
				t.Errorf("session caller: %v", err)
			}
		})
	}
}

func TestSearchAnswersThePageWithTypedDataAndSources(t *testing.T) {
	h := newHarness(t)
	resp, err := h.client.Search(h.as(searchKey), &searchv1.SearchRequest{Query: "pool", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetTotalCount() != 3 || resp.GetPage() != 1 || resp.GetLimit() != 2 || resp.GetSearchMode() != "natural" || len(resp.GetResults()) != 2 {
		t.Fatalf("page: %v", resp)
	}
	r := resp.GetResults()[0]
	if r.GetId() != "s1:posts:1001" || r.GetDatabase() != "s1" || r.GetTable() != "posts" || r.GetRelevanceScore() != 1 {
		t.Errorf("result: %v", r)
	}
	data := r.GetData().AsMap()
	if diff := cmp.Diff(map[string]any{"id": float64(1001), "subject": "Pool sizing", "note": nil}, data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"subject"}, r.GetMatchedColumns()); diff != "" {
		t.Errorf("matched columns (-want +got):\n%s", diff)
	}
	src := resp.GetSources()[0]
	if src.GetId() != "s1" || src.GetName() != "kb" || src.GetStatus() != "ok" || src.GetRowCount() != 3 {
		t.Errorf("source status: %v", src)
	}
}

func TestSearchErrorsHaveCanonicalCodesAndReasons(t *testing.T) {
	h := newHarness(t)
	ctx := h.as(searchKey)

	_, err := h.client.Search(ctx, &searchv1.SearchRequest{Query: "", Limit: 101, SearchMode: "fuzzy"})
	wantStatus(t, err, codes.InvalidArgument, grpcx.ReasonValidation)
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	slices.Sort(fields)
	if diff := cmp.Diff([]string{"limit", "query", "searchMode"}, fields); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}

	_, err = h.client.Search(ctx, &searchv1.SearchRequest{Query: "pool", Databases: []string{"someone-elses"}})
	wantStatus(t, err, codes.NotFound, grpcapi.ReasonConnectionNotFound)

	_, err = h.client.Search(ctx, &searchv1.SearchRequest{Query: "pool", Databases: []string{"down"}})
	wantStatus(t, err, codes.Unavailable, grpcapi.ReasonAllSourcesFailed)

	resp, err := h.client.Search(ctx, &searchv1.SearchRequest{Query: "pool", Databases: []string{"s1", "down"}})
	if err != nil {
		t.Fatalf("one source down: %v", err)
	}
	if len(resp.GetResults()) != 3 || resp.GetSources()[1].GetStatus() != "failed" || resp.GetSources()[1].GetErrorCode() != "DATABASE_CONNECTION_FAILED" {
		t.Errorf("partial page: %v", resp)
	}
}

func TestHistorySuggestionsTrendsAndAnalyze(t *testing.T) {
	// A clock a millisecond further at every reading: the searches are
	// recorded in the order they ran, even within one millisecond.
	var mu sync.Mutex
	clock := time.Now().Truncate(time.Millisecond)
	h := newHarness(t, func(o *search.Options) {
		o.Now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Millisecond)
			return clock
		}
	})
	ctx := h.as(session)
	for _, q := range []string{"pool sizing", "pool sizing", "pool tuning"} {
		if _, err := h.client.Search(ctx, &searchv1.SearchRequest{Query: q}); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := h.client.GetHistory(ctx, &searchv1.GetHistoryRequest{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.GetEvents()) != 2 || hist.GetEvents()[0].GetQuery() != "pool tuning" || hist.GetEvents()[0].GetResultCount() != 3 ||
		hist.GetEvents()[0].GetCreatedAt() == nil || !slices.Equal(hist.GetEvents()[0].GetDatabases(), []string{"s1"}) {
		t.Errorf("history: %v", hist)
	}
	_, err = h.client.GetHistory(ctx, &searchv1.GetHistoryRequest{Limit: 101})
	wantStatus(t, err, codes.InvalidArgument, grpcx.ReasonValidation)

	sugs, err := h.client.GetSuggestions(ctx, &searchv1.GetSuggestionsRequest{Query: "pool s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sugs.GetSuggestions()) == 0 || sugs.GetSuggestions()[0].GetText() != "pool sizing" || sugs.GetSuggestions()[0].GetType() != "popular" {
		t.Errorf("suggestions: %v", sugs)
	}

	trends, err := h.client.GetTrends(ctx, &searchv1.GetTrendsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(trends.GetTrends()) != events.TrendDays+events.TrendWeeks || trends.GetTrends()[0].GetQueryVolume() != 3 ||
		!slices.Equal(trends.GetTrends()[0].GetTopQueries(), []string{"pool sizing", "pool tuning"}) {
		t.Errorf("trends: %v", trends)
	}

	a, err := h.client.Analyze(ctx, &searchv1.AnalyzeRequest{Query: "pool"})
	if err != nil {
		t.Fatal(err)
	}
	perf := a.GetPerformance().AsMap()
	srcs, _ := perf["sources"].([]any)
	if len(srcs) != 1 {
		t.Fatalf("performance: %v", perf)
	}
	stmts, _ := srcs[0].(map[string]any)["statements"].([]any)
	if len(stmts) != 1 || stmts[0].(map[string]any)["statement"] == "" || stmts[0].(map[string]any)["explain"] == nil {
		t.Errorf("statements: %v", stmts)
	}
	want := "ALTER TABLE `kb`.`posts` ADD FULLTEXT INDEX `ft_note` (`note`)"
	if len(a.GetOptimization()) != 1 || a.GetOptimization()[0].GetSqlSuggestion() != want || a.GetOptimization()[0].GetType() != "index" {
		t.Errorf("optimization: %v", a.GetOptimization())
	}
}

// memCache is a result cache in memory (versions never move here).
type memCache struct {
	mu     sync.Mutex
	values map[string][]byte
	stored chan string
}

func (c *memCache) Get(_ context.Context, _ []string, key string) ([]byte, []int64, bool, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.values[key]
	return v, []int64{0}, ok, 30 * time.Second, nil
}

func (c *memCache) Versions(context.Context, []string) ([]int64, error) { return []int64{0}, nil }

func (c *memCache) Set(_ context.Context, _ []int64, _ time.Duration, entries ...search.CacheEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range entries {
		c.values[e.Key] = e.Value
		c.stored <- e.Key
	}
	return nil
}

func TestCacheControlNoCacheBypassesTheResultCache(t *testing.T) {
	cache := &memCache{values: map[string][]byte{}, stored: make(chan string, 10)}
	h := newHarness(t, func(o *search.Options) { o.Cache = cache; o.Codec = wire.Codec{} })
	ctx := h.as(searchKey)
	search := func(ctx context.Context) bool {
		t.Helper()
		resp, err := h.client.Search(ctx, &searchv1.SearchRequest{Query: "pool"})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetCached()
	}
	if search(ctx) {
		t.Fatal("first search cached")
	}
	<-cache.stored // written in the background
	if !search(ctx) {
		t.Fatal("the stored page was not served")
	}
	for _, v := range []string{"no-cache", "max-age=0, No-Cache"} {
		if search(metadata.AppendToOutgoingContext(ctx, grpcapi.CacheControlKey, v)) {
			t.Errorf("cache-control: %s was served from the cache", v)
		}
	}
}

// pageJSON renders a response as the gateway does: the pre-rendered page
// with cached and executionTime put first, or the typed message; without
// those two fields, which change with every answer.
func pageJSON(t *testing.T, resp *searchv1.SearchResponse) map[string]any {
	t.Helper()
	b := resp.GetRenderedJson()
	if len(b) > 0 {
		if bytes.Contains(b, []byte(`"searchId"`)) {
			t.Fatalf("a pre-rendered page holds the per-request searchId:\n%s", b)
		}
		b = restjson.Prepend(b, `"cached":false,"executionTime":0`)
	} else {
		var err error
		if b, err = restjson.Render(resp); err != nil {
			t.Fatal(err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	delete(m, "cached")
	delete(m, "executionTime")
	delete(m, "searchId")
	delete(m, "renderedJson") // the typed page's empty internal field; never on the REST page
	return m
}

func TestTheRESTEdgeGetsPagesPreRenderedFreshAndFromTheCache(t *testing.T) {
	cache := &memCache{values: map[string][]byte{}, stored: make(chan string, 10)}
	h := newHarness(t, func(o *search.Options) { o.Cache = cache; o.Codec = wire.Codec{} })
	ctx := h.as(searchKey)
	rest := metadata.AppendToOutgoingContext(ctx, grpcapi.RenderKey, "json")
	req := &searchv1.SearchRequest{Query: "pool", Limit: 2}

	fresh, err := h.client.Search(rest, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh.GetRenderedJson()) == 0 || fresh.GetCached() || len(fresh.GetResults()) != 0 || fresh.GetTotalCount() != 0 {
		t.Fatalf("fresh answer to the edge: %v", fresh)
	}
	<-cache.stored
	hit, err := h.client.Search(rest, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(hit.GetRenderedJson()) == 0 || !hit.GetCached() {
		t.Fatalf("cached answer to the edge: cached %v, %d bytes", hit.GetCached(), len(hit.GetRenderedJson()))
	}
	// A gRPC caller that did not ask gets the typed page, which renders alike.
	typed, err := h.client.Search(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(typed.GetRenderedJson()) != 0 || len(typed.GetResults()) != 2 || !typed.GetCached() {
		t.Fatalf("typed answer: %v", typed)
	}
	want := pageJSON(t, typed)
	for name, resp := range map[string]*searchv1.SearchResponse{"fresh": fresh, "cached": hit} {
		if diff := cmp.Diff(want, pageJSON(t, resp)); diff != "" {
			t.Errorf("%s pre-rendered page (-typed +pre-rendered):\n%s", name, diff)
		}
	}

	// With analytics (a page of its own: it holds the query's
	// optimizations), the caller's trends are rendered into the cached page.
	analytics := &searchv1.SearchRequest{Query: "pool", Limit: 2, IncludeAnalytics: true}
	if _, err := h.client.Search(rest, analytics); err != nil {
		t.Fatal(err)
	}
	<-cache.stored
	withTrends, err := h.client.Search(rest, analytics)
	if err != nil {
		t.Fatal(err)
	}
	got := pageJSON(t, withTrends)
	if trends, _ := got["trends"].([]any); len(trends) != events.TrendDays+events.TrendWeeks || !withTrends.GetCached() {
		t.Errorf("trends of a cached page for the edge: %v (cached %v)", got["trends"], withTrends.GetCached())
	}
	typedTrends, err := h.client.Search(ctx, analytics)
	if err != nil {
		t.Fatal(err)
	}
	if !typedTrends.GetCached() {
		t.Fatal("the typed analytics page did not come from the cache")
	}
	want = pageJSON(t, typedTrends)
	delete(got, "trends")
	delete(want, "trends")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("page with trends (-typed +pre-rendered):\n%s", diff)
	}
}

func TestRenderedSearchesStoreAnEdgePageUnderTheEdgeKeyOfTheRequest(t *testing.T) {
	cache := &memCache{values: map[string][]byte{}, stored: make(chan string, 10)}
	h := newHarnessWith(t, true, func(o *search.Options) { o.Cache = cache; o.Codec = wire.Codec{} })
	ctx := h.as(searchKey)
	rest := metadata.AppendToOutgoingContext(ctx, grpcapi.RenderKey, "json", grpcapi.EdgeKey, "store")
	req := &searchv1.SearchRequest{Query: "  pool ", Limit: 2}
	fresh, err := h.client.Search(rest, req)
	if err != nil {
		t.Fatal(err)
	}
	edgeKey, err := edgecache.Key(searchKey.UserID, req)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for range 2 { // the page and the edge page, in the background
		keys = append(keys, <-cache.stored)
	}
	if !slices.Contains(keys, edgeKey) {
		t.Fatalf("stored %v; want the edge key %s among them", keys, edgeKey)
	}
	cache.mu.Lock()
	page, err := edgecache.Decode(cache.values[edgeKey])
	cache.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(page.GetRenderedJson(), fresh.GetRenderedJson()) {
		t.Errorf("edge page rendering differs from the answer:\n%s\n%s", page.GetRenderedJson(), fresh.GetRenderedJson())
	}
	want := &searchv1.CachedSearchSummary{Query: "pool", SearchMode: "natural", Databases: []string{"s1"}, ResultCount: 2, TotalCount: 3}
	if diff := cmp.Diff(want, page.GetSummary(), protocmp.Transform()); diff != "" {
		t.Errorf("edge page summary (-want +got):\n%s", diff)
	}

	// An edge that missed a page this service has cached gets it stored
	// (for no longer than the page has left).
	cache.mu.Lock()
	delete(cache.values, edgeKey)
	cache.mu.Unlock()
	hit, err := h.client.Search(rest, req)
	if err != nil || !hit.GetCached() {
		t.Fatalf("repeated search: cached %v, %v", hit.GetCached(), err)
	}
	if got := <-cache.stored; got != edgeKey {
		t.Errorf("after a hit the edge missed, stored %s; want the edge page", got)
	}

	// Neither a typed page, nor one with analytics (trends are per
	// request), nor one the edge did not ask for gets an edge page.
	for name, c := range map[string]struct {
		ctx context.Context
		req *searchv1.SearchRequest
	}{
		"typed":          {ctx, &searchv1.SearchRequest{Query: "pooling"}},
		"analytics":      {rest, &searchv1.SearchRequest{Query: "sizing", IncludeAnalytics: true}},
		"edge not asked": {metadata.AppendToOutgoingContext(ctx, grpcapi.RenderKey, "json"), &searchv1.SearchRequest{Query: "tuning"}},
	} {
		if _, err := h.client.Search(c.ctx, c.req); err != nil {
			t.Fatal(err)
		}
		if got := <-cache.stored; strings.HasPrefix(got, "search-edge:") {
			t.Errorf("%s search stored an edge page", name)
		}
		select {
		case got := <-cache.stored:
			t.Errorf("%s search stored a second value %s", name, got)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestEdgeAnsweredSearchesAreRecordedOnlyForTheCallerTheirAssertionNames(t *testing.T) {
	h := newHarnessWith(t, true)
	summary := &searchv1.CachedSearchSummary{Query: "pool", SearchMode: "natural", Databases: []string{"s1"}, ResultCount: 2, TotalCount: 3}
	good := uuid.NewString()
	other := identity.Principal{UserID: "u2", APIKeyID: "k9", Permissions: []string{identity.PermSearch}}
	forged := identity.NewSigner("another-secret-another-secret-another-1").Sign(searchKey, time.Minute)
	resp, err := h.client.RecordCachedSearches(context.Background(), &searchv1.RecordCachedSearchesRequest{Searches: []*searchv1.CachedSearch{
		{Assertion: h.signer.Sign(searchKey, time.Minute), SearchId: good, Summary: summary, ExecutionTimeMs: 1.5, CreatedAt: timestamppb.Now()},
		{Assertion: forged, SearchId: uuid.NewString(), Summary: summary},
		{Assertion: h.signer.Sign(analyticsKey, time.Minute), SearchId: uuid.NewString(), Summary: summary},
		{Assertion: h.signer.Sign(searchKey, time.Minute), SearchId: "not-an-id", Summary: summary},
		{Assertion: h.signer.Sign(searchKey, time.Minute), SearchId: uuid.NewString()},
		{Assertion: h.signer.Sign(other, time.Minute), SearchId: uuid.NewString(), Summary: summary},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetRecorded() != 2 || resp.GetRejected() != 4 {
		t.Fatalf("recorded %d, rejected %d; want 2 and 4", resp.GetRecorded(), resp.GetRejected())
	}
	hist, err := h.client.GetHistory(h.as(searchKey), &searchv1.GetHistoryRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.GetEvents()) != 1 {
		t.Fatalf("history of u1: %v; want the one search recorded for u1", hist.GetEvents())
	}
	e := hist.GetEvents()[0]
	if e.GetId() != good || e.GetQuery() != "pool" || e.GetResultCount() != 3 || e.GetSearchMode() != "natural" { // the history reports the total
		t.Errorf("recorded event %v", e)
	}
	// Too many at once is refused whole.
	if _, err := h.client.RecordCachedSearches(context.Background(), &searchv1.RecordCachedSearchesRequest{
		Searches: slices.Repeat([]*searchv1.CachedSearch{{}}, grpcapi.MaxCachedSearches+1),
	}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("an oversized batch: %v", err)
	}
}

func TestAFreshTypedAnswerIsTheSameWhetherOrNotItsPageIsEncodedForTheCache(t *testing.T) {
	req := &searchv1.SearchRequest{Query: "pool", Limit: 3, IncludeAnalytics: true}
	answer := func(opts ...func(*search.Options)) *searchv1.SearchResponse {
		t.Helper()
		h := newHarness(t, opts...)
		resp, err := h.client.Search(h.as(searchKey), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetSearchId() == "" || resp.GetCached() {
			t.Fatalf("search id %q cached %v: want a fresh page with its id", resp.GetSearchId(), resp.GetCached())
		}
		return resp
	}
	plain := answer()
	cache := &memCache{values: map[string][]byte{}, stored: make(chan string, 10)}
	shared := answer(func(o *search.Options) { o.Cache = cache; o.Codec = wire.Codec{} })
	<-cache.stored
	// Times differ from one run to the next.
	ignore := cmp.Options{
		protocmp.IgnoreFields(&searchv1.SearchResponse{}, "search_id", "execution_time"),
		protocmp.IgnoreFields(&searchv1.SourceStatus{}, "elapsed_ms"),
		protocmp.IgnoreFields(&searchv1.Enhancement{}, "elapsed_ms"),
	}
	if diff := cmp.Diff(plain, shared, protocmp.Transform(), ignore); diff != "" {
		t.Errorf("answer encoded once for the cache differs (-plain +shared):\n%s", diff)
	}
	if len(plain.GetResults()) == 0 {
		t.Fatal("no results to compare")
	}
}
