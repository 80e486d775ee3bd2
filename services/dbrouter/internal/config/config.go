// Package config is the dbrouter service's configuration.
package config

import (
	"runtime"
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
	// Search configures the execution of search plans.
	Search Search
	// Warnings are non-fatal remarks of Validate, to be logged at start.
	Warnings []string `env:"-"`
}

// Sources configures the pools to the users' databases (data sources).
type Sources struct {
	// PoolSize bounds the connections of one dbrouter instance to one
	// server of a source (its primary, and each read replica). 0 (the
	// default) derives it from the machine: see DefaultPoolSize.
	PoolSize int `env:"ALTUS_SOURCE_POOL_SIZE" envDefault:"0"`
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
	// LookupTTL is how long a source read for a search is reused: a search
	// then skips that metadata read, and a source deleted or changed through
	// another replica is searched with its old settings for at most this long.
	LookupTTL time.Duration `env:"ALTUS_SOURCE_LOOKUP_TTL" envDefault:"1s"`
	// ReplicaCheckInterval is how often each read replica's health and
	// lag are checked.
	ReplicaCheckInterval time.Duration `env:"ALTUS_REPLICA_CHECK_INTERVAL" envDefault:"2s"`
	// ReplicaMaxLag: a read replica reporting more lag is taken out of the
	// read rotation until it catches up.
	ReplicaMaxLag time.Duration `env:"ALTUS_REPLICA_MAX_LAG" envDefault:"10s"`
}

// EffectivePoolSize is PoolSize, or DefaultPoolSize of this machine when
// PoolSize is 0.
func (s Sources) EffectivePoolSize() int {
	if s.PoolSize > 0 {
		return s.PoolSize
	}
	return DefaultPoolSize(runtime.NumCPU(), MemoryBytes())
}

// Search configures how search plans run on the users' databases.
type Search struct {
	// MaxValueChars bounds each text value a search returns (LEFT(col, N)),
	// so a huge column cannot flood the response.
	MaxValueChars int `env:"ALTUS_SEARCH_MAX_VALUE_BYTES" envDefault:"8192"`
	// StatementTimeout is the default server-side limit of one statement
	// (a request may ask for less; the caller's deadline also bounds it).
	StatementTimeout time.Duration `env:"ALTUS_STATEMENT_TIMEOUT" envDefault:"5s"`
	// CountBudget bounds a separate count of matches (a window count has
	// the statement's limit); past it the total is reported as a lower
	// bound (total_estimated).
	CountBudget time.Duration `env:"ALTUS_COUNT_BUDGET" envDefault:"300ms"`
	// MaxConcurrency caps the statements running at once on one source
	// (per replica); 0 means the pool size.
	MaxConcurrency int `env:"ALTUS_SOURCE_MAX_CONCURRENCY" envDefault:"0"`
}

// SourceConcurrency is the effective per-source concurrency cap.
func (c Config) SourceConcurrency() int {
	if c.Search.MaxConcurrency > 0 {
		return c.Search.MaxConcurrency
	}
	return c.Sources.EffectivePoolSize()
}

// DefaultAdminPort is where /metrics is served unless ALTUS_ADMIN_PORT says otherwise.
const DefaultAdminPort = 9094

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
	c.MySQL.Validate(p)
	c.Warnings = c.Secrets.Validate(c.Runtime, true, p)
	if c.GRPCPort <= 0 || c.GRPCPort > 65535 {
		p.Addf("ALTUS_GRPC_PORT must be a port number; got %d", c.GRPCPort)
	}
	if c.Sources.PoolSize < 0 || c.Sources.PoolSize > 1000 {
		p.Addf("ALTUS_SOURCE_POOL_SIZE must be between 0 (derived from the machine) and 1000; got %d", c.Sources.PoolSize)
	}
	if c.Sources.ReplicaCheckInterval < 100*time.Millisecond {
		p.Addf("ALTUS_REPLICA_CHECK_INTERVAL must be at least 100ms (e.g. 2s); got %s", c.Sources.ReplicaCheckInterval)
	}
	if c.Sources.ReplicaMaxLag < time.Second {
		p.Addf("ALTUS_REPLICA_MAX_LAG must be at least 1s (servers report whole seconds); got %s", c.Sources.ReplicaMaxLag)
	}
	if c.Sources.AcquireTimeout <= 0 {
		p.Addf("ALTUS_SOURCE_ACQUIRE_TIMEOUT must be positive (e.g. 2s); got %s", c.Sources.AcquireTimeout)
	}
	if c.Sources.IdleTimeout < time.Second {
		p.Addf("ALTUS_SOURCE_IDLE_TIMEOUT must be at least 1s; got %s", c.Sources.IdleTimeout)
	}
	if c.Sources.LookupTTL < 0 || c.Sources.LookupTTL > time.Minute {
		p.Addf("ALTUS_SOURCE_LOOKUP_TTL must be between 0 and 1m; got %s", c.Sources.LookupTTL)
	}
	if c.Sources.SweepInterval < time.Second {
		p.Addf("ALTUS_SOURCE_SWEEP_INTERVAL must be at least 1s; got %s", c.Sources.SweepInterval)
	}
	if c.Search.MaxValueChars < 1 || c.Search.MaxValueChars > 1<<20 {
		p.Addf("ALTUS_SEARCH_MAX_VALUE_BYTES must be between 1 and 1048576; got %d", c.Search.MaxValueChars)
	}
	if c.Search.StatementTimeout < time.Millisecond {
		p.Addf("ALTUS_STATEMENT_TIMEOUT must be at least 1ms (e.g. 5s); got %s", c.Search.StatementTimeout)
	}
	if c.Search.CountBudget < time.Millisecond {
		p.Addf("ALTUS_COUNT_BUDGET must be at least 1ms (e.g. 300ms); got %s", c.Search.CountBudget)
	}
	if c.Search.MaxConcurrency < 0 || c.Search.MaxConcurrency > 1000 {
		p.Addf("ALTUS_SOURCE_MAX_CONCURRENCY must be between 0 (the pool size) and 1000; got %d", c.Search.MaxConcurrency)
	}
	if c.SchemaTTL <= 0 {
		p.Addf("ALTUS_SCHEMA_TTL must be positive (e.g. 5m); got %s", c.SchemaTTL)
	}
}
