// Package events keeps the search service's own table, search_analytics: one
// row per search answered, written in batches by a Recorder so that recording
// never slows or fails a search, and read back for the caller's history,
// trends and popular queries. It knows SQL and nothing of searching.
package events

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Service is the name the migration history is kept under (goose_search).
const Service = "search"

// Migrations returns the goose-format migrations of search_analytics, for
// pkg/migrate.Up.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		// The directory is embedded at build time; a failure is a build defect.
		panic(err)
	}
	return sub
}

// IndexUserCreated is the index history, trends and popular queries read through.
const IndexUserCreated = "idx_search_analytics_user_created"

// Event is one search answered.
type Event struct {
	// ID is a UUID.
	ID     string
	UserID string
	// APIKeyID is the key the search came with ("" for a session).
	APIKeyID string
	Query    string
	// Mode is the mode the search ran in.
	Mode string
	// Databases are the ids of the sources searched, in response order.
	Databases []string
	// ResultCount is the number of results on the page returned.
	ResultCount int
	// TotalCount is the number of matches across every page.
	TotalCount int
	// ExecutionTime is how long the search took.
	ExecutionTime time.Duration
	// Cached is true when the page came from the result cache.
	Cached bool
	// ResultOffset is the offset of the page returned: it showed the
	// positions ResultOffset+1 .. ResultOffset+ResultCount.
	ResultOffset int
	// Sources are the sources searched with their timings (nil when unknown).
	Sources   []SourceTiming
	CreatedAt time.Time
}

// SourceTiming is how one source answered a search.
type SourceTiming struct {
	ID string `json:"id"`
	// Millis is how long the source took, in milliseconds.
	Millis int64 `json:"ms"`
	// Failed is true when the source failed or timed out.
	Failed bool `json:"failed,omitempty"`
}

// Store reads and writes search_analytics.
type Store struct {
	// db is the primary: every write, and the reads that must be current
	// (a search's owner before its click is recorded).
	db *sql.DB
	// reads answers the history and report reads, which tolerate a few
	// seconds of staleness: the primary, or a metadata replica.
	reads Reads
}

// Reads runs read-only statements (a *sql.DB, or a reader that sends them
// to a metadata replica).
type Reads interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// NewStore returns a Store over the metadata database, all on db.
func NewStore(db *sql.DB) *Store { return &Store{db: db, reads: db} }

// NewSplitStore returns a Store that writes (and reads a search's owner) on
// db, the primary, and runs the history and report reads on reads.
func NewSplitStore(db *sql.DB, reads Reads) *Store { return &Store{db: db, reads: reads} }

// insertColumns are written by Insert, in this order.
const insertColumns = "INSERT INTO search_analytics (id, user_id, query_text, search_mode, database_id, result_count, execution_time_ms, `databases`, api_key_id, cached, total_count, result_offset, source_timings, created_at) VALUES "

const insertRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// maxRowsPerInsert bounds one statement (14 placeholders a row).
const maxRowsPerInsert = 500

// Insert writes events with one multi-row INSERT per 500 events.
func (s *Store) Insert(ctx context.Context, evs []Event) error {
	for len(evs) > 0 {
		n := min(len(evs), maxRowsPerInsert)
		if err := s.insert(ctx, evs[:n]); err != nil {
			return err
		}
		evs = evs[n:]
	}
	return nil
}

func (s *Store) insert(ctx context.Context, evs []Event) error {
	var b strings.Builder
	b.Grow(len(insertColumns) + len(evs)*(len(insertRow)+2))
	b.WriteString(insertColumns)
	args := make([]any, 0, len(evs)*14)
	for i, e := range evs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(insertRow)
		dbs := e.Databases
		if dbs == nil {
			dbs = []string{}
		}
		dbsJSON, err := json.Marshal(dbs)
		if err != nil {
			return fmt.Errorf("events: encode databases: %w", err)
		}
		var first, key sql.NullString
		if len(e.Databases) > 0 {
			first = sql.NullString{String: e.Databases[0], Valid: true}
		}
		if e.APIKeyID != "" {
			key = sql.NullString{String: e.APIKeyID, Valid: true}
		}
		var timings sql.NullString
		if e.Sources != nil {
			b, err := json.Marshal(e.Sources)
			if err != nil {
				return fmt.Errorf("events: encode source timings: %w", err)
			}
			timings = sql.NullString{String: string(b), Valid: true}
		}
		args = append(args, e.ID, e.UserID, e.Query, e.Mode, first, e.ResultCount,
			clampMillis(e.ExecutionTime), string(dbsJSON), key, e.Cached, e.TotalCount, max(e.ResultOffset, 0), timings, e.CreatedAt.UTC())
	}
	if _, err := s.db.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("events: insert %d events: %w", len(evs), err)
	}
	return nil
}

