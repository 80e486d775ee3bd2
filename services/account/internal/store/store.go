// Package store keeps the account service's tables in the metadata database:
// users, their sessions (the revocable ids of session tokens) and their API
// keys. It knows SQL and nothing of the rules: the account package decides,
// the store reads and writes. Every time is stored as DATETIME(3) in UTC.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the goose-format migrations of the account tables, for
// pkg/migrate.Up.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		// The directory is embedded at build time; a failure is a build defect.
		panic(err)
	}
	return sub
}

// Errors of the store.
var (
	// ErrNotFound means the row asked for does not exist (or is not the
	// caller's, or is no longer active).
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicateEmail means another user already has the email.
	ErrDuplicateEmail = errors.New("store: email already taken")
)

// User is a row of users.
type User struct {
	ID           string
	Email        string
	Name         string
	PasswordHash string
	Role         string
	IsActive     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// LastActive is zero when the user has never been seen.
	LastActive time.Time
}

// Session is a row of sessions: the revocable id (JWT "jti") of a session token.
type Session struct {
	ID        string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	// RevokedAt is zero while the session is valid.
	RevokedAt time.Time
}

// SessionUser is a session with its user, read in one query to verify a token.
type SessionUser struct {
	Session Session
	User    User
}

// APIKey is a row of api_keys. The key itself is never stored, only its hash.
type APIKey struct {
	ID          string
	UserID      string
	KeyPrefix   string
	KeyHash     string
	Name        string
	Environment string
	Permissions []string
	Tier        string
	// ExpiresAt is zero for a key that does not expire.
	ExpiresAt time.Time
	// LastUsed is zero for a key never used.
	LastUsed   time.Time
	LastUsedIP string
	UsageCount uint64
	IsActive   bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// KeyUser is an API key with its user, read in one query to verify a key.
type KeyUser struct {
	Key  APIKey
	User User
}

// UsageDelta is a batch of requests made with one key.
type UsageDelta struct {
	KeyID    string
	Count    uint32
	LastUsed time.Time
	IP       string
}

// Store reads and writes the account tables.
type Store struct {
	db *sql.DB
}

// New returns a Store over db (opened with pkg/config.MySQL.DSN: UTC, parseTime).
func New(db *sql.DB) *Store { return &Store{db: db} }

// DB returns the underlying database handle.
func (s *Store) DB() *sql.DB { return s.db }

// Column lists and table names are constants; values are always placeholders.
const (
	userColumns = "id, email, name, password_hash, role, is_active, created_at, updated_at, last_active"
	keyColumns  = "id, user_id, key_prefix, key_hash, name, environment, permissions, rate_limit_tier, " +
		"expires_at, last_used, last_used_ip, usage_count, is_active, created_at, updated_at"
)

// dbTime is t as stored: UTC, millisecond precision.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// nullTime is t as stored, or NULL when t is zero.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return dbTime(t)
}

func fromNull(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func isDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

type scanner interface{ Scan(dest ...any) error }

func scanUser(r scanner, u *User) error {
	var last sql.NullTime
	if err := r.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.Role, &u.IsActive, &u.CreatedAt, &u.UpdatedAt, &last); err != nil {
		return err
	}
	u.CreatedAt, u.UpdatedAt, u.LastActive = u.CreatedAt.UTC(), u.UpdatedAt.UTC(), fromNull(last)
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// CreateUser inserts u and, when sess.ID is set, its first session, in one
// transaction. A taken email returns ErrDuplicateEmail.
func (s *Store) CreateUser(ctx context.Context, u User, sess Session) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			u.ID, u.Email, u.Name, u.PasswordHash, u.Role, u.IsActive, dbTime(u.CreatedAt), dbTime(u.UpdatedAt), nullTime(u.LastActive))
		if err != nil {
			return err
		}
		if sess.ID == "" {
			return nil
		}
		return insertSession(ctx, tx, sess)
	})
	if isDuplicate(err) {
		return ErrDuplicateEmail
	}
	if err != nil {
		return fmt.Errorf("store: create user: %w", err)
	}
	return nil
}

// UserByEmail returns the user with email (already normalised).
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	var u User
	err := scanUser(s.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE email = ?", email), &u)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user by email: %w", err)
	}
	return u, nil
}

// UserByID returns the user with id.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	var u User
	err := scanUser(s.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id), &u)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user by id: %w", err)
	}
	return u, nil
}

