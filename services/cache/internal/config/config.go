// Package config is the cache service's configuration.
package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	shared "github.com/altus4/altus/pkg/config"
)

// Config is everything the cache service reads from its environment.
type Config struct {
	Runtime shared.Runtime
	// Redis is the standalone server (REDIS_HOST, REDIS_PORT), the password
	// of the data servers (REDIS_PASSWORD), the database and the key prefix.
	Redis shared.Redis
	// Topology chooses a URL, Sentinel or Cluster deployment instead of the
	// standalone REDIS_HOST:REDIS_PORT.
	Topology Topology
	// Secrets holds JWT_SECRET, from which the key that verifies the
	// identity assertions of callers is derived. The cache service encrypts
	// nothing, so ENCRYPTION_KEY is not read.
	Secrets shared.Secrets
	// GRPCPort is the port of the CacheService.
	GRPCPort int `env:"ALTUS_GRPC_PORT" envDefault:"50052"`
	// RedisTimeout bounds every Redis call, so that a dead or unreachable
	// Redis answers UNAVAILABLE quickly instead of holding callers.
	RedisTimeout time.Duration `env:"ALTUS_REDIS_TIMEOUT" envDefault:"500ms"`
	// RedisCheckInterval is how often Redis is pinged to report its health.
	RedisCheckInterval time.Duration `env:"ALTUS_REDIS_CHECK_INTERVAL" envDefault:"2s"`
	// ClientCacheMB is the memory (MiB) the client-side cache may use per
	// Redis connection; 0 turns client-side caching off (servers without RESP3).
	ClientCacheMB int `env:"ALTUS_REDIS_CLIENT_CACHE_MB" envDefault:"32"`
	// Warnings are non-fatal remarks of Validate, to be logged at start.
	Warnings []string `env:"-"`
}

// DefaultAdminPort is where /metrics is served unless ALTUS_ADMIN_PORT says otherwise.
const DefaultAdminPort = 9092

// Default returns the configuration with every default applied.
func Default() Config { return shared.Defaults[Config]() }

// Load reads the configuration from environ (os.Environ() form; nil means
// the process environment) and checks it, reporting every problem at once.
func Load(environ []string) (Config, error) {
	c, err := shared.Load[Config](environ)
	if err != nil {
		return c, err
	}
	if mode := c.Topology.Mode(); mode != Standalone {
		for _, name := range []string{"REDIS_HOST", "REDIS_PORT"} {
			if isSet(environ, name) {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s is ignored: %s chooses the Redis servers", name, c.Topology.setting()))
			}
		}
	}
	return c, nil
}

// isSet reports whether environ (nil: the process environment) sets name.
func isSet(environ []string, name string) bool {
	if environ == nil {
		_, ok := os.LookupEnv(name)
		return ok
	}
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			return true
		}
	}
	return false
}

// Validate checks the configuration and reports every problem in one error.
func (c *Config) Validate() error { return shared.Validate(c) }

// Check records every problem of the configuration in p.
func (c *Config) Check(p *shared.Problems) {
	c.Runtime.Validate(p)
	c.Redis.Validate(p)
	c.Topology.Check(c.Redis, p)
	c.Warnings = c.Secrets.Validate(c.Runtime, false, p)
	if c.GRPCPort <= 0 || c.GRPCPort > 65535 {
		p.Addf("ALTUS_GRPC_PORT must be a port number; got %d", c.GRPCPort)
	}
	if c.RedisTimeout <= 0 || c.RedisTimeout > time.Minute {
		p.Addf("ALTUS_REDIS_TIMEOUT must be between 1ms and 1m; got %s", c.RedisTimeout)
	}
	if c.ClientCacheMB < 0 || c.ClientCacheMB > 4096 {
		p.Addf("ALTUS_REDIS_CLIENT_CACHE_MB must be between 0 and 4096; got %d", c.ClientCacheMB)
	}
	if c.RedisCheckInterval < 100*time.Millisecond || c.RedisCheckInterval > time.Hour {
		p.Addf("ALTUS_REDIS_CHECK_INTERVAL must be between 100ms and 1h; got %s", c.RedisCheckInterval)
	}
}

// Mode is how the cache service reaches Redis.
type Mode string

// The Redis deployments the cache service can use.
const (
	// Standalone is one server at REDIS_HOST:REDIS_PORT (the default).
	Standalone Mode = "standalone"
	// URL is the server (or servers) REDIS_URL names.
	URL Mode = "url"
	// Sentinel is the master of REDIS_SENTINEL_MASTER as REDIS_SENTINELS report it.
	Sentinel Mode = "sentinel"
	// Cluster is the Redis Cluster REDIS_CLUSTER_NODES belong to.
	Cluster Mode = "cluster"
)

