package e2e

import (
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/altus4/altus/pkg/testenv"
)

var userSeq atomic.Int64

// User is a registered account.
type User struct {
	ID       string   `json:"id"`
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Conns    []string `json:"connectedDatabases"`
	Password string   `json:"-"`
	Token    string   `json:"-"`
}

type authData struct {
	User      User   `json:"user"`
	Token     string `json:"token"`
	ExpiresAt string `json:"expiresAt"`
}

// Register creates a fresh user and returns it with a session token.
func (s *Suite) Register(t testing.TB) User {
	t.Helper()
	n := userSeq.Add(1)
	email := fmt.Sprintf("user%d-%s@example.com", n, testenv.RandomSuffix(6))
	r := s.Call(t, http.MethodPost, "/api/v1/auth/register", "", map[string]string{"email": email, "password": "correct horse battery", "name": "User " + fmt.Sprint(n)})
	Expect(t, r, http.StatusCreated, "")
	var d authData
	r.Decode(t, &d)
	d.User.Password = "correct horse battery"
	d.User.Token = d.Token
	return d.User
}

// Key is an API key as returned by the API.
type Key struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	KeyPrefix     string   `json:"keyPrefix"`
	Environment   string   `json:"environment"`
	Permissions   []string `json:"permissions"`
	RateLimitTier string   `json:"rateLimitTier"`
	ExpiresAt     *string  `json:"expiresAt"`
	LastUsed      *string  `json:"lastUsed"`
	UsageCount    int      `json:"usageCount"`
	IsActive      bool     `json:"isActive"`
}

type keyData struct {
	APIKey    Key    `json:"apiKey"`
	SecretKey string `json:"secretKey"`
	Warning   string `json:"warning"`
	OldKeyID  string `json:"oldKeyId"`
}

// CreateKey creates an API key for u with the given body and returns it and its secret.
func (s *Suite) CreateKey(t testing.TB, u User, body map[string]any) (Key, string) {
	t.Helper()
	r := s.Call(t, http.MethodPost, "/api/v1/keys", u.Token, body)
	Expect(t, r, http.StatusCreated, "")
	var d keyData
	r.Decode(t, &d)
	return d.APIKey, d.SecretKey
}

// Tenant is a user's own database on the test server, reachable with its
// own MySQL account (read-only) and password.
type Tenant struct {
	Database string
	User     string
	Password string
	DB       *sql.DB
}

// TenantDatabase creates a user's own database with FULLTEXT-indexed tables
// and a MySQL account that may read it.
func TenantDatabase(t testing.TB) Tenant {
	t.Helper()
	db, cfg := testenv.OpenDatabase(t)
	tenant := Tenant{Database: cfg.Database, User: "altus_t_" + testenv.RandomSuffix(8), Password: "Pw-" + testenv.RandomSuffix(16), DB: db}
	stmts := []string{
		`CREATE TABLE articles (
			id INT AUTO_INCREMENT PRIMARY KEY,
			title VARCHAR(200) NOT NULL,
			body TEXT NOT NULL,
			author VARCHAR(100),
			FULLTEXT KEY ft_title_body (title, body),
			FULLTEXT KEY ft_title (title)
		) ENGINE=InnoDB`,
		`CREATE TABLE notes (
			owner VARCHAR(40) NOT NULL,
			seq INT NOT NULL,
			content MEDIUMTEXT,
			PRIMARY KEY (owner, seq)
		) ENGINE=InnoDB`,
		`INSERT INTO articles (title, body, author) VALUES
			('Connection pooling in MariaDB', 'Pools keep connections warm and bound concurrency.', 'ada'),
			('Full-text search basics', 'MATCH AGAINST ranks rows by relevance.', 'grace')`,
	}
	stmts = append(stmts,
		"CREATE USER '"+tenant.User+"'@'%' IDENTIFIED BY '"+tenant.Password+"'",
		"CREATE USER '"+tenant.User+"'@'localhost' IDENTIFIED BY '"+tenant.Password+"'",
		"GRANT SELECT ON `"+tenant.Database+"`.* TO '"+tenant.User+"'@'%'",
		"GRANT SELECT ON `"+tenant.Database+"`.* TO '"+tenant.User+"'@'localhost'",
	)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("tenant database: %v", err)
		}
	}
	t.Cleanup(func() {
		db.Exec("DROP USER IF EXISTS '" + tenant.User + "'@'%'")
		db.Exec("DROP USER IF EXISTS '" + tenant.User + "'@'localhost'")
	})
	return tenant
}

// Connection is a data source as returned by the API.
type Connection struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Host             string `json:"host"`
	Port             int    `json:"port"`
	Database         string `json:"database"`
	Username         string `json:"username"`
	SSL              bool   `json:"ssl"`
	IsActive         bool   `json:"isActive"`
	ConnectionStatus string `json:"connectionStatus"`
}

// AddDatabase registers the tenant database for u under name.
func (s *Suite) AddDatabase(t testing.TB, u User, name string, tenant Tenant) Connection {
	t.Helper()
	cfg := testenv.ServerConfig()
	r := s.Call(t, http.MethodPost, "/api/v1/databases", u.Token, map[string]any{
		"name": name, "host": cfg.Host, "port": cfg.Port, "database": tenant.Database,
		"username": tenant.User, "password": tenant.Password,
	})
	Expect(t, r, http.StatusCreated, "")
	if strings.Contains(string(r.Raw), tenant.Password) {
		t.Fatalf("a response shows the password: %s", r.Raw)
	}
	var c Connection
	r.Decode(t, &c)
	return c
}