// clampMillis returns d in whole milliseconds, within an INT column.
func clampMillis(d time.Duration) int64 {
	ms := d.Milliseconds()
	return min(max(ms, 0), 1<<31-1)
}

// historyQuery reads one user's events newest first through the
// (user_id, created_at) index.
const historyQuery = "SELECT id, query_text, search_mode, `databases`, result_count, total_count, execution_time_ms, cached, api_key_id, created_at " +
	"FROM search_analytics WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"

// History returns the user's events, newest first.
func (s *Store) History(ctx context.Context, userID string, limit, offset int) ([]Event, error) {
	rows, err := s.reads.QueryContext(ctx, historyQuery, userID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("events: history: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e := Event{UserID: userID}
		var dbs sql.NullString
		var key sql.NullString
		var ms int64
		if err := rows.Scan(&e.ID, &e.Query, &e.Mode, &dbs, &e.ResultCount, &e.TotalCount, &ms, &e.Cached, &key, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("events: history: %w", err)
		}
		e.ExecutionTime = time.Duration(ms) * time.Millisecond
		e.APIKeyID = key.String
		if dbs.Valid && dbs.String != "" {
			if err := json.Unmarshal([]byte(dbs.String), &e.Databases); err != nil {
				return nil, fmt.Errorf("events: history: databases of %s: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: history: %w", err)
	}
	return out, nil
}

// DayQuery is how often one query text was searched on one day (UTC).
type DayQuery struct {
	Day   time.Time
	Query string
	Count int
	// TotalTime is the sum of the searches' execution times.
	TotalTime time.Duration
}

// maxDayQueries bounds the rows a trends read returns.
const maxDayQueries = 20000

const dayQueriesQuery = "SELECT DATE(created_at) AS d, query_text, COUNT(*), SUM(execution_time_ms) " +
	"FROM search_analytics WHERE user_id = ? AND created_at >= ? " +
	"GROUP BY d, query_text ORDER BY d DESC, COUNT(*) DESC LIMIT ?"

// DayQueries returns, per UTC day since since, each query text searched and
// how often, most recent day first.
func (s *Store) DayQueries(ctx context.Context, userID string, since time.Time) ([]DayQuery, error) {
	rows, err := s.reads.QueryContext(ctx, dayQueriesQuery, userID, since.UTC(), maxDayQueries)
	if err != nil {
		return nil, fmt.Errorf("events: day queries: %w", err)
	}
	defer rows.Close()
	var out []DayQuery
	for rows.Next() {
		var d DayQuery
		var ms sql.NullInt64
		if err := rows.Scan(&d.Day, &d.Query, &d.Count, &ms); err != nil {
			return nil, fmt.Errorf("events: day queries: %w", err)
		}
		d.Day = d.Day.UTC()
		d.TotalTime = time.Duration(ms.Int64) * time.Millisecond
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: day queries: %w", err)
	}
	return out, nil
}

// QueryCount is a query text and how often it was searched.
type QueryCount struct {
	Query string
	Count int
}

const popularQuery = "SELECT query_text, COUNT(*) AS n FROM search_analytics " +
	"WHERE user_id = ? AND created_at >= ? AND query_text LIKE ? ESCAPE '!' AND (result_count > 0 OR total_count > 0) " +
	"GROUP BY query_text ORDER BY n DESC, query_text LIMIT ?"

// Popular returns the user's query texts since since that start with prefix
// (case-insensitively; "" matches all), most searched first, counting only
// the searches that found something: a query that matched nothing (a typo,
// operators alone) is not worth suggesting, nor are its words worth
// correcting to.
func (s *Store) Popular(ctx context.Context, userID, prefix string, since time.Time, limit int) ([]QueryCount, error) {
	rows, err := s.reads.QueryContext(ctx, popularQuery, userID, since.UTC(), likePrefix(prefix), limit)
	if err != nil {
		return nil, fmt.Errorf("events: popular queries: %w", err)
	}
	defer rows.Close()
	var out []QueryCount
	for rows.Next() {
		var q QueryCount
		if err := rows.Scan(&q.Query, &q.Count); err != nil {
			return nil, fmt.Errorf("events: popular queries: %w", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: popular queries: %w", err)
	}
	return out, nil
}

// likePrefix returns a LIKE pattern matching text that starts with prefix,
// with the pattern characters of prefix escaped ('!' is the escape).
func likePrefix(prefix string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return r.Replace(prefix) + "%"
}
