// Package eventstest fills a migrated search_analytics (and search_clicks)
// with many synthetic events, for the EXPLAIN tests and benchmarks of the
// analytics statements.
package eventstest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/altus4/altus/services/search/internal/events"
)

// Seeded describes what Seed wrote.
type Seeded struct {
	Users  []string
	Events int
	Clicks int
	// Now is the end of the year the events are spread over.
	Now time.Time
}

// Seed writes n events of users (spread uniformly over the year before
// now, with deterministic contents) through store's multi-row inserts, and
// a click on about one search with results in ten, then ANALYZEs both
// tables so that plans reflect the data.
func Seed(ctx context.Context, db *sql.DB, store *events.Store, users []string, n int, now time.Time) (Seeded, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	modes := []string{"natural", "natural", "boolean", "expansion"}
	sources := []string{"11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"}
	const batch = 5000
	var clicks []events.Click
	for done := 0; done < n; {
		size := min(batch, n-done)
		evs := make([]events.Event, size)
		for i := range evs {
			total := 0
			if rng.IntN(10) > 0 {
				total = 1 + rng.IntN(200)
			}
			offset := 20 * rng.IntN(3)
			count := max(0, min(total-offset, 20))
			ms := 1 + rng.IntN(400)
			at := now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Millisecond)
			e := events.Event{
				ID: uuid.NewString(), UserID: users[rng.IntN(len(users))],
				Query: fmt.Sprintf("query %d", rng.IntN(300)), Mode: modes[rng.IntN(len(modes))],
				Databases: sources, ResultCount: count, TotalCount: total, ResultOffset: offset,
				ExecutionTime: time.Duration(ms) * time.Millisecond, Cached: rng.IntN(5) == 0,
				Sources:   []events.SourceTiming{{ID: sources[0], Millis: int64(ms / 2)}, {ID: sources[1], Millis: int64(ms), Failed: rng.IntN(50) == 0}},
				CreatedAt: at,
			}
			evs[i] = e
			if count > 0 && rng.IntN(10) == 0 {
				clicks = append(clicks, events.Click{ID: uuid.NewString(), SearchID: e.ID, UserID: e.UserID,
					ResultID: "r", Position: offset + 1 + rng.IntN(count), CreatedAt: at.Add(time.Second)})
			}
		}
		if err := store.Insert(ctx, evs); err != nil {
			return Seeded{}, err
		}
		done += size
	}
	for len(clicks) > 0 {
		m := min(len(clicks), 1000)
		var b strings.Builder
		b.WriteString("INSERT INTO search_clicks (id, search_id, user_id, result_id, position, created_at) VALUES ")
		args := make([]any, 0, m*6)
		for i, c := range clicks[:m] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?)")
			args = append(args, c.ID, c.SearchID, c.UserID, c.ResultID, c.Position, c.CreatedAt.UTC())
		}
		if _, err := db.ExecContext(ctx, b.String(), args...); err != nil {
			return Seeded{}, fmt.Errorf("eventstest: insert clicks: %w", err)
		}
		clicks = clicks[m:]
	}
	for _, t := range []string{"search_analytics", "search_clicks"} {
		if _, err := db.ExecContext(ctx, "ANALYZE TABLE "+t); err != nil {
			return Seeded{}, fmt.Errorf("eventstest: analyze %s: %w", t, err)
		}
	}
	var s Seeded
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM search_analytics").Scan(&s.Events); err != nil {
		return Seeded{}, err
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM search_clicks").Scan(&s.Clicks); err != nil {
		return Seeded{}, err
	}
	s.Users, s.Now = users, now
	return s, nil
}

// Users returns n fixed user ids.
func Users(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("00000000-0000-0000-0000-%012d", i+1)
	}
	return out
}
