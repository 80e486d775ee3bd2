package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Indexes the analytics statements read through.
const (
	// IndexUserCover serves the aggregates of one user's range: every
	// column they read is in it, so that no row is read.
	IndexUserCover = "idx_search_analytics_user_cover"
	// IndexCreatedCover serves the system-wide reports: a range of
	// created_at with the columns they aggregate, so that no row is read.
	IndexCreatedCover = "idx_search_analytics_created_cover"
	// IndexClicksUserCreated serves the caller's clicks.
	IndexClicksUserCreated = "idx_search_clicks_user_created"
)

// Range is the half-open interval [Start, End) of created_at.
type Range struct {
	Start, End time.Time
}

func (r Range) args() []any { return []any{dbTime(r.Start), dbTime(r.End)} }

// dbTime returns t in UTC rounded up to the millisecond, the precision of
// created_at. With a parameter of finer precision MariaDB gives up the
// range on created_at and reads a whole index (EXPLAIN type "index"):
// over 100,000 events the admin user-activity statement went from 6 ms to
// 890 ms. Rounding up keeps both ends exact: created_at >= start and
// created_at < end select the same rows.
func dbTime(t time.Time) time.Time {
	t = t.UTC()
	ms := t.Truncate(time.Millisecond)
	if ms.Before(t) {
		ms = ms.Add(time.Millisecond)
	}
	return ms
}

// Every statement of the analytics reports. Each is listed in Statements
// with the index it must read through, so that one test EXPLAINs them all.
const (
	userRange   = " FROM search_analytics WHERE user_id = ? AND created_at >= ? AND created_at < ?"
	systemRange = " FROM search_analytics WHERE created_at >= ? AND created_at < ?"

	summaryCols = "SELECT COUNT(*), COALESCE(AVG(execution_time_ms), 0), COALESCE(AVG(total_count), 0), " +
		"COALESCE(SUM(total_count = 0), 0), COALESCE(SUM(cached), 0), COALESCE(MAX(execution_time_ms), 0), COALESCE(MIN(execution_time_ms), 0)"
	userSummaryQuery = summaryCols + userRange

	userP95Query = "SELECT execution_time_ms" + userRange + " ORDER BY execution_time_ms LIMIT 1 OFFSET ?"

	dayCols = "SELECT DATE(created_at) AS d, COUNT(*), AVG(execution_time_ms), MAX(execution_time_ms), MIN(execution_time_ms), AVG(total_count)"
	dayTail = " GROUP BY d ORDER BY d"

	userDaysQuery = dayCols + userRange + dayTail

	userModesQuery = "SELECT search_mode, COUNT(*) AS n, AVG(execution_time_ms)" + userRange +
		" GROUP BY search_mode ORDER BY n DESC, search_mode"

	userPopularQuery = "SELECT query_text, COUNT(*) AS n, AVG(execution_time_ms), AVG(total_count), MAX(created_at), SUM(total_count = 0)" +
		userRange + " GROUP BY query_text ORDER BY n DESC, query_text LIMIT ?"

	userZeroQuery = "SELECT query_text, COUNT(*) AS n, MAX(created_at), GROUP_CONCAT(DISTINCT search_mode ORDER BY search_mode SEPARATOR ',')" +
		userRange + " AND total_count = 0 GROUP BY query_text ORDER BY n DESC, query_text LIMIT ?"

	userCountQuery = "SELECT COUNT(*)" + userRange

	userPageQuery = "SELECT id, query_text, search_mode, `databases`, result_count, total_count, execution_time_ms, cached, api_key_id, result_offset, created_at" +
		userRange + " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"

	userImpressionsQuery = "SELECT result_offset, result_count, COUNT(*)" + userRange +
		" AND result_count > 0 GROUP BY result_offset, result_count"

	// Clicks count once per search and position, and only on searches of
	// the same user made in the range (a click never precedes its search,
	// so c.created_at >= start bounds the clicks read).
	clicksJoin = " FROM search_clicks c JOIN search_analytics s ON s.id = c.search_id AND s.user_id = c.user_id" +
		" WHERE c.user_id = ? AND c.created_at >= ? AND s.created_at >= ? AND s.created_at < ? AND s.result_count > 0"

	userClicksQuery = "SELECT c.position, COUNT(DISTINCT c.search_id)" + clicksJoin + " AND c.position <= ? GROUP BY c.position"

	userClickedSearchesQuery = "SELECT COUNT(DISTINCT c.search_id)" + clicksJoin

	userTimingsQuery = "SELECT source_timings" + userRange + " AND source_timings IS NOT NULL ORDER BY created_at DESC LIMIT ?"

	systemSummaryQuery = "SELECT COUNT(DISTINCT user_id), COUNT(*), COALESCE(AVG(execution_time_ms), 0), COALESCE(AVG(total_count), 0), COALESCE(MAX(execution_time_ms), 0)" +
		systemRange

	systemVolumeQuery = "SELECT DATE(created_at) AS d, COUNT(*), COUNT(DISTINCT user_id)" + systemRange + dayTail

	systemDaysQuery = dayCols + systemRange + dayTail

	systemUsersQuery = "SELECT user_id, COUNT(*) AS n, AVG(execution_time_ms), MAX(created_at)" + systemRange +
		" GROUP BY user_id ORDER BY n DESC, user_id LIMIT ? OFFSET ?"

	// The slowest searches are found in the covering index, then their
	// rows are read by primary key.
	systemSlowestQuery = "SELECT s.query_text, s.execution_time_ms, s.total_count, s.created_at, s.user_id FROM (" +
		"SELECT id, execution_time_ms" + systemRange + " ORDER BY execution_time_ms DESC, id LIMIT ?" +
		") t JOIN search_analytics s ON s.id = t.id ORDER BY s.execution_time_ms DESC, s.id"

	clickOwnerQuery = "SELECT user_id FROM search_analytics WHERE id = ?"

	insertClickQuery = "INSERT INTO search_clicks (id, search_id, user_id, result_id, position, created_at) VALUES (?, ?, ?, ?, ?, ?)"

	appendClickedQuery = "UPDATE search_analytics SET clicked_results = JSON_ARRAY_APPEND(COALESCE(clicked_results, JSON_ARRAY()), '$', " +
		"JSON_OBJECT('resultId', ?, 'position', ?, 'at', ?)) WHERE id = ? AND user_id = ?"
)

