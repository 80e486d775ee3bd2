// Package config holds the configuration that every Altus process shares
// (runtime mode, logging, the metadata database, Redis, secrets and the
// addresses of the other services) and loads it from the environment with
// the v1 variable names, reporting every problem at once.
package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/go-sql-driver/mysql"
)

// Version is the suite's version, reported in health and response metadata.
const Version = "5.0.0"

// Runtime is how the process runs.
type Runtime struct {
	// Env is "production" (default), "development" or "test". Outside
	// development, missing or malformed secrets stop the process.
	Env string `env:"ALTUS_ENV" envDefault:"production"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`
	// AdminPort serves /metrics and /debug/pprof; 0 keeps the service's default.
	AdminPort int `env:"ALTUS_ADMIN_PORT"`
	// DrainDelay is how long to keep serving after reporting NOT_SERVING on shutdown.
	DrainDelay time.Duration `env:"ALTUS_DRAIN_DELAY" envDefault:"2s"`
	// StopTimeout bounds the graceful stop of servers and the closing of pools.
	StopTimeout time.Duration `env:"ALTUS_STOP_TIMEOUT" envDefault:"15s"`
}

// Development reports whether the process runs in development mode.
func (r Runtime) Development() bool { return r.Env == "development" }

// Level returns the parsed log level (info when malformed; Validate reports it).
func (r Runtime) Level() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(r.LogLevel)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// Validate records the problems of r.
func (r Runtime) Validate(p *Problems) {
	switch r.Env {
	case "production", "development", "test":
	default:
		p.Addf("ALTUS_ENV must be production, development or test; got %q", r.Env)
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(r.LogLevel)); err != nil {
		p.Addf("LOG_LEVEL must be debug, info, warn or error; got %q", r.LogLevel)
	}
	if r.AdminPort < 0 || r.AdminPort > 65535 {
		p.Addf("ALTUS_ADMIN_PORT must be a port number; got %d", r.AdminPort)
	}
}

// MySQL is the metadata database.
type MySQL struct {
	Host     string `env:"DB_HOST" envDefault:"127.0.0.1"`
	Port     int    `env:"DB_PORT" envDefault:"3306"`
	Username string `env:"DB_USERNAME" envDefault:"root"`
	Password string `env:"DB_PASSWORD"`
	Database string `env:"DB_DATABASE" envDefault:"altus4"`
	// MaxOpenConns bounds the pool to the metadata database.
	MaxOpenConns int `env:"ALTUS_DB_MAX_OPEN_CONNS" envDefault:"20"`
	// WriteHost is the primary (host or host:port); empty means Host. Every
	// write and every migration goes there.
	WriteHost string `env:"DB_WRITE_HOST"`
	// ReadHosts are the replicas from DB_READ_HOST_1..DB_READ_HOST_N (host
	// or host:port, numbered without gaps), with the primary's credentials
	// and database. They serve only the reads that tolerate staleness.
	ReadHosts []string `env:"-"`
	// ReadMaxLag is the largest replication lag at which a replica still serves reads.
	ReadMaxLag time.Duration `env:"ALTUS_DB_READ_MAX_LAG" envDefault:"10s"`
	// ReadCheckInterval is how often each replica is checked (ping and lag).
	ReadCheckInterval time.Duration `env:"ALTUS_DB_READ_CHECK_INTERVAL" envDefault:"2s"`
}

// readHostPrefix names the numbered replica variables.
const readHostPrefix = "DB_READ_HOST_"

