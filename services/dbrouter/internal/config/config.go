// Package config is the dbrouter service's configuration.
package config

import (
	"time"

	shared "github.com/altus4/altus/pkg/config"
)

// Config is everything the dbrouter service reads from its environment.
type Config struct {
	Runtime  shared.Runtime
	MySQL    shared.MySQL
	Secrets  shared.Secrets
	Services shared.Services
	// GRPCPort is the port of the DBRouterService.
	GRPCPort int `env:"ALTUS_GRPC_PORT" envDefault:"50054"`
	// Migrate applies the service's migrations at start when true.
	Migrate bool `env:"ALTUS_MIGRATE" envDefault:"true"`
	// Sources configures the connection pools to the users' databases.
	Sources Sources
	// SchemaTTL is how long a discovered schema is served before it is
	// re-read in the background.
	SchemaTTL time.Duration `env:"ALTUS_SCHEMA_TTL" envDefault:"5m"`
	// Warnings are non-fatal remarks of Validate, to be logged at start.
	Warnings []string `env:"-"`
}

// Sources configures the pools to the users' databases (data sources).
type Sources struct {
	// PoolSize bounds the connections of one replica to one source.
	PoolSize int `env:"ALTUS_SOURCE_POOL_SIZE" envDefault:"10"`
	// AcquireTimeout bounds the wait for a free connection.
	AcquireTimeout time.Duration `env:"ALTUS_SOURCE_ACQUIRE_TIMEOUT" envDefault:"2s"`
	// IdleTimeout is how long an unused connection is kept open.
	IdleTimeout time.Duration `env:"ALTUS_SOURCE_IDLE_TIMEOUT" envDefault:"5m"`
	// TLSSkipVerify accepts any server certificate for sources with ssl
	// enabled (self-signed development servers only).
	TLSSkipVerify bool `env:"ALTUS_SOURCE_TLS_SKIP_VERIFY" envDefault:"false"`
	// SweepInterval is how often pools of sources deleted or changed
	// through another replica are closed.
	SweepInterval time.Duration `env:"ALTUS_SOURCE_SWEEP_INTERVAL" envDefault:"30s"`
}

// DefaultAdminPort is where /metrics is served unless ALTUS_ADMIN_PORT says otherwise.
const DefaultAdminPort = 9094

// Default returns the configuration with every default applied.
func Default() Config {
	var c Config
	var p shared.Problems
	shared.Parse(&c, []string{}, &p)
	return c
}

// Load reads the configuration from environ (os.Environ() form; nil means
// the process environment) and validates it, reporting every problem at once.
func Load(environ []string) (Config, error) {
	var c Config
	var p shared.Problems
	shared.Parse(&c, environ, &p)
	c.validate(&p)
	return c, p.Err()
}

// Validate checks the configuration and reports every problem in one error.
func (c *Config) Validate() error {
	var p shared.Problems
	c.validate(&p)
	return p.Err()
}

func (c *Config) validate(p *shared.Problems) {
	c.Runtime.Validate(p)
	c.MySQL.Validate(p)
	c.Warnings = c.Secrets.Validate(c.Runtime, true, p)
	if c.GRPCPort <= 0 || c.GRPCPort > 65535 {
		p.Addf("ALTUS_GRPC_PORT must be a port number; got %d", c.GRPCPort)
	}
	if c.Sources.PoolSize < 1 || c.Sources.PoolSize > 1000 {
		p.Addf("ALTUS_SOURCE_POOL_SIZE must be between 1 and 1000; got %d", c.Sources.PoolSize)
	}
	if c.Sources.AcquireTimeout <= 0 {
		p.Addf("ALTUS_SOURCE_ACQUIRE_TIMEOUT must be positive (e.g. 2s); got %s", c.Sources.AcquireTimeout)
	}
	if c.Sources.IdleTimeout < time.Second {
		p.Addf("ALTUS_SOURCE_IDLE_TIMEOUT must be at least 1s; got %s", c.Sources.IdleTimeout)
	}
	if c.Sources.SweepInterval < time.Second {
		p.Addf("ALTUS_SOURCE_SWEEP_INTERVAL must be at least 1s; got %s", c.Sources.SweepInterval)
	}
	if c.SchemaTTL <= 0 {
		p.Addf("ALTUS_SCHEMA_TTL must be positive (e.g. 5m); got %s", c.SchemaTTL)
	}
}
