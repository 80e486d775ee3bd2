// Package config is the cache service's configuration.
package config

import (
	"time"

	shared "github.com/altus4/altus/pkg/config"
)

// Config is everything the cache service reads from its environment.
type Config struct {
	Runtime shared.Runtime
	Redis   shared.Redis
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
func Load(environ []string) (Config, error) { return shared.Load[Config](environ) }

// Validate checks the configuration and reports every problem in one error.
func (c *Config) Validate() error { return shared.Validate(c) }

// Check records every problem of the configuration in p.
func (c *Config) Check(p *shared.Problems) {
	c.Runtime.Validate(p)
	c.Redis.Validate(p)
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