// readEnviron fills ReadHosts from DB_READ_HOST_1..N and records a gap in
// the numbering or a malformed entry.
func (m *MySQL) readEnviron(vars map[string]string, p *Problems) {
	m.ReadHosts = nil
	last := 0
	for k := range vars {
		suffix, ok := strings.CutPrefix(k, readHostPrefix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(suffix)
		if err != nil || n < 1 || strconv.Itoa(n) != suffix {
			p.Addf("%s is not a replica variable: number them %s1, %s2, ...", k, readHostPrefix, readHostPrefix)
			continue
		}
		if n > last {
			last = n
		}
	}
	for n := 1; n <= last; n++ {
		k := readHostPrefix + strconv.Itoa(n)
		v, ok := vars[k]
		if !ok {
			p.Addf("%s is missing: replica variables must be numbered from 1 without gaps (%s%d is set)", k, readHostPrefix, last)
			continue
		}
		if _, _, err := splitHostPort(v, 3306); err != nil {
			p.Addf("%s must be host or host:port; got %q", k, v)
			continue
		}
		m.ReadHosts = append(m.ReadHosts, v)
	}
}

// splitHostPort reads "host" or "host:port" (IPv6 in brackets), with def
// as the port when none is given.
func splitHostPort(s string, def int) (string, int, error) {
	if s == "" || strings.ContainsAny(s, " \t/@?#") {
		return "", 0, errors.New("malformed host")
	}
	if h, port, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 || h == "" {
			return "", 0, errors.New("malformed port")
		}
		return h, n, nil
	}
	if strings.Contains(s, ":") && !strings.HasPrefix(s, "[") {
		// A bare IPv6 address.
		if net.ParseIP(s) == nil {
			return "", 0, errors.New("malformed host")
		}
		return s, def, nil
	}
	if strings.ContainsAny(s, "[]") {
		return "", 0, errors.New("malformed host")
	}
	return s, def, nil
}

