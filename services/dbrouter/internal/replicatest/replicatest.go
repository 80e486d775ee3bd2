// Package replicatest starts real MariaDB replication for tests of data
// sources with read replicas (pkg/testenv/mariadbtest: a primary and a
// GTID replica, each a mariadbd of its own in a temporary directory) and
// the account applications connect with. The machine's own MariaDB is
// never touched.
//
// Both servers are started once per test binary (TestMain: Start, then
// Close).
package replicatest

import (
	"context"

	"github.com/altus4/altus/pkg/testenv/mariadbtest"
)

// The account applications connect with (SELECT on every database, and
// SLAVE MONITOR to read the replication status), created on the primary
// and replicated to the replica like any other account.
const (
	User     = "altus_app"
	Password = "app-secret-1"
	// Database holds the test data.
	Database = "shop"
)

// ReadyTimeout bounds the wait for a server to accept connections.
const ReadyTimeout = mariadbtest.ReadyTimeout

// Server is one mariadbd.
type Server = mariadbtest.Server

// Pair is a primary and a replica replicating from it.
type Pair = mariadbtest.Pair

// Start creates both servers under dir, starts them, creates the
// application account and the test database on the primary, and starts
// replication on the replica. Close them with Pair.Close.
func Start(ctx context.Context, dir string) (*Pair, error) {
	return mariadbtest.Start(ctx, dir, mariadbtest.Options{Replicas: 1, Setup: []string{
		"CREATE USER '" + User + "'@'%' IDENTIFIED BY '" + Password + "'",
		"GRANT SELECT, SLAVE MONITOR ON *.* TO '" + User + "'@'%'",
		"CREATE DATABASE " + Database,
	}})
}