// MaxTimingRows bounds the events whose source timings a report reads:
// the per-source numbers of the insights are those of the range's most
// recent 5000 searches.
const MaxTimingRows = 5000

// Statement is one analytics read with the index it must use and sample
// arguments for a user and a range (for EXPLAIN in tests).
type Statement struct {
	SQL string
	// Indexes are the indexes of search_analytics (or search_clicks) it may
	// read through: one user's statements either of the two that begin
	// with (user_id, created_at), the optimizer choosing by cost.
	Indexes []string
	Args    func(user string, r Range) []any
}

// userIndexes begin with (user_id, created_at).
var userIndexes = []string{IndexUserCover, IndexUserCreated}

// Statements returns every statement the analytics reports run, by name.
func Statements() map[string]Statement {
	ur := func(extra ...any) func(string, Range) []any {
		return func(u string, r Range) []any { return append([]any{u, dbTime(r.Start), dbTime(r.End)}, extra...) }
	}
	sr := func(extra ...any) func(string, Range) []any {
		return func(_ string, r Range) []any { return append(r.args(), extra...) }
	}
	cj := func(extra ...any) func(string, Range) []any {
		return func(u string, r Range) []any {
			return append([]any{u, dbTime(r.Start), dbTime(r.Start), dbTime(r.End)}, extra...)
		}
	}
	return map[string]Statement{
		"user summary":          {userSummaryQuery, userIndexes, ur()},
		"user p95":              {userP95Query, userIndexes, ur(10)},
		"user days":             {userDaysQuery, userIndexes, ur()},
		"user modes":            {userModesQuery, userIndexes, ur()},
		"user popular":          {userPopularQuery, userIndexes, ur(20)},
		"user zero results":     {userZeroQuery, userIndexes, ur(20)},
		"user history count":    {userCountQuery, userIndexes, ur()},
		"user history page":     {userPageQuery, userIndexes, ur(20, 0)},
		"user impressions":      {userImpressionsQuery, userIndexes, ur()},
		"user clicks":           {userClicksQuery, []string{IndexClicksUserCreated}, cj(10)},
		"user clicked searches": {userClickedSearchesQuery, []string{IndexClicksUserCreated}, cj()},
		"user source timings":   {userTimingsQuery, userIndexes, ur(MaxTimingRows)},
		"system summary":        {systemSummaryQuery, []string{IndexCreatedCover}, sr()},
		"system volume":         {systemVolumeQuery, []string{IndexCreatedCover}, sr()},
		"system days":           {systemDaysQuery, []string{IndexCreatedCover}, sr()},
		"system users":          {systemUsersQuery, []string{IndexCreatedCover}, sr(20, 0)},
		"system slowest":        {systemSlowestQuery, []string{IndexCreatedCover}, sr(10)},
	}
}