// UsersByIDs returns the users among ids (any order; unknown ids are left out).
func (s *Store) UsersByIDs(ctx context.Context, ids []string) ([]User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	q := "SELECT " + userColumns + " FROM users WHERE id IN (?" + strings.Repeat(", ?", len(ids)-1) + ")"
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: users by ids: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		if err := scanUser(rows, &u); err != nil {
			return nil, fmt.Errorf("store: users by ids: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: users by ids: %w", err)
	}
	return out, nil
}

// UpdateProfile sets the name and email of an active user. A taken email
// returns ErrDuplicateEmail.
func (s *Store) UpdateProfile(ctx context.Context, id, name, email string, now time.Time) error {
	// MySQL reports 0 affected rows when nothing changed, so absence is not
	// detected here: the caller has just read the user.
	_, err := s.db.ExecContext(ctx,
		"UPDATE users SET name = ?, email = ?, updated_at = ? WHERE id = ? AND is_active = 1",
		name, email, dbTime(now), id)
	if isDuplicate(err) {
		return ErrDuplicateEmail
	}
	if err != nil {
		return fmt.Errorf("store: update profile: %w", err)
	}
	return nil
}

// ChangePassword sets the password hash of an active user and revokes every
// session of the user except keepSession, in one transaction.
func (s *Store) ChangePassword(ctx context.Context, id, hash, keepSession string, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND is_active = 1",
			hash, dbTime(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx,
			"UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL",
			dbTime(now), id, keepSession)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: change password: %w", err)
	}
	return nil
}

// TouchLastActive sets last_active to now unless it is already after
// notBefore, so that a busy user costs one write per interval, not one per
// request.
func (s *Store) TouchLastActive(ctx context.Context, id string, now, notBefore time.Time) error {
	_, err := s.db.ExecContext(ctx,
		"UPDATE users SET last_active = ? WHERE id = ? AND (last_active IS NULL OR last_active < ?)",
		dbTime(now), id, dbTime(notBefore))
	if err != nil {
		return fmt.Errorf("store: touch last active: %w", err)
	}
	return nil
}

// Deactivate marks a user inactive and revokes every session of theirs, in
// one transaction. Their API keys stop verifying because verification reads
// the user's state.
func (s *Store) Deactivate(ctx context.Context, id string, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET is_active = 0, updated_at = ? WHERE id = ? AND is_active = 1", dbTime(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", dbTime(now), id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: deactivate user: %w", err)
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertSession(ctx context.Context, db execer, sess Session) error {
	_, err := db.ExecContext(ctx,
		"INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?)",
		sess.ID, sess.UserID, dbTime(sess.CreatedAt), dbTime(sess.ExpiresAt), nullTime(sess.RevokedAt))
	return err
}

// CreateSession inserts a session.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	if err := insertSession(ctx, s.db, sess); err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionWithUser returns a session and its user in one indexed query.
func (s *Store) SessionWithUser(ctx context.Context, id string) (SessionUser, error) {
	var (
		su      SessionUser
		revoked sql.NullTime
		last    sql.NullTime
	)
	err := s.db.QueryRowContext(ctx,
		"SELECT s.id, s.user_id, s.created_at, s.expires_at, s.revoked_at, "+
			"u.id, u.email, u.name, u.role, u.is_active, u.created_at, u.updated_at, u.last_active "+
			"FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?", id).Scan(
		&su.Session.ID, &su.Session.UserID, &su.Session.CreatedAt, &su.Session.ExpiresAt, &revoked,
		&su.User.ID, &su.User.Email, &su.User.Name, &su.User.Role, &su.User.IsActive, &su.User.CreatedAt, &su.User.UpdatedAt, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return SessionUser{}, ErrNotFound
	}
	if err != nil {
		return SessionUser{}, fmt.Errorf("store: session: %w", err)
	}
	su.Session.CreatedAt, su.Session.ExpiresAt, su.Session.RevokedAt = su.Session.CreatedAt.UTC(), su.Session.ExpiresAt.UTC(), fromNull(revoked)
	su.User.CreatedAt, su.User.UpdatedAt, su.User.LastActive = su.User.CreatedAt.UTC(), su.User.UpdatedAt.UTC(), fromNull(last)
	return su, nil
}

// RevokeSession ends a valid session of userID; ErrNotFound when there is
// none (unknown, another user's, or already revoked).
func (s *Store) RevokeSession(ctx context.Context, id, userID string, now time.Time) error {
	res, err := s.db.ExecContext(ctx,
		"UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
		dbTime(now), id, userID)
	if err != nil {
		return fmt.Errorf("store: revoke session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// RotateSession revokes the valid session oldID of userID and inserts next,
// in one transaction, so that a session can be refreshed only once.
// ErrNotFound when oldID is not a valid session of the user.
func (s *Store) RotateSession(ctx context.Context, oldID, userID string, next Session) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
			dbTime(next.CreatedAt), oldID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return insertSession(ctx, tx, next)
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: rotate session: %w", err)
	}
	return nil
}

// PruneSessions deletes at most limit sessions that expired before before,
// and reports how many it deleted. Expired sessions can no longer verify, so
// keeping them serves nothing.
func (s *Store) PruneSessions(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at < ? LIMIT ?", dbTime(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: prune sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func scanKey(r scanner, k *APIKey, extra ...any) error {
	var (
		perms             []byte
		expires, lastUsed sql.NullTime
		ip                sql.NullString
	)
	dest := []any{&k.ID, &k.UserID, &k.KeyPrefix, &k.KeyHash, &k.Name, &k.Environment, &perms, &k.Tier,
		&expires, &lastUsed, &ip, &k.UsageCount, &k.IsActive, &k.CreatedAt, &k.UpdatedAt}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return err
	}
	if err := json.Unmarshal(perms, &k.Permissions); err != nil {
		return fmt.Errorf("permissions of key %s: %w", k.ID, err)
	}
	k.ExpiresAt, k.LastUsed, k.LastUsedIP = fromNull(expires), fromNull(lastUsed), ip.String
	k.CreatedAt, k.UpdatedAt = k.CreatedAt.UTC(), k.UpdatedAt.UTC()
	return nil
}

func insertKey(ctx context.Context, db execer, k APIKey) error {
	perms, err := json.Marshal(k.Permissions)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx,
		"INSERT INTO api_keys ("+keyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		k.ID, k.UserID, k.KeyPrefix, k.KeyHash, k.Name, k.Environment, string(perms), k.Tier,
		nullTime(k.ExpiresAt), nullTime(k.LastUsed), nullString(k.LastUsedIP), k.UsageCount, k.IsActive,
		dbTime(k.CreatedAt), dbTime(k.UpdatedAt))
	return err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// lockActiveUser locks the row of an active user for the transaction, so that
// key creations of one user are serialised (the cap holds under concurrency).
func lockActiveUser(ctx context.Context, tx *sql.Tx, userID string) error {
	var id string
	err := tx.QueryRowContext(ctx, "SELECT id FROM users WHERE id = ? AND is_active = 1 FOR UPDATE", userID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// CreateAPIKey inserts k after check approved the user's count of active
// keys, in one transaction holding the user's row lock. check's error is
// returned as is; an unknown or inactive user returns ErrNotFound.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey, check func(active int) error) error {
	var checkErr error
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := lockActiveUser(ctx, tx, k.UserID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM api_keys WHERE user_id = ? AND is_active = 1", k.UserID).Scan(&n); err != nil {
			return err
		}
		if checkErr = check(n); checkErr != nil {
			return checkErr
		}
		return insertKey(ctx, tx, k)
	})
	switch {
	case err == nil:
		return nil
	case checkErr != nil && errors.Is(err, checkErr), errors.Is(err, ErrNotFound):
		return err
	}
	return fmt.Errorf("store: create api key: %w", err)
}

// ReplaceAPIKey revokes the active key oldID of next.UserID and inserts next,
// in one transaction, and returns the old key. ErrNotFound when oldID is not
// an active key of the user.
func (s *Store) ReplaceAPIKey(ctx context.Context, oldID string, next APIKey) (APIKey, error) {
	var old APIKey
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := lockActiveUser(ctx, tx, next.UserID); err != nil {
			return err
		}
		err := scanKey(tx.QueryRowContext(ctx,
			"SELECT "+keyColumns+" FROM api_keys WHERE id = ? AND user_id = ? AND is_active = 1 FOR UPDATE",
			oldID, next.UserID), &old)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE api_keys SET is_active = 0, updated_at = ? WHERE id = ?", dbTime(next.CreatedAt), oldID); err != nil {
			return err
		}
		return insertKey(ctx, tx, next)
	})
	if errors.Is(err, ErrNotFound) {
		return APIKey{}, err
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("store: replace api key: %w", err)
	}
	return old, nil
}

