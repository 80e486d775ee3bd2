// Package testenv gives tests real, isolated storage: a fresh MariaDB/MySQL
// database per test (dropped when the test ends) and a fresh Redis key prefix
// (its keys deleted when the test ends). Tests fail, rather than skip, when
// the servers are unreachable: storage behaviour is only proved against the
// real thing.
//
// ALTUS_TEST_DB_HOST, ALTUS_TEST_DB_PORT, ALTUS_TEST_DB_USER,
// ALTUS_TEST_DB_PASSWORD and ALTUS_TEST_REDIS_ADDR override the defaults
// (127.0.0.1:3306 as root with no password; 127.0.0.1:6379).
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" driver
	"github.com/redis/rueidis"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/pkg/grpcx"
)

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// ServerConfig returns the test MySQL server's connection settings with no database.
func ServerConfig() config.MySQL {
	port, _ := strconv.Atoi(getenv("ALTUS_TEST_DB_PORT", "3306"))
	return config.MySQL{
		Host:         getenv("ALTUS_TEST_DB_HOST", "127.0.0.1"),
		Port:         port,
		Username:     getenv("ALTUS_TEST_DB_USER", "root"),
		Password:     os.Getenv("ALTUS_TEST_DB_PASSWORD"),
		MaxOpenConns: 10,
	}
}

// RandomSuffix returns n random hex characters.
func RandomSuffix(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// Database creates an empty database for the test and returns its settings;
// the database is dropped when the test ends.
func Database(t testing.TB) config.MySQL {
	t.Helper()
	cfg := ServerConfig()
	cfg.Database = "altus_test_" + RandomSuffix(12)
	admin, err := sql.Open("mysql", cfg.DSN())
	if err != nil {
		t.Fatalf("testenv: open: %v", err)
	}
	// The DSN names the database; connect without it to create it.
	server := cfg
	server.Database = ""
	admin.Close()
	admin, err = sql.Open("mysql", server.DSN())
	if err != nil {
		t.Fatalf("testenv: open: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+cfg.Database+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		admin.Close()
		t.Fatalf("testenv: MariaDB/MySQL at %s:%d is needed for this test: %v", cfg.Host, cfg.Port, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+cfg.Database+"`"); err != nil {
			t.Logf("testenv: drop %s: %v", cfg.Database, err)
		}
		admin.Close()
	})
	return cfg
}

// OpenDatabase creates a database for the test (see Database) and opens it.
func OpenDatabase(t testing.TB) (*sql.DB, config.MySQL) {
	t.Helper()
	cfg := Database(t)
	db, err := sql.Open("mysql", cfg.DSN())
	if err != nil {
		t.Fatalf("testenv: open %s: %v", cfg.Database, err)
	}
	t.Cleanup(func() { db.Close() })
	return db, cfg
}

// RedisAddr returns the test Redis server's address.
func RedisAddr() string { return getenv("ALTUS_TEST_REDIS_ADDR", "127.0.0.1:6379") }

// RedisConfig returns settings for the test Redis server with a fresh key
// prefix; every key under the prefix is deleted when the test ends.
func RedisConfig(t testing.TB) config.Redis {
	t.Helper()
	host, portStr, err := net.SplitHostPort(RedisAddr())
	if err != nil {
		t.Fatalf("testenv: ALTUS_TEST_REDIS_ADDR: %v", err)
	}
	port, _ := strconv.Atoi(portStr)
	cfg := config.Redis{Host: host, Port: port, Prefix: "altus_test_" + RandomSuffix(12) + ":"}
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{RedisAddr()}, DisableCache: true})
	if err != nil {
		t.Fatalf("testenv: Redis at %s is needed for this test: %v", RedisAddr(), err)
	}
	t.Cleanup(func() {
		defer client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var cursor uint64
		for {
			entry, err := client.Do(ctx, client.B().Scan().Cursor(cursor).Match(cfg.Prefix+"*").Count(500).Build()).AsScanEntry()
			if err != nil {
				t.Logf("testenv: clean Redis prefix %s: %v", cfg.Prefix, err)
				return
			}
			if len(entry.Elements) > 0 {
				client.Do(ctx, client.B().Del().Key(entry.Elements...).Build())
			}
			if entry.Cursor == 0 {
				return
			}
			cursor = entry.Cursor
		}
	})
	return cfg
}

// FreePort returns a TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// DialServing connects to a gRPC server on 127.0.0.1:port, waits (without
// polling, up to 30 s) until it reports service SERVING, and closes the
// connection when the test ends.
func DialServing(t testing.TB, ctx context.Context, port int, service string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpcx.Dial("127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h, err := healthpb.NewHealthClient(conn).Check(wctx, &healthpb.HealthCheckRequest{Service: service}, grpc.WaitForReady(true))
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health of %s = %v, %v", service, h, err)
	}
	return conn
}
