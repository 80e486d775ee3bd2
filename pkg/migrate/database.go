package migrate

import (
	"context"
	"database/sql"
	"io/fs"
	"log/slog"

	"github.com/altus4/altus/pkg/config"
)

// Database opens the metadata database cfg names, creating it first when
// it does not exist.
func Database(ctx context.Context, cfg config.MySQL) (*sql.DB, error) {
	dsn := cfg.DSN()
	if err := EnsureDatabase(ctx, dsn); err != nil {
		return nil, err
	}
	return Open(ctx, dsn, cfg.MaxOpenConns)
}

// Command is a service's `migrate` subcommand: it opens the metadata
// database, applies the service's pending migrations and reports how many.
func Command(ctx context.Context, cfg config.MySQL, log *slog.Logger, service string, fsys fs.FS) error {
	db, err := Database(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := Up(ctx, db, service, fsys, log)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "service", service, "count", n)
	return nil
}
