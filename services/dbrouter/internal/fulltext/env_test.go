package fulltext

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/dbrouter/internal/corpus"
	"github.com/altus4/altus/services/dbrouter/internal/datasource"
	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
)

// shared is a database holding the sample corpus in table "packages",
// created once for the package's tests (which only read it) and dropped
// after them.
var shared struct {
	cfg config.MySQL
	db  *sql.DB
}

func TestMain(m *testing.M) {
	code, err := runTests(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runTests(m *testing.M) (int, error) {
	flag.Parse()
	ctx := context.Background()
	cfg := testenv.ServerConfig()
	server, err := sql.Open("mysql", cfg.DSN())
	if err != nil {
		return 0, err
	}
	defer server.Close()
	cfg.Database = "altus_test_" + testenv.RandomSuffix(12)
	if _, err := server.ExecContext(ctx, "CREATE DATABASE `"+cfg.Database+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		return 0, fmt.Errorf("MariaDB/MySQL at %s:%d is needed for these tests: %w", cfg.Host, cfg.Port, err)
	}
	defer server.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+cfg.Database+"`") //nolint:errcheck // best-effort cleanup
	db, err := sql.Open("mysql", cfg.DSN())
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if err := corpus.Create(ctx, db, "packages", corpus.Sample()); err != nil {
		return 0, err
	}
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		// Benchmarks run on every Debian package (tens of thousands of rows).
		pkgs, err := corpus.Debian(ctx)
		if err != nil {
			return 0, err
		}
		if err := corpus.Create(ctx, db, "debian", pkgs); err != nil {
			return 0, err
		}
	}
	shared.cfg, shared.db = cfg, db
	return m.Run(), nil
}

// sources is the executor's port over one real source: its pool and its
// discovered schema, owned by "owner".
type sources struct {
	src datasource.Source
	sc  schema.Schema
}

func (s *sources) OpenSearch(_ context.Context, userID, id string) (datasource.Source, schema.Schema, error) {
	if userID != "owner" || id != s.src.ID {
		return datasource.Source{}, schema.Schema{}, datasource.ErrNotFound
	}
	return s.src, s.sc, nil
}

func (s *sources) PoolError(err error) error { return datasource.PoolError(err) }

// env is an executor over a source of the test server.
type env struct {
	exec *Executor
	src  *sources
	// db is a root connection to the source's database.
	db  *sql.DB
	cfg config.MySQL

	mu   sync.Mutex
	sent []string
}

// newEnv returns an executor over the shared corpus database, or over a
// fresh database prepared with setup when setup is not empty.
func newEnv(t *testing.T, o Options, setup ...string) *env { return newEnvB(t, o, setup...) }

func newEnvB(t testing.TB, o Options, setup ...string) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{db: shared.db, cfg: shared.cfg}
	if len(setup) > 0 {
		e.db, e.cfg = testenv.OpenDatabase(t)
		for _, stmt := range setup {
			if _, err := e.db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("setup %q: %v", stmt, err)
			}
		}
	}
	settings := pool.Settings{Host: e.cfg.Host, Port: e.cfg.Port, Database: e.cfg.Database, Username: e.cfg.Username, Password: e.cfg.Password}
	p, err := pool.New(pool.Key{ID: uuid.NewString(), Version: 3}, settings, pool.Options{MaxSize: 4, ReapInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		<-p.Done()
	})
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := schema.Discover(ctx, c, e.cfg.Database, time.Now())
	if err == nil {
		sc.Server, err = schema.ReadServer(ctx, c)
	}
	c.Release()
	if err != nil {
		t.Fatal(err)
	}
	e.src = &sources{src: datasource.Source{Connection: datasource.Connection{ID: p.Key().ID, Version: 3, Database: e.cfg.Database}, Pool: p}, sc: sc}
	o.Sources = e.src
	if e.exec, err = New(o); err != nil {
		t.Fatal(err)
	}
	e.exec.rewrite = func(stmt string) string {
		e.mu.Lock()
		e.sent = append(e.sent, stmt)
		e.mu.Unlock()
		return stmt
	}
	return e
}

// slowWhen makes every statement containing marker wait d on the server
// before it runs (a one-row derived table that sleeps).
func (e *env) slowWhen(marker string, d time.Duration) {
	prev := e.exec.rewrite
	e.exec.rewrite = func(stmt string) string {
		stmt = prev(stmt)
		if strings.Contains(stmt, marker) {
			stmt = strings.Replace(stmt, " FROM ", fmt.Sprintf(" FROM (SELECT SLEEP(%g) AS altus_wait) AS altus_wait, ", d.Seconds()), 1)
		}
		return stmt
	}
}

// statements returns the statements sent so far.
func (e *env) statements() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.sent...)
}

func (e *env) execute(t *testing.T, req Request) Response {
	t.Helper()
	req.SourceID = e.src.src.ID
	resp, err := e.exec.Execute(context.Background(), "owner", req)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	return resp
}

// own returns the ids and scores of MariaDB's own answer: every row of
// packages matching against on cols in mode, ordered by score desc, id asc.
func (e *env) own(t *testing.T, cols, mode, against string) ([]string, []float64) {
	t.Helper()
	m := "MATCH(" + cols + ") AGAINST(? " + mode + ")"
	rows, err := e.db.Query("SELECT id, "+m+" AS s FROM packages WHERE "+m+" ORDER BY "+m+" DESC, id ASC", against, against, against)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	var scores []float64
	for rows.Next() {
		var id string
		var s float64
		if err := rows.Scan(&id, &s); err != nil {
			t.Fatal(err)
		}
		ids, scores = append(ids, id), append(scores, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids, scores
}

func ids(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Values[0]
	}
	return out
}

func scores(rows []Row) []float64 {
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = r.Score
	}
	return out
}

func freePort(t *testing.T) int { return testenv.FreePort(t) }

// newPoolFor returns a pool to settings st, closed when the test ends.
func newPoolFor(t testing.TB, st pool.Settings) (*pool.Pool, error) {
	t.Helper()
	p, err := pool.New(pool.Key{ID: uuid.NewString(), Version: 3}, st, pool.Options{MaxSize: 2, ReapInterval: -1, ConnectTimeout: time.Second})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		p.Close()
		<-p.Done()
	})
	return p, nil
}
