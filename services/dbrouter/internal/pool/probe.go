package pool

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// ProbeResult is the outcome of a successful live test of a source.
type ProbeResult struct {
	// ServerVersion is what SELECT VERSION() answered.
	ServerVersion string
	// Latency is the round trip of connecting and asking the version.
	Latency time.Duration
}

// Probe opens one fresh connection to s (never a pooled one), asks
// SELECT VERSION() and closes it, all within ConnectTimeout. A failure is a
// *ConnectError.
func Probe(ctx context.Context, s Settings, o Options) (ProbeResult, error) {
	o = o.withDefaults()
	connector, err := mysql.NewConnector(o.driverConfig(s))
	if err != nil {
		return ProbeResult{}, connectError(s, o.ConnectTimeout, fmt.Errorf("configure driver: %w", err))
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxIdleConns(0)
	db.SetMaxOpenConns(1)

	ctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	start := time.Now()
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return ProbeResult{}, connectError(s, o.ConnectTimeout, err)
	}
	return ProbeResult{ServerVersion: version, Latency: time.Since(start)}, nil
}
