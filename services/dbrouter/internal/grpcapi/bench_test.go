package grpcapi

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/altus4/altus/pkg/config"
	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/dbrouter/internal/corpus"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
	"github.com/altus4/altus/services/dbrouter/internal/sqlbuild"
)

// debian is a database holding every Debian package in table "packages",
// created by the first benchmark that needs it and dropped by TestMain.
var debian struct {
	once sync.Once
	cfg  config.MySQL
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if debian.cfg.Database != "" {
		cfg := testenv.ServerConfig()
		if db, err := sql.Open("mysql", cfg.DSN()); err == nil {
			_, _ = db.Exec("DROP DATABASE IF EXISTS `" + debian.cfg.Database + "`")
			db.Close()
		}
	}
	os.Exit(code)
}

func debianDatabase(b *testing.B) config.MySQL {
	b.Helper()
	debian.once.Do(func() {
		ctx := context.Background()
		cfg := testenv.ServerConfig()
		server, err := sql.Open("mysql", cfg.DSN())
		if err != nil {
			debian.err = err
			return
		}
		defer server.Close()
		cfg.Database = "altus_test_" + testenv.RandomSuffix(12)
		if _, err := server.ExecContext(ctx, "CREATE DATABASE `"+cfg.Database+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
			debian.err = err
			return
		}
		debian.cfg = cfg
		db, err := sql.Open("mysql", cfg.DSN())
		if err != nil {
			debian.err = err
			return
		}
		defer db.Close()
		pkgs, err := corpus.Debian(ctx)
		if err != nil {
			debian.err = err
			return
		}
		debian.err = corpus.Create(ctx, db, "packages", pkgs)
	})
	if debian.err != nil {
		b.Fatalf("Debian corpus: %v", debian.err)
	}
	return debian.cfg
}

// Query sets: common words of the corpus (hundreds to thousands of matches
// each: the server's work dominates) and rarer ones (30 to 120 matches:
// Altus's own overhead shows). A page is the search default of 20 rows.
var (
	commonQueries = []string{"library", "python module", "development files", "gnome", "server", "documentation", "game", "perl"}
	rareQueries   = []string{"bittorrent", "kerberos", "irc", "scanner", "firewall", "chess", "vpn", "mpeg"}
)

const benchLimit = 20

// BenchmarkExecuteSearch runs one natural-mode plan (a page of 20) on every
// Debian package through the RPC: the generated client over bufconn, the
// interceptor chain, the owner check, the cached schema, validation, the
// statement built, its span and the pooled connection.
func BenchmarkExecuteSearch(b *testing.B) {
	h, id := debianSource(b)
	call := func(ctx context.Context, q string) {
		resp, err := h.client.ExecuteSearch(ctx, &dbrouterv1.ExecuteSearchRequest{SourceId: id, Plans: []*dbrouterv1.SearchPlan{
			{Table: "packages", Index: "ft_description", Mode: "natural", Against: q, Limit: benchLimit},
		}})
		// Errorf, not Fatalf: calls also run on RunParallel's goroutines.
		if err != nil {
			b.Errorf("%q: %v", q, err)
			return
		}
		if p := resp.GetPlans()[0]; p.GetErrorCode() != "" || len(p.GetRows()) != benchLimit {
			b.Errorf("%q: %s %s, %d rows", q, p.GetErrorCode(), p.GetErrorMessage(), len(p.GetRows()))
		}
	}
	// A fresh identity per run: a signed one expires after a minute.
	runBoth(b, func() context.Context { return h.as("owner") }, call)
}

// debianSource returns a harness with a source of "owner" on the Debian
// database, and its id.
func debianSource(b *testing.B) (*harness, string) {
	cfg := debianDatabase(b)
	h := newHarness(b)
	if _, err := h.admin.Exec("GRANT SELECT ON `" + cfg.Database + "`.* TO '" + h.user + "'@'%'"); err != nil {
		b.Fatal(err)
	}
	port := int32(cfg.Port)
	created, err := h.client.CreateDataSource(h.as("owner"), &dbrouterv1.CreateDataSourceRequest{
		Name: "debian", Host: cfg.Host, Port: &port, Database: cfg.Database, Username: h.user, Password: h.pass})
	if err != nil {
		b.Fatal(err)
	}
	return h, created.GetConnection().GetId()
}

