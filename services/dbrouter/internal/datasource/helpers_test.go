package datasource

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/dbrouter/internal/credential"
	"github.com/altus4/altus/services/dbrouter/internal/migrations"
	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
	"github.com/altus4/altus/services/dbrouter/internal/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is the user's database: FULLTEXT indexes of one and several
// columns, a table without one, a composite primary key.
var fixture = []string{
	`CREATE TABLE articles (
		id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
		title VARCHAR(200) NOT NULL,
		body TEXT,
		author VARCHAR(100),
		FULLTEXT KEY ft_title (title),
		FULLTEXT KEY ft_title_body (title, body)
	) ENGINE=InnoDB`,
	`CREATE TABLE ledger (id BIGINT NOT NULL PRIMARY KEY, amount DECIMAL(10,2), memo VARCHAR(50)) ENGINE=InnoDB`,
	`CREATE TABLE post_tags (
		post_id INT NOT NULL,
		tag VARCHAR(50) NOT NULL,
		description MEDIUMTEXT,
		PRIMARY KEY (post_id, tag),
		FULLTEXT KEY ft_description (description)
	) ENGINE=InnoDB`,
	`INSERT INTO articles (title, body, author) VALUES ('Hello MariaDB', 'Full-text search without a second copy', 'ana')`,
}

// env is a Service over a fresh metadata database, and a user's database
// (another database on the same server) reachable with a dedicated account.
type env struct {
	svc     *Service
	store   *store.Store
	meta    *sql.DB
	pools   *pool.Manager
	schemas *schema.Cache
	cipher  *credential.Cipher
	clock   *clock

	// target is the user's database; admin is a root connection to it.
	target config.MySQL
	admin  *sql.DB
	// user and password log in to target only.
	user, password string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	meta, _ := testenv.OpenDatabase(t)
	if _, err := migrate.Up(ctx, meta, migrations.Service, migrations.FS, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	admin, target := testenv.OpenDatabase(t)
	for _, stmt := range fixture {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("fixture: %v", err)
		}
	}
	e := &env{meta: meta, admin: admin, target: target, clock: &clock{t: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)}}
	e.user, e.password = createUser(t, admin, target.Database)

	var err error
	if e.cipher, err = credential.New(testKey()); err != nil {
		t.Fatal(err)
	}
	e.store = store.New(meta)
	e.pools = pool.NewManager(pool.Options{MaxSize: 4, AcquireTimeout: 2 * time.Second, ReapInterval: -1})
	t.Cleanup(func() { _ = e.pools.Close(context.Background()) })
	e.schemas = schema.NewCache(schema.CacheOptions{TTL: 5 * time.Minute, Now: e.clock.Now})
	t.Cleanup(e.schemas.Wait)
	e.svc = e.newReplica(t, e.pools)
	return e
}

// newReplica returns another Service over the same metadata database, as a
// second replica of the service would be.
func (e *env) newReplica(t testing.TB, pools *pool.Manager) *Service {
	t.Helper()
	svc, err := New(Options{Store: e.store, Cipher: e.cipher, Pools: pools, Schemas: e.schemas, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func testKey() []byte {
	b := make([]byte, credential.KeySize)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// createUser creates a MySQL account allowed to read database only, dropped
// when the test ends.
func createUser(t testing.TB, admin *sql.DB, database string) (string, string) {
	t.Helper()
	ctx := context.Background()
	user := "altus_t_" + testenv.RandomSuffix(8)
	password := "pw-" + testenv.RandomSuffix(16)
	// Account and database names are generated above, never from input.
	if _, err := admin.ExecContext(ctx, "CREATE USER '"+user+"'@'%' IDENTIFIED BY '"+password+"'"); err != nil {
		t.Fatalf("create user: %v", err)
	}
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP USER IF EXISTS '"+user+"'@'%'") })
	if _, err := admin.ExecContext(ctx, "GRANT SELECT ON `"+database+"`.* TO '"+user+"'@'%'"); err != nil {
		t.Fatalf("grant: %v", err)
	}
	return user, password
}

// input returns a CreateInput for the env's user database.
func (e *env) input(name string) CreateInput {
	port := e.target.Port
	return CreateInput{Name: name, Host: e.target.Host, Port: &port, Database: e.target.Database, Username: e.user, Password: e.password}
}

func (e *env) create(t testing.TB, userID, name string) Connection {
	t.Helper()
	c, err := e.svc.Create(context.Background(), userID, e.input(name))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }
