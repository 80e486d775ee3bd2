// Package migrate applies a service's own SQL migrations to the metadata
// database. Each service keeps its history in its own table
// (goose_<service>) and takes a MySQL named lock while migrating, so that
// replicas starting together apply each migration once.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
)

// Up applies every pending migration of service found in fsys (*.sql files
// in goose format at its root) and returns how many it applied.
func Up(ctx context.Context, db *sql.DB, service string, fsys fs.FS, log *slog.Logger) (int, error) {
	store, err := database.NewStore(database.DialectMySQL, "goose_"+service)
	if err != nil {
		return 0, fmt.Errorf("migrate %s: %w", service, err)
	}
	p, err := goose.NewProvider("", db, fsys,
		goose.WithStore(store),
		goose.WithSessionLocker(namedLock{name: "altus_migrate_" + service, timeout: 60 * time.Second}),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return 0, fmt.Errorf("migrate %s: %w", service, err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate %s: %w", service, err)
	}
	for _, r := range results {
		if log != nil {
			log.InfoContext(ctx, "migration applied", "service", service, "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration.String())
		}
	}
	return len(results), nil
}

// EnsureDatabase creates the database named in dsn when it does not exist.
func EnsureDatabase(ctx context.Context, dsn string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("migrate: parse DSN: %w", err)
	}
	name := cfg.DBName
	if name == "" {
		return errors.New("migrate: the DSN names no database")
	}
	cfg.DBName = ""
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	// The name comes from operator configuration (validated as a plain
	// identifier), never from a request; it is still quoted.
	_, err = db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	if err != nil {
		return fmt.Errorf("migrate: create database %s: %w", name, err)
	}
	return nil
}

// namedLock serialises migrations with MySQL GET_LOCK on the session goose uses.
type namedLock struct {
	name    string
	timeout time.Duration
}

func (l namedLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", l.name, int(l.timeout.Seconds())).Scan(&got); err != nil {
		return fmt.Errorf("take lock %s: %w", l.name, err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("take lock %s: timed out after %s", l.name, l.timeout)
	}
	return nil
}

func (l namedLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "SELECT RELEASE_LOCK(?)", l.name)
	return err
}