// Summary sums up the searches of a range.
type Summary struct {
	Total int64
	// AvgMillis and AvgResults are over every search of the range.
	AvgMillis  float64
	AvgResults float64
	Zero       int64
	Cached     int64
	MaxMillis  int64
	MinMillis  int64
}

// UserSummary sums up the user's searches in r.
func (s *Store) UserSummary(ctx context.Context, user string, r Range) (Summary, error) {
	var m Summary
	err := s.reads.QueryRowContext(ctx, userSummaryQuery, user, dbTime(r.Start), dbTime(r.End)).
		Scan(&m.Total, &m.AvgMillis, &m.AvgResults, &m.Zero, &m.Cached, &m.MaxMillis, &m.MinMillis)
	if err != nil {
		return Summary{}, fmt.Errorf("events: summary: %w", err)
	}
	return m, nil
}

// UserP95 returns the 95th percentile of the user's execution times in r
// (nearest rank: the ceil(0.95·n)-th smallest), given their number n.
func (s *Store) UserP95(ctx context.Context, user string, r Range, n int64) (int64, error) {
	if n <= 0 {
		return 0, nil
	}
	rank := (95*n + 99) / 100 // ceil(0.95 n), >= 1
	var ms int64
	err := s.reads.QueryRowContext(ctx, userP95Query, user, dbTime(r.Start), dbTime(r.End), rank-1).Scan(&ms)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("events: p95: %w", err)
	}
	return ms, nil
}

// DayStats are the searches of one UTC day.
type DayStats struct {
	Day        time.Time
	Count      int64
	AvgMillis  float64
	MaxMillis  float64
	MinMillis  float64
	AvgResults float64
}

// UserDays returns the user's searches per day of r, oldest first (days
// without searches are left out).
func (s *Store) UserDays(ctx context.Context, user string, r Range) ([]DayStats, error) {
	return s.days(ctx, userDaysQuery, user, dbTime(r.Start), dbTime(r.End))
}

// SystemDays returns every user's searches per day of r, oldest first.
func (s *Store) SystemDays(ctx context.Context, r Range) ([]DayStats, error) {
	return s.days(ctx, systemDaysQuery, r.args()...)
}

func (s *Store) days(ctx context.Context, q string, args ...any) ([]DayStats, error) {
	rows, err := s.reads.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("events: days: %w", err)
	}
	defer rows.Close()
	var out []DayStats
	for rows.Next() {
		var d DayStats
		if err := rows.Scan(&d.Day, &d.Count, &d.AvgMillis, &d.MaxMillis, &d.MinMillis, &d.AvgResults); err != nil {
			return nil, fmt.Errorf("events: days: %w", err)
		}
		d.Day = d.Day.UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: days: %w", err)
	}
	return out, nil
}

