// Package store keeps the data_sources table of the metadata database. It
// knows SQL and nothing of the rules: every read and write of a user's
// source is scoped by id, user_id and deleted_at IS NULL, so a row of
// another user, or a deleted one, is simply not found. Times are
// DATETIME(3) in UTC.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of the store.
var (
	// ErrNotFound means no live source with this id belongs to the user.
	ErrNotFound = errors.New("store: data source not found")
	// ErrConflict means the row changed (its version moved) since it was read.
	ErrConflict = errors.New("store: data source changed concurrently")
)

// Source is a row of data_sources.
type Source struct {
	ID       string
	UserID   string
	Name     string
	Host     string
	Port     int
	Database string
	Username string
	// Password is the encrypted password ("ivHex:tagHex:cipherHex").
	Password string
	SSL      bool
	IsActive bool
	// Status is "connected", "failed" or "unknown", as of LastTested.
	Status string
	// LastTested is zero when the source was never tested.
	LastTested time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// Version changes on every update (and on deletion).
	Version int
	// AIEgress is what of the source's rows may reach the AI provider:
	// "fulltext", "listed" or "none" ("" reads as "fulltext").
	AIEgress string
	// AIColumns are the "table.column" names allowed with "listed".
	AIColumns []string
	// Replicas are the source's read replicas (same database and
	// credentials as the primary).
	Replicas []Replica
}

// Replica is where a read replica of a source listens.
type Replica struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// Store reads and writes data_sources.
type Store struct {
	db *sql.DB
}

// New returns a Store over the metadata database.
func New(db *sql.DB) *Store { return &Store{db: db} }

const selectColumns = `SELECT id, user_id, name, host, port, database_name, username, password,
ssl_enabled, is_active, connection_status, last_tested, created_at, updated_at, version,
ai_egress, ai_columns, replicas
FROM data_sources`

type scanner interface{ Scan(dest ...any) error }

func scan(r scanner) (Source, error) {
	var s Source
	var lastTested sql.NullTime
	var columns, replicas sql.NullString
	if err := r.Scan(&s.ID, &s.UserID, &s.Name, &s.Host, &s.Port, &s.Database, &s.Username, &s.Password,
		&s.SSL, &s.IsActive, &s.Status, &lastTested, &s.CreatedAt, &s.UpdatedAt, &s.Version,
		&s.AIEgress, &columns, &replicas); err != nil {
		return Source{}, err
	}
	if replicas.Valid && replicas.String != "" {
		if err := json.Unmarshal([]byte(replicas.String), &s.Replicas); err != nil {
			return Source{}, fmt.Errorf("replicas of %s: %w", s.ID, err)
		}
	}
	if columns.Valid && columns.String != "" {
		if err := json.Unmarshal([]byte(columns.String), &s.AIColumns); err != nil {
			return Source{}, fmt.Errorf("ai_columns of %s: %w", s.ID, err)
		}
	}
	if lastTested.Valid {
		s.LastTested = lastTested.Time.UTC()
	}
	s.CreatedAt = s.CreatedAt.UTC()
	s.UpdatedAt = s.UpdatedAt.UTC()
	return s, nil
}

func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t.UTC(), Valid: !t.IsZero()} }

// egress returns the stored policy of src ("fulltext" when unset).
func egress(src Source) string {
	if src.AIEgress == "" {
		return "fulltext"
	}
	return src.AIEgress
}

// columnsJSON encodes the allowed columns (NULL when there are none).
func columnsJSON(cols []string) sql.NullString {
	if len(cols) == 0 {
		return sql.NullString{}
	}
	b, _ := json.Marshal(cols) // a []string always encodes
	return sql.NullString{String: string(b), Valid: true}
}

// replicasJSON encodes the read replicas (NULL when there are none).
func replicasJSON(rs []Replica) sql.NullString {
	if len(rs) == 0 {
		return sql.NullString{}
	}
	b, _ := json.Marshal(rs) // strings and ints always encode
	return sql.NullString{String: string(b), Valid: true}
}