// BenchmarkTwoPhase measures the calls of a two-phase search on every
// Debian package, through the RPC, one at a time: a counted natural-mode
// plan on ft_description that returns the text columns (full) against the
// same plan returning keys and scores only (keys), for a page of 20 and
// for the search service's rank window of 200 rows; and the fetch of a
// page of 20 keys (each query's top 20) with every text column.
func BenchmarkTwoPhase(b *testing.B) {
	h, id := debianSource(b)
	// A fresh identity per run: a signed one expires after a minute.
	ctx := h.as("owner")
	execute := func(req *dbrouterv1.ExecuteSearchRequest) *dbrouterv1.ExecuteSearchResponse {
		req.SourceId = id
		resp, err := h.client.ExecuteSearch(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range append(resp.GetPlans(), resp.GetFetches()...) {
			if r.GetErrorCode() != "" {
				b.Fatalf("%s: %s", r.GetErrorCode(), r.GetErrorMessage())
			}
		}
		return resp
	}
	plan := func(q string, limit int32, keysOnly bool) *dbrouterv1.SearchPlan {
		return &dbrouterv1.SearchPlan{Table: "packages", Index: "ft_description", Mode: "natural", Against: q, Limit: limit, Count: true, KeysOnly: keysOnly}
	}
	for _, set := range []struct {
		name    string
		queries []string
	}{{"common", commonQueries}, {"rare", rareQueries}} {
		// Each query's top 20 keys, and a warm pool, schema cache and server.
		pages := make([][]*dbrouterv1.RowKey, len(set.queries))
		for i, q := range set.queries {
			resp := execute(&dbrouterv1.ExecuteSearchRequest{Plans: []*dbrouterv1.SearchPlan{plan(q, benchLimit, true), plan(q, 200, false)}})
			for _, r := range resp.GetPlans()[0].GetRows() {
				pages[i] = append(pages[i], &dbrouterv1.RowKey{Values: r.GetValues()})
			}
			if len(pages[i]) != benchLimit {
				b.Fatalf("%q: %d rows", q, len(pages[i]))
			}
		}
		for _, limit := range []int32{benchLimit, 200} {
			for _, keysOnly := range []bool{false, true} {
				name := "full"
				if keysOnly {
					name = "keys"
				}
				b.Run(fmt.Sprintf("%s/plan/limit=%d/%s", set.name, limit, name), func(b *testing.B) {
					ctx = h.as("owner")
					i := 0
					for b.Loop() {
						q := set.queries[i%len(set.queries)]
						i++
						resp := execute(&dbrouterv1.ExecuteSearchRequest{Plans: []*dbrouterv1.SearchPlan{plan(q, limit, keysOnly)}})
						if p := resp.GetPlans()[0]; len(p.GetRows()) == 0 || p.GetTotal() < int32(len(p.GetRows())) {
							b.Fatalf("%q: %d rows, total %d", q, len(p.GetRows()), p.GetTotal())
						}
					}
				})
			}
		}
		b.Run(set.name+"/fetch/keys=20", func(b *testing.B) {
			ctx = h.as("owner")
			i := 0
			for b.Loop() {
				keys := pages[i%len(pages)]
				i++
				resp := execute(&dbrouterv1.ExecuteSearchRequest{Fetches: []*dbrouterv1.FetchPlan{{Table: "packages", Keys: keys}}})
				if n := len(resp.GetFetches()[0].GetRows()); n != len(keys) {
					b.Fatalf("%d rows of %d keys", n, len(keys))
				}
			}
		})
	}
}

// BenchmarkRawStatement runs the same statement (as ExecuteSearch builds
// it, without the time limit and trace comment) straight through
// database/sql on one connection pool of the same size and driver settings,
// scanning the rows the same way.
func BenchmarkRawStatement(b *testing.B) {
	cfg := debianDatabase(b)
	dc := mysql.NewConfig()
	dc.Net, dc.Addr, dc.User, dc.Passwd, dc.DBName = "tcp", fmt.Sprintf("%s:%d", cfg.Host, cfg.Port), cfg.Username, cfg.Password, cfg.Database
	dc.InterpolateParams, dc.Collation, dc.ParseTime = true, "utf8mb4_unicode_ci", true
	connector, err := mysql.NewConnector(dc)
	if err != nil {
		b.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(10)
	ctx := context.Background()
	sc, err := schema.Discover(ctx, db, cfg.Database, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	t, _ := sc.Table("packages")
	stmt, err := sqlbuild.SearchStatement(sqlbuild.Search{Table: t, Index: t.FullTextIndexes[0], Columns: []string{"name", "section", "description"}, Mode: sqlbuild.ModeNatural, MaxValueChars: 8192})
	if err != nil {
		b.Fatal(err)
	}
	if t.FullTextIndexes[0].Name != "ft_description" {
		b.Fatalf("first index is %s", t.FullTextIndexes[0].Name)
	}
	call := func(ctx context.Context, q string) {
		rows, err := db.QueryContext(ctx, stmt.SQL, q, q, benchLimit, 0)
		if err != nil {
			b.Errorf("%q: %v", q, err)
			return
		}
		vals := make([]sql.NullString, 4)
		var score float64
		dest := []any{&vals[0], &vals[1], &vals[2], &vals[3], &score}
		n := 0
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				b.Errorf("%q: %v", q, err)
				break
			}
			n++
		}
		if err := rows.Close(); err != nil || n != benchLimit {
			b.Errorf("%q: %v, %d rows", q, err, n)
		}
	}
	runBoth(b, func() context.Context { return ctx }, call)
}

// runBoth runs call over each query set one at a time (c=1) and from 16
// goroutines (c=16), with a context from newCtx for each run.
func runBoth(b *testing.B, newCtx func() context.Context, call func(context.Context, string)) {
	for _, set := range []struct {
		name    string
		queries []string
	}{{"common", commonQueries}, {"rare", rareQueries}} {
		for _, q := range set.queries {
			call(newCtx(), q) // warm the pool, the schema cache and the server's caches
		}
		b.Run(set.name+"/c=1", func(b *testing.B) {
			ctx := newCtx()
			i := 0
			for b.Loop() {
				call(ctx, set.queries[i%len(set.queries)])
				i++
			}
		})
		b.Run(set.name+"/c=16", func(b *testing.B) {
			b.SetParallelism(8) // 8 x GOMAXPROCS (2 here) = 16 callers
			ctx := newCtx()
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					call(ctx, set.queries[int(i)%len(set.queries)])
				}
			})
		})
	}
}