// WriteAddr returns the primary's host:port (DB_WRITE_HOST, else DB_HOST, with DB_PORT).
func (m MySQL) WriteAddr() string {
	h := m.WriteHost
	if h == "" {
		h = m.Host
	}
	host, port, err := splitHostPort(h, m.Port)
	if err != nil {
		host, port = h, m.Port
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// ReadAddrs returns the replicas' host:port, in variable order (DB_PORT when none is given).
func (m MySQL) ReadAddrs() []string {
	out := make([]string, 0, len(m.ReadHosts))
	for _, h := range m.ReadHosts {
		host, port, err := splitHostPort(h, m.Port)
		if err != nil {
			continue
		}
		out = append(out, net.JoinHostPort(host, strconv.Itoa(port)))
	}
	return out
}

// DSN returns the go-sql-driver/mysql DSN of the database on the primary.
func (m MySQL) DSN() string { return m.DSNAt(m.WriteAddr()) }

// DSNAt returns the DSN of the database on the server at addr (host:port),
// with the same credentials and settings (a replica's).
func (m MySQL) DSNAt(addr string) string {
	c := mysql.NewConfig()
	c.Net = "tcp"
	c.Addr = addr
	c.User = m.Username
	c.Passwd = m.Password
	c.DBName = m.Database
	c.ParseTime = true
	c.Loc = time.UTC
	c.Collation = "utf8mb4_unicode_ci"
	c.Params = map[string]string{"time_zone": "'+00:00'"}
	// One round trip per statement instead of prepare/execute/close; safe
	// with utf8mb4 and the metadata database's own, trusted connection.
	c.InterpolateParams = true
	return c.FormatDSN()
}

// Validate records the problems of m.
func (m MySQL) Validate(p *Problems) {
	if m.Host == "" {
		p.Add("DB_HOST must not be empty")
	}
	if m.Port <= 0 || m.Port > 65535 {
		p.Addf("DB_PORT must be a port number; got %d", m.Port)
	}
	if m.Database == "" || strings.ContainsAny(m.Database, "`'\"\\/. ") {
		p.Addf("DB_DATABASE must be a plain database name; got %q", m.Database)
	}
	if m.MaxOpenConns <= 0 {
		p.Addf("ALTUS_DB_MAX_OPEN_CONNS must be positive; got %d", m.MaxOpenConns)
	}
	if m.WriteHost != "" {
		if _, _, err := splitHostPort(m.WriteHost, m.Port); err != nil {
			p.Addf("DB_WRITE_HOST must be host or host:port; got %q", m.WriteHost)
		}
	}
	if len(m.ReadHosts) > 0 {
		if m.ReadMaxLag <= 0 {
			p.Addf("ALTUS_DB_READ_MAX_LAG must be positive; got %s", m.ReadMaxLag)
		}
		if m.ReadCheckInterval <= 0 {
			p.Addf("ALTUS_DB_READ_CHECK_INTERVAL must be positive; got %s", m.ReadCheckInterval)
		}
	}
}

// Redis is the Redis server the cache service uses.
type Redis struct {
	Host     string `env:"REDIS_HOST" envDefault:"127.0.0.1"`
	Port     int    `env:"REDIS_PORT" envDefault:"6379"`
	Password string `env:"REDIS_PASSWORD"`
	// DB is the logical database (standalone servers only).
	DB int `env:"ALTUS_REDIS_DB" envDefault:"0"`
	// Prefix is put before every key, so that several deployments can share a server.
	Prefix string `env:"ALTUS_REDIS_PREFIX" envDefault:"altus4:"`
}

// Addr returns host:port.
func (r Redis) Addr() string { return net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) }

// Validate records the problems of r.
func (r Redis) Validate(p *Problems) {
	if r.Host == "" {
		p.Add("REDIS_HOST must not be empty")
	}
	if r.Port <= 0 || r.Port > 65535 {
		p.Addf("REDIS_PORT must be a port number; got %d", r.Port)
	}
}

// Secrets are the keys of the suite. JWTSecret signs session tokens and the
// identity that services pass to each other; EncryptionKey encrypts the
// credentials of the users' databases.
type Secrets struct {
	JWTSecret     string `env:"JWT_SECRET"`
	EncryptionKey string `env:"ENCRYPTION_KEY"`
}

// Development-only secrets, used when ALTUS_ENV=development and none is set.
// They are public, so nothing protected by them is secret.
const (
	devJWTSecret     = "altus-development-only-jwt-secret-not-for-production"
	devEncryptionKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
)

// Validate records the problems of s. Outside development a missing or
// malformed secret is a problem; in development a missing one is replaced
// by a fixed development value and a warning is logged by the caller.
func (s *Secrets) Validate(rt Runtime, needEncryptionKey bool, p *Problems) (warnings []string) {
	if s.JWTSecret == "" && rt.Development() {
		s.JWTSecret = devJWTSecret
		warnings = append(warnings, "JWT_SECRET is not set: using the public development secret")
	}
	if len(s.JWTSecret) < 32 {
		p.Addf("JWT_SECRET must be at least 32 characters (it is %d); generate one with: openssl rand -hex 32", len(s.JWTSecret))
	}
	if !needEncryptionKey {
		return warnings
	}
	if s.EncryptionKey == "" && rt.Development() {
		s.EncryptionKey = devEncryptionKey
		warnings = append(warnings, "ENCRYPTION_KEY is not set: using the public development key")
	}
	if b, err := hex.DecodeString(s.EncryptionKey); err != nil || len(b) != 32 {
		p.Add("ENCRYPTION_KEY must be 64 hexadecimal characters (32 bytes); generate one with: openssl rand -hex 32")
	}
	return warnings
}

// EncryptionKeyBytes returns the decoded encryption key (after Validate).
func (s Secrets) EncryptionKeyBytes() []byte {
	b, _ := hex.DecodeString(s.EncryptionKey)
	return b
}

// Services are the gRPC addresses of the suite's services. An address may be
// host:port or any gRPC target (e.g. dns:///search:50051 to balance across
// the addresses a name resolves to).
type Services struct {
	Search   string `env:"ALTUS_SEARCH_ADDR" envDefault:"127.0.0.1:50051"`
	Cache    string `env:"ALTUS_CACHE_ADDR" envDefault:"127.0.0.1:50052"`
	Enhance  string `env:"ALTUS_ENHANCE_ADDR" envDefault:"127.0.0.1:50053"`
	DBRouter string `env:"ALTUS_DBROUTER_ADDR" envDefault:"127.0.0.1:50054"`
	Account  string `env:"ALTUS_ACCOUNT_ADDR" envDefault:"127.0.0.1:50055"`
}

// Problems collects configuration problems so they are reported together.
type Problems struct {
	list []string
}

// Add records a problem.
func (p *Problems) Add(msg string) { p.list = append(p.list, msg) }

// Addf records a formatted problem.
func (p *Problems) Addf(format string, args ...any) { p.Add(fmt.Sprintf(format, args...)) }

// Err returns one error listing every problem, or nil.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	return errors.New("invalid configuration:\n  - " + strings.Join(p.list, "\n  - "))
}

