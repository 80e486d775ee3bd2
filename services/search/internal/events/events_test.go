package events_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/search/internal/events"
)

func openStore(t *testing.T) (*events.Store, *sql.DB) {
	t.Helper()
	db, _ := testenv.OpenDatabase(t)
	if _, err := migrate.Up(context.Background(), db, events.Service, events.Migrations(), nil); err != nil {
		t.Fatal(err)
	}
	return events.NewStore(db), db
}

func event(user, query string, at time.Time) events.Event {
	return events.Event{
		ID: uuid.NewString(), UserID: user, Query: query, Mode: "natural",
		Databases: []string{"11111111-1111-1111-1111-111111111111"}, ResultCount: 3, TotalCount: 42,
		ExecutionTime: 12 * time.Millisecond, CreatedAt: at.UTC().Truncate(time.Millisecond),
	}
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM search_analytics").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestInsertThenHistoryReturnsTheUsersEventsNewestFirst(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var evs []events.Event
	for i := range 5 {
		evs = append(evs, event("u1", fmt.Sprint("query ", i), base.Add(time.Duration(i)*time.Minute)))
	}
	other := event("u2", "someone else", base.Add(time.Hour))
	other.APIKeyID = "22222222-2222-2222-2222-222222222222"
	other.Cached = true
	evs = append(evs, other)
	if err := s.Insert(ctx, evs); err != nil {
		t.Fatal(err)
	}

	got, err := s.History(ctx, "u1", 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []events.Event{evs[3], evs[2]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history page (-want +got):\n%s", diff)
	}
	got, err = s.History(ctx, "u2", 20, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]events.Event{other}, got); diff != "" {
		t.Errorf("other user's history (-want +got):\n%s", diff)
	}
}

func TestInsertWritesMoreThanOneStatementsWorthOfRows(t *testing.T) {
	s, db := openStore(t)
	var evs []events.Event
	now := time.Now()
	for i := range 1201 {
		evs = append(evs, event("u1", fmt.Sprint("q", i), now))
	}
	if err := s.Insert(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db); got != 1201 {
		t.Errorf("rows = %d, want 1201", got)
	}
}

// countingInserter counts Insert calls and the events they carried.
type countingInserter struct {
	inner events.Inserter
	mu    sync.Mutex
	calls []int
}

func (c *countingInserter) Insert(ctx context.Context, evs []events.Event) error {
	c.mu.Lock()
	c.calls = append(c.calls, len(evs))
	c.mu.Unlock()
	return c.inner.Insert(ctx, evs)
}

func TestRecorderWritesAFullBatchWithOneInsertWithoutWaitingForTheInterval(t *testing.T) {
	s, db := openStore(t)
	ins := &countingInserter{inner: s}
	flushed := make(chan int, 10)
	r := events.NewRecorder(ins, events.RecorderOptions{BatchSize: 100, FlushInterval: time.Hour,
		Flushed: func(n int, err error) {
			if err != nil {
				t.Errorf("flush: %v", err)
			}
			flushed <- n
		}})
	defer r.Close(context.Background())
	for i := range 100 {
		if !r.Record(event("u1", fmt.Sprint("q", i), time.Now())) {
			t.Fatal("an event was dropped")
		}
	}
	if n := <-flushed; n != 100 {
		t.Fatalf("batch of %d, want 100", n)
	}
	if got := count(t, db); got != 100 {
		t.Errorf("rows = %d, want 100", got)
	}
	ins.mu.Lock()
	defer ins.mu.Unlock()
	if diff := cmp.Diff([]int{100}, ins.calls); diff != "" {
		t.Errorf("insert calls (-want +got):\n%s", diff)
	}
}

func TestRecorderWritesAPartialBatchAfterTheInterval(t *testing.T) {
	s, db := openStore(t)
	flushed := make(chan int, 10)
	r := events.NewRecorder(s, events.RecorderOptions{BatchSize: 100, FlushInterval: 50 * time.Millisecond,
		Flushed: func(n int, err error) { flushed <- n }})
	defer r.Close(context.Background())
	for i := range 3 {
		r.Record(event("u1", fmt.Sprint("q", i), time.Now()))
	}
	total := 0
	for total < 3 {
		total += <-flushed
	}
	if got := count(t, db); got != 3 {
		t.Errorf("rows = %d, want 3", got)
	}
}

func TestRecorderCloseWritesEveryQueuedEvent(t *testing.T) {
	s, db := openStore(t)
	r := events.NewRecorder(s, events.RecorderOptions{BatchSize: 100, FlushInterval: time.Hour})
	for i := range 7 {
		r.Record(event("u1", fmt.Sprint("q", i), time.Now()))
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db); got != 7 {
		t.Errorf("rows after close = %d, want 7", got)
	}
}

// blockingInserter holds the first Insert until released.
type blockingInserter struct {
	inner   events.Inserter
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingInserter) Insert(ctx context.Context, evs []events.Event) error {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	return b.inner.Insert(ctx, evs)
}

