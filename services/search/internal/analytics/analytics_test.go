package analytics_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/search/internal/analytics"
	"github.com/altus4/altus/services/search/internal/events"
)

var quiet = slog.New(slog.DiscardHandler)

// now is the clock of every test: Wednesday 2026-03-11 15:00 UTC.
var now = time.Date(2026, 3, 11, 15, 0, 0, 0, time.UTC)

const (
	u1 = "00000000-0000-0000-0000-000000000001"
	u2 = "00000000-0000-0000-0000-000000000002"
)

var (
	user1 = identity.Principal{UserID: u1, Role: identity.RoleUser}
	user2 = identity.Principal{UserID: u2, Role: identity.RoleUser}
	admin = identity.Principal{UserID: "00000000-0000-0000-0000-0000000000ad", Role: identity.RoleAdmin}
)

func openStore(t testing.TB) (*events.Store, *sql.DB) {
	t.Helper()
	db, _ := testenv.OpenDatabase(t)
	if _, err := migrate.Up(context.Background(), db, events.Service, events.Migrations(), nil); err != nil {
		t.Fatal(err)
	}
	return events.NewStore(db), db
}

func newService(t testing.TB, st *events.Store, o analytics.Options) *analytics.Service {
	t.Helper()
	o.Store, o.Log, o.Now = st, quiet, func() time.Time { return now }
	return analytics.New(o)
}

type ev struct {
	user   string
	query  string
	mode   string
	at     time.Time
	ms     int
	total  int
	offset int
	count  int
	cached bool
}