// Parse fills cfg (a pointer to a struct with `env` tags) from environ
// (os.Environ() form; nil means the process environment) and records every
// unparsable value in p.
func Parse(cfg any, environ []string, p *Problems) {
	if environ == nil {
		environ = os.Environ()
	}
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	// An unparsable value is reported by name and left out, so that its
	// default applies and every other value is still read and checked: the
	// one error then lists each real problem, and none that comes only from
	// fields left empty.
	for _, key := range checkValues(reflect.ValueOf(cfg).Elem().Type(), vars, p) {
		delete(vars, key)
	}
	if err := env.ParseWithOptions(cfg, env.Options{Environment: vars}); err != nil {
		var agg env.AggregateError
		if errors.As(err, &agg) {
			for _, e := range agg.Errors {
				p.Add(e.Error())
			}
			return
		}
		p.Add(err.Error())
	}
	readEnvirons(reflect.ValueOf(cfg).Elem(), vars, p)
}

// environReader is a configuration part that reads variables the `env`
// tags cannot describe (such as numbered lists).
type environReader interface {
	readEnviron(vars map[string]string, p *Problems)
}

// readEnvirons calls readEnviron on every part of v that has it.
func readEnvirons(v reflect.Value, vars map[string]string, p *Problems) {
	if v.Kind() != reflect.Struct {
		return
	}
	if v.CanAddr() {
		if r, ok := v.Addr().Interface().(environReader); ok {
			r.readEnviron(vars, p)
			return
		}
	}
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).IsExported() {
			readEnvirons(v.Field(i), vars, p)
		}
	}
}

// checkValues reports, by variable name, every set variable whose value does
// not parse as its field's type (the parser itself names struct fields only),
// and returns those variables' names.
func checkValues(t reflect.Type, vars map[string]string, p *Problems) (bad []string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if key == "-" {
			continue
		}
		if key == "" {
			if f.Type.Kind() == reflect.Struct {
				bad = append(bad, checkValues(f.Type, vars, p)...)
			}
			continue
		}
		raw, ok := vars[key]
		if !ok {
			continue
		}
		if msg := valueProblem(f.Type, raw); msg != "" {
			p.Addf("%s must be %s; got %q", key, msg, raw)
			bad = append(bad, key)
		}
	}
	return bad
}

// valueProblem says what raw should be when it does not parse as t, or "".
func valueProblem(t reflect.Type, raw string) string {
	if t == reflect.TypeOf(time.Duration(0)) {
		if _, err := time.ParseDuration(raw); err != nil {
			return "a duration such as 500ms, 30s or 5m"
		}
		return ""
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int32, reflect.Int64:
		if _, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64); err != nil {
			return "an integer"
		}
	case reflect.Bool:
		if _, err := strconv.ParseBool(raw); err != nil {
			return "true or false"
		}
	case reflect.Float64:
		if _, err := strconv.ParseFloat(raw, 64); err != nil {
			return "a number"
		}
	}
	return ""
}

// PortOr returns port when set and def otherwise.
func PortOr(port, def int) int {
	if port != 0 {
		return port
	}
	return def
}

// Checker is a service's configuration: it records its own problems.
type Checker interface {
	Check(p *Problems)
}

// Load parses environ (os.Environ() form; nil means the process
// environment) into a new T and checks it, reporting every problem in one
// error.
func Load[T any, PT interface {
	*T
	Checker
}](environ []string) (T, error) {
	var c T
	var p Problems
	Parse(&c, environ, &p)
	PT(&c).Check(&p)
	return c, p.Err()
}

// Defaults returns a T with every default of its `env` tags applied and
// nothing checked.
func Defaults[T any]() T {
	var c T
	var p Problems
	Parse(&c, []string{}, &p)
	return c
}

// Validate checks c and reports every problem in one error.
func Validate(c Checker) error {
	var p Problems
	c.Check(&p)
	return p.Err()
}