// ModeStats are the searches of one mode.
type ModeStats struct {
	Mode      string
	Count     int64
	AvgMillis float64
}

// UserModes returns the user's searches in r per mode, most used first.
func (s *Store) UserModes(ctx context.Context, user string, r Range) ([]ModeStats, error) {
	rows, err := s.reads.QueryContext(ctx, userModesQuery, user, dbTime(r.Start), dbTime(r.End))
	if err != nil {
		return nil, fmt.Errorf("events: modes: %w", err)
	}
	defer rows.Close()
	var out []ModeStats
	for rows.Next() {
		var m ModeStats
		if err := rows.Scan(&m.Mode, &m.Count, &m.AvgMillis); err != nil {
			return nil, fmt.Errorf("events: modes: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: modes: %w", err)
	}
	return out, nil
}

// QueryStats are the searches of one query text.
type QueryStats struct {
	Query      string
	Count      int64
	AvgMillis  float64
	AvgResults float64
	LastUsed   time.Time
	Zero       int64
}

// UserPopular returns the user's query texts in r, most searched first.
func (s *Store) UserPopular(ctx context.Context, user string, r Range, limit int) ([]QueryStats, error) {
	rows, err := s.reads.QueryContext(ctx, userPopularQuery, user, dbTime(r.Start), dbTime(r.End), limit)
	if err != nil {
		return nil, fmt.Errorf("events: popular: %w", err)
	}
	defer rows.Close()
	var out []QueryStats
	for rows.Next() {
		var q QueryStats
		if err := rows.Scan(&q.Query, &q.Count, &q.AvgMillis, &q.AvgResults, &q.LastUsed, &q.Zero); err != nil {
			return nil, fmt.Errorf("events: popular: %w", err)
		}
		q.LastUsed = q.LastUsed.UTC()
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: popular: %w", err)
	}
	return out, nil
}

// ZeroQuery is a query text that found nothing.
type ZeroQuery struct {
	Query    string
	Count    int64
	LastUsed time.Time
	Modes    []string
}

// UserZeroResults returns the user's query texts in r that found nothing,
// most frequent first.
func (s *Store) UserZeroResults(ctx context.Context, user string, r Range, limit int) ([]ZeroQuery, error) {
	rows, err := s.reads.QueryContext(ctx, userZeroQuery, user, dbTime(r.Start), dbTime(r.End), limit)
	if err != nil {
		return nil, fmt.Errorf("events: zero results: %w", err)
	}
	defer rows.Close()
	var out []ZeroQuery
	for rows.Next() {
		var q ZeroQuery
		var modes sql.NullString
		if err := rows.Scan(&q.Query, &q.Count, &q.LastUsed, &modes); err != nil {
			return nil, fmt.Errorf("events: zero results: %w", err)
		}
		q.LastUsed = q.LastUsed.UTC()
		q.Modes = []string{}
		if modes.String != "" {
			q.Modes = strings.Split(modes.String, ",")
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: zero results: %w", err)
	}
	return out, nil
}

// UserHistory returns one page of the user's searches in r, newest first,
// and how many there are in r.
func (s *Store) UserHistory(ctx context.Context, user string, r Range, limit, offset int) ([]Event, int64, error) {
	var total int64
	if err := s.reads.QueryRowContext(ctx, userCountQuery, user, dbTime(r.Start), dbTime(r.End)).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("events: history count: %w", err)
	}
	if total == 0 || int64(offset) >= total {
		return nil, total, nil
	}
	rows, err := s.reads.QueryContext(ctx, userPageQuery, user, dbTime(r.Start), dbTime(r.End), limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("events: history page: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e := Event{UserID: user}
		var dbs, key sql.NullString
		var ms int64
		if err := rows.Scan(&e.ID, &e.Query, &e.Mode, &dbs, &e.ResultCount, &e.TotalCount, &ms, &e.Cached, &key, &e.ResultOffset, &e.CreatedAt); err != nil {
			return nil, 0, fmt.Errorf("events: history page: %w", err)
		}
		e.CreatedAt = e.CreatedAt.UTC()
		e.ExecutionTime = time.Duration(ms) * time.Millisecond
		e.APIKeyID = key.String
		if dbs.Valid && dbs.String != "" {
			if err := json.Unmarshal([]byte(dbs.String), &e.Databases); err != nil {
				return nil, 0, fmt.Errorf("events: history page: databases of %s: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("events: history page: %w", err)
	}
	return out, total, nil
}

// PageShown is how many searches showed a page of Count results at Offset.
type PageShown struct {
	Offset, Count int
	Searches      int64
}

// UserImpressions returns the pages the user's searches in r showed.
func (s *Store) UserImpressions(ctx context.Context, user string, r Range) ([]PageShown, error) {
	rows, err := s.reads.QueryContext(ctx, userImpressionsQuery, user, dbTime(r.Start), dbTime(r.End))
	if err != nil {
		return nil, fmt.Errorf("events: impressions: %w", err)
	}
	defer rows.Close()
	var out []PageShown
	for rows.Next() {
		var p PageShown
		if err := rows.Scan(&p.Offset, &p.Count, &p.Searches); err != nil {
			return nil, fmt.Errorf("events: impressions: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: impressions: %w", err)
	}
	return out, nil
}

// UserClicks returns, per position up to maxPosition, how many of the
// user's searches in r had a click there, and how many searches had any.
func (s *Store) UserClicks(ctx context.Context, user string, r Range, maxPosition int) (map[int]int64, int64, error) {
	args := []any{user, dbTime(r.Start), dbTime(r.Start), dbTime(r.End)}
	rows, err := s.reads.QueryContext(ctx, userClicksQuery, append(args, maxPosition)...)
	if err != nil {
		return nil, 0, fmt.Errorf("events: clicks: %w", err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var pos int
		var n int64
		if err := rows.Scan(&pos, &n); err != nil {
			return nil, 0, fmt.Errorf("events: clicks: %w", err)
		}
		out[pos] = n
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("events: clicks: %w", err)
	}
	var searches int64
	if err := s.reads.QueryRowContext(ctx, userClickedSearchesQuery, args...).Scan(&searches); err != nil {
		return nil, 0, fmt.Errorf("events: clicked searches: %w", err)
	}
	return out, searches, nil
}

// UserSourceTimings returns the source timings of the user's most recent
// searches in r (at most MaxTimingRows searches).
func (s *Store) UserSourceTimings(ctx context.Context, user string, r Range) ([][]SourceTiming, error) {
	rows, err := s.reads.QueryContext(ctx, userTimingsQuery, user, dbTime(r.Start), dbTime(r.End), MaxTimingRows)
	if err != nil {
		return nil, fmt.Errorf("events: source timings: %w", err)
	}
	defer rows.Close()
	var out [][]SourceTiming
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("events: source timings: %w", err)
		}
		var ts []SourceTiming
		if err := json.Unmarshal([]byte(raw), &ts); err != nil {
			return nil, fmt.Errorf("events: source timings: %w", err)
		}
		out = append(out, ts)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: source timings: %w", err)
	}
	return out, nil
}

// SystemSummary sums up every user's searches in a range.
type SystemSummary struct {
	Users      int64
	Total      int64
	AvgMillis  float64
	AvgResults float64
	MaxMillis  int64
}

// SystemSummary sums up every user's searches in r.
func (s *Store) SystemSummary(ctx context.Context, r Range) (SystemSummary, error) {
	var m SystemSummary
	if err := s.reads.QueryRowContext(ctx, systemSummaryQuery, r.args()...).Scan(&m.Users, &m.Total, &m.AvgMillis, &m.AvgResults, &m.MaxMillis); err != nil {
		return SystemSummary{}, fmt.Errorf("events: system summary: %w", err)
	}
	return m, nil
}

// DayVolume is one day of every user's searches.
type DayVolume struct {
	Day   time.Time
	Count int64
	Users int64
}

// SystemVolume returns every user's searches per day of r, oldest first.
func (s *Store) SystemVolume(ctx context.Context, r Range) ([]DayVolume, error) {
	rows, err := s.reads.QueryContext(ctx, systemVolumeQuery, r.args()...)
	if err != nil {
		return nil, fmt.Errorf("events: volume: %w", err)
	}
	defer rows.Close()
	var out []DayVolume
	for rows.Next() {
		var d DayVolume
		if err := rows.Scan(&d.Day, &d.Count, &d.Users); err != nil {
			return nil, fmt.Errorf("events: volume: %w", err)
		}
		d.Day = d.Day.UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: volume: %w", err)
	}
	return out, nil
}

// UserStats are one user's searches in a range.
type UserStats struct {
	UserID    string
	Count     int64
	AvgMillis float64
	Last      time.Time
}

// SystemUsers returns the users who searched in r, most searches first.
func (s *Store) SystemUsers(ctx context.Context, r Range, limit, offset int) ([]UserStats, error) {
	rows, err := s.reads.QueryContext(ctx, systemUsersQuery, append(r.args(), limit, offset)...)
	if err != nil {
		return nil, fmt.Errorf("events: user activity: %w", err)
	}
	defer rows.Close()
	var out []UserStats
	for rows.Next() {
		var u UserStats
		if err := rows.Scan(&u.UserID, &u.Count, &u.AvgMillis, &u.Last); err != nil {
			return nil, fmt.Errorf("events: user activity: %w", err)
		}
		u.Last = u.Last.UTC()
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: user activity: %w", err)
	}
	return out, nil
}

// Slow is one of the slowest searches.
type Slow struct {
	Query      string
	Millis     int64
	TotalCount int64
	CreatedAt  time.Time
	UserID     string
}

// SystemSlowest returns the slowest searches of r, slowest first.
func (s *Store) SystemSlowest(ctx context.Context, r Range, limit int) ([]Slow, error) {
	rows, err := s.reads.QueryContext(ctx, systemSlowestQuery, append(r.args(), limit)...)
	if err != nil {
		return nil, fmt.Errorf("events: slowest: %w", err)
	}
	defer rows.Close()
	var out []Slow
	for rows.Next() {
		var q Slow
		if err := rows.Scan(&q.Query, &q.Millis, &q.TotalCount, &q.CreatedAt, &q.UserID); err != nil {
			return nil, fmt.Errorf("events: slowest: %w", err)
		}
		q.CreatedAt = q.CreatedAt.UTC()
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: slowest: %w", err)
	}
	return out, nil
}

// Click is a result a user opened.
type Click struct {
	ID, SearchID, UserID, ResultID string
	Position                       int
	CreatedAt                      time.Time
}

// SearchOwner returns the user whose search id is, or found false when no
// such search has been written.
func (s *Store) SearchOwner(ctx context.Context, searchID string) (user string, found bool, err error) {
	err = s.db.QueryRowContext(ctx, clickOwnerQuery, searchID).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("events: search owner: %w", err)
	}
	return user, true, nil
}

// InsertClick writes a click, and appends it to the search's
// clicked_results (v1's column) when the search row is already written.
func (s *Store) InsertClick(ctx context.Context, c Click) error {
	at := c.CreatedAt.UTC()
	if _, err := s.db.ExecContext(ctx, insertClickQuery, c.ID, c.SearchID, c.UserID, c.ResultID, c.Position, at); err != nil {
		return fmt.Errorf("events: insert click: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, appendClickedQuery, c.ResultID, c.Position, at.Format(time.RFC3339Nano), c.SearchID, c.UserID); err != nil {
		return fmt.Errorf("events: clicked results: %w", err)
	}
	return nil
}