// Topology chooses the Redis deployment. At most one of URL, Sentinels and
// ClusterNodes may be set; with none, REDIS_HOST:REDIS_PORT is used.
type Topology struct {
	// URL is a redis:// or rediss:// URL (user, password, database, TLS and
	// the options rueidis.ParseURL reads).
	URL string `env:"REDIS_URL"`
	// Sentinels are the host:port addresses of the Sentinels to ask for the
	// master of SentinelMaster.
	Sentinels []string `env:"REDIS_SENTINELS"`
	// SentinelMaster is the name of the master set the Sentinels monitor.
	SentinelMaster string `env:"REDIS_SENTINEL_MASTER"`
	// SentinelPassword authenticates to the Sentinels (REDIS_PASSWORD
	// authenticates to the master).
	SentinelPassword string `env:"REDIS_SENTINEL_PASSWORD"`
	// ClusterNodes are host:port addresses of some nodes of a Redis Cluster;
	// the client learns the rest from them.
	ClusterNodes []string `env:"REDIS_CLUSTER_NODES"`
}

// Mode reports the deployment the settings choose (assuming they passed Check).
func (t Topology) Mode() Mode {
	switch {
	case t.URL != "":
		return URL
	case len(t.SentinelAddrs()) > 0:
		return Sentinel
	case len(t.ClusterAddrs()) > 0:
		return Cluster
	}
	return Standalone
}

// SentinelAddrs returns REDIS_SENTINELS without blanks and empty entries.
func (t Topology) SentinelAddrs() []string { return clean(t.Sentinels) }

// ClusterAddrs returns REDIS_CLUSTER_NODES without blanks and empty entries.
func (t Topology) ClusterAddrs() []string { return clean(t.ClusterNodes) }

func clean(list []string) []string {
	var out []string
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// setting names the variable that chose the deployment.
func (t Topology) setting() string {
	switch t.Mode() {
	case URL:
		return "REDIS_URL"
	case Sentinel:
		return "REDIS_SENTINELS"
	case Cluster:
		return "REDIS_CLUSTER_NODES"
	}
	return "REDIS_HOST"
}

// Check records the problems of the topology settings, given the standalone
// settings r they combine with.
func (t Topology) Check(r shared.Redis, p *shared.Problems) {
	sentinels, nodes := t.SentinelAddrs(), t.ClusterAddrs()
	var set []string
	if t.URL != "" {
		set = append(set, "REDIS_URL")
	}
	if len(sentinels) > 0 {
		set = append(set, "REDIS_SENTINELS")
	}
	if len(nodes) > 0 {
		set = append(set, "REDIS_CLUSTER_NODES")
	}
	if len(set) > 1 {
		both := "both"
		if len(set) > 2 {
			both = "all"
		}
		p.Addf("%s are %s set; set only one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES", strings.Join(set, " and "), both)
	}
	if t.URL != "" {
		checkURL(t.URL, r, p)
	}
	switch {
	case len(sentinels) > 0 && t.SentinelMaster == "":
		p.Add("REDIS_SENTINELS is set but REDIS_SENTINEL_MASTER is not; name the master set the Sentinels monitor")
	case len(sentinels) == 0 && t.SentinelMaster != "":
		p.Add("REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS is not; list the Sentinels as host:port,host:port")
	}
	if t.SentinelPassword != "" && len(sentinels) == 0 {
		p.Add("REDIS_SENTINEL_PASSWORD is set but REDIS_SENTINELS is not")
	}
	checkAddrs("REDIS_SENTINELS", sentinels, p)
	checkAddrs("REDIS_CLUSTER_NODES", nodes, p)
	if len(nodes) > 0 && r.DB != 0 {
		p.Addf("ALTUS_REDIS_DB is %d but a Redis Cluster has only database 0; unset ALTUS_REDIS_DB", r.DB)
	}
}

// checkURL records the problems of REDIS_URL.
func checkURL(raw string, r shared.Redis, p *shared.Problems) {
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the URL, which may hold a password.
		p.Add("REDIS_URL is not a URL; give redis://[user:password@]host:port[/db] or rediss://…")
		return
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		p.Addf("REDIS_URL must start with redis:// or rediss://; got %q", u.Scheme+"://")
		return
	}
	if u.Host == "" {
		p.Add("REDIS_URL names no host; give redis://host:port")
	}
	if _, err := rueidis.ParseURL(raw); err != nil {
		p.Addf("REDIS_URL: %v", err)
	}
	if _, has := u.User.Password(); has && r.Password != "" {
		p.Add("REDIS_URL holds a password and REDIS_PASSWORD is set too; keep only one")
	}
	if r.DB != 0 {
		p.Addf("ALTUS_REDIS_DB is %d but REDIS_URL is set; put the database in the URL (redis://host:port/%d)", r.DB, r.DB)
	}
}

// checkAddrs records the entries of a host:port list that are not host:port.
func checkAddrs(name string, addrs []string, p *shared.Problems) {
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		n, perr := strconv.Atoi(port)
		if err != nil || host == "" || perr != nil || n <= 0 || n > 65535 {
			p.Addf("%s must be a comma-separated list of host:port; %q is not host:port", name, a)
		}
	}
}