func insert(t testing.TB, st *events.Store, evs ...ev) []string {
	t.Helper()
	out := make([]events.Event, len(evs))
	ids := make([]string, len(evs))
	for i, e := range evs {
		mode := e.mode
		if mode == "" {
			mode = "natural"
		}
		ids[i] = uuid.NewString()
		out[i] = events.Event{ID: ids[i], UserID: e.user, Query: e.query, Mode: mode, ResultCount: e.count, TotalCount: e.total,
			ResultOffset: e.offset, ExecutionTime: time.Duration(e.ms) * time.Millisecond, Cached: e.cached, CreatedAt: e.at}
	}
	if err := st.Insert(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	return ids
}

func fields(err error) []string {
	var ve *validate.Error
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	for _, v := range ve.Violations {
		out = append(out, v.Field)
	}
	return out
}

func TestRangesResolveDatesInclusivelyTimesExactlyAndPeriodsEndingNow(t *testing.T) {
	st, _ := openStore(t)
	svc := newService(t, st, analytics.Options{})
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	insert(t, st,
		ev{user: u1, query: "before", at: day.Add(-time.Millisecond), ms: 1},
		ev{user: u1, query: "first", at: day, ms: 1},
		ev{user: u1, query: "last", at: day.Add(24*time.Hour - time.Millisecond), ms: 1},
		ev{user: u1, query: "after", at: day.Add(24 * time.Hour), ms: 1},
		ev{user: u1, query: "today", at: now.Add(-time.Hour), ms: 1},
		ev{user: u1, query: "last week", at: now.AddDate(0, 0, -6), ms: 1},
		ev{user: u1, query: "last month", at: now.AddDate(0, 0, -20), ms: 1},
		ev{user: u1, query: "two months ago", at: now.AddDate(0, 0, -45), ms: 1},
	)
	tests := []struct {
		name string
		r    analytics.RangeRequest
		want int64
	}{
		{"one date is the whole day", analytics.RangeRequest{StartDate: "2026-03-01", EndDate: "2026-03-01"}, 2},
		{"RFC 3339 times are exact", analytics.RangeRequest{StartDate: "2026-03-01T00:00:00Z", EndDate: "2026-03-01T12:00:00Z"}, 1},
		{"dates win over a period", analytics.RangeRequest{StartDate: "2026-02-28", EndDate: "2026-03-02", Period: "day"}, 4},
		{"day", analytics.RangeRequest{Period: "day"}, 1},
		{"week is the default", analytics.RangeRequest{}, 2},
		{"month", analytics.RangeRequest{Period: "month"}, 7},
		{"3months", analytics.RangeRequest{Period: "3months"}, 8},
		{"year", analytics.RangeRequest{Period: "year"}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			perf, err := svc.Performance(context.Background(), user1, tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if perf.Summary.Total != tt.want {
				t.Errorf("searches in range = %d, want %d", perf.Summary.Total, tt.want)
			}
		})
	}
}

func TestBadRangesAreValidationErrorsNamingTheirFields(t *testing.T) {
	st, _ := openStore(t)
	svc := newService(t, st, analytics.Options{})
	tests := []struct {
		name string
		r    analytics.RangeRequest
		want []string
	}{
		{"unknown period", analytics.RangeRequest{Period: "decade"}, []string{"period"}},
		{"not a date", analytics.RangeRequest{StartDate: "yesterday", EndDate: "2026-03-01"}, []string{"startDate"}},
		{"impossible date", analytics.RangeRequest{StartDate: "2026-02-01", EndDate: "2026-02-30"}, []string{"endDate"}},
		{"start after end", analytics.RangeRequest{StartDate: "2026-03-02", EndDate: "2026-03-01"}, []string{"startDate"}},
		{"start without end", analytics.RangeRequest{StartDate: "2026-03-01"}, []string{"endDate"}},
		{"longer than a year", analytics.RangeRequest{StartDate: "2024-01-01", EndDate: "2026-01-01"}, []string{"endDate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Performance(context.Background(), user1, tt.r)
			if diff := cmp.Diff(tt.want, fields(err)); diff != "" {
				t.Errorf("fields of %v (-want +got):\n%s", err, diff)
			}
		})
	}
	_, err := svc.Popular(context.Background(), user1, analytics.PopularRequest{Limit: -1})
	if diff := cmp.Diff([]string{"limit"}, fields(err)); diff != "" {
		t.Errorf("limit -1 (-want +got):\n%s", diff)
	}
}

func TestPerformanceAveragesOverEverySearchAndTakesTheNearestRankP95(t *testing.T) {
	st, _ := openStore(t)
	svc := newService(t, st, analytics.Options{})
	d1 := now.Add(-48 * time.Hour).Truncate(24 * time.Hour).Add(time.Hour)
	d2 := d1.Add(24 * time.Hour)
	var evs []ev
	// Day 1: one search of 1000 ms. Day 2: 19 searches of 1..19 ms.
	evs = append(evs, ev{user: u1, query: "slow", at: d1, ms: 1000, total: 5, mode: "boolean"})
	for i := 1; i <= 19; i++ {
		total := 10
		if i%5 == 0 {
			total = 0
		}
		evs = append(evs, ev{user: u1, query: fmt.Sprint("q", i%3), at: d2.Add(time.Duration(i) * time.Minute), ms: i, total: total, cached: i <= 4})
	}
	evs = append(evs, ev{user: u2, query: "other", at: d2, ms: 5000})
	insert(t, st, evs...)
	perf, err := svc.Performance(context.Background(), user1, analytics.RangeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// (1000 + 1+…+19) / 20 = 1190/20 = 59.5, not the mean of the daily means (505).
	// p95 of 20 values: the ceil(19)-th smallest = 19.
	want := analytics.Performance{
		Days: []analytics.DayPoint{
			{Date: d1.Format(time.DateOnly), Total: 1, AvgMillis: 1000, MaxMillis: 1000, MinMillis: 1000, AvgResults: 5},
			{Date: d2.Format(time.DateOnly), Total: 19, AvgMillis: 10, MaxMillis: 19, MinMillis: 1, AvgResults: 160.0 / 19},
		},
		Modes: []analytics.Mode{{Mode: "natural", Count: 19, AvgMillis: 10}, {Mode: "boolean", Count: 1, AvgMillis: 1000}},
		Summary: analytics.Summary{Total: 20, AvgMillis: 59.5, AvgResults: 165.0 / 20, P95Millis: 19, ZeroResults: 3,
			CacheHitRatio: 4.0 / 20},
	}
	if diff := cmp.Diff(want, perf, cmpopts.EquateApprox(0, 1e-4)); diff != "" {
		t.Errorf("performance (-want +got):\n%s", diff)
	}
}

func TestPopularAndZeroResultQueriesCountTheCallersSearchesOnly(t *testing.T) {
	st, _ := openStore(t)
	svc := newService(t, st, analytics.Options{})
	at := now.Add(-time.Hour).Truncate(time.Millisecond)
	insert(t, st,
		ev{user: u1, query: "pools", at: at, ms: 10, total: 4},
		ev{user: u1, query: "pools", at: at.Add(time.Minute), ms: 30, total: 0, mode: "boolean"},
		ev{user: u1, query: "pools", at: at.Add(2 * time.Minute), ms: 20, total: 0},
		ev{user: u1, query: "zzz", at: at, ms: 5, total: 0},
		ev{user: u2, query: "zzz", at: at, ms: 5, total: 0},
		ev{user: u2, query: "zzz", at: at, ms: 5, total: 0},
	)
	pop, err := svc.Popular(context.Background(), user1, analytics.PopularRequest{})
	if err != nil {
		t.Fatal(err)
	}
	wantPop := []events.QueryStats{
		{Query: "pools", Count: 3, AvgMillis: 20, AvgResults: 4.0 / 3, LastUsed: at.Add(2 * time.Minute), Zero: 2},
		{Query: "zzz", Count: 1, AvgMillis: 5, LastUsed: at, Zero: 1},
	}
	if diff := cmp.Diff(wantPop, pop, cmpopts.EquateApprox(0, 1e-4)); diff != "" {
		t.Errorf("popular (-want +got):\n%s", diff)
	}
	zero, err := svc.ZeroResults(context.Background(), user1, analytics.PopularRequest{})
	if err != nil {
		t.Fatal(err)
	}
	wantZero := []events.ZeroQuery{
		{Query: "pools", Count: 2, LastUsed: at.Add(2 * time.Minute), Modes: []string{"boolean", "natural"}},
		{Query: "zzz", Count: 1, LastUsed: at, Modes: []string{"natural"}},
	}
	if diff := cmp.Diff(wantZero, zero); diff != "" {
		t.Errorf("zero results (-want +got):\n%s", diff)
	}
}

func TestHistoryPagesTheRangeNewestFirstWithItsTotal(t *testing.T) {
	st, _ := openStore(t)
	svc := newService(t, st, analytics.Options{})
	var evs []ev
	for i := range 5 {
		evs = append(evs, ev{user: u1, query: fmt.Sprint("q", i), at: now.Add(-time.Duration(i+1) * time.Hour), ms: 1})
	}
	evs = append(evs, ev{user: u1, query: "old", at: now.AddDate(0, 0, -30), ms: 1})
	ids := insert(t, st, evs...)
	items, total, err := svc.History(context.Background(), user1, analytics.PageRequest{Limit: 2, Offset: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, e := range items {
		got = append(got, e.ID)
	}
	if diff := cmp.Diff([]string{ids[1], ids[2]}, got); diff != "" || total != 5 {
		t.Errorf("page (-want +got):\n%s total %d, want 5", diff, total)
	}
}

// blockingInserter holds every insert until released, so that events stay pending.
type blockingInserter struct {
	inner   events.Inserter
	release chan struct{}
}

func (b *blockingInserter) Insert(ctx context.Context, evs []events.Event) error {
	<-b.release
	return b.inner.Insert(ctx, evs)
}

func TestAClickOnAPendingSearchIsAcceptedForItsOwnerAndCountedOnceWritten(t *testing.T) {
	st, _ := openStore(t)
	ins := &blockingInserter{inner: st, release: make(chan struct{})}
	rec := events.NewRecorder(ins, events.RecorderOptions{BatchSize: 1, FlushInterval: time.Hour})
	svc := newService(t, st, analytics.Options{Pending: rec})
	id := uuid.NewString()
	rec.Record(events.Event{ID: id, UserID: u1, Query: "pools", Mode: "natural", ResultCount: 20, TotalCount: 50, ResultOffset: 20,
		CreatedAt: now.Add(-time.Minute)})

	click := analytics.ClickRequest{SearchID: id, ResultID: "s1:t:7", Position: 23}
	if err := svc.RecordClick(context.Background(), user2, click); !errors.Is(err, analytics.ErrSearchNotFound) {
		t.Errorf("another user's click on a pending search: %v, want ErrSearchNotFound", err)
	}
	if err := svc.RecordClick(context.Background(), user1, click); err != nil {
		t.Fatalf("owner's click on a pending search: %v", err)
	}
	close(ins.release)
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Written now: found in the table, and still refused to others.
	if err := svc.RecordClick(context.Background(), user2, click); !errors.Is(err, analytics.ErrSearchNotFound) {
		t.Errorf("another user's click on a written search: %v, want ErrSearchNotFound", err)
	}
	click.Position = 21
	if err := svc.RecordClick(context.Background(), user1, click); err != nil {
		t.Fatalf("owner's click on a written search: %v", err)
	}
	ct, err := svc.ClickThrough(context.Background(), user1, analytics.ClickThroughRequest{MaxPosition: 25})
	if err != nil {
		t.Fatal(err)
	}
	if ct.SearchesWithResults != 1 || ct.SearchesWithClicks != 1 || ct.Rate != 1 {
		t.Errorf("totals = %d with results, %d with clicks, rate %v", ct.SearchesWithResults, ct.SearchesWithClicks, ct.Rate)
	}
	for _, pc := range ct.Positions {
		wantImp, wantClicks := int64(0), int64(0)
		if pc.Position > 20 {
			wantImp = 1
		}
		if pc.Position == 21 || pc.Position == 23 {
			wantClicks = 1
		}
		if pc.Impressions != wantImp || pc.Clicks != wantClicks {
			t.Errorf("position %d: %d impressions %d clicks, want %d and %d", pc.Position, pc.Impressions, pc.Clicks, wantImp, wantClicks)
		}
	}
}

func TestAClickWaitsForASearchAnotherReplicaWritesAMomentLater(t *testing.T) {
	st, _ := openStore(t)
	svc := newService(t, st, analytics.Options{ClickWait: 3 * time.Second})
	id := uuid.NewString()
	go func() {
		time.Sleep(300 * time.Millisecond) // the other replica's flush
		if err := st.Insert(context.Background(), []events.Event{{ID: id, UserID: u1, Query: "pools", Mode: "natural",
			ResultCount: 5, TotalCount: 5, CreatedAt: now.Add(-time.Second)}}); err != nil {
			t.Error(err)
		}
	}()
	if err := svc.RecordClick(context.Background(), user1, analytics.ClickRequest{SearchID: id, ResultID: "s1:t:1", Position: 1}); err != nil {
		t.Fatalf("a click on a search written 300 ms later: %v", err)
	}
	// Another user's click still finds nothing, after the wait.
	start := time.Now()
	err := svc.RecordClick(context.Background(), user2, analytics.ClickRequest{SearchID: id, ResultID: "s1:t:1", Position: 1})
	if !errors.Is(err, analytics.ErrSearchNotFound) {
		t.Errorf("another user's click: %v, want ErrSearchNotFound", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("a click on another user's written search waited %s; it is found at once", took)
	}
}

func TestAClickOnAnUnknownSearchIsRefused(t *testing.T) {
	st, _ := openStore(t)
	svc := newService(t, st, analytics.Options{})
	err := svc.RecordClick(context.Background(), user1, analytics.ClickRequest{SearchID: uuid.NewString(), ResultID: "r", Position: 1})
	if !errors.Is(err, analytics.ErrSearchNotFound) {
		t.Errorf("got %v, want ErrSearchNotFound", err)
	}
}

// recordingInsights records the input and answers with out or err.
type recordingInsights struct {
	got analytics.InsightsInput
	out analytics.Insights
	err error
}

func (r *recordingInsights) GenerateInsights(_ context.Context, in analytics.InsightsInput) (analytics.Insights, error) {
	r.got = in
	return r.out, r.err
}

func TestInsightsAreDrawnFromTheRangeAndThePreviousOneAndAnswerUnavailableOnFailure(t *testing.T) {
	st, _ := openStore(t)
	cur, prev := now.Add(-2*24*time.Hour), now.Add(-9*24*time.Hour)
	insert(t, st,
		ev{user: u1, query: "pools", at: cur, ms: 10, total: 3, count: 3},
		ev{user: u1, query: "pools", at: cur, ms: 30, total: 0, cached: true},
		ev{user: u1, query: "rare", at: cur, ms: 20, total: 1, count: 1},
		ev{user: u1, query: "pools", at: prev, ms: 10, total: 3},
		ev{user: u2, query: "pools", at: cur, ms: 99},
	)
	gen := &recordingInsights{out: analytics.Insights{Items: []analytics.Insight{{Type: "zero_results", Confidence: 0.9}}, Source: "fallback"}}
	svc := newService(t, st, analytics.Options{Insights: gen})
	got, err := svc.Insights(context.Background(), user1, analytics.RangeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(gen.out, got); diff != "" {
		t.Errorf("insights (-want +got):\n%s", diff)
	}
	want := analytics.InsightsInput{Period: "week", Total: 3, PreviousTotal: 1, AvgMillis: 20, ZeroResults: 1, CacheHitRatio: 1.0 / 3,
		Queries: []analytics.QueryStat{
			{Query: "pools", Count: 2, PreviousCount: 1, AvgMillis: 20, AvgResults: 1.5, ZeroResults: 1},
			{Query: "rare", Count: 1, AvgMillis: 20, AvgResults: 1},
		},
		Sources: []analytics.SourceStat{}}
	if diff := cmp.Diff(want, gen.got, cmpopts.EquateApprox(0, 1e-4)); diff != "" {
		t.Errorf("insights input (-want +got):\n%s", diff)
	}

	gen.err = errors.New("enhance: Unimplemented")
	got, err = svc.Insights(context.Background(), user1, analytics.RangeRequest{})
	if err != nil {
		t.Fatalf("a failed generator failed the call: %v", err)
	}
	if diff := cmp.Diff(analytics.Insights{Items: []analytics.Insight{}, Source: analytics.SourceUnavailable}, got); diff != "" {
		t.Errorf("insights of a failed generator (-want +got):\n%s", diff)
	}
	dash, err := svc.Dashboard(context.Background(), user1, analytics.RangeRequest{})
	if err != nil || dash.Insights.Source != analytics.SourceUnavailable || dash.TopQuery != "pools" {
		t.Errorf("dashboard with a failed generator: %+v, %v", dash, err)
	}
}

// directory is the account service's answer in a test.
type directory map[string]analytics.UserInfo

func (d directory) LookupUsers(_ context.Context, ids []string) ([]analytics.UserInfo, error) {
	var out []analytics.UserInfo
	for _, id := range ids {
		if u, ok := d[id]; ok {
			out = append(out, u)
		}
	}
	return out, nil
}

func TestAdminReportsAreSystemWideAndRefusedToNonAdmins(t *testing.T) {
	st, _ := openStore(t)
	svc := newService(t, st, analytics.Options{Users: directory{u1: {ID: u1, Email: "a@example.com", Name: "Ada", Role: "user"}}})
	at := now.Add(-time.Hour).Truncate(time.Millisecond)
	insert(t, st,
		ev{user: u1, query: "a", at: at, ms: 10, total: 2},
		ev{user: u1, query: "b", at: at.Add(time.Second), ms: 30, total: 4},
		ev{user: u2, query: "slowest", at: at, ms: 500, total: 0},
	)
	ctx := context.Background()
	if _, err := svc.SystemOverview(ctx, user1, analytics.RangeRequest{}); !errors.Is(err, analytics.ErrNotAdmin) {
		t.Errorf("overview for a user: %v", err)
	}
	if _, err := svc.UserActivity(ctx, user1, analytics.PageRequest{}); !errors.Is(err, analytics.ErrNotAdmin) {
		t.Errorf("user activity for a user: %v", err)
	}
	if _, err := svc.SystemPerformance(ctx, user1, analytics.RangeRequest{}); !errors.Is(err, analytics.ErrNotAdmin) {
		t.Errorf("system performance for a user: %v", err)
	}
	ov, err := svc.SystemOverview(ctx, admin, analytics.RangeRequest{Period: "day"})
	if err != nil {
		t.Fatal(err)
	}
	wantOv := analytics.SystemOverview{Summary: events.SystemSummary{Users: 2, Total: 3, AvgMillis: 180, AvgResults: 2, MaxMillis: 500},
		Volume: []events.DayVolume{{Day: at.Truncate(24 * time.Hour), Count: 3, Users: 2}}, Period: "day"}
	if diff := cmp.Diff(wantOv, ov, cmpopts.EquateApprox(0, 1e-4)); diff != "" {
		t.Errorf("overview (-want +got):\n%s", diff)
	}
	ua, err := svc.UserActivity(ctx, admin, analytics.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	wantUA := []analytics.UserActivity{
		{UserStats: events.UserStats{UserID: u1, Count: 2, AvgMillis: 20, Last: at.Add(time.Second)}, Email: "a@example.com", Name: "Ada", Role: "user"},
		{UserStats: events.UserStats{UserID: u2, Count: 1, AvgMillis: 500, Last: at}},
	}
	if diff := cmp.Diff(wantUA, ua, cmpopts.EquateApprox(0, 1e-4)); diff != "" {
		t.Errorf("user activity (-want +got):\n%s", diff)
	}
	sp, err := svc.SystemPerformance(ctx, admin, analytics.RangeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if sp.Total != 3 || sp.Peak != 500 || len(sp.Slowest) != 3 || sp.Slowest[0].Query != "slowest" || sp.Slowest[0].UserID != u2 {
		t.Errorf("system performance = %+v", sp)
	}
}

func TestAnEmptyRangeAnswersZerosAndEmptyLists(t *testing.T) {
	st, _ := openStore(t)
	svc := newService(t, st, analytics.Options{})
	ctx := context.Background()
	perf, err := svc.Performance(ctx, user1, analytics.RangeRequest{Period: "day"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(analytics.Performance{Days: []analytics.DayPoint{}, Modes: []analytics.Mode{}}, perf); diff != "" {
		t.Errorf("empty performance (-want +got):\n%s", diff)
	}
	tr, err := svc.SearchTrends(ctx, user1, analytics.RangeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(analytics.Trend{Period: "week", TopQueries: []string{}}, tr); diff != "" {
		t.Errorf("empty trend (-want +got):\n%s", diff)
	}
	ins, err := svc.Insights(ctx, user1, analytics.RangeRequest{})
	if err != nil || ins.Source != analytics.SourceUnavailable || ins.Items == nil || len(ins.Items) != 0 {
		t.Errorf("insights without a generator = %+v, %v", ins, err)
	}
}