func TestRecorderDropsAndCountsEventsWhenTheQueueIsFullWithoutBlocking(t *testing.T) {
	s, db := openStore(t)
	ins := &blockingInserter{inner: s, entered: make(chan struct{}), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	r := events.NewRecorder(ins, events.RecorderOptions{QueueSize: 2, BatchSize: 1, FlushInterval: time.Hour, Registry: reg})
	// The first event is taken by the loop, whose insert then blocks.
	r.Record(event("u1", "first", time.Now()))
	<-ins.entered
	var accepted int
	for i := range 5 {
		if r.Record(event("u1", fmt.Sprint("q", i), time.Now())) {
			accepted++
		}
	}
	if accepted != 2 {
		t.Errorf("accepted %d events with a queue of 2", accepted)
	}
	if got := r.Dropped(); got != 3 {
		t.Errorf("dropped = %v, want 3", got)
	}
	close(ins.release)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db); got != 3 {
		t.Errorf("rows = %d, want 3 (the first and the two queued)", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != events.MetricEvents {
			continue
		}
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if diff := cmp.Diff(map[string]float64{"written": 3, "dropped": 3, "failed": 0}, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", events.MetricEvents, diff)
	}
}

// explainKey returns the key column of EXPLAIN for query.
func explainKey(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.Query("EXPLAIN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		t.Fatal("EXPLAIN returned no row")
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	for i, c := range cols {
		if c == "key" {
			return vals[i].String
		}
	}
	t.Fatalf("EXPLAIN has no key column: %v", cols)
	return ""
}

func TestHistoryTrendsAndPopularReadThroughTheUserCreatedIndex(t *testing.T) {
	s, db := openStore(t)
	var evs []events.Event
	for i := range 300 {
		evs = append(evs, event(fmt.Sprint("user", i%30), fmt.Sprint("query ", i%7), time.Now().Add(-time.Duration(i)*time.Hour)))
	}
	if err := s.Insert(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("ANALYZE TABLE search_analytics"); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-28 * 24 * time.Hour)
	for name, q := range events.Queries() {
		t.Run(name, func(t *testing.T) {
			if got := explainKey(t, db, q.SQL, q.Args("user3", since)...); got != events.IndexUserCreated {
				t.Errorf("EXPLAIN key = %q, want %q", got, events.IndexUserCreated)
			}
		})
	}
}

func TestTrendsAggregateDaysAndWeeksWithTopQueries(t *testing.T) {
	s, _ := openStore(t)
	// Wednesday 2026-03-11.
	now := time.Date(2026, 3, 11, 15, 0, 0, 0, time.UTC)
	at := func(daysAgo int) time.Time { return now.AddDate(0, 0, -daysAgo) }
	var evs []events.Event
	add := func(user, q string, daysAgo int, ms int) {
		e := event(user, q, at(daysAgo))
		e.ExecutionTime = time.Duration(ms) * time.Millisecond
		evs = append(evs, e)
	}
	add("u1", "mariadb", 0, 10)
	add("u1", "mariadb", 0, 30)
	add("u1", "redis", 0, 20)
	add("u1", "redis", 1, 40)  // Tuesday, same ISO week
	add("u1", "pools", 3, 50)  // Sunday 2026-03-08, previous week
	add("u1", "pools", 40, 50) // outside every window
	add("u2", "other", 0, 99)  // another user
	if err := s.Insert(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Trends(context.Background(), "u1", now)
	if err != nil {
		t.Fatal(err)
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	want := []events.Trend{
		{Period: "2026-03-11", Kind: "day", TopQueries: []string{"mariadb", "redis"}, Volume: 3, AvgResponseTime: ms(20)},
		{Period: "2026-03-10", Kind: "day", TopQueries: []string{"redis"}, Volume: 1, AvgResponseTime: ms(40)},
		{Period: "2026-03-09", Kind: "day", TopQueries: []string{}},
		{Period: "2026-03-08", Kind: "day", TopQueries: []string{"pools"}, Volume: 1, AvgResponseTime: ms(50)},
		{Period: "2026-03-07", Kind: "day", TopQueries: []string{}},
		{Period: "2026-03-06", Kind: "day", TopQueries: []string{}},
		{Period: "2026-03-05", Kind: "day", TopQueries: []string{}},
		{Period: "2026-W11", Kind: "week", TopQueries: []string{"mariadb", "redis"}, Volume: 4, AvgResponseTime: ms(25)},
		{Period: "2026-W10", Kind: "week", TopQueries: []string{"pools"}, Volume: 1, AvgResponseTime: ms(50)},
		{Period: "2026-W09", Kind: "week", TopQueries: []string{}},
		{Period: "2026-W08", Kind: "week", TopQueries: []string{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trends (-want +got):\n%s", diff)
	}
}

func TestPopularMatchesThePrefixCaseInsensitivelyEscapesPatternCharactersAndSkipsSearchesThatFoundNothing(t *testing.T) {
	s, _ := openStore(t)
	now := time.Now()
	var evs []events.Event
	for _, q := range []string{"Database pools", "database pools", "database pools", "data%base", "datum", "database tuning", "other"} {
		evs = append(evs, event("u1", q, now))
	}
	evs = append(evs, event("u2", "database secret", now))
	// Searches that found nothing are not counted; a later page past the
	// end (no rows on it, but a total) is.
	for _, q := range []string{"databse", "databse", "databse", "databse", "database pools"} {
		e := event("u1", q, now)
		e.ResultCount, e.TotalCount = 0, 0
		evs = append(evs, e)
	}
	past := event("u1", "database tuning", now)
	past.ResultCount, past.ResultOffset = 0, 100
	evs = append(evs, past)
	if err := s.Insert(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prefix string
		want   []events.QueryCount
	}{
		{"datab", []events.QueryCount{{"database pools", 3}, {"database tuning", 2}}},
		{"data%", []events.QueryCount{{"data%base", 1}}},
		{"zzz", nil},
	}
	for _, tt := range tests {
		got, err := s.Popular(context.Background(), "u1", tt.prefix, now.Add(-time.Hour), 5)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			got[i].Query = strings.ToLower(got[i].Query)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Popular(%q) (-want +got):\n%s", tt.prefix, diff)
		}
	}
}