// Insert saves a new source.
func (s *Store) Insert(ctx context.Context, src Source) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO data_sources
(id, user_id, name, host, port, database_name, username, password, ssl_enabled, is_active,
 connection_status, last_tested, created_at, updated_at, version, ai_egress, ai_columns, replicas)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		src.ID, src.UserID, src.Name, src.Host, src.Port, src.Database, src.Username, src.Password, src.SSL, src.IsActive,
		src.Status, nullTime(src.LastTested), src.CreatedAt.UTC(), src.UpdatedAt.UTC(), src.Version,
		egress(src), columnsJSON(src.AIColumns), replicasJSON(src.Replicas))
	if err != nil {
		return fmt.Errorf("store: insert data source: %w", err)
	}
	return nil
}

// Get returns the user's live source id.
func (s *Store) Get(ctx context.Context, userID, id string) (Source, error) {
	row := s.db.QueryRowContext(ctx, selectColumns+` WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, id, userID)
	src, err := scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Source{}, ErrNotFound
	}
	if err != nil {
		return Source{}, fmt.Errorf("store: get data source: %w", err)
	}
	return src, nil
}

// List returns the user's live sources, newest first.
func (s *Store) List(ctx context.Context, userID string) ([]Source, error) {
	rows, err := s.db.QueryContext(ctx, selectColumns+` WHERE user_id = ? AND deleted_at IS NULL ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list data sources: %w", err)
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		src, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list data sources: %w", err)
		}
		out = append(out, src)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list data sources: %w", err)
	}
	return out, nil
}

// Update writes every editable field of src (name, connection settings,
// password, status, last tested, updated at, AI egress policy, read replicas) if the row is still at version
// src.Version, and moves it to the next version, which it returns.
// ErrNotFound: the row is gone or not the user's; ErrConflict: it changed.
func (s *Store) Update(ctx context.Context, src Source) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE data_sources SET name = ?, host = ?, port = ?, database_name = ?,
username = ?, password = ?, ssl_enabled = ?, connection_status = ?, last_tested = ?, updated_at = ?,
ai_egress = ?, ai_columns = ?, replicas = ?, version = version + 1
WHERE id = ? AND user_id = ? AND deleted_at IS NULL AND version = ?`,
		src.Name, src.Host, src.Port, src.Database, src.Username, src.Password, src.SSL, src.Status,
		nullTime(src.LastTested), src.UpdatedAt.UTC(), egress(src), columnsJSON(src.AIColumns), replicasJSON(src.Replicas),
		src.ID, src.UserID, src.Version)
	if err != nil {
		return 0, fmt.Errorf("store: update data source: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: update data source: %w", err)
	}
	if n == 1 {
		return src.Version + 1, nil
	}
	if _, err := s.Get(ctx, src.UserID, src.ID); err != nil {
		return 0, err
	}
	return 0, ErrConflict
}

// SetStatus records the outcome of a connection test. It does not change
// the version: the settings are the same. A missing row is not an error
// (the source may have been deleted meanwhile).
func (s *Store) SetStatus(ctx context.Context, userID, id, status string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE data_sources SET connection_status = ?, last_tested = ?
WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, status, at.UTC(), id, userID)
	if err != nil {
		return fmt.Errorf("store: set data source status: %w", err)
	}
	return nil
}

// SoftDelete marks the user's live source deleted (and inactive) and moves
// its version, so every replica sees its pools are stale.
func (s *Store) SoftDelete(ctx context.Context, userID, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE data_sources SET deleted_at = ?, is_active = 0, updated_at = ?, version = version + 1
WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, at.UTC(), at.UTC(), id, userID)
	if err != nil {
		return fmt.Errorf("store: delete data source: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: delete data source: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// versionsBatch bounds the placeholders of one Versions query.
const versionsBatch = 500

// Versions returns the current version of each live source among ids
// (deleted or unknown ids are absent). It serves the pool sweep, which acts
// for no user.
func (s *Store) Versions(ctx context.Context, ids []string) (map[string]int, error) {
	out := make(map[string]int, len(ids))
	for start := 0; start < len(ids); start += versionsBatch {
		batch := ids[start:min(start+versionsBatch, len(ids))]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		placeholders := strings.TrimSuffix(strings.Repeat("?,", len(batch)), ",")
		rows, err := s.db.QueryContext(ctx, `SELECT id, version FROM data_sources WHERE deleted_at IS NULL AND id IN (`+placeholders+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("store: read versions: %w", err)
		}
		for rows.Next() {
			var id string
			var v int
			if err := rows.Scan(&id, &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: read versions: %w", err)
			}
			out[id] = v
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: read versions: %w", err)
		}
	}
	return out, nil
}