// ActiveAPIKeys lists the active keys of a user, newest first.
func (s *Store) ActiveAPIKeys(ctx context.Context, userID string) ([]APIKey, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT "+keyColumns+" FROM api_keys WHERE user_id = ? AND is_active = 1 ORDER BY created_at DESC, id DESC", userID)
	if err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	defer rows.Close()
	keys := []APIKey{}
	for rows.Next() {
		var k APIKey
		if err := scanKey(rows, &k); err != nil {
			return nil, fmt.Errorf("store: list api keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	return keys, nil
}

// CountActiveAPIKeys counts the active keys of a user.
func (s *Store) CountActiveAPIKeys(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM api_keys WHERE user_id = ? AND is_active = 1", userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count api keys: %w", err)
	}
	return n, nil
}

// ActiveAPIKey returns the active key id of userID; ErrNotFound otherwise.
func (s *Store) ActiveAPIKey(ctx context.Context, id, userID string) (APIKey, error) {
	var k APIKey
	err := scanKey(s.db.QueryRowContext(ctx,
		"SELECT "+keyColumns+" FROM api_keys WHERE id = ? AND user_id = ? AND is_active = 1", id, userID), &k)
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("store: api key: %w", err)
	}
	return k, nil
}

// UpdateAPIKey writes the name, permissions, tier, expiry and updated_at of
// the active key k.ID of k.UserID; ErrNotFound when there is no such key.
func (s *Store) UpdateAPIKey(ctx context.Context, k APIKey) error {
	perms, err := json.Marshal(k.Permissions)
	if err != nil {
		return fmt.Errorf("store: update api key: %w", err)
	}
	res, err := s.db.ExecContext(ctx,
		"UPDATE api_keys SET name = ?, permissions = ?, rate_limit_tier = ?, expires_at = ?, updated_at = ? "+
			"WHERE id = ? AND user_id = ? AND is_active = 1",
		k.Name, string(perms), k.Tier, nullTime(k.ExpiresAt), dbTime(k.UpdatedAt), k.ID, k.UserID)
	if err != nil {
		return fmt.Errorf("store: update api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// RevokeAPIKey deactivates the active key id of userID for good; ErrNotFound
// when there is no such key.
func (s *Store) RevokeAPIKey(ctx context.Context, id, userID string, now time.Time) error {
	res, err := s.db.ExecContext(ctx,
		"UPDATE api_keys SET is_active = 0, updated_at = ? WHERE id = ? AND user_id = ? AND is_active = 1",
		dbTime(now), id, userID)
	if err != nil {
		return fmt.Errorf("store: revoke api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// KeysByPrefix returns the active keys with a prefix and their users, in one
// indexed query. Usually there is one; the caller compares hashes.
func (s *Store) KeysByPrefix(ctx context.Context, prefix string) ([]KeyUser, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT k.id, k.user_id, k.key_prefix, k.key_hash, k.name, k.environment, k.permissions, k.rate_limit_tier, "+
			"k.expires_at, k.last_used, k.last_used_ip, k.usage_count, k.is_active, k.created_at, k.updated_at, "+
			"u.id, u.email, u.name, u.role, u.is_active "+
			"FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_prefix = ? AND k.is_active = 1", prefix)
	if err != nil {
		return nil, fmt.Errorf("store: keys by prefix: %w", err)
	}
	defer rows.Close()
	var out []KeyUser
	for rows.Next() {
		var ku KeyUser
		if err := scanKey(rows, &ku.Key, &ku.User.ID, &ku.User.Email, &ku.User.Name, &ku.User.Role, &ku.User.IsActive); err != nil {
			return nil, fmt.Errorf("store: keys by prefix: %w", err)
		}
		out = append(out, ku)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: keys by prefix: %w", err)
	}
	return out, nil
}

// maxIPLength is the width of last_used_ip (an IPv6 address in text).
const maxIPLength = 45

// RecordUsage adds a batch of requests to a key: one UPDATE that adds the
// count, keeps the latest last_used and the address that went with it. An
// unknown key is ignored (reported false).
func (s *Store) RecordUsage(ctx context.Context, d UsageDelta) (bool, error) {
	ip := d.IP
	if len(ip) > maxIPLength {
		ip = ip[:maxIPLength]
	}
	at := dbTime(d.LastUsed)
	// MySQL and MariaDB evaluate single-table SET assignments left to right,
	// so last_used_ip reads the old last_used before it is replaced.
	res, err := s.db.ExecContext(ctx,
		"UPDATE api_keys SET "+
			"last_used_ip = IF(last_used IS NULL OR last_used <= ?, COALESCE(?, last_used_ip), last_used_ip), "+
			"last_used = IF(last_used IS NULL OR last_used < ?, ?, last_used), "+
			"usage_count = usage_count + ? "+
			"WHERE id = ?",
		at, nullString(ip), at, at, d.Count, d.KeyID)
	if err != nil {
		return false, fmt.Errorf("store: record usage of %s: %w", d.KeyID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
