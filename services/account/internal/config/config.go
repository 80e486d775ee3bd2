// Package config is the account service's configuration.
package config

import (
	"time"

	shared "github.com/altus4/altus/pkg/config"
)

// Config is everything the account service reads from its environment.
type Config struct {
	Runtime  shared.Runtime
	MySQL    shared.MySQL
	Secrets  shared.Secrets
	Services shared.Services
	// GRPCPort is the port of the AccountService.
	GRPCPort int `env:"ALTUS_GRPC_PORT" envDefault:"50055"`
	// JWTTTL is the lifetime of session tokens (v1: seven days).
	JWTTTL time.Duration `env:"ALTUS_JWT_TTL" envDefault:"168h"`
	// Migrate applies the account migrations at start; turn it off when a
	// deployment runs `account migrate` as a separate step.
	Migrate bool `env:"ALTUS_MIGRATE" envDefault:"true"`
	// Warnings are non-fatal remarks of Validate, to be logged at start.
	Warnings []string `env:"-"`
}

// DefaultAdminPort is where /metrics is served unless ALTUS_ADMIN_PORT says otherwise.
const DefaultAdminPort = 9095

// maxJWTTTL bounds session lifetimes: a token is a bearer credential.
const maxJWTTTL = 90 * 24 * time.Hour

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
	c.Warnings = c.Secrets.Validate(c.Runtime, false, p)
	if c.GRPCPort <= 0 || c.GRPCPort > 65535 {
		p.Addf("ALTUS_GRPC_PORT must be a port number; got %d", c.GRPCPort)
	}
	if c.JWTTTL < time.Minute || c.JWTTTL > maxJWTTTL {
		p.Addf("ALTUS_JWT_TTL must be between 1m and %s (e.g. 168h); got %s", maxJWTTTL, c.JWTTTL)
	}
	if c.Services.DBRouter == "" {
		p.Add("ALTUS_DBROUTER_ADDR must not be empty")
	}
	if c.Services.Cache == "" {
		p.Add("ALTUS_CACHE_ADDR must not be empty")
	}
}
