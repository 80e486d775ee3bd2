// Package metadbtest starts a metadata database with real MariaDB
// replication for tests (pkg/testenv/mariadbtest) and the account the
// services use on it.
package metadbtest

import (
	"context"

	"github.com/altus4/altus/pkg/testenv/mariadbtest"
)

// The account the services connect with (every privilege on Database, and
// SLAVE MONITOR to read the replication status), created on the primary
// and replicated to the replicas like any other account. It has no SUPER,
// so a replica's read_only refuses its writes.
const (
	User     = "altus_meta"
	Password = "meta-secret-1"
	// Database is the metadata database.
	Database = "altus_meta"
)

// ReadyTimeout bounds the wait for a server or a replica.
const ReadyTimeout = mariadbtest.ReadyTimeout

// Pair is a primary and its replicas.
type Pair = mariadbtest.Pair

// Server is one mariadbd.
type Server = mariadbtest.Server

// Start starts a primary and one replica under dir, with the account and Database.
func Start(ctx context.Context, dir string) (*Pair, error) { return StartN(ctx, dir, 1) }

// StartN starts a primary and n replicas under dir, with the account and Database.
func StartN(ctx context.Context, dir string, n int) (*Pair, error) {
	return mariadbtest.Start(ctx, dir, mariadbtest.Options{Replicas: n, Setup: []string{
		"CREATE USER '" + User + "'@'%' IDENTIFIED BY '" + Password + "'",
		"GRANT SLAVE MONITOR ON *.* TO '" + User + "'@'%'",
		"GRANT ALL ON " + Database + ".* TO '" + User + "'@'%'",
		"CREATE DATABASE " + Database,
	}})
}
